//! Fixtures shared by the use-case tests.

use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::auth::{Identity, Principal, PrincipalKind};
use crate::clock::Clock as _;
use crate::error::Error;
use crate::hashing::PasswordHash;
use crate::ids::{OrgId, RoleId, UserId};
use crate::mocks::{FixedClock, MockPasswordHasher, MockStorage, MockTransaction};
use crate::organization::{OrgStatus, Organization};
use crate::outbox::OutboxMessage;
use crate::permission::PermissionSet;
use crate::ports::{RoleRef, UserAccess};
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

/// Makes `storage` decline every at-once write of a new user, as if the organization had
/// changed since it was read: creations then take the transactional path.
pub(super) fn declines_at_once(storage: &mut MockStorage) {
    storage.expect_insert_user_if_unchanged().times(1).returning(|_, _| Ok(false));
}

/// Makes every `storage.begin()` hand out a fresh transaction from `make`, for use cases
/// that may restart their transaction.
pub(super) fn begins_each(storage: &mut MockStorage, make: impl Fn() -> MockTransaction + Send + 'static) {
    storage.expect_begin().returning(move || Ok(Box::new(make())));
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

/// The audit events a transaction recorded, shared with the test.
pub(super) type AuditLog = Arc<Mutex<Vec<AuditEvent>>>;

/// Lets `tx` record any number of audit events into `log`.
pub(super) fn audit_into(tx: &mut MockTransaction, log: &AuditLog) {
    let log = log.clone();
    tx.expect_insert_audit_event().returning(move |event| {
        log.lock().unwrap().push(event.clone());
        Ok(())
    });
}

/// The emails a transaction queued, shared with the test.
pub(super) type MailLog = Arc<Mutex<Vec<OutboxMessage>>>;

/// Lets `tx` store invitations and queue any number of emails into `log`.
pub(super) fn mail_into(tx: &mut MockTransaction, log: &MailLog) {
    tx.expect_insert_invitation().returning(|_| Ok(()));
    let log = log.clone();
    tx.expect_insert_outbox_message().returning(move |message| {
        log.lock().unwrap().push(message.clone());
        Ok(())
    });
}

/// A transaction that records its audit events into a fresh log.
pub(super) fn audited_tx() -> (MockTransaction, AuditLog) {
    let log = AuditLog::default();
    let mut tx = MockTransaction::new();
    tx.expect_revoke_user_sessions().returning(|_, _, _| Ok(0));
    audit_into(&mut tx, &log);
    mail_into(&mut tx, &MailLog::default());
    (tx, log)
}

/// Makes `tx` count the active owners as storage would if exactly `owners` were active
/// owners: those not excluded.
pub(super) fn active_owners(tx: &mut MockTransaction, owners: Vec<UserId>) {
    tx.expect_count_active_owners()
        .returning(move |_, _, excluding| Ok(owners.iter().filter(|o| !excluding.contains(o)).count() as u64));
}

/// A validated permission set; panics on a malformed entry.
pub(super) fn perms(list: &[&str]) -> PermissionSet {
    PermissionSet::parse(list).unwrap()
}

/// A principal for an identity built from these parts, with no roles.
pub(super) fn principal(
    kind: PrincipalKind,
    org_id: Option<OrgId>,
    user_id: Option<UserId>,
    owner: bool,
    permissions: PermissionSet,
) -> Principal {
    Principal::new(Identity {
        kind,
        credential_id: uuid(),
        org_id,
        partner: false,
        user_id,
        roles: Vec::new(),
        owner,
        permissions,
    })
}

/// The platform operator's principal: every organization, every permission.
pub(super) fn platform() -> Principal {
    principal(PrincipalKind::PlatformKey, None, None, true, PermissionSet::all())
}

/// An organization with its built-in roles, and the audit events its transactions
/// ([`Tenant::tx`]) recorded.
#[derive(Clone, Debug)]
pub(super) struct Tenant {
    pub org: Organization,
    pub roles: Vec<Role>,
    pub audit: AuditLog,
    /// The emails its transactions queued.
    pub mail: MailLog,
    /// The users this tenant's sessions and personal keys act for.
    pub signed_in: Arc<Mutex<Vec<UserId>>>,
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
            partner: false,
            seat_limit: None,
            default_role_id: roles[2].id,
            invitation_ttl: Organization::default_invitation_ttl(),
            default_login_url: None,
            status: OrgStatus::Active,
            created_by: "operator".into(),
            modified_by: "operator".into(),
            created_at: now(),
            updated_at: now(),
            version: 1,
        };
        Self { org, roles, audit: AuditLog::default(), mail: MailLog::default(), signed_in: Arc::default() }
    }

    /// A new partner organization.
    pub fn partner(slug: &str) -> Self {
        let mut tenant = Self::new(slug);
        tenant.org.partner = true;
        tenant
    }

    /// A new child organization of `parent`.
    pub fn child_of(slug: &str, parent: &Tenant) -> Self {
        let mut tenant = Self::new(slug);
        tenant.org.parent_id = Some(parent.id());
        tenant
    }

    /// The same organization with a custom role granting `permissions`.
    pub fn with_custom_role(mut self, key: &str, permissions: &[&str]) -> Self {
        self.roles.push(Role {
            id: RoleId::from_uuid(uuid()),
            org_id: self.id(),
            key: crate::role::RoleKey::parse(key).unwrap(),
            name: key.to_owned(),
            description: String::new(),
            builtin: false,
            permissions: perms(permissions),
            created_at: now(),
            updated_at: now(),
            version: 1,
        });
        self
    }

    /// Its role with this key.
    pub fn role_named(&self, key: &str) -> Role {
        self.roles.iter().find(|r| r.key.as_str() == key).cloned().unwrap()
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

    /// The role with this key.
    pub fn role_ref(&self, key: &str) -> RoleRef {
        let role = self.roles.iter().find(|r| r.key.as_str() == key).unwrap();
        RoleRef { id: role.id, key: role.key.to_string(), builtin: role.builtin }
    }

    fn identity(
        &self,
        kind: PrincipalKind,
        user_id: Option<UserId>,
        owner: bool,
        permissions: PermissionSet,
    ) -> Identity {
        if let Some(user) = user_id {
            self.signed_in.lock().unwrap().push(user);
        }
        Identity {
            kind,
            credential_id: uuid(),
            org_id: Some(self.id()),
            partner: self.org.partner,
            user_id,
            roles: Vec::new(),
            owner,
            permissions,
        }
    }

    /// An unscoped service key of this organization, authenticated: it acts as an owner.
    pub fn key(&self) -> Principal {
        Principal::new(self.identity(PrincipalKind::ServiceKey, None, true, PermissionSet::all()))
    }

    /// A service key of this organization scoped to `permissions`.
    pub fn scoped_key(&self, permissions: &[&str]) -> Principal {
        Principal::new(self.identity(PrincipalKind::ServiceKey, None, false, perms(permissions)))
    }

    /// A session of user `user` holding exactly `permissions` (and no roles).
    pub fn session(&self, user: UserId, owner: bool, permissions: PermissionSet) -> Principal {
        Principal::new(self.identity(PrincipalKind::Session, Some(user), owner, permissions))
    }

    /// A session of a new user holding the built-in role `which`.
    pub fn session_as(&self, which: BuiltinRole) -> Principal {
        let mut identity = self.identity(
            PrincipalKind::Session,
            Some(UserId::from_uuid(uuid())),
            which == BuiltinRole::Owner,
            PermissionSet::of_builtin(which),
        );
        identity.roles = vec![self.role_ref(which.key())];
        Principal::new(identity)
    }

    /// What `user_access` reports for `user`: its roles, and `extra` permissions from
    /// custom roles and grants.
    pub fn access(&self, user: &User, extra: &[&str]) -> UserAccess {
        let roles = self
            .roles
            .iter()
            .filter(|r| user.role_ids.contains(&r.id))
            .map(|r| RoleRef { id: r.id, key: r.key.to_string(), builtin: r.builtin })
            .collect();
        UserAccess {
            user_id: user.id,
            status: user.status,
            roles,
            permissions: extra.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// The audit events recorded so far by this organization's transactions.
    pub fn audit_events(&self) -> Vec<AuditEvent> {
        self.audit.lock().unwrap().clone()
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
        self.allow_signed_in(&mut storage);
        storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
        // An invitation email names the person inviting: their user is read.
        let (signed_in, tenant) = (Arc::clone(&self.signed_in), self.clone());
        storage
            .expect_get_user()
            .withf(move |_, id| signed_in.lock().unwrap().contains(id))
            .returning(move |_, id| Ok(Some(tenant.view(&User { id, ..tenant.user("inviter@example.com") }))));
        storage
    }

    /// Lets `storage` list this organization's roles, as a creation does before writing.
    pub fn lists_roles(&self, storage: &mut MockStorage) {
        let roles = self.roles.clone();
        storage.expect_list_roles().returning(move |_| Ok(roles.clone()));
    }

    /// Lets `storage` write new users at once while the organization is at the version
    /// this tenant has, recording their audit events and emails into this tenant's logs;
    /// the last user written is captured. No transaction may begin.
    pub fn writes_at_once(&self, storage: &mut MockStorage) -> Captured<User> {
        let written = captured();
        let (slot, audit, mail, version) = (written.clone(), self.audit.clone(), self.mail.clone(), self.org.version);
        storage.expect_insert_user_if_unchanged().withf(move |v, _| *v == version).returning(move |_, new| {
            audit.lock().unwrap().extend(new.audit_events.iter().cloned());
            mail.lock().unwrap().extend(new.outbox_messages.iter().cloned());
            *slot.lock().unwrap() = Some(new.user.clone());
            Ok(true)
        });
        storage.expect_begin().times(0);
        written
    }

    /// Storage of this tenant on which a creation lists the roles and writes its user at
    /// once ([`Tenant::writes_at_once`]); the user written is captured.
    pub fn storage_creating(&self) -> (MockStorage, Captured<User>) {
        let mut storage = self.storage();
        self.lists_roles(&mut storage);
        let written = self.writes_at_once(&mut storage);
        (storage, written)
    }

    /// Storage of this tenant on which a creation may list the roles but must write
    /// nothing, neither at once nor in a transaction.
    pub fn storage_refusing(&self) -> MockStorage {
        let mut storage = self.storage();
        self.lists_roles(&mut storage);
        storage.expect_insert_user_if_unchanged().times(0);
        storage.expect_begin().times(0);
        storage
    }

    /// Lets `storage` answer the re-read of a signed-in user's access.
    pub fn allow_signed_in(&self, storage: &mut MockStorage) {
        // Before handing anything out, a user's principal is re-read (rule 5 across
        // instances): storage still grants the signed-in users everything they were given.
        let (signed_in, org_id, owner) = (Arc::clone(&self.signed_in), self.id(), self.role_ref("owner"));
        storage
            .expect_user_access()
            .withf(move |org, ids, _| *org == org_id && ids.len() == 1 && signed_in.lock().unwrap().contains(&ids[0]))
            .returning(move |_, ids, _| {
                Ok(vec![UserAccess {
                    user_id: ids[0],
                    status: UserStatus::Active,
                    roles: vec![owner.clone()],
                    permissions: Vec::new(),
                }])
            });
    }

    /// An active owner of this organization, at version 1.
    pub fn owner(&self, email: &str) -> User {
        User { role_ids: vec![self.role("owner")], ..self.user(email) }
    }

    /// A transaction that answers role look-ups with this organization's roles, share-
    /// locks it, and records audit events into [`Tenant::audit`].
    pub fn tx(&self) -> MockTransaction {
        let mut tx = self.tx_without_roles();
        let roles = self.roles.clone();
        tx.expect_roles_of().returning(move |_| Ok(roles.clone()));
        tx
    }

    /// [`Tenant::tx`] whose roles must not be read.
    pub fn tx_never_reading_roles(&self) -> MockTransaction {
        let mut tx = self.tx_without_roles();
        tx.expect_roles_of().times(0);
        tx
    }

    fn tx_without_roles(&self) -> MockTransaction {
        let mut tx = MockTransaction::new();
        tx.expect_revoke_user_sessions().returning(|_, _, _| Ok(0));
        let org = self.org.clone();
        tx.expect_organization_for_share().returning(move |id| Ok((id == org.id).then(|| org.clone())));
        audit_into(&mut tx, &self.audit);
        mail_into(&mut tx, &self.mail);
        tx
    }

    /// [`Tenant::tx`] that also takes this organization's row lock.
    pub fn locking_tx(&self) -> MockTransaction {
        let mut tx = self.tx();
        let org = self.org.clone();
        tx.expect_organization_for_update().returning(move |id| Ok((id == org.id).then(|| org.clone())));
        tx
    }
}
