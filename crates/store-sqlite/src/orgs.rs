//! Orgs, users, tokens, ids and the bootstrap record.

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::picklist::add_picklist_values;
use bulkwrite_core::schema::OrgSchema;
use bulkwrite_store::*;
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use crate::oauth::insert_token;
use crate::{db_error, instant, json_error, ms, SqliteStore};

const BOOTSTRAP_KEY: &str = "bootstrap";

/// An org's columns, in the order [`raw_org`] reads them.
pub(crate) const ORG_COLUMNS: &str = "zgid, id, company_name, time_zone, currency, created_at";

/// An org's [`ORG_COLUMNS`] as read.
pub(crate) type RawOrg = (i64, String, String, String, String, i64);

/// Reads [`ORG_COLUMNS`] from column `at` on.
pub(crate) fn raw_org(row: &Row<'_>, at: usize) -> rusqlite::Result<RawOrg> {
    Ok((row.get(at)?, row.get(at + 1)?, row.get(at + 2)?, row.get(at + 3)?, row.get(at + 4)?, row.get(at + 5)?))
}

/// The org of a row read by [`raw_org`].
pub(crate) fn org_of((zgid, id, company_name, time_zone, currency, created): RawOrg) -> StoreResult<Org> {
    Ok(Org { zgid: OrgId::new(zgid as u64), id, company_name, time_zone, currency, created_at: instant(created)? })
}

#[async_trait]
impl OrgStore for SqliteStore {
    async fn bootstrap(
        &self,
        org: Org,
        admin: User,
        schema: OrgSchema,
        token: NewAccessToken,
        record: BootstrapRecord,
    ) -> StoreResult<BootstrapRecord> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            if let Some(existing) = read_bootstrap(&tx)? {
                return Ok(existing);
            }
            let schema_json = serde_json::to_string(&schema).map_err(json_error)?;
            tx.execute(
                "INSERT INTO orgs (zgid, id, company_name, time_zone, currency, created_at, schema_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![org.zgid.get() as i64, org.id, org.company_name, org.time_zone, org.currency, ms(org.created_at), schema_json],
            )
            .map_err(db_error)?;
            insert_user(&tx, &admin)?;
            insert_token(&tx, &token)?;
            let record_json = serde_json::to_string(&record).map_err(json_error)?;
            tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![BOOTSTRAP_KEY, record_json]).map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(record)
        })
        .await
    }

    async fn extend_bootstrap_record(
        &self,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<BootstrapRecord> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let mut record = read_bootstrap(&tx)?.ok_or_else(|| StoreError::NotFound("bootstrap record".into()))?;
            for (key, value) in extra {
                record.extra.entry(key).or_insert(value);
            }
            let json = serde_json::to_string(&record).map_err(json_error)?;
            tx.execute("UPDATE meta SET value = ?1 WHERE key = ?2", params![json, BOOTSTRAP_KEY]).map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(record)
        })
        .await
    }

    async fn bootstrap_record(&self) -> StoreResult<Option<BootstrapRecord>> {
        self.run(|conn| read_bootstrap(conn)).await
    }

    async fn get_org(&self, org: OrgId) -> StoreResult<Option<Org>> {
        self.run(move |conn| {
            let sql = format!("SELECT {ORG_COLUMNS} FROM orgs WHERE zgid = ?1");
            let raw = conn.query_row(&sql, [org.get() as i64], |row| raw_org(row, 0)).optional().map_err(db_error)?;
            raw.map(org_of).transpose()
        })
        .await
    }

    async fn org_schema(&self, org: OrgId) -> StoreResult<OrgSchema> {
        self.run(move |conn| {
            let json: Option<String> = conn
                .query_row("SELECT schema_json FROM orgs WHERE zgid = ?1", [org.get() as i64], |row| row.get(0))
                .optional()
                .map_err(db_error)?;
            let json = json.ok_or_else(|| StoreError::NotFound(format!("org {org}")))?;
            serde_json::from_str(&json).map_err(json_error)
        })
        .await
    }

    async fn save_org_schema(&self, org: OrgId, schema: &OrgSchema) -> StoreResult<()> {
        let json = serde_json::to_string(schema).map_err(json_error)?;
        self.run(move |conn| {
            let changed = conn
                .execute("UPDATE orgs SET schema_json = ?1 WHERE zgid = ?2", params![json, org.get() as i64])
                .map_err(db_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("org {org}")));
            }
            Ok(())
        })
        .await
    }

    async fn update_org_schema(&self, org: OrgId, change: SchemaChange) -> StoreResult<Result<OrgSchema, String>> {
        self.write_now(move |tx| {
            let json: Option<String> = tx
                .query_row("SELECT schema_json FROM orgs WHERE zgid = ?1", [org.get() as i64], |row| row.get(0))
                .optional()
                .map_err(db_error)?;
            let json = json.ok_or_else(|| StoreError::NotFound(format!("org {org}")))?;
            let mut schema: OrgSchema = serde_json::from_str(&json).map_err(json_error)?;
            if let Err(reason) = change(&mut schema) {
                return Ok(Err(reason));
            }
            let json = serde_json::to_string(&schema).map_err(json_error)?;
            tx.execute("UPDATE orgs SET schema_json = ?1 WHERE zgid = ?2", params![json, org.get() as i64])
                .map_err(db_error)?;
            Ok(Ok(schema))
        })
        .await
    }

    async fn add_picklist_values(&self, org: OrgId, module: &str, field: &str, values: &[String]) -> StoreResult<()> {
        let (module, field, values) = (module.to_string(), field.to_string(), values.to_vec());
        self.write_now(move |tx| {
            let json: Option<String> = tx
                .query_row("SELECT schema_json FROM orgs WHERE zgid = ?1", [org.get() as i64], |row| row.get(0))
                .optional()
                .map_err(db_error)?;
            let json = json.ok_or_else(|| StoreError::NotFound(format!("org {org}")))?;
            let mut schema: OrgSchema = serde_json::from_str(&json).map_err(json_error)?;
            if add_picklist_values(&mut schema, &module, &field, &values) {
                let json = serde_json::to_string(&schema).map_err(json_error)?;
                tx.execute("UPDATE orgs SET schema_json = ?1 WHERE zgid = ?2", params![json, org.get() as i64])
                    .map_err(db_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn users(&self, org: OrgId) -> StoreResult<Vec<User>> {
        self.run(move |conn| {
            let mut statement = conn
                .prepare_cached("SELECT id, org, first_name, last_name, email, profile, role, active, created_at FROM users WHERE org = ?1 ORDER BY id")
                .map_err(db_error)?;
            let rows = statement.query_map([org.get() as i64], read_user).map_err(db_error)?;
            let mut users = Vec::new();
            for row in rows {
                users.push(row.map_err(db_error)??);
            }
            Ok(users)
        })
        .await
    }

    async fn orgs(&self) -> StoreResult<Vec<Org>> {
        self.run(|conn| {
            let sql = format!("SELECT {ORG_COLUMNS} FROM orgs ORDER BY created_at, zgid");
            let mut statement = conn.prepare_cached(&sql).map_err(db_error)?;
            let rows = statement.query_map([], |row| raw_org(row, 0)).map_err(db_error)?;
            rows.map(|row| org_of(row.map_err(db_error)?)).collect()
        })
        .await
    }

    async fn create_org(&self, org: Org, admin: User, schema: OrgSchema) -> StoreResult<()> {
        let schema_json = serde_json::to_string(&schema).map_err(json_error)?;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            tx.execute(
                "INSERT INTO orgs (zgid, id, company_name, time_zone, currency, created_at, schema_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![org.zgid.get() as i64, org.id, org.company_name, org.time_zone, org.currency, ms(org.created_at), schema_json],
            )
            .map_err(db_error)?;
            insert_user(&tx, &admin)?;
            tx.commit().map_err(db_error)
        })
        .await
    }

    async fn create_user(&self, user: User) -> StoreResult<()> {
        self.run(move |conn| insert_user(conn, &user)).await
    }

    async fn set_password_hash(&self, org: OrgId, user: UserId, hash: Option<String>) -> StoreResult<()> {
        self.run(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE users SET password_hash = ?1 WHERE org = ?2 AND id = ?3",
                    params![hash, org.get() as i64, user.get() as i64],
                )
                .map_err(db_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("user {user}")));
            }
            Ok(())
        })
        .await
    }

    async fn user_by_email(&self, org: OrgId, email: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let email = email.trim().to_string();
        self.run(move |conn| {
            let found = conn
                .query_row(
                    "SELECT id, org, first_name, last_name, email, profile, role, active, created_at, password_hash
                     FROM users WHERE org = ?1 AND email = ?2 COLLATE NOCASE",
                    params![org.get() as i64, email],
                    |row| Ok((read_user(row)?, row.get::<_, Option<String>>(9)?)),
                )
                .optional()
                .map_err(db_error)?;
            match found {
                Some((user, hash)) => Ok(Some((user?, hash))),
                None => Ok(None),
            }
        })
        .await
    }

    async fn get_user(&self, org: OrgId, user: UserId) -> StoreResult<Option<User>> {
        self.run(move |conn| {
            conn.query_row(
                "SELECT id, org, first_name, last_name, email, profile, role, active, created_at FROM users WHERE org = ?1 AND id = ?2",
                params![org.get() as i64, user.get() as i64],
                read_user,
            )
            .optional()
            .map_err(db_error)?
            .transpose()
        })
        .await
    }
}

fn read_bootstrap(conn: &rusqlite::Connection) -> StoreResult<Option<BootstrapRecord>> {
    let json: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [BOOTSTRAP_KEY], |row| row.get(0))
        .optional()
        .map_err(db_error)?;
    json.map(|json| serde_json::from_str(&json).map_err(json_error)).transpose()
}

fn insert_user(conn: &rusqlite::Connection, user: &User) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO users (id, org, first_name, last_name, email, profile, role, active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            user.id.get() as i64,
            user.org.get() as i64,
            user.first_name,
            user.last_name,
            user.email,
            user.profile,
            user.role,
            user.active,
            ms(user.created_at)
        ],
    )
    .map_err(db_error)?;
    Ok(())
}

fn read_user(row: &Row<'_>) -> rusqlite::Result<StoreResult<User>> {
    let created: i64 = row.get(8)?;
    let user = User {
        id: UserId::new(row.get::<_, i64>(0)? as u64),
        org: OrgId::new(row.get::<_, i64>(1)? as u64),
        first_name: row.get(2)?,
        last_name: row.get(3)?,
        email: row.get(4)?,
        profile: row.get(5)?,
        role: row.get(6)?,
        active: row.get(7)?,
        created_at: chrono::DateTime::UNIX_EPOCH,
    };
    Ok(instant(created).map(|created_at| User { created_at, ..user }))
}

#[async_trait]
impl IdStore for SqliteStore {
    async fn reserve_ids(&self, count: u64) -> StoreResult<u64> {
        self.run(move |conn| reserve_ids(conn, count)).await
    }
}

/// Reserves `count` ids inside the caller's transaction (or alone).
pub(crate) fn reserve_ids(conn: &rusqlite::Connection, count: u64) -> StoreResult<u64> {
    let next: i64 = conn
        .query_row(
            "UPDATE id_sequence SET next_id = next_id + ?1 WHERE singleton = 1 RETURNING next_id",
            [count as i64],
            |row| row.get(0),
        )
        .map_err(db_error)?;
    Ok(next as u64 - count)
}
