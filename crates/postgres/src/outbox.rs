//! The email outbox: messages queued inside a use case's transaction
//! ([`insert`]), and the delivery worker's side ([`Outbox`]), whose every call is one
//! statement outside any transaction.
//!
//! A worker claims due messages with a lease (`locked_until`) and a new `attempts` count;
//! the count is the claim's fencing token: marking a message sent or failed succeeds only
//! while `attempts` is still the one the claim returned, so a worker whose lease lapsed
//! and whose message was claimed again cannot overwrite the newer claim's outcome.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::ids::MessageId;
use roster_domain::outbox::{Claim, OutboxMessage};
use roster_domain::ports::Outbox;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStorage;
use crate::error::store_error;
use crate::rows::{self, message_columns};

/// Claims up to `$3` due messages (`$1` now) for a lease until `$2`, oldest due first,
/// through `outbox_messages_due_idx`. `SKIP LOCKED` passes over the rows a concurrent
/// claim is taking, so concurrent claims are disjoint; a row a concurrent claim updated
/// meanwhile is re-checked against the conditions (its new lease excludes it). The
/// sub-select runs once, as an init plan, whatever the plan of the outer update.
pub(crate) const CLAIM: &str = concat!(
    "UPDATE outbox_messages SET attempts = attempts + 1, locked_until = $2 \
     WHERE id = ANY (ARRAY(SELECT id FROM outbox_messages \
         WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) \
         ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)) \
     RETURNING ",
    message_columns!()
);

/// Marks the claims `($1 ids, $2 attempts)` sent at `$3` via `$4`, each by its primary key;
/// `$5` erases the mails' parameters (links, passwords) once delivered.
pub(crate) const MARK_SENT: &str = "UPDATE outbox_messages m SET status = 'sent', sent_at = $3, delivered_via = $4, \
    locked_until = NULL, params = CASE WHEN $5 THEN NULL ELSE m.params END \
    FROM unnest($1::uuid[], $2::int4[]) AS c(id, attempts) \
    WHERE m.id = c.id AND m.attempts = c.attempts AND m.status = 'pending' \
    RETURNING m.id";

/// Pending again from `$4`, or failed for good when `$4` is NULL.
const MARK_FAILED: &str = "UPDATE outbox_messages SET last_error = $3, locked_until = NULL, \
    status = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END, \
    next_attempt_at = COALESCE($4, next_attempt_at) \
    WHERE id = $1 AND attempts = $2 AND status = 'pending'";

const GET: &str = concat!("SELECT ", message_columns!(), " FROM outbox_messages WHERE id = $1");

/// Appends the `list_messages` query to `sql`: keyset pages in primary-key order.
pub(crate) fn push_list_messages(sql: &mut QueryBuilder<'_, Postgres>, after: Option<MessageId>, limit: u32) {
    sql.push(concat!("SELECT ", message_columns!(), " FROM outbox_messages"));
    if let Some(after) = after {
        sql.push(" WHERE id > ").push_bind(*after.as_uuid());
    }
    sql.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
}

/// A lease that ends beyond the calendar.
#[derive(Debug, thiserror::Error)]
#[error("the lease ends out of range")]
struct LeaseOutOfRange;

#[async_trait]
impl Outbox for PostgresStorage {
    async fn claim_due_messages(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let until = now.checked_add_signed(lease).ok_or_else(|| StoreError::other(LeaseOutOfRange))?;
        let claimed = sqlx::query(CLAIM)
            .bind(now)
            .bind(until)
            .bind(i64::from(limit))
            .fetch_all(&self.queue)
            .await
            .map_err(store_error)?;
        let mut claimed = claimed.iter().map(rows::outbox_message).collect::<Result<Vec<_>, _>>()?;
        // RETURNING follows no ORDER BY: the claim's order again.
        claimed.sort_unstable_by_key(|m| (m.next_attempt_at, m.id));
        Ok(claimed)
    }

    async fn mark_sent(
        &self,
        claims: &[Claim],
        at: DateTime<Utc>,
        via: &str,
        erase_mail: bool,
    ) -> Result<Vec<MessageId>, StoreError> {
        // A count beyond the column's range belongs to no claim.
        let claims: Vec<(Uuid, i32)> =
            claims.iter().filter_map(|c| Some((*c.id.as_uuid(), i32::try_from(c.attempts).ok()?))).collect();
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, attempts): (Vec<Uuid>, Vec<i32>) = claims.into_iter().unzip();
        let marked: Vec<Uuid> = sqlx::query_scalar(MARK_SENT)
            .bind(ids)
            .bind(attempts)
            .bind(at)
            .bind(via)
            .bind(erase_mail)
            .fetch_all(&self.queue)
            .await
            .map_err(store_error)?;
        Ok(marked.into_iter().map(MessageId::from_uuid).collect())
    }

    async fn mark_failed(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let Ok(attempts) = i32::try_from(attempts) else { return Ok(false) };
        let done = sqlx::query(MARK_FAILED)
            .bind(id.as_uuid())
            .bind(attempts)
            .bind(error)
            .bind(retry_at)
            .execute(&self.queue)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_messages(&self, after: Option<MessageId>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut sql = QueryBuilder::new("");
        push_list_messages(&mut sql, after, limit);
        let found = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::outbox_message).collect()
    }

    async fn get_message(&self, id: MessageId) -> Result<Option<OutboxMessage>, StoreError> {
        let row = sqlx::query(GET).bind(id.as_uuid()).fetch_optional(&self.pool).await.map_err(store_error)?;
        row.as_ref().map(rows::outbox_message).transpose()
    }
}
