//! Rows a transaction writes but does not read back itself (a new user, audit events,
//! invitations, outbox messages) are held in memory and written together, in one
//! statement, just before the transaction's next statement or its commit. A user creation
//! that writes the user, two audit events, an invitation and its email then costs one
//! round trip for the five rows instead of five; the rows land in the same transaction
//! either way, and every later statement of the transaction sees them. A unique violation
//! (a taken email or username) is therefore reported by the call that sends them: the
//! transaction's next statement, or its commit.

use roster_domain::audit::AuditEvent;
use roster_domain::error::StoreError;
use roster_domain::invitation::Invitation;
use roster_domain::outbox::OutboxMessage;
use roster_domain::user::User;
use sqlx::PgConnection;
use sqlx::types::chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::store_error;
use crate::users::{self, PgQuery};

/// The append-only tables' inserts, `$1` to `$34`: each table's rows arrive as column
/// arrays (`unnest`), and a table without rows gets empty arrays, so the statement never
/// changes and is prepared once per connection. `$guard` ends each insert's query (a
/// `WHERE` clause, or nothing).
macro_rules! append_ctes {
    ($guard:literal) => {
        concat!(
            "audit AS ( \
    INSERT INTO audit_events (id, org_id, actor, action, target_type, target_id, request_id, occurred_at, details) \
    SELECT id, org_id, actor, action, target_type, target_id, request_id, occurred_at, details::jsonb \
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
        $8::timestamptz[], $9::text[]) \
        AS r(id, org_id, actor, action, target_type, target_id, request_id, occurred_at, details)",
            $guard,
            "), invitation AS ( \
    INSERT INTO invitations (id, org_id, user_id, status, digest, invited_by, login_url, expires_at, created_at, \
        updated_at, accepted_at, revoked_at, version) \
    SELECT * FROM unnest($10::uuid[], $11::uuid[], $12::uuid[], $13::text[], $14::bytea[], $15::text[], \
        $16::text[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::timestamptz[], \
        $21::timestamptz[], $22::bigint[]) \
        AS r(id, org_id, user_id, status, digest, invited_by, login_url, expires_at, created_at, updated_at, \
        accepted_at, revoked_at, version)",
            $guard,
            "), outbox AS ( \
    INSERT INTO outbox_messages (id, org_id, recipient, template, params, status, attempts, next_attempt_at, \
        last_error, delivered_via, created_at, sent_at) \
    SELECT id, org_id, recipient, template, params::jsonb, status, attempts, next_attempt_at, last_error, \
        delivered_via, created_at, sent_at \
    FROM unnest($23::uuid[], $24::uuid[], $25::text[], $26::text[], $27::text[], $28::text[], $29::int4[], \
        $30::timestamptz[], $31::text[], $32::text[], $33::timestamptz[], $34::timestamptz[]) \
        AS r(id, org_id, recipient, template, params, status, attempts, next_attempt_at, last_error, \
        delivered_via, created_at, sent_at)",
            $guard,
            ")"
        )
    };
}

/// New users (`$35` to `$53`, column arrays in the order of `users::bind_new_users`) and
/// their role assignments (`$54` to `$56`: organization, user and role arrays). The
/// invitations and the role rows refer to the users: foreign keys are checked at the end
/// of the statement, when they exist. `$guard` as in `append_ctes`.
macro_rules! user_ctes {
    ($guard:literal) => {
        concat!(
            "new_user AS ( \
    INSERT INTO users (id, org_id, email, email_normalized, username, name, first_name, last_name, location, \
        locale, tags, metadata, status, password_hash, last_login_at, created_at, updated_at, version, role_ids) \
    SELECT id, org_id, email, email_normalized, username, name, first_name, last_name, location, locale, \
        ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)), metadata::jsonb, status, password_hash, \
        last_login_at, created_at, updated_at, version, role_ids::uuid[] \
    FROM unnest($35::uuid[], $36::uuid[], $37::text[], $38::text[], $39::text[], $40::text[], $41::text[], \
        $42::text[], $43::text[], $44::text[], $45::text[], $46::text[], $47::text[], $48::text[], \
        $49::timestamptz[], $50::timestamptz[], $51::timestamptz[], $52::bigint[], $53::text[]) \
        AS r(id, org_id, email, email_normalized, username, name, first_name, last_name, location, locale, tags, \
        metadata, status, password_hash, last_login_at, created_at, updated_at, version, role_ids)",
            $guard,
            " RETURNING id), new_roles AS ( \
    INSERT INTO user_roles (org_id, user_id, role_id) \
    SELECT * FROM unnest($54::uuid[], $55::uuid[], $56::uuid[]) AS r(org_id, user_id, role_id)",
            $guard,
            ")"
        )
    };
}
pub(crate) use {append_ctes, user_ctes};

/// The held rows without a user.
const FLUSH: &str = concat!("WITH ", append_ctes!(""), " SELECT 1");

/// The held rows with one new user.
const FLUSH_WITH_USER: &str = concat!("WITH ", user_ctes!(""), ", ", append_ctes!(""), " SELECT 1");

/// The rows a transaction has written but not yet sent.
#[derive(Debug, Default)]
pub(crate) struct Appends {
    /// At most one new user: a second one sends the first ([`crate::PgTransaction`]).
    user: Option<User>,
    audit: Vec<AuditEvent>,
    invitations: Vec<Invitation>,
    outbox: Vec<OutboxMessage>,
}

impl Appends {
    /// Whether a new user is held.
    pub(crate) fn holds_user(&self) -> bool {
        self.user.is_some()
    }

    /// Holds a new user, replacing none: callers send a held one first ([`Self::holds_user`]).
    pub(crate) fn user(&mut self, user: &User) {
        debug_assert!(self.user.is_none(), "one new user at a time");
        self.user = Some(user.clone());
    }

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
        self.user.is_none() && self.audit.is_empty() && self.invitations.is_empty() && self.outbox.is_empty()
    }

    /// Writes the held rows, if any, on `conn`, and forgets them.
    pub(crate) async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let user = self.user.take();
        let audit = std::mem::take(&mut self.audit);
        let invitations = std::mem::take(&mut self.invitations);
        let outbox = std::mem::take(&mut self.outbox);
        let query = sqlx::query(if user.is_some() { FLUSH_WITH_USER } else { FLUSH });
        let query = bind_rows(query, &audit, &invitations, &outbox)?;
        let query = match &user {
            Some(user) => users::bind_new_users(query, &[user])?,
            None => query,
        };
        query.execute(conn).await.map_err(store_error)?;
        Ok(())
    }
}

/// Binds `$1` to `$34` of [`append_ctes`]: the rows as column arrays.
pub(crate) fn bind_rows<'q>(
    query: PgQuery<'q>,
    audit: &[AuditEvent],
    invitations: &[Invitation],
    outbox: &[OutboxMessage],
) -> Result<PgQuery<'q>, StoreError> {
    let details = audit.iter().map(|e| serde_json::to_string(&e.details)).collect::<Result<Vec<_>, _>>();
    let params = outbox
        .iter()
        .map(|m| m.mail.as_ref().map(|mail| serde_json::to_string(&mail.params())).transpose())
        .collect::<Result<Vec<_>, _>>();
    let attempts = outbox.iter().map(|m| i32::try_from(m.attempts)).collect::<Result<Vec<_>, _>>();
    Ok(query
        .bind(uuids(audit, |e| *e.id.as_uuid()))
        .bind(uuids(audit, |e| *e.org_id.as_uuid()))
        .bind(texts(audit, |e| e.actor.clone()))
        .bind(texts(audit, |e| e.action.clone()))
        .bind(texts(audit, |e| e.target_type.clone()))
        .bind(texts(audit, |e| e.target_id.clone()))
        .bind(audit.iter().map(|e| e.request_id.clone()).collect::<Vec<_>>())
        .bind(times(audit, |e| e.occurred_at))
        .bind(details.map_err(StoreError::other)?)
        .bind(uuids(invitations, |i| *i.id.as_uuid()))
        .bind(uuids(invitations, |i| *i.org_id.as_uuid()))
        .bind(uuids(invitations, |i| *i.user_id.as_uuid()))
        .bind(texts(invitations, |i| i.status.as_str().to_owned()))
        .bind(invitations.iter().map(|i| i.digest.as_bytes().to_vec()).collect::<Vec<_>>())
        .bind(texts(invitations, |i| i.invited_by.clone()))
        .bind(invitations.iter().map(|i| i.login_url.as_ref().map(ToString::to_string)).collect::<Vec<_>>())
        .bind(times(invitations, |i| i.expires_at))
        .bind(times(invitations, |i| i.created_at))
        .bind(times(invitations, |i| i.updated_at))
        .bind(invitations.iter().map(|i| i.accepted_at).collect::<Vec<_>>())
        .bind(invitations.iter().map(|i| i.revoked_at).collect::<Vec<_>>())
        .bind(invitations.iter().map(|i| i.version).collect::<Vec<_>>())
        .bind(uuids(outbox, |m| *m.id.as_uuid()))
        .bind(outbox.iter().map(|m| m.org_id.map(|org| *org.as_uuid())).collect::<Vec<_>>())
        .bind(texts(outbox, |m| m.recipient.as_str().to_owned()))
        .bind(texts(outbox, |m| m.mail.as_ref().map_or("", |mail| mail.template()).to_owned()))
        .bind(params.map_err(StoreError::other)?)
        .bind(texts(outbox, |m| m.status.as_str().to_owned()))
        .bind(attempts.map_err(StoreError::other)?)
        .bind(times(outbox, |m| m.next_attempt_at))
        .bind(outbox.iter().map(|m| m.last_error.clone()).collect::<Vec<_>>())
        .bind(outbox.iter().map(|m| m.delivered_via.clone()).collect::<Vec<_>>())
        .bind(times(outbox, |m| m.created_at))
        .bind(outbox.iter().map(|m| m.sent_at).collect::<Vec<_>>()))
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
