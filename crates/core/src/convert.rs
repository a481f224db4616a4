//! Per-type conversion of one CSV cell into the JSON value stored on the record (spec §9).
//! (Interface stub; implementation in progress.)

use serde_json::Value;

use crate::datefmt::JavaDateFormat;
use crate::schema::Field;

/// What a conversion needs besides the cell.
#[derive(Debug, Clone)]
pub struct ConvertOptions<'a> {
    /// The mapping's `format`, compiled.
    pub format: Option<&'a JavaDateFormat>,
    /// The org's time zone, for date-times written without an offset.
    pub time_zone: chrono_tz::Tz,
}

/// Why a cell was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The cell breaks the field's rules: reported as `INVALID_DATA`.
    #[error("{0}")]
    Invalid(String),
    /// The field's type is resolved elsewhere (lookups, owner, layout).
    #[error("fields of type {0} are not converted from a single cell")]
    NotScalar(&'static str),
}

/// Converts one non-empty cell.
pub fn convert_value(_field: &Field, _raw: &str, _opts: &ConvertOptions<'_>) -> Result<Value, ConvertError> {
    unimplemented!("convert in progress")
}
