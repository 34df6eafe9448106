//! Roles: built-ins are immutable; custom roles are created, changed and deleted, with
//! their holders reassigned rather than left without a role.

use super::support::{
    Captured, Tenant, begins, captured, invalid_field_names, invalid_fields, roster, run, take, uuid,
};
use crate::error::{Error, Resource, StoreError, Unique};
use crate::ids::RoleId;
use crate::mocks::{MockStorage, MockTransaction};
use crate::role::{BuiltinRole, Role};
use crate::service::{CreateRoleInput, UpdateRoleInput};

fn tenant() -> Tenant {
    Tenant::new("acme").with_custom_role("billing", &["invoices.approve", "users.read"])
}

/// A transaction of `tenant` that locks its roles (and its row).
fn role_tx(tenant: &Tenant) -> MockTransaction {
    let mut tx = tenant.locking_tx();
    let roles = tenant.roles.clone();
    tx.expect_role_for_update().returning(move |_, id| Ok(roles.iter().find(|r| r.id == id).cloned()));
    tx
}

fn storage_with(tx: MockTransaction) -> MockStorage {
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    storage
}

fn rename() -> UpdateRoleInput {
    UpdateRoleInput { name: Some("Renamed".into()), ..Default::default() }
}

#[test]
fn builtin_roles_cannot_be_changed_or_deleted() {
    let tenant = tenant();
    for which in BuiltinRole::ALL {
        let id = tenant.role(which.key());
        let mut tx = role_tx(&tenant);
        tx.expect_update_role().times(0);
        tx.expect_commit().times(0);
        let result = run(roster(storage_with(tx)).update_role(&tenant.key(), tenant.id(), id, rename(), None));
        assert!(matches!(result, Err(Error::ImmutableRole)), "changed {}", which.key());

        let mut tx = role_tx(&tenant);
        tx.expect_delete_role().times(0);
        tx.expect_commit().times(0);
        let result = run(roster(storage_with(tx)).delete_role(&tenant.key(), tenant.id(), id, None, None));
        assert!(matches!(result, Err(Error::ImmutableRole)), "deleted {}", which.key());
    }
}

#[test]
fn a_custom_role_is_changed_with_its_version_bumped() {
    let tenant = tenant();
    let updated = captured::<Role>();
    let slot = updated.clone();
    let mut tx = role_tx(&tenant);
    tx.expect_update_role().times(1).returning(move |r| {
        *slot.lock().unwrap() = Some(r.clone());
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    let input =
        UpdateRoleInput { permissions: Some(vec!["invoices.approve".into(), "invoices.read".into()]), ..rename() };
    let role =
        run(roster(storage_with(tx)).update_role(&tenant.key(), tenant.id(), tenant.role("billing"), input, Some(1)))
            .unwrap();
    assert_eq!(take(&updated), role);
    assert_eq!(role.name, "Renamed");
    assert_eq!(role.permissions.names(), ["invoices.approve", "invoices.read"]);
    assert_eq!(role.version, 2);
    assert_eq!(tenant.audit_events()[0].action, "role.updated");
}

#[test]
fn changing_a_role_with_a_stale_version_changes_nothing() {
    let tenant = tenant();
    let mut tx = role_tx(&tenant);
    tx.expect_update_role().times(0);
    tx.expect_commit().times(0);
    let result = run(roster(storage_with(tx)).update_role(
        &tenant.key(),
        tenant.id(),
        tenant.role("billing"),
        rename(),
        Some(7),
    ));
    assert!(matches!(result, Err(Error::VersionMismatch { current: 1 })));
}

/// A transaction in which `holders` users hold every role, expecting deletions
/// (`deletes` times) and reassignments recorded into the returned slot.
fn deleting_tx(tenant: &Tenant, holders: u64, deletes: usize) -> (MockTransaction, Captured<(RoleId, RoleId)>) {
    let reassigned = captured();
    let slot = reassigned.clone();
    let mut tx = role_tx(tenant);
    tx.expect_count_role_holders().returning(move |_, _| Ok(holders));
    tx.expect_reassign_role().returning(move |_, from, to, _| {
        *slot.lock().unwrap() = Some((from, to));
        Ok(())
    });
    tx.expect_delete_role().times(deletes).returning(|_, _| Ok(()));
    tx.expect_commit().times(deletes).returning(|| Ok(()));
    (tx, reassigned)
}

#[test]
fn deleting_an_unused_custom_role_deletes_it() {
    let tenant = tenant();
    let (tx, reassigned) = deleting_tx(&tenant, 0, 1);
    let billing = tenant.role("billing");
    run(roster(storage_with(tx)).delete_role(&tenant.key(), tenant.id(), billing, None, Some(1))).unwrap();
    assert!(reassigned.lock().unwrap().is_none());
    let events = tenant.audit_events();
    assert_eq!((events[0].action.as_str(), events[0].target_id.clone()), ("role.deleted", billing.to_string()));
}

#[test]
fn deleting_a_role_users_hold_is_role_in_use_without_reassign_to() {
    let tenant = tenant();
    let (tx, reassigned) = deleting_tx(&tenant, 3, 0);
    let result =
        run(roster(storage_with(tx)).delete_role(&tenant.key(), tenant.id(), tenant.role("billing"), None, None));
    assert!(matches!(result, Err(Error::RoleInUse { holders: 3 })));
    assert!(reassigned.lock().unwrap().is_none());
}

#[test]
fn deleting_a_role_users_hold_reassigns_them_to_reassign_to() {
    let tenant = tenant();
    let (tx, reassigned) = deleting_tx(&tenant, 3, 1);
    let (billing, member) = (tenant.role("billing"), tenant.role("member"));
    let to = member.to_string();
    run(roster(storage_with(tx)).delete_role(&tenant.key(), tenant.id(), billing, Some(&to), None)).unwrap();
    assert_eq!(*reassigned.lock().unwrap(), Some((billing, member)));
    assert_eq!(tenant.audit_events()[0].details.get("reassigned_to"), Some(&to));
}

#[test]
fn reassign_to_must_name_another_role_of_the_organization() {
    let tenant = tenant();
    let billing = tenant.role("billing");
    let foreign = Tenant::new("globex").role("member").to_string();
    for (to, field, code) in [
        ("not-an-id".to_owned(), "reassign_to", "invalid_id"),
        (foreign, "reassign_to", "not_found"),
        (billing.to_string(), "reassign_to", "not_found"),
    ] {
        let (tx, _) = deleting_tx(&tenant, 3, 0);
        let mut storage = MockStorage::new();
        storage.expect_begin().times(0..=1).return_once(move || Ok(Box::new(tx)));
        let result = run(roster(storage).delete_role(&tenant.key(), tenant.id(), billing, Some(&to), None));
        assert_eq!(invalid_fields(result), [(field.to_owned(), code)], "reassign_to {to}");
    }
}

#[test]
fn reassigning_holders_to_the_owner_role_needs_an_owner() {
    let tenant = tenant().with_custom_role("ops", &["users.read"]);
    let (tx, reassigned) = deleting_tx(&tenant, 2, 0);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let to = tenant.role("owner").to_string();
    let mut storage = storage_with(tx);
    tenant.allow_signed_in(&mut storage);
    let result = run(roster(storage).delete_role(&admin, tenant.id(), tenant.role("ops"), Some(&to), None));
    assert!(matches!(result, Err(Error::Forbidden)));
    assert!(reassigned.lock().unwrap().is_none());
}

#[test]
fn the_default_role_cannot_be_deleted() {
    let mut tenant = tenant();
    tenant.org.default_role_id = tenant.role("billing");
    let (tx, _) = deleting_tx(&tenant, 0, 0);
    let result =
        run(roster(storage_with(tx)).delete_role(&tenant.key(), tenant.id(), tenant.role("billing"), None, None));
    assert_eq!(invalid_fields(result), [("role_id".to_owned(), "default_role")]);
}

#[test]
fn deleting_an_unknown_role_is_not_found() {
    let tenant = tenant();
    let (tx, _) = deleting_tx(&tenant, 0, 0);
    let id = RoleId::from_uuid(uuid());
    let result = run(roster(storage_with(tx)).delete_role(&tenant.key(), tenant.id(), id, None, None));
    assert!(matches!(result, Err(Error::NotFound(Resource::Role))));
}

#[test]
fn a_role_needs_a_key_a_name_and_permissions() {
    let tenant = tenant();
    let mut storage = MockStorage::new();
    storage.expect_begin().times(0);
    let result = run(roster(storage).create_role(&tenant.key(), tenant.id(), CreateRoleInput::default()));
    assert_eq!(invalid_field_names(result), ["key", "name", "permissions"]);
}

#[test]
fn a_malformed_permission_of_a_role_is_reported_by_index() {
    let tenant = tenant();
    let mut storage = MockStorage::new();
    storage.expect_begin().times(0);
    let input = CreateRoleInput {
        key: Some("Bad Key".into()),
        name: Some("Ops".into()),
        description: None,
        permissions: Some(vec!["users.read".into(), "users".into()]),
    };
    let result = run(roster(storage).create_role(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_field_names(result), ["key", "permissions[1]"]);
}

#[test]
fn a_taken_role_key_is_role_key_taken() {
    let tenant = tenant();
    let mut tx = tenant.tx();
    tx.expect_insert_role().times(1).returning(|_| Err(StoreError::Duplicate(Unique::RoleKey)));
    tx.expect_commit().times(0);
    let input = CreateRoleInput {
        key: Some("billing".into()),
        name: Some("Billing".into()),
        description: None,
        permissions: Some(vec!["users.read".into()]),
    };
    let result = run(roster(storage_with(tx)).create_role(&tenant.key(), tenant.id(), input));
    assert!(matches!(result, Err(Error::RoleKeyTaken)));
    assert!(tenant.audit_events().is_empty());
}

#[test]
fn roles_of_an_unknown_organization_are_not_found() {
    let mut storage = MockStorage::new();
    storage.expect_list_roles().times(1).returning(|_| Ok(Vec::new()));
    let result = run(roster(storage).list_roles(&super::support::platform(), tenant().id()));
    assert!(matches!(result, Err(Error::NotFound(Resource::Organization))));
}

#[test]
fn getting_a_role_finds_it_among_the_organizations_roles() {
    let tenant = tenant();
    let mut storage = MockStorage::new();
    let roles = tenant.roles.clone();
    storage.expect_list_roles().returning(move |_| Ok(roles.clone()));
    let roster = roster(storage);
    let billing = run(roster.get_role(&tenant.key(), tenant.id(), tenant.role("billing"))).unwrap();
    assert_eq!(billing, tenant.role_named("billing"));
    let result = run(roster.get_role(&tenant.key(), tenant.id(), RoleId::from_uuid(uuid())));
    assert!(matches!(result, Err(Error::NotFound(Resource::Role))));
}
