//! Personal and scoped API keys: owners, scopes, listing and revoking per owner, last use,
//! and the partner flag of a key's organization.

use roster_domain::api_key::{ApiKey, ApiKeyOwner};
use roster_domain::organization::OrgStatus;
use roster_domain::permission::PermissionSet;
use roster_domain::ports::{KeyLookup, KeyOwnerFilter};

use crate::fixtures::{
    Store, at, create_org, insert_keys, insert_org, insert_users, key_id, new_key, new_org, new_personal_key, new_user,
    now, permissions,
};

/// Revokes a key in a committed transaction, returning what the port reported.
async fn revoke(store: &Store, key: &ApiKey, owner: KeyOwnerFilter) -> bool {
    let org = key.owner.org_id().expect("an organization's key");
    let mut tx = store.begin().await.expect("begin");
    let revoked = tx.revoke_api_key(org, owner, key.id, now()).await.expect("revoke_api_key");
    tx.commit().await.expect("commit");
    revoked
}

/// A personal key reads back with its user as owner, and every scope round-trips: none
/// (everything its owner may do), an empty one, a list, and every permission.
pub async fn personal_keys_and_scopes_round_trip(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&ada)).await;
    let mut personal = new_personal_key(&ada, "laptop");
    personal.scope = Some(permissions(&["users.read", "projects.create"]));
    personal.expires_at = Some(at("2099-01-01T00:00:00.000001Z"));
    personal.last_used_at = Some(at("2025-01-01T00:00:00.000002Z"));
    let unscoped = new_personal_key(&ada, "unscoped");
    let mut empty = new_key(ApiKeyOwner::Organization(acme.id()), "empty scope");
    empty.scope = Some(PermissionSet::default());
    let mut all = new_key(ApiKeyOwner::Organization(acme.id()), "every permission");
    all.scope = Some(PermissionSet::all());
    insert_keys(&store, &[personal.clone(), unscoped.clone(), empty.clone(), all.clone()]).await;

    for key in [&personal, &unscoped, &empty, &all] {
        let found = store.find_api_key(&key.digest).await.unwrap();
        let expected = KeyLookup { key: key.clone(), org_status: Some(OrgStatus::Active), org_partner: false };
        assert_eq!(found, Some(expected), "key {}", key.name.as_str());
    }
    assert_eq!(personal.owner, ApiKeyOwner::User(acme.id(), ada.id));
    assert_eq!(store.find_api_key(&unscoped.digest).await.unwrap().unwrap().key.scope, None);
}

/// `list_api_keys` lists one owner's keys: the service keys (no personal ones), or one
/// user's personal keys (no one else's), each by id with keyset pages.
pub async fn list_api_keys_lists_one_owners_keys(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    insert_users(&store, &[ada.clone(), bob.clone()]).await;
    let mut adas: Vec<_> = (0..3).map(|i| new_personal_key(&ada, &format!("ada {i}"))).collect();
    let bobs = vec![new_personal_key(&bob, "bob")];
    let mut service: Vec<_> = (0..2).map(|i| new_key(ApiKeyOwner::Organization(acme.id()), &format!("s{i}"))).collect();
    let mut everything: Vec<ApiKey> = adas.iter().chain(&bobs).chain(&service).cloned().collect();
    everything.reverse();
    everything.push(new_key(ApiKeyOwner::Platform, "platform"));
    insert_keys(&store, &everything).await;
    adas.sort_by_key(|k| k.id);
    service.sort_by_key(|k| k.id);

    let org = acme.id();
    let list = |owner| {
        let store = store.clone();
        async move { store.list_api_keys(org, owner, None, 100).await.unwrap() }
    };
    assert_eq!(list(KeyOwnerFilter::Service).await, service);
    assert_eq!(list(KeyOwnerFilter::User(ada.id)).await, adas);
    assert_eq!(list(KeyOwnerFilter::User(bob.id)).await, bobs);
    assert!(list(KeyOwnerFilter::User(crate::fixtures::user_id())).await.is_empty());

    let first = store.list_api_keys(acme.id(), KeyOwnerFilter::User(ada.id), None, 2).await.unwrap();
    assert_eq!(first, adas[..2].to_vec());
    let rest = store.list_api_keys(acme.id(), KeyOwnerFilter::User(ada.id), Some(first[1].id), 2).await.unwrap();
    assert_eq!(rest, adas[2..].to_vec());
}

/// `revoke_api_key` revokes only a key of the named owner: a personal key not through
/// the service filter or another user's, a service key not through a user's.
pub async fn revoke_api_key_respects_the_owner_filter(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    insert_users(&store, &[ada.clone(), bob.clone()]).await;
    let personal = new_personal_key(&ada, "laptop");
    let service = new_key(ApiKeyOwner::Organization(acme.id()), "service");
    insert_keys(&store, &[personal.clone(), service.clone()]).await;

    assert!(!revoke(&store, &personal, KeyOwnerFilter::Service).await);
    assert!(!revoke(&store, &personal, KeyOwnerFilter::User(bob.id)).await);
    assert!(!revoke(&store, &service, KeyOwnerFilter::User(ada.id)).await);
    assert_eq!(store.find_api_key(&personal.digest).await.unwrap().unwrap().key.revoked_at, None);
    assert_eq!(store.find_api_key(&service.digest).await.unwrap().unwrap().key.revoked_at, None);

    assert!(revoke(&store, &personal, KeyOwnerFilter::User(ada.id)).await);
    assert!(!revoke(&store, &personal, KeyOwnerFilter::User(ada.id)).await, "only once");
    assert!(revoke(&store, &service, KeyOwnerFilter::Service).await);
    assert!(store.find_api_key(&personal.digest).await.unwrap().unwrap().key.revoked_at.is_some());
    assert!(store.find_api_key(&service.digest).await.unwrap().unwrap().key.revoked_at.is_some());
}

/// `touch_api_key` records the last use of that key only, for platform keys too, and
/// only with the key's own organization (none for platform keys).
pub async fn touch_api_key_sets_last_used_at(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&ada)).await;
    let personal = new_personal_key(&ada, "laptop");
    let platform = new_key(ApiKeyOwner::Platform, "platform");
    let bystander = new_key(ApiKeyOwner::Organization(acme.id()), "bystander");
    insert_keys(&store, &[personal.clone(), platform.clone(), bystander.clone()]).await;

    let first = at("2025-05-05T05:05:05.123456Z");
    let second = at("2025-05-05T05:06:05.000001Z");
    let mut tx = store.begin().await.unwrap();
    tx.touch_api_key(Some(acme.id()), personal.id, first).await.unwrap();
    tx.touch_api_key(None, platform.id, first).await.unwrap();
    tx.touch_api_key(Some(acme.id()), key_id(), first).await.unwrap();
    tx.touch_api_key(None, bystander.id, first).await.unwrap();
    tx.touch_api_key(Some(crate::fixtures::org_id()), bystander.id, first).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.touch_api_key(Some(acme.id()), personal.id, second).await.unwrap();
    tx.commit().await.unwrap();

    let last_used = |key: &ApiKey| {
        let (store, digest) = (store.clone(), key.digest);
        async move { store.find_api_key(&digest).await.unwrap().unwrap().key.last_used_at }
    };
    assert_eq!(last_used(&personal).await, Some(second));
    assert_eq!(last_used(&platform).await, Some(first));
    assert_eq!(last_used(&bystander).await, None);
}

/// A key of a partner organization is found with `org_partner` set.
pub async fn keys_of_a_partner_report_it(store: Store) {
    let mut partner = new_org("partner");
    partner.org.partner = true;
    insert_org(&store, &partner).await;
    let ada = new_user(&partner, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&ada)).await;
    let service = new_key(ApiKeyOwner::Organization(partner.id()), "service");
    let personal = new_personal_key(&ada, "laptop");
    insert_keys(&store, &[service.clone(), personal.clone()]).await;
    for key in [service, personal] {
        let found = store.find_api_key(&key.digest).await.unwrap().unwrap();
        assert_eq!((found.org_status, found.org_partner), (Some(OrgStatus::Active), true));
    }
}
