//! The email outbox: messages are inserted in the transaction of the change that causes
//! them, then claimed, marked and listed by the delivery worker outside any use case's
//! transaction.
//!
//! Each of the worker's writes is its own `BEGIN IMMEDIATE` transaction:
//! SQLite runs writers one at a time, so two workers' claims never overlap, and taking
//! the write lock up front lets a claim wait out the busy timeout rather than fail on a
//! stale snapshot.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::ids::MessageId;
use roster_domain::outbox::{Claim, OutboxMessage};
use roster_domain::ports::Outbox;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};

use crate::SqliteStorage;
use crate::error::{AdapterError, store_error};
use crate::rows::{self, MESSAGE_COLUMNS};

/// Stores a message. One without a mail (which only delivery erases) is stored with an
/// empty template and no parameters, and reads back without one.
pub(crate) async fn insert(conn: &mut SqliteConnection, message: &OutboxMessage) -> Result<(), StoreError> {
    let params = message.mail.as_ref().map(rows::params_json).transpose()?;
    sqlx::query(
        "INSERT INTO outbox_messages (id, org_id, recipient, template, params, status, attempts, next_attempt_at, \
         locked_until, last_error, delivered_via, created_at, sent_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
    )
    .bind(message.id.to_string())
    .bind(message.org_id.map(|o| o.to_string()))
    .bind(message.recipient.as_str())
    .bind(message.mail.as_ref().map_or("", |m| m.template()))
    .bind(params)
    .bind(message.status.as_str())
    .bind(i64::from(message.attempts))
    .bind(message.next_attempt_at)
    .bind(message.last_error.as_deref())
    .bind(message.delivered_via.as_deref())
    .bind(message.created_at)
    .bind(message.sent_at)
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Runs one write of the worker's in a `BEGIN IMMEDIATE` transaction of its own.
async fn immediately<T>(
    pool: &SqlitePool,
    write: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut tx: sqlx::Transaction<'_, Sqlite> = pool.begin_with("BEGIN IMMEDIATE").await.map_err(store_error)?;
    let out = write(&mut tx).await?;
    tx.commit().await.map_err(store_error)?;
    Ok(out)
}

#[async_trait]
impl Outbox for SqliteStorage {
    /// Oldest due first. A message is due when its next attempt time has come and no live
    /// lease holds it; a lease ending exactly at `now` has lapsed.
    #[tracing::instrument(level = "debug", skip_all, fields(limit = limit), err(level = "debug"))]
    async fn claim_due_messages(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let until = now.checked_add_signed(lease).ok_or(AdapterError::Unstorable("a lease beyond the last date"))?;
        let sql = format!(
            "UPDATE outbox_messages SET attempts = attempts + 1, locked_until = ?1 \
             WHERE id IN (SELECT id FROM outbox_messages WHERE status = 'pending' AND next_attempt_at <= ?2 \
             AND (locked_until IS NULL OR locked_until <= ?2) ORDER BY next_attempt_at, id LIMIT ?3) \
             RETURNING {MESSAGE_COLUMNS}"
        );
        let mut claimed = immediately(&self.pool, async |conn: &mut SqliteConnection| {
            let rows = sqlx::query(&sql)
                .bind(until)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await
                .map_err(store_error)?;
            rows.iter().map(rows::outbox_message).collect::<Result<Vec<_>, _>>()
        })
        .await?;
        // RETURNING yields rows in no particular order: give them in the order chosen.
        claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
        Ok(claimed)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(messages = claims.len()), err(level = "debug"))]
    async fn mark_sent(
        &self,
        claims: &[Claim],
        at: DateTime<Utc>,
        via: &str,
        erase_mail: bool,
    ) -> Result<Vec<MessageId>, StoreError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        immediately(&self.pool, async |conn: &mut SqliteConnection| {
            let mut marked = Vec::with_capacity(claims.len());
            for claim in claims {
                let done = sqlx::query(
                    "UPDATE outbox_messages SET status = 'sent', sent_at = ?, delivered_via = ?, locked_until = NULL, \
                     params = CASE WHEN ? THEN NULL ELSE params END \
                     WHERE id = ? AND attempts = ? AND status = 'pending'",
                )
                .bind(at)
                .bind(via)
                .bind(erase_mail)
                .bind(claim.id.to_string())
                .bind(i64::from(claim.attempts))
                .execute(&mut *conn)
                .await
                .map_err(store_error)?;
                if done.rows_affected() > 0 {
                    marked.push(claim.id);
                }
            }
            Ok(marked)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(message = %id, attempts = attempts), err(level = "debug"))]
    async fn mark_failed(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        // Without a retry time the message fails for good and keeps its last due time.
        immediately(&self.pool, async |conn: &mut SqliteConnection| {
            let done = sqlx::query(
                "UPDATE outbox_messages SET status = CASE WHEN ?1 IS NULL THEN 'failed' ELSE 'pending' END, \
                 next_attempt_at = COALESCE(?1, next_attempt_at), locked_until = NULL, last_error = ?2 \
                 WHERE id = ?3 AND attempts = ?4 AND status = 'pending'",
            )
            .bind(retry_at)
            .bind(error)
            .bind(id.to_string())
            .bind(i64::from(attempts))
            .execute(conn)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn list_messages(&self, after: Option<MessageId>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM outbox_messages WHERE id > ? ORDER BY id LIMIT ?");
        // Every id sorts after the empty string.
        let rows = sqlx::query(&sql)
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter().map(rows::outbox_message).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(message = %id), err(level = "debug"))]
    async fn get_message(&self, id: MessageId) -> Result<Option<OutboxMessage>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM outbox_messages WHERE id = ?");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await.map_err(store_error)?;
        row.as_ref().map(rows::outbox_message).transpose()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use roster_domain::outbox::MessageStatus;
    use uuid::Uuid;

    use super::*;

    /// A message whose stored mail no longer makes sense (an unknown template, parameters
    /// that are not a JSON object) reads as having none, and can still be claimed and
    /// marked, so it cannot stall the delivery of the others.
    #[tokio::test]
    async fn a_message_with_an_unreadable_mail_is_read_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("roster.db")).await.unwrap();
        storage.migrate().await.unwrap();
        let at = DateTime::from_timestamp_micros(1_800_000_000_000_000).unwrap();
        let (unknown, garbled) = (MessageId::from_uuid(Uuid::now_v7()), MessageId::from_uuid(Uuid::now_v7()));
        for (id, template, params) in
            [(unknown, "newsletter", r#"{"org_name":"Acme"}"#), (garbled, "invitation", "[not an object")]
        {
            sqlx::query(
                "INSERT INTO outbox_messages (id, recipient, template, params, status, attempts, next_attempt_at, \
                 created_at) VALUES (?1, 'a@example.com', ?2, ?3, 'pending', 0, ?4, ?4)",
            )
            .bind(id.to_string())
            .bind(template)
            .bind(params)
            .bind(at)
            .execute(&storage.pool)
            .await
            .unwrap();
        }

        let claimed = storage.claim_due_messages(at, Duration::seconds(30), 10).await.unwrap();
        assert_eq!(
            claimed.iter().map(|m| (m.id, m.mail.is_none(), m.attempts)).collect::<Vec<_>>(),
            [(unknown, true, 1), (garbled, true, 1)]
        );
        assert!(storage.mark_failed(unknown, 1, "unknown template", None).await.unwrap());
        let failed = storage.get_message(unknown).await.unwrap().expect("the message");
        assert_eq!((failed.status, failed.last_error.as_deref()), (MessageStatus::Failed, Some("unknown template")));
    }
}
