//! Rule 5: no privilege escalation. A caller hands out only roles and permissions it
//! holds itself, and only owners make owners — through users, roles, grants and keys.

use super::support::{Captured, Tenant, begins, captured, invalid_fields, perms, roster, run, take, uuid};
use crate::api_key::ApiKey;
use crate::error::Error;
use crate::grant::Grant;
use crate::ids::UserId;
use crate::mocks::MockStorage;
use crate::role::{BuiltinRole, Role};
use crate::service::{CreateApiKeyInput, CreateRoleInput, GrantInput, UpdateRoleInput};
use crate::user::User;
use crate::user_input::{CreateUserInput, UpdateUserInput};

/// `tenant` with a custom role `billing` granting an application permission.
fn tenant() -> Tenant {
    Tenant::new("acme").with_custom_role("billing", &["invoices.approve", "users.read"])
}

fn invite(role_ids: &[crate::ids::RoleId]) -> CreateUserInput {
    CreateUserInput {
        email: Some("eve@example.com".into()),
        name: Some("Eve".into()),
        role_ids: Some(role_ids.iter().map(ToString::to_string).collect()),
        ..Default::default()
    }
}

/// Storage of `tenant` on which a creation writes its user (`inserts` is 1) or nothing (0).
fn storage_creating(tenant: &Tenant, inserts: usize) -> (MockStorage, Captured<User>) {
    match inserts {
        0 => (tenant.storage_refusing(), captured()),
        _ => tenant.storage_creating(),
    }
}

#[test]
fn an_admin_cannot_create_an_owner() {
    let tenant = tenant();
    let (storage, _) = storage_creating(&tenant, 0);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let result = run(roster(storage).create_user(&admin, tenant.id(), invite(&[tenant.role("owner")])));
    assert!(matches!(result, Err(Error::Forbidden)));
    assert!(tenant.audit_events().is_empty());
}

#[test]
fn the_legacy_role_key_cannot_smuggle_in_the_owner_role() {
    let tenant = tenant();
    let (storage, _) = storage_creating(&tenant, 0);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let input = CreateUserInput { role_ids: None, role: Some("owner".into()), ..invite(&[]) };
    assert!(matches!(run(roster(storage).create_user(&admin, tenant.id(), input)), Err(Error::Forbidden)));
}

/// A principal holding every permission without being an owner (only a misconfigured
/// adapter could produce one): rule 5 still keeps it from making owners.
fn everything_but_owner(tenant: &Tenant) -> crate::auth::Principal {
    let scoped = tenant.scoped_key(&[]);
    crate::auth::Principal::new(crate::auth::Identity {
        owner: false,
        permissions: crate::permission::PermissionSet::all(),
        ..scoped.identity().clone()
    })
}

#[test]
fn holding_every_permission_does_not_make_a_caller_an_owner_maker() {
    let tenant = tenant();
    let (storage, _) = storage_creating(&tenant, 0);
    let caller = everything_but_owner(&tenant);
    let result = run(roster(storage).create_user(&caller, tenant.id(), invite(&[tenant.role("owner")])));
    assert!(matches!(result, Err(Error::Forbidden)));
    let user = tenant.user("ada@example.com");
    let (storage, _) = storage_updating(&tenant, &user, 0);
    let result = run(roster(storage).update_user(&caller, tenant.id(), user.id, make("owner"), None));
    assert!(matches!(result, Err(Error::Forbidden)));
}

#[test]
fn an_owner_creates_an_owner() {
    let tenant = tenant();
    let (storage, inserted) = storage_creating(&tenant, 1);
    let owner = tenant.session_as(BuiltinRole::Owner);
    run(roster(storage).create_user(&owner, tenant.id(), invite(&[tenant.role("owner")]))).unwrap();
    assert_eq!(take(&inserted).role_ids, [tenant.role("owner")]);
}

#[test]
fn an_admin_creates_admins_and_members() {
    let tenant = tenant();
    let (storage, inserted) = storage_creating(&tenant, 1);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let mut roles = vec![tenant.role("admin"), tenant.role("member")];
    run(roster(storage).create_user(&admin, tenant.id(), invite(&roles))).unwrap();
    roles.sort();
    assert_eq!(take(&inserted).role_ids, roles);
}

#[test]
fn a_caller_cannot_assign_a_custom_role_whose_permissions_it_lacks() {
    let tenant = tenant();
    let billing = tenant.role("billing");
    // An admin holds Roster's catalog, but not the application's `invoices.approve`.
    let admin = tenant.session_as(BuiltinRole::Admin);
    let scoped = tenant.scoped_key(&["users.write", "users.read"]);
    let roleless = tenant.session(UserId::from_uuid(uuid()), false, perms(&["users.write"]));
    for principal in [admin, scoped, roleless] {
        let (storage, _) = storage_creating(&tenant, 0);
        let result = run(roster(storage).create_user(&principal, tenant.id(), invite(&[billing])));
        assert!(matches!(result, Err(Error::Forbidden)), "{principal:?} assigned billing");
    }
}

#[test]
fn a_caller_holding_every_permission_of_a_custom_role_assigns_it() {
    let tenant = tenant();
    let (storage, inserted) = storage_creating(&tenant, 1);
    let scoped = tenant.scoped_key(&["users.write", "users.read", "invoices.approve"]);
    run(roster(storage).create_user(&scoped, tenant.id(), invite(&[tenant.role("billing")]))).unwrap();
    assert_eq!(take(&inserted).role_ids, [tenant.role("billing")]);
}

#[test]
fn a_scoped_key_cannot_assign_a_builtin_role_granting_more_than_its_scope() {
    let tenant = tenant();
    let (storage, _) = storage_creating(&tenant, 0);
    let scoped = tenant.scoped_key(&["users.write", "users.read", "organizations.read", "roles.read"]);
    let result = run(roster(storage).create_user(&scoped, tenant.id(), invite(&[tenant.role("admin")])));
    assert!(matches!(result, Err(Error::Forbidden)));
    // …but a member's read access is within its scope.
    let (storage, _) = storage_creating(&tenant, 1);
    run(roster(storage).create_user(&scoped, tenant.id(), invite(&[tenant.role("member")]))).unwrap();
}

/// Storage holding `user` of `tenant`, whose transaction may update it `writes` times.
fn storage_updating(tenant: &Tenant, user: &User, writes: usize) -> (MockStorage, Captured<User>) {
    let updated = captured();
    let slot = updated.clone();
    let mut storage = tenant.storage();
    let view = tenant.view(user);
    storage.expect_get_user().returning(move |_, _| Ok(Some(view.clone())));
    let mut tx = tenant.locking_tx();
    let stored = user.clone();
    tx.expect_user_for_update().returning(move |_, _| Ok(Some(stored.clone())));
    tx.expect_update_user().times(writes).returning(move |u| {
        *slot.lock().unwrap() = Some(u.clone());
        Ok(())
    });
    tx.expect_commit().times(writes).returning(|| Ok(()));
    begins(&mut storage, tx);
    (storage, updated)
}

fn make(role: &str) -> UpdateUserInput {
    UpdateUserInput { role: Some(role.into()), ..Default::default() }
}

#[test]
fn an_admin_cannot_make_someone_owner() {
    let tenant = tenant();
    let user = tenant.user("ada@example.com");
    let (storage, _) = storage_updating(&tenant, &user, 0);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let result = run(roster(storage).update_user(&admin, tenant.id(), user.id, make("owner"), None));
    assert!(matches!(result, Err(Error::Forbidden)));
}

#[test]
fn an_owner_makes_someone_owner() {
    let tenant = tenant();
    let user = tenant.user("ada@example.com");
    let (storage, updated) = storage_updating(&tenant, &user, 1);
    let owner = tenant.session_as(BuiltinRole::Owner);
    run(roster(storage).update_user(&owner, tenant.id(), user.id, make("owner"), None)).unwrap();
    assert_eq!(take(&updated).role_ids, [tenant.role("owner")]);
}

#[test]
fn an_admin_cannot_give_a_custom_role_it_does_not_hold_the_permissions_of() {
    let tenant = tenant();
    let user = tenant.user("ada@example.com");
    let (storage, _) = storage_updating(&tenant, &user, 0);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let result = run(roster(storage).update_user(&admin, tenant.id(), user.id, make("billing"), None));
    assert!(matches!(result, Err(Error::Forbidden)));
}

#[test]
fn an_admin_cannot_take_over_the_credentials_of_an_owner() {
    let tenant = tenant();
    let owner = tenant.owner("ada@example.com");
    let (storage, _) = storage_updating(&tenant, &owner, 0);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let input = UpdateUserInput { email: Some("mallory@example.com".into()), ..Default::default() };
    let result = run(roster(storage).update_user(&admin, tenant.id(), owner.id, input, None));
    assert!(matches!(result, Err(Error::Forbidden)));
}

fn role_input(permissions: &[&str]) -> CreateRoleInput {
    CreateRoleInput {
        key: Some("auditors".into()),
        name: Some("Auditors".into()),
        description: None,
        permissions: Some(permissions.iter().map(|p| (*p).to_owned()).collect()),
    }
}

/// Storage whose transaction inserts one role; with `refused`, storage must not be touched.
fn storage_inserting_role(tenant: &Tenant, refused: bool) -> (MockStorage, Captured<Role>) {
    let inserted = captured();
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    tenant.allow_signed_in(&mut storage);
    if refused {
        storage.expect_begin().times(0);
        return (storage, inserted);
    }
    let slot = inserted.clone();
    let mut tx = tenant.tx();
    tx.expect_insert_role().times(1).returning(move |r| {
        *slot.lock().unwrap() = Some(r.clone());
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    (storage, inserted)
}

#[test]
fn creating_a_role_with_a_permission_the_caller_lacks_is_forbidden() {
    let tenant = tenant();
    let admin = tenant.session_as(BuiltinRole::Admin);
    for lacking in [&["users.read", "invoices.approve"][..], &["organizations.delete"]] {
        let (storage, _) = storage_inserting_role(&tenant, true);
        let result = run(roster(storage).create_role(&admin, tenant.id(), role_input(lacking)));
        assert!(matches!(result, Err(Error::Forbidden)), "created a role with {lacking:?}");
    }
}

#[test]
fn creating_a_role_with_permissions_the_caller_holds_stores_them() {
    let tenant = tenant();
    let (storage, inserted) = storage_inserting_role(&tenant, false);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let role =
        run(roster(storage).create_role(&admin, tenant.id(), role_input(&["audit.read", "users.read"]))).unwrap();
    assert_eq!(take(&inserted), role);
    assert!(!role.builtin);
    assert_eq!(role.permissions, perms(&["audit.read", "users.read"]));
    assert_eq!(role.version, 1);
}

#[test]
fn an_owner_creates_roles_with_application_permissions() {
    let tenant = tenant();
    let (storage, _) = storage_inserting_role(&tenant, false);
    let owner = tenant.session_as(BuiltinRole::Owner);
    let role = run(roster(storage).create_role(&owner, tenant.id(), role_input(&["projects.create"]))).unwrap();
    assert_eq!(role.permissions.names(), ["projects.create"]);
}

#[test]
fn widening_a_custom_role_beyond_the_callers_permissions_is_forbidden() {
    let tenant = tenant();
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    tenant.allow_signed_in(&mut storage);
    storage.expect_begin().times(0);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let input = UpdateRoleInput { permissions: Some(vec!["invoices.approve".into()]), ..Default::default() };
    let result = run(roster(storage).update_role(&admin, tenant.id(), tenant.role("billing"), input, None));
    assert!(matches!(result, Err(Error::Forbidden)));
}

fn grant(permission: &str) -> GrantInput {
    GrantInput { permission: Some(permission.into()), expires_at: None }
}

#[test]
fn granting_a_permission_the_caller_lacks_is_forbidden() {
    let tenant = tenant();
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    tenant.allow_signed_in(&mut storage);
    storage.expect_begin().times(0);
    let roster = roster(storage);
    let user = UserId::from_uuid(uuid());
    let admin = tenant.session_as(BuiltinRole::Admin);
    for lacking in ["invoices.approve", "organizations.delete"] {
        let result = run(roster.create_grant(&admin, tenant.id(), user, grant(lacking)));
        assert!(matches!(result, Err(Error::Forbidden)), "granted {lacking}");
    }
}

#[test]
fn granting_a_permission_the_caller_holds_stores_the_grant() {
    let tenant = tenant();
    let user = tenant.user("ada@example.com");
    let inserted = captured::<Grant>();
    let slot = inserted.clone();
    let mut tx = tenant.tx();
    let stored = user.clone();
    tx.expect_user_for_update().returning(move |_, _| Ok(Some(stored.clone())));
    tx.expect_insert_grant().times(1).returning(move |g| {
        *slot.lock().unwrap() = Some(g.clone());
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    tenant.allow_signed_in(&mut storage);
    begins(&mut storage, tx);
    let granter = tenant.scoped_key(&["permissions.write", "invoices.approve"]);
    let created = run(roster(storage).create_grant(&granter, tenant.id(), user.id, grant("invoices.approve"))).unwrap();
    assert_eq!(take(&inserted), created);
    assert_eq!((created.user_id, created.permission.as_str()), (user.id, "invoices.approve"));
    assert_eq!(created.created_by, granter.actor());
    assert_eq!(tenant.audit_events()[0].action, "grant.created");
}

fn key_input(scope: Option<&[&str]>) -> CreateApiKeyInput {
    CreateApiKeyInput {
        name: Some("ci".into()),
        expires_at: None,
        scope: scope.map(|s| s.iter().map(|p| (*p).to_owned()).collect()),
    }
}

/// Storage whose transaction stores one key; with `refused`, no transaction may begin.
fn storage_inserting_key(tenant: &Tenant, refused: bool) -> (MockStorage, Captured<ApiKey>) {
    let inserted = captured();
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    tenant.allow_signed_in(&mut storage);
    if refused {
        storage.expect_begin().times(0);
        return (storage, inserted);
    }
    let slot = inserted.clone();
    let mut tx = tenant.tx();
    let stored_user = tenant.user("someone@example.com");
    tx.expect_user_for_update().returning(move |_, id| Ok(Some(User { id, ..stored_user.clone() })));
    tx.expect_insert_api_key().times(1).returning(move |k| {
        *slot.lock().unwrap() = Some(k.clone());
        Ok(())
    });
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    (storage, inserted)
}

#[test]
fn a_service_key_without_a_scope_needs_an_owner() {
    let tenant = tenant();
    let (storage, _) = storage_inserting_key(&tenant, true);
    let admin = tenant.session_as(BuiltinRole::Admin);
    let result = run(roster(storage).create_service_key(&admin, tenant.id(), key_input(None)));
    assert!(matches!(result, Err(Error::Forbidden)));

    let (storage, inserted) = storage_inserting_key(&tenant, false);
    let owner = tenant.session_as(BuiltinRole::Owner);
    run(roster(storage).create_service_key(&owner, tenant.id(), key_input(None))).unwrap();
    assert_eq!(take(&inserted).scope, None);
}

#[test]
fn a_service_key_is_scoped_within_its_makers_permissions() {
    let tenant = tenant();
    let admin = tenant.session_as(BuiltinRole::Admin);
    let (storage, inserted) = storage_inserting_key(&tenant, false);
    run(roster(storage).create_service_key(&admin, tenant.id(), key_input(Some(&["users.read"])))).unwrap();
    assert_eq!(take(&inserted).scope, Some(perms(&["users.read"])));

    for beyond in [&["organizations.delete"][..], &["users.read", "invoices.approve"]] {
        let (storage, _) = storage_inserting_key(&tenant, true);
        let result = run(roster(storage).create_service_key(&admin, tenant.id(), key_input(Some(beyond))));
        assert!(matches!(result, Err(Error::Forbidden)), "scoped a key to {beyond:?}");
    }
}

/// Storage of `tenant` whose `user_access` reports `user`.
fn with_access(storage: &mut MockStorage, tenant: &Tenant, user: &User) {
    let access = tenant.access(user, &[]);
    storage.expect_user_access().returning(move |_, _, _| Ok(vec![access.clone()]));
}

#[test]
fn a_personal_keys_scope_must_be_within_its_users_permissions() {
    let tenant = tenant();
    let member = tenant.user("ada@example.com");
    let (mut storage, _) = storage_inserting_key(&tenant, true);
    with_access(&mut storage, &tenant, &member);
    let owner = tenant.session_as(BuiltinRole::Owner);
    let result = run(roster(storage).create_personal_key(
        &owner,
        tenant.id(),
        member.id,
        key_input(Some(&["users.read", "users.write"])),
    ));
    assert_eq!(invalid_fields(result), [("scope".to_owned(), "exceeds_user")]);
}

#[test]
fn a_personal_keys_scope_must_be_within_its_makers_permissions() {
    let tenant = tenant();
    let admin = User { role_ids: vec![tenant.role("admin")], ..tenant.user("ada@example.com") };
    let (mut storage, _) = storage_inserting_key(&tenant, true);
    with_access(&mut storage, &tenant, &admin);
    let maker = tenant.scoped_key(&["api_keys.write", "users.read"]);
    let result =
        run(roster(storage).create_personal_key(&maker, tenant.id(), admin.id, key_input(Some(&["users.write"]))));
    assert!(matches!(result, Err(Error::Forbidden)));

    // Unscoped, the key would do all the user may: more than the maker holds.
    let (mut storage, _) = storage_inserting_key(&tenant, true);
    with_access(&mut storage, &tenant, &admin);
    let result = run(roster(storage).create_personal_key(&maker, tenant.id(), admin.id, key_input(None)));
    assert!(matches!(result, Err(Error::Forbidden)));
}

#[test]
fn an_unscoped_personal_key_of_an_owner_needs_an_owner_to_make_it() {
    let tenant = tenant();
    let owner_user = tenant.owner("ada@example.com");
    let everything = everything_but_owner(&tenant);
    let (mut storage, _) = storage_inserting_key(&tenant, true);
    with_access(&mut storage, &tenant, &owner_user);
    let result = run(roster(storage).create_personal_key(&everything, tenant.id(), owner_user.id, key_input(None)));
    assert!(matches!(result, Err(Error::Forbidden)));
}

#[test]
fn users_make_personal_keys_for_themselves_within_their_own_permissions() {
    let tenant = tenant();
    let member = tenant.user("ada@example.com");
    let session = tenant.session(member.id, false, crate::permission::PermissionSet::of_builtin(BuiltinRole::Member));
    let (mut storage, inserted) = storage_inserting_key(&tenant, false);
    with_access(&mut storage, &tenant, &member);
    let (key, _) =
        run(roster(storage).create_personal_key(&session, tenant.id(), member.id, key_input(Some(&["users.read"]))))
            .unwrap();
    assert_eq!(take(&inserted), key);
    assert_eq!(key.owner, crate::api_key::ApiKeyOwner::User(tenant.id(), member.id));
    assert_eq!(key.scope, Some(perms(&["users.read"])));
}

#[test]
fn an_admin_cannot_make_the_owner_role_every_new_users_default() {
    let tenant = tenant();
    let change = |principal: &crate::auth::Principal| {
        let mut storage = tenant.storage();
        begins(&mut storage, tenant.locking_tx());
        let input = crate::organization_input::UpdateOrganizationInput {
            default_role_id: Some(tenant.role("owner").to_string()),
            ..Default::default()
        };
        run(roster(storage).update_organization(principal, tenant.id(), input, None))
    };
    let refused = change(&tenant.session_as(BuiltinRole::Admin));
    assert!(matches!(refused, Err(Error::Forbidden)), "{refused:?}");
}
