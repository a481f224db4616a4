//! COQL by recursive descent: `SELECT columns FROM module WHERE condition [GROUP BY …]
//! [ORDER BY …] [LIMIT [offset,] count | LIMIT count OFFSET offset]`, with `and` binding tighter
//! than `or`; a column of `SELECT` may be an aggregate (`COUNT(id)`, `SUM(Amount) AS total`).

use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::Value;

use super::lexer::{tokens, unexpected, Tok, Token};
use crate::query::aggregate::Function;
use crate::query::Direction;

/// Deepest nesting of parentheses.
const MAX_DEPTH: usize = 32;

/// A parsed query, names as written (not yet resolved against the schema).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The items after `SELECT`, as written.
    pub columns: Vec<SelectItem>,
    /// The module after `FROM`, as written.
    pub module: String,
    /// The `WHERE` condition (COQL requires one).
    pub condition: Condition,
    /// `GROUP BY` columns, as written.
    pub group_by: Vec<String>,
    /// `ORDER BY` columns (or `FUNCTION(column)`, or an alias) with their directions, most
    /// significant first.
    pub order_by: Vec<(String, Direction)>,
    /// `LIMIT` as written (checked later: `limit given seems to be invalid`).
    pub limit: Option<String>,
    /// `OFFSET` (or the first number of `LIMIT offset, count`) as written, checked like `limit`.
    pub offset: Option<String>,
}

/// One item of `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// A column as written (a field, `lookup.field` or `user.property`).
    Column(String),
    /// `FUNCTION(column) [AS alias]`.
    Aggregate {
        /// The function.
        function: Function,
        /// Its column as written (`id` for `COUNT(*)`).
        column: String,
        /// The alias, when given.
        alias: Option<String>,
    },
}

impl SelectItem {
    /// `FUNCTION(column)` as written (functions in capitals), or the column.
    pub fn written(&self) -> String {
        match self {
            SelectItem::Column(name) => name.clone(),
            SelectItem::Aggregate { function, column, .. } => format!("{}({column})", function.as_str()),
        }
    }
}

/// A `WHERE` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Both sides hold (`and` binds tighter than `or`).
    And(Box<Condition>, Box<Condition>),
    /// Either side holds.
    Or(Box<Condition>, Box<Condition>),
    /// One column compared with its values.
    Compare {
        /// The column as written (a field, `lookup.field` or `user.property`).
        column: String,
        /// The operator between the column and its values.
        operator: Operator,
        /// The operands as JSON values (strings, numbers, booleans), none for `is null`.
        values: Vec<Value>,
    },
}

/// COQL's comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `like`, with `%` for any run of characters.
    Like,
    /// `not like`
    NotLike,
    /// `in (…)`
    In,
    /// `not in (…)`
    NotIn,
    /// `between a and b`, both ends included.
    Between,
    /// `not between a and b`
    NotBetween,
    /// `is null`
    IsNull,
    /// `is not null`
    IsNotNull,
}

impl Operator {
    /// As Zoho's `details.operator` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Like => "like",
            Operator::NotLike => "not like",
            Operator::In => "in",
            Operator::NotIn => "not in",
            Operator::Between => "between",
            Operator::NotBetween => "not between",
            Operator::IsNull => "is null",
            Operator::IsNotNull => "is not null",
        }
    }
}

fn missing_clause(clause: &str) -> ApiError {
    ApiError::with_message(ErrorCode::SyntaxError, "missing clause").detail("clause", clause)
}

fn not_supported() -> ApiError {
    ApiError::with_message(ErrorCode::SyntaxError, "given coql query not supported")
}

/// Parses one COQL `select_query` into its clauses; a query that does not parse is Zoho's
/// `SYNTAX_ERROR` with the `details` Zoho gives (the clause missing, the token unexpected).
pub fn parse(query: &str) -> Result<Query, ApiError> {
    let tokens = tokens(query)?;
    let mut parser = Parser { tokens, at: 0 };
    parser.query()
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token, ApiError> {
        match self.tokens.get(self.at) {
            Some(token) => {
                self.at += 1;
                Ok(token.clone())
            }
            None => Err(self.at_end()),
        }
    }

    /// The query ended where more was needed.
    fn at_end(&self) -> ApiError {
        let near = self.tokens.last().map_or(String::new(), |t| t.text.clone());
        ApiError::new(ErrorCode::SyntaxError).detail("near", near)
    }

    fn error_at(&self, token: &Token) -> ApiError {
        unexpected(token.line, token.column, &token.text)
    }

    fn keyword(&mut self, word: &str) -> Result<(), ApiError> {
        let token = self.next()?;
        if token.is(word) {
            Ok(())
        } else {
            Err(self.error_at(&token))
        }
    }

    fn peek_is(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.is(word))
    }

    fn symbol(&mut self, symbol: &str) -> Result<(), ApiError> {
        let token = self.next()?;
        if token.is_symbol(symbol) {
            Ok(())
        } else {
            Err(self.error_at(&token))
        }
    }

    fn query(&mut self) -> Result<Query, ApiError> {
        match self.peek() {
            Some(token) if token.is("select") => self.at += 1,
            _ => return Err(not_supported()),
        }
        let mut columns = vec![self.select_item()?];
        while self.peek().is_some_and(|t| t.is_symbol(",")) {
            self.at += 1;
            columns.push(self.select_item()?);
        }
        if !self.peek_is("from") {
            return Err(match self.peek() {
                None => missing_clause("from"),
                Some(token) => self.error_at(token),
            });
        }
        self.at += 1;
        let module = match self.next()? {
            Token { tok: Tok::Word(name), .. } => name,
            other => return Err(self.error_at(&other)),
        };
        if !self.peek_is("where") {
            return Err(match self.peek() {
                Some(token) if !token.is("order") && !token.is("limit") && !token.is("offset") => {
                    if token.is("group") {
                        not_supported()
                    } else {
                        self.error_at(token)
                    }
                }
                _ => missing_clause("where"),
            });
        }
        self.at += 1;
        let condition = self.or(0)?;
        let mut query =
            Query { columns, module, condition, group_by: Vec::new(), order_by: Vec::new(), limit: None, offset: None };
        if self.peek_is("group") {
            self.at += 1;
            self.keyword("by")?;
            loop {
                query.group_by.push(self.column()?);
                if !self.peek().is_some_and(|t| t.is_symbol(",")) {
                    break;
                }
                self.at += 1;
            }
        }
        if self.peek_is("order") {
            self.at += 1;
            self.keyword("by")?;
            loop {
                let column = if self.at_call() { self.select_item()?.written() } else { self.column()? };
                let direction = if self.peek_is("desc") {
                    self.at += 1;
                    Direction::Desc
                } else {
                    if self.peek_is("asc") {
                        self.at += 1;
                    }
                    Direction::Asc
                };
                query.order_by.push((column, direction));
                if !self.peek().is_some_and(|t| t.is_symbol(",")) {
                    break;
                }
                self.at += 1;
            }
        }
        if self.peek_is("limit") {
            self.at += 1;
            let first = self.next()?.text;
            if self.peek().is_some_and(|t| t.is_symbol(",")) {
                self.at += 1;
                query.offset = Some(first);
                query.limit = Some(self.next()?.text);
            } else {
                query.limit = Some(first);
            }
        }
        if self.peek_is("offset") {
            self.at += 1;
            query.offset = Some(self.next()?.text);
        }
        if let Some(token) = self.peek() {
            return Err(self.error_at(token));
        }
        Ok(query)
    }

    /// Whether a function call (`NAME(`) starts here.
    fn at_call(&self) -> bool {
        matches!(self.peek().map(|t| &t.tok), Some(Tok::Word(_)))
            && self.tokens.get(self.at + 1).is_some_and(|t| t.is_symbol("("))
    }

    /// A column, or an aggregate function of one (`COUNT(id)`, `SUM(Amount) AS total`).
    fn select_item(&mut self) -> Result<SelectItem, ApiError> {
        if !self.at_call() {
            return Ok(SelectItem::Column(self.column()?));
        }
        let name = self.next()?;
        // Functions other than the five aggregates are not supported.
        let function = Function::parse(&name.text).ok_or_else(not_supported)?;
        self.symbol("(")?;
        let column = if function == Function::Count && self.peek().is_some_and(|t| t.is_symbol("*")) {
            self.at += 1;
            "id".to_string()
        } else {
            self.column()?
        };
        self.symbol(")")?;
        let mut alias = None;
        if self.peek_is("as") {
            self.at += 1;
            let token = self.next()?;
            alias = match token.tok {
                Tok::Word(ref name) if !is_reserved(name) => Some(name.clone()),
                Tok::Text(ref name, _) if !name.is_empty() => Some(name.clone()),
                _ => return Err(self.error_at(&token)),
            };
        }
        Ok(SelectItem::Aggregate { function, column, alias })
    }

    /// A column name (quoted names are names too: `'External'`).
    fn column(&mut self) -> Result<String, ApiError> {
        let token = self.next()?;
        if self.peek().is_some_and(|t| t.is_symbol("(")) && matches!(token.tok, Tok::Word(_)) {
            // A function where a column must stand (`WHERE COUNT(id) > 1`): not supported.
            return Err(not_supported());
        }
        match token.tok {
            Tok::Word(ref name) if !is_reserved(name) => Ok(name.clone()),
            Tok::Text(ref name, _) if !name.is_empty() => Ok(name.clone()),
            _ => Err(self.error_at(&token)),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Condition, ApiError> {
        let mut left = self.and(depth)?;
        while self.peek_is("or") {
            self.at += 1;
            let right = self.and(depth)?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Condition, ApiError> {
        let mut left = self.primary(depth)?;
        while self.peek_is("and") {
            self.at += 1;
            let right = self.primary(depth)?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Result<Condition, ApiError> {
        if depth > MAX_DEPTH {
            let token = self.peek().cloned().unwrap_or_else(|| self.tokens[self.tokens.len() - 1].clone());
            return Err(self.error_at(&token));
        }
        if self.peek().is_some_and(|t| t.is_symbol("(")) {
            self.at += 1;
            let inner = self.or(depth + 1)?;
            self.symbol(")")?;
            return Ok(inner);
        }
        if self.peek_is("not") {
            return Err(
                ApiError::with_message(ErrorCode::SyntaxError, "operator not supported").detail("operator", "not")
            );
        }
        let column = self.column()?;
        let operator = self.operator()?;
        let values = match operator {
            Operator::IsNull | Operator::IsNotNull => Vec::new(),
            Operator::In | Operator::NotIn => {
                self.symbol("(")?;
                let mut values = vec![self.value()?];
                while self.peek().is_some_and(|t| t.is_symbol(",")) {
                    self.at += 1;
                    values.push(self.value()?);
                }
                self.symbol(")")?;
                values
            }
            Operator::Between | Operator::NotBetween => {
                let low = self.value()?;
                self.keyword("and")?;
                vec![low, self.value()?]
            }
            _ => vec![self.value()?],
        };
        Ok(Condition::Compare { column, operator, values })
    }

    fn operator(&mut self) -> Result<Operator, ApiError> {
        let token = self.next()?;
        let operator = match &token.tok {
            Tok::Symbol("=") => Operator::Eq,
            Tok::Symbol("!=" | "<>") => Operator::Ne,
            Tok::Symbol("<") => Operator::Lt,
            Tok::Symbol("<=") => Operator::Le,
            Tok::Symbol(">") => Operator::Gt,
            Tok::Symbol(">=") => Operator::Ge,
            _ if token.is("like") => Operator::Like,
            _ if token.is("in") => Operator::In,
            _ if token.is("between") => Operator::Between,
            _ if token.is("is") => {
                if self.peek_is("not") {
                    self.at += 1;
                    self.keyword("null")?;
                    Operator::IsNotNull
                } else {
                    self.keyword("null")?;
                    Operator::IsNull
                }
            }
            _ if token.is("not") => {
                let next = self.next()?;
                match () {
                    () if next.is("like") => Operator::NotLike,
                    () if next.is("in") => Operator::NotIn,
                    () if next.is("between") => Operator::NotBetween,
                    () => return Err(self.error_at(&next)),
                }
            }
            _ => return Err(self.error_at(&token)),
        };
        Ok(operator)
    }

    fn value(&mut self) -> Result<Value, ApiError> {
        let token = self.next()?;
        match &token.tok {
            Tok::Text(text, _) => Ok(Value::String(text.clone())),
            Tok::Number(text) => {
                serde_json::from_str::<serde_json::Number>(text).map(Value::Number).map_err(|_| self.error_at(&token))
            }
            Tok::Word(word) if word.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Tok::Word(word) if word.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(self.error_at(&token)),
        }
    }
}

/// Keywords that cannot name a column unquoted.
fn is_reserved(name: &str) -> bool {
    const RESERVED: [&str; 19] = [
        "select", "from", "where", "order", "by", "group", "limit", "offset", "and", "or", "not", "in", "like", "is",
        "null", "between", "asc", "desc", "as",
    ];
    RESERVED.iter().any(|word| word.eq_ignore_ascii_case(name))
}
