use serde_json::json;

use super::{check, field, ok, utc, with_length};
use crate::convert::convert_value;
use crate::schema::{DataType, Field};

#[test]
fn integers() {
    check(
        &field(DataType::Integer),
        &utc(),
        &[
            ("0", ok(json!(0))),
            ("-0", ok(json!(0))),
            ("+42", ok(json!(42))),
            ("-42", ok(json!(-42))),
            ("123,344", ok(json!(123_344))),
            ("999,999,999", ok(json!(999_999_999))),
            ("000000000123", ok(json!(123))),
            ("1,000,000,000", None),
            ("1234567890", None),
            ("12,34", None),
            ("1.5", None),
            ("12x", None),
            ("1e3", None),
            (" 12", None),
        ],
    );
    check(
        &with_length(DataType::Integer, 10),
        &utc(),
        &[
            ("2147483647", ok(json!(2_147_483_647))),
            ("-2147483648", ok(json!(-2_147_483_648_i64))),
            ("2147483648", None),
        ],
    );
    check(&with_length(DataType::Integer, 12), &utc(), &[("2147483648", ok(json!(2_147_483_648_i64)))]);
    let message = |raw: &str| convert_value(&field(DataType::Integer), raw, &utc()).err().map(|e| e.to_string());
    assert_eq!(message("12x").as_deref(), Some("'12x' is not a whole number"));
    assert_eq!(message("1e3").as_deref(), Some("'1e3' uses scientific notation, which is not accepted"));
    assert_eq!(message("1234567890").as_deref(), Some("'1234567890' has more than 9 digits"));
}

#[test]
fn big_integers() {
    check(
        &field(DataType::BigInt),
        &utc(),
        &[
            ("-123", ok(json!("-123"))),
            ("+0042", ok(json!("42"))),
            ("-0", ok(json!("0"))),
            ("123,456,789,012,345,678", ok(json!("123456789012345678"))),
            ("1234567890123456789", None),
            ("12.0", None),
        ],
    );
    check(
        &with_length(DataType::BigInt, 25),
        &utc(),
        &[("9223372036854775807", ok(json!("9223372036854775807"))), ("9223372036854775808", None)],
    );
}

#[test]
fn decimals() {
    check(
        &field(DataType::Double),
        &utc(),
        &[
            ("12.5", ok(json!(12.5))),
            ("2.675", ok(json!(2.68))),
            ("-2.675", ok(json!(-2.68))),
            ("1,234.5", ok(json!(1234.5))),
            (".5", ok(json!(0.5))),
            ("-0.001", ok(json!(0.0))),
            ("7", ok(json!(7.0))),
            ("9999999999999999.99", ok(json!(9_999_999_999_999_999.99))),
            ("9999999999999999.995", None),
            ("12345678901234567", None),
            ("1.5e3", None),
            ("5.", None),
            ("12%", None),
            ("NaN", None),
            ("inf", None),
        ],
    );
    let places = Field { decimal_place: Some(0), ..field(DataType::Currency) };
    check(&places, &utc(), &[("2.5", ok(json!(3.0))), ("-2.5", ok(json!(-3.0))), ("2.49", ok(json!(2.0)))]);
    let precise = Field { decimal_place: Some(4), ..field(DataType::Currency) };
    check(&precise, &utc(), &[("0.12345", ok(json!(0.1235)))]);
}

#[test]
fn percents() {
    check(
        &field(DataType::Percent),
        &utc(),
        &[
            ("12.5%", ok(json!(12.5))),
            ("12.5 %", ok(json!(12.5))),
            ("99999", ok(json!(99_999.0))),
            ("100000", None),
            ("-3.333", ok(json!(-3.33))),
            ("%", None),
            ("12%%", None),
        ],
    );
}

#[test]
fn booleans() {
    let cases =
        [("true", true), ("TRUE", true), ("Yes", true), ("1", true), ("false", false), ("No", false), ("0", false)];
    for (raw, expected) in cases {
        check(&field(DataType::Boolean), &utc(), &[(raw, ok(json!(expected)))]);
    }
    check(&field(DataType::Boolean), &utc(), &[("y", None), ("2", None), ("on", None)]);
}
