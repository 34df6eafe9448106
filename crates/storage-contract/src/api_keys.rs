//! API keys: insert, find by digest, revoke, list, count platform keys.

use roster_domain::api_key::{ApiKeyOwner, SecretDigest};
use roster_domain::organization::OrgStatus;
use roster_domain::ports::{KeyLookup, KeyOwnerFilter};

use crate::fixtures::{Store, at, create_org, days, delete_org, insert_keys, key_id, new_key, now, org_id, revoke};

/// An organization key reads back field for field by its digest, with its organization's
/// status; every optional field set.
pub async fn org_key_is_found_by_digest_with_org_status(store: Store) {
    let acme = create_org(&store, "acme").await;
    let mut key = new_key(ApiKeyOwner::Organization(acme.id()), "CI deploy key — ünïcödé");
    key.created_by = "api_key:0190c8b4-0000-7000-8000-000000000001".to_owned();
    key.created_at = at("2024-02-29T01:02:03.000004Z");
    key.expires_at = Some(at("2099-12-31T23:59:59.999999Z"));
    let other = new_key(ApiKeyOwner::Organization(acme.id()), "other");
    insert_keys(&store, &[key.clone(), other]).await;

    let found = store.find_api_key(&key.digest).await.unwrap();
    assert_eq!(found, Some(KeyLookup { key: key.clone(), org_status: Some(OrgStatus::Active), org_partner: false }));
}

/// A platform key is found with no organization status.
pub async fn platform_key_is_found_without_org_status(store: Store) {
    let key = new_key(ApiKeyOwner::Platform, "bootstrap");
    insert_keys(&store, std::slice::from_ref(&key)).await;
    let found = store.find_api_key(&key.digest).await.unwrap();
    assert_eq!(found, Some(KeyLookup { key, org_status: None, org_partner: false }));
}

/// A digest no key has finds nothing.
pub async fn unknown_digest_finds_nothing(store: Store) {
    let acme = create_org(&store, "acme").await;
    insert_keys(&store, &[new_key(ApiKeyOwner::Organization(acme.id()), "k")]).await;
    assert_eq!(store.find_api_key(&SecretDigest::of("rst_not-a-stored-key")).await.unwrap(), None);
    assert_eq!(store.find_api_key(&SecretDigest::from_bytes([0; 32])).await.unwrap(), None);
}

/// A key of a deleted organization is still found, with the organization's status
/// `Deleted`, so authentication can refuse it.
pub async fn key_of_a_deleted_org_reports_deleted_status(store: Store) {
    let acme = create_org(&store, "acme").await;
    let key = new_key(ApiKeyOwner::Organization(acme.id()), "k");
    insert_keys(&store, std::slice::from_ref(&key)).await;
    delete_org(&store, &acme).await;
    let found = store.find_api_key(&key.digest).await.unwrap().expect("the key is still found");
    assert_eq!(found.org_status, Some(OrgStatus::Deleted));
    assert_eq!(found.key, key);
}

/// Revoking succeeds once (and records when), then reports `false`; the revoked key is
/// still found by digest, revoked.
pub async fn revoke_succeeds_once_then_reports_false(store: Store) {
    let acme = create_org(&store, "acme").await;
    let key = new_key(ApiKeyOwner::Organization(acme.id()), "k");
    let bystander = new_key(ApiKeyOwner::Organization(acme.id()), "bystander");
    insert_keys(&store, &[key.clone(), bystander.clone()]).await;

    let when = at("2025-05-05T05:05:05.123456Z");
    assert!(revoke(&store, acme.id(), key.id, when).await);
    assert!(!revoke(&store, acme.id(), key.id, now()).await, "a second revocation changes nothing");

    let found = store.find_api_key(&key.digest).await.unwrap().expect("a revoked key is still found");
    assert_eq!(found.key.revoked_at, Some(when), "the first revocation time is kept");
    assert_eq!(found.key, roster_domain::api_key::ApiKey { revoked_at: Some(when), ..key });
    assert_eq!(store.find_api_key(&bystander.digest).await.unwrap().unwrap().key.revoked_at, None);
}

/// Revoking names the organization: another organization's key, a platform key and an
/// unknown id all report `false` and stay unrevoked.
pub async fn revoke_of_another_orgs_or_platform_or_unknown_key_is_false(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let acme_key = new_key(ApiKeyOwner::Organization(acme.id()), "acme");
    let platform = new_key(ApiKeyOwner::Platform, "platform");
    insert_keys(&store, &[acme_key.clone(), platform.clone()]).await;

    assert!(!revoke(&store, globex.id(), acme_key.id, now()).await);
    assert!(!revoke(&store, globex.id(), platform.id, now()).await);
    assert!(!revoke(&store, acme.id(), platform.id, now()).await);
    assert!(!revoke(&store, acme.id(), key_id(), now()).await);
    assert!(!revoke(&store, org_id(), acme_key.id, now()).await);
    assert_eq!(store.find_api_key(&acme_key.digest).await.unwrap().unwrap().key.revoked_at, None);
    assert_eq!(store.find_api_key(&platform.digest).await.unwrap().unwrap().key.revoked_at, None);
    assert_eq!(store.count_platform_keys().await.unwrap(), 1);
}

/// `list_api_keys` lists one organization's keys (revoked ones included, platform keys
/// and other organizations' excluded) by id, keyset-paginated.
pub async fn list_api_keys_pages_one_orgs_keys_by_id(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let mut keys: Vec<_> = (0..5).map(|i| new_key(ApiKeyOwner::Organization(acme.id()), &format!("k{i}"))).collect();
    keys[1].expires_at = Some(now() - days(1));
    // Inserted in reverse id order.
    let reversed: Vec<_> = keys.iter().rev().cloned().collect();
    insert_keys(&store, &reversed).await;
    insert_keys(
        &store,
        &[new_key(ApiKeyOwner::Organization(globex.id()), "globex"), new_key(ApiKeyOwner::Platform, "platform")],
    )
    .await;
    let revoked_at = now();
    assert!(revoke(&store, acme.id(), keys[2].id, revoked_at).await);
    keys[2].revoked_at = Some(revoked_at);
    keys.sort_by_key(|k| k.id);

    assert_eq!(store.list_api_keys(acme.id(), KeyOwnerFilter::Service, None, 100).await.unwrap(), keys);
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_api_keys(acme.id(), KeyOwnerFilter::Service, after, 2).await.unwrap();
        assert!(page.len() <= 2);
        after = page.last().map(|k| k.id);
        let done = page.len() < 2;
        walked.extend(page);
        if done {
            break;
        }
        assert!(walked.len() <= keys.len(), "pagination runs past the end");
    }
    assert_eq!(walked, keys);
    assert_eq!(store.list_api_keys(globex.id(), KeyOwnerFilter::Service, None, 100).await.unwrap().len(), 1);
    assert!(store.list_api_keys(org_id(), KeyOwnerFilter::Service, None, 100).await.unwrap().is_empty());
}

/// `count_platform_keys` counts unrevoked platform keys only.
pub async fn count_platform_keys_counts_unrevoked_platform_keys(store: Store) {
    assert_eq!(store.count_platform_keys().await.unwrap(), 0);
    let acme = create_org(&store, "acme").await;
    let mut revoked = new_key(ApiKeyOwner::Platform, "revoked");
    revoked.revoked_at = Some(now());
    let mut expired = new_key(ApiKeyOwner::Platform, "expired but not revoked");
    expired.expires_at = Some(now() - days(1));
    insert_keys(&store, &[new_key(ApiKeyOwner::Organization(acme.id()), "org key"), revoked.clone(), expired.clone()])
        .await;
    assert_eq!(store.count_platform_keys().await.unwrap(), 1);
    insert_keys(&store, &[new_key(ApiKeyOwner::Platform, "live")]).await;
    assert_eq!(store.count_platform_keys().await.unwrap(), 2);
    assert_eq!(
        store.find_api_key(&revoked.digest).await.unwrap(),
        Some(KeyLookup { key: revoked, org_status: None, org_partner: false })
    );
}
