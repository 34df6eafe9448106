//! Login sessions and the throttling of failed logins.

use chrono::{DateTime, Utc};
use roster_domain::api_key::SecretDigest;
use roster_domain::error::StoreError;
use roster_domain::ids::{OrgId, SessionId, UserId};
use roster_domain::ports::SessionLookup;
use roster_domain::session::{Session, ThrottleState};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row as _};

use crate::error::{InvalidRow, store_error};
use crate::pipeline::Query;
use crate::rows::{self, Columns, session_columns};
use crate::{HotReads, PostgresStorage};

/// Authentication's look-up of a session token (`sessions_digest_key`) with its
/// organization's status and partner flag. The organization is looked up by its primary key
/// for the one row found (`OFFSET 0` keeps the sub-select from being flattened into a join
/// the planner might run as a merge over the whole organizations index).
pub(crate) const FIND: &str = concat!(
    "SELECT ",
    session_columns!(),
    ", o.status AS org_status, o.partner AS org_partner FROM sessions s \
     LEFT JOIN LATERAL (SELECT o.status, o.partner FROM organizations o WHERE o.id = s.org_id OFFSET 0) o ON true \
     WHERE s.digest = $1"
);

const INSERT: &str = "INSERT INTO sessions (id, org_id, user_id, digest, client_ip, created_at, expires_at, \
    revoked_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const REVOKE: &str = "UPDATE sessions SET revoked_at = $4 \
    WHERE org_id = $1 AND user_id = $2 AND id = $3 AND revoked_at IS NULL";

const REVOKE_ALL: &str = "UPDATE sessions SET revoked_at = $3 \
    WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL";

/// Written at most once a minute per session (the use case decides); never moves back.
const TOUCH: &str = "UPDATE sessions SET last_used_at = $2 WHERE id = $1 AND org_id = $3 \
    AND (last_used_at IS NULL OR last_used_at < $2)";

const THROTTLES: &str =
    "SELECT key, failures, locked_until FROM login_throttles WHERE key = ANY ($1::text[]) ORDER BY key";

/// One atomic upsert, so concurrent failures (on any instance) each count: a failure
/// after a quiet window (the last one before `$3` = now - window) starts afresh.
const RECORD_FAILURE: &str = "INSERT INTO login_throttles AS t (key, failures, last_failure_at) VALUES ($1, 1, $2) \
    ON CONFLICT (key) DO UPDATE SET \
        failures = CASE WHEN t.last_failure_at IS NULL OR t.last_failure_at < $3 THEN 1 ELSE t.failures + 1 END, \
        last_failure_at = $2 \
    RETURNING failures";

const LOCK: &str = "INSERT INTO login_throttles (key, failures, locked_until) VALUES ($1, 0, $2) \
    ON CONFLICT (key) DO UPDATE SET locked_until = $2";

const CLEAR: &str = "DELETE FROM login_throttles WHERE key = $1";

/// A session with its organization's state, from [`FIND`].
fn session_lookup<R: Columns>(row: &R) -> Result<SessionLookup, StoreError> {
    Ok(SessionLookup {
        session: rows::session(row)?,
        org_status: rows::org_status(row)?,
        org_partner: rows::org_partner(row)?,
    })
}

impl PostgresStorage {
    /// [`FIND`], on the hot-read connections.
    pub(crate) async fn read_session(&self, digest: &SecretDigest) -> Result<Option<SessionLookup>, StoreError> {
        let digest = digest.as_bytes().as_slice();
        match &*self.reads {
            HotReads::Pipelined(reads) => {
                let row = reads.query_opt(Query::FindSession, &[&digest]).await?;
                row.as_ref().map(session_lookup).transpose()
            }
            HotReads::Pooled(reads) => {
                let row = reads.run(async |conn| sqlx::query(FIND).bind(digest).fetch_optional(conn).await).await?;
                row.as_ref().map(session_lookup).transpose()
            }
        }
    }
}

/// Appends the `list_sessions` query to `sql`: a user's live sessions by id
/// (`sessions_org_user_idx`).
pub(crate) fn push_list(
    sql: &mut QueryBuilder<'_, Postgres>,
    org: OrgId,
    user: UserId,
    now: DateTime<Utc>,
    after: Option<SessionId>,
    limit: u32,
) {
    sql.push(concat!("SELECT ", session_columns!(), " FROM sessions s WHERE s.org_id = "))
        .push_bind(*org.as_uuid())
        .push(" AND s.user_id = ")
        .push_bind(*user.as_uuid())
        .push(" AND s.revoked_at IS NULL AND s.expires_at > ")
        .push_bind(now);
    if let Some(after) = after {
        sql.push(" AND s.id > ").push_bind(*after.as_uuid());
    }
    sql.push(" ORDER BY s.id LIMIT ").push_bind(i64::from(limit));
}

/// The throttle state of each of `keys` that has one.
pub(crate) async fn throttle(pool: &PgPool, keys: &[String]) -> Result<Vec<(String, ThrottleState)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let found = sqlx::query(THROTTLES).bind(keys).fetch_all(pool).await.map_err(store_error)?;
    found
        .iter()
        .map(|row| {
            let key: String = row.try_get("key").map_err(StoreError::other)?;
            let failures = failures(row.try_get("failures").map_err(StoreError::other)?)?;
            let locked_until = row.try_get("locked_until").map_err(StoreError::other)?;
            Ok((key, ThrottleState { failures, locked_until }))
        })
        .collect()
}

/// A stored failure count (`integer`, never negative).
fn failures(stored: i32) -> Result<u32, StoreError> {
    u32::try_from(stored).map_err(|e| StoreError::other(InvalidRow::new("failures", e)))
}

pub(crate) async fn insert(conn: &mut PgConnection, session: &Session) -> Result<(), StoreError> {
    sqlx::query(INSERT)
        .bind(session.id.as_uuid())
        .bind(session.org_id.as_uuid())
        .bind(session.user_id.as_uuid())
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

pub(crate) async fn revoke(
    conn: &mut PgConnection,
    org: OrgId,
    user: UserId,
    id: SessionId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(REVOKE)
        .bind(org.as_uuid())
        .bind(user.as_uuid())
        .bind(id.as_uuid())
        .bind(at)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn revoke_all(
    conn: &mut PgConnection,
    org: OrgId,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(REVOKE_ALL)
        .bind(org.as_uuid())
        .bind(user.as_uuid())
        .bind(at)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(done.rows_affected())
}

pub(crate) async fn touch(
    conn: &mut PgConnection,
    org: OrgId,
    id: SessionId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(TOUCH).bind(id.as_uuid()).bind(at).bind(org.as_uuid()).execute(conn).await.map_err(store_error)?;
    Ok(())
}

pub(crate) async fn record_failure(
    conn: &mut PgConnection,
    key: &str,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<u32, StoreError> {
    // A window reaching before any timestamp remembers every failure.
    let cutoff = now.checked_sub_signed(window).unwrap_or(DateTime::UNIX_EPOCH);
    let (count,): (i32,) =
        sqlx::query_as(RECORD_FAILURE).bind(key).bind(now).bind(cutoff).fetch_one(conn).await.map_err(store_error)?;
    failures(count)
}

pub(crate) async fn lock(conn: &mut PgConnection, key: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query(LOCK).bind(key).bind(until).execute(conn).await.map_err(store_error)?;
    Ok(())
}

pub(crate) async fn clear_failures(conn: &mut PgConnection, key: &str) -> Result<(), StoreError> {
    sqlx::query(CLEAR).bind(key).execute(conn).await.map_err(store_error)?;
    Ok(())
}
