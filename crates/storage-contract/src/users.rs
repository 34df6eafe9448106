//! Users: insert, read, update, delete, uniqueness, seats and tenant isolation.

use roster_domain::api_key::ApiKeyOwner;
use roster_domain::error::{StoreError, Unique};
use roster_domain::hashing::PasswordHash;
use roster_domain::ids::UserId;
use roster_domain::ports::KeyOwnerFilter;
use roster_domain::user::{UserFilter, UserStatus};
use roster_domain::values::{DisplayName, Email, Locale, Location, NamePart, OrgName, Slug, Username};

use crate::fixtures::{
    Store, assert_same_user, at, count_seats, create_org, custom_role, delete_org, delete_users, insert_keys,
    insert_org, insert_users, list_ids, metadata, new_key, new_org, new_user, now, tags, try_insert_user, update_org,
    update_user, user_id,
};

/// Every user field, optional ones set, reads back unchanged through `get_user`,
/// `user_for_update` and `list_users`, with the organization's summary and all role ids.
pub async fn user_round_trips_every_field(store: Store) {
    let mut acme = new_org("acme");
    acme.roles.push(custom_role(acme.id(), "support"));
    insert_org(&store, &acme).await;
    let mut user = new_user(&acme, "  Ada.Lovelace+Tag@Example.COM ", "ada.l_1-x", "Ada ‘Countess’ Lovelace");
    user.first_name = Some(NamePart::parse("Ada").unwrap());
    user.last_name = Some(NamePart::parse("Lovelace-Byron").unwrap());
    user.location = Some(Location::parse("London, 12 St. James's Square").unwrap());
    user.locale = Some(Locale::parse("en-GB").unwrap());
    user.tags = tags(&["math", "pioneer", "a:b.c_d-e"]);
    user.metadata = metadata(&[("born", "1815"), ("quote", "\"That brain of mine\" — ünïcödé, % _ \\ '"), ("x", "")]);
    user.status = UserStatus::Suspended;
    user.password_hash = Some(PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()));
    let mut roles = vec![acme.owner(), acme.admin(), acme.roles[3].id];
    roles.sort();
    user.role_ids = roles;
    user.last_login_at = Some(at("2025-12-31T23:59:59.999999Z"));
    user.created_at = at("2024-01-01T00:00:00.000001Z");
    user.updated_at = at("2024-06-15T12:30:45.500000Z");
    user.version = 42;
    insert_users(&store, std::slice::from_ref(&user)).await;

    let view = store.get_user(acme.id(), user.id).await.unwrap().expect("user is found");
    assert_same_user(&view.user, &user);
    assert_eq!(view.user.email.as_str(), "Ada.Lovelace+Tag@Example.COM", "the email keeps its spelling");
    assert_eq!(view.organization, acme.org.summary());

    let mut tx = store.begin().await.unwrap();
    let locked = tx.user_for_update(acme.id(), user.id).await.unwrap().expect("user is found for update");
    assert_same_user(&locked, &user);
    drop(tx);

    let listed = store
        .list_users(acme.id(), &crate::fixtures::query(UserFilter::default(), Default::default(), 10))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_same_user(&listed[0], &user);
}

/// A user with no optional fields, no tags and no metadata reads back with them empty.
pub async fn user_round_trips_empty_optional_fields(store: Store) {
    let acme = create_org(&store, "acme").await;
    let mut user = new_user(&acme, "bob@example.com", "bob", "Bob");
    user.status = UserStatus::Invited;
    insert_users(&store, std::slice::from_ref(&user)).await;
    let view = store.get_user(acme.id(), user.id).await.unwrap().expect("user is found");
    assert_same_user(&view.user, &user);
    assert!(view.user.tags.as_slice().is_empty());
    assert!(view.user.metadata.as_map().is_empty());
    assert_eq!(view.user.role_ids, vec![acme.member()]);
}

/// Several role ids come back in ascending id order, so API output is stable.
pub async fn user_role_ids_come_back_sorted(store: Store) {
    let mut acme = new_org("acme");
    for key in ["zeta", "alpha", "mid"] {
        acme.roles.push(custom_role(acme.id(), key));
    }
    insert_org(&store, &acme).await;
    let mut user = new_user(&acme, "ada@example.com", "ada", "Ada");
    let mut role_ids: Vec<_> = acme.roles.iter().map(|r| r.id).collect();
    role_ids.sort();
    user.role_ids = role_ids.clone();
    insert_users(&store, std::slice::from_ref(&user)).await;
    let read = store.get_user(acme.id(), user.id).await.unwrap().unwrap().user;
    assert_eq!(read.role_ids, role_ids);
    let listed = store
        .list_users(acme.id(), &crate::fixtures::query(UserFilter::default(), Default::default(), 10))
        .await
        .unwrap();
    assert_eq!(listed[0].role_ids, role_ids);
}

/// `get_user` carries the organization's current slug and name.
pub async fn get_user_reflects_the_current_organization_summary(store: Store) {
    let acme = create_org(&store, "acme").await;
    let user = new_user(&acme, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&user)).await;
    let mut org = acme.org.clone();
    org.slug = Slug::parse("acme-two").unwrap();
    org.name = OrgName::parse("Acme Two").unwrap();
    org.version = 2;
    update_org(&store, &org).await;
    let view = store.get_user(acme.id(), user.id).await.unwrap().unwrap();
    assert_eq!(view.organization, org.summary());
}

/// Emails are unique per organization after normalisation: a differently cased twin is
/// `Duplicate(UserEmail)`; another organization may use the same address.
pub async fn duplicate_email_differing_in_case_is_user_email_duplicate(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    insert_users(&store, &[new_user(&acme, "Ada@Example.com", "ada", "Ada")]).await;

    let twin = new_user(&acme, "aDA@example.COM", "ada2", "Ada Twin");
    let err = try_insert_user(&store, &twin).await.expect_err("the email is taken");
    assert!(matches!(err, StoreError::Duplicate(Unique::UserEmail)), "got {err:?}");
    assert_eq!(store.get_user(acme.id(), twin.id).await.unwrap(), None, "the failed insert left nothing");

    insert_users(&store, &[new_user(&globex, "ADA@EXAMPLE.COM", "ada", "Ada elsewhere")]).await;
    assert_eq!(count_seats(&store, acme.id()).await, 1);
    assert_eq!(count_seats(&store, globex.id()).await, 1);
}

/// Usernames are unique per organization: `Duplicate(UserUsername)`; another organization
/// may use the same one.
pub async fn duplicate_username_is_user_username_duplicate(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    insert_users(&store, &[new_user(&acme, "ada@example.com", "ada", "Ada")]).await;

    let twin = new_user(&acme, "other@example.com", "ada", "Other");
    let err = try_insert_user(&store, &twin).await.expect_err("the username is taken");
    assert!(matches!(err, StoreError::Duplicate(Unique::UserUsername)), "got {err:?}");
    assert_eq!(store.get_user(acme.id(), twin.id).await.unwrap(), None, "the failed insert left nothing");

    insert_users(&store, &[new_user(&globex, "other@example.com", "ada", "Other")]).await;
}

/// Changing a user's email or username to another live user's is reported like an insert.
pub async fn update_to_a_taken_email_or_username_is_a_duplicate(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    insert_users(&store, &[ada.clone(), bob.clone()]).await;

    let mut changed = bob.clone();
    changed.email = Email::parse("ADA@example.com").unwrap();
    changed.version += 1;
    let mut tx = store.begin().await.unwrap();
    tx.user_for_update(acme.id(), bob.id).await.unwrap().unwrap();
    let err = tx.update_user(&changed).await.expect_err("the email is taken");
    assert!(matches!(err, StoreError::Duplicate(Unique::UserEmail)), "got {err:?}");
    drop(tx);

    let mut changed = bob.clone();
    changed.username = Username::parse("ada").unwrap();
    changed.version += 1;
    let mut tx = store.begin().await.unwrap();
    tx.user_for_update(acme.id(), bob.id).await.unwrap().unwrap();
    let err = tx.update_user(&changed).await.expect_err("the username is taken");
    assert!(matches!(err, StoreError::Duplicate(Unique::UserUsername)), "got {err:?}");
    drop(tx);

    assert_same_user(&store.get_user(acme.id(), bob.id).await.unwrap().unwrap().user, &bob);
    // Re-saving a user's own email in another spelling is not a clash with itself.
    let mut respelled = bob.clone();
    respelled.email = Email::parse("BOB@Example.com").unwrap();
    respelled.version += 1;
    update_user(&store, &respelled).await;
    assert_same_user(&store.get_user(acme.id(), bob.id).await.unwrap().unwrap().user, &respelled);
}

/// A deleted user's email and username can be taken again.
pub async fn deleting_a_user_frees_email_and_username(store: Store) {
    let acme = create_org(&store, "acme").await;
    let old = new_user(&acme, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&old)).await;
    assert_eq!(delete_users(&store, acme.id(), &[old.id]).await, vec![old.id]);

    let again = new_user(&acme, "ADA@example.com", "ada", "Ada again");
    insert_users(&store, std::slice::from_ref(&again)).await;
    assert_same_user(&store.get_user(acme.id(), again.id).await.unwrap().unwrap().user, &again);
    assert_eq!(store.get_user(acme.id(), old.id).await.unwrap(), None);
    // A second deletion of the new one frees them once more (several deleted rows coexist).
    assert_eq!(delete_users(&store, acme.id(), &[again.id]).await, vec![again.id]);
    insert_users(&store, &[new_user(&acme, "ada@example.com", "ada", "Third Ada")]).await;
}

/// Deleted users are invisible to `get_user`, `list_users` (every filter) and
/// `user_for_update`, and `username_taken` ignores them.
pub async fn deleted_users_are_invisible_to_reads(store: Store) {
    let acme = create_org(&store, "acme").await;
    let mut gone = new_user(&acme, "gone@example.com", "gone", "Gone");
    gone.tags = tags(&["t"]);
    let kept = new_user(&acme, "kept@example.com", "kept", "Kept");
    insert_users(&store, &[gone.clone(), kept.clone()]).await;
    delete_users(&store, acme.id(), &[gone.id]).await;

    assert_eq!(store.get_user(acme.id(), gone.id).await.unwrap(), None);
    assert_eq!(list_ids(&store, acme.id(), UserFilter::default()).await, vec![kept.id]);
    let filters = [
        UserFilter { email: Some(gone.email.clone()), ..Default::default() },
        UserFilter { q: Some("gone".to_owned()), ..Default::default() },
        UserFilter { status: Some(UserStatus::Deleted), ..Default::default() },
        UserFilter { status: Some(UserStatus::Active), q: Some("gone".to_owned()), ..Default::default() },
        UserFilter { role_id: Some(acme.member()), q: Some("gone".to_owned()), ..Default::default() },
        UserFilter { tag: gone.tags.as_slice().first().cloned(), ..Default::default() },
    ];
    for filter in filters {
        assert_eq!(list_ids(&store, acme.id(), filter.clone()).await, Vec::<UserId>::new(), "{filter:?}");
    }
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.user_for_update(acme.id(), gone.id).await.unwrap(), None);
    assert!(!tx.username_taken(acme.id(), &gone.username).await.unwrap());
    assert!(tx.username_taken(acme.id(), &kept.username).await.unwrap());
}

/// Seats are the non-deleted users: invited, active and suspended count, deleted do not,
/// nor do other organizations' users.
pub async fn count_seats_counts_invited_active_suspended_not_deleted(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    assert_eq!(count_seats(&store, acme.id()).await, 0);
    let mut users = Vec::new();
    for (i, status) in
        [UserStatus::Invited, UserStatus::Active, UserStatus::Suspended, UserStatus::Active].into_iter().enumerate()
    {
        let mut user = new_user(&acme, &format!("u{i}@example.com"), &format!("u{i}"), "U");
        user.status = status;
        users.push(user);
    }
    insert_users(&store, &users).await;
    insert_users(&store, &[new_user(&globex, "x@example.com", "xx", "X")]).await;
    assert_eq!(count_seats(&store, acme.id()).await, 4);
    delete_users(&store, acme.id(), &[users[3].id]).await;
    assert_eq!(count_seats(&store, acme.id()).await, 3);
    delete_users(&store, acme.id(), &[users[0].id]).await;
    assert_eq!(count_seats(&store, acme.id()).await, 2, "a deleted invited user frees its seat");
    assert_eq!(count_seats(&store, globex.id()).await, 1);
    assert_eq!(count_seats(&store, crate::fixtures::org_id()).await, 0);
}

/// `update_user` overwrites every field and replaces the role assignments.
pub async fn update_user_replaces_roles_and_fields(store: Store) {
    let mut acme = new_org("acme");
    acme.roles.push(custom_role(acme.id(), "support"));
    insert_org(&store, &acme).await;
    let mut user = new_user(&acme, "ada@example.com", "ada", "Ada");
    user.first_name = Some(NamePart::parse("Ada").unwrap());
    user.location = Some(Location::parse("London").unwrap());
    user.tags = tags(&["old", "keep"]);
    user.metadata = metadata(&[("a", "1"), ("b", "2")]);
    user.role_ids = vec![acme.member()];
    user.status = UserStatus::Invited;
    insert_users(&store, std::slice::from_ref(&user)).await;

    let mut changed = user.clone();
    changed.email = Email::parse("Ada.New@Example.com").unwrap();
    changed.username = Username::parse("ada.new").unwrap();
    changed.name = DisplayName::parse("Ada N.").unwrap();
    changed.first_name = None;
    changed.last_name = Some(NamePart::parse("New").unwrap());
    changed.location = None;
    changed.locale = Some(Locale::parse("pt-BR").unwrap());
    changed.tags = tags(&["keep", "new"]);
    changed.metadata = metadata(&[("c", "3")]);
    changed.status = UserStatus::Active;
    changed.password_hash = Some(PasswordHash::from_phc("plain$new password".to_owned()));
    let mut roles = vec![acme.admin(), acme.roles[3].id];
    roles.sort();
    changed.role_ids = roles;
    changed.last_login_at = Some(at("2026-01-01T00:00:00.000001Z"));
    changed.updated_at = now();
    changed.version = 2;
    update_user(&store, &changed).await;

    let read = store.get_user(acme.id(), user.id).await.unwrap().unwrap().user;
    assert_same_user(&read, &changed);
    assert_eq!(read.created_at, user.created_at, "created_at is not touched");
    let holders = |role| list_ids(&store, acme.id(), UserFilter { role_id: Some(role), ..Default::default() });
    assert_eq!(holders(acme.member()).await, Vec::<UserId>::new(), "the old role assignment is gone");
    assert_eq!(holders(acme.admin()).await, vec![user.id]);
    assert_eq!(holders(acme.roles[3].id).await, vec![user.id]);
    // The old email and username are free again.
    insert_users(&store, &[new_user(&acme, "ada@example.com", "ada", "Another Ada")]).await;

    // Clearing the password and the roles down to one.
    let mut again = changed.clone();
    again.password_hash = None;
    again.role_ids = vec![acme.owner()];
    again.version = 3;
    update_user(&store, &again).await;
    assert_same_user(&store.get_user(acme.id(), user.id).await.unwrap().unwrap().user, &again);
}

/// `delete_users` deletes only live users of the given organization and reports exactly
/// the ids it changed: not unknown ids, not already deleted ones, not other tenants'.
pub async fn delete_users_reports_only_the_ids_it_changed(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let a = new_user(&acme, "a@example.com", "a1", "A");
    let b = new_user(&acme, "b@example.com", "b1", "B");
    let c = new_user(&acme, "c@example.com", "c1", "C");
    let foreign = new_user(&globex, "f@example.com", "f1", "F");
    insert_users(&store, &[a.clone(), b.clone(), c.clone()]).await;
    insert_users(&store, std::slice::from_ref(&foreign)).await;
    assert_eq!(delete_users(&store, acme.id(), &[b.id]).await, vec![b.id]);

    let unknown = user_id();
    let mut deleted = delete_users(&store, acme.id(), &[unknown, a.id, b.id, foreign.id, c.id]).await;
    deleted.sort();
    let mut expected = vec![a.id, c.id];
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(list_ids(&store, acme.id(), UserFilter::default()).await, Vec::<UserId>::new());
    assert_same_user(&store.get_user(globex.id(), foreign.id).await.unwrap().unwrap().user, &foreign);
    assert_eq!(delete_users(&store, acme.id(), &[]).await, Vec::<UserId>::new(), "an empty batch");
    assert_eq!(delete_users(&store, acme.id(), &[a.id]).await, Vec::<UserId>::new(), "already deleted");
}

/// A batch naming the same live user twice deletes it once and reports it once.
pub async fn delete_users_reports_a_repeated_id_once(store: Store) {
    let acme = create_org(&store, "acme").await;
    let a = new_user(&acme, "a@example.com", "a1", "A");
    insert_users(&store, std::slice::from_ref(&a)).await;
    assert_eq!(delete_users(&store, acme.id(), &[a.id, a.id]).await, vec![a.id]);
}

/// Rule 10 at the port: every read or write that names another organization finds
/// nothing and changes nothing.
pub async fn every_access_with_another_org_id_finds_nothing(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let mut ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    ada.tags = tags(&["vip"]);
    insert_users(&store, std::slice::from_ref(&ada)).await;
    let key = new_key(ApiKeyOwner::Organization(acme.id()), "acme key");
    insert_keys(&store, std::slice::from_ref(&key)).await;

    assert_eq!(store.get_user(globex.id(), ada.id).await.unwrap(), None);
    let filters = [
        UserFilter::default(),
        UserFilter { email: Some(ada.email.clone()), ..Default::default() },
        UserFilter { q: Some("ada".to_owned()), ..Default::default() },
        UserFilter { role_id: Some(acme.member()), ..Default::default() },
        UserFilter { tag: ada.tags.as_slice().first().cloned(), ..Default::default() },
    ];
    for filter in filters {
        assert_eq!(list_ids(&store, globex.id(), filter.clone()).await, Vec::<UserId>::new(), "{filter:?}");
    }
    assert!(store.list_api_keys(globex.id(), KeyOwnerFilter::Service, None, 100).await.unwrap().is_empty());

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.user_for_update(globex.id(), ada.id).await.unwrap(), None);
    assert!(!tx.username_taken(globex.id(), &ada.username).await.unwrap());
    assert_eq!(tx.count_seats(globex.id()).await.unwrap(), 0);
    assert_eq!(tx.delete_users(globex.id(), &[ada.id], now()).await.unwrap(), Vec::<UserId>::new());
    assert!(!tx.revoke_api_key(globex.id(), KeyOwnerFilter::Service, key.id, now()).await.unwrap());
    let globex_roles: Vec<_> = tx.roles_of(globex.id()).await.unwrap().into_iter().map(|r| r.id).collect();
    assert!(acme.roles.iter().all(|r| !globex_roles.contains(&r.id)), "roles_of leaks another org's roles");
    tx.commit().await.unwrap();

    assert_same_user(&store.get_user(acme.id(), ada.id).await.unwrap().unwrap().user, &ada);
    assert_eq!(store.list_api_keys(acme.id(), KeyOwnerFilter::Service, None, 100).await.unwrap(), vec![key]);
}

/// Users of a deleted organization are not found by `get_user`.
pub async fn users_of_a_deleted_organization_are_not_found(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&ada)).await;
    assert!(store.get_user(acme.id(), ada.id).await.unwrap().is_some());
    delete_org(&store, &acme).await;
    assert_eq!(store.get_user(acme.id(), ada.id).await.unwrap(), None);
}

/// An unknown user id reads as nothing.
pub async fn unknown_user_reads_as_none(store: Store) {
    let acme = create_org(&store, "acme").await;
    insert_users(&store, &[new_user(&acme, "ada@example.com", "ada", "Ada")]).await;
    let unknown = user_id();
    assert_eq!(store.get_user(acme.id(), unknown).await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.user_for_update(acme.id(), unknown).await.unwrap(), None);
    assert!(!tx.username_taken(acme.id(), &Username::parse("nobody").unwrap()).await.unwrap());
}
