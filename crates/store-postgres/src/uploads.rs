//! Uploaded files.

use async_trait::async_trait;
use bulkwrite_core::ids::{FileId, OrgId, UserId};
use bulkwrite_store::*;

use crate::statements::{execute, get, get_u64, query_opt};
use crate::{json_error, signed, PgStore};

#[async_trait]
impl UploadStore for PgStore {
    async fn insert_upload(&self, upload: Upload) -> StoreResult<()> {
        let entries = serde_json::to_string(&upload.entries).map_err(json_error)?;
        let conn = self.conn().await?;
        execute(
            &conn,
            "INSERT INTO uploads (file_id, org, user_id, blob_key, file_name, size, entries_json, created_at, expired_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &signed(upload.file_id.get()),
                &signed(upload.org.get()),
                &signed(upload.user.get()),
                &upload.blob_key,
                &upload.file_name,
                &signed(upload.size),
                &entries,
                &upload.created_at,
                &upload.expired_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn get_upload(&self, org: OrgId, file_id: FileId) -> StoreResult<Option<Upload>> {
        let conn = self.conn().await?;
        let row = query_opt(
            &conn,
            "SELECT user_id, blob_key, file_name, size, entries_json, created_at, expired_at FROM uploads
             WHERE org = $1 AND file_id = $2",
            &[&signed(org.get()), &signed(file_id.get())],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let entries: String = get(&row, 4)?;
        Ok(Some(Upload {
            file_id,
            org,
            user: UserId::new(get_u64(&row, 0)?),
            blob_key: get(&row, 1)?,
            file_name: get(&row, 2)?,
            size: get_u64(&row, 3)?,
            entries: serde_json::from_str(&entries).map_err(json_error)?,
            created_at: get(&row, 5)?,
            expired_at: get(&row, 6)?,
        }))
    }
}
