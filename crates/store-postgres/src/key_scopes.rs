//! Key scopes (migration 0020): a unique key's org, module and field as one integer, the first
//! column of the key index `unique_keys (scope, value)`. A write learns the scopes of its rows'
//! fields before its transaction ([`ScopeCache::scopes`]) and probes keys by scope id (a join of
//! `key_scopes` per key cost a fifth of each probe); other statements that only read keys name
//! their scope through `key_scopes` in SQL. A scope is made on its own and committed
//! at once, so chunks in flight together never wait on each other's new scope, and a scope once
//! committed is never deleted or changed, so a node keeps the ids it has seen.

use std::collections::HashMap;
use std::sync::Mutex;

use bulkwrite_core::mapping::RowDraft;
use bulkwrite_store::{StoreError, StoreResult};
use deadpool_postgres::GenericClient;

use crate::statements::{get, query};

/// Makes the scopes of `fields` that do not exist (in field order) and returns every one. A
/// scope another transaction makes meanwhile is skipped by `ON CONFLICT` but not yet in this
/// statement's snapshot: the statement runs again (a new snapshot, in `READ COMMITTED`).
const ENSURE: &str = "WITH wanted AS (SELECT DISTINCT unnest($3::text[]) AS field),
     made AS (
         INSERT INTO key_scopes (org, module, field) SELECT $1, $2, field FROM wanted ORDER BY field
         ON CONFLICT DO NOTHING RETURNING id, field
     )
     SELECT id, field FROM made
     UNION ALL
     SELECT s.id, s.field FROM key_scopes s JOIN wanted w ON s.field = w.field WHERE s.org = $1 AND s.module = $2";

/// The scopes of the fields a write names.
#[derive(Debug, Default)]
pub(crate) struct Scopes(Vec<(String, i64)>);

impl Scopes {
    /// The scope of `field`, which [`ensure`] made.
    pub(crate) fn of(&self, field: &str) -> StoreResult<i64> {
        self.get(field).ok_or_else(|| StoreError::Backend(format!("no key scope was made for field '{field}'").into()))
    }

    /// The scope of `field`, if it has one among these.
    pub(crate) fn get(&self, field: &str) -> Option<i64> {
        self.0.iter().find(|(known, _)| known == field).map(|(_, id)| *id)
    }
}

/// The scope ids a node has seen committed, by org, module and field. At most [`CACHED`]
/// (then it starts over): one per unique field of each org's modules.
#[derive(Default)]
pub(crate) struct ScopeCache(Mutex<HashMap<(i64, String, String), i64>>);

/// The most scope ids a node keeps.
const CACHED: usize = 10_000;

impl ScopeCache {
    /// The scopes of `fields` of `org`'s `module`: from the cache, or made (when new) by
    /// [`ensure`] on `client`, which must not be inside a transaction (what the cache keeps must
    /// be committed).
    pub(crate) async fn scopes<C: GenericClient>(
        &self,
        client: &C,
        org: i64,
        module: &str,
        fields: &[String],
    ) -> StoreResult<Scopes> {
        let known = self.known(org, module, fields);
        if known.0.len() == fields.len() {
            return Ok(known);
        }
        let made = ensure(client, org, module, fields).await?;
        if let Ok(mut cache) = self.0.lock() {
            if cache.len() + made.0.len() > CACHED {
                cache.clear();
            }
            for (field, id) in &made.0 {
                cache.insert((org, module.to_string(), field.clone()), *id);
            }
        }
        Ok(made)
    }

    fn known(&self, org: i64, module: &str, fields: &[String]) -> Scopes {
        let Ok(cache) = self.0.lock() else { return Scopes::default() };
        let found = fields
            .iter()
            .filter_map(|field| cache.get(&(org, module.to_string(), field.clone())).map(|id| (field.clone(), *id)));
        Scopes(found.collect())
    }
}

/// Makes (when new) and returns the scopes of `fields` of `org`'s `module`, in the caller's
/// transaction if it is in one; no statement when `fields` is empty.
pub(crate) async fn ensure<C: GenericClient>(
    client: &C,
    org: i64,
    module: &str,
    fields: &[String],
) -> StoreResult<Scopes> {
    if fields.is_empty() {
        return Ok(Scopes::default());
    }
    for _ in 0..3 {
        let scopes = scopes_in(&query(client, ENSURE, &[&org, &module, &fields]).await?)?;
        if fields.iter().all(|field| scopes.iter().any(|(known, _)| known == field)) {
            return Ok(Scopes(scopes));
        }
    }
    Err(StoreError::Backend(format!("the key scopes of {module} ({}) could not be made", fields.join(", ")).into()))
}

/// The scopes of those of `fields` that exist, made by nobody: for a write that stores no key
/// (a dry run). A key of a field without a scope has no owner.
pub(crate) async fn existing<C: GenericClient>(
    client: &C,
    org: i64,
    module: &str,
    fields: &[String],
) -> StoreResult<Scopes> {
    Ok(Scopes(scopes_in(&query(client, EXISTING, &[&org, &module, &fields]).await?)?))
}

/// Rows of `(id, field)` as scopes.
fn scopes_in(rows: &[tokio_postgres::Row]) -> StoreResult<Vec<(String, i64)>> {
    rows.iter().map(|row| Ok((get::<String>(row, 1)?, get::<i64>(row, 0)?))).collect()
}

/// The scopes of the fields `$3` of org `$1`'s module `$2` that exist.
const EXISTING: &str = "SELECT id, field FROM key_scopes WHERE org = $1 AND module = $2 AND field = ANY($3::text[])";

/// The unique fields `rows` give values of, each once: the scopes a write of them needs, and
/// its probes (a row's find key is one of its unique keys, see `RowMapper`).
pub(crate) fn fields_of(rows: &[RowDraft]) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for key in rows.iter().flat_map(|row| &row.unique_keys) {
        if !fields.contains(&key.field) {
            fields.push(key.field.clone());
        }
    }
    fields
}
