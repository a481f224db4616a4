//! What GET of one record adds from other modules: each subform field's rows (an inventory
//! record's line items; v2 names them `Product_Details`, with its own keys) and each
//! multi-select or multi-user lookup's links (the linking module's records that point at the
//! record).

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::inventory::tax::{LINE_TAXES, RECORD_TAXES};
use bulkwrite_core::inventory::{line_item_module, line_item_parent, v2_line, V2_LINE_ITEMS_FIELD};
use bulkwrite_core::schema::DataType;
use bulkwrite_core::version::ApiVersion;
use bulkwrite_store::StoredRecord;
use serde_json::{Map, Value};

use crate::auth::Auth;
use crate::error::ErrorResponse;
use crate::record_render::RenderContext;
use crate::AppState;

/// Fills the record's subform and multi-select lookup fields.
pub(super) async fn add_children(
    state: &AppState,
    auth: &Auth,
    (ctx, api_version): (&RenderContext, ApiVersion),
    id: RecordId,
    rendered: &mut Map<String, Value>,
) -> Result<(), ErrorResponse> {
    let children: Vec<(String, DataType, String)> = ctx
        .module
        .fields
        .iter()
        .filter(|f| matches!(f.data_type, DataType::Subform | DataType::MultiSelectLookup | DataType::MultiUserLookup))
        .filter_map(|f| f.lookup_module.clone().map(|module| (f.api_name.clone(), f.data_type, module)))
        .collect();
    if children.is_empty() {
        return Ok(());
    }
    let schema = state.store.org_schema(auth.0.org).await?;
    for (field, data_type, related) in children {
        let (module, link) = if data_type == DataType::Subform {
            let Some(module) = schema.module(&related) else { continue };
            (module.clone(), "Parent_Id".to_string())
        } else {
            let Some((module, link)) = schema.linking_module(&ctx.module.api_name, &related) else { continue };
            (module.clone(), link.api_name.clone())
        };
        let records = state.store.child_records(auth.0.org, &module.api_name, &link, id).await?;
        let child_ctx = RenderContext { module, users: ctx.users.clone(), time_zone: ctx.time_zone };
        let v2_lines = api_version == ApiVersion::V2 && line_item_parent(&child_ctx.module.api_name).is_some();
        let lines = line_item_parent(&child_ctx.module.api_name).is_some();
        let rows: Vec<Value> = records
            .iter()
            .enumerate()
            .map(|(index, child)| {
                let mut row = child_ctx.render(child, None);
                if lines {
                    // The lines' serial numbers, in the order they were written, and their taxes.
                    row.insert("Sequence_Number".to_string(), Value::from(index + 1));
                    let taxes = child.values.get(LINE_TAXES).filter(|v| v.is_array()).cloned();
                    row.insert(LINE_TAXES.to_string(), taxes.unwrap_or(Value::Array(Vec::new())));
                }
                if data_type != DataType::Subform {
                    // A link shows the related record (and its own id), not the record it hangs under.
                    row.remove(&link);
                }
                Value::Object(if v2_lines { v2_line(&row) } else { row })
            })
            .collect();
        if v2_lines {
            rendered.remove(&field);
            rendered.insert(V2_LINE_ITEMS_FIELD.to_string(), Value::Array(rows));
        } else {
            rendered.insert(field, Value::Array(rows));
        }
    }
    Ok(())
}

/// An inventory record shows its record-level taxes (`$line_tax`, each with its amount in
/// `value`), `[]` when it applies none.
pub(super) fn add_record_taxes(module: &str, record: &StoredRecord, rendered: &mut Map<String, Value>) {
    if line_item_module(module).is_some() {
        let taxes = record.values.get(RECORD_TAXES).filter(|v| v.is_array()).cloned();
        rendered.insert(RECORD_TAXES.to_string(), taxes.unwrap_or(Value::Array(Vec::new())));
    }
}
