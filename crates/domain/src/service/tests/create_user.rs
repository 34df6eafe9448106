//! Creating users: credentials, roles (rule 4), seats (rule 2), unique email and
//! username (rule 1), password rules (rule 8).

use std::sync::{Arc, Mutex};

use super::support::{
    Captured, Tenant, begins, captured, declines_at_once, fake_hash, fake_hasher, invalid_field_names, invalid_fields,
    roster, roster_with, run, take,
};
use crate::error::{Error, Resource, StoreError, Unique};
use crate::hashing::{Argon2id, PasswordHash};
use crate::mocks::{MockPasswordHasher, MockStorage, MockTransaction};
use crate::role::BuiltinRole;
use crate::user::{User, UserStatus};
use crate::user_input::CreateUserInput;

fn ada() -> CreateUserInput {
    CreateUserInput { email: Some("Ada@Example.com".into()), name: Some("Ada".into()), ..Default::default() }
}

fn with_password(password: &str) -> CreateUserInput {
    CreateUserInput { password: Some(password.into()), ..ada() }
}

/// A transaction of `tenant` that accepts one user insert and commits.
fn inserting_tx(tenant: &Tenant) -> (MockTransaction, Captured<User>) {
    inserting(tenant.tx())
}

/// `tx`, made to accept one user insert and commit.
fn inserting(mut tx: MockTransaction) -> (MockTransaction, Captured<User>) {
    let inserted = captured();
    let slot = inserted.clone();
    tx.expect_username_taken().returning(|_, _| Ok(false));
    tx.expect_insert_user().times(1).returning(move |u| {
        *slot.lock().unwrap() = Some(u.clone());
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    (tx, inserted)
}

/// Storage of `tenant` that declines the write at once (the organization changed since
/// it was read) and then begins `tx`.
fn storage_declining_then(tenant: &Tenant, tx: MockTransaction) -> MockStorage {
    let mut storage = tenant.storage();
    tenant.lists_roles(&mut storage);
    declines_at_once(&mut storage);
    begins(&mut storage, tx);
    storage
}

/// A transaction that must not insert or commit anything.
fn refusing_tx(tenant: &Tenant) -> MockTransaction {
    let mut tx = tenant.tx();
    tx.expect_username_taken().returning(|_, _| Ok(false));
    tx.expect_insert_user().times(0);
    tx.expect_commit().times(0);
    tx
}

/// Storage of `tenant` on which `insert_user_if_unchanged` answers `answer` for a user
/// named `username`; no transaction begins unless the caller adds one.
fn storage_answering_at_once(
    tenant: &Tenant,
    username: &'static str,
    answer: fn() -> Result<bool, StoreError>,
) -> MockStorage {
    let mut storage = tenant.storage();
    tenant.lists_roles(&mut storage);
    storage
        .expect_insert_user_if_unchanged()
        .withf(move |_, new| new.user.username.as_str() == username)
        .times(1)
        .returning(move |_, _| answer());
    storage
}

/// Storage that must not be touched at all.
fn untouched_storage() -> MockStorage {
    let mut storage = MockStorage::new();
    storage.expect_get_organization().times(0);
    storage.expect_begin().times(0);
    storage
}

/// A hasher that must not be called.
fn no_hashing() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().times(0);
    hasher
}

#[test]
fn creating_a_user_with_a_password_makes_it_active_with_the_hash_of_that_password() {
    let tenant = Tenant::new("acme");
    let (storage, inserted) = tenant.storage_creating();
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .withf(|p| p.expose() == "correct horse battery")
        .times(1)
        .returning(|p| Ok(fake_hash(p.expose())));
    let created = run(roster_with(storage, hasher).create_user(
        &tenant.key(),
        tenant.id(),
        with_password("correct horse battery"),
    ))
    .unwrap();

    let user = take(&inserted);
    assert_eq!(created.view.user, user);
    assert_eq!(created.view.organization, tenant.org.summary());
    assert!(created.generated_password.is_none());
    assert_eq!(user.status, UserStatus::Active);
    assert_eq!(user.password_hash, Some(fake_hash("correct horse battery")));
    assert_eq!(user.org_id, tenant.id());
    assert_eq!(user.email.as_str(), "Ada@Example.com");
    assert_eq!(user.version, 1);
}

#[test]
fn creating_a_user_with_a_generated_password_returns_a_password_that_verifies_against_the_stored_hash() {
    let tenant = Tenant::new("acme");
    let (storage, inserted) = tenant.storage_creating();
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().times(1).returning(|p| Argon2id::owasp().hash_blocking(p.expose()));
    let login_url = Some("https://app.example.com/login".to_owned());
    let input = CreateUserInput { generate_password: true, login_url, ..ada() };
    let created = run(roster_with(storage, hasher).create_user(&tenant.key(), tenant.id(), input)).unwrap();

    let user = take(&inserted);
    let password = created.generated_password.expect("the generated password is returned");
    assert!(password.expose().chars().count() >= 20);
    assert_eq!(user.status, UserStatus::Active);
    let hash = user.password_hash.expect("the generated password is stored hashed");
    assert_ne!(hash.as_phc(), password.expose());
    assert!(Argon2id::owasp().verify_blocking(password.expose(), &hash));
    assert!(!Argon2id::owasp().verify_blocking("not the password", &hash));
    // The credentials are emailed, in the same transaction, with where to sign in.
    let mail = tenant.mail.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert!(matches!(
        &mail[0].mail,
        Some(crate::outbox::Mail::Credentials { login_url, password: sent, .. })
            if login_url == "https://app.example.com/login" && sent == password.expose()
    ));
}

#[test]
fn a_generated_password_without_any_login_url_creates_nothing() {
    let tenant = Tenant::new("acme");
    let storage = tenant.storage();
    let input = CreateUserInput { generate_password: true, ..ada() };
    let result = run(roster_with(storage, no_hashing()).create_user(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_field_names(result), ["login_url"]);
}

#[test]
fn creating_a_user_without_a_password_invites_it_with_no_hash_and_no_hashing() {
    let tenant = Tenant::new("acme");
    let (storage, inserted) = tenant.storage_creating();
    let created = run(roster_with(storage, no_hashing()).create_user(&tenant.key(), tenant.id(), ada())).unwrap();
    let user = take(&inserted);
    assert_eq!(user.status, UserStatus::Invited);
    assert_eq!(user.password_hash, None::<PasswordHash>);
    assert!(created.generated_password.is_none());
    // The invitation email is queued with the user, linking to the acceptance page.
    let mail = tenant.mail.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].recipient, user.email);
    assert!(matches!(
        &mail[0].mail,
        Some(crate::outbox::Mail::Invitation { accept_url, org_name, .. })
            if accept_url.starts_with("http://127.0.0.1:8080/invite/rsi_") && org_name == tenant.org.name.as_str()
    ));
}

#[test]
fn a_new_user_gets_a_username_from_the_email_and_a_name_from_first_and_last_name() {
    let tenant = Tenant::new("acme");
    let (storage, inserted) = tenant.storage_creating();
    let input = CreateUserInput {
        email: Some("Ada.Lovelace@example.com".into()),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        ..Default::default()
    };
    run(roster(storage).create_user(&tenant.key(), tenant.id(), input)).unwrap();
    let user = take(&inserted);
    assert_eq!(user.username.as_str(), "ada.lovelace");
    assert_eq!(user.name.as_str(), "Ada Lovelace");
}

#[test]
fn without_roles_a_new_user_gets_the_organizations_default_role() {
    let mut tenant = Tenant::new("acme");
    tenant.org.default_role_id = tenant.role("admin");
    let (storage, inserted) = tenant.storage_creating();
    run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())).unwrap();
    assert_eq!(take(&inserted).role_ids, [tenant.role("admin")]);
}

#[test]
fn the_default_role_given_by_a_caller_who_may_assign_anything_needs_no_look_at_the_roles() {
    let mut tenant = Tenant::new("acme");
    tenant.org.default_role_id = tenant.role("admin");
    let mut storage = tenant.storage();
    storage.expect_list_roles().times(0);
    let inserted = tenant.writes_at_once(&mut storage);
    run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())).unwrap();
    assert_eq!(take(&inserted).role_ids, [tenant.role("admin")]);

    // The same in the transaction, when the organization changed since it was read.
    let (tx, inserted) = inserting(tenant.tx_never_reading_roles());
    let mut storage = tenant.storage();
    storage.expect_list_roles().times(0);
    declines_at_once(&mut storage);
    begins(&mut storage, tx);
    run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())).unwrap();
    assert_eq!(take(&inserted).role_ids, [tenant.role("admin")]);
}

#[test]
fn the_default_role_given_by_an_admin_is_checked_against_what_the_admin_holds() {
    // An admin may not hand out the owner role, even as the organization's default.
    let mut tenant = Tenant::new("acme");
    tenant.org.default_role_id = tenant.role("owner");
    let storage = tenant.storage_refusing();
    let result = run(roster(storage).create_user(&tenant.session_as(BuiltinRole::Admin), tenant.id(), ada()));
    assert!(matches!(result, Err(Error::Forbidden)), "{result:?}");
}

#[test]
fn role_ids_of_the_organization_are_assigned() {
    let tenant = Tenant::new("acme");
    let (storage, inserted) = tenant.storage_creating();
    let mut wanted = vec![tenant.role("admin"), tenant.role("owner")];
    let input = CreateUserInput { role_ids: Some(wanted.iter().map(ToString::to_string).collect()), ..ada() };
    run(roster(storage).create_user(&tenant.key(), tenant.id(), input)).unwrap();
    wanted.sort();
    assert_eq!(take(&inserted).role_ids, wanted);
}

#[test]
fn role_ids_of_another_organization_are_a_validation_error_and_nothing_is_inserted() {
    let tenant = Tenant::new("acme");
    let other = Tenant::new("globex");
    let storage = tenant.storage_refusing();
    let input = CreateUserInput { role_ids: Some(vec![other.role("owner").to_string()]), ..ada() };
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_fields(result), [("role_ids[0]".to_owned(), "not_found")]);
}

#[test]
fn the_legacy_role_key_is_resolved_to_the_organizations_role() {
    let tenant = Tenant::new("acme");
    let (storage, inserted) = tenant.storage_creating();
    let input = CreateUserInput { role: Some("admin".into()), ..ada() };
    run(roster(storage).create_user(&tenant.key(), tenant.id(), input)).unwrap();
    assert_eq!(take(&inserted).role_ids, [tenant.role("admin")]);
}

#[test]
fn an_unknown_legacy_role_key_is_a_validation_error_on_role() {
    let tenant = Tenant::new("acme");
    let storage = tenant.storage_refusing();
    let input = CreateUserInput { role: Some("billing".into()), ..ada() };
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_fields(result), [("role".to_owned(), "not_found")]);
}

#[test]
fn giving_both_role_ids_and_the_legacy_role_is_rejected_before_storage() {
    let tenant = Tenant::new("acme");
    let input =
        CreateUserInput { role_ids: Some(vec![tenant.role("admin").to_string()]), role: Some("admin".into()), ..ada() };
    let result = run(roster(untouched_storage()).create_user(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_fields(result), [("role".to_owned(), "conflict")]);
}

#[test]
fn empty_role_ids_are_rejected_before_storage() {
    let tenant = Tenant::new("acme");
    let input = CreateUserInput { role_ids: Some(Vec::new()), ..ada() };
    let result = run(roster(untouched_storage()).create_user(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_fields(result), [("role_ids".to_owned(), "required")]);
}

#[test]
fn creating_a_user_over_the_seat_limit_fails_and_inserts_nothing() {
    let tenant = Tenant::new("acme").with_seat_limit(2);
    let mut tx = refusing_tx(&tenant);
    let locked = tenant.org.clone();
    tx.expect_organization_for_update().times(1).returning(move |_| Ok(Some(locked.clone())));
    tx.expect_count_seats().times(1).returning(|_| Ok(2));
    let mut storage = tenant.storage();
    // With a seat limit, nothing is written at once: seats are counted under the lock.
    storage.expect_insert_user_if_unchanged().times(0);
    begins(&mut storage, tx);
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), ada()));
    assert!(matches!(result, Err(Error::SeatLimitReached { limit: 2 })));
}

#[test]
fn creating_a_user_under_the_seat_limit_counts_seats_under_the_organization_lock() {
    let tenant = Tenant::new("acme").with_seat_limit(2);
    let (mut tx, inserted) = inserting_tx(&tenant);
    let mut seq = mockall::Sequence::new();
    let locked = tenant.org.clone();
    tx.expect_organization_for_update().times(1).in_sequence(&mut seq).returning(move |_| Ok(Some(locked.clone())));
    tx.expect_count_seats().times(1).in_sequence(&mut seq).returning(|_| Ok(1));
    let mut storage = tenant.storage();
    begins(&mut storage, tx);
    run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())).unwrap();
    assert_eq!(take(&inserted).org_id, tenant.id());
}

#[test]
fn the_seat_limit_in_force_is_the_one_read_under_the_lock() {
    let tenant = Tenant::new("acme").with_seat_limit(10);
    let mut tx = refusing_tx(&tenant);
    let mut locked = tenant.org.clone();
    locked.seat_limit = Some(1);
    tx.expect_organization_for_update().times(1).returning(move |_| Ok(Some(locked.clone())));
    tx.expect_count_seats().times(1).returning(|_| Ok(1));
    let mut storage = tenant.storage();
    begins(&mut storage, tx);
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), ada()));
    assert!(matches!(result, Err(Error::SeatLimitReached { limit: 1 })));
}

#[test]
fn without_a_seat_limit_every_row_of_a_creation_is_written_at_once_at_the_organizations_version() {
    let tenant = Tenant::new("acme");
    let written = Arc::new(Mutex::new(None));
    let slot = written.clone();
    let mut storage = tenant.storage();
    storage.expect_begin().times(0);
    storage.expect_insert_user_if_unchanged().times(1).returning(move |version, new| {
        *slot.lock().unwrap() = Some((version, new.clone()));
        Ok(true)
    });
    let created = run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())).unwrap();

    let (version, new) = written.lock().unwrap().take().unwrap();
    assert_eq!(version, tenant.org.version, "written only if the organization is as read");
    assert_eq!(new.user, created.view.user);
    assert_eq!(new.user.role_ids, [tenant.org.default_role_id]);
    let actions: Vec<_> = new.audit_events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.created", "invitation.created"]);
    let invitation = new.invitation.expect("an invitation");
    assert_eq!((invitation.user_id, invitation.role_ids), (new.user.id, new.user.role_ids.clone()));
    assert_eq!(new.outbox_messages.len(), 1);
    assert_eq!(new.outbox_messages[0].recipient, new.user.email);
}

#[test]
fn an_organization_changed_since_it_was_read_is_read_again_share_locked_in_a_transaction() {
    let tenant = Tenant::new("acme");
    let (mut tx, inserted) = inserting_tx(&tenant);
    tx.expect_organization_for_update().times(0);
    tx.expect_count_seats().times(0);
    let storage = storage_declining_then(&tenant, tx);
    run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())).unwrap();
    assert!(take(&inserted).role_ids.contains(&tenant.org.default_role_id));
    assert_eq!(tenant.mail.lock().unwrap().len(), 1, "the invitation email is queued in the transaction");
}

#[test]
fn a_seat_limit_set_since_the_organization_was_read_is_counted_under_the_exclusive_lock() {
    let tenant = Tenant::new("acme");
    let mut limited = tenant.org.clone();
    limited.seat_limit = Some(3);
    limited.version += 1;
    // The share-locked read finds the limit: that transaction ends without a write.
    let mut shared = MockTransaction::new();
    let seen = limited.clone();
    shared.expect_organization_for_share().times(1).returning(move |_| Ok(Some(seen.clone())));
    let mut exclusive = refusing_tx(&tenant);
    exclusive.expect_organization_for_update().times(1).returning(move |_| Ok(Some(limited.clone())));
    exclusive.expect_count_seats().times(1).returning(|_| Ok(3));
    let mut storage = tenant.storage();
    tenant.lists_roles(&mut storage);
    declines_at_once(&mut storage);
    begins(&mut storage, shared);
    begins(&mut storage, exclusive);
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), ada()));
    assert!(matches!(result, Err(Error::SeatLimitReached { limit: 3 })), "{result:?}");
}

#[test]
fn a_duplicate_email_reported_by_storage_is_email_taken_and_nothing_is_retried() {
    let tenant = Tenant::new("acme");
    let mut storage = storage_answering_at_once(&tenant, "ada", || Err(StoreError::Duplicate(Unique::UserEmail)));
    storage.expect_begin().times(0);
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), ada()));
    assert!(matches!(result, Err(Error::EmailTaken)), "{result:?}");
}

#[test]
fn a_duplicate_email_reported_in_the_transaction_is_email_taken_and_nothing_is_committed() {
    let tenant = Tenant::new("acme");
    let mut tx = tenant.tx();
    tx.expect_username_taken().returning(|_, _| Ok(false));
    tx.expect_insert_user().times(1).returning(|_| Err(StoreError::Duplicate(Unique::UserEmail)));
    tx.expect_commit().times(0);
    let storage = storage_declining_then(&tenant, tx);
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), ada()));
    assert!(matches!(result, Err(Error::EmailTaken)));
}

#[test]
fn a_taken_generated_username_fails_the_plain_insert_then_a_free_suffixed_one_is_found() {
    let tenant = Tenant::new("acme");
    // First attempt: the plain local part, written at once without a look-up, is taken.
    let mut storage = storage_answering_at_once(&tenant, "ada", || Err(StoreError::Duplicate(Unique::UserUsername)));
    // Second attempt: suffixed candidates, the first of which is taken too.
    let inserted = captured::<User>();
    let slot = inserted.clone();
    let looked_up = Arc::new(Mutex::new(Vec::new()));
    let seen = looked_up.clone();
    let mut second = tenant.tx();
    second.expect_username_taken().times(2).returning(move |_, u| {
        let mut seen = seen.lock().unwrap();
        seen.push(u.clone());
        Ok(seen.len() == 1)
    });
    second.expect_insert_user().times(1).returning(move |u| {
        *slot.lock().unwrap() = Some(u.clone());
        Ok(())
    });
    second.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, second);

    run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())).unwrap();
    let username = take(&inserted).username;
    let looked_up = looked_up.lock().unwrap();
    assert!(looked_up.iter().all(|u| u.as_str().starts_with("ada") && u.as_str() != "ada"), "{looked_up:?}");
    assert_eq!(username, looked_up[1], "the free candidate is used");
}

#[test]
fn a_generated_username_reported_taken_by_the_commit_is_retried_with_another_username() {
    // PostgreSQL sends the user's row with the commit: the unique violation comes from there.
    let tenant = Tenant::new("acme");
    let mut first = tenant.tx();
    first.expect_insert_user().times(1).returning(|_| Ok(()));
    first.expect_commit().times(1).returning(|| Err(StoreError::Duplicate(Unique::UserUsername)));
    let (second, inserted) = inserting_tx(&tenant);
    let mut storage = storage_declining_then(&tenant, first);
    begins(&mut storage, second);

    let created = run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())).unwrap();
    assert_eq!(created.view.user, take(&inserted));
    assert_ne!(created.view.user.username.as_str(), "ada");
}

#[test]
fn an_email_reported_taken_by_the_commit_is_email_taken() {
    let tenant = Tenant::new("acme");
    let mut tx = tenant.tx();
    tx.expect_insert_user().times(1).returning(|_| Ok(()));
    tx.expect_commit().times(1).returning(|| Err(StoreError::Duplicate(Unique::UserEmail)));
    let storage = storage_declining_then(&tenant, tx);
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), ada()));
    assert!(matches!(result, Err(Error::EmailTaken)), "{result:?}");
}

#[test]
fn a_generated_username_that_keeps_colliding_gives_up_with_username_taken() {
    let tenant = Tenant::new("acme");
    let mut storage = storage_answering_at_once(&tenant, "ada", || Err(StoreError::Duplicate(Unique::UserUsername)));
    for _ in 1..5 {
        let mut tx = tenant.tx();
        tx.expect_username_taken().returning(|_, _| Ok(false));
        tx.expect_insert_user().times(1).returning(|_| Err(StoreError::Duplicate(Unique::UserUsername)));
        tx.expect_commit().times(0);
        begins(&mut storage, tx);
    }
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), ada()));
    assert!(matches!(result, Err(Error::UsernameTaken)));
}

#[test]
fn a_given_username_that_is_taken_is_username_taken_without_retrying() {
    let tenant = Tenant::new("acme");
    let mut storage =
        storage_answering_at_once(&tenant, "countess", || Err(StoreError::Duplicate(Unique::UserUsername)));
    storage.expect_begin().times(0);
    let input = CreateUserInput { username: Some("Countess".into()), ..ada() };
    let result = run(roster(storage).create_user(&tenant.key(), tenant.id(), input));
    assert!(matches!(result, Err(Error::UsernameTaken)));
}

#[test]
fn a_short_password_is_a_validation_error_on_password_without_hashing_or_storage() {
    let tenant = Tenant::new("acme");
    let result = run(roster_with(untouched_storage(), no_hashing()).create_user(
        &tenant.key(),
        tenant.id(),
        with_password("short"),
    ));
    assert_eq!(invalid_fields(result), [("password".to_owned(), "too_short")]);
}

#[test]
fn a_password_equal_to_the_email_is_a_validation_error_on_password_without_hashing_or_storage() {
    let tenant = Tenant::new("acme");
    let roster = roster_with(untouched_storage(), no_hashing());
    let result = run(roster.create_user(&tenant.key(), tenant.id(), with_password(" ada@example.COM ")));
    assert_eq!(invalid_fields(result), [("password".to_owned(), "equals_email")]);
}

#[test]
fn a_password_longer_than_256_characters_is_a_validation_error_on_password() {
    let tenant = Tenant::new("acme");
    let roster = roster_with(untouched_storage(), no_hashing());
    let result = run(roster.create_user(&tenant.key(), tenant.id(), with_password(&"x".repeat(257))));
    assert_eq!(invalid_fields(result), [("password".to_owned(), "too_long")]);
}

#[test]
fn missing_email_and_name_are_reported_together_before_storage() {
    let tenant = Tenant::new("acme");
    let result = run(roster(untouched_storage()).create_user(&tenant.key(), tenant.id(), CreateUserInput::default()));
    assert_eq!(invalid_field_names(result), ["email", "name"]);
}

#[test]
fn creating_a_user_in_an_unknown_organization_is_not_found_before_hashing() {
    let tenant = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_get_organization().times(1).returning(|_| Ok(None));
    storage.expect_begin().times(0);
    let roster = roster_with(storage, no_hashing());
    let result =
        run(roster.create_user(&super::support::platform(), tenant.id(), with_password("correct horse battery")));
    assert!(matches!(result, Err(Error::NotFound(Resource::Organization))));
}

#[test]
fn a_platform_key_creates_users_in_any_organization() {
    let tenant = Tenant::new("acme");
    let (storage, inserted) = tenant.storage_creating();
    let roster = roster_with(storage, fake_hasher(1));
    run(roster.create_user(&super::support::platform(), tenant.id(), with_password("correct horse battery"))).unwrap();
    assert_eq!(take(&inserted).org_id, tenant.id());
}
