//! The one table of the row vocabulary: result row statuses, row error codes, the `ERRORS` cell
//! format (`CODE-col[,col…]` groups joined by `:`) and the lines of the full error report.
//!
//! Typed from the point a row is decided to the byte written: nobody compares these words as
//! strings, they parse into the enums here and write back through them.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A word that is not in the row vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRowWord(pub String);

impl fmt::Display for UnknownRowWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a row status or row error code", self.0)
    }
}

impl std::error::Error for UnknownRowWord {}

macro_rules! row_words {
    (
        $(#[$meta:meta])* $name:ident {
            $( $variant:ident => ($word:literal, $sentence:literal), )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                #[doc = concat!("`", $word, "`: ", $sentence, ".")]
                $variant,
            )*
        }

        impl $name {
            /// Every word, in table order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The word as the result file writes it.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $word, )* }
            }

            /// A sentence a person understands, used when nothing more precise is known.
            #[must_use]
            pub fn sentence(self) -> &'static str {
                match self { $( $name::$variant => $sentence, )* }
            }

            /// The word, exactly as written.
            ///
            /// # Errors
            /// [`UnknownRowWord`] for a word not in the table.
            pub fn parse(word: &str) -> Result<$name, UnknownRowWord> {
                match word { $( $word => Ok($name::$variant), )* _ => Err(UnknownRowWord(word.to_string())) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let word = String::deserialize(deserializer)?;
                $name::parse(&word).map_err(serde::de::Error::custom)
            }
        }
    };
}

row_words! {
    /// The `STATUS` of a result row.
    RowStatus {
        Added => ("ADDED", "the row created a record"),
        Updated => ("UPDATED", "the row updated a record"),
        Skipped => ("SKIPPED", "the row was skipped; its errors say why"),
        Unprocessed => ("UNPROCESSED", "the job stopped before it reached the row"),
        Deleted => ("DELETED", "an undo deleted the record the job added"),
        Restored => ("RESTORED", "an undo gave the fields the job updated their previous values back"),
        Conflict => ("CONFLICT", "an undo left the record alone: it changed after the job wrote it"),
    }
}

impl RowStatus {
    /// `ADDED` or `UPDATED`: the row reached a record.
    #[must_use]
    pub fn is_applied(self) -> bool {
        matches!(self, RowStatus::Added | RowStatus::Updated)
    }
}

row_words! {
    /// Row-level error codes, as the result file's `ERRORS` column writes them; never request errors.
    RowErrorCode {
        MandatoryNotFound => ("MANDATORY_NOT_FOUND", "a value is required here and the cell is empty"),
        InvalidData => ("INVALID_DATA", "the value does not fit the field"),
        DuplicateData => ("DUPLICATE_DATA", "another record or an earlier row already holds this unique value"),
        NotApproved => ("NOT_APPROVED", "the record waits in an approval process"),
        BlockedRecord => ("BLOCKED_RECORD", "the record is locked"),
        CannotProcess => ("CANNOT_PROCESS", "the row could not be processed"),
        LimitExceeded => ("LIMIT_EXCEEDED", "the row is past a limit of the file"),
        ResourceNotFound => ("RESOURCE_NOT_FOUND", "the record this row names does not exist"),
    }
}

/// One `CODE-col[,col…]` group of an `ERRORS` cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorGroup {
    /// The row error code.
    pub code: RowErrorCode,
    /// The CSV headers (or field API names for column-less defaults), each once.
    pub columns: Vec<String>,
}

/// An `ERRORS` cell: groups in order of their code's first appearance, each column once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ErrorsCell {
    /// The groups, in order.
    pub groups: Vec<ErrorGroup>,
}

impl ErrorsCell {
    /// Groups `(code, column)` pairs: codes in order of first appearance, each column once.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (RowErrorCode, &'a str)>) -> ErrorsCell {
        let mut groups: Vec<ErrorGroup> = Vec::new();
        for (code, column) in pairs {
            let index = match groups.iter().position(|group| group.code == code) {
                Some(index) => index,
                None => {
                    groups.push(ErrorGroup { code, columns: Vec::new() });
                    groups.len() - 1
                }
            };
            let columns = &mut groups[index].columns;
            if !columns.iter().any(|c| c == column) {
                columns.push(column.to_string());
            }
        }
        ErrorsCell { groups }
    }

    /// Reads a cell (surrounding spaces ignored). Codes are upper-case words without `-`, so
    /// the first `-` of a group ends the code.
    ///
    /// # Errors
    /// [`UnknownRowWord`] when a group's code is not in the table.
    pub fn parse(cell: &str) -> Result<ErrorsCell, UnknownRowWord> {
        let mut groups = Vec::new();
        for group in cell.trim().split(':').filter(|group| !group.trim().is_empty()) {
            let (code, columns) = group.split_once('-').unwrap_or((group, ""));
            groups.push(ErrorGroup {
                code: RowErrorCode::parse(code.trim())?,
                columns: columns.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect(),
            });
        }
        Ok(ErrorsCell { groups })
    }

    /// No errors.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

impl fmt::Display for ErrorsCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, group) in self.groups.iter().enumerate() {
            if index > 0 {
                f.write_str(":")?;
            }
            write!(f, "{}-{}", group.code, group.columns.join(","))?;
        }
        Ok(())
    }
}

impl Serialize for ErrorsCell {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ErrorsCell {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ErrorsCell, D::Error> {
        let cell = String::deserialize(deserializer)?;
        ErrorsCell::parse(&cell).map_err(serde::de::Error::custom)
    }
}

/// One error of a row as the full report gives it (`GET /bulkwrite/v1/jobs/{id}/report`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportError {
    /// The row error code.
    pub code: RowErrorCode,
    /// The CSV header of the column (or the field's API name for a column-less default).
    pub column: String,
    /// The field's API name (empty when the error names no field).
    pub field: String,
    /// The offending cell as read (empty for an empty cell).
    pub value: String,
    /// A sentence a person understands: `'2021/13/01' is not a date in yyyy/MM/dd`.
    pub message: String,
}

/// One line of the `jsonl` report: an input row, what became of it and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportLine {
    /// Data rows counted from 1 (the header is not a row).
    pub row: u64,
    /// What happened to the row.
    pub status: RowStatus,
    /// The record it created or updated.
    pub record_id: Option<String>,
    /// Every input cell, by header, in the file's order.
    pub values: Map<String, Value>,
    /// Why the row was not applied (empty on success).
    pub errors: Vec<ReportError>,
}

/// The columns the CSV report appends after the input's own: the status, the record, Zoho's
/// `ERRORS` cell and one sentence per error (`Column (Field): message`, joined by a line break).
pub const REPORT_COLUMNS: [&str; 4] = ["STATUS", "RECORD_ID", "ERRORS", "ERROR_MESSAGES"];

/// The column `bulkwrite import` appends to `FILE.errors.csv` (failing rows only).
pub const FIX_FILE_COLUMN: &str = "ERROR";

/// The sentence of one error as the CSV report and the fix file write it.
#[must_use]
pub fn error_sentence(error: &ReportError) -> String {
    if error.field.is_empty() || error.field == error.column {
        format!("{}: {}", error.column, error.message)
    } else {
        format!("{} ({}): {}", error.column, error.field, error.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_the_table() {
        for code in RowErrorCode::ALL {
            assert_eq!(RowErrorCode::parse(code.as_str()), Ok(*code));
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(serde_json::from_str::<RowErrorCode>(&json).unwrap(), *code);
        }
        for status in RowStatus::ALL {
            assert_eq!(RowStatus::parse(status.as_str()), Ok(*status));
        }
        assert!(RowStatus::parse("added").is_err());
        assert!(RowErrorCode::parse("LOST").is_err());
        assert!(serde_json::from_str::<RowStatus>("\"LOST\"").is_err());
    }

    #[test]
    fn errors_cell_groups_codes_in_order_of_appearance_and_parses_back() {
        use RowErrorCode::{DuplicateData, InvalidData, MandatoryNotFound};
        let cases: Vec<(Vec<(RowErrorCode, &str)>, &str)> = vec![
            (vec![], ""),
            (vec![(MandatoryNotFound, "Company")], "MANDATORY_NOT_FOUND-Company"),
            (
                vec![(MandatoryNotFound, "Company"), (MandatoryNotFound, "Last_Name"), (DuplicateData, "Email")],
                "MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email",
            ),
            (
                vec![(InvalidData, "Date"), (DuplicateData, "Email"), (InvalidData, "Mobile-2"), (InvalidData, "Date")],
                "INVALID_DATA-Date,Mobile-2:DUPLICATE_DATA-Email",
            ),
        ];
        for (pairs, expected) in cases {
            let cell = ErrorsCell::from_pairs(pairs);
            assert_eq!(cell.to_string(), expected);
            assert_eq!(ErrorsCell::parse(expected).unwrap(), cell);
        }
        let bare = ErrorsCell::parse(" CANNOT_PROCESS ").unwrap();
        assert_eq!(bare.groups, vec![ErrorGroup { code: RowErrorCode::CannotProcess, columns: vec![] }]);
        assert_eq!(ErrorsCell::parse("NOPE-Email"), Err(UnknownRowWord("NOPE".into())));
    }

    #[test]
    fn a_report_line_has_the_documented_keys_in_order() {
        let mut values = Map::new();
        values.insert("Last_Name".into(), Value::String("Smith".into()));
        values.insert("Date_3".into(), Value::String("2021/13/01".into()));
        let line = ReportLine {
            row: 2,
            status: RowStatus::Skipped,
            record_id: None,
            values,
            errors: vec![ReportError {
                code: RowErrorCode::InvalidData,
                column: "Date_3".into(),
                field: "Date_3".into(),
                value: "2021/13/01".into(),
                message: "'2021/13/01' is not a date in yyyy/MM/dd".into(),
            }],
        };
        let json = serde_json::to_string(&line).unwrap();
        assert_eq!(
            json,
            r#"{"row":2,"status":"SKIPPED","record_id":null,"values":{"Last_Name":"Smith","Date_3":"2021/13/01"},"errors":[{"code":"INVALID_DATA","column":"Date_3","field":"Date_3","value":"2021/13/01","message":"'2021/13/01' is not a date in yyyy/MM/dd"}]}"#
        );
        assert_eq!(serde_json::from_str::<ReportLine>(&json).unwrap(), line);
        assert_eq!(error_sentence(&line.errors[0]), "Date_3: '2021/13/01' is not a date in yyyy/MM/dd");
    }
}
