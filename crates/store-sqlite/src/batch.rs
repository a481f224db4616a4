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

/// The statement's text, its parameters anonymous (`?`: SQLite numbers them in order). Made for
/// every batch, so copied together from one row's text: numbering each parameter (`?1`, …)
/// formatted a number per value, 4% of the SQLite writer's time in the 1,000,000-row insert.
fn statement_text(verb: &str, table_and_columns: &str, column_count: usize, row_count: usize) -> String {
    let row = format!("({})", vec!["?"; column_count].join(", "));
    let mut sql = String::with_capacity(verb.len() + table_and_columns.len() + 9 + row_count * (row.len() + 2));
    sql.push_str(verb);
    sql.push(' ');
    sql.push_str(table_and_columns);
    sql.push_str(" VALUES ");
    for at in 0..row_count {
        if at > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&row);
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_text_has_a_parameter_for_every_value() {
        assert_eq!(statement_text("INSERT INTO", "t (a, b)", 2, 2), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
    }

    #[test]
    fn anonymous_parameters_take_the_values_in_order() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT)").unwrap();
        let rows: Vec<(i64, String)> = (0..150).map(|n| (n, format!("v{n}"))).collect();
        insert_many(&conn, "t (a, b)", 2, &rows, |(a, b), bind| {
            bind(a).map_err(db_error)?;
            bind(b).map_err(db_error)
        })
        .unwrap();
        let mut statement = conn.prepare("SELECT a, b FROM t ORDER BY a").unwrap();
        let read: Vec<(i64, String)> =
            statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().map(Result::unwrap).collect();
        assert_eq!(read, rows);
    }
}
