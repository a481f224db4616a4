//! Dates and date-times.

use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, NaiveDateTime, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;
use serde_json::Value;

use super::{invalid, quoted, ConvertError, ConvertOptions};
use crate::datefmt::{JavaDateFormat, ParsedDateTime};

/// Date patterns accepted without a mapping `format`: Zoho's default, then ISO 8601.
const DEFAULT_DATE_PATTERNS: [&str; 2] = ["M/d/yyyy", "yyyy-M-d"];

/// Date-time patterns accepted without a mapping `format`: Zoho's default (with or without
/// seconds), then ISO 8601 with `T` or a space, optional fraction and optional offset.
const DEFAULT_DATE_TIME_PATTERNS: [&str; 10] = [
    "M/d/yyyy H:mm:ss",
    "M/d/yyyy H:mm",
    "yyyy-M-d'T'H:mm:ss",
    "yyyy-M-d'T'H:mm:ss.S",
    "yyyy-M-d'T'H:mm:ssX",
    "yyyy-M-d'T'H:mm:ss.SX",
    "yyyy-M-d H:mm:ss",
    "yyyy-M-d H:mm:ss.S",
    "yyyy-M-d H:mm:ssX",
    "yyyy-M-d H:mm:ss.SX",
];

/// `date` fields: stored as `YYYY-MM-DD`.
pub(super) fn date(raw: &str, opts: &ConvertOptions<'_>) -> Result<Value, ConvertError> {
    let parsed = match opts.format {
        Some(format) => parse_with(format, raw)?,
        None => parse_default(default_date_formats(), raw, "MM/dd/yyyy or yyyy-MM-dd")?,
    };
    // `NaiveDate`'s own display is `%Y-%m-%d`, without parsing a format string per cell.
    Ok(Value::String(parsed.date.to_string()))
}

/// `datetime` fields: stored as `YYYY-MM-DDTHH:MM:SS±HH:MM` in the org's time zone.
pub(super) fn date_time(raw: &str, opts: &ConvertOptions<'_>) -> Result<Value, ConvertError> {
    let parsed = match opts.format {
        Some(format) => parse_with(format, raw)?,
        None => parse_default(default_date_time_formats(), raw, "MM/dd/yyyy HH:mm:ss or yyyy-MM-ddTHH:mm:ss")?,
    };
    let time = parsed.time.unwrap_or(NaiveTime::MIN);
    let local = parsed.date.and_time(time.with_nanosecond(0).unwrap_or(time));
    let instant = match parsed.offset {
        Some(offset) => with_offset(raw, local, offset)?,
        None => in_zone(raw, local, opts.time_zone)?,
    };
    let shown = instant.with_timezone(&opts.time_zone);
    Ok(Value::String(shown.format("%Y-%m-%dT%H:%M:%S%:z").to_string()))
}

/// Parses with the mapping's format, which must fix a date.
fn parse_with(format: &JavaDateFormat, raw: &str) -> Result<ParsedDateTime, ConvertError> {
    if !format.has_date() {
        return Err(invalid(format!("the format '{}' has no full date", format.pattern())));
    }
    format
        .parse(raw)
        .ok_or_else(|| invalid(format!("{} does not match the format '{}'", quoted(raw), format.pattern())))
}

/// Parses with the first default pattern that matches.
fn parse_default(formats: &[JavaDateFormat], raw: &str, expected: &str) -> Result<ParsedDateTime, ConvertError> {
    for format in formats {
        if let Some(parsed) = format.parse(raw) {
            return Ok(parsed);
        }
    }
    Err(invalid(format!("{} is not a valid date in the format {expected}", quoted(raw))))
}

/// A local time written with an offset, seen from the org's zone.
fn with_offset(raw: &str, local: NaiveDateTime, offset: FixedOffset) -> Result<DateTime<FixedOffset>, ConvertError> {
    offset.from_local_datetime(&local).single().ok_or_else(|| invalid(format!("{} is out of range", quoted(raw))))
}

/// A local time in the org's zone: skipped times are refused, repeated ones take the earlier.
fn in_zone(raw: &str, local: NaiveDateTime, zone: Tz) -> Result<DateTime<FixedOffset>, ConvertError> {
    match zone.from_local_datetime(&local).earliest() {
        Some(instant) => Ok(instant.fixed_offset()),
        None => Err(invalid(format!(
            "{} does not exist in the time zone {} (the clock skips it)",
            quoted(raw),
            zone.name()
        ))),
    }
}

fn default_date_formats() -> &'static [JavaDateFormat] {
    static FORMATS: OnceLock<Vec<JavaDateFormat>> = OnceLock::new();
    FORMATS.get_or_init(|| compile_all(&DEFAULT_DATE_PATTERNS))
}

fn default_date_time_formats() -> &'static [JavaDateFormat] {
    static FORMATS: OnceLock<Vec<JavaDateFormat>> = OnceLock::new();
    FORMATS.get_or_init(|| compile_all(&DEFAULT_DATE_TIME_PATTERNS))
}

fn compile_all(patterns: &[&str]) -> Vec<JavaDateFormat> {
    patterns.iter().filter_map(|pattern| JavaDateFormat::compile(pattern).ok()).collect()
}
