//! Append-only rows a transaction writes but never reads back (audit events, invitations,
//! outbox messages) are held in memory and written together, in one statement, just before
//! the transaction's next statement or its commit. A user creation that writes two audit
//! events, an invitation and its email then costs one round trip for the four rows instead
//! of four; the rows land in the same transaction either way.

use roster_domain::audit::AuditEvent;
use roster_domain::error::StoreError;
use roster_domain::invitation::Invitation;
use roster_domain::outbox::OutboxMessage;
use sqlx::PgConnection;
use sqlx::types::chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::store_error;

/// One statement for every buffered row: each table's rows arrive as column arrays
/// (`unnest`), and a table without rows gets empty arrays, so the statement never changes
/// and is prepared once per connection.
const FLUSH: &str = "WITH audit AS ( \
    INSERT INTO audit_events (id, org_id, actor, action, target_type, target_id, request_id, occurred_at, details) \
    SELECT id, org_id, actor, action, target_type, target_id, request_id, occurred_at, details::jsonb \
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
        $8::timestamptz[], $9::text[]) \
        AS r(id, org_id, actor, action, target_type, target_id, request_id, occurred_at, details) \
), invitation AS ( \
    INSERT INTO invitations (id, org_id, user_id, status, digest, invited_by, login_url, expires_at, created_at, \
        updated_at, accepted_at, revoked_at, version) \
    SELECT * FROM unnest($10::uuid[], $11::uuid[], $12::uuid[], $13::text[], $14::bytea[], $15::text[], \
        $16::text[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::timestamptz[], \
        $21::timestamptz[], $22::bigint[]) \
), outbox AS ( \
    INSERT INTO outbox_messages (id, org_id, recipient, template, params, status, attempts, next_attempt_at, \
        last_error, delivered_via, created_at, sent_at) \
    SELECT id, org_id, recipient, template, params::jsonb, status, attempts, next_attempt_at, last_error, \
        delivered_via, created_at, sent_at \
    FROM unnest($23::uuid[], $24::uuid[], $25::text[], $26::text[], $27::text[], $28::text[], $29::int4[], \
        $30::timestamptz[], $31::text[], $32::text[], $33::timestamptz[], $34::timestamptz[]) \
        AS r(id, org_id, recipient, template, params, status, attempts, next_attempt_at, last_error, \
        delivered_via, created_at, sent_at) \
) SELECT 1";

/// The rows a transaction has written but not yet sent.
#[derive(Debug, Default)]
pub(crate) struct Appends {
    audit: Vec<AuditEvent>,
    invitations: Vec<Invitation>,
    outbox: Vec<OutboxMessage>,
}

impl Appends {
    pub(crate) fn audit(&mut self, event: &AuditEvent) {
        self.audit.push(event.clone());
    }

    pub(crate) fn invitation(&mut self, invitation: &Invitation) {
        self.invitations.push(invitation.clone());
    }

    pub(crate) fn outbox(&mut self, message: &OutboxMessage) {
        self.outbox.push(message.clone());
    }

    fn is_empty(&self) -> bool {
        self.audit.is_empty() && self.invitations.is_empty() && self.outbox.is_empty()
    }

    /// Writes the held rows, if any, on `conn`, and forgets them.
    pub(crate) async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let audit = std::mem::take(&mut self.audit);
        let invitations = std::mem::take(&mut self.invitations);
        let outbox = std::mem::take(&mut self.outbox);
        let details = audit.iter().map(|e| serde_json::to_string(&e.details)).collect::<Result<Vec<_>, _>>();
        let params = outbox
            .iter()
            .map(|m| m.mail.as_ref().map(|mail| serde_json::to_string(&mail.params())).transpose())
            .collect::<Result<Vec<_>, _>>();
        let attempts = outbox.iter().map(|m| i32::try_from(m.attempts)).collect::<Result<Vec<_>, _>>();
        sqlx::query(FLUSH)
            .bind(uuids(&audit, |e| *e.id.as_uuid()))
            .bind(uuids(&audit, |e| *e.org_id.as_uuid()))
            .bind(texts(&audit, |e| e.actor.clone()))
            .bind(texts(&audit, |e| e.action.clone()))
            .bind(texts(&audit, |e| e.target_type.clone()))
            .bind(texts(&audit, |e| e.target_id.clone()))
            .bind(audit.iter().map(|e| e.request_id.clone()).collect::<Vec<_>>())
            .bind(times(&audit, |e| e.occurred_at))
            .bind(details.map_err(StoreError::other)?)
            .bind(uuids(&invitations, |i| *i.id.as_uuid()))
            .bind(uuids(&invitations, |i| *i.org_id.as_uuid()))
            .bind(uuids(&invitations, |i| *i.user_id.as_uuid()))
            .bind(texts(&invitations, |i| i.status.as_str().to_owned()))
            .bind(invitations.iter().map(|i| i.digest.as_bytes().to_vec()).collect::<Vec<_>>())
            .bind(texts(&invitations, |i| i.invited_by.clone()))
            .bind(invitations.iter().map(|i| i.login_url.as_ref().map(ToString::to_string)).collect::<Vec<_>>())
            .bind(times(&invitations, |i| i.expires_at))
            .bind(times(&invitations, |i| i.created_at))
            .bind(times(&invitations, |i| i.updated_at))
            .bind(invitations.iter().map(|i| i.accepted_at).collect::<Vec<_>>())
            .bind(invitations.iter().map(|i| i.revoked_at).collect::<Vec<_>>())
            .bind(invitations.iter().map(|i| i.version).collect::<Vec<_>>())
            .bind(uuids(&outbox, |m| *m.id.as_uuid()))
            .bind(outbox.iter().map(|m| m.org_id.map(|org| *org.as_uuid())).collect::<Vec<_>>())
            .bind(texts(&outbox, |m| m.recipient.as_str().to_owned()))
            .bind(texts(&outbox, |m| m.mail.as_ref().map_or("", |mail| mail.template()).to_owned()))
            .bind(params.map_err(StoreError::other)?)
            .bind(texts(&outbox, |m| m.status.as_str().to_owned()))
            .bind(attempts.map_err(StoreError::other)?)
            .bind(times(&outbox, |m| m.next_attempt_at))
            .bind(outbox.iter().map(|m| m.last_error.clone()).collect::<Vec<_>>())
            .bind(outbox.iter().map(|m| m.delivered_via.clone()).collect::<Vec<_>>())
            .bind(times(&outbox, |m| m.created_at))
            .bind(outbox.iter().map(|m| m.sent_at).collect::<Vec<_>>())
            .execute(conn)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

fn uuids<T>(rows: &[T], f: impl Fn(&T) -> Uuid) -> Vec<Uuid> {
    rows.iter().map(f).collect()
}

fn texts<T>(rows: &[T], f: impl Fn(&T) -> String) -> Vec<String> {
    rows.iter().map(f).collect()
}

fn times<T>(rows: &[T], f: impl Fn(&T) -> DateTime<Utc>) -> Vec<DateTime<Utc>> {
    rows.iter().map(f).collect()
}
