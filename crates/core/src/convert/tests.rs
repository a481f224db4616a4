//! Conversion tests: shared helpers here, one submodule per family of types.

mod dates;
mod numbers;
mod text;

use chrono::NaiveDate;
use chrono_tz::Tz;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::{convert_value, format_fits, ConvertError, ConvertOptions, NumberFormat};
use crate::datefmt::JavaDateFormat;
use crate::schema::{DataType, Field};

pub(super) fn field(data_type: DataType) -> Field {
    Field {
        id: "1".to_string(),
        api_name: "Field".to_string(),
        field_label: "Field".to_string(),
        data_type,
        length: None,
        decimal_place: None,
        system_mandatory: false,
        unique: false,
        unique_case_sensitive: false,
        read_only: false,
        custom_field: true,
        pick_list_values: Vec::new(),
        restricted_picklist: false,
        lookup_module: None,
    }
}

pub(super) fn with_length(data_type: DataType, length: u32) -> Field {
    Field { length: Some(length), ..field(data_type) }
}

pub(super) fn utc() -> ConvertOptions<'static> {
    ConvertOptions { format: None, number_format: None, time_zone: Tz::UTC }
}

pub(super) fn compile(pattern: &str) -> JavaDateFormat {
    match JavaDateFormat::compile(pattern) {
        Ok(format) => format,
        Err(err) => panic!("pattern {pattern:?} should compile: {err}"),
    }
}

/// Runs a table of `(cell, expected value or None for Invalid)` against one field.
pub(super) fn check(field: &Field, opts: &ConvertOptions<'_>, cases: &[(&str, Option<Value>)]) {
    for (raw, expected) in cases {
        let result = convert_value(field, raw, opts);
        match expected {
            Some(value) => assert_eq!(result.as_ref(), Ok(value), "{:?} {raw:?}", field.data_type),
            None => assert!(
                matches!(result, Err(ConvertError::Invalid(_))),
                "{:?} {raw:?} should be invalid, got {result:?}",
                field.data_type
            ),
        }
    }
}

#[allow(clippy::unnecessary_wraps)] // reads as the expected outcome in the case tables
pub(super) fn ok(value: Value) -> Option<Value> {
    Some(value)
}

#[test]
fn non_scalar_types_are_resolved_elsewhere() {
    let cases = [
        (DataType::Lookup, "lookup"),
        (DataType::OwnerLookup, "ownerlookup"),
        (DataType::UserLookup, "userlookup"),
        (DataType::Layout, "layout"),
        (DataType::AutoNumber, "autonumber"),
        (DataType::Formula, "formula"),
        (DataType::Subform, "subform"),
        (DataType::Unsupported, "unsupported"),
    ];
    for (data_type, name) in cases {
        assert_eq!(convert_value(&field(data_type), "x", &utc()), Err(ConvertError::NotScalar(name)));
    }
}

#[test]
fn formats_fit_dates_and_numbers() {
    let cases = [
        (DataType::Date, "yyyy/MM/dd", true),
        (DataType::DateTime, "yyyy/MM/dd", true),
        (DataType::Date, "HH:mm", false),
        (DataType::DateTime, "HH:mm", false),
        (DataType::Integer, "yyyy/MM/dd", false),
        (DataType::Text, "yyyy/MM/dd", false),
        (DataType::Double, "yyyy/MM/dd", false),
        (DataType::Integer, "#,##0", true),
        (DataType::BigInt, "#.##0", true),
        (DataType::Integer, "#,##0.00", false),
        (DataType::Double, "#.##0,00", true),
        (DataType::Currency, "#,##0.00", true),
        (DataType::Percent, "0.0%", true),
        (DataType::Text, "#,##0", false),
        (DataType::Date, "#,##0", false),
    ];
    for (data_type, pattern, expected) in cases {
        assert_eq!(format_fits(data_type, pattern), expected, "{data_type:?} with {pattern}");
    }
}

#[test]
fn a_number_format_reads_its_separators() {
    let european = NumberFormat::compile("#.##0,00").unwrap();
    let opts = ConvertOptions { format: None, number_format: Some(&european), time_zone: Tz::UTC };
    let currency = field(DataType::Currency);
    assert_eq!(convert_value(&currency, "1.234,5", &opts), Ok(json!(1234.5)));
    assert!(matches!(convert_value(&currency, "1,234.5", &opts), Err(ConvertError::Invalid(_))));
    let grouped = NumberFormat::compile("#,##0").unwrap();
    let opts = ConvertOptions { format: None, number_format: Some(&grouped), time_zone: Tz::UTC };
    assert_eq!(convert_value(&field(DataType::Integer), "12,345", &opts), Ok(json!(12345)));
    assert!(matches!(convert_value(&field(DataType::Integer), "12.5", &opts), Err(ConvertError::Invalid(_))));
}

const SCALAR_TYPES: [DataType; 17] = [
    DataType::Text,
    DataType::Textarea,
    DataType::Email,
    DataType::Phone,
    DataType::Website,
    DataType::Picklist,
    DataType::MultiSelectPicklist,
    DataType::Date,
    DataType::DateTime,
    DataType::Integer,
    DataType::BigInt,
    DataType::Double,
    DataType::Currency,
    DataType::Percent,
    DataType::Boolean,
    DataType::Lookup,
    DataType::Layout,
];

proptest! {
    #[test]
    fn convert_never_panics(
        data_type in prop::sample::select(SCALAR_TYPES.to_vec()),
        raw in any::<String>(),
        length in prop::option::of(0u32..40),
        decimal_place in prop::option::of(0u32..12),
        restricted in any::<bool>(),
        pattern in prop::option::of(prop::sample::select(vec!["yyyy/MM/dd", "dd-MMM-yy HH:mm:ss.SSSXXX", "HH:mm"])),
    ) {
        let format = pattern.and_then(|p| JavaDateFormat::compile(p).ok());
        let field = Field {
            length,
            decimal_place,
            restricted_picklist: restricted,
            pick_list_values: vec!["A".to_string(), "b".to_string()],
            ..field(data_type)
        };
        let opts = ConvertOptions { format: format.as_ref(), number_format: None, time_zone: chrono_tz::America::New_York };
        let _ = convert_value(&field, raw.trim(), &opts);
    }

    #[test]
    fn convert_never_panics_on_number_like_text(
        data_type in prop::sample::select(SCALAR_TYPES.to_vec()),
        raw in "[-+0-9,.%eE: /T]{1,30}",
        length in prop::option::of(0u32..25),
        decimal_place in prop::option::of(0u32..12),
    ) {
        let field = Field { length, decimal_place, ..field(data_type) };
        let _ = convert_value(&field, &raw, &utc());
    }

    #[test]
    fn i32_round_trips_as_integer(value in any::<i32>()) {
        let field = with_length(DataType::Integer, 10);
        prop_assert_eq!(convert_value(&field, &value.to_string(), &utc()), Ok(json!(value)));
    }

    #[test]
    fn i64_round_trips_as_big_int(value in any::<i64>()) {
        let field = with_length(DataType::BigInt, 19);
        prop_assert_eq!(convert_value(&field, &value.to_string(), &utc()), Ok(json!(value.to_string())));
    }

    #[test]
    fn cents_round_trip_as_currency(cents in -(1i64 << 53)..(1i64 << 53)) {
        let sign = if cents < 0 { "-" } else { "" };
        let text = format!("{sign}{}.{:02}", cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
        let expected = cents as f64 / 100.0;
        prop_assert_eq!(convert_value(&field(DataType::Currency), &text, &utc()), Ok(json!(expected)));
    }

    #[test]
    fn default_dates_round_trip(days in 1i32..=3_652_059) {
        let Some(day) = NaiveDate::from_num_days_from_ce_opt(days) else { return Ok(()); };
        let text = day.format("%m/%d/%Y").to_string();
        let expected = day.format("%Y-%m-%d").to_string();
        prop_assert_eq!(convert_value(&field(DataType::Date), &text, &utc()), Ok(json!(expected)));
    }
}
