//! Test doubles of the ports, for Roster's own tests and for embedders testing code that
//! drives [`crate::service::Roster`]: [`mockall`] mocks of the storage and hashing ports,
//! and a [`FixedClock`] that only moves when told to.
//!
//! Enabled by the `mocks` feature (always on in this crate's tests).
//!
//! ```
//! use std::sync::Arc;
//!
//! use roster_domain::mocks::{FixedClock, MockPasswordHasher, MockStorage, MockTransaction};
//! use roster_domain::ports::{Storage as _, Transaction as _};
//!
//! let mut tx = MockTransaction::new();
//! tx.expect_commit().times(1).returning(|| Ok(()));
//! let mut storage = MockStorage::new();
//! storage.expect_begin().times(1).return_once(move || Ok(Box::new(tx)));
//!
//! let mut opened = futures::executor::block_on(storage.begin()).unwrap();
//! futures::executor::block_on(opened.commit()).unwrap();
//!
//! let clock = Arc::new(FixedClock::default());
//! clock.advance(chrono::Duration::seconds(5));
//! let _hasher = MockPasswordHasher::new();
//! ```

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use mockall::mock;

use crate::api_key::{ApiKey, SecretDigest};
use crate::audit::{AuditEvent, AuditQuery};
use crate::clock::Clock;
use crate::error::StoreError;
use crate::grant::Grant;
use crate::hashing::{HashingError, PasswordHash};
use crate::ids::{ApiKeyId, GrantId, InvitationId, OrgId, RoleId, SessionId, UserId};
use crate::invitation::{Invitation, InvitationQuery};
use crate::organization::Organization;
use crate::outbox::OutboxMessage;
use crate::ports::{
    ApiKeyReads, ApiKeyWrites, AuditReads, AuditWrites, InvitationReads, InvitationWrites, KeyLookup, KeyOwnerFilter,
    NewUser, OrganizationReads, OrganizationWrites, SessionLookup, Transaction, UserAccess, UserReads, UserWrites,
};
use crate::role::Role;
use crate::session::{Session, ThrottleState};
use crate::user::{User, UserQuery, UserView};
use crate::values::{Email, Password, Slug, Username};

mock! {
    /// A mock of the storage entry point ([`crate::ports::Storage`] and the read ports it
    /// extends). [`crate::ports::Storage::begin`] returns whatever the test configures,
    /// typically a boxed [`MockTransaction`].
    #[derive(Debug)]
    pub Storage {}

    #[async_trait]
    impl OrganizationReads for Storage {
        async fn get_organization(&self, id: OrgId) -> Result<Option<Organization>, StoreError>;
        async fn get_organization_by_slug(&self, slug: &Slug) -> Result<Option<Organization>, StoreError>;
        async fn list_organizations(
            &self,
            within: Option<OrgId>,
            after: Option<OrgId>,
            limit: u32,
        ) -> Result<Vec<Organization>, StoreError>;
        async fn list_roles(&self, org: OrgId) -> Result<Vec<Role>, StoreError>;
    }

    #[async_trait]
    impl UserReads for Storage {
        async fn get_user(&self, org: OrgId, id: UserId) -> Result<Option<UserView>, StoreError>;
        async fn list_users(&self, org: OrgId, query: &UserQuery) -> Result<Vec<User>, StoreError>;
        async fn user_by_email(&self, org: OrgId, email: &Email) -> Result<Option<User>, StoreError>;
        async fn user_access(
            &self,
            org: OrgId,
            ids: &[UserId],
            now: DateTime<Utc>,
        ) -> Result<Vec<UserAccess>, StoreError>;
        async fn list_grants(&self, org: OrgId, user: UserId) -> Result<Vec<Grant>, StoreError>;
    }

    #[async_trait]
    impl ApiKeyReads for Storage {
        async fn find_api_key(&self, digest: &SecretDigest) -> Result<Option<KeyLookup>, StoreError>;
        async fn list_api_keys(
            &self,
            org: OrgId,
            owner: KeyOwnerFilter,
            after: Option<ApiKeyId>,
            limit: u32,
        ) -> Result<Vec<ApiKey>, StoreError>;
        async fn find_session(&self, digest: &SecretDigest) -> Result<Option<SessionLookup>, StoreError>;
        async fn list_sessions(
            &self,
            org: OrgId,
            user: UserId,
            now: DateTime<Utc>,
            after: Option<SessionId>,
            limit: u32,
        ) -> Result<Vec<Session>, StoreError>;
        async fn login_throttle(&self, keys: &[String]) -> Result<Vec<(String, ThrottleState)>, StoreError>;
        async fn count_platform_keys(&self) -> Result<u64, StoreError>;
    }

    #[async_trait]
    impl AuditReads for Storage {
        async fn list_audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;
    }

    #[async_trait]
    impl InvitationReads for Storage {
        async fn get_invitation(&self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError>;
        async fn list_invitations(&self, org: OrgId, query: &InvitationQuery) -> Result<Vec<Invitation>, StoreError>;
        async fn find_invitation(&self, digest: &SecretDigest) -> Result<Option<Invitation>, StoreError>;
    }

    #[async_trait]
    impl crate::ports::Storage for Storage {
        async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError>;
        async fn ping(&self) -> Result<(), StoreError>;
        async fn insert_user_if_unchanged(&self, org_version: i64, new: &NewUser) -> Result<bool, StoreError>;
    }
}

mock! {
    /// A mock of one storage transaction ([`Transaction`] and the write ports it extends).
    /// Hand it out from [`MockStorage`]'s `begin` expectation, boxed.
    #[derive(Debug)]
    pub Transaction {}

    #[async_trait]
    impl OrganizationWrites for Transaction {
        async fn insert_organization(&mut self, org: &Organization, roles: &[Role]) -> Result<(), StoreError>;
        async fn organization_for_update(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError>;
        async fn organization_for_share(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError>;
        async fn update_organization(&mut self, org: &Organization) -> Result<(), StoreError>;
        async fn roles_of(&mut self, org: OrgId) -> Result<Vec<Role>, StoreError>;
        async fn insert_role(&mut self, role: &Role) -> Result<(), StoreError>;
        async fn role_for_update(&mut self, org: OrgId, id: RoleId) -> Result<Option<Role>, StoreError>;
        async fn update_role(&mut self, role: &Role) -> Result<(), StoreError>;
        async fn count_role_holders(&mut self, org: OrgId, role: RoleId) -> Result<u64, StoreError>;
        async fn reassign_role(&mut self, org: OrgId, from: RoleId, to: RoleId, at: DateTime<Utc>) -> Result<(), StoreError>;
        async fn delete_role(&mut self, org: OrgId, id: RoleId) -> Result<(), StoreError>;
    }

    #[async_trait]
    impl UserWrites for Transaction {
        async fn count_seats(&mut self, org: OrgId) -> Result<u64, StoreError>;
        async fn username_taken(&mut self, org: OrgId, username: &Username) -> Result<bool, StoreError>;
        async fn insert_user(&mut self, user: &User) -> Result<(), StoreError>;
        async fn user_for_update(&mut self, org: OrgId, id: UserId) -> Result<Option<User>, StoreError>;
        async fn update_user(&mut self, user: &User) -> Result<(), StoreError>;
        async fn delete_users(
            &mut self,
            org: OrgId,
            ids: &[UserId],
            at: DateTime<Utc>,
        ) -> Result<Vec<UserId>, StoreError>;
        async fn count_active_owners(
            &mut self,
            org: OrgId,
            owner_role: RoleId,
            excluding: &[UserId],
        ) -> Result<u64, StoreError>;
        async fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError>;
        async fn grant_for_update(
            &mut self,
            org: OrgId,
            user: UserId,
            id: GrantId,
        ) -> Result<Option<Grant>, StoreError>;
        async fn update_grant(&mut self, grant: &Grant) -> Result<(), StoreError>;
        async fn delete_grant(&mut self, org: OrgId, id: GrantId) -> Result<(), StoreError>;
    }

    #[async_trait]
    impl ApiKeyWrites for Transaction {
        async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), StoreError>;
        async fn revoke_api_key(
            &mut self,
            org: OrgId,
            owner: KeyOwnerFilter,
            id: ApiKeyId,
            at: DateTime<Utc>,
        ) -> Result<bool, StoreError>;
        async fn touch_api_key(&mut self, org: Option<OrgId>, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError>;
        async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError>;
        async fn revoke_session(
            &mut self,
            org: OrgId,
            user: UserId,
            id: SessionId,
            at: DateTime<Utc>,
        ) -> Result<bool, StoreError>;
        async fn revoke_user_sessions(&mut self, org: OrgId, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError>;
        async fn touch_session(&mut self, org: OrgId, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError>;
        async fn record_login_failure(
            &mut self,
            key: &str,
            now: DateTime<Utc>,
            window: Duration,
        ) -> Result<u32, StoreError>;
        async fn lock_login(&mut self, key: &str, until: DateTime<Utc>) -> Result<(), StoreError>;
        async fn clear_login_failures(&mut self, key: &str) -> Result<(), StoreError>;
    }

    #[async_trait]
    impl AuditWrites for Transaction {
        async fn insert_audit_event(&mut self, event: &AuditEvent) -> Result<(), StoreError>;
    }

    #[async_trait]
    impl InvitationWrites for Transaction {
        async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError>;
        async fn invitation_for_update(&mut self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError>;
        async fn update_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError>;
        async fn insert_outbox_message(&mut self, message: &OutboxMessage) -> Result<(), StoreError>;
    }

    #[async_trait]
    impl Transaction for Transaction {
        async fn commit(&mut self) -> Result<(), StoreError>;
    }
}

mock! {
    /// A mock of the [`crate::hashing::PasswordHasher`] port, to assert when hashing
    /// happens (and when it must not) without paying for argon2id.
    #[derive(Debug)]
    pub PasswordHasher {}

    #[async_trait]
    impl crate::hashing::PasswordHasher for PasswordHasher {
        async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError>;
        async fn verify(&self, candidate: &str, hash: &PasswordHash) -> bool;
    }
}

/// A [`Clock`] that stands still until a test sets or advances it, so expiries and cache
/// lifetimes can be tested without waiting.
///
/// ```
/// use chrono::Duration;
/// use roster_domain::clock::Clock as _;
/// use roster_domain::mocks::FixedClock;
///
/// let clock = FixedClock::default();
/// let start = clock.now();
/// clock.advance(Duration::seconds(10));
/// assert_eq!(clock.now() - start, Duration::seconds(10));
/// ```
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(at) }
    }

    /// Moves the clock to `at` (backwards too).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }

    /// Moves the clock forward by `by` (backwards for a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Default for FixedClock {
    /// A clock showing 2025-01-01T00:00:00Z.
    fn default() -> Self {
        Self::new(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::UNIX_EPOCH))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let clock = FixedClock::default();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now() - start, Duration::seconds(90));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn mocks_are_debug_and_send() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        let (storage, tx, hasher) = (MockStorage::new(), MockTransaction::new(), MockPasswordHasher::new());
        send_sync(&storage);
        fn send<T: Send>(_: &T) {}
        send(&tx);
        assert_eq!(format!("{storage:?} {tx:?} {hasher:?}"), "MockStorage MockTransaction MockPasswordHasher");
    }
}
