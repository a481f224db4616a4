use chrono::{FixedOffset, NaiveDate, NaiveTime};
use proptest::prelude::*;

use super::parse::two_digit_year;
use super::{FormatError, JavaDateFormat, ParsedDateTime};

/// The year the two-digit-year window is computed from in these tests.
const THIS_YEAR: i32 = 2025;

fn compile(pattern: &str) -> JavaDateFormat {
    match JavaDateFormat::compile(pattern) {
        Ok(format) => format,
        Err(err) => panic!("pattern {pattern:?} should compile: {err}"),
    }
}

fn parse(pattern: &str, input: &str) -> Option<ParsedDateTime> {
    compile(pattern).parse_relative_to(input, THIS_YEAR)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn time(h: u32, m: u32, s: u32) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(h, m, s)
}

fn offset(seconds: i32) -> Option<FixedOffset> {
    FixedOffset::east_opt(seconds)
}

#[test]
fn compile_errors() {
    let cases: &[(&str, FormatError)] = &[
        ("", FormatError::Empty),
        ("yyyy-MM-dd G", FormatError::UnknownLetter('G')),
        ("yyyy-ww", FormatError::UnknownLetter('w')),
        ("W", FormatError::UnknownLetter('W')),
        ("F", FormatError::UnknownLetter('F')),
        ("yyyy'T", FormatError::UnterminatedQuote),
        ("'", FormatError::UnterminatedQuote),
        ("yyyy-MM-dd yyyy", FormatError::Repeated { letter: 'y', what: "year" }),
        ("HH:mm hh", FormatError::Repeated { letter: 'h', what: "hour" }),
        ("EEE u", FormatError::Repeated { letter: 'u', what: "day of week" }),
        ("Z X", FormatError::Repeated { letter: 'X', what: "time zone" }),
    ];
    for (pattern, expected) in cases {
        assert_eq!(JavaDateFormat::compile(pattern).as_ref(), Err(expected), "pattern {pattern:?}");
    }
}

#[test]
fn error_messages_are_readable() {
    assert_eq!(
        FormatError::UnknownLetter('G').to_string(),
        "'G' is not a supported pattern letter (quote literal text with single quotes)"
    );
    assert_eq!(FormatError::UnterminatedQuote.to_string(), "the pattern has an unterminated quote");
    assert_eq!(
        FormatError::Repeated { letter: 'y', what: "year" }.to_string(),
        "the pattern sets the year twice (letter 'y')"
    );
}

#[test]
fn date_and_time_flags() {
    let cases: &[(&str, bool, bool)] = &[
        ("yyyy/MM/dd", true, false),
        ("yyyy-DDD", true, false),
        ("MM/dd", false, false),
        ("yyyy-MM", false, false),
        ("HH:mm", false, true),
        ("hh:mm a", false, true),
        ("k", false, true),
        ("K", false, true),
        ("yyyy-MM-dd'T'HH:mm:ssXXX", true, true),
        ("dd MMM yyyy", true, false),
        ("mm:ss", false, false),
    ];
    for (pattern, has_date, has_time) in cases {
        let format = compile(pattern);
        assert_eq!(format.has_date(), *has_date, "has_date of {pattern:?}");
        assert_eq!(format.has_time(), *has_time, "has_time of {pattern:?}");
        assert_eq!(format.pattern(), *pattern);
    }
}

#[test]
fn parses_dates() {
    let cases: &[(&str, &str, NaiveDate)] = &[
        ("yyyy/MM/dd", "2024/03/05", date(2024, 3, 5)),
        ("yyyy/MM/dd", "2024/3/5", date(2024, 3, 5)),
        ("yyyy/MM/dd", "  2024/03/05 ", date(2024, 3, 5)),
        ("dd-MM-yyyy", "05-03-2024", date(2024, 3, 5)),
        ("MM/dd/yyyy", "12/31/2023", date(2023, 12, 31)),
        ("dd MMM yyyy", "05 mar 2024", date(2024, 3, 5)),
        ("dd MMM yyyy", "05 MAR 2024", date(2024, 3, 5)),
        ("dd MMM yyyy", "05 March 2024", date(2024, 3, 5)),
        ("d MMMM yyyy", "5 september 2024", date(2024, 9, 5)),
        ("d MMMM yyyy", "5 Sep 2024", date(2024, 9, 5)),
        ("dd-MMM-yy", "01-Jun-99", date(1999, 6, 1)),
        ("yyyyMMdd", "20240305", date(2024, 3, 5)),
        ("yy-MM-dd", "24-03-05", date(2024, 3, 5)),
        ("yy-MM-dd", "44-03-05", date(2044, 3, 5)),
        ("yy-MM-dd", "45-03-05", date(1945, 3, 5)),
        ("M/d/y", "3/5/24", date(2024, 3, 5)),
        ("M/d/y", "3/5/2024", date(2024, 3, 5)),
        ("M/d/y", "3/5/7", date(7, 3, 5)),
        ("yyy-MM-dd", "2024-03-05", date(2024, 3, 5)),
        ("YYYY-MM-dd", "2024-03-05", date(2024, 3, 5)),
        ("yyyy-LL-dd", "2024-03-05", date(2024, 3, 5)),
        ("yyyy-DDD", "2024-065", date(2024, 3, 5)),
        ("yyyy-D", "2024-366", date(2024, 12, 31)),
        ("EEEE, MMMM d, yyyy", "Tuesday, March 5, 2024", date(2024, 3, 5)),
        ("EEE yyyy-MM-dd", "tue 2024-03-05", date(2024, 3, 5)),
        ("u yyyy-MM-dd", "2 2024-03-05", date(2024, 3, 5)),
        ("dd.MM.yyyy", "29.02.2024", date(2024, 2, 29)),
        ("yyyy'年'MM'月'dd'日'", "2024年03月05日", date(2024, 3, 5)),
        ("dd 'de' MMMM", "05 de March", date(1970, 3, 5)),
        ("''yy''", "'24'", date(2024, 1, 1)),
        ("'o''clock' yyyy-MM-dd", "o'clock 2024-03-05", date(2024, 3, 5)),
        ("ddd/MM/yyyy", "005/03/2024", date(2024, 3, 5)),
    ];
    for (pattern, input, expected) in cases {
        let parsed = parse(pattern, input);
        assert_eq!(parsed.map(|p| p.date), Some(*expected), "{pattern:?} on {input:?}");
        assert_eq!(parsed.and_then(|p| p.time), None, "{pattern:?} on {input:?} has no time");
        assert_eq!(parsed.and_then(|p| p.offset), None, "{pattern:?} on {input:?} has no offset");
    }
}

#[test]
fn refuses_bad_dates() {
    let cases: &[(&str, &str)] = &[
        ("yyyy/MM/dd", "2024/13/01"),
        ("yyyy/MM/dd", "2024/00/01"),
        ("yyyy/MM/dd", "2024/02/30"),
        ("yyyy/MM/dd", "2023/02/29"),
        ("yyyy/MM/dd", "2024/03/00"),
        ("yyyy/MM/dd", "2024/03/05x"),
        ("yyyy/MM/dd", "x2024/03/05"),
        ("yyyy/MM/dd", "24/03/05"),
        ("yyyy/MM/dd", "02024/03/05"),
        ("yyyy/MM/dd", "0000/03/05"),
        ("yyyy/MM/dd", "2024/003/05"),
        ("yyyy/MM/dd", "2024-03-05"),
        ("yyyy/MM/dd", "2024/03/"),
        ("yyyy/MM/dd", ""),
        ("yyyy/MM/dd", "２０２４/03/05"),
        ("yyyy/MM/dd", "2024/+3/05"),
        ("yyyy/MM/dd", "2024 /03/05"),
        ("yyyyMMdd", "202403"),
        ("yyyyMMdd", "2024305"),
        ("yyyyMMdd", "202403050"),
        ("yy-MM-dd", "2024-03-05"),
        ("yy-MM-dd", "4-03-05"),
        ("dd MMM yyyy", "05 Mrz 2024"),
        ("dd MMM yyyy", "05 3 2024"),
        ("MM/dd/yyyy", "31/12/2023"),
        ("EEE yyyy-MM-dd", "Wed 2024-03-05"),
        ("EEE yyyy-MM-dd", "Xyz 2024-03-05"),
        ("u yyyy-MM-dd", "3 2024-03-05"),
        ("u yyyy-MM-dd", "8 2024-03-05"),
        ("yyyy-DDD", "2023-366"),
        ("yyyy-DDD", "2024-000"),
        ("yyyy-MM-dd-DDD", "2024-03-05-066"),
        ("yyyy'T'MM", "2024t03"),
    ];
    for (pattern, input) in cases {
        assert_eq!(parse(pattern, input), None, "{pattern:?} should refuse {input:?}");
    }
}

#[test]
fn day_name_is_only_a_name_without_a_date() {
    assert_eq!(parse("EEE HH:mm", "Mon 10:30").and_then(|p| p.time), time(10, 30, 0));
    assert_eq!(parse("EEE HH:mm", "Xyz 10:30"), None);
}

#[test]
fn parses_times() {
    let cases: &[(&str, &str, Option<NaiveTime>)] = &[
        ("HH:mm", "07:15", time(7, 15, 0)),
        ("HH:mm:ss", "23:59:59", time(23, 59, 59)),
        ("H:m:s", "7:5:3", time(7, 5, 3)),
        ("HHmmss", "071503", time(7, 15, 3)),
        ("hh:mm a", "07:15 PM", time(19, 15, 0)),
        ("hh:mm a", "07:15 am", time(7, 15, 0)),
        ("hh:mm a", "12:15 AM", time(0, 15, 0)),
        ("hh:mm a", "12:15 PM", time(12, 15, 0)),
        ("hh:mm", "12:15", time(0, 15, 0)),
        ("hh:mm", "07:15", time(7, 15, 0)),
        ("K:mm a", "0:15 PM", time(12, 15, 0)),
        ("K:mm a", "11:15 PM", time(23, 15, 0)),
        ("k:mm", "24:00", time(0, 0, 0)),
        ("k:mm", "13:00", time(13, 0, 0)),
        ("HH:mm a", "13:00 AM", time(13, 0, 0)),
        ("HH", "09", time(9, 0, 0)),
    ];
    for (pattern, input, expected) in cases {
        let parsed = parse(pattern, input);
        assert_eq!(parsed.and_then(|p| p.time), *expected, "{pattern:?} on {input:?}");
        assert_eq!(parsed.map(|p| p.date), Some(date(1970, 1, 1)), "{pattern:?} on {input:?}");
    }
}

#[test]
fn refuses_bad_times() {
    let cases: &[(&str, &str)] = &[
        ("HH:mm", "24:00"),
        ("HH:mm", "12:60"),
        ("HH:mm:ss", "12:00:60"),
        ("hh:mm a", "13:00 PM"),
        ("hh:mm a", "00:00 PM"),
        ("hh:mm a", "07:15 XM"),
        ("hh:mm a", "07:15"),
        ("K:mm", "12:00"),
        ("k:mm", "0:00"),
        ("HH:mm", "7:155"),
        ("HHmmss", "71503"),
    ];
    for (pattern, input) in cases {
        assert_eq!(parse(pattern, input), None, "{pattern:?} should refuse {input:?}");
    }
}

#[test]
fn fractions_are_decimal_fractions_of_a_second() {
    let cases: &[(&str, &str, u32)] = &[
        ("HH:mm:ss.SSS", "10:00:00.123", 123_000_000),
        ("HH:mm:ss.SSS", "10:00:00.5", 500_000_000),
        ("HH:mm:ss.S", "10:00:00.123456", 123_456_000),
        ("HH:mm:ss.S", "10:00:00.123456789", 123_456_789),
        ("HHmmssSSS", "100000042", 42_000_000),
        ("HHmmssSSSSSSSSSSSS", "100000123456789999", 123_456_789),
    ];
    for (pattern, input, nanos) in cases {
        let expected = NaiveTime::from_hms_nano_opt(10, 0, 0, *nanos);
        assert_eq!(parse(pattern, input).and_then(|p| p.time), expected, "{pattern:?} on {input:?}");
    }
    assert_eq!(parse("HH:mm:ss.S", "10:00:00.1234567890"), None);
}

#[test]
fn parses_offsets() {
    let cases: &[(&str, &str, i32)] = &[
        ("HH:mm Z", "10:00 -0800", -8 * 3600),
        ("HH:mm Z", "10:00 +0530", 5 * 3600 + 1800),
        ("HH:mm X", "10:00 Z", 0),
        ("HH:mm X", "10:00 -08", -8 * 3600),
        ("HH:mm XX", "10:00 -0800", -8 * 3600),
        ("HH:mm XXX", "10:00 -08:00", -8 * 3600),
        ("HH:mm XXX", "10:00 +5:30", 5 * 3600 + 1800),
        ("HH:mm z", "10:00 UTC", 0),
        ("HH:mm z", "10:00 gmt", 0),
        ("HH:mm z", "10:00 UT", 0),
        ("HH:mm z", "10:00 GMT+05:30", 5 * 3600 + 1800),
        ("HH:mm z", "10:00 GMT-8", -8 * 3600),
        ("HH:mm z", "10:00 UTC+0100", 3600),
        ("HH:mmz", "10:00Z", 0),
    ];
    for (pattern, input, seconds) in cases {
        assert_eq!(parse(pattern, input).and_then(|p| p.offset), offset(*seconds), "{pattern:?} on {input:?}");
    }
}

#[test]
fn refuses_bad_offsets() {
    let cases: &[(&str, &str)] = &[
        ("HH:mm Z", "10:00 0800"),
        ("HH:mm Z", "10:00 +080"),
        ("HH:mm Z", "10:00 +2400"),
        ("HH:mm Z", "10:00 +0860"),
        ("HH:mm Z", "10:00 +08:0"),
        ("HH:mm z", "10:00 PST"),
        ("HH:mm z", "10:00 GMT+"),
        ("HH:mm X", "10:00 +08:00:00"),
    ];
    for (pattern, input) in cases {
        assert_eq!(parse(pattern, input), None, "{pattern:?} should refuse {input:?}");
    }
}

#[test]
fn parses_full_examples() {
    let cases: &[(&str, &str, ParsedDateTime)] = &[
        (
            "EEE, d MMM yyyy HH:mm:ss Z",
            "Wed, 4 Jul 2001 12:08:56 -0700",
            ParsedDateTime { date: date(2001, 7, 4), time: time(12, 8, 56), offset: offset(-7 * 3600) },
        ),
        (
            "yyyy-MM-dd'T'HH:mm:ssXXX",
            "2023-05-03T20:39:19+05:30",
            ParsedDateTime { date: date(2023, 5, 3), time: time(20, 39, 19), offset: offset(19800) },
        ),
        (
            "yyyy-MM-dd'T'HH:mm:ssXXX",
            "2023-05-03T20:39:19Z",
            ParsedDateTime { date: date(2023, 5, 3), time: time(20, 39, 19), offset: offset(0) },
        ),
        (
            "dd-MMM-yyyy hh:mm a",
            "05-Mar-2024 07:15 pm",
            ParsedDateTime { date: date(2024, 3, 5), time: time(19, 15, 0), offset: None },
        ),
        ("yyyyMMddHHmm", "202403050715", ParsedDateTime { date: date(2024, 3, 5), time: time(7, 15, 0), offset: None }),
    ];
    for (pattern, input, expected) in cases {
        assert_eq!(parse(pattern, input), Some(*expected), "{pattern:?} on {input:?}");
    }
    assert_eq!(parse("EEE, d MMM yyyy HH:mm:ss Z", "Thu, 4 Jul 2001 12:08:56 -0700"), None);
}

#[test]
fn two_digit_years_follow_the_java_window() {
    let cases: &[(i32, i32, i32)] = &[
        (0, 2025, 2000),
        (44, 2025, 2044),
        (45, 2025, 1945),
        (99, 2025, 1999),
        (45, 2000, 1945),
        (19, 2000, 2019),
        (20, 2000, 1920),
    ];
    for (value, current, expected) in cases {
        assert_eq!(two_digit_year(*value, *current), *expected, "{value} in {current}");
    }
}

#[test]
fn public_parse_uses_the_current_year() {
    let parsed = compile("yyyy-MM-dd").parse("2024-03-05");
    assert_eq!(parsed.map(|p| p.date), Some(date(2024, 3, 5)));
    // Two digits place the year around this one, whether the pattern says `yy` or `y`.
    let this_year = chrono::Datelike::year(&chrono::Utc::now());
    for pattern in ["yy-MM-dd", "y-MM-dd"] {
        let parsed = compile(pattern).parse("95-03-05");
        assert_eq!(parsed.map(|p| p.date), Some(date(two_digit_year(95, this_year), 3, 5)), "{pattern}");
    }
}

proptest! {
    #[test]
    fn compile_never_panics(pattern in any::<String>()) {
        let _ = JavaDateFormat::compile(&pattern);
    }

    #[test]
    fn compile_and_parse_never_panic(pattern in "[yMLdDEuaHkKhmsSzZX'/:., é年-]{1,12}", input in any::<String>()) {
        if let Ok(format) = JavaDateFormat::compile(&pattern) {
            let _ = format.parse(&input);
        }
    }

    #[test]
    fn parse_never_panics_on_near_misses(
        pattern in prop::sample::select(vec![
            "yyyy/MM/dd", "yyyyMMdd", "dd MMM yyyy", "EEE, d MMM yyyy HH:mm:ss Z", "hh:mm a",
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "yy-DDD u k:mm", "z", "SSSSSSSSSSSSSSSSSSSS",
        ]),
        input in "[0-9a-zA-Z:/.,+ \\-é]{0,40}",
    ) {
        let _ = compile(pattern).parse(&input);
    }

    #[test]
    fn dates_round_trip(days in 1i32..=3_652_059) {
        let Some(day) = NaiveDate::from_num_days_from_ce_opt(days) else { return Ok(()); };
        let text = day.format("%Y/%m/%d").to_string();
        prop_assert_eq!(parse("yyyy/MM/dd", &text).map(|p| p.date), Some(day));
        let compact = day.format("%Y%m%d").to_string();
        prop_assert_eq!(parse("yyyyMMdd", &compact).map(|p| p.date), Some(day));
    }

    #[test]
    fn times_round_trip(seconds in 0u32..86_400) {
        let Some(t) = NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0) else { return Ok(()); };
        let text = t.format("%I:%M:%S %p").to_string();
        prop_assert_eq!(parse("hh:mm:ss a", &text).and_then(|p| p.time), Some(t));
        let text = t.format("%H%M%S").to_string();
        prop_assert_eq!(parse("HHmmss", &text).and_then(|p| p.time), Some(t));
    }
}
