//! COQL tokens: names (with dot notation), quoted strings (a doubled quote stands for itself),
//! numbers and operators, each with its line and column for `SYNTAX_ERROR` details.

use bulkwrite_wire::{ApiError, ErrorCode};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// A name or keyword, as written.
    Word(String),
    /// A quoted string, unquoted; `true` when double-quoted.
    Text(String, bool),
    /// A number as written (`12`, `-3.5`).
    Number(String),
    /// `(`, `)`, `,`, `*`, `=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`.
    Symbol(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    /// The token as written, for `near`.
    pub text: String,
    pub line: usize,
    pub column: usize,
}

impl Token {
    /// Whether this is the keyword `word` (keywords are not case-sensitive).
    pub fn is(&self, word: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(word))
    }

    pub fn is_symbol(&self, symbol: &str) -> bool {
        matches!(&self.tok, Tok::Symbol(s) if *s == symbol)
    }
}

/// `SYNTAX_ERROR` at a place of the query.
pub(super) fn unexpected(line: usize, column: usize, near: &str) -> ApiError {
    ApiError::with_message(ErrorCode::SyntaxError, "unexpected token")
        .detail("line", line)
        .detail("column", column)
        .detail("near", near.chars().take(100).collect::<String>())
}

const SYMBOLS: [&str; 11] = ["<=", ">=", "!=", "<>", "(", ")", ",", "*", "=", "<", ">"];

pub(super) fn tokens(query: &str) -> Result<Vec<Token>, ApiError> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let (mut at, mut line, mut line_start) = (0, 1, 0);
    while at < chars.len() {
        let c = chars[at];
        let column = at - line_start + 1;
        if c == '\n' {
            at += 1;
            line += 1;
            line_start = at;
            continue;
        }
        if c.is_whitespace() {
            at += 1;
            continue;
        }
        let start = at;
        let tok = if c == '\'' || c == '"' {
            let mut text = String::new();
            at += 1;
            loop {
                match chars.get(at) {
                    None => return Err(unexpected(line, column, &chars[start..].iter().collect::<String>())),
                    Some(&q) if q == c && chars.get(at + 1) == Some(&c) => {
                        text.push(c);
                        at += 2;
                    }
                    Some(&q) if q == c => {
                        at += 1;
                        break;
                    }
                    Some(&other) => {
                        if other == '\n' {
                            line += 1;
                            line_start = at + 1;
                        }
                        text.push(other);
                        at += 1;
                    }
                }
            }
            Tok::Text(text, c == '"')
        } else if c.is_ascii_digit() || (c == '-' && chars.get(at + 1).is_some_and(char::is_ascii_digit)) {
            at += 1;
            while chars.get(at).is_some_and(|d| d.is_ascii_digit() || *d == '.') {
                at += 1;
            }
            Tok::Number(chars[start..at].iter().collect())
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            while chars.get(at).is_some_and(|d| d.is_alphanumeric() || matches!(d, '_' | '$' | '.')) {
                at += 1;
            }
            Tok::Word(chars[start..at].iter().collect())
        } else {
            let rest: String = chars[at..chars.len().min(at + 2)].iter().collect();
            let Some(symbol) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) else {
                return Err(unexpected(line, column, &c.to_string()));
            };
            at += symbol.len();
            Tok::Symbol(symbol)
        };
        out.push(Token { tok, text: chars[start..at].iter().collect(), line, column });
    }
    Ok(out)
}
