//! Profiles (see `bulkwrite_store::profiles`).

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::perms::{Profile, ProfilePerms};
use bulkwrite_store::*;

use crate::statements::{execute, get, query};
use crate::{pg_error, signed, PgStore};

#[async_trait]
impl ProfileStore for PgStore {
    async fn stored_profiles(&self, org: OrgId) -> StoreResult<Vec<Profile>> {
        let conn = self.conn().await?;
        let rows = query(
            &conn,
            "SELECT name, custom, perms_json FROM profiles WHERE org = $1 ORDER BY id",
            &[&signed(org.get())],
        )
        .await?;
        let mut profiles = Vec::new();
        for row in rows {
            let name: String = get(&row, 0)?;
            let json: String = get(&row, 2)?;
            let perms: ProfilePerms =
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("profile '{name}': {e}")))?;
            profiles.push(Profile { name, custom: get(&row, 1)?, perms });
        }
        Ok(profiles)
    }

    async fn put_profile(&self, org: OrgId, profile: Profile) -> StoreResult<()> {
        let json = serde_json::to_string(&profile.perms).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let zgid = signed(org.get());
        crate::orgs::lock_org(&tx, org).await?;
        let updated = execute(
            &tx,
            "UPDATE profiles SET name = $2, custom = $3, perms_json = $4 WHERE org = $1 AND lower(name) = lower($2)",
            &[&zgid, &profile.name, &profile.custom, &json],
        )
        .await?;
        if updated == 0 {
            execute(
                &tx,
                "INSERT INTO profiles (org, name, custom, perms_json) VALUES ($1, $2, $3, $4)",
                &[&zgid, &profile.name, &profile.custom, &json],
            )
            .await?;
        }
        tx.commit().await.map_err(pg_error)
    }

    async fn set_user_profile(&self, org: OrgId, user: UserId, name: &str) -> StoreResult<()> {
        let conn = self.conn().await?;
        let updated = execute(
            &conn,
            "UPDATE users SET profile = $3 WHERE org = $1 AND id = $2",
            &[&signed(org.get()), &signed(user.get()), &name],
        )
        .await?;
        if updated == 0 {
            return Err(StoreError::NotFound(format!("user {user} of org {org}")));
        }
        Ok(())
    }
}
