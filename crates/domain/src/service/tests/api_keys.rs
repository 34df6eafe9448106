//! Platform and service keys: creation, listing and revocation. What a key may be scoped
//! to (rule 5) is in `escalation`.

use chrono::Duration;

use super::support::{Captured, Tenant, begins, captured, invalid_field_names, now, platform, roster, run, take, uuid};
use crate::api_key::{ApiKey, ApiKeyOwner, SecretDigest, looks_like_key};
use crate::error::{Error, Resource};
use crate::ids::ApiKeyId;
use crate::mocks::{MockStorage, MockTransaction};
use crate::page::PageSize;
use crate::ports::KeyOwnerFilter;
use crate::service::CreateApiKeyInput;

/// A transaction that stores one key, kept in the returned slot.
fn inserting_tx() -> (MockTransaction, Captured<ApiKey>) {
    let inserted = captured();
    let slot = inserted.clone();
    let mut tx = MockTransaction::new();
    tx.expect_insert_api_key().times(1).returning(move |k| {
        *slot.lock().unwrap() = Some(k.clone());
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    (tx, inserted)
}

#[test]
fn a_platform_key_is_stored_as_a_digest_of_the_secret_shown_once() {
    let (tx, inserted) = inserting_tx();
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    let (key, secret) = run(roster(storage).create_platform_key("ops laptop")).unwrap();
    assert_eq!(take(&inserted), key);
    assert_eq!(key.owner, ApiKeyOwner::Platform);
    assert!(looks_like_key(secret.expose()));
    assert!(key.digest.matches(&SecretDigest::of(secret.expose())));
    assert!(secret.expose().starts_with(&key.prefix));
    assert_eq!(key.name.as_str(), "ops laptop");
}

#[test]
fn bootstrap_makes_a_platform_key_only_when_none_exists() {
    let mut storage = MockStorage::new();
    storage.expect_count_platform_keys().times(1).returning(|| Ok(1));
    storage.expect_begin().times(0);
    assert!(run(roster(storage).bootstrap_platform_key()).unwrap().is_none());

    let (tx, _) = inserting_tx();
    let mut storage = MockStorage::new();
    storage.expect_count_platform_keys().times(1).returning(|| Ok(0));
    begins(&mut storage, tx);
    let (key, _) = run(roster(storage).bootstrap_platform_key()).unwrap().unwrap();
    assert_eq!(key.owner, ApiKeyOwner::Platform);
}

#[test]
fn a_service_key_belongs_to_its_organization_and_records_its_creator() {
    let tenant = Tenant::new("acme");
    let (tx, inserted) = tenant_inserting_tx(&tenant);
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    let principal = platform();
    let input =
        CreateApiKeyInput { name: Some("ci".into()), expires_at: Some(now() + Duration::days(30)), scope: None };
    let (key, secret) = run(roster(storage).create_service_key(&principal, tenant.id(), input)).unwrap();
    assert_eq!(take(&inserted), key);
    assert_eq!(key.owner, ApiKeyOwner::Organization(tenant.id()));
    assert_eq!(key.created_by, principal.actor());
    assert_eq!(key.expires_at, Some(now() + Duration::days(30)));
    assert_eq!(key.scope, None);
    assert_eq!(key.last_used_at, None);
    assert!(key.digest.matches(&secret.digest()));
    let events = tenant.audit_events();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].action.as_str(), events[0].target_id.clone()), ("api_key.created", key.id.to_string()));
    assert!(events.iter().flat_map(|e| e.details.values()).all(|v| !v.contains(&secret.expose()[4..])));
}

/// A transaction of `tenant` that stores one key, kept in the returned slot.
fn tenant_inserting_tx(tenant: &Tenant) -> (MockTransaction, Captured<ApiKey>) {
    let inserted = captured();
    let slot = inserted.clone();
    let mut tx = tenant.tx();
    tx.expect_insert_api_key().times(1).returning(move |k| {
        *slot.lock().unwrap() = Some(k.clone());
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    (tx, inserted)
}

#[test]
fn a_scoped_service_key_stores_its_scope() {
    let tenant = Tenant::new("acme");
    let (tx, inserted) = tenant_inserting_tx(&tenant);
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    let input = CreateApiKeyInput {
        name: Some("reporting".into()),
        expires_at: None,
        scope: Some(vec!["users.read".into(), " projects.read ".into()]),
    };
    let (key, _) = run(roster(storage).create_service_key(&tenant.key(), tenant.id(), input)).unwrap();
    assert_eq!(take(&inserted).scope, Some(super::support::perms(&["projects.read", "users.read"])));
    assert_eq!(key.scope.unwrap().names(), ["projects.read", "users.read"]);
}

#[test]
fn a_malformed_scope_entry_is_a_validation_error_naming_its_index() {
    let tenant = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_begin().times(0);
    let input = CreateApiKeyInput {
        name: Some("ci".into()),
        expires_at: None,
        scope: Some(vec!["users.read".into(), "everything".into()]),
    };
    let result = run(roster(storage).create_service_key(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_field_names(result), ["scope[1]"]);
}

#[test]
fn a_service_key_needs_a_name_and_a_future_expiry() {
    let tenant = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_begin().times(0);
    let input = CreateApiKeyInput { name: None, expires_at: Some(now()), scope: None };
    let result = run(roster(storage).create_service_key(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_field_names(result), ["name", "expires_at"]);
}

#[test]
fn a_service_key_for_an_unknown_organization_is_not_found() {
    let tenant = Tenant::new("acme");
    let mut tx = MockTransaction::new();
    tx.expect_organization_for_share().times(1).returning(|_| Ok(None));
    tx.expect_insert_api_key().times(0);
    tx.expect_commit().times(0);
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    let input = CreateApiKeyInput { name: Some("ci".into()), expires_at: None, scope: None };
    let result = run(roster(storage).create_service_key(&platform(), tenant.id(), input));
    assert!(matches!(result, Err(Error::NotFound(Resource::Organization))));
}

#[test]
fn revoking_an_unknown_or_already_revoked_key_is_not_found_and_commits_nothing() {
    let tenant = Tenant::new("acme");
    let mut tx = MockTransaction::new();
    tx.expect_revoke_api_key().times(1).returning(|_, _, _, _| Ok(false));
    tx.expect_insert_audit_event().times(0);
    tx.expect_commit().times(0);
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    let id = ApiKeyId::from_uuid(uuid());
    let result = run(roster(storage).revoke_api_key(&tenant.key(), tenant.id(), KeyOwnerFilter::Service, id));
    assert!(matches!(result, Err(Error::NotFound(Resource::ApiKey))));
}

#[test]
fn revoking_a_key_is_audited() {
    let tenant = Tenant::new("acme");
    let mut tx = tenant.tx();
    let id = ApiKeyId::from_uuid(uuid());
    tx.expect_revoke_api_key().withf(move |_, _, i, at| *i == id && *at == now()).returning(|_, _, _, _| Ok(true));
    tx.expect_commit().times(1).returning(|| Ok(()));
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    run(roster(storage).revoke_api_key(&tenant.key(), tenant.id(), KeyOwnerFilter::Service, id)).unwrap();
    let events = tenant.audit_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "api_key.revoked");
    assert_eq!(events[0].target_id, id.to_string());
}

#[test]
fn listing_api_keys_asks_for_one_more_than_the_page_size() {
    let tenant = Tenant::new("acme");
    let mut storage = tenant.storage();
    let org_id = tenant.id();
    storage
        .expect_list_api_keys()
        .withf(move |org, owner, after, limit| {
            *org == org_id && *owner == KeyOwnerFilter::Service && after.is_none() && *limit == 51
        })
        .times(1)
        .returning(|_, _, _, _| Ok(Vec::new()));
    let page = run(roster(storage).list_api_keys(
        &tenant.key(),
        tenant.id(),
        KeyOwnerFilter::Service,
        PageSize::default(),
        None,
    ))
    .unwrap();
    assert!(page.items.is_empty() && page.next_cursor.is_none());
}
