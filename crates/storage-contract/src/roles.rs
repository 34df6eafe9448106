//! Custom roles: insert, read for update, update, holders, reassignment and deletion.

use roster_domain::error::{StoreError, Unique};
use roster_domain::permission::PermissionSet;
use roster_domain::role::{BuiltinRole, Role, RoleKey};
use roster_domain::user::UserStatus;

use crate::fixtures::{
    Store, at, create_org, custom_role, delete_users, insert_roles, insert_users, new_user, org_id, permissions,
    role_granting, role_id,
};

/// Custom roles read back field for field (their permissions included, the empty set and
/// every permission too), built-in roles grant what the code says, and roles are listed
/// built-ins first, then by key.
pub async fn custom_roles_round_trip_and_list_builtins_first_then_by_key(store: Store) {
    let acme = create_org(&store, "acme").await;
    let zeta = role_granting(acme.id(), "zeta", &["projects.create", "users.read", "billing.view"]);
    let alpha = Role { permissions: PermissionSet::default(), version: 7, ..custom_role(acme.id(), "alpha") };
    let mid = Role { permissions: PermissionSet::all(), ..custom_role(acme.id(), "mid") };
    insert_roles(&store, &[zeta.clone(), alpha.clone(), mid.clone()]).await;

    let listed = store.list_roles(acme.id()).await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["admin", "member", "owner", "alpha", "mid", "zeta"]);
    for role in &listed {
        if let Some(which) = role.builtin_kind() {
            assert_eq!(role.permissions, PermissionSet::of_builtin(which), "{} grants what the code says", role.key);
            assert_eq!(role, acme.roles.iter().find(|r| r.id == role.id).unwrap());
        }
    }
    assert_eq!(&listed[3..], [alpha.clone(), mid.clone(), zeta.clone()]);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.role_for_update(acme.id(), zeta.id).await.unwrap(), Some(zeta.clone()));
    assert_eq!(tx.role_for_update(acme.id(), mid.id).await.unwrap().unwrap().permissions, PermissionSet::all());
    let owner = tx.role_for_update(acme.id(), acme.owner()).await.unwrap().unwrap();
    assert!(owner.builtin && owner.is_owner());
    assert_eq!(tx.roles_of(acme.id()).await.unwrap().len(), 6);
    assert_eq!(tx.role_for_update(acme.id(), role_id()).await.unwrap(), None, "unknown role");
}

/// A role key is unique within its organization (built-in keys included) on insert and on
/// update; another organization may use it.
pub async fn duplicate_role_key_is_role_key_duplicate(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let support = custom_role(acme.id(), "support");
    let billing = custom_role(acme.id(), "billing");
    insert_roles(&store, &[support.clone(), billing.clone()]).await;

    let mut tx = store.begin().await.unwrap();
    let twin = custom_role(acme.id(), "support");
    assert!(matches!(tx.insert_role(&twin).await, Err(StoreError::Duplicate(Unique::RoleKey))));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let fake_owner = custom_role(acme.id(), BuiltinRole::Owner.key());
    assert!(matches!(tx.insert_role(&fake_owner).await, Err(StoreError::Duplicate(Unique::RoleKey))));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let mut renamed = tx.role_for_update(acme.id(), billing.id).await.unwrap().unwrap();
    renamed.key = RoleKey::parse("support").unwrap();
    renamed.version += 1;
    assert!(matches!(tx.update_role(&renamed).await, Err(StoreError::Duplicate(Unique::RoleKey))));
    drop(tx);

    insert_roles(&store, &[custom_role(globex.id(), "support")]).await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.role_for_update(acme.id(), billing.id).await.unwrap(), Some(billing), "the failed update left it");
}

/// `update_role` overwrites key, name, description, permissions, `updated_at` and version,
/// and nothing of any other role.
pub async fn update_role_overwrites_the_role_and_nothing_else(store: Store) {
    let acme = create_org(&store, "acme").await;
    let support = role_granting(acme.id(), "support", &["users.read"]);
    let bystander = custom_role(acme.id(), "bystander");
    insert_roles(&store, &[support.clone(), bystander.clone()]).await;

    let mut tx = store.begin().await.unwrap();
    let mut changed = tx.role_for_update(acme.id(), support.id).await.unwrap().unwrap();
    changed.key = RoleKey::parse("helpdesk").unwrap();
    changed.name = "Help desk — ünïcödé".to_owned();
    changed.description = String::new();
    changed.permissions = permissions(&["tickets.close", "users.read", "users.write"]);
    changed.updated_at = at("2031-01-01T00:00:00.000001Z");
    changed.version = 2;
    tx.update_role(&changed).await.unwrap();
    tx.commit().await.unwrap();

    let listed = store.list_roles(acme.id()).await.unwrap();
    assert!(listed.contains(&changed), "{listed:#?}");
    assert!(listed.contains(&bystander));
    assert!(!listed.iter().any(|r| r.key.as_str() == "support"));
}

/// `count_role_holders` counts the non-deleted users holding the role, suspended and
/// invited ones included, in that organization only.
pub async fn count_role_holders_counts_non_deleted_holders(store: Store) {
    let acme = create_org(&store, "acme").await;
    let support = custom_role(acme.id(), "support");
    insert_roles(&store, std::slice::from_ref(&support)).await;
    let mut users = Vec::new();
    for (i, status) in
        [UserStatus::Active, UserStatus::Suspended, UserStatus::Invited, UserStatus::Active].into_iter().enumerate()
    {
        let mut user = new_user(&acme, &format!("u{i}@example.com"), &format!("u{i}"), "User");
        user.status = status;
        user.role_ids = vec![support.id, acme.member()];
        users.push(user);
    }
    let mut other = new_user(&acme, "other@example.com", "other", "Other");
    other.role_ids = vec![acme.admin()];
    users.push(other);
    insert_users(&store, &users).await;
    delete_users(&store, acme.id(), &[users[3].id]).await;

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.count_role_holders(acme.id(), support.id).await.unwrap(), 3);
    assert_eq!(tx.count_role_holders(acme.id(), acme.member()).await.unwrap(), 3);
    assert_eq!(tx.count_role_holders(acme.id(), acme.admin()).await.unwrap(), 1);
    assert_eq!(tx.count_role_holders(acme.id(), acme.owner()).await.unwrap(), 0);
    assert_eq!(tx.count_role_holders(org_id(), support.id).await.unwrap(), 0, "another org id");
}

/// `reassign_role` gives every non-deleted holder the target role instead, exactly once
/// even when they held both, bumps their versions and `updated_at`, and leaves everyone
/// else alone; the role can then be deleted although deleted users still held it.
pub async fn reassign_then_delete_moves_holders_once(store: Store) {
    let acme = create_org(&store, "acme").await;
    let support = custom_role(acme.id(), "support");
    let keeper = custom_role(acme.id(), "keeper");
    insert_roles(&store, &[support.clone(), keeper.clone()]).await;
    let then = at("2024-01-01T00:00:00Z");
    let user = |email: &str, name: &str, roles: Vec<_>| {
        let mut user = new_user(&acme, email, name, name);
        user.role_ids = roles;
        user.updated_at = then;
        user
    };
    let only = user("only@example.com", "only", vec![support.id]);
    let both = user("both@example.com", "both", vec![support.id, acme.member(), keeper.id]);
    let mut suspended = user("susp@example.com", "susp", vec![support.id]);
    suspended.status = UserStatus::Suspended;
    let bystander = user("by@example.com", "by", vec![acme.member()]);
    let gone = user("gone@example.com", "gone", vec![support.id]);
    insert_users(&store, &[only.clone(), both.clone(), suspended.clone(), bystander.clone(), gone.clone()]).await;
    delete_users(&store, acme.id(), &[gone.id]).await;

    let mut tx = store.begin().await.unwrap();
    tx.reassign_role(acme.id(), support.id, acme.member(), at("2024-02-01T00:00:00Z")).await.unwrap();
    assert_eq!(tx.count_role_holders(acme.id(), support.id).await.unwrap(), 0);
    tx.delete_role(acme.id(), support.id).await.unwrap();
    tx.commit().await.unwrap();

    for (before, expected_roles) in
        [(&only, vec![acme.member()]), (&both, vec![acme.member(), keeper.id]), (&suspended, vec![acme.member()])]
    {
        let after = store.get_user(acme.id(), before.id).await.unwrap().unwrap().user;
        let mut expected_roles = expected_roles;
        expected_roles.sort();
        assert_eq!(after.role_ids, expected_roles, "roles of {}", before.email);
        assert_eq!(after.version, before.version + 1, "version of {}", before.email);
        assert_eq!(after.updated_at, at("2024-02-01T00:00:00Z"), "updated_at of {}", before.email);
    }
    let untouched = store.get_user(acme.id(), bystander.id).await.unwrap().unwrap().user;
    assert_eq!((untouched.version, untouched.updated_at, untouched.role_ids), (1, then, vec![acme.member()]));

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.role_for_update(acme.id(), support.id).await.unwrap(), None);
    assert_eq!(tx.count_role_holders(acme.id(), acme.member()).await.unwrap(), 4);
    drop(tx);
    let keys: Vec<String> = store.list_roles(acme.id()).await.unwrap().iter().map(|r| r.key.to_string()).collect();
    assert_eq!(keys, ["admin", "member", "owner", "keeper"]);
}

/// Role reads and writes name the organization: another organization's id finds, counts
/// and moves nothing.
pub async fn role_access_with_another_org_id_finds_nothing(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let support = custom_role(acme.id(), "support");
    insert_roles(&store, std::slice::from_ref(&support)).await;
    let mut ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    ada.role_ids = vec![support.id];
    insert_users(&store, std::slice::from_ref(&ada)).await;

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.role_for_update(globex.id(), support.id).await.unwrap(), None);
    assert_eq!(tx.count_role_holders(globex.id(), support.id).await.unwrap(), 0);
    tx.reassign_role(globex.id(), support.id, globex.member(), at("2024-02-01T00:00:00Z")).await.unwrap();
    tx.commit().await.unwrap();

    let stored = store.get_user(acme.id(), ada.id).await.unwrap().unwrap().user;
    assert_eq!((stored.role_ids, stored.version), (vec![support.id], 1));
    assert!(store.list_roles(globex.id()).await.unwrap().iter().all(|r| r.builtin));
}
