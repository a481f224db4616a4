//! The columns of an export: `id` first, then each asked-for field (every field of the module
//! when none is asked for), a lookup's field through dot notation (`Account_Name.Phone`) or a
//! user's attribute (`Owner.last_name`).

use bulkwrite_wire::{ApiError, ErrorCode};

use crate::jobspec::ID_FIELD;
use crate::schema::{Converter, DataType, Module, OrgSchema};

/// What a user lookup's dot notation may name.
pub const USER_ATTRIBUTES: &[&str] = &["id", "first_name", "last_name", "full_name", "name", "email"];

/// Where a column's cells come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnSource {
    /// The record's own id.
    Id,
    /// A field of the exported module (system fields included).
    Field {
        /// The field's canonical API name.
        api_name: String,
        /// How the field's values are written.
        data_type: DataType,
    },
    /// A field of the record a lookup points at.
    Lookup {
        /// The lookup field of the exported module.
        field: String,
        /// The module the lookup points at.
        module: String,
        /// The field of that module's record to write.
        target: String,
        /// How the target field's values are written.
        data_type: DataType,
    },
    /// An attribute of the user an owner or user lookup names.
    User {
        /// The owner or user lookup field.
        field: String,
        /// One of [`USER_ATTRIBUTES`].
        attribute: String,
    },
}

/// One column: its header and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The CSV header: the canonical API name, dot notation kept.
    pub header: String,
    /// Where the cells come from.
    pub source: ColumnSource,
}

/// Why a name of `fields` makes no column.
enum Refusal {
    /// Nothing of the module (or of the looked-up module) has this name.
    NotAvailable,
    /// A field exists but cannot be read this way (dot notation on a field that is no lookup).
    NotSupported,
}

/// `FIELD_NOT_AVAILABLE` / `FIELD_NOT_SUPPORTED` in the sentences of Bulk Read's error model
/// (`details`: `api_name` and `module`, as the v8 OpenAPI spec gives them, and the `json_path`).
fn refused(refusal: &Refusal, name: &str, module: &str, index: usize) -> ApiError {
    let (code, message) = match refusal {
        Refusal::NotAvailable => (
            ErrorCode::FieldNotAvailable,
            format!(
                "Requested field api name '{name}' is not available for the module '{module}'. Check permission or visibility for the field."
            ),
        ),
        Refusal::NotSupported => (
            ErrorCode::FieldNotSupported,
            format!(
                "Invalid field for the module provided in fields. Field api name '{name}' is not supported for this module '{module}'."
            ),
        ),
    };
    ApiError::with_message(code, message)
        .detail("api_name", name)
        .detail("module", module)
        .detail("json_path", format!("$.query.fields[{index}]"))
}

/// The export's columns for `fields` of `module` (canonical names in headers), or Zoho's error
/// for the first field that names nothing.
pub fn plan_columns(schema: &OrgSchema, module: &Module, fields: &[String]) -> Result<Vec<Column>, ApiError> {
    let mut columns = vec![Column { header: ID_FIELD.to_string(), source: ColumnSource::Id }];
    if fields.is_empty() {
        for field in &module.fields {
            let source = ColumnSource::Field { api_name: field.api_name.clone(), data_type: field.data_type };
            columns.push(Column { header: field.api_name.clone(), source });
        }
        return Ok(columns);
    }
    for (index, name) in fields.iter().enumerate() {
        let column = plan_column(schema, module, name.trim())
            .map_err(|refusal| refused(&refusal, name, &module.api_name, index))?;
        if !columns.iter().any(|known| known.header == column.header) {
            columns.push(column);
        }
    }
    Ok(columns)
}

fn plan_column(schema: &OrgSchema, module: &Module, name: &str) -> Result<Column, Refusal> {
    if name.eq_ignore_ascii_case(ID_FIELD) {
        return Ok(Column { header: ID_FIELD.to_string(), source: ColumnSource::Id });
    }
    let Some((head, tail)) = name.split_once('.') else {
        let field = module.field(name).ok_or(Refusal::NotAvailable)?;
        let source = ColumnSource::Field { api_name: field.api_name.clone(), data_type: field.data_type };
        return Ok(Column { header: field.api_name.clone(), source });
    };
    let field = module.field(head).ok_or(Refusal::NotAvailable)?;
    match field.data_type.facts().converter {
        Converter::Owner | Converter::User => {
            let attribute =
                USER_ATTRIBUTES.iter().find(|a| a.eq_ignore_ascii_case(tail)).ok_or(Refusal::NotAvailable)?;
            let source = ColumnSource::User { field: field.api_name.clone(), attribute: attribute.to_string() };
            Ok(Column { header: format!("{}.{attribute}", field.api_name), source })
        }
        Converter::Lookup => {
            let related =
                field.lookup_module.as_deref().and_then(|target| schema.module(target)).ok_or(Refusal::NotSupported)?;
            let (target, data_type) = if tail.eq_ignore_ascii_case(ID_FIELD) {
                (ID_FIELD.to_string(), DataType::BigInt)
            } else {
                let target = related.field(tail).ok_or(Refusal::NotAvailable)?;
                (target.api_name.clone(), target.data_type)
            };
            let source = ColumnSource::Lookup {
                field: field.api_name.clone(),
                module: related.api_name.clone(),
                target: target.clone(),
                data_type,
            };
            Ok(Column { header: format!("{}.{target}", field.api_name), source })
        }
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
        | Converter::Layout
        | Converter::None => Err(Refusal::NotSupported),
    }
}
