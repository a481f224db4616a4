//! What pricing inventory lines and totalling their records read from the store, shared by bulk
//! write (the worker) and the records API, so both apply `bulkwrite_core::inventory`'s rules to
//! the same stored facts.

use bulkwrite_core::ids::{OrgId, RecordId};
use bulkwrite_core::inventory::{line_price_books, line_products, price_range, record_totals, Catalogue};
use bulkwrite_core::mapping::RowDraft;
use serde_json::{Map, Value};

use crate::error::StoreResult;
use crate::taxes::TaxStore;
use crate::traits::RecordStore;

/// The products' prices, the price books' ranges and the org's taxes the rows' lines need.
pub async fn line_catalogue<S>(store: &S, org: OrgId, rows: &[RowDraft]) -> StoreResult<Catalogue>
where
    S: RecordStore + TaxStore + ?Sized,
{
    let mut catalogue = Catalogue::default();
    for product in line_products(rows) {
        let record = store.get_record(org, "Products", product).await?;
        let price = record.and_then(|r| r.values.get("Unit_Price").and_then(Value::as_f64));
        catalogue.unit_prices.insert(product, price);
    }
    for book in line_price_books(rows) {
        let ranges = store.child_records(org, "Pricing_Details", "Parent_Id", book).await?;
        catalogue.ranges.insert(book, ranges.iter().filter_map(|r| price_range(&r.values)).collect());
    }
    catalogue.taxes = store.org_taxes(org).await?;
    Ok(catalogue)
}

/// The totals of the inventory record `id` of `parent` from its stored lines (in `lines`) that
/// differ from what it stores; `None` when it is gone or nothing changed.
pub async fn changed_totals<S>(
    store: &S,
    org: OrgId,
    (parent, lines): (&str, &str),
    id: RecordId,
) -> StoreResult<Option<Map<String, Value>>>
where
    S: RecordStore + ?Sized,
{
    let Some(record) = store.get_record(org, parent, id).await? else { return Ok(None) };
    let children = store.child_records(org, lines, "Parent_Id", id).await?;
    let line_values: Vec<_> = children.iter().map(|child| &child.values).collect();
    let totals = record_totals(&record.values, &line_values);
    if totals.iter().all(|(key, value)| record.values.get(key) == Some(value)) {
        return Ok(None);
    }
    Ok(Some(totals))
}
