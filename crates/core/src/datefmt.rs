//! Java `SimpleDateFormat` patterns (`yyyy/MM/dd`, `dd-MMM-yyyy HH:mm`, …) compiled to strict parsers.
//!
//! A mapping's `format` is a Java pattern (Zoho's defaults: Date `MM/dd/yyyy`, DateTime
//! `MM/dd/yyyy HH:mm:ss`). [`JavaDateFormat::compile`] turns it into a
//! list of literals and fields; [`JavaDateFormat::parse`] then reads one whole cell with it.
//!
//! Supported letters: `y`/`Y` year, `M`/`L` month, `d` day of month, `D` day of year, `E` day
//! name, `u` day number (1 = Monday), `a` AM/PM, `H` `k` `K` `h` hours, `m` minutes, `s` seconds,
//! `S` fraction of a second, `z` `Z` `X` zone offsets. Text in single quotes is literal (`''` is a
//! quote); other non-letters are literal. Any other ASCII letter is refused at compile time, and so
//! is a pattern that sets the same value twice (`yyyy … yyyy`, `HH … hh`).
//!
//! Parsing is strict: the input (trimmed of surrounding whitespace) must match as a whole, every
//! value must be in range and the date must exist. Where this differs from Java or had a choice:
//!
//! - Years: `yyyy` (4 or more letters) takes exactly 4 digits; `y` and `yyy` take 1 to 4 digits
//!   read literally, except that exactly two digits with `y` or `yy` are a two-digit year, as in
//!   Java; `yy` takes exactly 2 digits. A two-digit year falls in the window
//!   `[current year − 80, current year + 20)`. Year 0 is refused. `Y` (week year) is read as `y`.
//! - Other numeric fields take 1 digit up to `max(letters, usual width)` digits, except a field
//!   immediately followed by another numeric field (`yyyyMMdd`, `HHmmss`), which takes exactly as
//!   many digits as it has letters.
//! - Month and day names are English and case-insensitive; like Java, both the full and the short
//!   name are accepted whatever the letter count.
//! - `S` is read as a decimal fraction of a second (`.5` = 500 ms, `.123456` = 123456 µs), not as
//!   Java's count of milliseconds; digits past the ninth are dropped.
//! - `z`, `Z` and `X` all accept the same forms: `Z`, `UTC`, `GMT`, `UT`, optionally followed by
//!   an offset, or a bare offset `±H`, `±HH`, `±HHMM`, `±H:MM`, `±HH:MM`. Zone names such as `PST`
//!   are not accepted.
//! - `h`/`K` without an `a` field are AM hours; with `H` or `k`, an `a` field is read but ignored.
//! - Day names and day numbers must agree with the date when the pattern has a date.
//! - A pattern without a date still parses; the date then defaults to 1970-01-01 (missing year →
//!   1970, month → January, day → 1). Missing minutes and seconds default to 0.

mod parse;
mod pattern;
#[cfg(test)]
mod tests;

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveTime};

use pattern::{Kind, Token};

/// Why a pattern cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The pattern has no characters.
    #[error("the pattern is empty")]
    Empty,
    /// An ASCII letter that is not a supported pattern letter.
    #[error("'{0}' is not a supported pattern letter (quote literal text with single quotes)")]
    UnknownLetter(char),
    /// A quote opened literal text and the pattern ended before it was closed.
    #[error("the pattern has an unterminated quote")]
    UnterminatedQuote,
    /// Two fields set the same value, e.g. `yyyy-MM-dd yyyy` or `HH hh`.
    #[error("the pattern sets the {what} twice (letter '{letter}')")]
    Repeated {
        /// The letter of the second field.
        letter: char,
        /// What both fields set, e.g. "year" or "hour".
        what: &'static str,
    },
}

/// What a pattern read from one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedDateTime {
    /// The date; 1970-01-01 (or the parts given) when the pattern has no full date.
    pub date: NaiveDate,
    /// The time of day; `Some` exactly when the pattern has an hour letter.
    pub time: Option<NaiveTime>,
    /// The zone offset; `Some` exactly when the pattern has a zone letter (`z`, `Z`, `X`).
    pub offset: Option<FixedOffset>,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaDateFormat {
    pattern: String,
    tokens: Vec<Token>,
    has_date: bool,
    has_time: bool,
    /// Whether a year may be read as two digits, placed around the current year: only then is
    /// the clock read (it was, for every date cell, 1.5% of mapping a Leads row).
    short_year: bool,
}

impl JavaDateFormat {
    /// Compiles a Java `SimpleDateFormat` pattern.
    pub fn compile(pattern: &str) -> Result<JavaDateFormat, FormatError> {
        if pattern.is_empty() {
            return Err(FormatError::Empty);
        }
        let tokens = pattern::tokenize(pattern)?;
        let has_date = pattern::fixes_date(&tokens);
        let has_time = pattern::has_hour(&tokens);
        let short_year = tokens
            .iter()
            .any(|token| matches!(token, Token::Field(spec) if matches!(spec.kind, Kind::Year) && spec.count <= 2));
        Ok(JavaDateFormat { pattern: pattern.to_string(), tokens, has_date, has_time, short_year })
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether the pattern fixes a date: year, month and day, or year and day of year.
    pub fn has_date(&self) -> bool {
        self.has_date
    }

    /// Whether the pattern has an hour letter (`H`, `k`, `K` or `h`).
    pub fn has_time(&self) -> bool {
        self.has_time
    }

    /// Reads one whole cell (trimmed first); `None` when it does not match or is not a real date.
    pub fn parse(&self, input: &str) -> Option<ParsedDateTime> {
        let current_year = if self.short_year { chrono::Utc::now().year() } else { 0 };
        self.parse_relative_to(input, current_year)
    }

    /// [`parse`](Self::parse) with the two-digit-year window centred on `current_year`.
    fn parse_relative_to(&self, input: &str, current_year: i32) -> Option<ParsedDateTime> {
        let fields = parse::read_fields(&self.tokens, input.trim(), current_year)?;
        parse::resolve(&fields, self.has_date)
    }
}
