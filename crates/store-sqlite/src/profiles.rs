//! Profiles (see `bulkwrite_store::profiles`).

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::perms::{Profile, ProfilePerms};
use bulkwrite_store::*;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::{db_error, SqliteStore};

#[async_trait]
impl ProfileStore for SqliteStore {
    async fn stored_profiles(&self, org: OrgId) -> StoreResult<Vec<Profile>> {
        self.run(move |conn| {
            let mut statement = conn
                .prepare("SELECT name, custom, perms_json FROM profiles WHERE org = ?1 ORDER BY id")
                .map_err(db_error)?;
            let rows = statement
                .query_map([org.get() as i64], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?, row.get::<_, String>(2)?))
                })
                .map_err(db_error)?;
            let mut profiles = Vec::new();
            for row in rows {
                let (name, custom, json) = row.map_err(db_error)?;
                let perms: ProfilePerms =
                    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("profile '{name}': {e}")))?;
                profiles.push(Profile { name, custom, perms });
            }
            Ok(profiles)
        })
        .await
    }

    async fn put_profile(&self, org: OrgId, profile: Profile) -> StoreResult<()> {
        let json = serde_json::to_string(&profile.perms).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let zgid = org.get() as i64;
            let exists: Option<i64> =
                tx.query_row("SELECT zgid FROM orgs WHERE zgid = ?1", [zgid], |row| row.get(0)).optional().map_err(db_error)?;
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("org {org}")));
            }
            let updated = tx
                .execute(
                    "UPDATE profiles SET name = ?2, custom = ?3, perms_json = ?4 WHERE org = ?1 AND lower(name) = lower(?2)",
                    params![zgid, profile.name, profile.custom, json],
                )
                .map_err(db_error)?;
            if updated == 0 {
                tx.execute(
                    "INSERT INTO profiles (org, name, custom, perms_json) VALUES (?1, ?2, ?3, ?4)",
                    params![zgid, profile.name, profile.custom, json],
                )
                .map_err(db_error)?;
            }
            tx.commit().map_err(db_error)
        })
        .await
    }

    async fn set_user_profile(&self, org: OrgId, user: UserId, name: &str) -> StoreResult<()> {
        let name = name.to_string();
        self.run(move |conn| {
            let updated = conn
                .execute(
                    "UPDATE users SET profile = ?3 WHERE org = ?1 AND id = ?2",
                    params![org.get() as i64, user.get() as i64, name],
                )
                .map_err(db_error)?;
            if updated == 0 {
                return Err(StoreError::NotFound(format!("user {user} of org {org}")));
            }
            Ok(())
        })
        .await
    }
}
