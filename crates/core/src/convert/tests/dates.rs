use chrono_tz::Tz;
use serde_json::json;

use super::{check, compile, field, ok, utc};
use crate::convert::ConvertOptions;
use crate::schema::DataType;

#[test]
fn dates_without_format() {
    check(
        &field(DataType::Date),
        &utc(),
        &[
            ("12/31/2023", ok(json!("2023-12-31"))),
            ("3/5/2024", ok(json!("2024-03-05"))),
            ("2019-08-28", ok(json!("2019-08-28"))),
            ("0001-01-01", ok(json!("0001-01-01"))),
            ("9999-12-31", ok(json!("9999-12-31"))),
            ("1/2/0033", ok(json!("0033-01-02"))),
            ("02/29/2023", None),
            ("31/12/2023", None),
            ("12/31/23", None),
            ("2024/03/05", None),
            ("2024-03-05T10:00:00", None),
            ("yesterday", None),
        ],
    );
}

#[test]
fn dates_with_format() {
    let slashes = compile("yyyy/MM/dd");
    let opts = ConvertOptions { format: Some(&slashes), number_format: None, time_zone: Tz::UTC };
    check(
        &field(DataType::Date),
        &opts,
        &[
            ("2024/03/05", ok(json!("2024-03-05"))),
            ("2024/3/5", ok(json!("2024-03-05"))),
            ("03/05/2024", None),
            ("2024/02/30", None),
        ],
    );
    let names = compile("dd MMM yyyy");
    let opts = ConvertOptions { format: Some(&names), number_format: None, time_zone: Tz::UTC };
    check(&field(DataType::Date), &opts, &[("05 mar 2024", ok(json!("2024-03-05")))]);
    let time_only = compile("HH:mm");
    let opts = ConvertOptions { format: Some(&time_only), number_format: None, time_zone: Tz::UTC };
    check(&field(DataType::Date), &opts, &[("10:00", None)]);
    check(&field(DataType::DateTime), &opts, &[("10:00", None)]);
}

#[test]
fn date_times_without_format() {
    let kolkata = ConvertOptions { format: None, number_format: None, time_zone: chrono_tz::Asia::Kolkata };
    check(
        &field(DataType::DateTime),
        &kolkata,
        &[
            ("12/31/2023 23:59:59", ok(json!("2023-12-31T23:59:59+05:30"))),
            ("3/5/2024 7:05", ok(json!("2024-03-05T07:05:00+05:30"))),
            ("2023-05-03T20:39:19+05:30", ok(json!("2023-05-03T20:39:19+05:30"))),
            ("2023-05-03T15:09:19Z", ok(json!("2023-05-03T20:39:19+05:30"))),
            ("2023-05-03T15:09:19+0000", ok(json!("2023-05-03T20:39:19+05:30"))),
            ("2023-05-03 20:39:19", ok(json!("2023-05-03T20:39:19+05:30"))),
            ("2023-05-03T20:39:19.987", ok(json!("2023-05-03T20:39:19+05:30"))),
            ("2023-05-03 15:09:19.5Z", ok(json!("2023-05-03T20:39:19+05:30"))),
            ("2023-05-03", None),
            ("12/31/2023", None),
            ("2023-05-03T25:00:00", None),
            ("2023-05-03T20:39:19+25:00", None),
        ],
    );
    check(
        &field(DataType::DateTime),
        &utc(),
        &[
            ("2023-05-03T20:39:19+05:30", ok(json!("2023-05-03T15:09:19+00:00"))),
            ("2023-05-03T20:39:19Z", ok(json!("2023-05-03T20:39:19+00:00"))),
            ("1/1/2024 0:00:00", ok(json!("2024-01-01T00:00:00+00:00"))),
        ],
    );
}

#[test]
fn date_times_across_clock_changes() {
    let new_york = ConvertOptions { format: None, number_format: None, time_zone: chrono_tz::America::New_York };
    check(
        &field(DataType::DateTime),
        &new_york,
        &[
            ("03/10/2024 02:30:00", None),
            ("03/10/2024 03:30:00", ok(json!("2024-03-10T03:30:00-04:00"))),
            ("11/03/2024 01:30:00", ok(json!("2024-11-03T01:30:00-04:00"))),
            ("2024-03-10T02:30:00-05:00", ok(json!("2024-03-10T03:30:00-04:00"))),
        ],
    );
}

#[test]
fn date_times_with_format() {
    let dashed = compile("dd-MM-yyyy HH:mm");
    let opts = ConvertOptions { format: Some(&dashed), number_format: None, time_zone: chrono_tz::Asia::Kolkata };
    check(&field(DataType::DateTime), &opts, &[("05-03-2024 10:30", ok(json!("2024-03-05T10:30:00+05:30")))]);
    let day_only = compile("yyyy/MM/dd");
    let opts = ConvertOptions { format: Some(&day_only), number_format: None, time_zone: chrono_tz::Asia::Kolkata };
    check(&field(DataType::DateTime), &opts, &[("2024/03/05", ok(json!("2024-03-05T00:00:00+05:30")))]);
    let rfc = compile("EEE, d MMM yyyy HH:mm:ss Z");
    let opts = ConvertOptions { format: Some(&rfc), number_format: None, time_zone: Tz::UTC };
    check(
        &field(DataType::DateTime),
        &opts,
        &[("Wed, 4 Jul 2001 12:08:56 -0700", ok(json!("2001-07-04T19:08:56+00:00"))), ("4 Jul 2001", None)],
    );
}
