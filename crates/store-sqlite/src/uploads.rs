//! Uploaded files.

use async_trait::async_trait;
use bulkwrite_core::ids::{FileId, OrgId, UserId};
use bulkwrite_store::*;
use rusqlite::{params, OptionalExtension};

use crate::{db_error, instant, json_error, ms, SqliteStore};

#[async_trait]
impl UploadStore for SqliteStore {
    async fn insert_upload(&self, upload: Upload) -> StoreResult<()> {
        let entries = serde_json::to_string(&upload.entries).map_err(json_error)?;
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO uploads (file_id, org, user_id, blob_key, file_name, size, entries_json, created_at, expired_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    upload.file_id.get() as i64,
                    upload.org.get() as i64,
                    upload.user.get() as i64,
                    upload.blob_key,
                    upload.file_name,
                    upload.size as i64,
                    entries,
                    ms(upload.created_at),
                    upload.expired_at.map(ms)
                ],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn get_upload(&self, org: OrgId, file_id: FileId) -> StoreResult<Option<Upload>> {
        self.run(move |conn| {
            type Raw = (i64, String, String, i64, String, i64, Option<i64>);
            let row: Option<Raw> = conn
                .query_row(
                    "SELECT user_id, blob_key, file_name, size, entries_json, created_at, expired_at FROM uploads WHERE org = ?1 AND file_id = ?2",
                    params![org.get() as i64, file_id.get() as i64],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?)),
                )
                .optional()
                .map_err(db_error)?;
            let Some((user, blob_key, file_name, size, entries, created, expired)) = row else {
                return Ok(None);
            };
            Ok(Some(Upload {
                file_id,
                org,
                user: UserId::new(user as u64),
                blob_key,
                file_name,
                size: size as u64,
                entries: serde_json::from_str(&entries).map_err(json_error)?,
                created_at: instant(created)?,
                expired_at: expired.map(instant).transpose()?,
            }))
        })
        .await
    }
}
