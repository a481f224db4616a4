//! COQL (`POST /crm/{v}/coql`): a hand-written lexer and recursive-descent parser for Zoho's
//! `SELECT … FROM … WHERE … ORDER BY … LIMIT …`, and its resolution against the schema into a
//! [`Select`](super::Select) the store runs.
//!
//! Supported: columns (with lookup dot notation `Account_Name.Account_Name` and user properties
//! `Owner.email`), `=`, `!=`, `<`, `<=`, `>`, `>=`, `like` (`%`), `not like`, `in`, `not in`,
//! `between`, `not between`, `is null`, `is not null`, `and`/`or` with parentheses,
//! `ORDER BY … ASC|DESC`, `LIMIT count`, `LIMIT offset, count`, `OFFSET`. Not supported (answered
//! `SYNTAX_ERROR` "given coql query not supported"): aggregates, `GROUP BY`, sub-queries, and
//! dot notation in `WHERE`. As Zoho's pages show, `WHERE` is required.

mod lexer;
mod parser;
mod plan;
#[cfg(test)]
mod tests;

pub use parser::{parse, Condition, Operator, Query};
pub use plan::{plan, CoqlLimits, Plan, SelectColumn};
