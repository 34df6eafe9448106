//! New users written at once ([`Storage::insert_user_if_unchanged`]), in batches.
//!
//! A user creation's rows (user, role assignments, audit events, invitation, email) go out
//! as one autocommit statement that first takes the organization's shared creation lock
//! and reads the organization after it is granted (`roster_lock_organization`), and
//! inserts only the rows of organizations still at the version their caller read and
//! without a seat limit. Most of such a statement's cost is per statement, not per row
//! (opening six tables and some twenty indexes, the commit and its WAL flush), so
//! concurrent calls are gathered: one task takes whatever calls are waiting, up to
//! [`MAX_BATCH`], and writes them in one statement, on the queue connections
//! ([`crate::queue_pool`]; one statement under way on each, one connection left to the mail
//! worker). No call waits for a timer: a batch leaves as soon as a connection is free, and
//! holds what queued while the previous ones ran.
//!
//! A batch is all or nothing. When it fails (a taken email or username, a role deleted
//! meanwhile, a deadlock with a change of two organizations), each of its calls is written
//! on its own, which reports its own outcome. Calls for one organization that read
//! different versions of it never share a batch (the guard is per organization).
//!
//! [`Storage::insert_user_if_unchanged`]: roster_domain::ports::Storage::insert_user_if_unchanged

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::{Arc, Mutex, PoisonError};

use roster_domain::error::StoreError;
use roster_domain::ids::OrgId;
use roster_domain::ports::NewUser;
use sqlx::{PgPool, Row as _};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use crate::appends::{append_ctes, bind_rows, user_ctes};
use crate::error::store_error;
use crate::organizations::lock_key;
use crate::users::bind_new_users;

/// The most calls one statement writes.
const MAX_BATCH: usize = 64;

/// The rows of a batch of new users, written only for the organizations (`$57`, advisory
/// keys `$58`, in key order) still at the versions `$59` once share-locked and without a
/// seat limit. Returns the ids of the users written.
const INSERT_IF_UNCHANGED: &str = concat!(
    "WITH unchanged AS ( \
    SELECT array_agg(g.org) AS orgs FROM unnest($57::uuid[], $58::bigint[], $59::bigint[]) AS g(org, lock_key, version) \
    CROSS JOIN LATERAL roster_lock_organization(g.org, g.lock_key, false) o \
    WHERE o.version = g.version AND o.seat_limit IS NULL), ",
    user_ctes!(" WHERE org_id = ANY ((SELECT orgs FROM unchanged)::uuid[])"),
    ", ",
    append_ctes!(" WHERE org_id = ANY ((SELECT orgs FROM unchanged)::uuid[])"),
    " SELECT id FROM new_user"
);

/// SQLSTATE `foreign_key_violation`: a role of the user was deleted meanwhile.
const FOREIGN_KEY_VIOLATION: &str = "23503";

/// One waiting call.
struct Pending {
    version: i64,
    new: NewUser,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// The batching writer of a [`crate::PostgresStorage`].
#[derive(Debug)]
pub(crate) struct NewUserWriter {
    /// The queue connections.
    pool: PgPool,
    /// The queue of the batching task, started by the first call (on its runtime) and
    /// again if that runtime is gone.
    queue: Mutex<Option<mpsc::UnboundedSender<Pending>>>,
}

/// The batching task stopped before answering (its runtime is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the new-user writer stopped")]
struct WriterStopped;

impl NewUserWriter {
    /// A writer on `pool`, which runs at most as many statements at once as it has connections.
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool, queue: Mutex::new(None) }
    }

    /// Writes `new` with whatever other calls are waiting: `Ok(false)` when its
    /// organization changed (see the port).
    pub(crate) async fn write(&self, version: i64, new: &NewUser) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending { version, new: new.clone(), reply };
        {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            let sender = match &*queue {
                Some(sender) if !sender.is_closed() => sender,
                _ => queue.insert(spawn_batcher(self.pool.clone())),
            };
            sender.send(pending).map_err(|_| StoreError::other(WriterStopped))?;
        }
        answer.await.map_err(|_| StoreError::other(WriterStopped))?
    }
}

/// Starts the task that gathers waiting calls into batches.
fn spawn_batcher(pool: PgPool) -> mpsc::UnboundedSender<Pending> {
    let (sender, mut queue) = mpsc::unbounded_channel::<Pending>();
    tokio::spawn(async move {
        // One queue connection stays free for the mail worker, which must keep up with the
        // emails of the users written here (it starved when batches held every connection).
        let connections = pool.options().get_max_connections() as usize;
        let slots = Arc::new(Semaphore::new(connections.saturating_sub(1).max(1)));
        let mut held_back = None;
        loop {
            let first = match held_back.take() {
                Some(first) => first,
                None => match queue.recv().await {
                    Some(first) => first,
                    None => return,
                },
            };
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
            let mut versions = BTreeMap::from([(first.new.user.org_id, first.version)]);
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                let Ok(next) = queue.try_recv() else { break };
                match versions.entry(next.new.user.org_id) {
                    Entry::Occupied(read) if *read.get() != next.version => {
                        held_back = Some(next);
                        break;
                    }
                    Entry::Occupied(_) => {}
                    Entry::Vacant(entry) => {
                        entry.insert(next.version);
                    }
                }
                batch.push(next);
            }
            let pool = pool.clone();
            tokio::spawn(async move {
                write_batch(&pool, batch, &versions).await;
                drop(slot);
            });
        }
    });
    sender
}

/// Writes a batch and answers its calls; a failed batch of several is written call by call.
async fn write_batch(pool: &PgPool, batch: Vec<Pending>, versions: &BTreeMap<OrgId, i64>) {
    if batch.len() > 1
        && let Ok(written) = insert(pool, &batch, versions).await
    {
        for pending in batch {
            let _ = pending.reply.send(Ok(written.contains(pending.new.user.id.as_uuid())));
        }
        return;
    }
    let alone = batch.into_iter().map(|pending| async move {
        let versions = BTreeMap::from([(pending.new.user.org_id, pending.version)]);
        let outcome = match insert(pool, std::slice::from_ref(&pending), &versions).await {
            Ok(written) => Ok(!written.is_empty()),
            Err(Failure::Database(sqlx::Error::Database(db)))
                if db.code().as_deref() == Some(FOREIGN_KEY_VIOLATION) =>
            {
                Ok(false)
            }
            Err(Failure::Database(e)) => Err(store_error(e)),
            Err(Failure::Store(e)) => Err(e),
        };
        let _ = pending.reply.send(outcome);
    });
    futures::future::join_all(alone).await;
}

/// Why a statement failed: it could not be built, or the database refused it.
enum Failure {
    Store(StoreError),
    Database(sqlx::Error),
}

/// Runs [`INSERT_IF_UNCHANGED`] for `batch`, returning the ids of the users written.
async fn insert(pool: &PgPool, batch: &[Pending], versions: &BTreeMap<OrgId, i64>) -> Result<Vec<Uuid>, Failure> {
    let users: Vec<_> = batch.iter().map(|p| &p.new.user).collect();
    let audit: Vec<_> = batch.iter().flat_map(|p| p.new.audit_events.iter().cloned()).collect();
    let invitations: Vec<_> = batch.iter().filter_map(|p| p.new.invitation.clone()).collect();
    let outbox: Vec<_> = batch.iter().flat_map(|p| p.new.outbox_messages.iter().cloned()).collect();
    // Locks in key order, so that two batches never wait for each other in a cycle.
    let mut guards: Vec<(i64, OrgId, i64)> = versions.iter().map(|(&org, &v)| (lock_key(org), org, v)).collect();
    guards.sort_unstable();
    let query = bind_rows(sqlx::query(INSERT_IF_UNCHANGED), &audit, &invitations, &outbox)
        .and_then(|query| bind_new_users(query, &users))
        .map_err(Failure::Store)?
        .bind(guards.iter().map(|(_, org, _)| *org.as_uuid()).collect::<Vec<_>>())
        .bind(guards.iter().map(|(key, _, _)| *key).collect::<Vec<_>>())
        .bind(guards.iter().map(|(_, _, version)| *version).collect::<Vec<_>>());
    let rows = query.fetch_all(pool).await.map_err(Failure::Database)?;
    rows.iter().map(|row| row.try_get::<Uuid, _>(0).map_err(|e| Failure::Store(StoreError::other(e)))).collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use roster_domain::ids::UserId;
    use roster_domain::user::{User, UserStatus};
    use roster_domain::values::{DisplayName, Email, Metadata, Tags, Username};

    use super::*;
    use crate::testing;

    /// A new organization (version 1, no seat limit) with one role, by plain SQL.
    async fn organization(pool: &PgPool, slug: &str) -> (OrgId, Uuid) {
        let (org, role) = (Uuid::now_v7(), Uuid::now_v7());
        for sql in [
            "INSERT INTO organizations (id, slug, name, default_role_id, invitation_ttl_seconds, status, created_by, \
             modified_by, created_at, updated_at, version, partner) \
             VALUES ($1, $3, 'Org', $2, 604800, 'active', 't', 't', now(), now(), 1, false)",
            "INSERT INTO roles (id, org_id, key, name, description, builtin, created_at, updated_at) \
             VALUES ($2, $1, 'member', 'Member', '', true, now(), now())",
        ] {
            sqlx::query(sql).bind(org).bind(role).bind(slug).execute(pool).await.unwrap();
        }
        (OrgId::from_uuid(org), role)
    }

    fn pending(org: OrgId, role: Uuid, version: i64, name: &str) -> Pending {
        let now = Utc::now();
        let user = User {
            id: UserId::from_uuid(Uuid::now_v7()),
            org_id: org,
            email: Email::parse(format!("{name}@example.com")).unwrap(),
            username: Username::parse(name).unwrap(),
            name: DisplayName::parse(name).unwrap(),
            first_name: None,
            last_name: None,
            location: None,
            locale: None,
            tags: Tags::parse(["a:b.c_d-e", "vip"]).unwrap(),
            metadata: Metadata::default(),
            status: UserStatus::Invited,
            password_hash: None,
            role_ids: vec![roster_domain::ids::RoleId::from_uuid(role)],
            last_login_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let new = NewUser { user, audit_events: Vec::new(), invitation: None, outbox_messages: Vec::new() };
        Pending { version, new, reply: oneshot::channel().0 }
    }

    /// One statement writes the users of every organization still at the version read, and
    /// none of one whose version moved on.
    #[tokio::test]
    async fn one_statement_writes_the_users_of_the_organizations_still_as_read() {
        let storage = testing::fresh_database().await;
        let pool = &storage.pool;
        let (acme, acme_role) = organization(pool, "acme").await;
        let (globex, globex_role) = organization(pool, "globex").await;
        let batch = vec![
            pending(acme, acme_role, 1, "ada"),
            pending(globex, globex_role, 0, "grace"),
            pending(acme, acme_role, 1, "alan"),
        ];
        let versions = BTreeMap::from([(acme, 1), (globex, 0)]);
        let Ok(mut written) = insert(pool, &batch, &versions).await else { panic!("the batch failed") };
        written.sort_unstable();
        let mut expected = vec![*batch[0].new.user.id.as_uuid(), *batch[2].new.user.id.as_uuid()];
        expected.sort_unstable();
        assert_eq!(written, expected);
        let (users, assignments): (i64, i64) =
            sqlx::query_as("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM user_roles WHERE org_id = $1)")
                .bind(acme.as_uuid())
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!((users, assignments), (2, 2));
    }
}
