use serde_json::json;

use super::{check, field, ok, utc, with_length};
use crate::convert::{convert_value, ConvertError};
use crate::schema::{DataType, Field};

#[test]
fn text_lengths_count_characters() {
    let ten = "é".repeat(10);
    let eleven = "é".repeat(11);
    check(&with_length(DataType::Text, 10), &utc(), &[(&ten, ok(json!(ten))), (&eleven, None)]);
    let max = "x".repeat(255);
    let over = "x".repeat(256);
    check(&field(DataType::Text), &utc(), &[(&max, ok(json!(max))), (&over, None), ("a\nb", ok(json!("a\nb")))]);
    let long = "y".repeat(32_000);
    let too_long = "y".repeat(32_001);
    check(&field(DataType::Textarea), &utc(), &[(&long, ok(json!(long))), (&too_long, None)]);
    assert_eq!(
        convert_value(&field(DataType::Text), &over, &utc()),
        Err(ConvertError::Invalid("text longer than 255 characters".to_string()))
    );
}

#[test]
fn emails() {
    let valid = [
        "jane@example.com",
        "Jane.Doe+tag@mail.example.co.uk",
        "o'brien@example.ie",
        "a_b-c%d@sub-domain.example.org",
        "x@a1.io",
    ];
    let invalid = [
        "jane",
        "jane@",
        "@example.com",
        "jane@example",
        "jane@example.c",
        "jane@example.c0m",
        ".jane@example.com",
        "jane.@example.com",
        "ja..ne@example.com",
        "jane@-example.com",
        "jane@example-.com",
        "jane@example..com",
        "jane doe@example.com",
        "jane@exa mple.com",
        "jané@example.com",
        "jane@@example.com",
        "jane@example.com.",
    ];
    let email = field(DataType::Email);
    for raw in valid {
        check(&email, &utc(), &[(raw, ok(json!(raw)))]);
    }
    for raw in invalid {
        check(&email, &utc(), &[(raw, None)]);
    }
    let long = format!("{}@example.com", "a".repeat(60));
    check(&with_length(DataType::Email, 50), &utc(), &[(&long, None)]);
}

#[test]
fn phones() {
    let valid = [
        "+1 (555) 010-9999",
        "555.010.9999",
        "0044/20/7946/0958",
        "555-0199 x42",
        "555-0199 ext. 42",
        "555 EXT 7",
        "5",
    ];
    let invalid = ["abc", "555-0199 y42", "555-0199 ext", "+1 555 #12", "()-", "555_0199", "５５５"];
    let phone = field(DataType::Phone);
    for raw in valid {
        check(&phone, &utc(), &[(raw, ok(json!(raw)))]);
    }
    for raw in invalid {
        check(&phone, &utc(), &[(raw, None)]);
    }
    check(&phone, &utc(), &[(&"1".repeat(31), None)]);
}

#[test]
fn websites() {
    let valid = [
        "example.com",
        "www.example.com",
        "http://example.com",
        "HTTPS://sub.example.co.uk/path?q=1#top",
        "ftp://files.example.org:21/pub",
        "https://192.168.0.1:8080/",
        "10.0.0.1",
        "example.com?x=1",
    ];
    let invalid = [
        "localhost",
        "http://localhost",
        "mailto:jane@example.com",
        "gopher://example.com",
        "https://exa mple.com",
        "https://-example.com",
        "https://example.com:0",
        "https://example.com:70000",
        "https://example.com:abc",
        "https://example..com",
        "https://user@example.com",
        "https://256.1.1.1",
        "https://+1.2.3.4",
        "example.com path",
        "http://",
    ];
    let website = field(DataType::Website);
    for raw in valid {
        check(&website, &utc(), &[(raw, ok(json!(raw)))]);
    }
    for raw in invalid {
        check(&website, &utc(), &[(raw, None)]);
    }
}

fn picklist(data_type: DataType, restricted: bool) -> Field {
    Field {
        pick_list_values: vec!["Hot".to_string(), "Warm".to_string(), "Ärger".to_string()],
        restricted_picklist: restricted,
        ..field(data_type)
    }
}

#[test]
fn picklists() {
    let open = picklist(DataType::Picklist, false);
    check(
        &open,
        &utc(),
        &[
            ("hot", ok(json!("Hot"))),
            ("WARM", ok(json!("Warm"))),
            ("ärger", ok(json!("Ärger"))),
            ("New", ok(json!("New"))),
        ],
    );
    check(&Field { length: Some(3), ..open.clone() }, &utc(), &[("Warm", ok(json!("Warm"))), ("Cold", None)]);
    let restricted = picklist(DataType::Picklist, true);
    check(&restricted, &utc(), &[("hot", ok(json!("Hot"))), ("New", None)]);
}

#[test]
fn multi_select_picklists() {
    let open = picklist(DataType::MultiSelectPicklist, false);
    check(
        &open,
        &utc(),
        &[
            ("hot; Big data ;;HOT; big DATA", ok(json!(["Hot", "Big data"]))),
            ("warm", ok(json!(["Warm"]))),
            (";;", None),
            (" ; ", None),
        ],
    );
    let restricted = picklist(DataType::MultiSelectPicklist, true);
    check(&restricted, &utc(), &[("hot;warm", ok(json!(["Hot", "Warm"]))), ("hot;New", None)]);
}
