//! Text-like types: text, text area, email, phone, website, picklists.

use serde_json::Value;

use super::{invalid, quoted, ConvertError};
use crate::schema::Field;

/// Characters allowed in an email local part besides ASCII letters, digits and dots.
const LOCAL_PART_SPECIALS: &str = "_%+'-!#$&*/=?^`{|}~";
/// Characters allowed in a phone number besides digits.
const PHONE_SEPARATORS: &str = " +-()./";
/// URL schemes a website may start with (compared ignoring case).
const URL_SCHEMES: [&str; 3] = ["http://", "https://", "ftp://"];

/// Single-line and multi-line text: any characters, at most `limit` of them.
pub(super) fn plain(raw: &str, limit: usize) -> Result<Value, ConvertError> {
    check_length(raw, limit, "text")?;
    Ok(Value::String(raw.to_string()))
}

pub(super) fn email(raw: &str, limit: usize) -> Result<Value, ConvertError> {
    check_length(raw, limit, "email address")?;
    if !is_email(raw) {
        return Err(invalid(format!("{} is not a valid email address", quoted(raw))));
    }
    Ok(Value::String(raw.to_string()))
}

pub(super) fn phone(raw: &str, limit: usize) -> Result<Value, ConvertError> {
    check_length(raw, limit, "phone number")?;
    if !is_phone(raw) {
        return Err(invalid(format!("{} is not a valid phone number", quoted(raw))));
    }
    Ok(Value::String(raw.to_string()))
}

pub(super) fn website(raw: &str, limit: usize) -> Result<Value, ConvertError> {
    check_length(raw, limit, "website address")?;
    if !is_website(raw) {
        return Err(invalid(format!("{} is not a valid website address", quoted(raw))));
    }
    Ok(Value::String(raw.to_string()))
}

/// A picklist value: the known value it matches, or a new value unless the picklist is restricted.
pub(super) fn picklist(field: &Field, raw: &str, limit: usize) -> Result<Value, ConvertError> {
    Ok(Value::String(pick(field, raw, limit)?))
}

/// `;`-separated picklist values, trimmed, empty parts and repeats dropped.
pub(super) fn multi_picklist(field: &Field, raw: &str, limit: usize) -> Result<Value, ConvertError> {
    let mut values: Vec<String> = Vec::new();
    for part in raw.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let value = pick(field, part, limit)?;
        if values.iter().any(|known| same_text(known, &value)) {
            continue;
        }
        values.push(value);
    }
    if values.is_empty() {
        return Err(invalid("no values between the ';' separators"));
    }
    Ok(Value::Array(values.into_iter().map(Value::String).collect()))
}

fn pick(field: &Field, value: &str, limit: usize) -> Result<String, ConvertError> {
    let exact = field.pick_list_values.iter().find(|known| known.as_str() == value);
    let known = exact.or_else(|| field.pick_list_values.iter().find(|known| same_text(known, value)));
    if let Some(known) = known {
        return Ok(known.clone());
    }
    if field.restricted_picklist {
        return Err(invalid(format!("{} is not one of the allowed picklist values", quoted(value))));
    }
    check_length(value, limit, "picklist value")?;
    Ok(value.to_string())
}

/// Equal ignoring case (Unicode lower case).
fn same_text(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a == b || a.to_lowercase() == b.to_lowercase()
}

fn check_length(raw: &str, limit: usize, what: &str) -> Result<(), ConvertError> {
    // A text has no more characters than bytes: most are counted by their length alone.
    if raw.len() > limit && raw.chars().count() > limit {
        return Err(invalid(format!("{what} longer than {limit} characters")));
    }
    Ok(())
}

/// A practical email check: `local@domain` with a dotted domain ending in a 2+ letter label.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    is_local_part(local) && is_domain(domain)
}

fn is_local_part(local: &str) -> bool {
    if local.is_empty() || local.len() > 64 {
        return false;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    // Byte by byte: every allowed character is ASCII.
    local.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || LOCAL_PART_SPECIALS.as_bytes().contains(&b))
}

/// Dot-separated host labels, at least two, the last one of 2 or more letters.
fn is_domain(domain: &str) -> bool {
    if domain.len() > 253 {
        return false;
    }
    let mut labels = 0;
    let mut top = "";
    for label in domain.split('.') {
        if !is_label(label) {
            return false;
        }
        labels += 1;
        top = label;
    }
    labels >= 2 && top.len() >= 2 && top.bytes().all(|b| b.is_ascii_alphabetic())
}

/// A host label: letters, digits and hyphens, not starting or ending with a hyphen.
fn is_label(label: &str) -> bool {
    if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
        return false;
    }
    label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Digits and separators, optionally followed by an extension (`x12`, `ext 12`, `ext.12`).
fn is_phone(value: &str) -> bool {
    let (number, extension) = match value.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => value.split_at(at),
        None => (value, ""),
    };
    if !number.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    if !number.chars().all(|c| c.is_ascii_digit() || PHONE_SEPARATORS.contains(c)) {
        return false;
    }
    extension.is_empty() || is_extension(extension)
}

/// An extension, its letters in either case.
fn is_extension(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let text = lower.as_str();
    let rest = text.strip_prefix("ext.").or_else(|| text.strip_prefix("ext")).or_else(|| text.strip_prefix('x'));
    let Some(rest) = rest else {
        return false;
    };
    let digits = rest.trim_start_matches(' ');
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// `[scheme://]host[:port][/path][?query][#fragment]` without whitespace.
fn is_website(value: &str) -> bool {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let rest = strip_scheme(value);
    let end = rest.find([':', '/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(end);
    if !is_ipv4(host) && !is_domain(host) {
        return false;
    }
    let Some(tail) = strip_port(tail) else {
        return false;
    };
    tail.is_empty() || tail.starts_with(['/', '?', '#'])
}

fn strip_scheme(value: &str) -> &str {
    for scheme in URL_SCHEMES {
        let Some(head) = value.get(..scheme.len()) else {
            continue;
        };
        if head.eq_ignore_ascii_case(scheme) {
            return value.get(scheme.len()..).unwrap_or("");
        }
    }
    value
}

/// Removes a leading `:port`; `None` when the port is not a number in 1..=65535.
fn strip_port(tail: &str) -> Option<&str> {
    let Some(rest) = tail.strip_prefix(':') else {
        return Some(tail);
    };
    let len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, after) = rest.split_at(len);
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    let port: u32 = digits.parse().ok()?;
    (1..=65_535).contains(&port).then_some(after)
}

/// Four dot-separated numbers 0–255.
fn is_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() != 4 {
        return false;
    }
    parts.iter().all(|part| is_octet(part))
}

fn is_octet(part: &str) -> bool {
    if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    part.parse::<u16>().is_ok_and(|n| n <= 255)
}
