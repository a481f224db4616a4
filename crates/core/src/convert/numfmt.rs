//! A mapping `format` on a number field (integer, bigint, decimal, currency, percent).
//!
//! The spec (§3.4) lets `format` describe number columns as well as dates; Zoho's list of
//! allowed patterns is a PDF nobody could retrieve, so the rule here is ours, in the
//! `java.text.DecimalFormat` style its date patterns follow: `0` and `#` are digits, and the
//! separators are read from the pattern itself, so a CSV written with European or Swiss
//! conventions can be imported as it is:
//!
//! - `#,##0.00`, `#.##0,00`, `# ##0,00`, `#'##0.00`: with two kinds of separator, the last one is
//!   the decimal separator and the other the grouping separator;
//! - with one kind only, it is the grouping separator when it is followed by exactly three
//!   digit places at the end (`#,##0`, `#.##0`), or when it occurs more than once; otherwise it
//!   is the decimal separator (`0.00`, `0,0`); a space or `'` is always grouping;
//! - an optional `%` at the end (percent fields);
//! - anything else (letters, two decimal separators, no digit place) is not a number pattern:
//!   `INVALID_FORMAT` at job creation.
//!
//! A cell is read by dropping the grouping separators of its integer part and reading the
//! decimal separator as a point; the result then goes through the field's usual rules (length,
//! decimal places, range). A pattern without a decimal separator makes a decimal separator in
//! the cell an error, as does a fractional pattern on an integer field (refused at creation).

/// A compiled number pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat {
    grouping: Option<char>,
    decimal: Option<char>,
    percent: bool,
}

const SEPARATORS: [char; 4] = [',', '.', ' ', '\''];

impl NumberFormat {
    /// Compiles a pattern; `None` when it is not a number pattern.
    pub fn compile(pattern: &str) -> Option<NumberFormat> {
        let (body, percent) = match pattern.strip_suffix('%') {
            Some(body) => (body, true),
            None => (pattern, false),
        };
        if body.is_empty() || !body.chars().all(|c| c == '0' || c == '#' || SEPARATORS.contains(&c)) {
            return None;
        }
        if !body.chars().any(|c| c == '0' || c == '#') || body.starts_with(SEPARATORS) || body.ends_with(SEPARATORS) {
            return None;
        }
        let kinds: Vec<char> = SEPARATORS.iter().copied().filter(|s| body.contains(*s)).collect();
        let (grouping, decimal) = match kinds.as_slice() {
            [] => (None, None),
            [only] => {
                let count = body.matches(*only).count();
                let tail = body.rsplit(*only).next().unwrap_or_default().len();
                if *only == ' ' || *only == '\'' || count > 1 || tail == 3 {
                    (Some(*only), None)
                } else {
                    (None, Some(*only))
                }
            }
            [_, _] => {
                let last = body.chars().rev().find(|c| SEPARATORS.contains(c))?;
                let other = kinds.iter().copied().find(|k| *k != last)?;
                if last == ' ' || last == '\'' || body.matches(last).count() > 1 {
                    return None;
                }
                // Grouping only before the decimal separator.
                if body.rsplit(last).next().is_some_and(|fraction| fraction.contains(other)) {
                    return None;
                }
                (Some(other), Some(last))
            }
            _ => return None,
        };
        Some(NumberFormat { grouping, decimal, percent })
    }

    /// Whether the pattern has decimal places (not usable for whole-number fields).
    pub fn has_fraction(&self) -> bool {
        self.decimal.is_some()
    }

    /// The cell in the default notation (`-1234.5`, `12%`), or why it does not fit the pattern.
    pub fn normalize(&self, raw: &str) -> Result<String, String> {
        let text = raw.trim();
        let (text, percent) = match text.strip_suffix('%') {
            Some(rest) if self.percent => (rest.trim_end(), "%"),
            _ => (text, ""),
        };
        let (integer, fraction) = match self.decimal {
            Some(decimal) => match text.split_once(decimal) {
                Some((integer, fraction)) => (integer, Some(fraction)),
                None => (text, None),
            },
            None => (text, None),
        };
        let mut out = String::with_capacity(text.len() + 1);
        for c in integer.chars() {
            if Some(c) == self.grouping {
                continue;
            }
            if c == '.' || c == ',' || c == ' ' || c == '\'' {
                return Err(format!("'{raw}' does not follow the format's separators"));
            }
            out.push(c);
        }
        if let Some(fraction) = fraction {
            if fraction.chars().any(|c| !c.is_ascii_digit()) {
                return Err(format!("'{raw}' does not follow the format's separators"));
            }
            out.push('.');
            out.push_str(fraction);
        }
        out.push_str(percent);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(pattern: &str, raw: &str) -> Result<String, String> {
        NumberFormat::compile(pattern).expect(pattern).normalize(raw)
    }

    #[test]
    fn separators_are_read_from_the_pattern() {
        assert_eq!(normalized("#,##0.00", "1,234,567.5").unwrap(), "1234567.5");
        assert_eq!(normalized("#.##0,00", "1.234.567,5").unwrap(), "1234567.5");
        assert_eq!(normalized("# ##0,00", "-1 234,50").unwrap(), "-1234.50");
        assert_eq!(normalized("#'##0.00", "1'234.5").unwrap(), "1234.5");
        assert_eq!(normalized("#,##0", "12,345").unwrap(), "12345");
        assert_eq!(normalized("#.##0", "12.345").unwrap(), "12345");
        assert_eq!(normalized("0,00", "3,14").unwrap(), "3.14");
        assert_eq!(normalized("0.00", "3.14").unwrap(), "3.14");
        assert_eq!(normalized("0", "42").unwrap(), "42");
        assert_eq!(normalized("0.0%", "12.5%").unwrap(), "12.5%");
    }

    #[test]
    fn cells_with_other_separators_are_refused() {
        assert!(normalized("#.##0,00", "1,234.50").is_err());
        assert!(normalized("#,##0", "12.5").is_err());
        assert!(normalized("0,00", "1.234,5").is_err());
    }

    #[test]
    fn patterns_that_are_not_numbers_are_refused() {
        for pattern in ["", "yyyy-MM-dd", "#,##0.00.0", "abc", ",##0", "0.", "%", "#,##0.00 €"] {
            assert!(NumberFormat::compile(pattern).is_none(), "{pattern}");
        }
        assert!(!NumberFormat::compile("#,##0").unwrap().has_fraction());
        assert!(NumberFormat::compile("#,##0.00").unwrap().has_fraction());
    }
}
