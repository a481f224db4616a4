//! Access and refresh tokens, OAuth clients and grant codes.

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use crate::{db_error, instant, ms, SqliteStore};

pub(crate) fn insert_token(conn: &Connection, token: &NewAccessToken) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO access_tokens (token_hash, org, user_id, scopes, expires_at, client_id, refresh_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            token.token_hash,
            token.org.get() as i64,
            token.user.get() as i64,
            token.scopes.join(" "),
            token.expires_at.map(ms),
            token.client_id,
            token.refresh_hash
        ],
    )
    .map_err(db_error)?;
    Ok(())
}

fn scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

const CLIENT_COLUMNS: &str = "client_id, org, user_id, secret_hash, name, kind, redirect_uris, created_at";

fn read_client(row: &Row<'_>) -> rusqlite::Result<StoreResult<OAuthClient>> {
    let kind: String = row.get(5)?;
    let uris: String = row.get(6)?;
    let created: i64 = row.get(7)?;
    let client_id: String = row.get(0)?;
    let org = OrgId::new(row.get::<_, i64>(1)? as u64);
    let user = UserId::new(row.get::<_, i64>(2)? as u64);
    let secret_hash: String = row.get(3)?;
    let name: String = row.get(4)?;
    Ok((|| {
        Ok(OAuthClient {
            client_id,
            org,
            user,
            secret_hash,
            name,
            kind: ClientKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("client kind {kind}")))?,
            redirect_uris: serde_json::from_str(&uris).map_err(crate::json_error)?,
            created_at: instant(created)?,
        })
    })())
}

#[async_trait]
impl AuthStore for SqliteStore {
    async fn insert_access_token(&self, token: NewAccessToken) -> StoreResult<()> {
        self.run(move |conn| insert_token(conn, &token)).await
    }

    async fn lookup_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<TokenLookup> {
        let token_hash = token_hash.to_string();
        self.run(move |conn| {
            let found = conn
                .query_row(
                    "SELECT t.org, t.user_id, t.scopes, t.expires_at, t.client_id,
                            c.metered, c.edition, c.users, c.addon_credits
                     FROM access_tokens t LEFT JOIN org_credits c ON c.org = t.org
                     WHERE t.token_hash = ?1",
                    [token_hash],
                    |row| {
                        let token: (i64, i64, String, Option<i64>, Option<String>) =
                            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
                        let credits: (Option<bool>, Option<String>, Option<i64>, Option<i64>) =
                            (row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?);
                        Ok((token, credits))
                    },
                )
                .optional()
                .map_err(db_error)?;
            let Some(((org, user, granted, expires_at, client_id), (metered, edition, users, addon))) = found else {
                return Ok(TokenLookup::Unknown);
            };
            if expires_at.is_some_and(|at| at <= ms(now)) {
                return Ok(TokenLookup::Expired);
            }
            Ok(TokenLookup::Valid(Principal {
                org: OrgId::new(org as u64),
                user: UserId::new(user as u64),
                scopes: scopes(&granted),
                client_id,
                credits: OrgCredits::from_stored(metered, edition.as_deref(), users, addon)?,
                expires_at: expires_at.map(crate::instant).transpose()?,
            }))
        })
        .await
    }

    async fn create_client(&self, client: OAuthClient) -> StoreResult<()> {
        let uris = serde_json::to_string(&client.redirect_uris).map_err(crate::json_error)?;
        self.run(move |conn| {
            conn.execute(
                &format!("INSERT INTO oauth_clients ({CLIENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    client.client_id,
                    client.org.get() as i64,
                    client.user.get() as i64,
                    client.secret_hash,
                    client.name,
                    client.kind.as_str(),
                    uris,
                    ms(client.created_at)
                ],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        let client_id = client_id.to_string();
        self.run(move |conn| {
            conn.query_row(
                &format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = ?1"),
                [client_id],
                read_client,
            )
            .optional()
            .map_err(db_error)?
            .transpose()
        })
        .await
    }

    async fn clients(&self, org: OrgId) -> StoreResult<Vec<OAuthClient>> {
        self.run(move |conn| {
            let sql =
                format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE org = ?1 ORDER BY created_at, client_id");
            let mut statement = conn.prepare_cached(&sql).map_err(db_error)?;
            let rows = statement.query_map([org.get() as i64], read_client).map_err(db_error)?;
            let mut clients = Vec::new();
            for row in rows {
                clients.push(row.map_err(db_error)??);
            }
            Ok(clients)
        })
        .await
    }

    async fn insert_grant(&self, grant: GrantCode) -> StoreResult<()> {
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO grant_codes (code_hash, client_id, org, user_id, scopes, redirect_uri, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    grant.code_hash,
                    grant.client_id,
                    grant.org.get() as i64,
                    grant.user.get() as i64,
                    grant.scopes.join(" "),
                    grant.redirect_uri,
                    ms(grant.expires_at)
                ],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn redeem_grant(&self, code_hash: &str, now: Timestamp) -> StoreResult<Option<GrantCode>> {
        let code_hash = code_hash.to_string();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            type Raw = (String, i64, i64, String, Option<String>, i64, i64);
            let found: Option<Raw> = tx
                .query_row(
                    "SELECT client_id, org, user_id, scopes, redirect_uri, expires_at, used FROM grant_codes WHERE code_hash = ?1",
                    [&code_hash],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?)),
                )
                .optional()
                .map_err(db_error)?;
            let Some((client_id, org, user, granted, redirect_uri, expires_at, used)) = found else {
                return Ok(None);
            };
            tx.execute("UPDATE grant_codes SET used = 1 WHERE code_hash = ?1", [&code_hash]).map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            if used != 0 || expires_at <= ms(now) {
                return Ok(None);
            }
            Ok(Some(GrantCode {
                code_hash,
                client_id,
                org: OrgId::new(org as u64),
                user: UserId::new(user as u64),
                scopes: scopes(&granted),
                redirect_uri,
                expires_at: instant(expires_at)?,
            }))
        })
        .await
    }

    async fn insert_refresh_token(&self, token: RefreshToken) -> StoreResult<()> {
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO refresh_tokens (token_hash, client_id, org, user_id, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    token.token_hash,
                    token.client_id,
                    token.org.get() as i64,
                    token.user.get() as i64,
                    token.scopes.join(" "),
                    ms(token.created_at)
                ],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        let token_hash = token_hash.to_string();
        self.run(move |conn| {
            let found: Option<(String, i64, i64, String, i64)> = conn
                .query_row(
                    "SELECT client_id, org, user_id, scopes, created_at FROM refresh_tokens WHERE token_hash = ?1 AND revoked = 0",
                    [&token_hash],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
                )
                .optional()
                .map_err(db_error)?;
            let Some((client_id, org, user, granted, created)) = found else { return Ok(None) };
            Ok(Some(RefreshToken {
                token_hash,
                client_id,
                org: OrgId::new(org as u64),
                user: UserId::new(user as u64),
                scopes: scopes(&granted),
                created_at: instant(created)?,
            }))
        })
        .await
    }

    async fn revoke_token(&self, token_hash: &str) -> StoreResult<Revoked> {
        let token_hash = token_hash.to_string();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let refresh = tx
                .execute("UPDATE refresh_tokens SET revoked = 1 WHERE token_hash = ?1 AND revoked = 0", [&token_hash])
                .map_err(db_error)?;
            let outcome = if refresh > 0 {
                tx.execute("DELETE FROM access_tokens WHERE refresh_hash = ?1", [&token_hash]).map_err(db_error)?;
                Revoked::Refresh
            } else if tx.execute("DELETE FROM access_tokens WHERE token_hash = ?1", [&token_hash]).map_err(db_error)?
                > 0
            {
                Revoked::Access
            } else {
                Revoked::Unknown
            };
            tx.commit().map_err(db_error)?;
            Ok(outcome)
        })
        .await
    }
}
