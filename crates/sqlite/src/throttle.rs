//! Login throttling: failure counts and locks per throttle key, shared by every app
//! instance because they live in the database.

use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::session::ThrottleState;
use sqlx::{SqliteConnection, SqliteExecutor};

use crate::access::ids_json;
use crate::error::store_error;
use crate::rows;

/// The state of each of `keys` that has one.
pub(crate) async fn states<'e>(
    exec: impl SqliteExecutor<'e>,
    keys: &[String],
) -> Result<Vec<(String, ThrottleState)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT key, failures, locked_until FROM login_throttles \
         WHERE key IN (SELECT value FROM json_each(?)) ORDER BY key",
    )
    .bind(ids_json(keys)?)
    .fetch_all(exec)
    .await
    .map_err(store_error)?;
    rows.iter().map(rows::throttle).collect()
}

/// Counts a failure in one atomic upsert: the count restarts at 1 when the previous
/// failure is older than the window.
pub(crate) async fn record_failure(
    conn: &mut SqliteConnection,
    key: &str,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<u32, StoreError> {
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO login_throttles (key, failures, last_failure_at, locked_until) VALUES (?1, 1, ?2, NULL) \
         ON CONFLICT (key) DO UPDATE SET \
         failures = CASE WHEN login_throttles.last_failure_at IS NULL OR login_throttles.last_failure_at < ?3 \
                    THEN 1 ELSE login_throttles.failures + 1 END, \
         last_failure_at = excluded.last_failure_at \
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(now - window)
    .fetch_one(conn)
    .await
    .map_err(store_error)?;
    u32::try_from(failures).map_err(StoreError::other)
}

/// Refuses logins for `key` until `until`.
pub(crate) async fn lock(conn: &mut SqliteConnection, key: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO login_throttles (key, failures, last_failure_at, locked_until) VALUES (?, 0, NULL, ?) \
         ON CONFLICT (key) DO UPDATE SET locked_until = excluded.locked_until",
    )
    .bind(key)
    .bind(until)
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Forgets `key`'s failures and lock.
pub(crate) async fn clear(conn: &mut SqliteConnection, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_throttles WHERE key = ?").bind(key).execute(conn).await.map_err(store_error)?;
    Ok(())
}
