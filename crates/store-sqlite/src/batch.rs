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
    bind: impl FnMut(&T, &mut dyn FnMut(&dyn ToSql) -> rusqlite::Result<()>) -> StoreResult<()>,
) -> StoreResult<()> {
    insert_with(tx, "INSERT INTO", table_and_columns, column_count, rows, bind).map(drop)
}

/// [`insert_many`] with `INSERT OR IGNORE`: a row that breaks a constraint is left out, and the
/// count of rows inserted says so. For writes that know their rows are new (or learn from the
/// count that one was not): a statement that cannot abort needs no statement journal, and in a
/// transaction that has written much (a chunk of random keys) closing each statement's journal
/// walked the whole in-memory sub-journal, a fifth of the writer's time at 1,000,000 rows.
pub(crate) fn insert_many_ignoring<T>(
    tx: &Connection,
    table_and_columns: &str,
    column_count: usize,
    rows: &[T],
    bind: impl FnMut(&T, &mut dyn FnMut(&dyn ToSql) -> rusqlite::Result<()>) -> StoreResult<()>,
) -> StoreResult<usize> {
    insert_with(tx, "INSERT OR IGNORE INTO", table_and_columns, column_count, rows, bind)
}

fn insert_with<T>(
    tx: &Connection,
    verb: &str,
    table_and_columns: &str,
    column_count: usize,
    rows: &[T],
    mut bind: impl FnMut(&T, &mut dyn FnMut(&dyn ToSql) -> rusqlite::Result<()>) -> StoreResult<()>,
) -> StoreResult<usize> {
    let mut inserted = 0;
    for batch in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = statement_text(verb, table_and_columns, column_count, batch.len());
        let mut statement = tx.prepare_cached(&sql).map_err(db_error)?;
        let mut index = 0;
        for row in batch {
            bind(row, &mut |value| {
                index += 1;
                bind_one(&mut statement, index, value)
            })?;
        }
        inserted += statement.raw_execute().map_err(db_error)?;
    }
    Ok(inserted)
}

fn bind_one(statement: &mut Statement<'_>, index: usize, value: &dyn ToSql) -> rusqlite::Result<()> {
    statement.raw_bind_parameter(index, value)
}

fn statement_text(verb: &str, table_and_columns: &str, column_count: usize, row_count: usize) -> String {
    let mut sql = format!("{verb} {table_and_columns} VALUES ");
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
        assert_eq!(statement_text("INSERT INTO", "t (a, b)", 2, 2), "INSERT INTO t (a, b) VALUES (?1, ?2), (?3, ?4)");
    }
}
