//! COQL answers as Zoho writes them: the selected columns and `id`, lookups and users as
//! `{"id": …}`, times in the org's zone, and `lookup.field` columns from the looked-up records,
//! fetched in one batch per module.

use std::collections::HashMap;

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::job_details::format_time;
use bulkwrite_core::query::coql::SelectColumn;
use bulkwrite_store::{StoredRecord, User};
use serde_json::{json, Map, Value};

/// What rendering needs besides the records.
pub struct CoqlContext<'a> {
    pub users: &'a HashMap<bulkwrite_core::ids::UserId, User>,
    pub time_zone: chrono_tz::Tz,
    /// Looked-up records by module and id.
    pub lookups: HashMap<(String, RecordId), StoredRecord>,
}

impl CoqlContext<'_> {
    /// One row of the answer.
    pub fn row(&self, record: &StoredRecord, columns: &[SelectColumn]) -> Map<String, Value> {
        let mut out = Map::new();
        for column in columns {
            let value = match column {
                SelectColumn::Field { api_name, .. } => self.value(record, api_name),
                SelectColumn::Lookup { lookup, module, field, .. } => lookup_id(record, lookup)
                    .and_then(|id| self.lookups.get(&(module.clone(), id)))
                    .map_or(Value::Null, |target| self.value(target, field)),
                SelectColumn::User { column, property, .. } => self.user_property(record, column, property),
            };
            out.insert(column.key().to_string(), value);
        }
        out.insert("id".to_string(), json!(record.id.to_string()));
        out
    }

    fn value(&self, record: &StoredRecord, api_name: &str) -> Value {
        match api_name {
            "id" => json!(record.id.to_string()),
            "Owner" => json!({"id": record.owner.to_string()}),
            "Created_By" => json!({"id": record.created_by.to_string()}),
            "Modified_By" => json!({"id": record.modified_by.to_string()}),
            "Created_Time" => json!(format_time(record.created_at, self.time_zone)),
            "Modified_Time" => json!(format_time(record.modified_at, self.time_zone)),
            other => match record.values.get(other) {
                Some(Value::Object(object)) if object.contains_key("id") => json!({"id": object["id"]}),
                Some(value) => value.clone(),
                None => Value::Null,
            },
        }
    }

    fn user_property(&self, record: &StoredRecord, column: &str, property: &str) -> Value {
        let id = match column {
            "Owner" => record.owner,
            "Created_By" => record.created_by,
            _ => record.modified_by,
        };
        let Some(user) = self.users.get(&id) else {
            return if property == "id" { json!(id.to_string()) } else { Value::Null };
        };
        match property {
            "id" => json!(id.to_string()),
            "first_name" => json!(user.first_name),
            "last_name" => json!(user.last_name),
            "email" => json!(user.email),
            _ => json!(user.full_name()),
        }
    }
}

/// The record id a lookup field of `record` points at.
pub fn lookup_id(record: &StoredRecord, lookup: &str) -> Option<RecordId> {
    let value = record.values.get(lookup)?;
    let id = value.get("id").unwrap_or(value);
    match id {
        Value::String(text) => RecordId::parse(text),
        Value::Number(number) => number.as_u64().map(RecordId::new),
        _ => None,
    }
}
