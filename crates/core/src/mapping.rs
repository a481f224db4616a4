//! One CSV row → a [`RowDraft`]: converted values, the row's errors, its unique keys and how to
//! find the record it updates. What needs the database (duplicates, `find_by`, lookups) is only
//! described here; the store decides it inside the chunk's transaction.

use std::collections::HashMap;

use bulkwrite_wire::Operation;
use serde_json::Value;

use crate::convert::{convert_value, ConvertError, ConvertOptions, NumberFormat};
use crate::datefmt::JavaDateFormat;
use crate::ids::{RecordId, UserId};
use crate::jobspec::{ResourceSpec, ID_FIELD};
use crate::result::{RowError, RowErrorCode};
use crate::schema::{Converter, Field, Module};

mod users;
mod values;
pub use users::{UserDirectory, UserEntry};
pub use values::{FieldName, RowValues};

/// A unique value a row claims: no other record of the module may hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueKey {
    /// The unique field, by API name.
    pub field: String,
    /// The value normalised for comparison.
    pub value: String,
    /// The CSV column it came from (for `DUPLICATE_DATA-<column>`).
    pub column: String,
}

/// How the row's existing record is found (`find_by`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindKey {
    /// `find_by: "id"`.
    Id {
        /// The record id in the cell.
        id: RecordId,
        /// The CSV column of the key.
        column: String,
    },
    /// `find_by` a unique field; `value` normalised like [`UniqueKey::value`].
    Unique {
        /// The unique field, by API name.
        field: String,
        /// The cell's value, normalised.
        value: String,
        /// The CSV column of the key.
        column: String,
    },
    /// The key cell is empty; the row cannot be matched.
    Missing {
        /// The CSV column of the key.
        column: String,
    },
    /// The key cell holds a value the field refuses; the row already carries that error.
    Invalid {
        /// The CSV column of the key.
        column: String,
    },
}

/// A lookup cell that the worker resolves against the related module before the chunk is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLookup {
    /// The lookup field, by API name.
    pub field: String,
    /// The related module searched.
    pub module: String,
    /// `id`, or the related module's field to match on.
    pub find_by: String,
    /// The cell's value, trimmed.
    pub value: String,
    /// The CSV column it came from (for errors).
    pub column: String,
}

/// What one CSV row asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDraft {
    /// 1-based data row number.
    pub row_no: u64,
    /// Cells echoed into the result file.
    pub echo: Vec<String>,
    /// Field values to write; `Value::Null` clears a field on update.
    pub values: RowValues,
    /// The record's owner, when the row names one.
    pub owner: Option<UserId>,
    /// The record's layout, when the row names one.
    pub layout_id: Option<String>,
    /// Errors that skip the row whatever the store finds.
    pub errors: Vec<RowError>,
    /// Mandatory fields left empty: errors only when the row ends up inserting (upsert).
    pub missing_for_insert: Vec<RowError>,
    /// Unique values the row claims.
    pub unique_keys: Vec<UniqueKey>,
    /// How the row finds the record it updates (update and upsert).
    pub find_key: Option<FindKey>,
    /// Lookup cells still to resolve.
    pub lookups: Vec<PendingLookup>,
    /// Picklist values the row uses that the field does not list yet: `(field, value)`.
    /// Bulk write adds them to unrestricted picklists (Kaizen #13).
    pub new_picklist_values: Vec<(String, String)>,
}

impl RowDraft {
    /// A row with nothing mapped yet: no values, errors, keys or lookups.
    pub fn new(row_no: u64, echo: Vec<String>) -> RowDraft {
        RowDraft {
            row_no,
            echo,
            values: RowValues::new(),
            owner: None,
            layout_id: None,
            errors: Vec::new(),
            missing_for_insert: Vec::new(),
            unique_keys: Vec::new(),
            find_key: None,
            lookups: Vec::new(),
            new_picklist_values: Vec::new(),
        }
    }
}

/// Normalises a unique value so that duplicates compare equal.
pub fn normalize_key(field: &Field, value: &Value) -> String {
    let text = match value {
        Value::String(text) => std::borrow::Cow::Borrowed(text.trim()),
        other => std::borrow::Cow::Owned(other.to_string()),
    };
    if field.unique_case_sensitive {
        text.into_owned()
    } else {
        text.to_lowercase()
    }
}

/// What a parent key value of a parent/child job points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentKey {
    /// The record made or updated from the one parent row with this value.
    Record(RecordId),
    /// Several parent rows carry this value: children cannot be attached to one of them.
    Ambiguous,
}

/// Parent key value (the parent CSV's `parent_column_index` cell) → parent record.
pub type ParentKeys = HashMap<String, ParentKey>;

#[derive(Debug, Clone)]
enum Target {
    Id,
    /// The child's link to its parent row (`parent_column_index`).
    ParentLink {
        module: String,
    },
    Scalar {
        field: Field,
        format: Option<JavaDateFormat>,
        number_format: Option<NumberFormat>,
    },
    Owner {
        by_email: bool,
    },
    Layout,
    Lookup {
        module: String,
        find_by: String,
    },
    UserLookup {
        by_email: bool,
    },
}

#[derive(Debug, Clone)]
struct ColumnPlan {
    api_name: String,
    /// `api_name`, shared by the rows' values.
    field_name: FieldName,
    index: Option<usize>,
    column: String,
    default: Option<String>,
    target: Target,
    mandatory: bool,
    unique: Option<Field>,
    /// The job creator's profile makes the field read-only or hides it.
    denied: bool,
}

/// Maps rows of one resource. Owns what it needs, so it can move to a blocking thread.
#[derive(Debug, Clone)]
pub struct RowMapper {
    module: String,
    plans: Vec<ColumnPlan>,
    /// No two plans map the same field: a row's values are appended without a scan.
    distinct_fields: bool,
    echo_columns: Vec<usize>,
    header_len: usize,
    last_column: String,
    operation: Operation,
    ignore_empty: bool,
    find_by: Option<String>,
    time_zone: chrono_tz::Tz,
    users: UserDirectory,
    layouts: Vec<(String, String)>,
    parent_keys: Option<std::sync::Arc<ParentKeys>>,
}

impl RowMapper {
    /// Plans the columns of a validated resource.
    pub fn new(
        resource: &ResourceSpec,
        module: &Module,
        operation: Operation,
        time_zone: chrono_tz::Tz,
        users: UserDirectory,
    ) -> RowMapper {
        // A job that names layouts (a Layout mapping) does not get the default layout's extra
        // mandatory fields enforced per row (Zoho: a bulk insert into a specific layout does not
        // enforce that layout's extra mandatory fields); without one, they are mandatory.
        let names_layout = resource.mappings.iter().any(|m| m.api_name == "Layout");
        let layout_mandatory: Vec<String> = match module.default_layout() {
            Some(layout) if !names_layout => layout.mandatory_fields.clone(),
            _ => Vec::new(),
        };
        let mut plans = Vec::with_capacity(resource.mappings.len());
        for mapping in &resource.mappings {
            let index = mapping.index.map(|i| i as usize);
            let column = match index.and_then(|i| resource.header.get(i)) {
                Some(header) if !header.is_empty() => header.clone(),
                _ => mapping.api_name.clone(),
            };
            let default = mapping.default_value.as_ref().and_then(|d| d.value.as_ref()).map(value_text);
            let field = module.field(&mapping.api_name);
            let link = resource.parent_link.as_ref().filter(|link| link.field == mapping.api_name);
            let target = match link {
                Some(link) => Target::ParentLink { module: link.parent_module.clone() },
                None => {
                    plan_target(mapping.api_name.as_str(), field, mapping.format.as_deref(), mapping.find_by.as_deref())
                }
            };
            let mandatory = field.is_some_and(|f| f.system_mandatory || layout_mandatory.contains(&f.api_name));
            let unique = field.filter(|f| f.unique).cloned();
            let denied = resource.denied_fields.iter().any(|name| name.eq_ignore_ascii_case(&mapping.api_name));
            plans.push(ColumnPlan {
                api_name: mapping.api_name.clone(),
                field_name: FieldName::from(mapping.api_name.as_str()),
                index,
                column,
                default,
                target,
                mandatory,
                unique,
                denied,
            });
        }
        let distinct_fields = {
            let mut names: Vec<&str> = plans.iter().map(|plan| plan.api_name.as_str()).collect();
            names.sort_unstable();
            names.windows(2).all(|pair| pair[0] != pair[1])
        };
        RowMapper {
            module: module.api_name.clone(),
            plans,
            distinct_fields,
            echo_columns: resource.echo_columns.iter().map(|i| *i as usize).collect(),
            header_len: resource.header.len(),
            last_column: resource.header.last().cloned().unwrap_or_default(),
            operation,
            ignore_empty: resource.effective_ignore_empty,
            find_by: resource.find_by.clone(),
            time_zone,
            users,
            layouts: module.layouts.iter().map(|l| (l.id.clone(), l.name.clone())).collect(),
            parent_keys: None,
        }
    }

    /// Gives a child resource's mapper the parent rows' keys.
    pub fn with_parent_keys(mut self, keys: std::sync::Arc<ParentKeys>) -> RowMapper {
        self.parent_keys = Some(keys);
        self
    }

    /// A row left unmapped (past a bound): only its echoed cells.
    pub fn unmapped_row(&self, row_no: u64, record: &csv::StringRecord) -> RowDraft {
        let echo = self.echo_columns.iter().map(|i| record.get(*i).unwrap_or("").to_string()).collect();
        RowDraft::new(row_no, echo)
    }

    /// Maps one data row.
    pub fn map_row(&self, row_no: u64, record: &csv::StringRecord) -> RowDraft {
        let mut draft = self.unmapped_row(row_no, record);
        // Every mapped column, and `Full_Name` that inserts add: the map never grows.
        draft.values = RowValues::with_capacity(self.plans.len() + 1);
        if record.len() > self.header_len {
            let reason = format!("the row has {} cells but the header has {}", record.len(), self.header_len);
            draft.errors.push(RowError::new(RowErrorCode::InvalidData, self.last_column.clone()).because(reason));
            return draft;
        }
        for plan in &self.plans {
            let cell = plan.index.and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
            let text = if cell.is_empty() { plan.default.as_deref().unwrap_or("") } else { cell };
            if plan.denied {
                self.map_denied(plan, text, &mut draft);
            } else if text.is_empty() {
                self.map_empty(plan, &mut draft);
            } else {
                self.map_value(plan, text, &mut draft);
            }
        }
        crate::activity::check_row(&self.module, &mut draft, |field| self.column_of(field));
        self.set_find_key(&mut draft);
        draft
    }

    /// A field the creator's profile may not edit: a value skips the row with `INVALID_DATA`
    /// on the column (the closest of the result file's documented codes: Zoho documents no
    /// field-permission row error); an empty cell leaves the field alone (it neither clears it
    /// nor, unless the field is mandatory, fails the row).
    fn map_denied(&self, plan: &ColumnPlan, text: &str, draft: &mut RowDraft) {
        if text.is_empty() {
            if plan.mandatory {
                self.map_empty(plan, draft);
            }
            return;
        }
        draft.errors.push(
            RowError::new(RowErrorCode::InvalidData, plan.column.clone())
                .on(plan.api_name.clone(), text)
                .because(format!("the job creator's profile may not edit field {}", plan.api_name)),
        );
    }

    fn map_empty(&self, plan: &ColumnPlan, draft: &mut RowDraft) {
        if self.is_find_by(plan) {
            draft.find_key = Some(FindKey::Missing { column: plan.column.clone() });
        }
        let missing = RowError::new(RowErrorCode::MandatoryNotFound, plan.column.clone()).on(plan.api_name.clone(), "");
        if plan.mandatory {
            match self.operation {
                Operation::Insert => draft.errors.push(missing),
                Operation::Upsert if self.ignore_empty => draft.missing_for_insert.push(missing),
                Operation::Upsert | Operation::Update if !self.ignore_empty => draft.errors.push(missing),
                _ => {}
            }
            return;
        }
        let clears = !self.ignore_empty && self.operation != Operation::Insert;
        if clears
            && matches!(
                plan.target,
                Target::Scalar { .. } | Target::Lookup { .. } | Target::UserLookup { .. } | Target::ParentLink { .. }
            )
        {
            self.set(plan, Value::Null, draft);
        }
    }

    fn map_value(&self, plan: &ColumnPlan, text: &str, draft: &mut RowDraft) {
        let invalid = |reason: String| {
            RowError::new(RowErrorCode::InvalidData, plan.column.clone())
                .on(plan.api_name.clone(), text)
                .because(reason)
        };
        match &plan.target {
            Target::Id => match RecordId::parse(text) {
                Some(id) => draft.find_key = Some(FindKey::Id { id, column: plan.column.clone() }),
                None => {
                    draft.errors.push(invalid(format!("'{text}' is not a record id")));
                    draft.find_key = Some(FindKey::Invalid { column: plan.column.clone() });
                }
            },
            Target::Scalar { field, format, number_format } => {
                let options = ConvertOptions {
                    format: format.as_ref(),
                    number_format: number_format.as_ref(),
                    time_zone: self.time_zone,
                };
                match convert_value(field, text, &options) {
                    Ok(value) => {
                        note_new_picklist_values(field, &value, &mut draft.new_picklist_values);
                        if let Some(unique) = &plan.unique {
                            let key = normalize_key(unique, &value);
                            draft.unique_keys.push(UniqueKey {
                                field: plan.api_name.clone(),
                                value: key,
                                column: plan.column.clone(),
                            });
                        }
                        self.set(plan, value, draft);
                    }
                    Err(error) => {
                        let reason = match error {
                            ConvertError::Invalid(reason) => reason,
                            other @ ConvertError::NotScalar(_) => other.to_string(),
                        };
                        draft.errors.push(invalid(reason));
                        if self.is_find_by(plan) {
                            draft.find_key = Some(FindKey::Invalid { column: plan.column.clone() });
                        }
                    }
                }
            }
            Target::Owner { by_email } => match self.users.resolve(text, *by_email) {
                Some(user) => draft.owner = Some(user.id),
                None => draft.errors.push(invalid(format!("'{text}' is not an active user of the org"))),
            },
            Target::UserLookup { by_email } => match self.users.resolve(text, *by_email) {
                Some(user) => {
                    let value = serde_json::json!({"name": user.full_name, "id": user.id.to_string()});
                    self.set(plan, value, draft);
                }
                None => draft.errors.push(invalid(format!("'{text}' is not an active user of the org"))),
            },
            Target::Layout => {
                // An unknown or empty layout falls back to the module's default layout, as in Zoho.
                let found = self.layouts.iter().find(|(id, name)| id == text || name.eq_ignore_ascii_case(text));
                draft.layout_id = found.or(self.layouts.first()).map(|(id, _)| id.clone());
            }
            Target::ParentLink { module } => {
                let parent = self.parent_keys.as_ref().and_then(|keys| keys.get(text)).copied();
                match parent {
                    Some(ParentKey::Record(id)) => draft.lookups.push(PendingLookup {
                        field: plan.api_name.clone(),
                        module: module.clone(),
                        find_by: ID_FIELD.to_string(),
                        value: id.to_string(),
                        column: plan.column.clone(),
                    }),
                    Some(ParentKey::Ambiguous) => draft.errors.push(
                        RowError::new(RowErrorCode::CannotProcess, plan.column.clone())
                            .on(plan.api_name.clone(), text)
                            .because(format!("several parent rows carry the key '{text}'")),
                    ),
                    None => draft.errors.push(
                        RowError::new(RowErrorCode::ResourceNotFound, plan.column.clone())
                            .on(plan.api_name.clone(), text)
                            .because(format!("no parent row carries the key '{text}'")),
                    ),
                }
            }
            Target::Lookup { module, find_by } => draft.lookups.push(PendingLookup {
                field: plan.api_name.clone(),
                module: module.clone(),
                find_by: find_by.clone(),
                value: text.to_string(),
                column: plan.column.clone(),
            }),
        }
    }

    /// Sets the plan's field in the row, which sets each plan's field once.
    fn set(&self, plan: &ColumnPlan, value: Value, draft: &mut RowDraft) {
        if self.distinct_fields {
            draft.values.push_unset(plan.field_name.clone(), value);
        } else {
            draft.values.insert(plan.field_name.clone(), value);
        }
    }

    fn is_find_by(&self, plan: &ColumnPlan) -> bool {
        self.find_by.as_deref() == Some(plan.api_name.as_str())
    }

    fn set_find_key(&self, draft: &mut RowDraft) {
        let Some(find_by) = self.find_by.as_deref() else {
            return;
        };
        if find_by == ID_FIELD || draft.find_key.is_some() {
            if draft.find_key.is_none() {
                draft.find_key = Some(FindKey::Missing { column: self.column_of(ID_FIELD) });
            }
            return;
        }
        let key = draft.unique_keys.iter().find(|k| k.field == find_by);
        draft.find_key = Some(match key {
            Some(key) => {
                FindKey::Unique { field: key.field.clone(), value: key.value.clone(), column: key.column.clone() }
            }
            None => FindKey::Missing { column: self.column_of(find_by) },
        });
    }

    fn column_of(&self, api_name: &str) -> String {
        self.plans
            .iter()
            .find(|p| p.api_name == api_name)
            .map(|p| p.column.clone())
            .unwrap_or_else(|| api_name.to_string())
    }
}

/// Records picklist values the field does not list yet.
fn note_new_picklist_values(field: &Field, value: &Value, out: &mut Vec<(String, String)>) {
    if !field.data_type.facts().is_picklist() {
        return;
    }
    let values: Vec<&str> = match value {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    for text in values {
        if !field.pick_list_values.iter().any(|known| known == text) {
            out.push((field.api_name.clone(), text.to_string()));
        }
    }
}

fn plan_target(api_name: &str, field: Option<&Field>, format: Option<&str>, find_by: Option<&str>) -> Target {
    let by_email = find_by.is_some_and(|f| f.eq_ignore_ascii_case("email"));
    let Some(field) = field else {
        // Validation admits only real fields and `id`.
        debug_assert_eq!(api_name, ID_FIELD);
        return Target::Id;
    };
    match field.data_type.facts().converter {
        Converter::Owner => Target::Owner { by_email },
        Converter::User => Target::UserLookup { by_email },
        Converter::Layout => Target::Layout,
        Converter::Lookup => Target::Lookup {
            module: field.lookup_module.clone().unwrap_or_default(),
            find_by: find_by.unwrap_or(ID_FIELD).to_string(),
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
        // Validation refuses non-importable fields before a plan is made.
        | Converter::None => Target::Scalar {
            field: field.clone(),
            format: format.and_then(|p| JavaDateFormat::compile(p).ok()),
            number_format: format.and_then(NumberFormat::compile),
        },
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
