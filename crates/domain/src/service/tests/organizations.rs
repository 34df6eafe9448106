//! Creating, changing and deleting organizations.

use chrono::Duration;

use super::support::{Tenant, begins, captured, invalid_field_names, invalid_fields, now, platform, roster, run, take};
use crate::error::{Error, StoreError, Unique};
use crate::mocks::{MockStorage, MockTransaction};
use crate::organization::{OrgStatus, Organization};
use crate::organization_input::{CreateOrganizationInput, UpdateOrganizationInput};
use crate::role::Role;

fn acme() -> CreateOrganizationInput {
    CreateOrganizationInput { slug: Some("acme".into()), name: Some("Acme".into()), ..Default::default() }
}

/// Storage expecting one organization insert, whose arguments land in the returned slot.
fn storage_inserting() -> (MockStorage, super::support::Captured<(Organization, Vec<Role>)>) {
    let inserted = captured();
    let slot = inserted.clone();
    let (mut tx, _) = super::support::audited_tx();
    tx.expect_insert_organization().times(1).returning(move |org, roles| {
        *slot.lock().unwrap() = Some((org.clone(), roles.to_vec()));
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    (storage, inserted)
}

#[test]
fn only_platform_keys_create_organizations() {
    let tenant = Tenant::new("partner");
    let mut storage = MockStorage::new();
    storage.expect_get_organization().times(0);
    storage.expect_begin().times(0);
    let result = run(roster(storage).create_organization(&tenant.key(), acme()));
    assert!(matches!(result, Err(Error::Forbidden)));
}

#[test]
fn a_new_organization_gets_the_builtin_roles_and_member_as_its_default_role() {
    let (storage, inserted) = storage_inserting();
    let principal = platform();
    let org = run(roster(storage).create_organization(&principal, acme())).unwrap();

    let (stored, roles) = take(&inserted);
    assert_eq!(stored, org);
    let keys: Vec<&str> = roles.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["owner", "admin", "member"]);
    assert!(roles.iter().all(|r| r.builtin && r.org_id == org.id));
    assert_eq!(org.default_role_id, roles[2].id);
    assert_eq!(org.slug.as_str(), "acme");
    assert_eq!(org.status, OrgStatus::Active);
    assert_eq!(org.version, 1);
    assert_eq!(org.invitation_ttl, Duration::days(7));
    assert_eq!(org.seat_limit, None);
    assert_eq!(org.created_by, principal.actor());
    assert_eq!(org.created_at, now());
}

#[test]
fn the_default_role_can_be_any_builtin_role() {
    let (storage, inserted) = storage_inserting();
    let input = CreateOrganizationInput { default_role: Some("admin".into()), ..acme() };
    let org = run(roster(storage).create_organization(&platform(), input)).unwrap();
    let (_, roles) = take(&inserted);
    assert_eq!(org.default_role_id, roles.iter().find(|r| r.key.as_str() == "admin").unwrap().id);
}

#[test]
fn a_default_role_that_is_not_builtin_is_a_validation_error_and_nothing_is_inserted() {
    let mut storage = MockStorage::new();
    storage.expect_begin().times(0);
    let input = CreateOrganizationInput { default_role: Some("billing".into()), ..acme() };
    let result = run(roster(storage).create_organization(&platform(), input));
    assert_eq!(invalid_field_names(result), ["default_role"]);
}

#[test]
fn an_unknown_parent_organization_is_a_validation_error_on_parent_id() {
    let parent = Tenant::new("partner");
    let mut storage = MockStorage::new();
    let parent_id = parent.id();
    storage.expect_get_organization().withf(move |id| *id == parent_id).times(1).returning(|_| Ok(None));
    storage.expect_begin().times(0);
    let input = CreateOrganizationInput { parent_id: Some(parent.id().to_string()), ..acme() };
    let result = run(roster(storage).create_organization(&platform(), input));
    assert_eq!(invalid_fields(result), [("parent_id".to_owned(), "not_found")]);
}

#[test]
fn a_known_parent_organization_is_recorded() {
    let parent = Tenant::new("partner");
    let (mut storage, inserted) = storage_inserting();
    let known = parent.org.clone();
    storage.expect_get_organization().times(1).returning(move |_| Ok(Some(known.clone())));
    let input = CreateOrganizationInput { parent_id: Some(parent.id().to_string()), ..acme() };
    let org = run(roster(storage).create_organization(&platform(), input)).unwrap();
    assert_eq!(org.parent_id, Some(parent.id()));
    assert_eq!(take(&inserted).0.parent_id, Some(parent.id()));
}

#[test]
fn invalid_organization_input_reports_every_field_before_storage() {
    let mut storage = MockStorage::new();
    storage.expect_begin().times(0);
    let input = CreateOrganizationInput { slug: Some("Not A Slug".into()), seat_limit: Some(-1), ..Default::default() };
    let result = run(roster(storage).create_organization(&platform(), input));
    assert_eq!(invalid_field_names(result), ["slug", "name", "seat_limit"]);
}

#[test]
fn a_taken_slug_is_slug_taken_and_nothing_is_committed() {
    let mut tx = MockTransaction::new();
    tx.expect_insert_organization().times(1).returning(|_, _| Err(StoreError::Duplicate(Unique::OrganizationSlug)));
    tx.expect_commit().times(0);
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    assert!(matches!(run(roster(storage).create_organization(&platform(), acme())), Err(Error::SlugTaken)));
}

/// Storage whose transaction locks `tenant`'s row, expecting `updates` overwrites.
fn storage_locking(tenant: &Tenant, updates: usize) -> (MockStorage, super::support::Captured<Organization>) {
    let updated = captured();
    let slot = updated.clone();
    let mut tx = tenant.tx();
    let org = tenant.org.clone();
    tx.expect_organization_for_update().times(1).returning(move |_| Ok(Some(org.clone())));
    tx.expect_update_organization().times(updates).returning(move |o| {
        *slot.lock().unwrap() = Some(o.clone());
        Ok(())
    });
    tx.expect_commit().times(updates).returning(|| Ok(()));
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    (storage, updated)
}

#[test]
fn updating_an_organization_with_a_stale_version_changes_nothing() {
    let mut tenant = Tenant::new("acme");
    tenant.org.version = 3;
    let (storage, _) = storage_locking(&tenant, 0);
    let input = UpdateOrganizationInput { name: Some("Acme Corp".into()), ..Default::default() };
    let result = run(roster(storage).update_organization(&platform(), tenant.id(), input, Some(2)));
    assert!(matches!(result, Err(Error::VersionMismatch { current: 3 })));
}

#[test]
fn updating_an_organization_bumps_its_version_and_records_the_actor() {
    let tenant = Tenant::new("acme");
    let (storage, updated) = storage_locking(&tenant, 1);
    let principal = tenant.key();
    let input = UpdateOrganizationInput {
        name: Some("Acme Corp".into()),
        domain: Some(Some("Acme.example".into())),
        default_role_id: Some(tenant.role("admin").to_string()),
        ..Default::default()
    };
    let org = run(roster(storage).update_organization(&principal, tenant.id(), input, Some(1))).unwrap();
    assert_eq!(org, take(&updated));
    assert_eq!(org.name.as_str(), "Acme Corp");
    assert_eq!(org.domain.as_ref().map(|d| d.as_str()), Some("acme.example"));
    assert_eq!(org.default_role_id, tenant.role("admin"));
    assert_eq!(org.version, 2);
    assert_eq!(org.modified_by, principal.actor());
}

#[test]
fn an_organizations_default_role_must_be_one_of_its_own_roles() {
    let tenant = Tenant::new("acme");
    let other = Tenant::new("globex");
    let (storage, _) = storage_locking(&tenant, 0);
    let input =
        UpdateOrganizationInput { default_role_id: Some(other.role("member").to_string()), ..Default::default() };
    let result = run(roster(storage).update_organization(&platform(), tenant.id(), input, None));
    assert_eq!(invalid_fields(result), [("default_role_id".to_owned(), "not_found")]);
}

#[test]
fn a_service_key_cannot_delete_its_own_organization() {
    let tenant = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_begin().times(0);
    let result = run(roster(storage).delete_organization(&tenant.key(), tenant.id(), None));
    assert!(matches!(result, Err(Error::Forbidden)));
}

#[test]
fn deleting_an_organization_with_a_stale_version_changes_nothing() {
    let tenant = Tenant::new("acme");
    let (storage, _) = storage_locking(&tenant, 0);
    let result = run(roster(storage).delete_organization(&platform(), tenant.id(), Some(7)));
    assert!(matches!(result, Err(Error::VersionMismatch { current: 1 })));
}

#[test]
fn deleting_an_organization_marks_it_deleted() {
    let tenant = Tenant::new("acme");
    let (storage, updated) = storage_locking(&tenant, 1);
    run(roster(storage).delete_organization(&platform(), tenant.id(), Some(1))).unwrap();
    let org = take(&updated);
    assert_eq!(org.status, OrgStatus::Deleted);
    assert_eq!(org.version, 2);
}
