//! Login sessions.

use chrono::{DateTime, Utc};
use roster_domain::api_key::SecretDigest;
use roster_domain::error::StoreError;
use roster_domain::ids::{OrgId, SessionId, UserId};
use roster_domain::ports::SessionLookup;
use roster_domain::session::Session;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqliteExecutor};

use crate::error::store_error;
use crate::rows::{self, SESSION_COLUMNS};

/// The session whose token has this digest, with its organization's state.
pub(crate) async fn find<'e>(
    exec: impl SqliteExecutor<'e>,
    digest: &SecretDigest,
) -> Result<Option<SessionLookup>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, o.status AS org_status, o.partner AS org_partner FROM sessions s \
         LEFT JOIN organizations o ON o.id = s.org_id WHERE s.digest = ?"
    );
    let row = sqlx::query(&sql).bind(digest.as_bytes().as_slice()).fetch_optional(exec).await.map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    let (org_status, org_partner) = rows::org_state(&row)?;
    Ok(Some(SessionLookup { session: rows::session(&row)?, org_status, org_partner }))
}

/// A page of a user's live sessions, by id.
pub(crate) async fn list<'e>(
    exec: impl SqliteExecutor<'e>,
    org: OrgId,
    user: UserId,
    now: DateTime<Utc>,
    after: Option<SessionId>,
    limit: u32,
) -> Result<Vec<Session>, StoreError> {
    let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.org_id = "));
    sql.push_bind(org.to_string()).push(" AND s.user_id = ").push_bind(user.to_string());
    sql.push(" AND s.revoked_at IS NULL AND s.expires_at > ").push_bind(now);
    if let Some(after) = after {
        sql.push(" AND s.id > ").push_bind(after.to_string());
    }
    sql.push(" ORDER BY s.id LIMIT ").push_bind(i64::from(limit));
    let rows = sql.build().fetch_all(exec).await.map_err(store_error)?;
    rows.iter().map(rows::session).collect()
}

/// Stores a session.
pub(crate) async fn insert(conn: &mut SqliteConnection, session: &Session) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id, org_id, user_id, digest, client_ip, created_at, expires_at, revoked_at, \
         last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(session.id.to_string())
    .bind(session.org_id.to_string())
    .bind(session.user_id.to_string())
    .bind(session.digest.as_bytes().as_slice())
    .bind(session.client_ip.as_deref())
    .bind(session.created_at)
    .bind(session.expires_at)
    .bind(session.revoked_at)
    .bind(session.last_used_at)
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Revokes an unrevoked session of `user`; whether there was one.
pub(crate) async fn revoke(
    conn: &mut SqliteConnection,
    org: OrgId,
    user: UserId,
    id: SessionId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = ? WHERE id = ? AND org_id = ? AND user_id = ? AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(id.to_string())
    .bind(org.to_string())
    .bind(user.to_string())
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(done.rows_affected() > 0)
}

/// Revokes all of a user's unrevoked sessions.
pub(crate) async fn revoke_all(
    conn: &mut SqliteConnection,
    org: OrgId,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done =
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE org_id = ? AND user_id = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(org.to_string())
            .bind(user.to_string())
            .execute(conn)
            .await
            .map_err(store_error)?;
    Ok(done.rows_affected())
}

/// Records a session's last use.
pub(crate) async fn touch(
    conn: &mut SqliteConnection,
    org: OrgId,
    id: SessionId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_used_at = ? WHERE id = ? AND org_id = ?")
        .bind(at)
        .bind(id.to_string())
        .bind(org.to_string())
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}
