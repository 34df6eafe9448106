//! Test support (cargo feature `testing`): a fresh, migrated database per test.
//!
//! Each call creates a database `roster_t_<uuid>` on the server named by
//! `ROSTER_TEST_DATABASE_URL`, else `DATABASE_URL`, else
//! `postgres://postgres@127.0.0.1:5432/postgres` (the URL of a database the role may
//! `CREATE DATABASE` from). Tests never share data, so they run in parallel. The
//! databases are left behind for inspection; `cargo xtask test` runs a throw-away server.
//!
//! PostgreSQL tests are never skipped: when no server answers, these functions panic.

use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

use crate::PostgresStorage;

/// The server used when neither variable is set.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Connections each test database's pool may open.
const POOL_SIZE: u32 = 8;

/// SQLSTATE `object_in_use`: the template database is being accessed by other users.
const OBJECT_IN_USE: &str = "55006";

/// The URL of the server's administrative database the test databases are created from.
pub fn admin_url() -> String {
    ["ROSTER_TEST_DATABASE_URL", "DATABASE_URL"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|url| !url.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// A storage on a new, migrated database of its own.
///
/// # Panics
/// When PostgreSQL is unreachable (run the tests through `cargo xtask test`), or the
/// database cannot be created or migrated.
pub async fn fresh_database() -> PostgresStorage {
    fresh_database_with_url().await.0
}

/// The URL of a new, migrated database, for tests that start the server binary against
/// it (migrating again is a no-op).
///
/// # Panics
/// As [`fresh_database`].
pub async fn fresh_database_url() -> String {
    let (storage, url) = fresh_database_with_url().await;
    storage.pool().close().await;
    url
}

/// A storage on a new, migrated database, and that database's URL.
///
/// # Panics
/// As [`fresh_database`].
pub async fn fresh_database_with_url() -> (PostgresStorage, String) {
    let admin = admin_url();
    let name = format!("roster_t_{}", uuid::Uuid::now_v7().simple());
    create_database(&name).await;
    let url = with_database(&admin, &name);
    let storage = PostgresStorage::connect(&url, POOL_SIZE)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to test database {name}: {e:?}"));
    storage.migrate().await.unwrap_or_else(|e| panic!("cannot migrate test database {name}: {e:?}"));
    (storage, url)
}

/// Drops a database made by this module, given its URL, closing its connections (its
/// pools must no longer be used). For tests whose database is too big to leave behind.
///
/// # Panics
/// When the URL does not name a `roster_t_` database or the server refuses.
pub async fn drop_database(url: &str) {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let name = base.rsplit_once('/').map_or("", |(_, name)| name);
    assert!(
        name.starts_with("roster_t_") && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "not a test database: {name:?}"
    );
    let mut conn = admin_connection().await;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot drop test database {name}: {e}"));
    let _ = conn.close().await;
}

/// A connection to the admin URL's database.
async fn admin_connection() -> PgConnection {
    let admin = admin_url();
    PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {}: {e}\n\
             Run the tests through `cargo xtask test`, which starts a PostgreSQL server for them \
             (or point ROSTER_TEST_DATABASE_URL at one).",
            redacted(&admin)
        )
    })
}

/// Creates `name` on the admin URL's server, retrying while the template is busy.
async fn create_database(name: &str) {
    let mut conn = admin_connection().await;
    let mut attempt = 0;
    loop {
        let created = sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await;
        match created {
            Ok(_) => break,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(OBJECT_IN_USE) && attempt < 20 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(25 * attempt)).await;
            }
            Err(e) => panic!("cannot create test database {name}: {e}"),
        }
    }
    let _ = conn.close().await;
}

/// `url` with its database replaced by `database` (query parameters kept).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let Some(at) = url[authority_start..].find('@').map(|i| authority_start + i) else { return url.to_owned() };
    match url[authority_start..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..authority_start + colon], &url[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h:5432", "x"), "postgres://h:5432/x");
        assert_eq!(with_database("postgresql://h?host=/run/pg", "x"), "postgresql://h/x?host=/run/pg");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redacted("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redacted("postgres://h/db"), "postgres://h/db");
    }
}
