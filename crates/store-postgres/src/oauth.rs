//! Access and refresh tokens, OAuth clients and grant codes. Only hashes of secrets are stored.

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_store::*;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use crate::statements::{execute, get, get_u64, query, query_opt};
use crate::{json_error, pg_error, signed, PgStore};

pub(crate) async fn insert_token<C: GenericClient>(client: &C, token: &NewAccessToken) -> StoreResult<()> {
    execute(
        client,
        "INSERT INTO access_tokens (token_hash, org, user_id, scopes, expires_at, client_id, refresh_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &token.token_hash,
            &signed(token.org.get()),
            &signed(token.user.get()),
            &token.scopes.join(" "),
            &token.expires_at,
            &token.client_id,
            &token.refresh_hash,
        ],
    )
    .await?;
    Ok(())
}

fn scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

const CLIENT_COLUMNS: &str = "client_id, org, user_id, secret_hash, name, kind, redirect_uris, created_at";

fn read_client(row: &Row) -> StoreResult<OAuthClient> {
    let kind: String = get(row, 5)?;
    let uris: String = get(row, 6)?;
    Ok(OAuthClient {
        client_id: get(row, 0)?,
        org: OrgId::new(get_u64(row, 1)?),
        user: UserId::new(get_u64(row, 2)?),
        secret_hash: get(row, 3)?,
        name: get(row, 4)?,
        kind: ClientKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("client kind {kind}")))?,
        redirect_uris: serde_json::from_str(&uris).map_err(json_error)?,
        created_at: get(row, 7)?,
    })
}

#[async_trait]
impl AuthStore for PgStore {
    async fn insert_access_token(&self, token: NewAccessToken) -> StoreResult<()> {
        let conn = self.conn().await?;
        insert_token(&conn, &token).await
    }

    async fn lookup_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<TokenLookup> {
        let conn = self.conn().await?;
        let row = query_opt(
            &conn,
            "SELECT t.org, t.user_id, t.scopes, t.expires_at, t.client_id,
                    c.metered, c.edition, c.users, c.addon_credits
             FROM access_tokens t LEFT JOIN org_credits c ON c.org = t.org
             WHERE t.token_hash = $1",
            &[&token_hash],
        )
        .await?;
        let Some(row) = row else { return Ok(TokenLookup::Unknown) };
        let expires_at: Option<Timestamp> = get(&row, 3)?;
        if expires_at.is_some_and(|at| at <= now) {
            return Ok(TokenLookup::Expired);
        }
        let granted: String = get(&row, 2)?;
        let edition: Option<String> = get(&row, 6)?;
        let credits = OrgCredits::from_stored(get(&row, 5)?, edition.as_deref(), get(&row, 7)?, get(&row, 8)?)?;
        Ok(TokenLookup::Valid(Principal {
            org: OrgId::new(get_u64(&row, 0)?),
            user: UserId::new(get_u64(&row, 1)?),
            scopes: scopes(&granted),
            client_id: get(&row, 4)?,
            credits,
            expires_at,
        }))
    }

    async fn create_client(&self, client: OAuthClient) -> StoreResult<()> {
        let uris = serde_json::to_string(&client.redirect_uris).map_err(json_error)?;
        let conn = self.conn().await?;
        let sql = format!("INSERT INTO oauth_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        execute(
            &conn,
            &sql,
            &[
                &client.client_id,
                &signed(client.org.get()),
                &signed(client.user.get()),
                &client.secret_hash,
                &client.name,
                &client.kind.as_str(),
                &uris,
                &client.created_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = $1");
        query_opt(&conn, &sql, &[&client_id]).await?.map(|row| read_client(&row)).transpose()
    }

    async fn clients(&self, org: OrgId) -> StoreResult<Vec<OAuthClient>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE org = $1 ORDER BY created_at, client_id");
        let rows = query(&conn, &sql, &[&signed(org.get())]).await?;
        rows.iter().map(read_client).collect()
    }

    async fn insert_grant(&self, grant: GrantCode) -> StoreResult<()> {
        let conn = self.conn().await?;
        execute(
            &conn,
            "INSERT INTO grant_codes (code_hash, client_id, org, user_id, scopes, redirect_uri, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &grant.code_hash,
                &grant.client_id,
                &signed(grant.org.get()),
                &signed(grant.user.get()),
                &grant.scopes.join(" "),
                &grant.redirect_uri,
                &grant.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    /// One statement marks the code used and returns it only if it was not used before, so two
    /// nodes redeeming the same code at once cannot both get it.
    async fn redeem_grant(&self, code_hash: &str, now: Timestamp) -> StoreResult<Option<GrantCode>> {
        let conn = self.conn().await?;
        let row = query_opt(
            &conn,
            "UPDATE grant_codes SET used = TRUE WHERE code_hash = $1 AND NOT used
             RETURNING client_id, org, user_id, scopes, redirect_uri, expires_at",
            &[&code_hash],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: Timestamp = get(&row, 5)?;
        if expires_at <= now {
            return Ok(None);
        }
        let granted: String = get(&row, 3)?;
        Ok(Some(GrantCode {
            code_hash: code_hash.to_string(),
            client_id: get(&row, 0)?,
            org: OrgId::new(get_u64(&row, 1)?),
            user: UserId::new(get_u64(&row, 2)?),
            scopes: scopes(&granted),
            redirect_uri: get(&row, 4)?,
            expires_at,
        }))
    }

    async fn insert_refresh_token(&self, token: RefreshToken) -> StoreResult<()> {
        let conn = self.conn().await?;
        execute(
            &conn,
            "INSERT INTO refresh_tokens (token_hash, client_id, org, user_id, scopes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &token.token_hash,
                &token.client_id,
                &signed(token.org.get()),
                &signed(token.user.get()),
                &token.scopes.join(" "),
                &token.created_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        let conn = self.conn().await?;
        let row = query_opt(
            &conn,
            "SELECT client_id, org, user_id, scopes, created_at FROM refresh_tokens WHERE token_hash = $1 AND NOT revoked",
            &[&token_hash],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let granted: String = get(&row, 3)?;
        Ok(Some(RefreshToken {
            token_hash: token_hash.to_string(),
            client_id: get(&row, 0)?,
            org: OrgId::new(get_u64(&row, 1)?),
            user: UserId::new(get_u64(&row, 2)?),
            scopes: scopes(&granted),
            created_at: get(&row, 4)?,
        }))
    }

    async fn revoke_token(&self, token_hash: &str) -> StoreResult<Revoked> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let refresh = execute(
            &tx,
            "UPDATE refresh_tokens SET revoked = TRUE WHERE token_hash = $1 AND NOT revoked",
            &[&token_hash],
        )
        .await?;
        let outcome = if refresh > 0 {
            execute(&tx, "DELETE FROM access_tokens WHERE refresh_hash = $1", &[&token_hash]).await?;
            Revoked::Refresh
        } else if execute(&tx, "DELETE FROM access_tokens WHERE token_hash = $1", &[&token_hash]).await? > 0 {
            Revoked::Access
        } else {
            Revoked::Unknown
        };
        tx.commit().await.map_err(pg_error)?;
        Ok(outcome)
    }
}
