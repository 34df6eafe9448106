//! Who may do what where: rule 10 first (out of reach is "not found", never "forbidden"),
//! then the caller's permissions, then partner reach to child organizations.

use super::support::{Captured, Tenant, begins, captured, invalid_fields, platform, roster, run, take, uuid};
use crate::error::{Error, Resource};
use crate::ids::UserId;
use crate::mocks::MockStorage;
use crate::organization::Organization;
use crate::organization_input::{CreateOrganizationInput, UpdateOrganizationInput};
use crate::page::PageSize;
use crate::role::{BuiltinRole, Role};
use crate::service::CreateRoleInput;
use crate::user_input::{CreateUserInput, UpdateUserInput};

/// Storage on which any read or transaction fails the test.
fn untouched_storage() -> MockStorage {
    let mut storage = MockStorage::new();
    storage.expect_get_organization().times(0);
    storage.expect_get_user().times(0);
    storage.expect_list_roles().times(0);
    storage.expect_begin().times(0);
    storage
}

fn new_user() -> CreateUserInput {
    CreateUserInput { email: Some("eve@example.com".into()), name: Some("Eve".into()), ..Default::default() }
}

fn new_role() -> CreateRoleInput {
    CreateRoleInput {
        key: Some("billing".into()),
        name: Some("Billing".into()),
        permissions: Some(vec!["users.read".into()]),
        ..Default::default()
    }
}

fn rename() -> UpdateUserInput {
    UpdateUserInput { name: Some("Mallory".into()), ..Default::default() }
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, Error>) -> bool {
    matches!(result, Err(Error::Forbidden))
}

fn hidden<T: std::fmt::Debug>(result: Result<T, Error>) -> bool {
    matches!(result, Err(Error::NotFound(Resource::Organization)))
}

#[test]
fn a_member_session_is_forbidden_to_write_users_or_roles_before_storage() {
    let tenant = Tenant::new("acme");
    let member = tenant.session_as(BuiltinRole::Member);
    let roster = roster(untouched_storage());
    let user = UserId::from_uuid(uuid());
    assert!(forbidden(run(roster.create_user(&member, tenant.id(), new_user()))));
    assert!(forbidden(run(roster.update_user(&member, tenant.id(), user, rename(), None))));
    assert!(forbidden(run(roster.delete_user(&member, tenant.id(), user, None))));
    assert!(forbidden(run(roster.batch_delete_users(&member, tenant.id(), &[user.to_string()]))));
    assert!(forbidden(run(roster.create_role(&member, tenant.id(), new_role()))));
    assert!(forbidden(run(roster.delete_role(&member, tenant.id(), tenant.role("member"), None, None))));
}

#[test]
fn a_member_session_reads_users_and_roles() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let mut storage = tenant.storage();
    let view = tenant.view(&user);
    storage.expect_get_user().returning(move |_, _| Ok(Some(view.clone())));
    let roles = tenant.roles.clone();
    storage.expect_list_roles().returning(move |_| Ok(roles.clone()));
    let roster = roster(storage);
    let member = tenant.session_as(BuiltinRole::Member);
    assert_eq!(run(roster.get_user(&member, tenant.id(), user.id)).unwrap().user, user);
    assert_eq!(run(roster.list_roles(&member, tenant.id())).unwrap(), tenant.roles);
    assert_eq!(run(roster.get_organization(&member, tenant.id())).unwrap(), tenant.org);
}

#[test]
fn a_key_scoped_to_reading_users_cannot_read_roles() {
    let tenant = Tenant::new("acme");
    let key = tenant.scoped_key(&["users.read"]);
    assert!(forbidden(run(roster(untouched_storage()).list_roles(&key, tenant.id()))));
}

#[test]
fn a_principal_of_another_organization_gets_not_found_even_without_the_permission() {
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let roster = roster(untouched_storage());
    let user = UserId::from_uuid(uuid());
    // Forbidden in its own organization, hidden everywhere else: the error must not
    // reveal that the other organization exists.
    for principal in [globex.session_as(BuiltinRole::Member), globex.scoped_key(&[]), globex.key()] {
        assert!(hidden(run(roster.create_user(&principal, acme.id(), new_user()))));
        assert!(hidden(run(roster.update_user(&principal, acme.id(), user, rename(), None))));
        assert!(hidden(run(roster.get_user(&principal, acme.id(), user))));
        assert!(hidden(run(roster.create_role(&principal, acme.id(), new_role()))));
        assert!(hidden(run(roster.list_roles(&principal, acme.id()))));
        assert!(hidden(run(roster.get_organization(&principal, acme.id()))));
        assert!(hidden(run(roster.delete_organization(&principal, acme.id(), None))));
    }
    assert!(forbidden(run(roster.list_roles(&globex.scoped_key(&[]), globex.id()))));
}

/// Storage that knows every one of `tenants` for plain reads.
fn storage_knowing(tenants: &[&Tenant]) -> MockStorage {
    let orgs: Vec<Organization> = tenants.iter().map(|t| t.org.clone()).collect();
    let mut storage = MockStorage::new();
    storage.expect_get_organization().returning(move |id| Ok(orgs.iter().find(|o| o.id == id).cloned()));
    storage
}

#[test]
fn a_partner_reaches_its_child_organizations() {
    let partner = Tenant::partner("reseller");
    let child = Tenant::child_of("customer", &partner);
    let roster = roster(storage_knowing(&[&partner, &child]));
    let org = run(roster.get_organization(&partner.key(), child.id())).unwrap();
    assert_eq!(org, child.org);
    assert_eq!(org.parent_id, Some(partner.id()));
    // Its users too, with the permissions of the partner's principal.
    let admin = partner.session_as(BuiltinRole::Admin);
    assert_eq!(run(roster.get_organization(&admin, child.id())).unwrap(), child.org);
}

#[test]
fn a_partner_does_not_reach_unrelated_organizations_nor_its_grandchildren() {
    let partner = Tenant::partner("reseller");
    let other_partner = Tenant::partner("rival");
    let child = Tenant::child_of("customer", &partner);
    let grandchild = Tenant::child_of("subsidiary", &child);
    let unrelated = Tenant::new("unrelated");
    let rivals_child = Tenant::child_of("theirs", &other_partner);
    let roster = roster(storage_knowing(&[&partner, &other_partner, &child, &grandchild, &unrelated, &rivals_child]));
    for target in [&unrelated, &other_partner, &grandchild, &rivals_child] {
        assert!(hidden(run(roster.get_organization(&partner.key(), target.id()))), "reached {}", target.org.slug);
    }
    assert!(hidden(run(roster.get_organization(&partner.key(), uuid_org()))));
}

fn uuid_org() -> crate::ids::OrgId {
    crate::ids::OrgId::from_uuid(uuid())
}

#[test]
fn a_child_organization_that_is_no_partner_does_not_reach_its_parent_or_siblings() {
    let partner = Tenant::partner("reseller");
    let child = Tenant::child_of("customer", &partner);
    let sibling = Tenant::child_of("other-customer", &partner);
    let roster = roster(untouched_storage());
    assert!(hidden(run(roster.get_organization(&child.key(), partner.id()))));
    assert!(hidden(run(roster.get_organization(&child.key(), sibling.id()))));
}

#[test]
fn an_organization_that_stopped_being_a_partner_no_longer_reaches_its_children() {
    let mut former = Tenant::partner("reseller");
    let child = Tenant::child_of("customer", &former);
    former.org.partner = false;
    let roster = roster(storage_knowing(&[&former, &child]));
    assert!(hidden(run(roster.get_organization(&former.key(), child.id()))));
}

#[test]
fn a_partner_lists_itself_and_its_children_only() {
    let partner = Tenant::partner("reseller");
    let child = Tenant::child_of("customer", &partner);
    let mut storage = MockStorage::new();
    let (own, rows) = (partner.id(), vec![partner.org.clone(), child.org.clone()]);
    storage
        .expect_list_organizations()
        .withf(move |within, after, _| *within == Some(own) && after.is_none())
        .times(1)
        .returning(move |_, _, _| Ok(rows.clone()));
    let page = run(roster(storage).list_organizations(&partner.key(), PageSize::default(), None)).unwrap();
    assert_eq!(page.items, [partner.org.clone(), child.org.clone()]);
}

fn child_input() -> CreateOrganizationInput {
    CreateOrganizationInput { slug: Some("customer".into()), name: Some("Customer".into()), ..Default::default() }
}

#[test]
fn a_non_partner_cannot_create_organizations() {
    let tenant = Tenant::new("acme");
    let roster = roster(untouched_storage());
    for principal in [tenant.key(), tenant.session_as(BuiltinRole::Owner)] {
        assert!(forbidden(run(roster.create_organization(&principal, child_input()))));
    }
}

/// Storage expecting one organization insert.
fn storage_inserting_org() -> (MockStorage, Captured<(Organization, Vec<Role>)>) {
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
fn a_partner_creates_child_organizations_of_its_own() {
    let partner = Tenant::partner("reseller");
    let (storage, inserted) = storage_inserting_org();
    let org = run(roster(storage).create_organization(&partner.session_as(BuiltinRole::Admin), child_input())).unwrap();
    assert_eq!(org.parent_id, Some(partner.id()));
    assert!(!org.partner);
    assert_eq!(take(&inserted).0, org);
}

#[test]
fn a_partner_naming_itself_as_parent_is_accepted_and_any_other_parent_is_not_found() {
    let partner = Tenant::partner("reseller");
    let (storage, _) = storage_inserting_org();
    let input = CreateOrganizationInput { parent_id: Some(partner.id().to_string()), ..child_input() };
    assert_eq!(run(roster(storage).create_organization(&partner.key(), input)).unwrap().parent_id, Some(partner.id()));

    let elsewhere = Tenant::new("elsewhere");
    let input = CreateOrganizationInput { parent_id: Some(elsewhere.id().to_string()), ..child_input() };
    let result = run(roster(untouched_storage()).create_organization(&partner.key(), input));
    assert_eq!(invalid_fields(result), [("parent_id".to_owned(), "not_found")]);
}

#[test]
fn a_partner_cannot_create_a_partner_nor_create_without_the_permission() {
    let partner = Tenant::partner("reseller");
    let roster = roster(untouched_storage());
    let input = CreateOrganizationInput { partner: Some(true), ..child_input() };
    assert!(forbidden(run(roster.create_organization(&partner.key(), input))));
    let member = partner.session_as(BuiltinRole::Member);
    assert!(forbidden(run(roster.create_organization(&member, child_input()))));
    let reader = partner.scoped_key(&["organizations.read"]);
    assert!(forbidden(run(roster.create_organization(&reader, child_input()))));
}

#[test]
fn only_the_platform_makes_an_organization_a_partner() {
    let tenant = Tenant::new("acme");
    let input = || UpdateOrganizationInput { partner: Some(true), ..Default::default() };
    let result = run(roster(untouched_storage()).update_organization(&tenant.key(), tenant.id(), input(), None));
    assert!(forbidden(result));

    let (storage, inserted) = storage_inserting_org();
    let created = CreateOrganizationInput { partner: Some(true), ..child_input() };
    assert!(run(roster(storage).create_organization(&platform(), created)).unwrap().partner);
    assert!(take(&inserted).0.partner);
}

#[test]
fn an_organization_cannot_change_its_own_seat_limit_but_its_partner_can() {
    let partner = Tenant::partner("reseller");
    let child = Tenant::child_of("customer", &partner);
    let input = || UpdateOrganizationInput { seat_limit: Some(Some(500)), ..Default::default() };

    let mut tx = child.locking_tx();
    tx.expect_update_organization().times(0);
    tx.expect_commit().times(0);
    let mut storage = MockStorage::new();
    begins(&mut storage, tx);
    assert!(forbidden(run(roster(storage).update_organization(&child.key(), child.id(), input(), None))));

    let mut tx = child.locking_tx();
    tx.expect_update_organization().times(1).returning(|_| Ok(()));
    tx.expect_commit().times(1).returning(|| Ok(()));
    let mut storage = storage_knowing(&[&child]);
    begins(&mut storage, tx);
    let org = run(roster(storage).update_organization(&partner.key(), child.id(), input(), None)).unwrap();
    assert_eq!(org.seat_limit, Some(500));
}

#[test]
fn an_organizations_own_credentials_cannot_delete_it() {
    let tenant = Tenant::new("acme");
    let roster = roster(untouched_storage());
    for principal in [tenant.key(), tenant.session_as(BuiltinRole::Owner)] {
        assert!(forbidden(run(roster.delete_organization(&principal, tenant.id(), None))));
    }
}

#[test]
fn a_partner_deletes_its_child_organization() {
    let partner = Tenant::partner("reseller");
    let child = Tenant::child_of("customer", &partner);
    let updated = captured::<Organization>();
    let slot = updated.clone();
    let mut tx = child.locking_tx();
    tx.expect_update_organization().times(1).returning(move |o| {
        *slot.lock().unwrap() = Some(o.clone());
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    let mut storage = storage_knowing(&[&partner, &child]);
    begins(&mut storage, tx);
    run(roster(storage).delete_organization(&partner.key(), child.id(), None)).unwrap();
    assert_eq!(take(&updated).status, crate::organization::OrgStatus::Deleted);
    assert_eq!(child.audit_events()[0].action, "organization.deleted");
}

#[test]
fn a_partner_admin_cannot_delete_a_child_without_organizations_delete() {
    let partner = Tenant::partner("reseller");
    let child = Tenant::child_of("customer", &partner);
    let mut storage = storage_knowing(&[&partner, &child]);
    storage.expect_begin().times(0);
    let admin = partner.session_as(BuiltinRole::Admin);
    assert!(forbidden(run(roster(storage).delete_organization(&admin, child.id(), None))));
}
