//! Rule 10: a service key sees only its own organization. Everything else is "not
//! found" — never "forbidden" — and is decided before storage is asked anything, so
//! neither timing nor errors reveal whether the other organization or user exists.

use super::support::{Tenant, roster, roster_with, run, uuid};
use crate::error::{Error, Resource};
use crate::ids::{ApiKeyId, UserId};
use crate::mocks::{MockPasswordHasher, MockStorage};
use crate::organization_input::UpdateOrganizationInput;
use crate::page::PageSize;
use crate::ports::KeyOwnerFilter;
use crate::service::CreateApiKeyInput;
use crate::user_input::{CreateUserInput, ListUsersInput, UpdateUserInput};

/// Storage on which any read or transaction fails the test.
fn untouched_storage() -> MockStorage {
    let mut storage = MockStorage::new();
    storage.expect_get_organization().times(0);
    storage.expect_list_organizations().times(0);
    storage.expect_get_user().times(0);
    storage.expect_list_users().times(0);
    storage.expect_list_api_keys().times(0);
    storage.expect_begin().times(0);
    storage
}

fn is_hidden<T: std::fmt::Debug>(result: Result<T, Error>) -> bool {
    matches!(result, Err(Error::NotFound(Resource::Organization)))
}

fn two_tenants() -> (Tenant, Tenant) {
    (Tenant::new("acme"), Tenant::new("globex"))
}

#[test]
fn getting_a_user_of_another_organization_is_not_found_without_touching_storage() {
    let (a, b) = two_tenants();
    let result = run(roster(untouched_storage()).get_user(&a.key(), b.id(), UserId::from_uuid(uuid())));
    assert!(is_hidden(result));
}

#[test]
fn listing_users_of_another_organization_is_not_found_without_touching_storage() {
    let (a, b) = two_tenants();
    let result = run(roster(untouched_storage()).list_users(&a.key(), b.id(), ListUsersInput::default()));
    assert!(is_hidden(result));
}

#[test]
fn updating_a_user_of_another_organization_is_not_found_without_touching_storage() {
    let (a, b) = two_tenants();
    let input = UpdateUserInput { name: Some("Mallory".into()), ..Default::default() };
    let result = run(roster(untouched_storage()).update_user(&a.key(), b.id(), UserId::from_uuid(uuid()), input, None));
    assert!(is_hidden(result));
}

#[test]
fn deleting_a_user_of_another_organization_is_not_found_without_touching_storage() {
    let (a, b) = two_tenants();
    let result = run(roster(untouched_storage()).delete_user(&a.key(), b.id(), UserId::from_uuid(uuid()), None));
    assert!(is_hidden(result));
}

#[test]
fn batch_deleting_users_of_another_organization_is_not_found_without_touching_storage() {
    let (a, b) = two_tenants();
    let ids = vec![uuid().to_string()];
    assert!(is_hidden(run(roster(untouched_storage()).batch_delete_users(&a.key(), b.id(), &ids))));
}

#[test]
fn creating_a_user_in_another_organization_is_not_found_without_storage_or_hashing() {
    let (a, b) = two_tenants();
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().times(0);
    let input = CreateUserInput {
        email: Some("eve@example.com".into()),
        name: Some("Eve".into()),
        password: Some("a long enough password".into()),
        ..Default::default()
    };
    assert!(is_hidden(run(roster_with(untouched_storage(), hasher).create_user(&a.key(), b.id(), input))));
}

#[test]
fn reading_changing_or_deleting_another_organization_is_not_found_without_touching_storage() {
    let (a, b) = two_tenants();
    let roster = roster(untouched_storage());
    let key = a.key();
    assert!(is_hidden(run(roster.get_organization(&key, b.id()))));
    let rename = UpdateOrganizationInput { name: Some("Taken over".into()), ..Default::default() };
    assert!(is_hidden(run(roster.update_organization(&key, b.id(), rename, None))));
    assert!(is_hidden(run(roster.delete_organization(&key, b.id(), None))));
}

#[test]
fn managing_api_keys_of_another_organization_is_not_found_without_touching_storage() {
    let (a, b) = two_tenants();
    let roster = roster(untouched_storage());
    let key = a.key();
    let input = CreateApiKeyInput { name: Some("backdoor".into()), ..Default::default() };
    assert!(is_hidden(run(roster.create_service_key(&key, b.id(), input))));
    assert!(is_hidden(run(roster.list_api_keys(&key, b.id(), KeyOwnerFilter::Service, PageSize::default(), None))));
    let id = ApiKeyId::from_uuid(uuid());
    assert!(is_hidden(run(roster.revoke_api_key(&key, b.id(), KeyOwnerFilter::Service, id))));
}

#[test]
fn a_service_key_reaches_users_of_its_own_organization() {
    let a = Tenant::new("acme");
    let user = a.user("ada@example.com");
    let mut storage = MockStorage::new();
    let (org, id, view) = (a.id(), user.id, a.view(&user));
    storage
        .expect_get_user()
        .withf(move |o, i| *o == org && *i == id)
        .times(1)
        .returning(move |_, _| Ok(Some(view.clone())));
    assert_eq!(run(roster(storage).get_user(&a.key(), a.id(), user.id)).unwrap().user, user);
}

#[test]
fn a_missing_user_of_the_callers_own_organization_is_not_found() {
    let a = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_get_user().times(1).returning(|_, _| Ok(None));
    let result = run(roster(storage).get_user(&a.key(), a.id(), UserId::from_uuid(uuid())));
    assert!(matches!(result, Err(Error::NotFound(Resource::User))));
}
