//! Java `SimpleDateFormat` patterns (`yyyy/MM/dd`, `dd-MMM-yyyy HH:mm`, …) compiled to strict parsers.
//! (Interface stub; implementation in progress.)

use chrono::{FixedOffset, NaiveDate, NaiveTime};

/// Why a pattern cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the pattern is empty")]
    Empty,
}

/// What a pattern read from one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedDateTime {
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    pub offset: Option<FixedOffset>,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaDateFormat {
    pattern: String,
}

impl JavaDateFormat {
    pub fn compile(pattern: &str) -> Result<JavaDateFormat, FormatError> {
        if pattern.is_empty() {
            return Err(FormatError::Empty);
        }
        Ok(JavaDateFormat { pattern: pattern.to_string() })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn has_date(&self) -> bool {
        unimplemented!("datefmt in progress")
    }

    pub fn has_time(&self) -> bool {
        unimplemented!("datefmt in progress")
    }

    pub fn parse(&self, _input: &str) -> Option<ParsedDateTime> {
        unimplemented!("datefmt in progress")
    }
}
