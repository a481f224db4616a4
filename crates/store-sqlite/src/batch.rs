//! Multi-row `INSERT` statements: one statement per batch of rows instead of one per row.

use rusqlite::{Connection, Statement, ToSql};

use crate::db_error;
use bulkwrite_store::StoreResult;

/// Rows per statement (well under SQLite's limit of bound parameters).
const ROWS_PER_STATEMENT: usize = 64;

/// Inserts `rows` with `INSERT INTO {table} ({columns}) VALUES (…), (…)`, `bind` giving each
/// row's values in column order.
pub(crate) fn insert_many<T>(
    tx: &Connection,
    table_and_columns: &str,
    column_count: usize,
    rows: &[T],
    mut bind: impl FnMut(&T, &mut dyn FnMut(&dyn ToSql) -> rusqlite::Result<()>) -> StoreResult<()>,
) -> StoreResult<()> {
    for batch in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = statement_text(table_and_columns, column_count, batch.len());
        let mut statement = tx.prepare_cached(&sql).map_err(db_error)?;
        let mut index = 0;
        for row in batch {
            bind(row, &mut |value| {
                index += 1;
                bind_one(&mut statement, index, value)
            })?;
        }
        statement.raw_execute().map_err(db_error)?;
    }
    Ok(())
}

fn bind_one(statement: &mut Statement<'_>, index: usize, value: &dyn ToSql) -> rusqlite::Result<()> {
    statement.raw_bind_parameter(index, value)
}

fn statement_text(table_and_columns: &str, column_count: usize, row_count: usize) -> String {
    let mut sql = format!("INSERT INTO {table_and_columns} VALUES ");
    let mut number = 0;
    for row in 0..row_count {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..column_count {
            if column > 0 {
                sql.push_str(", ");
            }
            number += 1;
            sql.push('?');
            sql.push_str(&number.to_string());
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_text_numbers_every_parameter() {
        assert_eq!(statement_text("t (a, b)", 2, 2), "INSERT INTO t (a, b) VALUES (?1, ?2), (?3, ?4)");
    }
}
