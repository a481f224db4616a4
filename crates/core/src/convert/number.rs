//! Numbers and booleans.

use serde_json::{Number, Value};

use super::{invalid, quoted, ConvertError};

/// A number as read from a cell, kept as digits so rounding is exact.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    /// Digits before the point, without leading zeros (empty for zero).
    integer: String,
    /// Digits after the point.
    fraction: String,
}

impl Decimal {
    /// Digits before the point, counting zero as one digit.
    fn integer_digits(&self) -> usize {
        significant_digits(&self.integer)
    }

    fn is_zero(&self) -> bool {
        self.integer.is_empty() && self.fraction.bytes().all(|b| b == b'0')
    }

    /// `-123`, `0`, …: the integer part with its sign.
    fn signed_integer(&self) -> String {
        let digits = if self.integer.is_empty() { "0" } else { self.integer.as_str() };
        if self.negative && !self.is_zero() {
            return format!("-{digits}");
        }
        digits.to_string()
    }

    /// `-123.45`: a text Rust parses as a float.
    fn to_float_text(&self) -> String {
        let fraction = if self.fraction.is_empty() { "0" } else { self.fraction.as_str() };
        format!("{}.{fraction}", self.signed_integer())
    }
}

/// Whole numbers (`integer`): at most `limit` digits; within `i32` when `limit <= 10`, else `i64`.
pub(super) fn integer(raw: &str, limit: usize) -> Result<Value, ConvertError> {
    match plain_whole(raw, limit) {
        Some(value) if limit > 10 || i32::try_from(value).is_ok() => Ok(Value::from(value)),
        _ => any_integer(raw, limit),
    }
}

/// [`integer`] of any cell, by way of a [`Decimal`].
fn any_integer(raw: &str, limit: usize) -> Result<Value, ConvertError> {
    let number = read_whole(raw)?;
    let value = checked_i64(raw, &number, limit)?;
    if limit <= 10 && i32::try_from(value).is_err() {
        return Err(out_of_range(raw, i64::from(i32::MIN), i64::from(i32::MAX)));
    }
    Ok(Value::from(value))
}

/// Long integers (`bigint`): at most `limit` digits, within `i64`, stored as a JSON string.
pub(super) fn big_int(raw: &str, limit: usize) -> Result<Value, ConvertError> {
    let value = match plain_whole(raw, limit) {
        Some(value) => value,
        None => checked_i64(raw, &read_whole(raw)?, limit)?,
    };
    Ok(Value::String(value.to_string()))
}

/// Decimals, currency and (with `percent`, which allows a trailing `%`) percentages: at most
/// `limit` digits before the point after rounding half away from zero to `places` digits.
pub(super) fn decimal(raw: &str, limit: usize, places: usize, percent: bool) -> Result<Value, ConvertError> {
    let body = match raw.strip_suffix('%') {
        Some(rest) if percent => rest.trim_end(),
        _ => raw,
    };
    match plain_decimal(body, limit, places) {
        Some(number) => Ok(Value::Number(number)),
        None => any_decimal(raw, body, limit, places),
    }
}

/// [`decimal`] of any cell (`body` is `raw` without its `%`), by way of a [`Decimal`].
fn any_decimal(raw: &str, body: &str, limit: usize, places: usize) -> Result<Value, ConvertError> {
    let Some(number) = parse_decimal(body, true) else {
        return Err(not_a_number(raw, "a number"));
    };
    let rounded = round_half_away_from_zero(number, places);
    if rounded.integer_digits() > limit {
        return Err(invalid(format!("{} has more than {limit} digits before the decimal point", quoted(raw))));
    }
    let value: Option<f64> = rounded.to_float_text().parse().ok();
    match value.and_then(Number::from_f64) {
        Some(number) => Ok(Value::Number(number)),
        None => Err(invalid(format!("{} is too large", quoted(raw)))),
    }
}

/// Checkboxes: `true`/`false`, `1`/`0`, `yes`/`no`, in any case.
pub(super) fn boolean(raw: &str) -> Result<Value, ConvertError> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(Value::Bool(true)),
        "false" | "0" | "no" => Ok(Value::Bool(false)),
        _ => Err(invalid(format!("{} is not true or false", quoted(raw)))),
    }
}

fn read_whole(raw: &str) -> Result<Decimal, ConvertError> {
    parse_decimal(raw, false).ok_or_else(|| not_a_number(raw, "a whole number"))
}

/// The number as `i64` after the digit-count check.
fn checked_i64(raw: &str, number: &Decimal, limit: usize) -> Result<i64, ConvertError> {
    if number.integer_digits() > limit {
        return Err(invalid(format!("{} has more than {limit} digits", quoted(raw))));
    }
    number.signed_integer().parse().map_err(|_| out_of_range(raw, i64::MIN, i64::MAX))
}

fn out_of_range(raw: &str, low: i64, high: i64) -> ConvertError {
    invalid(format!("{} is outside the range {low} to {high}", quoted(raw)))
}

fn not_a_number(raw: &str, what: &str) -> ConvertError {
    if raw.contains(['e', 'E']) && raw.bytes().any(|b| b.is_ascii_digit()) {
        return invalid(format!("{} uses scientific notation, which is not accepted", quoted(raw)));
    }
    invalid(format!("{} is not {what}", quoted(raw)))
}

/// The common cell, read without building a [`Decimal`]: `[+-]digits` within `limit` digits
/// (leading zeros not counted) and within `i64`. `None` sends the cell the general way, which
/// also words the errors.
fn plain_whole(raw: &str, limit: usize) -> Option<i64> {
    let digits = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    if digits.is_empty() || !all_digits(digits) || significant_digits(digits) > limit {
        return None;
    }
    raw.parse().ok()
}

/// The common cell, read without building a [`Decimal`]: `[+-]digits[.digits]` (or `.digits`)
/// with no more fraction digits than `places` (so nothing to round) and at most `limit` digits
/// before the point. The same number as the general way: the float nearest the written
/// decimal, and zero without a sign.
fn plain_decimal(body: &str, limit: usize, places: usize) -> Option<Number> {
    let unsigned = body.strip_prefix(['+', '-']).unwrap_or(body);
    let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let plain = all_digits(integer)
        && all_digits(fraction)
        && fraction.len() <= places
        && !(integer.is_empty() && fraction.is_empty())
        && !(unsigned.contains('.') && fraction.is_empty())
        && significant_digits(integer) <= limit;
    if !plain {
        return None;
    }
    let value: f64 = body.parse().ok()?;
    // `-0.00` is zero, written without a sign, as the general way writes it.
    Number::from_f64(if value == 0.0 { 0.0 } else { value })
}

/// Digits without leading zeros, zero counting as one.
fn significant_digits(digits: &str) -> usize {
    digits.trim_start_matches('0').len().max(1)
}

/// `[+-]digits[.digits]` with optional `,` grouping in threes; `.5` is allowed, `5.` is not.
fn parse_decimal(text: &str, allow_fraction: bool) -> Option<Decimal> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (integer_text, fraction) = match body.split_once('.') {
        Some((integer, fraction)) if allow_fraction => (integer, fraction),
        Some(_) => return None,
        None => (body, ""),
    };
    if body.contains('.') && (fraction.is_empty() || !all_digits(fraction)) {
        return None;
    }
    let integer = ungroup(integer_text)?;
    if integer.is_empty() && fraction.is_empty() {
        return None;
    }
    let integer = integer.trim_start_matches('0').to_string();
    Some(Decimal { negative, integer, fraction: fraction.to_string() })
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// Removes `,` thousands separators, which must split the digits in proper groups of three.
fn ungroup(text: &str) -> Option<String> {
    if !text.contains(',') {
        return all_digits(text).then(|| text.to_string());
    }
    let mut groups = text.split(',');
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 || !all_digits(first) {
        return None;
    }
    let mut digits = first.to_string();
    for group in groups {
        if group.len() != 3 || !all_digits(group) {
            return None;
        }
        digits.push_str(group);
    }
    Some(digits)
}

/// Rounds to `places` fraction digits, half away from zero, on the digits themselves.
fn round_half_away_from_zero(number: Decimal, places: usize) -> Decimal {
    if number.fraction.len() <= places {
        return number;
    }
    let kept = number.fraction.get(..places).unwrap_or("");
    let round_up = number.fraction.as_bytes().get(places).is_some_and(|d| *d >= b'5');
    let mut digits: Vec<u8> = number.integer.bytes().chain(kept.bytes()).collect();
    if round_up {
        increment(&mut digits);
    }
    let fraction = digits.split_off(digits.len().saturating_sub(kept.len()));
    let integer: String = digits.iter().map(|&b| char::from(b)).collect();
    Decimal {
        negative: number.negative,
        integer: integer.trim_start_matches('0').to_string(),
        fraction: fraction.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Adds one to a big-endian run of ASCII digits.
fn increment(digits: &mut Vec<u8>) {
    for digit in digits.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
            continue;
        }
        *digit += 1;
        return;
    }
    digits.insert(0, b'1');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Cells near the plain shape: signs, leading zeros, points, commas, stray characters.
    fn cell() -> impl Strategy<Value = String> {
        "[+-]?[0-9]{0,22}(\\.[0-9]{0,5})?[,.e%x]?[0-9]{0,3}"
    }

    proptest! {
        /// The plain paths give what the general ones give, errors included.
        #[test]
        fn plain_cells_read_as_the_general_way_reads_them(raw in cell(), limit in 1usize..22, places in 0usize..4) {
            prop_assert_eq!(integer(&raw, limit), any_integer(&raw, limit));
            let general = read_whole(&raw).and_then(|n| checked_i64(&raw, &n, limit)).map(|v| Value::String(v.to_string()));
            prop_assert_eq!(big_int(&raw, limit), general);
            // Compared as written: `-0.0` and `0.0` are equal as floats, not as JSON.
            let written = |v: Result<Value, ConvertError>| v.map(|v| v.to_string());
            prop_assert_eq!(written(decimal(&raw, limit, places, false)), written(any_decimal(&raw, &raw, limit, places)));
        }
    }

    #[test]
    fn plain_cells_keep_their_edge_cases() {
        assert_eq!(decimal("-0.00", 16, 2, false).map(|v| v.to_string()), Ok("0.0".to_string()));
        assert_eq!(decimal("+007.50", 16, 2, false), Ok(serde_json::json!(7.5)));
        assert_eq!(decimal(".5", 16, 2, false), Ok(serde_json::json!(0.5)));
        assert!(decimal("5.", 16, 2, false).is_err());
        assert_eq!(integer("-0", 9), Ok(serde_json::json!(0)));
        assert_eq!(integer("+0012", 2), Ok(serde_json::json!(12)));
        assert!(integer("123", 2).is_err());
        assert!(integer("3000000000", 10).is_err(), "outside i32");
        assert_eq!(big_int("3000000000", 19), Ok(Value::String("3000000000".into())));
    }

    /// Sign, integer digits and fraction digits.
    type Parts<'a> = (bool, &'a str, &'a str);

    fn decimal_of(text: &str) -> Option<(bool, String, String)> {
        parse_decimal(text, true).map(|d| (d.negative, d.integer, d.fraction))
    }

    #[test]
    fn parses_decimal_digits() {
        let cases: &[(&str, Option<Parts<'_>>)] = &[
            ("0", Some((false, "", ""))),
            ("007", Some((false, "7", ""))),
            ("-1,234.50", Some((true, "1234", "50"))),
            ("+.5", Some((false, "", "5"))),
            ("5.", None),
            (".", None),
            ("-", None),
            ("1,23", None),
            ("1234,567", None),
            ("1.2.3", None),
            ("1e5", None),
            ("٣", None),
        ];
        for (text, expected) in cases {
            let expected = expected.map(|(n, i, f)| (n, i.to_string(), f.to_string()));
            assert_eq!(decimal_of(text), expected, "{text:?}");
        }
    }

    #[test]
    fn rounds_on_digits() {
        let cases: &[(&str, usize, &str)] = &[
            ("2.675", 2, "2.68"),
            ("-2.675", 2, "-2.68"),
            ("9.995", 2, "10.00"),
            ("0.994", 2, "0.99"),
            ("99.5", 0, "100.0"),
            ("-0.001", 2, "0.00"),
            ("1.25", 5, "1.25"),
        ];
        for (text, places, expected) in cases {
            let Some(number) = parse_decimal(text, true) else {
                panic!("{text:?} should parse");
            };
            assert_eq!(round_half_away_from_zero(number, *places).to_float_text(), *expected, "{text:?}");
        }
    }
}
