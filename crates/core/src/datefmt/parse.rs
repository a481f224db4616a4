//! Reading an input with compiled tokens, then building the date, time and offset.

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveTime, Weekday};

use super::pattern::{FieldSpec, HourStyle, Kind, Token};
use super::ParsedDateTime;

const FULL_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const SHORT_MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const FULL_DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const SHORT_DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const WEEKDAYS: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// The values read from an input, before they are combined.
#[derive(Debug, Default)]
pub(super) struct Fields {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    weekday: Option<Weekday>,
    hour: Option<(HourStyle, u32)>,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    nanos: Option<u32>,
    offset: Option<FixedOffset>,
}

/// The unread rest of the input.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    /// Consumes `text` exactly.
    fn literal(&mut self, text: &str) -> Option<()> {
        self.rest = self.rest.strip_prefix(text)?;
        Some(())
    }

    /// Consumes `text` ignoring ASCII case; false (and nothing consumed) when it is not next.
    fn keyword(&mut self, text: &str) -> bool {
        let Some(head) = self.rest.get(..text.len()) else {
            return false;
        };
        if !head.eq_ignore_ascii_case(text) {
            return false;
        }
        self.rest = self.rest.get(text.len()..).unwrap_or("");
        true
    }

    /// Consumes between `min` and `max` ASCII digits (as many as there are, up to `max`).
    fn digits(&mut self, min: usize, max: usize) -> Option<&'a str> {
        let len = self.rest.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if len < min {
            return None;
        }
        let head = self.rest.get(..len)?;
        self.rest = self.rest.get(len..)?;
        Some(head)
    }

    /// Consumes one of `names` (case-insensitive) and returns its position.
    fn name(&mut self, names: &[&str]) -> Option<usize> {
        names.iter().position(|name| self.keyword(name))
    }

    /// A full or short English name; returns its position in the year or week.
    fn full_or_short(&mut self, full: &[&str], short: &[&str]) -> Option<usize> {
        self.name(full).or_else(|| self.name(short))
    }

    /// `+`/`-` sign as a multiplier.
    fn sign(&mut self) -> Option<i32> {
        if self.literal("+").is_some() {
            return Some(1);
        }
        self.literal("-").map(|()| -1)
    }
}

/// Reads `input` (already trimmed) with `tokens`; `None` unless every token matches and nothing is left.
pub(super) fn read_fields(tokens: &[Token], input: &str, current_year: i32) -> Option<Fields> {
    let mut cursor = Cursor { rest: input };
    let mut fields = Fields::default();
    for token in tokens {
        match token {
            Token::Literal(text) => cursor.literal(text)?,
            Token::Field(spec) => read_field(&mut cursor, spec, &mut fields, current_year)?,
        }
    }
    if !cursor.rest.is_empty() {
        return None;
    }
    Some(fields)
}

fn read_field(cursor: &mut Cursor<'_>, spec: &FieldSpec, fields: &mut Fields, current_year: i32) -> Option<()> {
    match spec.kind {
        Kind::Year => fields.year = Some(read_year(cursor, spec, current_year)?),
        Kind::Month if spec.count >= 3 => {
            let index = cursor.full_or_short(&FULL_MONTHS, &SHORT_MONTHS)?;
            fields.month = Some(u32::try_from(index).ok()? + 1);
        }
        Kind::Month => fields.month = Some(read_number(cursor, spec, 2, 1, 12)?),
        Kind::Day => fields.day = Some(read_number(cursor, spec, 2, 1, 31)?),
        Kind::DayOfYear => fields.day_of_year = Some(read_number(cursor, spec, 3, 1, 366)?),
        Kind::DayName => {
            let index = cursor.full_or_short(&FULL_DAYS, &SHORT_DAYS)?;
            fields.weekday = Some(*WEEKDAYS.get(index)?);
        }
        Kind::DayNumber => {
            let number = read_number(cursor, spec, 1, 1, 7)?;
            fields.weekday = Some(*WEEKDAYS.get(usize::try_from(number - 1).ok()?)?);
        }
        Kind::AmPm => fields.pm = Some(cursor.name(&["AM", "PM"])? == 1),
        Kind::Hour(style) => {
            let (low, high) = hour_range(style);
            fields.hour = Some((style, read_number(cursor, spec, 2, low, high)?));
        }
        Kind::Minute => fields.minute = Some(read_number(cursor, spec, 2, 0, 59)?),
        Kind::Second => fields.second = Some(read_number(cursor, spec, 2, 0, 59)?),
        Kind::Fraction => fields.nanos = Some(read_fraction(cursor, spec)?),
        Kind::Zone => fields.offset = Some(read_offset(cursor)?),
    }
    Some(())
}

fn hour_range(style: HourStyle) -> (u32, u32) {
    match style {
        HourStyle::ZeroTo23 => (0, 23),
        HourStyle::OneTo24 => (1, 24),
        HourStyle::ZeroTo11 => (0, 11),
        HourStyle::OneTo12 => (1, 12),
    }
}

/// How many digits a numeric field takes: exactly `count` when abutting, else 1 to the wider of
/// `count` and the field's usual width.
fn width(spec: &FieldSpec, usual: usize) -> (usize, usize) {
    if spec.abutting {
        return (spec.count, spec.count);
    }
    (1, spec.count.max(usual))
}

/// Reads a number within `low..=high`.
fn read_number(cursor: &mut Cursor<'_>, spec: &FieldSpec, usual: usize, low: u32, high: u32) -> Option<u32> {
    let (min, max) = width(spec, usual);
    let value = to_u32(cursor.digits(min, max)?)?;
    (low..=high).contains(&value).then_some(value)
}

/// Decimal digits to a number; `None` on overflow.
fn to_u32(digits: &str) -> Option<u32> {
    let mut value: u32 = 0;
    for byte in digits.bytes() {
        value = value.checked_mul(10)?.checked_add(u32::from(byte.checked_sub(b'0')?))?;
    }
    Some(value)
}

/// A year: see the module documentation for the digit rules and the two-digit-year window.
fn read_year(cursor: &mut Cursor<'_>, spec: &FieldSpec, current_year: i32) -> Option<i32> {
    let (min, max) = match spec.count {
        2 => (2, 2),
        count if count >= 4 => (4, 4),
        count if spec.abutting => (count, count),
        _ => (1, 4),
    };
    let digits = cursor.digits(min, max)?;
    let value = i32::try_from(to_u32(digits)?).ok()?;
    if spec.count <= 2 && digits.len() == 2 {
        return Some(two_digit_year(value, current_year));
    }
    (value >= 1).then_some(value)
}

/// Places `0..=99` in `[current_year - 80, current_year + 20)`, as Java does.
pub(super) fn two_digit_year(value: i32, current_year: i32) -> i32 {
    let start = current_year - 80;
    let candidate = start.div_euclid(100) * 100 + value;
    if candidate < start {
        return candidate + 100;
    }
    candidate
}

/// Fraction digits as nanoseconds (a decimal fraction of a second; digits past the ninth dropped).
fn read_fraction(cursor: &mut Cursor<'_>, spec: &FieldSpec) -> Option<u32> {
    let (min, max) = width(spec, 9);
    let digits = cursor.digits(min, max)?;
    let mut nanos: u32 = 0;
    let mut scale: u32 = 100_000_000;
    for byte in digits.bytes().take(9) {
        nanos += u32::from(byte.checked_sub(b'0')?) * scale;
        scale /= 10;
    }
    Some(nanos)
}

/// A zone: `Z`, `UTC`/`GMT`/`UT` with an optional offset, or a bare offset.
fn read_offset(cursor: &mut Cursor<'_>) -> Option<FixedOffset> {
    let named = cursor.keyword("UTC") || cursor.keyword("GMT") || cursor.keyword("UT");
    if !named && cursor.keyword("Z") {
        return FixedOffset::east_opt(0);
    }
    let sign = match cursor.sign() {
        Some(sign) => sign,
        None if named => return FixedOffset::east_opt(0),
        None => return None,
    };
    let (hours, minutes) = read_offset_digits(cursor)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
    FixedOffset::east_opt(sign * seconds)
}

/// `H`, `HH`, `HHMM`, `H:MM` or `HH:MM` after the sign, as (hours, minutes).
fn read_offset_digits(cursor: &mut Cursor<'_>) -> Option<(u32, u32)> {
    let digits = cursor.digits(1, 4)?;
    if digits.len() == 4 {
        let hours = to_u32(digits.get(..2)?)?;
        let minutes = to_u32(digits.get(2..)?)?;
        return Some((hours, minutes));
    }
    if digits.len() == 3 {
        return None;
    }
    let hours = to_u32(digits)?;
    if cursor.literal(":").is_none() {
        return Some((hours, 0));
    }
    let minutes = to_u32(cursor.digits(2, 2)?)?;
    Some((hours, minutes))
}

/// Combines the fields; `None` when the date does not exist or a day name disagrees with it.
pub(super) fn resolve(fields: &Fields, has_date: bool) -> Option<ParsedDateTime> {
    let date = resolve_date(fields)?;
    if has_date {
        if let Some(weekday) = fields.weekday {
            if date.weekday() != weekday {
                return None;
            }
        }
    }
    let time = match fields.hour {
        Some(hour) => Some(resolve_time(fields, hour)?),
        None => None,
    };
    Some(ParsedDateTime { date, time, offset: fields.offset })
}

fn resolve_date(fields: &Fields) -> Option<NaiveDate> {
    let year = fields.year.unwrap_or(1970);
    let by_month = fields.month.is_some() || fields.day.is_some();
    if let (Some(ordinal), false) = (fields.day_of_year, by_month) {
        return NaiveDate::from_yo_opt(year, ordinal);
    }
    let date = NaiveDate::from_ymd_opt(year, fields.month.unwrap_or(1), fields.day.unwrap_or(1))?;
    if let Some(ordinal) = fields.day_of_year {
        if date.ordinal() != ordinal {
            return None;
        }
    }
    Some(date)
}

fn resolve_time(fields: &Fields, (style, value): (HourStyle, u32)) -> Option<NaiveTime> {
    let pm_shift = if fields.pm == Some(true) { 12 } else { 0 };
    let hour = match style {
        HourStyle::ZeroTo23 => value,
        HourStyle::OneTo24 => value % 24,
        HourStyle::ZeroTo11 => value + pm_shift,
        HourStyle::OneTo12 => value % 12 + pm_shift,
    };
    NaiveTime::from_hms_nano_opt(
        hour,
        fields.minute.unwrap_or(0),
        fields.second.unwrap_or(0),
        fields.nanos.unwrap_or(0),
    )
}
