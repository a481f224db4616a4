//! A page of records as the export writes them: CSV rows (no header) in the columns the job
//! asked for, `id` first, date-times ISO 8601 in the org's zone, lookups and users as their ids,
//! multi-selects joined with `;` as Zoho writes them, a lookup's field through dot notation read
//! from the related record; or, for `file_type: ics`, one `VEVENT` per record.

use std::collections::HashMap;

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::job_details::format_time;
use bulkwrite_core::readspec::{Column, ColumnSource};
use bulkwrite_store::{StoredRecord, User};
use serde_json::Value;

/// What rendering needs besides the page: the org's zone, its users, and the records the
/// page's lookups point at (by module, then id).
pub(crate) struct RenderFacts {
    pub time_zone: chrono_tz::Tz,
    pub users: HashMap<UserId, User>,
    pub related: HashMap<String, HashMap<RecordId, StoredRecord>>,
}

/// The header row.
pub(crate) fn header_line(columns: &[Column]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let _ = writer.write_record(columns.iter().map(|c| c.header.as_str()));
    writer.into_inner().unwrap_or_default()
}

/// The page's rows as CSV lines.
pub(crate) fn csv_rows(columns: &[Column], records: &[StoredRecord], facts: &RenderFacts) -> std::io::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let mut cells: Vec<String> = Vec::with_capacity(columns.len());
    for record in records {
        cells.clear();
        for column in columns {
            cells.push(cell(&column.source, record, facts));
        }
        writer.write_record(&cells).map_err(std::io::Error::other)?;
    }
    writer.into_inner().map_err(|e| std::io::Error::other(e.to_string()))
}

/// The ids of related records the page's lookup columns need, by module.
pub(crate) fn related_ids(columns: &[Column], records: &[StoredRecord]) -> HashMap<String, Vec<RecordId>> {
    let mut wanted: HashMap<String, Vec<RecordId>> = HashMap::new();
    for column in columns {
        let ColumnSource::Lookup { field, module, .. } = &column.source else { continue };
        let ids = wanted.entry(module.clone()).or_default();
        for record in records {
            if let Some(id) = record.values.get(field).and_then(id_of).and_then(|id| RecordId::parse(&id)) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    wanted
}

fn cell(source: &ColumnSource, record: &StoredRecord, facts: &RenderFacts) -> String {
    match source {
        ColumnSource::Id => record.id.to_string(),
        ColumnSource::Field { api_name, .. } => field_cell(record, api_name, facts),
        ColumnSource::User { field, attribute } => {
            let user = user_of(record, field).and_then(|id| facts.users.get(&id));
            match (user, attribute.as_str()) {
                (None, "id") => user_of(record, field).map(|id| id.to_string()).unwrap_or_default(),
                (None, _) => String::new(),
                (Some(user), "id") => user.id.to_string(),
                (Some(user), "first_name") => user.first_name.clone(),
                (Some(user), "last_name") => user.last_name.clone(),
                (Some(user), "email") => user.email.clone(),
                (Some(user), _) => user.full_name(),
            }
        }
        ColumnSource::Lookup { field, module, target, .. } => {
            let Some(id) = record.values.get(field).and_then(id_of) else { return String::new() };
            if target == "id" {
                return id;
            }
            let related = RecordId::parse(&id).and_then(|id| facts.related.get(module).and_then(|m| m.get(&id)));
            related.map(|related| field_cell(related, target, facts)).unwrap_or_default()
        }
    }
}

/// A field of a record: system fields from their columns, the rest from the stored values.
fn field_cell(record: &StoredRecord, api_name: &str, facts: &RenderFacts) -> String {
    match api_name {
        "Owner" => record.owner.to_string(),
        "Created_By" => record.created_by.to_string(),
        "Modified_By" => record.modified_by.to_string(),
        "Created_Time" => format_time(record.created_at, facts.time_zone),
        "Modified_Time" => format_time(record.modified_at, facts.time_zone),
        "Layout" => record.layout_id.clone().unwrap_or_default(),
        other => record.values.get(other).map(value_text).unwrap_or_default(),
    }
}

/// A stored value as a CSV cell.
fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::Object(_) => id_of(value).unwrap_or_else(|| value.to_string()),
        Value::Array(items) => {
            let scalars = items.iter().all(|item| !item.is_array() && (!item.is_object() || id_of(item).is_some()));
            if scalars {
                items.iter().map(value_text).collect::<Vec<_>>().join(";")
            } else {
                value.to_string()
            }
        }
    }
}

/// The id of `{"id": …}` (a lookup) or of a plain id.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::Object(object) => match object.get("id")? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        },
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn user_of(record: &StoredRecord, field: &str) -> Option<UserId> {
    match field {
        "Owner" => Some(record.owner),
        "Created_By" => Some(record.created_by),
        "Modified_By" => Some(record.modified_by),
        other => record.values.get(other).and_then(id_of).and_then(|id| UserId::parse(&id)),
    }
}

/// The page's records as `VEVENT`s (RFC 5545): the record id as `UID`, the title, start and end.
pub(crate) fn ics_events(records: &[StoredRecord], facts: &RenderFacts) -> Vec<u8> {
    let mut out = String::new();
    for record in records {
        let text = |name: &str| record.values.get(name).map(value_text).unwrap_or_default();
        out.push_str("BEGIN:VEVENT\r\n");
        out.push_str(&format!("UID:{}\r\n", record.id));
        out.push_str(&format!("DTSTAMP:{}\r\n", ics_time(&format_time(record.modified_at, facts.time_zone))));
        for (property, field) in [("DTSTART", "Start_DateTime"), ("DTEND", "End_DateTime")] {
            let value = text(field);
            if !value.is_empty() {
                out.push_str(&format!("{property}:{}\r\n", ics_time(&value)));
            }
        }
        out.push_str(&format!("SUMMARY:{}\r\n", ics_escape(&text("Event_Title"))));
        out.push_str("END:VEVENT\r\n");
    }
    out.into_bytes()
}

/// An ISO 8601 date-time as an ICS UTC time (`20260101T090000Z`); text that does not parse is
/// kept as it is.
fn ics_time(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(instant) => instant.with_timezone(&chrono::Utc).format("%Y%m%dT%H%M%SZ").to_string(),
        Err(_) => text.to_string(),
    }
}

fn ics_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n")
}
