//! An in-memory [`Outbox`] with the storage adapters' semantics: leases, fencing by
//! `attempts`, erasure on delivery.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use roster_domain::StoreError;
use roster_domain::ids::MessageId;
use roster_domain::outbox::{Claim, MessageStatus, OutboxMessage};
use roster_domain::ports::Outbox;

#[derive(Debug, Default)]
pub struct MemoryOutbox {
    rows: Mutex<BTreeMap<MessageId, Row>>,
    failing_claims: AtomicUsize,
}

#[derive(Debug)]
struct Row {
    message: OutboxMessage,
    locked_until: Option<DateTime<Utc>>,
}

impl MemoryOutbox {
    pub fn queue(&self, message: OutboxMessage) {
        self.rows().insert(message.id, Row { message, locked_until: None });
    }

    /// Makes the next `n` claims fail as a lost database connection would.
    pub fn fail_next_claims(&self, n: usize) {
        self.failing_claims.store(n, Ordering::SeqCst);
    }

    pub fn message(&self, id: MessageId) -> OutboxMessage {
        self.rows()[&id].message.clone()
    }

    pub fn all(&self) -> Vec<OutboxMessage> {
        self.rows().values().map(|row| row.message.clone()).collect()
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, BTreeMap<MessageId, Row>> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The row if it is pending and its claim is still `attempts`.
    fn claimed(rows: &mut BTreeMap<MessageId, Row>, id: MessageId, attempts: u32) -> Option<&mut Row> {
        rows.get_mut(&id).filter(|row| row.message.status == MessageStatus::Pending && row.message.attempts == attempts)
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn claim_due_messages(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let failing = self.failing_claims.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(StoreError::other(std::io::Error::other("connection lost")));
        }
        let mut rows = self.rows();
        let mut claimed = Vec::new();
        for row in rows.values_mut() {
            if claimed.len() >= limit as usize {
                break;
            }
            let due = row.message.status == MessageStatus::Pending
                && row.message.next_attempt_at <= now
                && row.locked_until.is_none_or(|until| until <= now);
            if due {
                row.message.attempts += 1;
                row.locked_until = Some(now + lease);
                claimed.push(row.message.clone());
            }
        }
        Ok(claimed)
    }

    async fn mark_sent(
        &self,
        claims: &[Claim],
        at: DateTime<Utc>,
        via: &str,
        erase_mail: bool,
    ) -> Result<Vec<MessageId>, StoreError> {
        let mut rows = self.rows();
        let mut marked = Vec::new();
        for claim in claims {
            let Some(row) = Self::claimed(&mut rows, claim.id, claim.attempts) else { continue };
            row.message.status = MessageStatus::Sent;
            row.message.sent_at = Some(at);
            row.message.delivered_via = Some(via.to_owned());
            row.locked_until = None;
            if erase_mail {
                row.message.mail = None;
            }
            marked.push(claim.id);
        }
        Ok(marked)
    }

    async fn mark_failed(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let mut rows = self.rows();
        let Some(row) = Self::claimed(&mut rows, id, attempts) else { return Ok(false) };
        row.message.last_error = Some(error.to_owned());
        row.locked_until = None;
        match retry_at {
            Some(at) => row.message.next_attempt_at = at,
            None => row.message.status = MessageStatus::Failed,
        }
        Ok(true)
    }

    async fn list_messages(&self, after: Option<MessageId>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = self.rows();
        Ok(rows
            .values()
            .filter(|row| after.is_none_or(|after| row.message.id > after))
            .take(limit as usize)
            .map(|row| row.message.clone())
            .collect())
    }

    async fn get_message(&self, id: MessageId) -> Result<Option<OutboxMessage>, StoreError> {
        Ok(self.rows().get(&id).map(|row| row.message.clone()))
    }
}
