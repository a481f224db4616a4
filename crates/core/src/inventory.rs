//! Inventory records (Quotes, Sales Orders, Purchase Orders, Invoices) and their line items.
//!
//! A line-item row names a product, a quantity, and optionally a list price (the product's
//! `Unit_Price` when empty), a discount and a tax amount. Zoho computes, per line:
//!
//! - `Total` (the amount) = `List_Price` × `Quantity`
//! - `Total_After_Discount` = `Total` − `Discount`
//! - `Net_Total` = `Total_After_Discount` + `Tax`
//!
//! and per record: `Sub_Total` = Σ `Net_Total` of its lines, `Grand_Total` = `Sub_Total` −
//! `Discount` + `Tax` + `Adjustment`, where the record's `Tax` comes from its record-level taxes
//! (`$line_tax`, see [`tax`]) and `Discount` and `Adjustment` are the record's own. A line that
//! names taxes (`Line_Tax`) gets its `Tax` from them instead of an amount. Amounts are rounded
//! to the currency's two decimals.
//!
//! The rules a line must pass: a product that exists (the lookup), a quantity above zero, and
//! no negative list price, discount or tax, nor a discount above the amount.

use std::collections::HashMap;
use std::hash::BuildHasher;

use serde_json::{Map, Value};

use crate::ids::RecordId;
use crate::mapping::RowDraft;
use crate::result::{RowError, RowErrorCode};

pub mod tax;

use tax::{OrgTax, LINE_TAXES, RECORD_TAXES, V2_LINE_TAXES};

/// Inventory modules and their line-item modules (v3+ names).
pub const LINE_ITEM_MODULES: &[(&str, &str)] = &[
    ("Quotes", "Quoted_Items"),
    ("Sales_Orders", "Ordered_Items"),
    ("Purchase_Orders", "Purchase_Items"),
    ("Invoices", "Invoiced_Items"),
];

/// Line-item fields Zoho computes (read-only).
pub const LINE_COMPUTED_FIELDS: &[&str] = &["Unit_Price", "Total", "Total_After_Discount", "Net_Total"];

/// Inventory record fields Zoho computes from the lines (read-only).
pub const RECORD_COMPUTED_FIELDS: &[&str] = &["Sub_Total", "Tax", "Grand_Total"];

/// v2 reads every inventory module's lines as `Product_Details`, with lower-case keys.
pub const V2_LINE_ITEMS_FIELD: &str = "Product_Details";

/// The inventory module whose lines `module` holds, when it is a line-item module.
pub fn line_item_parent(module: &str) -> Option<&'static str> {
    LINE_ITEM_MODULES.iter().find(|(_, lines)| lines.eq_ignore_ascii_case(module)).map(|(parent, _)| *parent)
}

/// The line-item module of an inventory module.
pub fn line_item_module(parent: &str) -> Option<&'static str> {
    LINE_ITEM_MODULES.iter().find(|(p, _)| p.eq_ignore_ascii_case(parent)).map(|(_, lines)| *lines)
}

/// The id a lookup value (`{name, id}`) points at.
pub fn lookup_id(value: Option<&Value>) -> Option<RecordId> {
    value.and_then(|v| v.get("id")).and_then(Value::as_str).and_then(RecordId::parse)
}

/// The line fields a row gives (the computed ones follow from them).
pub const LINE_INPUT_FIELDS: &[&str] = &["Product_Name", "Quantity", "List_Price", "Discount", "Tax", LINE_TAXES];

/// Completes a row that updates a stored line with the line's stored inputs it does not give,
/// so that its amounts are computed from the line as it will be.
pub fn fill_from_stored(row: &mut RowDraft, stored: &Map<String, Value>) {
    for field in LINE_INPUT_FIELDS {
        if !row.values.contains_key(field) {
            if let Some(value) = stored.get(*field).filter(|v| !v.is_null()) {
                row.values.insert((*field).to_string(), value.clone());
            }
        }
    }
}

/// Products the rows' lines name, each once.
pub fn line_products(rows: &[RowDraft]) -> Vec<RecordId> {
    let mut ids: Vec<RecordId> = rows.iter().filter_map(|row| lookup_id(row.values.get("Product_Name"))).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn number(value: Option<&Value>) -> Option<f64> {
    value.and_then(Value::as_f64)
}

/// Rounds to the currency's two decimals.
pub fn round2(amount: f64) -> f64 {
    let rounded = (amount * 100.0).round() / 100.0;
    if rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

fn amount(value: f64) -> Value {
    serde_json::Number::from_f64(round2(value)).map(Value::Number).unwrap_or(Value::Null)
}

/// What pricing a chunk's lines takes from the stored records they name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    /// Each named product's `Unit_Price`.
    pub unit_prices: HashMap<RecordId, Option<f64>>,
    /// Each named price book's `Pricing_Details`: `(from_range, to_range, discount %)`.
    pub ranges: HashMap<RecordId, Vec<(f64, f64, f64)>>,
    /// The org's taxes, which a line's `Line_Tax` names.
    pub taxes: Vec<OrgTax>,
}

impl Catalogue {
    /// The discount % of the book's range that holds `quantity`.
    fn range_discount(&self, book: Option<RecordId>, quantity: f64) -> Option<f64> {
        let ranges = self.ranges.get(&book?)?;
        ranges.iter().find(|(from, to, _)| (*from..=*to).contains(&quantity)).map(|(_, _, discount)| *discount)
    }
}

/// Price books the rows' lines name, each once.
pub fn line_price_books(rows: &[RowDraft]) -> Vec<RecordId> {
    let mut ids: Vec<RecordId> = rows.iter().filter_map(|row| lookup_id(row.values.get("Price_Book_Name"))).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A price range as stored: `(from_range, to_range, discount %)`, when it has both ends.
pub fn price_range(values: &Map<String, Value>) -> Option<(f64, f64, f64)> {
    Some((
        number(values.get("from_range"))?,
        number(values.get("to_range"))?,
        number(values.get("discount")).unwrap_or(0.0),
    ))
}

/// Applies the line rules to rows that have no error yet and fills the computed amounts, with
/// the products' prices and the price books' ranges of `catalogue`: a line that names a price
/// book and gives no `Discount` gets the discount % of the book's range holding its quantity
/// (Kaizen #9). `columns` gives the CSV column each field was read from (for the errors).
pub fn price_lines<S: BuildHasher>(rows: &mut [RowDraft], catalogue: &Catalogue, columns: &HashMap<String, String, S>) {
    let column = |field: &str| columns.get(field).cloned().unwrap_or_else(|| field.to_string());
    for row in rows.iter_mut().filter(|row| row.errors.is_empty()) {
        let product = lookup_id(row.values.get("Product_Name"));
        let Some(quantity) = number(row.values.get("Quantity")) else { continue };
        let mut errors = Vec::new();
        let mut refuse = |field: &str, value: f64, reason: &str| {
            errors.push(
                RowError::new(RowErrorCode::InvalidData, column(field)).on(field, value.to_string()).because(reason),
            );
        };
        if quantity <= 0.0 {
            refuse("Quantity", quantity, "the quantity of a line item must be more than zero");
        }
        let unit_price = product.and_then(|id| catalogue.unit_prices.get(&id).copied().flatten());
        let list_price = number(row.values.get("List_Price")).or(unit_price).unwrap_or(0.0);
        if list_price < 0.0 {
            refuse("List_Price", list_price, "the list price of a line item cannot be negative");
        }
        let total = round2(list_price * quantity);
        let book = lookup_id(row.values.get("Price_Book_Name"));
        let discount = number(row.values.get("Discount"))
            .or_else(|| catalogue.range_discount(book, quantity).map(|percent| round2(total * percent / 100.0)))
            .unwrap_or(0.0);
        if discount < 0.0 || (quantity > 0.0 && list_price >= 0.0 && discount > total) {
            refuse("Discount", discount, "the discount of a line item must be between 0 and its amount");
        }
        let tax = number(row.values.get("Tax")).unwrap_or(0.0);
        if tax < 0.0 {
            refuse("Tax", tax, "the tax of a line item cannot be negative");
        }
        let line_taxes = match row.values.get(LINE_TAXES).map(|v| tax::read_applied(v, &catalogue.taxes)) {
            None => None,
            Some(Ok(applied)) => Some(applied),
            Some(Err(refusal)) => {
                errors.push(
                    RowError::new(RowErrorCode::InvalidData, column(LINE_TAXES))
                        .on(LINE_TAXES, format!("[{}].{}", refusal.index, refusal.key))
                        .because(refusal.reason),
                );
                None
            }
        };
        if !errors.is_empty() {
            row.errors.extend(errors);
            continue;
        }
        let after_discount = total - discount;
        // Named taxes give the line's tax; without them it is the amount the row gives.
        let tax = match line_taxes {
            Some(applied) if !applied.is_empty() => {
                let (sum, with_values) = tax::apply(Some(&Value::Array(applied)), round2(after_discount));
                row.values.insert(LINE_TAXES, Value::Array(with_values));
                sum
            }
            Some(_) => {
                row.values.insert(LINE_TAXES, Value::Array(Vec::new()));
                tax
            }
            None => tax,
        };
        row.values.insert("List_Price", amount(list_price));
        row.values.insert("Discount", amount(discount));
        row.values.insert("Tax", amount(tax));
        row.values.insert("Unit_Price", unit_price.map(amount).unwrap_or(Value::Null));
        row.values.insert("Total", amount(total));
        row.values.insert("Total_After_Discount", amount(after_discount));
        row.values.insert("Net_Total", amount(after_discount + tax));
    }
}

/// `Pricing_Details` rows: a range whose `from_range` is above its `to_range`, or a negative
/// one, is `INVALID_DATA` on `to_range`; a discount outside 0–100 % on `discount`.
pub fn check_price_ranges<S: BuildHasher>(rows: &mut [RowDraft], columns: &HashMap<String, String, S>) {
    let column = |field: &str| columns.get(field).cloned().unwrap_or_else(|| field.to_string());
    for row in rows.iter_mut().filter(|row| row.errors.is_empty()) {
        let from = number(row.values.get("from_range"));
        let to = number(row.values.get("to_range"));
        if let (Some(from), Some(to)) = (from, to) {
            if from < 0.0 || to < from {
                let reason = format!("the range {from}–{to} is not a range of quantities");
                row.errors.push(
                    RowError::new(RowErrorCode::InvalidData, column("to_range"))
                        .on("to_range", to.to_string())
                        .because(reason),
                );
            }
        }
        if let Some(discount) = number(row.values.get("discount")).filter(|d| !(0.0..=100.0).contains(d)) {
            let reason = "a price range's discount is a percentage from 0 to 100";
            row.errors.push(
                RowError::new(RowErrorCode::InvalidData, column("discount"))
                    .on("discount", discount.to_string())
                    .because(reason),
            );
        }
    }
}

/// The computed totals of an inventory record with these lines and its own values.
pub fn record_totals(record: &Map<String, Value>, lines: &[&Map<String, Value>]) -> Map<String, Value> {
    let sub_total: f64 = lines.iter().filter_map(|line| number(line.get("Net_Total"))).sum();
    let discount = number(record.get("Discount")).unwrap_or(0.0);
    let adjustment = number(record.get("Adjustment")).unwrap_or(0.0);
    let sub_total = round2(sub_total);
    let (tax, record_taxes) = tax::apply(record.get(RECORD_TAXES), round2(sub_total - discount));
    let mut totals = Map::new();
    totals.insert("Sub_Total".into(), amount(sub_total));
    totals.insert("Tax".into(), amount(tax));
    if record.get(RECORD_TAXES).is_some_and(|v| !v.is_null()) {
        totals.insert(RECORD_TAXES.into(), Value::Array(record_taxes));
    }
    totals.insert("Grand_Total".into(), amount(sub_total - discount + tax + adjustment));
    totals
}

/// A v3+ line as v2 reads it in `Product_Details`: `product` for `Product_Name`, lower-case keys
/// for the amounts, `Discount` and `Tax` as they are, `book` for the price book.
pub fn v2_line(line: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in line {
        let name = match key.as_str() {
            "Product_Name" => "product",
            "Quantity" => "quantity",
            "List_Price" => "list_price",
            "Unit_Price" => "unit_price",
            "Total" => "total",
            "Total_After_Discount" => "total_after_discount",
            "Net_Total" => "net_total",
            "Description" => "product_description",
            "Price_Book_Name" => "book",
            LINE_TAXES => V2_LINE_TAXES,
            "Parent_Id" | "Sequence_Number" => continue,
            other => other,
        };
        out.insert(name.to_string(), value.clone());
    }
    out
}

#[cfg(test)]
mod tests;
