//! Key scopes (migration 0019): a unique key's org, module and field as one integer, the first
//! column of the key index `unique_keys (scope, value)`. A statement that only reads keys names
//! its scope by a subquery (`scope = (SELECT id FROM key_scopes WHERE …)`, NULL and so matching
//! nothing when the scope was never made); one that writes keys makes the scope first.

use bulkwrite_store::StoreResult;
use rusqlite::{params, Connection, OptionalExtension};

use crate::db_error;

/// The scope of `org`'s `module.field`, made on first use. Never deleted (an org reset keeps
/// it), so a scope's id stays its own for the keys a snapshot holds.
fn scope_of(tx: &Connection, org: i64, module: &str, field: &str) -> StoreResult<i64> {
    let found = tx
        .prepare_cached("SELECT id FROM key_scopes WHERE org = ?1 AND module = ?2 AND field = ?3")
        .map_err(db_error)?
        .query_row(params![org, module, field], |row| row.get(0))
        .optional()
        .map_err(db_error)?;
    if let Some(id) = found {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO key_scopes (org, module, field) VALUES (?1, ?2, ?3)")
        .map_err(db_error)?
        .execute(params![org, module, field])
        .map_err(db_error)?;
    Ok(tx.last_insert_rowid())
}

/// The scopes of the fields `keys` name, made on first use: a few fields, looked up once each.
pub(crate) struct Scopes<'a> {
    org: i64,
    module: &'a str,
    known: Vec<(String, i64)>,
}

impl<'a> Scopes<'a> {
    pub(crate) fn new(org: i64, module: &'a str) -> Self {
        Scopes { org, module, known: Vec::new() }
    }

    pub(crate) fn get(&mut self, tx: &Connection, field: &str) -> StoreResult<i64> {
        if let Some((_, id)) = self.known.iter().find(|(known, _)| known == field) {
            return Ok(*id);
        }
        let id = scope_of(tx, self.org, self.module, field)?;
        self.known.push((field.to_string(), id));
        Ok(id)
    }
}
