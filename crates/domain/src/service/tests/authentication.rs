//! Authentication of bearer API keys (rule 7) and the cache of verified keys. Personal
//! keys and sessions, which act for users, are in `user_credentials`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::support::{Tenant, begins, now, perms, platform, roster, roster_at, run, uuid};
use crate::api_key::{ApiKey, ApiKeyOwner, NewSecret, SecretDigest};
use crate::auth::PrincipalKind;
use crate::error::{Error, StoreError};
use crate::ids::ApiKeyId;
use crate::mocks::{FixedClock, MockPasswordHasher, MockStorage, MockTransaction};
use crate::organization::OrgStatus;
use crate::permission::PermissionSet;
use crate::ports::{KeyLookup, KeyOwnerFilter};
use crate::values::KeyName;

/// A stored key and its secret. It was used a moment ago, so authenticating it does not
/// write `last_used_at` again.
pub(super) fn stored_key(owner: ApiKeyOwner) -> (ApiKey, NewSecret) {
    let secret = NewSecret::generate();
    let key = ApiKey {
        id: ApiKeyId::from_uuid(uuid()),
        owner,
        name: KeyName::parse("test key").unwrap(),
        prefix: secret.display_prefix(),
        digest: secret.digest(),
        scope: None,
        created_by: "operator".into(),
        created_at: now(),
        expires_at: None,
        revoked_at: None,
        last_used_at: Some(now()),
    };
    (key, secret)
}

pub(super) fn lookup(key: &ApiKey, org_status: Option<OrgStatus>) -> KeyLookup {
    KeyLookup { key: key.clone(), org_status, org_partner: false }
}

/// Storage that finds `found` under its digest, counting look-ups.
fn storage_finding(found: KeyLookup, lookups: Arc<AtomicUsize>) -> MockStorage {
    let mut storage = MockStorage::new();
    let digest = found.key.digest;
    storage.expect_find_api_key().withf(move |d: &SecretDigest| *d == digest).returning(move |_| {
        lookups.fetch_add(1, Ordering::SeqCst);
        Ok(Some(found.clone()))
    });
    storage
}

fn authenticate_once(found: KeyLookup, token: &str) -> Result<crate::auth::Principal, Error> {
    let storage = storage_finding(found, Arc::new(AtomicUsize::new(0)));
    run(roster(storage).authenticate(token))
}

#[test]
fn a_malformed_token_is_unauthenticated_without_touching_storage() {
    let mut storage = MockStorage::new();
    storage.expect_find_api_key().times(0);
    let roster = roster(storage);
    let wrong_alphabet = format!("rst_{}!", "a".repeat(42));
    let wrong_prefix = format!("key_{}", "a".repeat(43));
    for token in ["", "Bearer", "rst_", "rst_tooshort", wrong_alphabet.as_str(), wrong_prefix.as_str()] {
        assert!(matches!(run(roster.authenticate(token)), Err(Error::Unauthenticated)), "{token:?} accepted");
    }
}

#[test]
fn an_unknown_key_is_unauthenticated() {
    let mut storage = MockStorage::new();
    storage.expect_find_api_key().times(1).returning(|_| Ok(None));
    let token = NewSecret::generate();
    assert!(matches!(run(roster(storage).authenticate(token.expose())), Err(Error::Unauthenticated)));
}

#[test]
fn a_service_key_authenticates_as_its_organization() {
    let tenant = Tenant::new("acme");
    let (key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    let principal = authenticate_once(lookup(&key, Some(OrgStatus::Active)), secret.expose()).unwrap();
    assert_eq!(principal.credential_id(), *key.id.as_uuid());
    assert_eq!(principal.kind(), PrincipalKind::ServiceKey);
    assert_eq!(principal.org_id(), Some(tenant.id()));
    assert_eq!(principal.user_id(), None);
    assert!(!principal.is_partner());
}

#[test]
fn an_unscoped_service_key_acts_as_an_owner_with_every_permission() {
    let tenant = Tenant::new("acme");
    let (key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    let principal = authenticate_once(lookup(&key, Some(OrgStatus::Active)), secret.expose()).unwrap();
    assert!(principal.is_owner());
    assert!(principal.permissions().is_all());
}

#[test]
fn a_scoped_service_key_holds_exactly_its_scope_and_is_no_owner() {
    let tenant = Tenant::new("acme");
    let (mut key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    key.scope = Some(perms(&["users.read", "projects.create"]));
    let principal = authenticate_once(lookup(&key, Some(OrgStatus::Active)), secret.expose()).unwrap();
    assert!(!principal.is_owner());
    assert_eq!(principal.permissions(), &perms(&["users.read", "projects.create"]));
    assert!(principal.can("projects.create") && !principal.can("users.write"));
}

#[test]
fn a_partners_service_key_is_marked_as_a_partner() {
    let tenant = Tenant::partner("reseller");
    let (key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    let found = KeyLookup { org_partner: true, ..lookup(&key, Some(OrgStatus::Active)) };
    assert!(authenticate_once(found, secret.expose()).unwrap().is_partner());
}

#[test]
fn a_platform_key_authenticates_as_the_platform() {
    let (key, secret) = stored_key(ApiKeyOwner::Platform);
    let principal = authenticate_once(lookup(&key, None), secret.expose()).unwrap();
    assert_eq!(principal.kind(), PrincipalKind::PlatformKey);
    assert!(principal.is_platform() && principal.is_owner());
    assert_eq!(principal.permissions(), &PermissionSet::all());
    assert_eq!(principal.actor(), format!("api_key:{}", key.id));
}

#[test]
fn a_key_unused_for_a_minute_records_its_use_once_and_not_again_within_the_minute() {
    let tenant = Tenant::new("acme");
    let (mut key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    key.last_used_at = Some(now() - Duration::minutes(1));
    let last_used = Arc::new(Mutex::new(key.last_used_at));
    let mut storage = MockStorage::new();
    let seen = last_used.clone();
    storage.expect_find_api_key().returning(move |_| {
        let key = ApiKey { last_used_at: *seen.lock().unwrap(), ..key.clone() };
        Ok(Some(lookup(&key, Some(OrgStatus::Active))))
    });
    let mut tx = MockTransaction::new();
    tx.expect_touch_api_key().withf(|_, _, at| *at == now()).times(1).returning(move |_, _, at| {
        *last_used.lock().unwrap() = Some(at);
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    let clock = Arc::new(FixedClock::default());
    let roster = roster_at(storage, MockPasswordHasher::new(), clock.clone());
    run(roster.authenticate(secret.expose())).unwrap();
    // Past the cache's lifetime the key is verified again, but was used too recently to
    // be written again (a second `begin` would fail the test).
    clock.advance(roster.settings().key_cache_ttl);
    run(roster.authenticate(secret.expose())).unwrap();
}

#[test]
fn a_revoked_key_is_unauthenticated() {
    let tenant = Tenant::new("acme");
    let (mut key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    key.revoked_at = Some(now() - Duration::minutes(1));
    let result = authenticate_once(lookup(&key, Some(OrgStatus::Active)), secret.expose());
    assert!(matches!(result, Err(Error::Unauthenticated)));
}

#[test]
fn an_expired_key_is_unauthenticated_from_its_expiry_instant_on() {
    let tenant = Tenant::new("acme");
    for expires_at in [now(), now() - Duration::days(1)] {
        let (mut key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
        key.expires_at = Some(expires_at);
        let result = authenticate_once(lookup(&key, Some(OrgStatus::Active)), secret.expose());
        assert!(matches!(result, Err(Error::Unauthenticated)), "key expiring at {expires_at} accepted");
    }
}

#[test]
fn a_key_that_has_not_expired_yet_authenticates() {
    let tenant = Tenant::new("acme");
    let (mut key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    key.expires_at = Some(now() + Duration::seconds(1));
    assert!(authenticate_once(lookup(&key, Some(OrgStatus::Active)), secret.expose()).is_ok());
}

#[test]
fn a_key_of_a_deleted_organization_is_unauthenticated() {
    let tenant = Tenant::new("acme");
    let (key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    let result = authenticate_once(lookup(&key, Some(OrgStatus::Deleted)), secret.expose());
    assert!(matches!(result, Err(Error::Unauthenticated)));
}

#[test]
fn a_storage_failure_while_authenticating_is_internal_not_unauthenticated() {
    let mut storage = MockStorage::new();
    storage.expect_find_api_key().times(1).returning(|_| Err(StoreError::other(std::fmt::Error)));
    let token = NewSecret::generate();
    assert!(matches!(run(roster(storage).authenticate(token.expose())), Err(Error::Internal(_))));
}

#[test]
fn a_verified_key_is_served_from_the_cache_within_the_ttl_and_refetched_after_it() {
    let tenant = Tenant::new("acme");
    let (key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    let lookups = Arc::new(AtomicUsize::new(0));
    let storage = storage_finding(lookup(&key, Some(OrgStatus::Active)), lookups.clone());
    let clock = Arc::new(FixedClock::default());
    let roster = roster_at(storage, MockPasswordHasher::new(), clock.clone());
    let ttl = roster.settings().key_cache_ttl;

    let first = run(roster.authenticate(secret.expose())).unwrap();
    assert_eq!(lookups.load(Ordering::SeqCst), 1);

    clock.advance(ttl - Duration::milliseconds(1));
    assert_eq!(run(roster.authenticate(secret.expose())).unwrap(), first);
    assert_eq!(lookups.load(Ordering::SeqCst), 1, "a cached key must not be looked up again within the TTL");

    clock.advance(Duration::milliseconds(1));
    assert_eq!(run(roster.authenticate(secret.expose())).unwrap(), first);
    assert_eq!(lookups.load(Ordering::SeqCst), 2, "a key must be looked up again once the TTL has passed");
}

#[test]
fn a_cached_key_stops_working_at_its_expiry_even_within_the_ttl() {
    let tenant = Tenant::new("acme");
    let (mut key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    key.expires_at = Some(now() + Duration::seconds(2));
    let lookups = Arc::new(AtomicUsize::new(0));
    let storage = storage_finding(lookup(&key, Some(OrgStatus::Active)), lookups.clone());
    let clock = Arc::new(FixedClock::default());
    let roster = roster_at(storage, MockPasswordHasher::new(), clock.clone());

    assert!(run(roster.authenticate(secret.expose())).is_ok());
    clock.advance(Duration::seconds(2));
    assert!(matches!(run(roster.authenticate(secret.expose())), Err(Error::Unauthenticated)));
    assert_eq!(lookups.load(Ordering::SeqCst), 2);
}

/// Storage whose key reflects revocations made through its transactions.
fn storage_with_revocable_key(key: &ApiKey, lookups: Arc<AtomicUsize>) -> MockStorage {
    let revoked_at: Arc<Mutex<Option<DateTime<Utc>>>> = Arc::new(Mutex::new(None));
    let mut storage = MockStorage::new();
    let (stored, state) = (key.clone(), revoked_at.clone());
    storage.expect_find_api_key().returning(move |_| {
        lookups.fetch_add(1, Ordering::SeqCst);
        let key = ApiKey { revoked_at: *state.lock().unwrap(), ..stored.clone() };
        Ok(Some(lookup(&key, Some(OrgStatus::Active))))
    });
    let (mut tx, _) = super::support::audited_tx();
    let (org, id) = (key.owner.org_id().unwrap(), key.id);
    tx.expect_revoke_api_key()
        .withf(move |o, owner, i, _| *o == org && *owner == KeyOwnerFilter::Service && *i == id)
        .times(1)
        .returning(move |_, _, _, at| {
            *revoked_at.lock().unwrap() = Some(at);
            Ok(true)
        });
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    storage
}

#[test]
fn revoking_a_key_evicts_it_from_the_cache_at_once() {
    let tenant = Tenant::new("acme");
    let (key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    let lookups = Arc::new(AtomicUsize::new(0));
    let roster = roster(storage_with_revocable_key(&key, lookups.clone()));

    let principal = run(roster.authenticate(secret.expose())).unwrap();
    run(roster.revoke_api_key(&principal, tenant.id(), KeyOwnerFilter::Service, key.id)).unwrap();

    assert!(matches!(run(roster.authenticate(secret.expose())), Err(Error::Unauthenticated)));
    assert_eq!(lookups.load(Ordering::SeqCst), 2, "the revoked key must be looked up again, not served from cache");
}

#[test]
fn deleting_an_organization_evicts_its_keys_from_the_cache_at_once() {
    let tenant = Tenant::new("acme");
    let (key, secret) = stored_key(ApiKeyOwner::Organization(tenant.id()));
    let org_status = Arc::new(Mutex::new(OrgStatus::Active));
    let lookups = Arc::new(AtomicUsize::new(0));
    let mut storage = MockStorage::new();
    let (status, counter) = (org_status.clone(), lookups.clone());
    storage.expect_find_api_key().returning(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(Some(lookup(&key, Some(*status.lock().unwrap()))))
    });
    let (mut tx, _) = super::support::audited_tx();
    let org = tenant.org.clone();
    tx.expect_organization_for_update().times(1).returning(move |_| Ok(Some(org.clone())));
    tx.expect_update_organization().times(1).returning(move |o| {
        *org_status.lock().unwrap() = o.status;
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    let roster = roster(storage);

    run(roster.authenticate(secret.expose())).unwrap();
    run(roster.delete_organization(&platform(), tenant.id(), None)).unwrap();

    assert!(matches!(run(roster.authenticate(secret.expose())), Err(Error::Unauthenticated)));
    assert_eq!(lookups.load(Ordering::SeqCst), 2);
}
