//! Lookup cells (`Account_Name` of a Contact, …) name a record of another module by id, by a
//! unique field, or by any field such as its display name. A chunk's lookups are asked of the
//! store in one query per (module, field); the answers turn each pending lookup into the
//! `{name, id}` value Zoho stores, or into a row error: none found → `RESOURCE_NOT_FOUND`, more
//! than one → `CANNOT_PROCESS` (never a guess).

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::ids::RecordId;
use crate::jobspec::ID_FIELD;
use crate::mapping::{normalize_key, RowDraft};
use crate::result::{RowError, RowErrorCode};
use crate::schema::OrgSchema;

/// How a lookup value is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LookupBy {
    /// The record id.
    Id,
    /// A unique field, through the store's key index (values normalised like unique keys).
    UniqueKey,
    /// Any other field, compared after [`normalize_value`].
    Value,
}

/// One question to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupQuery {
    /// The related module searched.
    pub module: String,
    /// `id` or a field of `module`.
    pub field: String,
    /// How values are compared with the field's.
    pub by: LookupBy,
    /// Normalised values to find.
    pub values: Vec<String>,
    /// The field whose value names a found record.
    pub display_field: String,
}

/// A record a lookup value matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupHit {
    /// The record's id.
    pub id: RecordId,
    /// The record's display-field value, which the lookup shows as its `name`.
    pub name: Option<String>,
}

/// The store's answers, by (module, field) and normalised value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupAnswers {
    hits: HashMap<(String, String), HashMap<String, Vec<LookupHit>>>,
}

impl LookupAnswers {
    /// Records the hits of one query: `(normalised value, hit)` pairs.
    pub fn add(&mut self, query: &LookupQuery, hits: Vec<(String, LookupHit)>) {
        let by_value = self.hits.entry((query.module.clone(), query.field.clone())).or_default();
        for (value, hit) in hits {
            let found = by_value.entry(value).or_default();
            if !found.iter().any(|h| h.id == hit.id) {
                found.push(hit);
            }
        }
    }

    fn get(&self, module: &str, field: &str, value: &str) -> &[LookupHit] {
        self.hits
            .get(&(module.to_string(), field.to_string()))
            .and_then(|by_value| by_value.get(value))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Lower-cased, trimmed: how non-unique lookup values compare.
pub fn normalize_value(text: &str) -> String {
    text.trim().to_lowercase()
}

/// How a pending lookup's value is matched and normalised, given the related module.
fn match_rule(schema: &OrgSchema, module: &str, find_by: &str, value: &str) -> (String, LookupBy, String) {
    if find_by == ID_FIELD {
        return (ID_FIELD.to_string(), LookupBy::Id, value.trim().to_string());
    }
    let field = schema.module(module).and_then(|m| m.field(find_by));
    match field {
        Some(field) if field.unique => {
            (field.api_name.clone(), LookupBy::UniqueKey, normalize_key(field, &Value::String(value.to_string())))
        }
        Some(field) => (field.api_name.clone(), LookupBy::Value, normalize_value(value)),
        None => (find_by.to_string(), LookupBy::Value, normalize_value(value)),
    }
}

/// The queries a chunk needs, one per (module, field).
pub fn plan_lookups(rows: &[RowDraft], schema: &OrgSchema) -> Vec<LookupQuery> {
    let mut queries: BTreeMap<(String, String), LookupQuery> = BTreeMap::new();
    for lookup in rows.iter().flat_map(|row| row.lookups.iter()) {
        let (field, by, value) = match_rule(schema, &lookup.module, &lookup.find_by, &lookup.value);
        let display_field = schema.module(&lookup.module).map(|m| m.display_field.clone()).unwrap_or_default();
        let query = queries.entry((lookup.module.clone(), field.clone())).or_insert_with(|| LookupQuery {
            module: lookup.module.clone(),
            field,
            by,
            values: Vec::new(),
            display_field,
        });
        if !query.values.contains(&value) {
            query.values.push(value);
        }
    }
    queries.into_values().collect()
}

/// Turns every pending lookup of `rows` into a value or a row error.
pub fn resolve_lookups(rows: &mut [RowDraft], schema: &OrgSchema, answers: &LookupAnswers) {
    for row in rows.iter_mut() {
        for lookup in std::mem::take(&mut row.lookups) {
            let (field, _, value) = match_rule(schema, &lookup.module, &lookup.find_by, &lookup.value);
            match answers.get(&lookup.module, &field, &value) {
                [hit] => {
                    let name = hit.name.clone().map(Value::String).unwrap_or(Value::Null);
                    row.values.insert(lookup.field, json!({"name": name, "id": hit.id.to_string()}));
                }
                [] => row.errors.push(
                    RowError::new(RowErrorCode::ResourceNotFound, lookup.column)
                        .on(lookup.field.clone(), lookup.value.clone())
                        .because(format!("no {} record has {field} '{}'", lookup.module, lookup.value)),
                ),
                many => row.errors.push(
                    RowError::new(RowErrorCode::CannotProcess, lookup.column)
                        .on(lookup.field.clone(), lookup.value.clone())
                        .because(format!("{} {} records have {field} '{}'", many.len(), lookup.module, lookup.value)),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::PendingLookup;
    use crate::schema::standard::standard_schema;

    fn row_with(lookups: Vec<PendingLookup>) -> RowDraft {
        RowDraft {
            row_no: 1,
            echo: vec![],
            values: crate::mapping::RowValues::new(),
            owner: None,
            layout_id: None,
            errors: vec![],
            missing_for_insert: vec![],
            unique_keys: vec![],
            find_key: None,
            lookups,
            new_picklist_values: vec![],
        }
    }

    fn account_lookup(find_by: &str, value: &str) -> PendingLookup {
        PendingLookup {
            field: "Account_Name".into(),
            module: "Accounts".into(),
            find_by: find_by.into(),
            value: value.into(),
            column: "Account".into(),
        }
    }

    #[test]
    fn queries_group_by_module_and_field() {
        let schema = standard_schema();
        let rows = vec![
            row_with(vec![account_lookup("Account_Name", "Zylker"), account_lookup("id", "5725767000000200001")]),
            row_with(vec![account_lookup("account_name", "ZYLKER "), account_lookup("Account_Site", "Paris")]),
        ];
        let queries = plan_lookups(&rows, &schema);
        let summary: Vec<(&str, LookupBy, Vec<&str>)> =
            queries.iter().map(|q| (q.field.as_str(), q.by, q.values.iter().map(String::as_str).collect())).collect();
        assert_eq!(
            summary,
            [
                ("Account_Name", LookupBy::UniqueKey, vec!["zylker"]),
                ("Account_Site", LookupBy::Value, vec!["paris"]),
                ("id", LookupBy::Id, vec!["5725767000000200001"]),
            ]
        );
        assert!(queries.iter().all(|q| q.display_field == "Account_Name"));
    }

    #[test]
    fn one_hit_sets_the_value_none_and_many_are_errors() {
        let schema = standard_schema();
        let mut rows = vec![
            row_with(vec![account_lookup("Account_Name", "Zylker")]),
            row_with(vec![account_lookup("Account_Site", "Paris")]),
        ];
        rows.push(row_with(vec![account_lookup("Account_Name", "Nobody")]));
        let queries = plan_lookups(&rows, &schema);
        let mut answers = LookupAnswers::default();
        let hit = |id: u64, name: &str| LookupHit { id: RecordId::new(id), name: Some(name.into()) };
        for query in &queries {
            let hits = match query.field.as_str() {
                "Account_Name" => vec![("zylker".to_string(), hit(1, "Zylker"))],
                _ => vec![("paris".to_string(), hit(2, "A")), ("paris".to_string(), hit(3, "B"))],
            };
            answers.add(query, hits);
        }
        resolve_lookups(&mut rows, &schema, &answers);
        assert_eq!(rows[0].values["Account_Name"], json!({"name": "Zylker", "id": "1"}));
        assert!(rows[0].errors.is_empty() && rows[0].lookups.is_empty());
        assert_eq!(rows[1].errors[0].code, RowErrorCode::CannotProcess);
        assert_eq!(rows[2].errors[0].code, RowErrorCode::ResourceNotFound);
        assert_eq!(rows[2].errors[0].column, "Account");
    }
}
