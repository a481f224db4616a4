//! Splitting a pattern into literal text and fields.

use std::iter::Peekable;
use std::str::Chars;

use super::FormatError;

/// How an hour field counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HourStyle {
    /// `H`: 0–23.
    ZeroTo23,
    /// `k`: 1–24, 24 meaning 0.
    OneTo24,
    /// `K`: 0–11, with AM/PM.
    ZeroTo11,
    /// `h`: 1–12, with AM/PM.
    OneTo12,
}

/// What a field reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Year,
    Month,
    Day,
    DayOfYear,
    DayName,
    DayNumber,
    AmPm,
    Hour(HourStyle),
    Minute,
    Second,
    Fraction,
    Zone,
}

impl Kind {
    /// The kind a pattern letter stands for; `None` for unsupported letters.
    fn from_letter(letter: char) -> Option<Kind> {
        let kind = match letter {
            'y' | 'Y' => Kind::Year,
            'M' | 'L' => Kind::Month,
            'd' => Kind::Day,
            'D' => Kind::DayOfYear,
            'E' => Kind::DayName,
            'u' => Kind::DayNumber,
            'a' => Kind::AmPm,
            'H' => Kind::Hour(HourStyle::ZeroTo23),
            'k' => Kind::Hour(HourStyle::OneTo24),
            'K' => Kind::Hour(HourStyle::ZeroTo11),
            'h' => Kind::Hour(HourStyle::OneTo12),
            'm' => Kind::Minute,
            's' => Kind::Second,
            'S' => Kind::Fraction,
            'z' | 'Z' | 'X' => Kind::Zone,
            _ => return None,
        };
        Some(kind)
    }

    /// The value a field sets, named for error messages; two fields may not set the same one.
    fn slot(self) -> &'static str {
        match self {
            Kind::Year => "year",
            Kind::Month => "month",
            Kind::Day => "day of month",
            Kind::DayOfYear => "day of year",
            Kind::DayName | Kind::DayNumber => "day of week",
            Kind::AmPm => "AM/PM marker",
            Kind::Hour(_) => "hour",
            Kind::Minute => "minute",
            Kind::Second => "second",
            Kind::Fraction => "fraction of second",
            Kind::Zone => "time zone",
        }
    }
}

/// One field of a pattern: a run of the same letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FieldSpec {
    pub kind: Kind,
    /// How many times the letter is repeated.
    pub count: usize,
    /// A numeric field directly followed by another numeric field: it takes exactly `count` digits.
    pub abutting: bool,
}

impl FieldSpec {
    /// Whether the field reads digits (as opposed to names or zone text).
    pub fn is_numeric(&self) -> bool {
        match self.kind {
            Kind::Month => self.count <= 2,
            Kind::DayName | Kind::AmPm | Kind::Zone => false,
            _ => true,
        }
    }
}

/// A compiled pattern element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    /// Text that must appear exactly.
    Literal(String),
    Field(FieldSpec),
}

/// Splits a pattern into tokens, refusing unknown letters, open quotes and repeated values.
pub(super) fn tokenize(pattern: &str) -> Result<Vec<Token>, FormatError> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars().peekable();
    let mut seen: Vec<&'static str> = Vec::new();
    while let Some(c) = chars.next() {
        if c == '\'' {
            let text = read_quoted(&mut chars)?;
            push_literal(&mut tokens, &text);
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut tokens, c.encode_utf8(&mut [0; 4]));
            continue;
        }
        let kind = Kind::from_letter(c).ok_or(FormatError::UnknownLetter(c))?;
        if seen.contains(&kind.slot()) {
            return Err(FormatError::Repeated { letter: c, what: kind.slot() });
        }
        seen.push(kind.slot());
        let mut count = 1;
        while chars.next_if_eq(&c).is_some() {
            count += 1;
        }
        tokens.push(Token::Field(FieldSpec { kind, count, abutting: false }));
    }
    mark_abutting(&mut tokens);
    Ok(tokens)
}

/// Reads quoted text after its opening quote; `''` inside (or right after the opening quote) is a quote.
fn read_quoted(chars: &mut Peekable<Chars<'_>>) -> Result<String, FormatError> {
    if chars.next_if_eq(&'\'').is_some() {
        return Ok("'".to_string());
    }
    let mut text = String::new();
    loop {
        match chars.next() {
            None => return Err(FormatError::UnterminatedQuote),
            Some('\'') if chars.next_if_eq(&'\'').is_some() => text.push('\''),
            Some('\'') => return Ok(text),
            Some(c) => text.push(c),
        }
    }
}

/// Appends literal text, merging it with a literal just before.
fn push_literal(tokens: &mut Vec<Token>, text: &str) {
    if let Some(Token::Literal(last)) = tokens.last_mut() {
        last.push_str(text);
        return;
    }
    tokens.push(Token::Literal(text.to_string()));
}

/// Flags numeric fields directly followed by another numeric field.
fn mark_abutting(tokens: &mut [Token]) {
    let numeric: Vec<bool> = tokens.iter().map(is_numeric_field).collect();
    for (i, token) in tokens.iter_mut().enumerate() {
        let next_numeric = numeric.get(i + 1).copied().unwrap_or(false);
        if let Token::Field(spec) = token {
            spec.abutting = spec.is_numeric() && next_numeric;
        }
    }
}

fn is_numeric_field(token: &Token) -> bool {
    matches!(token, Token::Field(spec) if spec.is_numeric())
}

/// Whether any field of the pattern is of a kind matching `wanted`.
fn has_kind(tokens: &[Token], wanted: impl Fn(Kind) -> bool) -> bool {
    tokens.iter().any(|t| matches!(t, Token::Field(spec) if wanted(spec.kind)))
}

/// Year, month and day, or year and day of year.
pub(super) fn fixes_date(tokens: &[Token]) -> bool {
    let year = has_kind(tokens, |k| k == Kind::Year);
    let month = has_kind(tokens, |k| k == Kind::Month);
    let day = has_kind(tokens, |k| k == Kind::Day);
    let day_of_year = has_kind(tokens, |k| k == Kind::DayOfYear);
    year && ((month && day) || day_of_year)
}

/// Whether the pattern has an hour letter.
pub(super) fn has_hour(tokens: &[Token]) -> bool {
    has_kind(tokens, |k| matches!(k, Kind::Hour(_)))
}
