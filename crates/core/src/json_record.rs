//! A record of the records API (`{"data": [{…}]}`) → a [`RowDraft`], so that records written one
//! by one and records written by bulk jobs go through the same planning, duplicate checks and
//! storage. Errors name the field's API name (the caller turns them into `json_path`s).

use bulkwrite_wire::Operation;
use serde_json::{Map, Value};

use crate::convert::{convert_value, ConvertError, ConvertOptions};
use crate::ids::RecordId;
use crate::jobspec::ID_FIELD;
use crate::mapping::{normalize_key, FindKey, PendingLookup, RowDraft, UniqueKey, UserDirectory};
use crate::result::{RowError, RowErrorCode};
use crate::schema::{Converter, Field, Module};

/// Maps records-API records of one module.
#[derive(Debug, Clone)]
pub struct JsonMapper {
    module: Module,
    operation: Operation,
    time_zone: chrono_tz::Tz,
    users: UserDirectory,
    /// Upsert: the fields whose value finds an existing record, in order.
    duplicate_check_fields: Vec<String>,
    /// The fields the caller's profile makes read-only or hides.
    denied: Vec<String>,
}

fn invalid(field: &str, reason: impl Into<String>) -> RowError {
    RowError::new(RowErrorCode::InvalidData, field).because(reason)
}

/// The text of a JSON scalar, for conversions that read text.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The id of `{"id": …}` or of a plain id.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::Object(object) => object.get("id").and_then(scalar_text),
        other => scalar_text(other),
    }
}

impl JsonMapper {
    /// A mapper for `operation` on `module`'s records, times read in `time_zone`, owners found
    /// in `users`; `duplicate_check_fields` (API names) are the unique keys an upsert matches
    /// on, the module's unique fields when `None`.
    pub fn new(
        module: Module,
        operation: Operation,
        time_zone: chrono_tz::Tz,
        users: UserDirectory,
        duplicate_check_fields: Option<Vec<String>>,
    ) -> JsonMapper {
        let duplicate_check_fields = duplicate_check_fields
            .unwrap_or_else(|| module.unique_fields().map(|f| f.api_name.clone()).collect())
            .into_iter()
            .filter_map(|name| module.field(&name).map(|f| f.api_name.clone()))
            .collect();
        JsonMapper { module, operation, time_zone, users, duplicate_check_fields, denied: Vec::new() }
    }

    /// The same mapper for a caller whose profile may not edit `denied` (API names): a record
    /// giving one a value fails with `INVALID_DATA` on it; an empty value leaves it alone.
    #[must_use]
    pub fn with_denied(mut self, denied: Vec<String>) -> JsonMapper {
        self.denied = denied;
        self
    }

    /// Whether the caller's profile may not edit `field`.
    pub fn is_denied(&self, field: &str) -> bool {
        self.denied.iter().any(|name| name.eq_ignore_ascii_case(field))
    }

    /// Maps the `index`-th record of a request (row numbers start at 1).
    pub fn map_record(&self, index: usize, record: &Map<String, Value>) -> RowDraft {
        let mut draft = RowDraft::new(index as u64 + 1, Vec::new());
        for (name, value) in record {
            if name == ID_FIELD {
                if self.operation == Operation::Update {
                    draft.find_key = Some(match id_of(value).and_then(|id| RecordId::parse(&id)) {
                        Some(id) => FindKey::Id { id, column: ID_FIELD.into() },
                        None => FindKey::Missing { column: ID_FIELD.into() },
                    });
                }
                continue;
            }
            let Some(field) = self.module.field(name) else { continue };
            if field.read_only || !field.data_type.is_importable() {
                continue;
            }
            if self.is_denied(&field.api_name) {
                if !(value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty())) {
                    let reason = format!("the caller's profile may not edit field {}", field.api_name);
                    draft.errors.push(invalid(&field.api_name, reason));
                }
                continue;
            }
            self.map_field(field, value, &mut draft);
        }
        self.check_mandatory(record, &mut draft);
        crate::activity::check_row(&self.module.api_name, &mut draft, str::to_string);
        self.set_find_key(&mut draft);
        draft
    }

    fn map_field(&self, field: &Field, value: &Value, draft: &mut RowDraft) {
        let name = field.api_name.as_str();
        if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
            if self.operation != Operation::Insert && !self.is_mandatory(field) {
                draft.values.insert(name.to_string(), Value::Null);
            }
            return;
        }
        match field.data_type.facts().converter {
            Converter::Owner => match id_of(value).and_then(|id| self.users.resolve(&id, false).map(|u| u.id)) {
                Some(id) => draft.owner = Some(id),
                None => draft.errors.push(invalid(name, "not an active user of the org")),
            },
            Converter::Layout => {
                let wanted = id_of(value).or_else(|| value.get("name").and_then(scalar_text)).unwrap_or_default();
                match self.module.layout(&wanted) {
                    Some(layout) => draft.layout_id = Some(layout.id.clone()),
                    None => draft
                        .errors
                        .push(invalid(name, format!("'{wanted}' is not a layout of {}", self.module.api_name))),
                }
            }
            Converter::Lookup => match id_of(value).filter(|id| RecordId::parse(id).is_some()) {
                Some(id) => draft.lookups.push(PendingLookup {
                    field: name.to_string(),
                    module: field.lookup_module.clone().unwrap_or_default(),
                    find_by: ID_FIELD.to_string(),
                    value: id,
                    column: name.to_string(),
                }),
                None => draft.errors.push(invalid(name, "a lookup takes {\"id\": \"…\"}")),
            },
            Converter::User => match id_of(value).and_then(|id| self.users.resolve(&id, false)) {
                Some(user) => {
                    draft.values.insert(
                        name.to_string(),
                        serde_json::json!({"name": user.full_name, "id": user.id.to_string()}),
                    );
                }
                None => draft.errors.push(invalid(name, "not an active user of the org")),
            },
            Converter::Text
            | Converter::Email
            | Converter::Phone
            | Converter::Website
            | Converter::Picklist
            | Converter::MultiPicklist
            | Converter::Date
            | Converter::DateTime
            | Converter::Integer
            | Converter::BigInt
            | Converter::Decimal
            | Converter::Percent
            | Converter::Boolean
            | Converter::None => self.map_scalar(field, value, draft),
        }
    }

    fn map_scalar(&self, field: &Field, value: &Value, draft: &mut RowDraft) {
        let name = field.api_name.as_str();
        let text = match value {
            Value::Array(items) if field.data_type.facts().converter == Converter::MultiPicklist => {
                let parts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
                parts.map(|p| p.join(";"))
            }
            other => scalar_text(other),
        };
        let Some(text) = text else {
            draft.errors.push(invalid(name, format!("expected {}", field.data_type.json_type())));
            return;
        };
        let options = ConvertOptions { format: None, number_format: None, time_zone: self.time_zone };
        match convert_value(field, &text, &options) {
            Ok(converted) => {
                if field.unique {
                    let key = normalize_key(field, &converted);
                    draft.unique_keys.push(UniqueKey { field: name.to_string(), value: key, column: name.to_string() });
                }
                draft.values.insert(name.to_string(), converted);
            }
            Err(ConvertError::Invalid(reason)) => draft.errors.push(invalid(name, reason)),
            Err(error) => draft.errors.push(invalid(name, error.to_string())),
        }
    }

    fn is_mandatory(&self, field: &Field) -> bool {
        field.system_mandatory
            || self.module.default_layout().is_some_and(|layout| layout.mandatory_fields.contains(&field.api_name))
    }

    fn check_mandatory(&self, record: &Map<String, Value>, draft: &mut RowDraft) {
        if self.operation == Operation::Update {
            return;
        }
        for field in self.module.fields.iter().filter(|f| self.is_mandatory(f)) {
            let present = record
                .get(&field.api_name)
                .is_some_and(|v| !v.is_null() && !v.as_str().is_some_and(|s| s.trim().is_empty()));
            if present {
                continue;
            }
            let missing = RowError::new(RowErrorCode::MandatoryNotFound, field.api_name.clone());
            match self.operation {
                Operation::Upsert => draft.missing_for_insert.push(missing),
                _ => draft.errors.push(missing),
            }
        }
    }

    fn set_find_key(&self, draft: &mut RowDraft) {
        if self.operation == Operation::Update {
            if draft.find_key.is_none() {
                draft.find_key = Some(FindKey::Missing { column: ID_FIELD.into() });
            }
            return;
        }
        if self.operation != Operation::Upsert {
            return;
        }
        for field in &self.duplicate_check_fields {
            if let Some(key) = draft.unique_keys.iter().find(|k| &k.field == field) {
                draft.find_key = Some(FindKey::Unique {
                    field: key.field.clone(),
                    value: key.value.clone(),
                    column: key.column.clone(),
                });
                return;
            }
        }
        draft.find_key =
            Some(FindKey::Missing { column: self.duplicate_check_fields.first().cloned().unwrap_or_default() });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::UserId;
    use crate::mapping::UserEntry;
    use crate::schema::standard::standard_schema;

    const OWNER: u64 = 5725767000000000101;

    fn mapper(operation: Operation) -> JsonMapper {
        let module = standard_schema().module("Leads").unwrap().clone();
        let users =
            UserDirectory::new([UserEntry { id: UserId::new(OWNER), full_name: "A B".into(), email: "a@b.co".into() }]);
        JsonMapper::new(module, operation, chrono_tz::UTC, users, None)
    }

    fn map(operation: Operation, record: Value) -> RowDraft {
        mapper(operation).map_record(0, record.as_object().unwrap())
    }

    #[test]
    fn typed_values_convert_and_unknown_keys_are_ignored() {
        let draft = map(
            Operation::Insert,
            json!({"Last_Name": "Boyle", "Company": "Zylker", "Email": "P@Z.com", "No_of_Employees": 12, "Email_Opt_Out": true,
                   "Owner": {"id": OWNER.to_string()}, "$approved": true, "Created_Time": "2020-01-01T00:00:00+00:00"}),
        );
        assert!(draft.errors.is_empty(), "{:?}", draft.errors);
        assert_eq!(draft.values["No_of_Employees"], 12);
        assert_eq!(draft.values["Email_Opt_Out"], true);
        assert_eq!(draft.owner, Some(UserId::new(OWNER)));
        assert!(!draft.values.contains_key("Created_Time"));
        assert_eq!(draft.unique_keys[0].value, "p@z.com");
    }

    #[test]
    fn insert_needs_mandatory_fields_and_valid_values() {
        let draft = map(Operation::Insert, json!({"Email": "nope", "No_of_Employees": "12x"}));
        let errors: Vec<(RowErrorCode, &str)> = draft.errors.iter().map(|e| (e.code, e.column.as_str())).collect();
        assert!(errors.contains(&(RowErrorCode::InvalidData, "Email")));
        assert!(errors.contains(&(RowErrorCode::InvalidData, "No_of_Employees")));
        assert!(errors.contains(&(RowErrorCode::MandatoryNotFound, "Last_Name")));
        assert!(errors.contains(&(RowErrorCode::MandatoryNotFound, "Company")));
    }

    #[test]
    fn update_finds_by_id_and_upsert_by_duplicate_check_fields() {
        let update = map(Operation::Update, json!({"id": "5725767000000200001", "Phone": null}));
        assert_eq!(update.find_key, Some(FindKey::Id { id: RecordId::new(5725767000000200001), column: "id".into() }));
        assert_eq!(update.values["Phone"], Value::Null);
        let upsert = map(Operation::Upsert, json!({"Last_Name": "B", "Email": "x@y.co"}));
        assert!(matches!(upsert.find_key, Some(FindKey::Unique { ref field, .. }) if field == "Email"));
        assert_eq!(upsert.missing_for_insert.len(), 1, "Company is needed only if it inserts");
    }

    #[test]
    fn a_field_the_caller_may_not_edit_fails_the_record_only_when_given_a_value() {
        let denied = mapper(Operation::Update).with_denied(vec!["Phone".into()]);
        let given = denied.map_record(0, json!({"id": "5725767000000200001", "Phone": "555"}).as_object().unwrap());
        assert_eq!(given.errors.len(), 1);
        assert_eq!((given.errors[0].code, given.errors[0].column.as_str()), (RowErrorCode::InvalidData, "Phone"));
        let cleared = denied.map_record(0, json!({"id": "5725767000000200001", "Phone": null}).as_object().unwrap());
        assert!(cleared.errors.is_empty());
        assert!(!cleared.values.contains_key("Phone"), "a null does not clear it either");
    }
}
