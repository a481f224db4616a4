//! Orgs, users, ids and the bootstrap record.

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::picklist::add_picklist_values;
use bulkwrite_core::schema::OrgSchema;
use bulkwrite_store::*;
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use crate::oauth::insert_token;
use crate::statements::{execute, get, get_u64, query, query_one, query_opt};
use crate::{json_error, pg_error, signed, PgStore};

const BOOTSTRAP_KEY: &str = "bootstrap";

/// The advisory lock key of the first start: nodes starting together bootstrap one at a time.
const BOOTSTRAP_LOCK: i64 = 0x6277_626f_6f74_0000;

pub(crate) const ORG_COLUMNS: &str = "zgid, id, company_name, time_zone, currency, created_at";
const USER_COLUMNS: &str = "id, org, first_name, last_name, email, profile, role, active, created_at";

#[async_trait]
impl OrgStore for PgStore {
    async fn bootstrap(
        &self,
        org: Org,
        admin: User,
        schema: OrgSchema,
        token: NewAccessToken,
        record: BootstrapRecord,
    ) -> StoreResult<BootstrapRecord> {
        let schema_json = serde_json::to_string(&schema).map_err(json_error)?;
        let record_json = serde_json::to_string(&record).map_err(json_error)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        execute(&tx, "SELECT pg_advisory_xact_lock($1)", &[&BOOTSTRAP_LOCK]).await?;
        if let Some(existing) = read_bootstrap(&tx, false).await? {
            return Ok(existing);
        }
        insert_org(&tx, &org, &schema_json).await?;
        insert_user(&tx, &admin).await?;
        insert_token(&tx, &token).await?;
        execute(&tx, "INSERT INTO meta (key, value) VALUES ($1, $2)", &[&BOOTSTRAP_KEY, &record_json]).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(record)
    }

    async fn bootstrap_record(&self) -> StoreResult<Option<BootstrapRecord>> {
        let conn = self.conn().await?;
        read_bootstrap(&conn, false).await
    }

    async fn extend_bootstrap_record(
        &self,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<BootstrapRecord> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let mut record =
            read_bootstrap(&tx, true).await?.ok_or_else(|| StoreError::NotFound("bootstrap record".into()))?;
        for (key, value) in extra {
            record.extra.entry(key).or_insert(value);
        }
        let json = serde_json::to_string(&record).map_err(json_error)?;
        execute(&tx, "UPDATE meta SET value = $1 WHERE key = $2", &[&json, &BOOTSTRAP_KEY]).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(record)
    }

    async fn get_org(&self, org: OrgId) -> StoreResult<Option<Org>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {ORG_COLUMNS} FROM orgs WHERE zgid = $1");
        query_opt(&conn, &sql, &[&signed(org.get())]).await?.map(|row| read_org(&row)).transpose()
    }

    async fn org_schema(&self, org: OrgId) -> StoreResult<OrgSchema> {
        let conn = self.conn().await?;
        read_schema(&conn, org, false).await
    }

    async fn save_org_schema(&self, org: OrgId, schema: &OrgSchema) -> StoreResult<()> {
        let json = serde_json::to_string(schema).map_err(json_error)?;
        let conn = self.conn().await?;
        let changed =
            execute(&conn, "UPDATE orgs SET schema_json = $1 WHERE zgid = $2", &[&json, &signed(org.get())]).await?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("org {org}")));
        }
        Ok(())
    }

    async fn update_org_schema(&self, org: OrgId, change: SchemaChange) -> StoreResult<Result<OrgSchema, String>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let mut schema = read_schema(&tx, org, true).await?;
        if let Err(reason) = change(&mut schema) {
            return Ok(Err(reason));
        }
        write_schema(&tx, org, &schema).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(Ok(schema))
    }

    async fn add_picklist_values(&self, org: OrgId, module: &str, field: &str, values: &[String]) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let mut schema = read_schema(&tx, org, true).await?;
        if add_picklist_values(&mut schema, module, field, values) {
            write_schema(&tx, org, &schema).await?;
        }
        tx.commit().await.map_err(pg_error)
    }

    async fn users(&self, org: OrgId) -> StoreResult<Vec<User>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org = $1 ORDER BY id");
        let rows = query(&conn, &sql, &[&signed(org.get())]).await?;
        rows.iter().map(read_user).collect()
    }

    async fn get_user(&self, org: OrgId, user: UserId) -> StoreResult<Option<User>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org = $1 AND id = $2");
        query_opt(&conn, &sql, &[&signed(org.get()), &signed(user.get())]).await?.map(|row| read_user(&row)).transpose()
    }

    async fn orgs(&self) -> StoreResult<Vec<Org>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {ORG_COLUMNS} FROM orgs ORDER BY created_at, zgid");
        let rows = query(&conn, &sql, &[]).await?;
        rows.iter().map(read_org).collect()
    }

    async fn create_org(&self, org: Org, admin: User, schema: OrgSchema) -> StoreResult<()> {
        let schema_json = serde_json::to_string(&schema).map_err(json_error)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        insert_org(&tx, &org, &schema_json).await?;
        insert_user(&tx, &admin).await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn create_user(&self, user: User) -> StoreResult<()> {
        let conn = self.conn().await?;
        insert_user(&conn, &user).await
    }

    async fn set_password_hash(&self, org: OrgId, user: UserId, hash: Option<String>) -> StoreResult<()> {
        let conn = self.conn().await?;
        let changed = execute(
            &conn,
            "UPDATE users SET password_hash = $1 WHERE org = $2 AND id = $3",
            &[&hash, &signed(org.get()), &signed(user.get())],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        Ok(())
    }

    async fn user_by_email(&self, org: OrgId, email: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let conn = self.conn().await?;
        let sql =
            format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE org = $1 AND lower(email) = lower($2)");
        let Some(row) = query_opt(&conn, &sql, &[&signed(org.get()), &email.trim()]).await? else {
            return Ok(None);
        };
        Ok(Some((read_user(&row)?, get(&row, 9)?)))
    }
}

async fn read_bootstrap<C: GenericClient>(client: &C, for_update: bool) -> StoreResult<Option<BootstrapRecord>> {
    let sql = if for_update {
        "SELECT value FROM meta WHERE key = $1 FOR UPDATE"
    } else {
        "SELECT value FROM meta WHERE key = $1"
    };
    let Some(row) = query_opt(client, sql, &[&BOOTSTRAP_KEY]).await? else {
        return Ok(None);
    };
    let json: String = get(&row, 0)?;
    serde_json::from_str(&json).map(Some).map_err(json_error)
}

/// The org's schema; `for_update` locks it until the transaction ends.
async fn read_schema<C: GenericClient>(client: &C, org: OrgId, for_update: bool) -> StoreResult<OrgSchema> {
    let sql = if for_update {
        "SELECT schema_json FROM orgs WHERE zgid = $1 FOR UPDATE"
    } else {
        "SELECT schema_json FROM orgs WHERE zgid = $1"
    };
    let row = query_opt(client, sql, &[&signed(org.get())]).await?;
    let row = row.ok_or_else(|| StoreError::NotFound(format!("org {org}")))?;
    let json: String = get(&row, 0)?;
    serde_json::from_str(&json).map_err(json_error)
}

async fn write_schema(tx: &Transaction<'_>, org: OrgId, schema: &OrgSchema) -> StoreResult<()> {
    let json = serde_json::to_string(schema).map_err(json_error)?;
    execute(tx, "UPDATE orgs SET schema_json = $1 WHERE zgid = $2", &[&json, &signed(org.get())]).await?;
    Ok(())
}

async fn insert_org<C: GenericClient>(client: &C, org: &Org, schema_json: &str) -> StoreResult<()> {
    execute(
        client,
        "INSERT INTO orgs (zgid, id, company_name, time_zone, currency, created_at, schema_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &signed(org.zgid.get()),
            &org.id,
            &org.company_name,
            &org.time_zone,
            &org.currency,
            &org.created_at,
            &schema_json,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_user<C: GenericClient>(client: &C, user: &User) -> StoreResult<()> {
    execute(
        client,
        "INSERT INTO users (id, org, first_name, last_name, email, profile, role, active, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &signed(user.id.get()),
            &signed(user.org.get()),
            &user.first_name,
            &user.last_name,
            &user.email,
            &user.profile,
            &user.role,
            &user.active,
            &user.created_at,
        ],
    )
    .await?;
    Ok(())
}

fn read_org(row: &Row) -> StoreResult<Org> {
    read_org_at(row, 0)
}

/// An org from the [`ORG_COLUMNS`] of a row, from column `at` on.
pub(crate) fn read_org_at(row: &Row, at: usize) -> StoreResult<Org> {
    Ok(Org {
        zgid: OrgId::new(get_u64(row, at)?),
        id: get(row, at + 1)?,
        company_name: get(row, at + 2)?,
        time_zone: get(row, at + 3)?,
        currency: get(row, at + 4)?,
        created_at: get(row, at + 5)?,
    })
}

fn read_user(row: &Row) -> StoreResult<User> {
    Ok(User {
        id: UserId::new(get_u64(row, 0)?),
        org: OrgId::new(get_u64(row, 1)?),
        first_name: get(row, 2)?,
        last_name: get(row, 3)?,
        email: get(row, 4)?,
        profile: get(row, 5)?,
        role: get(row, 6)?,
        active: get(row, 7)?,
        created_at: get(row, 8)?,
    })
}

#[async_trait]
impl IdStore for PgStore {
    async fn reserve_ids(&self, count: u64) -> StoreResult<u64> {
        let conn = self.conn().await?;
        reserve_ids(&conn, count).await
    }
}

/// Reserves `count` consecutive ids in a statement of its own (the counter row is locked only
/// for that statement when run outside a transaction); returns the first.
pub(crate) async fn reserve_ids<C: GenericClient>(client: &C, count: u64) -> StoreResult<u64> {
    let row = query_one(
        client,
        "UPDATE id_sequence SET next_id = next_id + $1 WHERE singleton RETURNING next_id",
        &[&signed(count)],
    )
    .await?;
    let next = get_u64(&row, 0)?;
    next.checked_sub(count).ok_or_else(|| StoreError::Corrupt(format!("id counter {next}")))
}

/// Locks the org's row for the rest of `tx` (so that writes of its per-org metadata, taxes or
/// profiles, are serialized); `NotFound` when there is no such org.
pub(crate) async fn lock_org<C: GenericClient>(tx: &C, org: OrgId) -> StoreResult<()> {
    let zgid = signed(org.get());
    match query_opt(tx, "SELECT zgid FROM orgs WHERE zgid = $1 FOR UPDATE", &[&zgid]).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("org {org}"))),
    }
}
