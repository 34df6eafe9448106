//! Fixtures shared by the use-case tests.

use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{Principal, PrincipalKind};
use crate::clock::Clock as _;
use crate::error::Error;
use crate::hashing::PasswordHash;
use crate::ids::{ApiKeyId, OrgId, RoleId, UserId};
use crate::mocks::{FixedClock, MockPasswordHasher, MockStorage, MockTransaction};
use crate::organization::{OrgStatus, Organization};
use crate::role::{BuiltinRole, Role};
use crate::service::{Roster, Settings};
use crate::user::{User, UserStatus, UserView};
use crate::values::{DisplayName, Email, Metadata, OrgName, Slug, Tags, Username};

/// Drives a use case to completion: the domain has no runtime of its own.
pub(super) fn run<F: Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

/// The instant every test starts at.
pub(super) fn now() -> DateTime<Utc> {
    FixedClock::default().now()
}

/// A fresh id.
pub(super) fn uuid() -> Uuid {
    Uuid::now_v7()
}

/// The use cases over `storage`, with a hasher that must not be called.
pub(super) fn roster(storage: MockStorage) -> Roster {
    roster_with(storage, MockPasswordHasher::new())
}

/// The use cases over `storage` and `hasher`, on a clock standing at [`now`].
pub(super) fn roster_with(storage: MockStorage, hasher: MockPasswordHasher) -> Roster {
    roster_at(storage, hasher, Arc::new(FixedClock::default()))
}

/// The use cases on a clock the test controls.
pub(super) fn roster_at(storage: MockStorage, hasher: MockPasswordHasher, clock: Arc<FixedClock>) -> Roster {
    Roster::new(Arc::new(storage), Arc::new(hasher), Settings::default()).with_clock(clock)
}

/// A hasher expected to hash exactly `times` passwords, into a recognisable fake hash.
pub(super) fn fake_hasher(times: usize) -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().times(times).returning(|p| Ok(fake_hash(p.expose())));
    hasher
}

/// The hash [`fake_hasher`] makes of `password`.
pub(super) fn fake_hash(password: &str) -> PasswordHash {
    PasswordHash::from_phc(format!("$fake${password}"))
}

/// Makes `storage.begin()` hand out `tx`, once; several calls queue transactions in order.
pub(super) fn begins(storage: &mut MockStorage, tx: MockTransaction) {
    storage.expect_begin().times(1).return_once(move || Ok(Box::new(tx)));
}

/// A slot a mock's closure fills with what it was called with.
pub(super) type Captured<T> = Arc<Mutex<Option<T>>>;

/// An empty [`Captured`].
pub(super) fn captured<T>() -> Captured<T> {
    Arc::new(Mutex::new(None))
}

/// What a [`Captured`] slot received; panics when it received nothing.
pub(super) fn take<T>(slot: &Captured<T>) -> T {
    slot.lock().unwrap().take().expect("the mock was not called")
}

/// The `(field, code)` pairs of a validation failure; panics on any other outcome.
pub(super) fn invalid_fields<T: Debug>(result: Result<T, Error>) -> Vec<(String, &'static str)> {
    match result {
        Err(Error::Validation(errors)) => errors.fields().iter().map(|f| (f.field.clone(), f.code)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// The fields named by a validation failure.
pub(super) fn invalid_field_names<T: Debug>(result: Result<T, Error>) -> Vec<String> {
    invalid_fields(result).into_iter().map(|(field, _)| field).collect()
}

/// The platform operator's principal.
pub(super) fn platform() -> Principal {
    Principal { key_id: ApiKeyId::from_uuid(uuid()), kind: PrincipalKind::PlatformKey }
}

/// An organization with its built-in roles.
#[derive(Clone, Debug)]
pub(super) struct Tenant {
    pub org: Organization,
    pub roles: Vec<Role>,
}

impl Tenant {
    /// A new organization without a seat limit, `member` as its default role.
    pub fn new(slug: &str) -> Self {
        let id = OrgId::from_uuid(uuid());
        let roles: Vec<Role> =
            BuiltinRole::ALL.iter().map(|&which| Role::builtin(RoleId::from_uuid(uuid()), id, which, now())).collect();
        let org = Organization {
            id,
            slug: Slug::parse(slug).unwrap(),
            name: OrgName::parse(slug.to_uppercase()).unwrap(),
            domain: None,
            description: None,
            logo_url: None,
            icon_url: None,
            parent_id: None,
            seat_limit: None,
            default_role_id: roles[2].id,
            invitation_ttl: Organization::default_invitation_ttl(),
            status: OrgStatus::Active,
            created_by: "operator".into(),
            modified_by: "operator".into(),
            created_at: now(),
            updated_at: now(),
            version: 1,
        };
        Self { org, roles }
    }

    /// The same organization with a seat limit.
    pub fn with_seat_limit(mut self, limit: u32) -> Self {
        self.org.seat_limit = Some(limit);
        self
    }

    /// Its id.
    pub fn id(&self) -> OrgId {
        self.org.id
    }

    /// The id of its role with this key.
    pub fn role(&self, key: &str) -> RoleId {
        self.roles.iter().find(|r| r.key.as_str() == key).map(|r| r.id).unwrap()
    }

    /// A service key of this organization, authenticated.
    pub fn key(&self) -> Principal {
        Principal { key_id: ApiKeyId::from_uuid(uuid()), kind: PrincipalKind::ServiceKey { org_id: self.id() } }
    }

    /// An active user of this organization with the default role, at version 1.
    pub fn user(&self, email: &str) -> User {
        let email = Email::parse(email).unwrap();
        User {
            id: UserId::from_uuid(uuid()),
            org_id: self.id(),
            username: Username::derive_from(email.local_part(), None),
            name: DisplayName::parse(email.local_part()).unwrap(),
            email,
            first_name: None,
            last_name: None,
            location: None,
            locale: None,
            tags: Tags::default(),
            metadata: Metadata::default(),
            status: UserStatus::Active,
            password_hash: None,
            role_ids: vec![self.org.default_role_id],
            last_login_at: None,
            created_at: now(),
            updated_at: now(),
            version: 1,
        }
    }

    /// `user` as a read returns it.
    pub fn view(&self, user: &User) -> UserView {
        UserView { user: user.clone(), organization: self.org.summary() }
    }

    /// Storage that knows this organization (and no other) for plain reads.
    pub fn storage(&self) -> MockStorage {
        let mut storage = MockStorage::new();
        let org = self.org.clone();
        storage.expect_get_organization().returning(move |id| Ok((id == org.id).then(|| org.clone())));
        storage
    }

    /// A transaction that answers role look-ups with this organization's roles.
    pub fn tx(&self) -> MockTransaction {
        let mut tx = MockTransaction::new();
        let roles = self.roles.clone();
        tx.expect_roles_of().returning(move |_| Ok(roles.clone()));
        let org = self.org.clone();
        tx.expect_organization_for_share().returning(move |id| Ok((id == org.id).then(|| org.clone())));
        tx
    }
}
