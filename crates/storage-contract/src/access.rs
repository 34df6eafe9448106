//! What users may do (`user_access`, the authorization hot path) and finding a user by
//! email for login.

use std::collections::BTreeSet;

use chrono::Duration;
use roster_domain::hashing::PasswordHash;
use roster_domain::ports::{RoleRef, UserAccess};
use roster_domain::role::Role;
use roster_domain::user::UserStatus;
use roster_domain::values::Email;

use crate::fixtures::{
    OrgFixture, Store, assert_same_user, create_org, delete_users, insert_grants, insert_roles, insert_users,
    new_grant, new_user, now, role_granting, user_id,
};

/// The role a principal holds, as `user_access` reports it.
fn role_ref(role: &Role) -> RoleRef {
    RoleRef { id: role.id, key: role.key.to_string(), builtin: role.builtin }
}

fn builtin_ref(org: &OrgFixture, id: roster_domain::ids::RoleId) -> RoleRef {
    role_ref(org.roles.iter().find(|r| r.id == id).expect("a role of the fixture"))
}

/// `access` with roles sorted by id and permissions sorted, so comparisons do not depend
/// on an adapter's order; asserts no permission is listed twice.
#[track_caller]
fn canonical(mut access: UserAccess) -> UserAccess {
    access.roles.sort_by_key(|r| r.id);
    access.permissions.sort();
    let distinct: BTreeSet<&String> = access.permissions.iter().collect();
    assert_eq!(distinct.len(), access.permissions.len(), "a permission listed twice: {:?}", access.permissions);
    access
}

/// `user_access` reports each user's status, roles (built-in flags included) and the
/// union of their custom roles' permissions and unexpired direct grants; built-in roles
/// contribute no stored permissions (the code knows them). One entry per user, in any
/// order; permissions held twice appear once.
pub async fn user_access_unites_custom_role_permissions_and_unexpired_grants(store: Store) {
    let acme = create_org(&store, "acme").await;
    let support = role_granting(acme.id(), "support", &["tickets.read", "users.read"]);
    let billing = role_granting(acme.id(), "billing", &["billing.view", "users.read"]);
    insert_roles(&store, &[support.clone(), billing.clone()]).await;
    let mut ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    ada.role_ids = vec![acme.admin(), support.id, billing.id];
    let mut bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    bob.status = UserStatus::Suspended;
    let mut eve = new_user(&acme, "eve@example.com", "eve", "Eve");
    eve.role_ids = vec![acme.owner()];
    insert_users(&store, &[ada.clone(), bob.clone(), eve.clone()]).await;
    let t = now();
    let mut expired = new_grant(&ada, "reports.export");
    expired.expires_at = Some(t);
    let mut live = new_grant(&ada, "projects.create");
    live.expires_at = Some(t + Duration::microseconds(1));
    let twice = new_grant(&ada, "tickets.read");
    let bobs = new_grant(&bob, "projects.delete");
    insert_grants(&store, &[expired, live, twice, bobs, new_grant(&eve, "audit.read")]).await;

    let found = store.user_access(acme.id(), &[ada.id, bob.id, eve.id, ada.id], t).await.unwrap();
    let mut found: Vec<UserAccess> = found.into_iter().map(canonical).collect();
    found.sort_by_key(|a| a.user_id);
    let mut ada_roles = vec![builtin_ref(&acme, acme.admin()), role_ref(&support), role_ref(&billing)];
    ada_roles.sort_by_key(|r| r.id);
    let strings = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut expected = vec![
        UserAccess {
            user_id: ada.id,
            status: UserStatus::Active,
            roles: ada_roles,
            permissions: strings(&["billing.view", "projects.create", "tickets.read", "users.read"]),
        },
        UserAccess {
            user_id: bob.id,
            status: UserStatus::Suspended,
            roles: vec![builtin_ref(&acme, acme.member())],
            permissions: strings(&["projects.delete"]),
        },
        UserAccess {
            user_id: eve.id,
            status: UserStatus::Active,
            roles: vec![builtin_ref(&acme, acme.owner())],
            permissions: strings(&["audit.read"]),
        },
    ];
    expected.sort_by_key(|a| a.user_id);
    assert_eq!(found, expected);
    assert!(found[0].roles.iter().all(|r| r.builtin == (r.key == "admin")), "{:?}", found[0].roles);

    // Later, the grant that was live has expired too.
    let later = store.user_access(acme.id(), &[ada.id], t + Duration::microseconds(1)).await.unwrap();
    let later = canonical(later.into_iter().next().expect("ada"));
    assert_eq!(later.permissions, strings(&["billing.view", "tickets.read", "users.read"]));
}

/// `user_access` skips deleted users, unknown ids and other organizations' users, and
/// answers an empty list of ids with nothing.
pub async fn user_access_skips_deleted_unknown_and_other_org_users(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let gone = new_user(&acme, "gone@example.com", "gone", "Gone");
    let mut invited = new_user(&acme, "inv@example.com", "inv", "Invited");
    invited.status = UserStatus::Invited;
    let stranger = new_user(&globex, "ada@example.com", "ada", "Ada of Globex");
    insert_users(&store, &[ada.clone(), gone.clone(), invited.clone()]).await;
    insert_users(&store, std::slice::from_ref(&stranger)).await;
    insert_grants(&store, &[new_grant(&gone, "users.write"), new_grant(&stranger, "users.write")]).await;
    delete_users(&store, acme.id(), &[gone.id]).await;

    let ids = [gone.id, stranger.id, user_id(), invited.id, ada.id];
    let mut found: Vec<_> = store.user_access(acme.id(), &ids, now()).await.unwrap();
    found.sort_by_key(|a| a.user_id);
    let mut expected = vec![(ada.id, UserStatus::Active), (invited.id, UserStatus::Invited)];
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(found.iter().map(|a| (a.user_id, a.status)).collect::<Vec<_>>(), expected);
    assert!(found.iter().all(|a| a.permissions.is_empty()), "{found:?}");
    assert!(store.user_access(acme.id(), &[], now()).await.unwrap().is_empty());
    assert!(store.user_access(globex.id(), &[ada.id], now()).await.unwrap().is_empty());
}

/// `user_by_email` finds the non-deleted user of the organization with the email in any
/// case, password hash included; not deleted users, not other organizations' users.
pub async fn user_by_email_ignores_case_and_deleted_users(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let mut ada = new_user(&acme, "Ada.Lovelace@Example.com", "ada", "Ada");
    ada.password_hash = Some(PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()));
    let gone = new_user(&acme, "gone@example.com", "gone", "Gone");
    insert_users(&store, &[ada.clone(), gone.clone()]).await;
    insert_users(&store, &[new_user(&globex, "bob@example.com", "bob", "Bob")]).await;
    delete_users(&store, acme.id(), &[gone.id]).await;
    let email = |s: &str| Email::parse(s).unwrap();

    let found = store.user_by_email(acme.id(), &email("ada.lovelace@EXAMPLE.COM")).await.unwrap();
    assert_same_user(&found.expect("found in any case"), &ada);
    assert_eq!(store.user_by_email(acme.id(), &email("gone@example.com")).await.unwrap(), None);
    assert_eq!(store.user_by_email(acme.id(), &email("bob@example.com")).await.unwrap(), None);
    assert_eq!(store.user_by_email(globex.id(), &email("ada.lovelace@example.com")).await.unwrap(), None);

    let reborn = new_user(&acme, "GONE@example.com", "gone2", "Gone again");
    insert_users(&store, std::slice::from_ref(&reborn)).await;
    let found = store.user_by_email(acme.id(), &email("gone@example.com")).await.unwrap().expect("the new user");
    assert_eq!(found.id, reborn.id);
}
