//! Rules of activity rows (Tasks, Calls, Events) that bulk write and the records API share, run on
//! a mapped row before its lookups are resolved:
//!
//! - `What_Id` (a lookup without a related module) points into the module `$se_module` names;
//!   without one the row is `INVALID_DATA` on the `What_Id` column;
//! - an event ends after it starts (`End_DateTime` after `Start_DateTime`, checked when the
//!   row gives both), else `INVALID_DATA` on the `End_DateTime` column;
//! - a call's `Call_Duration` is `mm:ss` (minutes, then two-digit seconds), and sets the
//!   read-only `Call_Duration_in_seconds`.

use chrono::DateTime;
use serde_json::Value;

use crate::mapping::RowDraft;
use crate::result::{RowError, RowErrorCode};
use crate::schema::standard::SE_MODULE;

/// Applies the rules to one mapped row of `module`; `column` names the input column of a field
/// (for error codes such as `INVALID_DATA-<column>`).
pub fn check_row(module: &str, draft: &mut RowDraft, column: impl Fn(&str) -> String) {
    polymorphic_lookups(draft);
    match module {
        "Events" => event_times(draft, &column),
        "Calls" => call_duration(draft, &column),
        _ => {}
    }
}

fn invalid(column: String, field: &str, value: &str, reason: impl Into<String>) -> RowError {
    RowError::new(RowErrorCode::InvalidData, column).on(field.to_string(), value.to_string()).because(reason)
}

/// Polymorphic lookups (no related module) take the module the row's `$se_module` names.
fn polymorphic_lookups(draft: &mut RowDraft) {
    if draft.lookups.iter().all(|lookup| !lookup.module.is_empty()) {
        return;
    }
    let named = draft.values.get(SE_MODULE).and_then(Value::as_str).map(str::to_string);
    let mut errors = Vec::new();
    draft.lookups.retain_mut(|lookup| {
        if !lookup.module.is_empty() {
            return true;
        }
        match &named {
            Some(module) => {
                lookup.module.clone_from(module);
                true
            }
            None => {
                let reason = format!("{SE_MODULE} must name the module of {}", lookup.field);
                errors.push(invalid(lookup.column.clone(), &lookup.field, &lookup.value, reason));
                false
            }
        }
    });
    draft.errors.extend(errors);
}

fn event_times(draft: &mut RowDraft, column: &impl Fn(&str) -> String) {
    let time = |name: &str| {
        draft.values.get(name).and_then(Value::as_str).and_then(|text| DateTime::parse_from_rfc3339(text).ok())
    };
    let (Some(start), Some(end)) = (time("Start_DateTime"), time("End_DateTime")) else { return };
    if end <= start {
        let text = draft.values.get("End_DateTime").and_then(Value::as_str).unwrap_or_default().to_string();
        let error = invalid(column("End_DateTime"), "End_DateTime", &text, "End_DateTime must be after Start_DateTime");
        draft.errors.push(error);
    }
}

fn call_duration(draft: &mut RowDraft, column: &impl Fn(&str) -> String) {
    let Some(value) = draft.values.get("Call_Duration").cloned() else { return };
    let Some(text) = value.as_str() else {
        draft.values.insert("Call_Duration_in_seconds".to_string(), Value::Null);
        return;
    };
    match seconds(text) {
        Some(seconds) => {
            draft.values.insert("Call_Duration_in_seconds".to_string(), Value::from(seconds));
        }
        None => {
            let reason = "Call_Duration is minutes and seconds, mm:ss (e.g. 10:30)";
            draft.errors.push(invalid(column("Call_Duration"), "Call_Duration", text, reason));
        }
    }
}

/// `mm:ss` → seconds: one to four digits of minutes, two of seconds below 60.
fn seconds(text: &str) -> Option<u32> {
    let (minutes, seconds) = text.trim().split_once(':')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(minutes) || minutes.len() > 4 || !digits(seconds) || seconds.len() != 2 {
        return None;
    }
    let (minutes, seconds): (u32, u32) = (minutes.parse().ok()?, seconds.parse().ok()?);
    (seconds < 60).then_some(minutes * 60 + seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::PendingLookup;
    use serde_json::json;

    fn row(values: Value) -> RowDraft {
        let mut draft = RowDraft::new(1, Vec::new());
        draft.values = values.as_object().unwrap().clone().into();
        draft
    }

    fn codes(draft: &RowDraft) -> Vec<String> {
        draft.errors.iter().map(|e| format!("{:?}-{}", e.code, e.column)).collect()
    }

    #[test]
    fn durations_are_minutes_and_seconds() {
        assert_eq!(seconds("10:30"), Some(630));
        assert_eq!(seconds("0:05"), Some(5));
        assert_eq!(seconds("120:00"), Some(7200));
        for bad in ["10", "10:5", "10:60", "a:00", "12345:00", ":30", "1:2:3"] {
            assert_eq!(seconds(bad), None, "{bad}");
        }
        let mut draft = row(json!({"Call_Duration": "02:15"}));
        check_row("Calls", &mut draft, |f| f.to_string());
        assert_eq!(draft.values["Call_Duration_in_seconds"], json!(135));
        let mut draft = row(json!({"Call_Duration": "2 min"}));
        check_row("Calls", &mut draft, |f| format!("col {f}"));
        assert_eq!(codes(&draft), ["InvalidData-col Call_Duration"]);
    }

    #[test]
    fn an_event_ends_after_it_starts() {
        let mut ok =
            row(json!({"Start_DateTime": "2024-05-01T10:00:00+02:00", "End_DateTime": "2024-05-01T09:30:00Z"}));
        check_row("Events", &mut ok, |f| f.to_string());
        assert!(ok.errors.is_empty());
        let mut bad = row(json!({"Start_DateTime": "2024-05-01T10:00:00Z", "End_DateTime": "2024-05-01T10:00:00Z"}));
        check_row("Events", &mut bad, |f| f.to_string());
        assert_eq!(codes(&bad), ["InvalidData-End_DateTime"]);
    }

    #[test]
    fn what_id_takes_the_module_se_module_names() {
        let lookup = PendingLookup {
            field: "What_Id".into(),
            module: String::new(),
            find_by: "id".into(),
            value: "5725767000000200001".into(),
            column: "Related".into(),
        };
        let mut named = row(json!({"$se_module": "Deals"}));
        named.lookups.push(lookup.clone());
        check_row("Tasks", &mut named, |f| f.to_string());
        assert_eq!(named.lookups[0].module, "Deals");
        let mut unnamed = row(json!({}));
        unnamed.lookups.push(lookup);
        check_row("Tasks", &mut unnamed, |f| f.to_string());
        assert!(unnamed.lookups.is_empty());
        assert_eq!(codes(&unnamed), ["InvalidData-Related"]);
    }
}
