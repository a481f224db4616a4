//! Databases made for a while and dropped: the tests' fresh databases and `bulkwrite bench`'s.
//! Connections follow the URL's `sslmode` and `sslrootcert` like the store's own.

use bulkwrite_store::{StoreError, StoreResult};

use crate::{pg_error, tls};

/// A plain connection to `url`, its driver task spawned.
pub async fn client(url: &str) -> StoreResult<tokio_postgres::Client> {
    let tls::ParsedUrl { config, tls } = tls::parse_url(url)?;
    let (client, connection) = config.connect(tls).await.map_err(pg_error)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(error = %error, "scratch connection ended");
        }
    });
    Ok(client)
}

/// Creates the database `name` on the server of `url`; returns its URL.
pub async fn create(url: &str, name: &str) -> StoreResult<String> {
    check_name(name)?;
    client(url).await?.batch_execute(&format!("CREATE DATABASE {name}")).await.map_err(pg_error)?;
    Ok(with_database(url, name))
}

/// Drops the database `name` on the server of `url`, closing its connections.
pub async fn drop(url: &str, name: &str) -> StoreResult<()> {
    check_name(name)?;
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    client(url).await?.batch_execute(&sql).await.map_err(pg_error)
}

/// The server process ids of the sessions bulkwrite nodes hold on the database of `url` (their
/// `application_name` is `bulkwrite-<node>`): what `bulkwrite bench` adds up the CPU time of.
pub async fn node_session_pids(url: &str) -> StoreResult<Vec<u32>> {
    let rows = client(url)
        .await?
        .query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'bulkwrite-%'",
            &[],
        )
        .await
        .map_err(pg_error)?;
    rows.iter().map(|row| row.try_get::<_, i32>(0).map(|pid| pid.unsigned_abs()).map_err(pg_error)).collect()
}

/// Where the write-ahead log of the PostgreSQL server behind `url` stands, in bytes from its
/// start: what a piece of work wrote to it is the difference of two readings. The log is the
/// whole server's, every database's, so the difference counts whatever else wrote meanwhile.
pub async fn wal_position(url: &str) -> StoreResult<u64> {
    let row = client(url)
        .await?
        .query_one("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8", &[])
        .await
        .map_err(pg_error)?;
    Ok(row.try_get::<_, i64>(0).map_err(pg_error)?.unsigned_abs())
}

/// `url` with its database name replaced (the query, TLS options included, kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{root}/{name}{query}")
}

/// Names are written into statements: letters, digits and `_` only.
fn check_name(name: &str) -> StoreResult<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Backend(format!("database name {name:?}: letters, digits and _ only").into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_replace_the_path() {
        assert_eq!(with_database("postgres://u@h:1/test", "x"), "postgres://u@h:1/x");
        assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
        assert_eq!(with_database("postgres://u@h/test?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert!(check_name("bw_1").is_ok() && check_name("x; DROP").is_err());
    }
}
