//! Transactions: all or nothing, isolated until commit, finished after commit.

use roster_domain::api_key::ApiKeyOwner;
use roster_domain::error::StoreError;
use roster_domain::ports::KeyOwnerFilter;
use roster_domain::user::UserFilter;
use roster_domain::values::{DisplayName, OrgName};

use crate::fixtures::{
    Store, assert_same_user, count_seats, create_org, insert_keys, insert_users, list_ids, new_key, new_org, new_user,
    now,
};

/// The store answers a ping.
pub async fn ping_answers(store: Store) {
    store.ping().await.expect("ping");
}

/// A transaction dropped without commit leaves nothing behind: no organization, roles,
/// user or key, and no unique-index entries (the same slug, email and username are free).
pub async fn dropped_transaction_leaves_nothing_behind(store: Store) {
    let acme = new_org("acme");
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let key = new_key(ApiKeyOwner::Organization(acme.id()), "k");
    let platform = new_key(ApiKeyOwner::Platform, "p");
    let mut tx = store.begin().await.unwrap();
    tx.insert_organization(&acme.org, &acme.roles).await.unwrap();
    tx.insert_user(&ada).await.unwrap();
    tx.insert_api_key(&key).await.unwrap();
    tx.insert_api_key(&platform).await.unwrap();
    assert_eq!(tx.count_seats(acme.id()).await.unwrap(), 1, "the transaction sees its own writes");
    drop(tx);

    assert_eq!(store.get_organization(acme.id()).await.unwrap(), None);
    assert!(store.list_organizations(None, None, 100).await.unwrap().is_empty());
    assert!(store.list_roles(acme.id()).await.unwrap().is_empty());
    assert_eq!(store.get_user(acme.id(), ada.id).await.unwrap(), None);
    assert_eq!(store.find_api_key(&key.digest).await.unwrap(), None);
    assert_eq!(store.find_api_key(&platform.digest).await.unwrap(), None);
    assert_eq!(store.count_platform_keys().await.unwrap(), 0);

    // Everything can be inserted again, under the same ids even.
    let mut tx = store.begin().await.unwrap();
    tx.insert_organization(&acme.org, &acme.roles).await.unwrap();
    tx.insert_user(&ada).await.unwrap();
    tx.insert_api_key(&key).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.get_organization(acme.id()).await.unwrap(), Some(acme.org.clone()));
    assert_same_user(&store.get_user(acme.id(), ada.id).await.unwrap().unwrap().user, &ada);
}

/// Updates, deletions and revocations in a dropped transaction are all undone.
pub async fn dropped_transaction_undoes_updates_deletes_and_revocations(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    insert_users(&store, &[ada.clone(), bob.clone()]).await;
    let key = new_key(ApiKeyOwner::Organization(acme.id()), "k");
    insert_keys(&store, std::slice::from_ref(&key)).await;

    let mut tx = store.begin().await.unwrap();
    let mut org = tx.organization_for_update(acme.id()).await.unwrap().unwrap();
    org.name = OrgName::parse("Changed").unwrap();
    org.version += 1;
    tx.update_organization(&org).await.unwrap();
    let mut user = tx.user_for_update(acme.id(), ada.id).await.unwrap().unwrap();
    user.name = DisplayName::parse("Changed").unwrap();
    user.role_ids = vec![acme.owner()];
    user.version += 1;
    tx.update_user(&user).await.unwrap();
    assert_eq!(tx.delete_users(acme.id(), &[bob.id], now()).await.unwrap(), vec![bob.id]);
    assert!(tx.revoke_api_key(acme.id(), KeyOwnerFilter::Service, key.id, now()).await.unwrap());
    drop(tx);

    assert_eq!(store.get_organization(acme.id()).await.unwrap(), Some(acme.org.clone()));
    assert_same_user(&store.get_user(acme.id(), ada.id).await.unwrap().unwrap().user, &ada);
    assert_same_user(&store.get_user(acme.id(), bob.id).await.unwrap().unwrap().user, &bob);
    assert_eq!(store.find_api_key(&key.digest).await.unwrap().unwrap().key, key);
    assert_eq!(count_seats(&store, acme.id()).await, 2);
    assert_eq!(
        list_ids(&store, acme.id(), UserFilter { role_id: Some(acme.owner()), ..Default::default() }).await,
        vec![]
    );
}

/// Writes are invisible to reads outside the transaction until it commits, then visible.
pub async fn uncommitted_writes_are_invisible_until_commit(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let globex = new_org("globex");
    let mut tx = store.begin().await.unwrap();
    tx.insert_organization(&globex.org, &globex.roles).await.unwrap();
    tx.insert_user(&ada).await.unwrap();
    assert_eq!(store.get_organization(globex.id()).await.unwrap(), None);
    assert_eq!(store.get_user(acme.id(), ada.id).await.unwrap(), None);
    assert!(list_ids(&store, acme.id(), UserFilter::default()).await.is_empty());
    tx.commit().await.unwrap();
    assert_eq!(store.get_organization(globex.id()).await.unwrap(), Some(globex.org));
    assert!(store.get_user(acme.id(), ada.id).await.unwrap().is_some());
}

/// A committed transaction is finished: committing it again is an error.
pub async fn committed_transaction_cannot_commit_again(store: Store) {
    let acme = new_org("acme");
    let mut tx = store.begin().await.unwrap();
    tx.insert_organization(&acme.org, &acme.roles).await.unwrap();
    tx.commit().await.unwrap();
    let err = tx.commit().await.expect_err("a second commit fails");
    assert!(matches!(err, StoreError::Other(_)), "got {err:?}");
    drop(tx);
    assert_eq!(store.get_organization(acme.id()).await.unwrap(), Some(acme.org));
}
