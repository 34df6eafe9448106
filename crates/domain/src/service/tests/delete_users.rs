//! Deleting users, one at a time (with a version) or in batches with per-item outcomes.

use super::support::{Tenant, active_owners, begins, invalid_fields, roster, run, uuid};
use crate::error::{Error, Resource};
use crate::ids::UserId;
use crate::mocks::{MockStorage, MockTransaction};
use crate::service::BatchOutcome;
use crate::user::User;

/// Storage whose one transaction locks `user` of `tenant` and expects `deletes`
/// deletions; the organization has another active owner.
fn storage_holding(tenant: &Tenant, user: &User, deletes: usize) -> MockStorage {
    let mut tx = tenant.locking_tx();
    active_owners(&mut tx, vec![UserId::from_uuid(uuid())]);
    let (stored, id) = (user.clone(), user.id);
    tx.expect_user_for_update().withf(move |_, i| *i == id).times(1).returning(move |_, _| Ok(Some(stored.clone())));
    tx.expect_delete_users().withf(move |_, ids, _| ids == [id]).times(deletes).returning(|_, ids, _| Ok(ids.to_vec()));
    tx.expect_commit().times(deletes).returning(|| Ok(()));
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    storage
}

#[test]
fn deleting_a_user_soft_deletes_it_in_one_transaction() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    run(roster(storage_holding(&tenant, &user, 1)).delete_user(&tenant.key(), tenant.id(), user.id, Some(1))).unwrap();
    let events = tenant.audit_events();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].action.as_str(), events[0].target_id.clone()), ("user.deleted", user.id.to_string()));
}

#[test]
fn deleting_a_user_with_a_stale_version_deletes_nothing() {
    let tenant = Tenant::new("acme");
    let mut user = tenant.user("ada@example.com");
    user.version = 5;
    let storage = storage_holding(&tenant, &user, 0);
    let result = run(roster(storage).delete_user(&tenant.key(), tenant.id(), user.id, Some(4)));
    assert!(matches!(result, Err(Error::VersionMismatch { current: 5 })));
    assert!(tenant.audit_events().is_empty());
}

#[test]
fn deleting_an_unknown_user_is_not_found_and_deletes_nothing() {
    let tenant = Tenant::new("acme");
    let mut tx = tenant.locking_tx();
    tx.expect_user_for_update().times(1).returning(|_, _| Ok(None));
    tx.expect_delete_users().times(0);
    tx.expect_commit().times(0);
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    let result = run(roster(storage).delete_user(&tenant.key(), tenant.id(), UserId::from_uuid(uuid()), None));
    assert!(matches!(result, Err(Error::NotFound(Resource::User))));
}

#[test]
fn a_batch_delete_reports_an_outcome_per_id_in_request_order() {
    let tenant = Tenant::new("acme");
    let (gone, missing) = (UserId::from_uuid(uuid()), UserId::from_uuid(uuid()));
    let mut storage = tenant.storage();
    let mut tx = tenant.locking_tx();
    active_owners(&mut tx, vec![UserId::from_uuid(uuid())]);
    let org_id = tenant.id();
    tx.expect_delete_users()
        .withf(move |org, ids, _| *org == org_id && ids == [missing, gone])
        .times(1)
        .returning(move |_, _, _| Ok(vec![gone]));
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    let raw = vec![missing.to_string(), "not-a-uuid".to_owned(), gone.to_string()];

    let outcomes = run(roster(storage).batch_delete_users(&tenant.key(), tenant.id(), &raw)).unwrap();
    assert_eq!(
        outcomes,
        [
            (missing.to_string(), BatchOutcome::NotFound),
            ("not-a-uuid".to_owned(), BatchOutcome::NotFound),
            (gone.to_string(), BatchOutcome::Deleted),
        ]
    );
}

#[test]
fn a_batch_of_ids_that_are_not_uuids_reports_each_as_not_found() {
    let tenant = Tenant::new("acme");
    let mut storage = tenant.storage();
    let mut tx = tenant.locking_tx();
    active_owners(&mut tx, vec![UserId::from_uuid(uuid())]);
    tx.expect_delete_users().withf(|_, ids, _| ids.is_empty()).returning(|_, _, _| Ok(Vec::new()));
    tx.expect_commit().returning(|| Ok(()));
    begins(&mut storage, tx);
    let raw = vec!["42".to_owned(), "' OR 1=1 --".to_owned()];
    let outcomes = run(roster(storage).batch_delete_users(&tenant.key(), tenant.id(), &raw)).unwrap();
    assert!(outcomes.iter().all(|(_, outcome)| *outcome == BatchOutcome::NotFound));
    assert_eq!(outcomes.len(), 2);
}

fn untouched_storage() -> MockStorage {
    let mut storage = MockStorage::new();
    storage.expect_get_organization().times(0);
    storage.expect_begin().times(0);
    storage
}

#[test]
fn a_batch_delete_of_no_ids_is_a_validation_error_on_user_ids() {
    let tenant = Tenant::new("acme");
    let result = run(roster(untouched_storage()).batch_delete_users(&tenant.key(), tenant.id(), &[]));
    assert_eq!(invalid_fields(result), [("user_ids".to_owned(), "length")]);
}

#[test]
fn a_batch_delete_of_more_than_100_ids_is_a_validation_error_on_user_ids() {
    let tenant = Tenant::new("acme");
    let raw: Vec<String> = (0..101).map(|_| uuid().to_string()).collect();
    let result = run(roster(untouched_storage()).batch_delete_users(&tenant.key(), tenant.id(), &raw));
    assert_eq!(invalid_fields(result), [("user_ids".to_owned(), "length")]);
}

#[test]
fn a_batch_delete_of_exactly_100_ids_is_accepted() {
    let tenant = Tenant::new("acme");
    let mut storage = tenant.storage();
    let mut tx = tenant.locking_tx();
    active_owners(&mut tx, vec![UserId::from_uuid(uuid())]);
    tx.expect_delete_users().withf(|_, ids, _| ids.len() == 100).times(1).returning(|_, ids, _| Ok(ids.to_vec()));
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    let raw: Vec<String> = (0..100).map(|_| uuid().to_string()).collect();
    let outcomes = run(roster(storage).batch_delete_users(&tenant.key(), tenant.id(), &raw)).unwrap();
    assert!(outcomes.iter().all(|(_, outcome)| *outcome == BatchOutcome::Deleted));
    assert_eq!(tenant.audit_events().len(), 100, "one audit event per deleted user");
}

#[test]
fn a_batch_delete_in_an_unknown_organization_is_not_found() {
    let tenant = Tenant::new("acme");
    let mut tx = MockTransaction::new();
    tx.expect_revoke_user_sessions().returning(|_, _, _| Ok(0));
    tx.expect_organization_for_update().times(1).returning(|_| Ok(None));
    tx.expect_delete_users().times(0);
    tx.expect_commit().times(0);
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    let result =
        run(roster(storage).batch_delete_users(&super::support::platform(), tenant.id(), &[uuid().to_string()]));
    assert!(matches!(result, Err(Error::NotFound(Resource::Organization))));
}
