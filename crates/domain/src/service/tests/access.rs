//! "May user U do P?" — the batched check internal services ask on their hot path, a
//! user's effective permissions, and `me`.

use super::support::{Tenant, invalid_fields, perms, roster, run, uuid};
use crate::auth::PrincipalKind;
use crate::error::{Error, Resource};
use crate::ids::UserId;
use crate::mocks::MockStorage;
use crate::permission::PermissionSet;
use crate::ports::UserAccess;
use crate::role::BuiltinRole;
use crate::service::CheckOutcome;
use crate::user::{User, UserStatus};

fn untouched_storage() -> MockStorage {
    let mut storage = MockStorage::new();
    storage.expect_user_access().times(0);
    storage.expect_get_organization().times(0);
    storage
}

fn pair(user: UserId, permission: &str) -> (String, String) {
    (user.to_string(), permission.to_owned())
}

#[test]
fn each_pair_is_allowed_denied_or_user_not_found_in_one_round_trip() {
    let tenant = Tenant::new("acme").with_custom_role("billing", &["invoices.approve"]);
    let admin = User { role_ids: vec![tenant.role("admin")], ..tenant.user("ada@example.com") };
    let biller = User { role_ids: vec![tenant.role("billing")], ..tenant.user("grace@example.com") };
    let suspended_owner = User { status: UserStatus::Suspended, ..tenant.owner("alan@example.com") };
    let ghost = UserId::from_uuid(uuid());
    let accesses = vec![
        tenant.access(&admin, &[]),
        // Custom roles' permissions and grants come from storage as plain strings.
        tenant.access(&biller, &["invoices.approve", "projects.create"]),
        tenant.access(&suspended_owner, &[]),
    ];
    let mut expected_ids = vec![admin.id, biller.id, suspended_owner.id, ghost];
    expected_ids.sort();
    let mut storage = MockStorage::new();
    let org_id = tenant.id();
    storage
        .expect_user_access()
        .withf(move |org, ids, _| *org == org_id && ids == expected_ids.as_slice())
        .times(1)
        .returning(move |_, _, _| Ok(accesses.clone()));

    let checks = [
        pair(admin.id, "users.write"),
        pair(admin.id, "organizations.delete"),
        pair(admin.id, "invoices.approve"),
        pair(biller.id, "invoices.approve"),
        pair(biller.id, "projects.create"),
        pair(biller.id, "users.read"),
        pair(suspended_owner.id, "users.read"),
        pair(ghost, "users.read"),
        pair(admin.id, "users.read"),
    ];
    let outcomes = run(roster(storage).check_permissions(&tenant.key(), tenant.id(), &checks)).unwrap();
    use CheckOutcome::{Allowed, Denied, UserNotFound};
    assert_eq!(outcomes, [Allowed, Denied, Denied, Allowed, Allowed, Denied, Denied, UserNotFound, Allowed]);
}

#[test]
fn malformed_user_ids_and_permissions_are_named_by_index_before_storage() {
    let tenant = Tenant::new("acme");
    let good = UserId::from_uuid(uuid());
    let checks = [
        pair(good, "users.read"),
        ("not-a-uuid".to_owned(), "users.read".to_owned()),
        (good.to_string(), "users".to_owned()),
        ("42".to_owned(), "Users.Read".to_owned()),
    ];
    let result = run(roster(untouched_storage()).check_permissions(&tenant.key(), tenant.id(), &checks));
    let fields: Vec<String> = invalid_fields(result).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["checks[1].user_id", "checks[2].permission", "checks[3].user_id", "checks[3].permission"]);
}

#[test]
fn no_checks_or_too_many_are_a_validation_error_on_checks() {
    let tenant = Tenant::new("acme");
    let roster = roster(untouched_storage());
    let result = run(roster.check_permissions(&tenant.key(), tenant.id(), &[]));
    assert_eq!(invalid_fields(result), [("checks".to_owned(), "out_of_range")]);
    let many: Vec<(String, String)> = (0..1001).map(|_| pair(UserId::from_uuid(uuid()), "users.read")).collect();
    let result = run(roster.check_permissions(&tenant.key(), tenant.id(), &many));
    assert_eq!(invalid_fields(result), [("checks".to_owned(), "out_of_range")]);
}

#[test]
fn checking_needs_permissions_read_in_reach() {
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let roster = roster(untouched_storage());
    let checks = [pair(UserId::from_uuid(uuid()), "users.read")];
    let member = acme.session_as(BuiltinRole::Member);
    assert!(matches!(run(roster.check_permissions(&member, acme.id(), &checks)), Err(Error::Forbidden)));
    let checker = globex.scoped_key(&["permissions.read"]);
    let result = run(roster.check_permissions(&checker, acme.id(), &checks));
    assert!(matches!(result, Err(Error::NotFound(Resource::Organization))));
}

#[test]
fn a_users_permissions_are_their_roles_and_grants_and_nothing_unless_active() {
    let tenant = Tenant::new("acme");
    let member = tenant.user("ada@example.com");
    let mut storage = MockStorage::new();
    let access = tenant.access(&member, &["projects.create"]);
    storage
        .expect_user_access()
        .returning(move |_, ids, _| Ok(if ids == [access.user_id] { vec![access.clone()] } else { Vec::new() }));
    let users = roster(storage);
    let held = run(users.user_permissions(&tenant.key(), tenant.id(), member.id)).unwrap();
    assert_eq!(held, perms(&["organizations.read", "projects.create", "roles.read", "users.read"]));
    let result = run(users.user_permissions(&tenant.key(), tenant.id(), UserId::from_uuid(uuid())));
    assert!(matches!(result, Err(Error::NotFound(Resource::User))));

    let mut storage = MockStorage::new();
    let suspended = UserAccess { status: UserStatus::Suspended, ..tenant.access(&member, &["projects.create"]) };
    storage.expect_user_access().returning(move |_, _, _| Ok(vec![suspended.clone()]));
    let held = run(roster(storage).user_permissions(&tenant.key(), tenant.id(), member.id)).unwrap();
    assert_eq!(held, PermissionSet::default());
}

#[test]
fn me_shows_the_callers_identity() {
    let tenant = Tenant::new("acme");
    let admin = tenant.session_as(BuiltinRole::Admin);
    let me = roster(MockStorage::new()).me(&admin);
    assert_eq!(me.kind, PrincipalKind::Session);
    assert_eq!((me.organization_id, me.user_id), (Some(tenant.id()), admin.user_id()));
    assert_eq!(me.roles, [tenant.role_ref("admin")]);
    assert_eq!(me.permissions, PermissionSet::of_builtin(BuiltinRole::Admin));
}
