//! Changing users: versions (rule 9), roles (rule 4), status and passwords (rule 8).

use super::support::{
    Captured, Tenant, begins, captured, fake_hash, fake_hasher, invalid_fields, roster, roster_with, run, take,
};
use crate::error::{Error, Resource, StoreError, Unique};
use crate::mocks::{MockPasswordHasher, MockStorage, MockTransaction};
use crate::user::{User, UserStatus};
use crate::user_input::UpdateUserInput;

/// Storage holding `user` of `tenant`, whose one transaction expects `writes` updates.
fn storage_holding(tenant: &Tenant, user: &User, writes: usize) -> (MockStorage, Captured<User>) {
    let updated = captured();
    let slot = updated.clone();
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    let view = tenant.view(user);
    storage.expect_get_user().times(1).returning(move |_, _| Ok(Some(view.clone())));
    let mut tx = tenant.tx();
    let (stored, id) = (user.clone(), user.id);
    tx.expect_user_for_update().withf(move |_, i| *i == id).times(1).returning(move |_, _| Ok(Some(stored.clone())));
    tx.expect_update_user().times(writes).returning(move |u| {
        *slot.lock().unwrap() = Some(u.clone());
        Ok(())
    });
    tx.expect_commit().times(writes).returning(|| Ok(()));
    begins(&mut storage, tx);
    (storage, updated)
}

fn rename() -> UpdateUserInput {
    UpdateUserInput { name: Some("Countess Lovelace".into()), ..Default::default() }
}

#[test]
fn updating_a_user_with_a_stale_version_fails_and_writes_nothing() {
    let tenant = Tenant::new("acme");
    let mut user = tenant.user("ada@example.com");
    user.version = 3;
    let (storage, _) = storage_holding(&tenant, &user, 0);
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, rename(), Some(2)));
    assert!(matches!(result, Err(Error::VersionMismatch { current: 3 })));
}

#[test]
fn updating_a_user_with_the_current_version_applies_the_change_and_bumps_the_version() {
    let tenant = Tenant::new("acme");
    let mut user = tenant.user("ada@example.com");
    user.version = 3;
    let (storage, updated) = storage_holding(&tenant, &user, 1);
    let view = run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, rename(), Some(3))).unwrap();
    assert_eq!(view.user, take(&updated));
    assert_eq!(view.user.name.as_str(), "Countess Lovelace");
    assert_eq!(view.user.version, 4);
    assert_eq!(view.user.email, user.email);
    assert_eq!(view.organization, tenant.org.summary());
}

#[test]
fn updating_without_a_version_is_unconditional() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let (storage, updated) = storage_holding(&tenant, &user, 1);
    run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, rename(), None)).unwrap();
    assert_eq!(take(&updated).version, 2);
}

#[test]
fn an_invited_user_cannot_be_made_active_through_status() {
    let tenant = Tenant::new("acme");
    let mut user = tenant.user("ada@example.com");
    user.status = UserStatus::Invited;
    let (storage, _) = storage_holding(&tenant, &user, 0);
    let input = UpdateUserInput { status: Some("active".into()), ..Default::default() };
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, input, None));
    assert_eq!(invalid_fields(result), [("status".to_owned(), "invalid")]);
}

#[test]
fn an_active_user_can_be_suspended_and_reactivated() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let (storage, updated) = storage_holding(&tenant, &user, 1);
    let input = UpdateUserInput { status: Some("suspended".into()), ..Default::default() };
    run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, input, None)).unwrap();
    let suspended = take(&updated);
    assert_eq!(suspended.status, UserStatus::Suspended);

    let (storage, updated) = storage_holding(&tenant, &suspended, 1);
    let input = UpdateUserInput { status: Some("active".into()), ..Default::default() };
    run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, input, None)).unwrap();
    assert_eq!(take(&updated).status, UserStatus::Active);
}

#[test]
fn role_ids_replace_the_users_roles() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    assert_eq!(user.role_ids, [tenant.role("member")]);
    let (storage, updated) = storage_holding(&tenant, &user, 1);
    let input = UpdateUserInput { role_ids: Some(vec![tenant.role("admin").to_string()]), ..Default::default() };
    run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, input, None)).unwrap();
    assert_eq!(take(&updated).role_ids, [tenant.role("admin")]);
}

#[test]
fn the_legacy_role_key_replaces_the_users_roles() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let (storage, updated) = storage_holding(&tenant, &user, 1);
    let input = UpdateUserInput { role: Some("owner".into()), ..Default::default() };
    run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, input, None)).unwrap();
    assert_eq!(take(&updated).role_ids, [tenant.role("owner")]);
}

#[test]
fn replacement_role_ids_must_be_the_organizations_own() {
    let tenant = Tenant::new("acme");
    let other = Tenant::new("globex");
    let user = tenant.user("ada@example.com");
    let (storage, _) = storage_holding(&tenant, &user, 0);
    let input = UpdateUserInput {
        role_ids: Some(vec![tenant.role("member").to_string(), other.role("owner").to_string()]),
        ..Default::default()
    };
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, input, None));
    let fields = invalid_fields(result);
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].1, "not_found");
    assert!(fields[0].0.starts_with("role_ids["));
}

#[test]
fn leaving_roles_out_keeps_them() {
    let tenant = Tenant::new("acme");
    let mut user = tenant.user("ada@example.com");
    user.role_ids = vec![tenant.role("admin"), tenant.role("owner")];
    let (storage, updated) = storage_holding(&tenant, &user, 1);
    run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, rename(), None)).unwrap();
    assert_eq!(take(&updated).role_ids, user.role_ids);
}

#[test]
fn a_new_password_is_checked_against_the_new_email_before_hashing_or_locking() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    let view = tenant.view(&user);
    storage.expect_get_user().times(1).returning(move |_, _| Ok(Some(view.clone())));
    storage.expect_begin().times(0);
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().times(0);
    let input = UpdateUserInput {
        email: Some("countess@example.com".into()),
        password: Some("Countess@Example.com".into()),
        ..Default::default()
    };
    let result = run(roster_with(storage, hasher).update_user(&tenant.key(), tenant.id(), user.id, input, None));
    assert_eq!(invalid_fields(result), [("password".to_owned(), "equals_email")]);
}

#[test]
fn a_new_password_equal_to_the_current_email_is_rejected() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    let view = tenant.view(&user);
    storage.expect_get_user().times(1).returning(move |_, _| Ok(Some(view.clone())));
    storage.expect_begin().times(0);
    let input = UpdateUserInput { password: Some("ada@example.com".into()), ..Default::default() };
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, input, None));
    assert_eq!(invalid_fields(result), [("password".to_owned(), "equals_email")]);
}

#[test]
fn a_short_new_password_is_rejected_without_hashing() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    let view = tenant.view(&user);
    storage.expect_get_user().times(1).returning(move |_, _| Ok(Some(view.clone())));
    storage.expect_begin().times(0);
    let input = UpdateUserInput { password: Some("short".into()), ..Default::default() };
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, input, None));
    assert_eq!(invalid_fields(result), [("password".to_owned(), "too_short")]);
}

#[test]
fn a_valid_new_password_is_stored_hashed() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let (storage, updated) = storage_holding(&tenant, &user, 1);
    let input = UpdateUserInput { password: Some("a brand new passphrase".into()), ..Default::default() };
    run(roster_with(storage, fake_hasher(1)).update_user(&tenant.key(), tenant.id(), user.id, input, None)).unwrap();
    assert_eq!(take(&updated).password_hash, Some(fake_hash("a brand new passphrase")));
}

#[test]
fn updating_an_unknown_user_is_not_found() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    storage.expect_get_user().times(1).returning(|_, _| Ok(None));
    storage.expect_begin().times(0);
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, rename(), None));
    assert!(matches!(result, Err(Error::NotFound(Resource::User))));
}

#[test]
fn a_user_deleted_between_the_read_and_the_lock_is_not_found() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    let view = tenant.view(&user);
    storage.expect_get_user().times(1).returning(move |_, _| Ok(Some(view.clone())));
    let mut tx = MockTransaction::new();
    tx.expect_revoke_user_sessions().returning(|_, _, _| Ok(0));
    tx.expect_user_for_update().times(1).returning(|_, _| Ok(None));
    tx.expect_update_user().times(0);
    tx.expect_commit().times(0);
    begins(&mut storage, tx);
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, rename(), None));
    assert!(matches!(result, Err(Error::NotFound(Resource::User))));
}

#[test]
fn changing_to_an_email_another_user_has_is_email_taken_and_nothing_is_committed() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    let view = tenant.view(&user);
    storage.expect_get_user().times(1).returning(move |_, _| Ok(Some(view.clone())));
    let mut tx = tenant.tx();
    let stored = user.clone();
    tx.expect_user_for_update().times(1).returning(move |_, _| Ok(Some(stored.clone())));
    tx.expect_update_user().times(1).returning(|_| Err(StoreError::Duplicate(Unique::UserEmail)));
    tx.expect_commit().times(0);
    begins(&mut storage, tx);
    let input = UpdateUserInput { email: Some("grace@example.com".into()), ..Default::default() };
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), user.id, input, None));
    assert!(matches!(result, Err(Error::EmailTaken)));
}
