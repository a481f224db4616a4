//! Records as Zoho's records API writes them: every field of the module, lookups as
//! `{name, id}` objects, times in the org's zone.

use std::collections::HashMap;

use bulkwrite_core::ids::UserId;
use bulkwrite_core::job_details::format_time;
use bulkwrite_core::schema::Module;
use bulkwrite_store::{StoredRecord, User};
use serde_json::{json, Map, Value};

/// What rendering needs besides the record.
pub struct RenderContext {
    pub module: Module,
    pub users: HashMap<UserId, User>,
    pub time_zone: chrono_tz::Tz,
}

impl RenderContext {
    fn user(&self, id: UserId) -> Value {
        match self.users.get(&id) {
            Some(user) => {
                json!({"name": user.full_name(), "id": id.to_string(), "email": user.email})
            }
            None => json!({"name": null, "id": id.to_string()}),
        }
    }

    fn field_value(&self, record: &StoredRecord, api_name: &str) -> Value {
        match api_name {
            "Owner" => self.user(record.owner),
            "Created_By" => self.user(record.created_by),
            "Modified_By" => self.user(record.modified_by),
            "Created_Time" => json!(format_time(record.created_at, self.time_zone)),
            "Modified_Time" => json!(format_time(record.modified_at, self.time_zone)),
            "Layout" => match record.layout_id.as_deref().and_then(|id| self.module.layout(id)) {
                Some(layout) => json!({"name": layout.name, "id": layout.id}),
                None => Value::Null,
            },
            other => record.values.get(other).cloned().unwrap_or(Value::Null),
        }
    }

    /// The record with every field of the module, or only `fields` (and `id`) when given.
    pub fn render(&self, record: &StoredRecord, fields: Option<&[String]>) -> Map<String, Value> {
        let mut out = Map::new();
        match fields {
            Some(fields) => {
                for name in fields {
                    if let Some(field) = self.module.field(name) {
                        out.insert(field.api_name.clone(), self.field_value(record, &field.api_name));
                    }
                }
            }
            None => {
                for field in &self.module.fields {
                    out.insert(field.api_name.clone(), self.field_value(record, &field.api_name));
                }
            }
        }
        out.insert("id".to_string(), json!(record.id.to_string()));
        out
    }
}
