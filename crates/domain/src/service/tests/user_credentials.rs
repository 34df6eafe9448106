//! Credentials that act for a user — personal keys and login sessions — hold the user's
//! current permissions (within a key's scope), and nothing once the user is not active or
//! the credential is revoked or expired (rules 6 and 7).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Duration;

use super::authentication::{lookup, stored_key};
use super::support::{Tenant, begins, now, perms, roster, roster_at, run, uuid};
use crate::api_key::{ApiKeyOwner, NewSecret};
use crate::auth::PrincipalKind;
use crate::error::Error;
use crate::ids::SessionId;
use crate::mocks::{FixedClock, MockPasswordHasher, MockStorage};
use crate::organization::OrgStatus;
use crate::permission::PermissionSet;
use crate::ports::{SessionLookup, UserAccess};
use crate::session::Session;
use crate::user::{User, UserStatus};
use crate::user_input::UpdateUserInput;

/// A stored, recently used session of `user` lasting an hour, and its token.
fn stored_session(user: &User) -> (Session, NewSecret) {
    let token = NewSecret::generate_session();
    let session = Session {
        id: SessionId::from_uuid(uuid()),
        org_id: user.org_id,
        user_id: user.id,
        digest: token.digest(),
        client_ip: None,
        created_at: now(),
        expires_at: now() + Duration::hours(1),
        revoked_at: None,
        last_used_at: Some(now()),
    };
    (session, token)
}

fn session_lookup(session: &Session) -> SessionLookup {
    SessionLookup { session: session.clone(), org_status: Some(OrgStatus::Active), org_partner: false }
}

/// Storage that finds `session` and reports `access` for its user, counting look-ups.
fn storage_with_session(session: &Session, access: UserAccess, lookups: Arc<AtomicUsize>) -> MockStorage {
    let mut storage = MockStorage::new();
    let found = session_lookup(session);
    storage.expect_find_session().returning(move |_| {
        lookups.fetch_add(1, Ordering::SeqCst);
        Ok(Some(found.clone()))
    });
    let user = session.user_id;
    storage
        .expect_user_access()
        .withf(move |_, ids, _| ids == [user])
        .returning(move |_, _, _| Ok(vec![access.clone()]));
    storage
}

fn admin(tenant: &Tenant) -> User {
    User { role_ids: vec![tenant.role("admin")], ..tenant.user("ada@example.com") }
}

#[test]
fn a_session_acts_for_its_user_with_their_roles_and_grants() {
    let tenant = Tenant::new("acme");
    let user = admin(&tenant);
    let (session, token) = stored_session(&user);
    let storage =
        storage_with_session(&session, tenant.access(&user, &["projects.create"]), Arc::new(AtomicUsize::new(0)));
    let principal = run(roster(storage).authenticate(token.expose())).unwrap();
    assert_eq!(principal.kind(), PrincipalKind::Session);
    assert_eq!(principal.credential_id(), *session.id.as_uuid());
    assert_eq!((principal.org_id(), principal.user_id()), (Some(tenant.id()), Some(user.id)));
    assert_eq!(principal.identity().roles, [tenant.role_ref("admin")]);
    assert!(principal.can("users.write") && principal.can("projects.create"));
    assert!(!principal.can("organizations.delete") && !principal.is_owner());
    assert_eq!(principal.actor(), format!("user:{}", user.id));
}

#[test]
fn an_owners_session_is_an_owner() {
    let tenant = Tenant::new("acme");
    let user = tenant.owner("ada@example.com");
    let (session, token) = stored_session(&user);
    let storage = storage_with_session(&session, tenant.access(&user, &[]), Arc::new(AtomicUsize::new(0)));
    let principal = run(roster(storage).authenticate(token.expose())).unwrap();
    assert!(principal.is_owner() && principal.permissions().is_all());
}

#[test]
fn a_session_of_a_user_who_is_not_active_is_unauthenticated() {
    let tenant = Tenant::new("acme");
    for status in [UserStatus::Suspended, UserStatus::Invited] {
        let user = User { status, ..tenant.owner("ada@example.com") };
        let (session, token) = stored_session(&user);
        let storage = storage_with_session(&session, tenant.access(&user, &[]), Arc::new(AtomicUsize::new(0)));
        let result = run(roster(storage).authenticate(token.expose()));
        assert!(matches!(result, Err(Error::Unauthenticated)), "a {status:?} user's session worked");
    }
}

#[test]
fn a_session_of_a_user_who_is_gone_is_unauthenticated() {
    let tenant = Tenant::new("acme");
    let (session, token) = stored_session(&tenant.user("ada@example.com"));
    let mut storage = MockStorage::new();
    let found = session_lookup(&session);
    storage.expect_find_session().returning(move |_| Ok(Some(found.clone())));
    storage.expect_user_access().returning(|_, _, _| Ok(Vec::new()));
    assert!(matches!(run(roster(storage).authenticate(token.expose())), Err(Error::Unauthenticated)));
}

#[test]
fn a_revoked_session_is_unauthenticated() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let (mut session, token) = stored_session(&user);
    session.revoked_at = Some(now() - Duration::seconds(1));
    let storage = storage_with_session(&session, tenant.access(&user, &[]), Arc::new(AtomicUsize::new(0)));
    assert!(matches!(run(roster(storage).authenticate(token.expose())), Err(Error::Unauthenticated)));
}

#[test]
fn a_session_of_a_deleted_organization_is_unauthenticated() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let (session, token) = stored_session(&user);
    for org_status in [Some(OrgStatus::Deleted), None] {
        let mut storage = MockStorage::new();
        let found = SessionLookup { org_status, ..session_lookup(&session) };
        storage.expect_find_session().returning(move |_| Ok(Some(found.clone())));
        let access = tenant.access(&user, &[]);
        storage.expect_user_access().returning(move |_, _, _| Ok(vec![access.clone()]));
        assert!(matches!(run(roster(storage).authenticate(token.expose())), Err(Error::Unauthenticated)));
    }
}

#[test]
fn a_session_is_unauthenticated_once_the_clock_passes_its_expiry() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let (session, token) = stored_session(&user);
    let lookups = Arc::new(AtomicUsize::new(0));
    let storage = storage_with_session(&session, tenant.access(&user, &[]), lookups.clone());
    let clock = Arc::new(FixedClock::default());
    let roster = roster_at(storage, MockPasswordHasher::new(), clock.clone());

    run(roster.authenticate(token.expose())).unwrap();
    clock.advance(Duration::hours(1));
    assert!(matches!(run(roster.authenticate(token.expose())), Err(Error::Unauthenticated)));
    assert_eq!(lookups.load(Ordering::SeqCst), 2);
}

#[test]
fn a_cached_session_stops_working_at_its_expiry_within_the_cache_lifetime() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let (mut session, token) = stored_session(&user);
    session.expires_at = now() + Duration::seconds(2);
    let lookups = Arc::new(AtomicUsize::new(0));
    let storage = storage_with_session(&session, tenant.access(&user, &[]), lookups.clone());
    let clock = Arc::new(FixedClock::default());
    let roster = roster_at(storage, MockPasswordHasher::new(), clock.clone());

    run(roster.authenticate(token.expose())).unwrap();
    clock.advance(Duration::milliseconds(1999));
    run(roster.authenticate(token.expose())).unwrap();
    assert_eq!(lookups.load(Ordering::SeqCst), 1, "served from the cache");
    clock.advance(Duration::milliseconds(1));
    assert!(matches!(run(roster.authenticate(token.expose())), Err(Error::Unauthenticated)));
}

#[test]
fn a_session_token_is_never_taken_for_an_api_key() {
    let mut storage = MockStorage::new();
    storage.expect_find_api_key().times(0);
    storage.expect_find_session().times(1).returning(|_| Ok(None));
    let token = NewSecret::generate_session();
    assert!(matches!(run(roster(storage).authenticate(token.expose())), Err(Error::Unauthenticated)));
}

/// Storage that finds a personal key of `user` scoped to `scope`, reporting `access`.
fn storage_with_personal_key(user: &User, scope: Option<&[&str]>, access: UserAccess) -> (MockStorage, NewSecret) {
    let (mut key, secret) = stored_key(ApiKeyOwner::User(user.org_id, user.id));
    key.scope = scope.map(perms);
    let mut storage = MockStorage::new();
    let found = lookup(&key, Some(OrgStatus::Active));
    storage.expect_find_api_key().returning(move |_| Ok(Some(found.clone())));
    storage.expect_user_access().returning(move |_, _, _| Ok(vec![access.clone()]));
    (storage, secret)
}

#[test]
fn a_personal_key_holds_its_users_permissions_within_its_scope() {
    let tenant = Tenant::new("acme");
    let user = admin(&tenant);
    let scope: &[&str] = &["users.read", "projects.create", "organizations.delete", "billing.read"];
    let (storage, secret) = storage_with_personal_key(&user, Some(scope), tenant.access(&user, &["projects.create"]));
    let principal = run(roster(storage).authenticate(secret.expose())).unwrap();
    assert_eq!(principal.kind(), PrincipalKind::PersonalKey);
    assert_eq!(principal.user_id(), Some(user.id));
    // organizations.delete and billing.read are in scope, but the user does not hold them.
    assert_eq!(principal.permissions(), &perms(&["projects.create", "users.read"]));
    assert!(!principal.is_owner());
    assert_eq!(principal.actor(), format!("api_key:{}", principal.credential_id()));
}

#[test]
fn an_unscoped_personal_key_holds_all_its_user_holds() {
    let tenant = Tenant::new("acme");
    let user = admin(&tenant);
    let (storage, secret) = storage_with_personal_key(&user, None, tenant.access(&user, &["projects.create"]));
    let principal = run(roster(storage).authenticate(secret.expose())).unwrap();
    let expected = PermissionSet::of_builtin(crate::role::BuiltinRole::Admin).union(&perms(&["projects.create"]));
    assert_eq!(principal.permissions(), &expected);
}

#[test]
fn only_an_unscoped_personal_key_of_an_owner_acts_as_an_owner() {
    let tenant = Tenant::new("acme");
    let owner = tenant.owner("ada@example.com");
    let (storage, secret) = storage_with_personal_key(&owner, None, tenant.access(&owner, &[]));
    assert!(run(roster(storage).authenticate(secret.expose())).unwrap().is_owner());

    let (storage, secret) = storage_with_personal_key(&owner, Some(&["users.write"]), tenant.access(&owner, &[]));
    let scoped = run(roster(storage).authenticate(secret.expose())).unwrap();
    assert!(!scoped.is_owner());
    assert_eq!(scoped.permissions(), &perms(&["users.write"]));
}

#[test]
fn a_personal_key_of_a_user_who_is_not_active_is_unauthenticated() {
    let tenant = Tenant::new("acme");
    for status in [UserStatus::Suspended, UserStatus::Invited] {
        let user = User { status, ..admin(&tenant) };
        let (storage, secret) = storage_with_personal_key(&user, None, tenant.access(&user, &[]));
        let result = run(roster(storage).authenticate(secret.expose()));
        assert!(matches!(result, Err(Error::Unauthenticated)), "a {status:?} user's key worked");
    }
}

#[test]
fn suspending_a_user_stops_their_cached_credentials_at_once() {
    let tenant = Tenant::new("acme");
    let user = admin(&tenant);
    let status = Arc::new(Mutex::new(UserStatus::Active));
    let (session, token) = stored_session(&user);
    let (key, secret) = stored_key(ApiKeyOwner::User(tenant.id(), user.id));
    let access_reads = Arc::new(AtomicUsize::new(0));

    let mut storage = tenant.storage();
    let found = session_lookup(&session);
    storage.expect_find_session().returning(move |_| Ok(Some(found.clone())));
    let found = lookup(&key, Some(OrgStatus::Active));
    storage.expect_find_api_key().returning(move |_| Ok(Some(found.clone())));
    let (reads, state, access) = (access_reads.clone(), status.clone(), tenant.access(&user, &[]));
    storage.expect_user_access().returning(move |_, _, _| {
        reads.fetch_add(1, Ordering::SeqCst);
        Ok(vec![UserAccess { status: *state.lock().unwrap(), ..access.clone() }])
    });
    let view = tenant.view(&user);
    storage.expect_get_user().returning(move |_, _| Ok(Some(view.clone())));
    let mut tx = tenant.tx();
    let stored = user.clone();
    tx.expect_user_for_update().returning(move |_, _| Ok(Some(stored.clone())));
    tx.expect_update_user().times(1).returning(move |u| {
        *status.lock().unwrap() = u.status;
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    let roster = roster(storage);

    run(roster.authenticate(token.expose())).unwrap();
    run(roster.authenticate(secret.expose())).unwrap();
    run(roster.authenticate(token.expose())).unwrap();
    assert_eq!(access_reads.load(Ordering::SeqCst), 2, "both credentials are cached once verified");

    let suspend = UpdateUserInput { status: Some("suspended".into()), ..Default::default() };
    run(roster.update_user(&tenant.key(), tenant.id(), user.id, suspend, None)).unwrap();

    assert!(matches!(run(roster.authenticate(token.expose())), Err(Error::Unauthenticated)));
    assert!(matches!(run(roster.authenticate(secret.expose())), Err(Error::Unauthenticated)));
}

#[test]
fn changing_a_users_roles_applies_to_their_cached_session_at_once() {
    let tenant = Tenant::new("acme");
    let user = admin(&tenant);
    let roles = Arc::new(Mutex::new(user.clone()));
    let (session, token) = stored_session(&user);

    let mut storage = tenant.storage();
    let found = session_lookup(&session);
    storage.expect_find_session().returning(move |_| Ok(Some(found.clone())));
    let (state, holder) = (roles.clone(), tenant.clone());
    storage.expect_user_access().returning(move |_, _, _| Ok(vec![holder.access(&state.lock().unwrap(), &[])]));
    let view = tenant.view(&user);
    storage.expect_get_user().returning(move |_, _| Ok(Some(view.clone())));
    let mut tx = tenant.tx();
    let stored = user.clone();
    tx.expect_user_for_update().returning(move |_, _| Ok(Some(stored.clone())));
    tx.expect_update_user().times(1).returning(move |u| {
        *roles.lock().unwrap() = u.clone();
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    let roster = roster(storage);

    assert!(run(roster.authenticate(token.expose())).unwrap().can("users.write"));
    let demote = UpdateUserInput { role: Some("member".into()), ..Default::default() };
    run(roster.update_user(&tenant.key(), tenant.id(), user.id, demote, None)).unwrap();
    let principal = run(roster.authenticate(token.expose())).unwrap();
    assert!(!principal.can("users.write") && principal.can("users.read"));
}
