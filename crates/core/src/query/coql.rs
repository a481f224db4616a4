//! COQL (`POST /crm/{v}/coql`): a hand-written lexer and recursive-descent parser for Zoho's
//! `SELECT … FROM … WHERE … ORDER BY … LIMIT …`, and its resolution against the schema into a
//! [`Select`](super::Select) the store runs.
//!
//! Supported: columns (with lookup dot notation `Account_Name.Account_Name` and user properties
//! `Owner.email`, in `SELECT` and in `WHERE`), `=`, `!=`, `<`, `<=`, `>`, `>=`, `like` (`%`),
//! `not like`, `in`, `not in`, `between`, `not between`, `is null`, `is not null`, `and`/`or` with
//! parentheses, `ORDER BY … ASC|DESC`, `LIMIT count`, `LIMIT offset, count`, `OFFSET`, and from v4
//! the aggregate functions `COUNT`, `SUM`, `MAX`, `MIN`, `AVG` (`AS alias`) with `GROUP BY`. Not
//! supported (answered `SYNTAX_ERROR` "given coql query not supported"): other functions,
//! sub-queries, aggregates before v4; dot notation in `ORDER BY` is an invalid column. As Zoho's
//! pages show, `WHERE` is required.

mod grouped;
mod lexer;
mod parser;
mod plan;
mod related;
#[cfg(test)]
mod tests;

pub use grouped::{AggregatePlan, Output};
pub use parser::{parse, Condition, Operator, Query, SelectItem};
pub use plan::{plan, CoqlLimits, Plan, Planned, SelectColumn};
