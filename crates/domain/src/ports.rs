//! Storage ports. Reads that need no transaction go through [`Storage`] directly (one
//! round trip each); every use case that writes opens one [`Transaction`] with
//! [`Storage::begin`], does its reads-for-update and writes through it, and commits once,
//! so a use case's changes land together or not at all.
//!
//! Adapters enforce the invariants that need the database: uniqueness through named
//! constraints (reported as [`StoreError::Duplicate`]) and row locks taken by the
//! `*_for_update` methods, held until the transaction ends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::api_key::{ApiKey, SecretDigest};
use crate::audit::{AuditEvent, AuditQuery};
use crate::error::StoreError;
use crate::grant::Grant;
use crate::ids::{ApiKeyId, GrantId, InvitationId, MessageId, OrgId, RoleId, SessionId, UserId};
use crate::invitation::{Invitation, InvitationQuery};
use crate::organization::{OrgStatus, Organization};
use crate::outbox::{Claim, OutboxMessage};
use crate::role::Role;
use crate::session::{Session, ThrottleState};
use crate::user::{User, UserQuery, UserStatus, UserView};
use crate::values::{Email, Slug, Username};

/// An API key found by its digest, with its organization's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLookup {
    /// The key.
    pub key: ApiKey,
    /// The status of the key's organization (`None` for platform keys).
    pub org_status: Option<OrgStatus>,
    /// Whether the key's organization is a partner.
    pub org_partner: bool,
}

/// A session found by its digest, with its organization's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionLookup {
    /// The session.
    pub session: Session,
    /// The status of the session's organization (`None` if it is gone).
    pub org_status: Option<OrgStatus>,
    /// Whether the session's organization is a partner.
    pub org_partner: bool,
}

/// What one user may do, as stored: enough to compute their effective permissions in
/// one round trip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAccess {
    /// The user.
    pub user_id: UserId,
    /// Their status; only active users hold permissions (rules 6 and 7).
    pub status: UserStatus,
    /// The roles they hold.
    pub roles: Vec<RoleRef>,
    /// The permissions of their custom roles and their unexpired direct grants.
    pub permissions: Vec<String>,
}

/// A role as a principal holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleRef {
    /// The role's id.
    pub id: RoleId,
    /// The role's key.
    pub key: String,
    /// Whether it is built in (its permissions are then fixed by the code).
    pub builtin: bool,
}

/// Which of an organization's API keys to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOwnerFilter {
    /// Its service keys.
    Service,
    /// One user's personal keys.
    User(UserId),
}

/// Organization reads.
#[async_trait]
pub trait OrganizationReads: Send + Sync {
    /// The organization, unless it does not exist or is deleted.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn get_organization(&self, id: OrgId) -> Result<Option<Organization>, StoreError>;

    /// The non-deleted organization with this slug.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn get_organization_by_slug(&self, slug: &Slug) -> Result<Option<Organization>, StoreError>;

    /// Up to `limit` non-deleted organizations with ids greater than `after`, by id; with
    /// `within`, only that organization and its children.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_organizations(
        &self,
        within: Option<OrgId>,
        after: Option<OrgId>,
        limit: u32,
    ) -> Result<Vec<Organization>, StoreError>;

    /// The roles of a non-deleted organization, built-ins first, then by key.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_roles(&self, org: OrgId) -> Result<Vec<Role>, StoreError>;
}

/// User reads. Deleted users are invisible to all of them.
#[async_trait]
pub trait UserReads: Send + Sync {
    /// The user with its organization's summary, in one round trip. `None` when the user
    /// or its organization does not exist or is deleted, or the user is of another org.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn get_user(&self, org: OrgId, id: UserId) -> Result<Option<UserView>, StoreError>;

    /// Up to `query.limit` users of `org` matching the filter, after the cursor, in order.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_users(&self, org: OrgId, query: &UserQuery) -> Result<Vec<User>, StoreError>;

    /// The non-deleted user of `org` with this (normalised) email, password hash included.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn user_by_email(&self, org: OrgId, email: &Email) -> Result<Option<User>, StoreError>;

    /// What each of the non-deleted users among `ids` of `org` may do, in one round trip;
    /// grants that expired by `now` are left out. Unknown ids are skipped.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn user_access(&self, org: OrgId, ids: &[UserId], now: DateTime<Utc>) -> Result<Vec<UserAccess>, StoreError>;

    /// The direct grants of a user (expired ones included), by permission.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_grants(&self, org: OrgId, user: UserId) -> Result<Vec<Grant>, StoreError>;
}

/// API key reads.
#[async_trait]
pub trait ApiKeyReads: Send + Sync {
    /// The key whose secret has this digest, revoked or not.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn find_api_key(&self, digest: &SecretDigest) -> Result<Option<KeyLookup>, StoreError>;

    /// Up to `limit` keys of `org` of one owner (revoked included) with ids greater than
    /// `after`.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_api_keys(
        &self,
        org: OrgId,
        owner: KeyOwnerFilter,
        after: Option<ApiKeyId>,
        limit: u32,
    ) -> Result<Vec<ApiKey>, StoreError>;

    /// The session whose token has this digest, revoked or expired or not.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn find_session(&self, digest: &SecretDigest) -> Result<Option<SessionLookup>, StoreError>;

    /// Up to `limit` unrevoked, unexpired-at-`now` sessions of a user with ids greater
    /// than `after`.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_sessions(
        &self,
        org: OrgId,
        user: UserId,
        now: DateTime<Utc>,
        after: Option<SessionId>,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError>;

    /// The login-throttle state of each key that has one.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn login_throttle(&self, keys: &[String]) -> Result<Vec<(String, ThrottleState)>, StoreError>;

    /// How many unrevoked platform keys exist.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn count_platform_keys(&self) -> Result<u64, StoreError>;
}

/// Audit reads.
#[async_trait]
pub trait AuditReads: Send + Sync {
    /// Up to `query.limit` events of `org` matching the query, newest first.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;
}

/// Invitation reads. Each carries its user's email and roles, read in the same query.
#[async_trait]
pub trait InvitationReads: Send + Sync {
    /// The invitation of `org`, whatever its status.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn get_invitation(&self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError>;

    /// Up to `query.limit` invitations of `org` with ids greater than `query.after`, by
    /// id, with the status `query.status` as of `query.now` (expired = pending with
    /// `expires_at <= now`; pending = pending with `expires_at > now`).
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_invitations(&self, org: OrgId, query: &InvitationQuery) -> Result<Vec<Invitation>, StoreError>;

    /// The invitation whose current token has this digest, in any organization.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn find_invitation(&self, digest: &SecretDigest) -> Result<Option<Invitation>, StoreError>;
}

/// The rows that make a new user: the user with its role assignments, and what is
/// written with it (its audit events, its invitation, its emails). They land together,
/// inside a transaction ([`NewUser::write`]) or at once
/// ([`Storage::insert_user_if_unchanged`]).
#[derive(Clone, Debug)]
pub struct NewUser {
    /// The user; its `role_ids` are its role assignments.
    pub user: User,
    /// The change's audit events.
    pub audit_events: Vec<AuditEvent>,
    /// The user's invitation, when it is invited.
    pub invitation: Option<Invitation>,
    /// The emails to queue.
    pub outbox_messages: Vec<OutboxMessage>,
}

impl NewUser {
    /// Writes the rows in `tx`, the user first.
    ///
    /// # Errors
    /// As [`UserWrites::insert_user`] and the other inserts.
    pub async fn write(&self, tx: &mut dyn Transaction) -> Result<(), StoreError> {
        tx.insert_user(&self.user).await?;
        for event in &self.audit_events {
            tx.insert_audit_event(event).await?;
        }
        if let Some(invitation) = &self.invitation {
            tx.insert_invitation(invitation).await?;
        }
        for message in &self.outbox_messages {
            tx.insert_outbox_message(message).await?;
        }
        Ok(())
    }
}

/// The storage entry point: reads, health and transactions.
#[async_trait]
pub trait Storage: OrganizationReads + UserReads + ApiKeyReads + AuditReads + InvitationReads {
    /// Starts a read-write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so read-then-write never deadlocks.
    ///
    /// # Errors
    /// [`StoreError::Other`] when no connection can be had.
    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError>;

    /// Writes a new user's rows atomically, provided that, under the lock
    /// [`OrganizationWrites::organization_for_share`] takes, the user's organization is
    /// not deleted, is still at `org_version`, has no seat limit, and still has every
    /// role the user is given. `Ok(false)`, with nothing written, when it is not: the
    /// caller then takes the transactional path, which reads what changed.
    ///
    /// It lets a user creation that read the organization beforehand skip the
    /// transaction's round trips. The default runs one transaction through
    /// [`Storage::begin`]; PostgreSQL does it in one statement.
    ///
    /// # Errors
    /// As [`UserWrites::insert_user`]: [`StoreError::Duplicate`]`(UserEmail)` or
    /// `(UserUsername)` for a taken email or username, and nothing is written.
    async fn insert_user_if_unchanged(&self, org_version: i64, new: &NewUser) -> Result<bool, StoreError> {
        let org = new.user.org_id;
        let mut tx = self.begin().await?;
        match tx.organization_for_share(org).await? {
            Some(current) if current.version == org_version && current.seat_limit.is_none() => {}
            _ => return Ok(false),
        }
        let roles = tx.roles_of(org).await?;
        if !new.user.role_ids.iter().all(|id| roles.iter().any(|role| role.id == *id)) {
            return Ok(false);
        }
        new.write(tx.as_mut()).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    /// [`StoreError::Other`] when it does not.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Organization writes inside a transaction.
#[async_trait]
pub trait OrganizationWrites: Send {
    /// Inserts an organization and its initial roles.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`]`(OrganizationSlug)` when a non-deleted
    /// organization has the slug.
    async fn insert_organization(&mut self, org: &Organization, roles: &[Role]) -> Result<(), StoreError>;

    /// The non-deleted organization, locked against concurrent writers until the
    /// transaction ends (`SELECT … FOR UPDATE`).
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn organization_for_update(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError>;

    /// The non-deleted organization, locked against changes to it (but not against other
    /// sharers) until the transaction ends (`SELECT … FOR SHARE`). Adapters whose
    /// transactions are serial anyway may keep this default.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn organization_for_share(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        self.organization_for_update(id).await
    }

    /// Overwrites a row read with [`Self::organization_for_update`].
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`]`(OrganizationSlug)` on a slug clash.
    async fn update_organization(&mut self, org: &Organization) -> Result<(), StoreError>;

    /// The roles of `org`, for checking role ids inside the transaction.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn roles_of(&mut self, org: OrgId) -> Result<Vec<Role>, StoreError>;

    /// Stores a new custom role.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`]`(RoleKey)` when the organization has a role
    /// with the key.
    async fn insert_role(&mut self, role: &Role) -> Result<(), StoreError>;

    /// The role, locked until the transaction ends.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn role_for_update(&mut self, org: OrgId, id: RoleId) -> Result<Option<Role>, StoreError>;

    /// Overwrites a role read with [`Self::role_for_update`].
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`]`(RoleKey)` on a key clash.
    async fn update_role(&mut self, role: &Role) -> Result<(), StoreError>;

    /// How many non-deleted users hold the role.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn count_role_holders(&mut self, org: OrgId, role: RoleId) -> Result<u64, StoreError>;

    /// Gives every non-deleted holder of `from` the role `to` instead (once, if they
    /// hold both), bumping their versions and setting their `updated_at` to `at`.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn reassign_role(
        &mut self,
        org: OrgId,
        from: RoleId,
        to: RoleId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Deletes a role nobody holds any more.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn delete_role(&mut self, org: OrgId, id: RoleId) -> Result<(), StoreError>;
}

/// User writes inside a transaction.
#[async_trait]
pub trait UserWrites: Send {
    /// How many non-deleted users (invited included) `org` has.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn count_seats(&mut self, org: OrgId) -> Result<u64, StoreError>;

    /// Whether a non-deleted user of `org` has this username.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn username_taken(&mut self, org: OrgId, username: &Username) -> Result<bool, StoreError>;

    /// Inserts a user and its role assignments. An adapter may hold the row and send it
    /// with the transaction's next call (PostgreSQL does, to save a round trip).
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`]`(UserEmail)` or `(UserUsername)` when a
    /// non-deleted user of the organization has the same normalised email or username:
    /// from this call, or at the latest from the transaction's next call or its commit.
    async fn insert_user(&mut self, user: &User) -> Result<(), StoreError>;

    /// The non-deleted user, locked until the transaction ends.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn user_for_update(&mut self, org: OrgId, id: UserId) -> Result<Option<User>, StoreError>;

    /// Overwrites a row read with [`Self::user_for_update`], role assignments included.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] as [`Self::insert_user`] does.
    async fn update_user(&mut self, user: &User) -> Result<(), StoreError>;

    /// Soft-deletes those of `ids` that are non-deleted users of `org`, returning them,
    /// and revokes their pending invitations (at `at`, bumping their versions).
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn delete_users(&mut self, org: OrgId, ids: &[UserId], at: DateTime<Utc>) -> Result<Vec<UserId>, StoreError>;

    /// How many active users of `org` hold `owner_role`, leaving out `excluding`. Callers
    /// hold the organization's row lock, so the answer stays true until they commit.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn count_active_owners(
        &mut self,
        org: OrgId,
        owner_role: RoleId,
        excluding: &[UserId],
    ) -> Result<u64, StoreError>;

    /// Stores a direct grant.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`]`(GrantPermission)` when the user already has
    /// a grant of the permission.
    async fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError>;

    /// The grant, locked until the transaction ends.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn grant_for_update(&mut self, org: OrgId, user: UserId, id: GrantId) -> Result<Option<Grant>, StoreError>;

    /// Overwrites a grant read with [`Self::grant_for_update`].
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`]`(GrantPermission)` on a clash.
    async fn update_grant(&mut self, grant: &Grant) -> Result<(), StoreError>;

    /// Deletes a grant.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn delete_grant(&mut self, org: OrgId, id: GrantId) -> Result<(), StoreError>;
}

/// API key writes inside a transaction.
#[async_trait]
pub trait ApiKeyWrites: Send {
    /// Stores a new key.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), StoreError>;

    /// Revokes an unrevoked key of `org` with this owner; `false` when there is none.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn revoke_api_key(
        &mut self,
        org: OrgId,
        owner: KeyOwnerFilter,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records that a key of `org` (`None`: a platform key) authenticated a request at `at`.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn touch_api_key(&mut self, org: Option<OrgId>, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Stores a new session.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError>;

    /// Revokes an unrevoked session of `user` of `org`; `false` when there is none.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn revoke_session(
        &mut self,
        org: OrgId,
        user: UserId,
        id: SessionId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Revokes every unrevoked session of `user` of `org` (its password changed, or it was
    /// suspended or deleted), returning how many.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn revoke_user_sessions(&mut self, org: OrgId, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Records that a session of `org` authenticated a request at `at`.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn touch_session(&mut self, org: OrgId, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records a failed login for `key` at `now` and returns the failures within the
    /// window, this one included. Older failures (the last one before `now - window`)
    /// start the count afresh. Atomic under concurrency.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn record_login_failure(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<u32, StoreError>;

    /// Refuses logins for `key` until `until`.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn lock_login(&mut self, key: &str, until: DateTime<Utc>) -> Result<(), StoreError>;

    /// Forgets the failures of `key` (after a successful login).
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn clear_login_failures(&mut self, key: &str) -> Result<(), StoreError>;
}

/// Audit writes inside a transaction, so an event lands exactly when its change does.
#[async_trait]
pub trait AuditWrites: Send {
    /// Stores an event.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn insert_audit_event(&mut self, event: &AuditEvent) -> Result<(), StoreError>;
}

/// Invitation writes inside a transaction. Lock order: the user before its invitation.
#[async_trait]
pub trait InvitationWrites: Send {
    /// Stores a new invitation (its `email` and `role_ids` are the user's and not stored).
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError>;

    /// The invitation, locked until the transaction ends.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn invitation_for_update(&mut self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError>;

    /// Overwrites an invitation read with [`Self::invitation_for_update`]: status, digest,
    /// expiry, login URL, timestamps and version.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn update_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError>;

    /// Queues an email, delivered after the transaction commits (never if it rolls back).
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn insert_outbox_message(&mut self, message: &OutboxMessage) -> Result<(), StoreError>;
}

/// The outbox as its delivery worker sees it. Several workers (app instances) may run at
/// once: a claim is exclusive until its lease ends, and marking a message checks that the
/// claim is still the caller's (`attempts` is the fencing token), so a message is never
/// delivered twice by two live workers.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims up to `limit` pending messages due at `now` whose previous claim (if any)
    /// lapsed: each gets `attempts + 1` and is leased until `now + lease`. Concurrent
    /// callers get disjoint messages (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn claim_due_messages(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Marks claimed messages sent, recording when and how, each only if it still carries
    /// its claim's attempt count; with `erase_mail`, forgets what they said (links and
    /// passwords). One call records a whole batch (one statement on PostgreSQL). Returns
    /// the ids marked: a claim missing from it was lost (or never made).
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure; then none of them is marked.
    async fn mark_sent(
        &self,
        claims: &[Claim],
        at: DateTime<Utc>,
        via: &str,
        erase_mail: bool,
    ) -> Result<Vec<MessageId>, StoreError>;

    /// Records a failed attempt of a claimed message (if `attempts` still matches): pending
    /// again from `retry_at`, or failed for good when `retry_at` is `None`. `false` when
    /// the claim was lost.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn mark_failed(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` messages with ids greater than `after`, by id.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_messages(&self, after: Option<MessageId>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError>;

    /// One message.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn get_message(&self, id: MessageId) -> Result<Option<OutboxMessage>, StoreError>;
}

/// One unit of work. Dropping it without [`Transaction::commit`] rolls everything back.
#[async_trait]
pub trait Transaction: OrganizationWrites + UserWrites + ApiKeyWrites + AuditWrites + InvitationWrites {
    /// Makes every write of the transaction durable at once. The transaction MUST NOT be
    /// used afterwards.
    ///
    /// # Errors
    /// [`StoreError::Other`] when the commit fails, or the transaction was already
    /// committed; nothing was written then.
    async fn commit(&mut self) -> Result<(), StoreError>;
}
