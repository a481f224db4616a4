//! Per-type conversion of one CSV cell into the JSON value stored on the record, by Zoho's
//! rules for each `data_type`.
//!
//! [`convert_value`] checks one trimmed, non-empty cell against its field's type and length and
//! returns the JSON value to store. Refusals carry a plain-English message for the result file.
//!
//! Choices made where Zoho documents nothing precise:
//! - Lengths are counted in characters, digits without leading zeros (`007` has one digit).
//! - Numbers accept an optional sign and `,` thousands grouping in groups of three; scientific
//!   notation is refused. Decimals are rounded half away from zero on the decimal digits, so
//!   `2.675` rounds to `2.68`.
//! - Date-times are truncated to whole seconds; a local time skipped by a clock change is refused
//!   and an ambiguous one takes the earlier instant.

mod datetime;
mod number;
mod numfmt;
#[cfg(test)]
mod tests;
mod text;

use serde_json::Value;

use crate::datefmt::JavaDateFormat;
use crate::schema::{Converter, DataType, Field};
pub use numfmt::NumberFormat;

/// What a conversion needs besides the cell.
#[derive(Debug, Clone)]
pub struct ConvertOptions<'a> {
    /// The mapping's `format` of a date or date-time field, compiled.
    pub format: Option<&'a JavaDateFormat>,
    /// The mapping's `format` of a number field, compiled.
    pub number_format: Option<&'a NumberFormat>,
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

/// The length limit used when a field has no `length`: characters for text-like types, digits
/// (before the decimal point for decimals) for numbers; `None` for types without a limit.
pub fn default_length(data_type: DataType) -> Option<u32> {
    data_type.facts().default_length
}

pub use crate::schema::DEFAULT_DECIMAL_PLACES;

/// Whether a mapping `format` can be used for a field of this type (`INVALID_FORMAT` otherwise):
/// dates and date-times take a date pattern that fixes a date; numbers take a number pattern
/// ([`NumberFormat`]), without decimal places for whole numbers; other types take none.
pub fn format_fits(data_type: DataType, pattern: &str) -> bool {
    let date = || JavaDateFormat::compile(pattern).is_ok_and(|format| format.has_date());
    let number = NumberFormat::compile(pattern);
    match data_type.facts().converter {
        Converter::Date | Converter::DateTime => date(),
        Converter::Integer | Converter::BigInt => number.is_some_and(|format| !format.has_fraction()),
        Converter::Decimal | Converter::Percent => number.is_some(),
        Converter::Text
        | Converter::Email
        | Converter::Phone
        | Converter::Website
        | Converter::Picklist
        | Converter::MultiPicklist
        | Converter::Boolean
        | Converter::Owner
        | Converter::User
        | Converter::Lookup
        | Converter::Layout
        | Converter::None => false,
    }
}

/// Converts one non-empty cell (the caller trims it).
pub fn convert_value(field: &Field, raw: &str, opts: &ConvertOptions<'_>) -> Result<Value, ConvertError> {
    let limit = limit(field);
    let converter = field.data_type.facts().converter;
    let normalized;
    let raw = match opts.number_format {
        Some(format)
            if matches!(
                converter,
                Converter::Integer | Converter::BigInt | Converter::Decimal | Converter::Percent
            ) =>
        {
            normalized = format.normalize(raw).map_err(invalid)?;
            normalized.as_str()
        }
        _ => raw,
    };
    match converter {
        Converter::Text => text::plain(raw, limit),
        Converter::Email => text::email(raw, limit),
        Converter::Phone => text::phone(raw, limit),
        Converter::Website => text::website(raw, limit),
        Converter::Picklist => text::picklist(field, raw, limit),
        Converter::MultiPicklist => text::multi_picklist(field, raw, limit),
        Converter::Date => datetime::date(raw, opts),
        Converter::DateTime => datetime::date_time(raw, opts),
        Converter::Integer => number::integer(raw, limit),
        Converter::BigInt => number::big_int(raw, limit),
        Converter::Decimal => number::decimal(raw, limit, places(field), false),
        Converter::Percent => number::decimal(raw, limit, places(field), true),
        Converter::Boolean => number::boolean(raw),
        Converter::Owner | Converter::User | Converter::Lookup | Converter::Layout | Converter::None => {
            Err(ConvertError::NotScalar(field.data_type.as_str()))
        }
    }
}

/// The field's length limit, or its type's default (unlimited for types without one).
fn limit(field: &Field) -> usize {
    let length = field.length.or_else(|| default_length(field.data_type)).unwrap_or(u32::MAX);
    usize::try_from(length).unwrap_or(usize::MAX)
}

fn places(field: &Field) -> usize {
    let places = field.decimal_place.unwrap_or(DEFAULT_DECIMAL_PLACES);
    usize::try_from(places).unwrap_or(usize::MAX)
}

/// An `Invalid` error.
fn invalid(message: impl Into<String>) -> ConvertError {
    ConvertError::Invalid(message.into())
}

/// The cell quoted for a message, shortened when long.
fn quoted(raw: &str) -> String {
    const SHOWN: usize = 40;
    if raw.chars().count() <= SHOWN {
        return format!("'{raw}'");
    }
    let head: String = raw.chars().take(SHOWN).collect();
    format!("'{head}…'")
}
