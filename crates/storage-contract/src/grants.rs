//! Direct permission grants: insert, list, read for update, update, delete, uniqueness.

use roster_domain::error::{StoreError, Unique};
use roster_domain::ids::GrantId;
use roster_domain::permission::Permission;

use crate::fixtures::{Store, at, create_org, insert_grants, insert_users, new_grant, new_user, now, org_id, user_id};

/// Grants read back field for field, listed per user by permission, expired ones
/// included; `grant_for_update` finds one only under its organization and user.
pub async fn grants_round_trip_and_list_by_permission(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    insert_users(&store, &[ada.clone(), bob.clone()]).await;
    let mut write = new_grant(&ada, "users.write");
    write.expires_at = Some(at("2099-12-31T23:59:59.999999Z"));
    write.created_by = "api_key:0190c8b4-0000-7000-8000-000000000001".to_owned();
    write.created_at = at("2024-02-29T01:02:03.000004Z");
    write.updated_at = at("2024-03-01T00:00:00.5Z");
    write.version = 3;
    let mut expired = new_grant(&ada, "billing.view");
    expired.expires_at = Some(now() - chrono::Duration::days(1));
    let projects = new_grant(&ada, "projects.create");
    let bobs = new_grant(&bob, "users.write");
    insert_grants(&store, &[write.clone(), expired.clone(), projects.clone(), bobs.clone()]).await;

    assert_eq!(store.list_grants(acme.id(), ada.id).await.unwrap(), vec![expired, projects, write.clone()]);
    assert_eq!(store.list_grants(acme.id(), bob.id).await.unwrap(), vec![bobs.clone()]);
    assert!(store.list_grants(acme.id(), user_id()).await.unwrap().is_empty());

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.grant_for_update(acme.id(), ada.id, write.id).await.unwrap(), Some(write.clone()));
    assert_eq!(tx.grant_for_update(acme.id(), bob.id, write.id).await.unwrap(), None, "another user's grant");
    assert_eq!(tx.grant_for_update(org_id(), ada.id, write.id).await.unwrap(), None, "another org id");
    let unknown = GrantId::from_uuid(uuid::Uuid::now_v7());
    assert_eq!(tx.grant_for_update(acme.id(), ada.id, unknown).await.unwrap(), None);
}

/// A user holds each permission at most once, on insert and on update; another user may
/// hold the same permission.
pub async fn duplicate_grant_is_grant_permission_duplicate(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    insert_users(&store, &[ada.clone(), bob.clone()]).await;
    let write = new_grant(&ada, "users.write");
    let read = new_grant(&ada, "users.read");
    insert_grants(&store, &[write.clone(), read.clone(), new_grant(&bob, "users.write")]).await;

    let mut tx = store.begin().await.unwrap();
    let twin = new_grant(&ada, "users.write");
    assert!(matches!(tx.insert_grant(&twin).await, Err(StoreError::Duplicate(Unique::GrantPermission))));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let mut clash = tx.grant_for_update(acme.id(), ada.id, read.id).await.unwrap().unwrap();
    clash.permission = Permission::parse("users.write").unwrap();
    clash.version += 1;
    assert!(matches!(tx.update_grant(&clash).await, Err(StoreError::Duplicate(Unique::GrantPermission))));
    drop(tx);
    assert_eq!(store.list_grants(acme.id(), ada.id).await.unwrap(), vec![read, write]);
}

/// `update_grant` overwrites permission, expiry, `updated_at` and version; `delete_grant`
/// removes one grant, and only under its organization.
pub async fn grants_are_updated_and_deleted(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&ada)).await;
    let write = new_grant(&ada, "users.write");
    let keep = new_grant(&ada, "users.read");
    insert_grants(&store, &[write.clone(), keep.clone()]).await;

    let mut tx = store.begin().await.unwrap();
    let mut changed = tx.grant_for_update(acme.id(), ada.id, write.id).await.unwrap().unwrap();
    changed.permission = Permission::parse("users.delete").unwrap();
    changed.expires_at = Some(at("2030-06-01T12:00:00.000001Z"));
    changed.updated_at = at("2030-01-01T00:00:00Z");
    changed.version = 2;
    tx.update_grant(&changed).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.list_grants(acme.id(), ada.id).await.unwrap(), vec![changed.clone(), keep.clone()]);

    let mut cleared = changed.clone();
    cleared.expires_at = None;
    cleared.version = 3;
    let mut tx = store.begin().await.unwrap();
    tx.grant_for_update(acme.id(), ada.id, cleared.id).await.unwrap().unwrap();
    tx.update_grant(&cleared).await.unwrap();
    tx.delete_grant(org_id(), keep.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.list_grants(acme.id(), ada.id).await.unwrap(), vec![cleared.clone(), keep.clone()]);

    let mut tx = store.begin().await.unwrap();
    tx.delete_grant(acme.id(), keep.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.list_grants(acme.id(), ada.id).await.unwrap(), vec![cleared]);
    // The permission is free again.
    insert_grants(&store, &[new_grant(&ada, "users.read")]).await;
}
