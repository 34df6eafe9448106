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
use crate::error::StoreError;
use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::organization::{OrgStatus, Organization};
use crate::role::Role;
use crate::user::{User, UserQuery, UserView};
use crate::values::Username;

/// An API key found by its digest, with whether its organization still exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLookup {
    /// The key.
    pub key: ApiKey,
    /// The status of the key's organization (`None` for platform keys).
    pub org_status: Option<OrgStatus>,
}

/// Organization reads.
#[async_trait]
pub trait OrganizationReads: Send + Sync {
    /// The organization, unless it does not exist or is deleted.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn get_organization(&self, id: OrgId) -> Result<Option<Organization>, StoreError>;

    /// Up to `limit` non-deleted organizations with ids greater than `after`, by id.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_organizations(&self, after: Option<OrgId>, limit: u32) -> Result<Vec<Organization>, StoreError>;

    /// The roles of a non-deleted organization, built-ins first.
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
}

/// API key reads.
#[async_trait]
pub trait ApiKeyReads: Send + Sync {
    /// The key whose secret has this digest, revoked or not.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn find_api_key(&self, digest: &SecretDigest) -> Result<Option<KeyLookup>, StoreError>;

    /// Up to `limit` keys of `org` (revoked included) with ids greater than `after`.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn list_api_keys(&self, org: OrgId, after: Option<ApiKeyId>, limit: u32) -> Result<Vec<ApiKey>, StoreError>;

    /// How many unrevoked platform keys exist.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn count_platform_keys(&self) -> Result<u64, StoreError>;
}

/// The storage entry point: reads, health and transactions.
#[async_trait]
pub trait Storage: OrganizationReads + UserReads + ApiKeyReads {
    /// Starts a read-write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so read-then-write never deadlocks.
    ///
    /// # Errors
    /// [`StoreError::Other`] when no connection can be had.
    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError>;

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

    /// Inserts a user and its role assignments.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`]`(UserEmail)` or `(UserUsername)` when a
    /// non-deleted user of the organization has the same normalised email or username.
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

    /// Soft-deletes those of `ids` that are non-deleted users of `org`, returning them.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn delete_users(&mut self, org: OrgId, ids: &[UserId], at: DateTime<Utc>) -> Result<Vec<UserId>, StoreError>;
}

/// API key writes inside a transaction.
#[async_trait]
pub trait ApiKeyWrites: Send {
    /// Stores a new key.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), StoreError>;

    /// Revokes an unrevoked key of `org`; `false` when there is none.
    ///
    /// # Errors
    /// [`StoreError::Other`] on storage failure.
    async fn revoke_api_key(&mut self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, StoreError>;
}

/// One unit of work. Dropping it without [`Transaction::commit`] rolls everything back.
#[async_trait]
pub trait Transaction: OrganizationWrites + UserWrites + ApiKeyWrites {
    /// Makes every write of the transaction durable at once. The transaction MUST NOT be
    /// used afterwards.
    ///
    /// # Errors
    /// [`StoreError::Other`] when the commit fails, or the transaction was already
    /// committed; nothing was written then.
    async fn commit(&mut self) -> Result<(), StoreError>;
}
