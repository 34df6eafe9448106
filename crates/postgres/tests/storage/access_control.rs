//! Roles, grants and keys as PostgreSQL stores them: the `users.role_ids` copy beside
//! `user_roles`, the foreign keys behind role deletion, and migration 0002 on the rows
//! 0001 wrote.

use chrono::Duration;
use roster_domain::api_key::{ApiKeyOwner, SecretDigest};
use roster_domain::error::StoreError;
use roster_domain::ids::{OrgId, RoleId, UserId};
use roster_domain::organization::OrgStatus;
use roster_domain::permission::PermissionSet;
use roster_domain::ports::{ApiKeyReads, OrganizationReads, RoleRef, Storage, UserAccess, UserReads};
use roster_domain::role::{BuiltinRole, Role, RoleKey};
use roster_domain::user::UserStatus;
use roster_postgres::{PostgresStorage, testing};
use uuid::Uuid;

use super::{now, organization, user};

/// Users whose `role_ids` copy differs from their `user_roles` rows.
async fn copies_out_of_step(storage: &PostgresStorage) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM users u WHERE u.role_ids IS DISTINCT FROM ARRAY( \
         SELECT ur.role_id FROM user_roles ur WHERE ur.org_id = u.org_id AND ur.user_id = u.id ORDER BY ur.role_id)",
    )
    .fetch_one(storage.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn reassigning_and_deleting_a_role_keep_the_role_id_copy_in_step() {
    let storage = testing::fresh_database().await;
    let now = now();
    let (org, roles) = organization("reassign", now);
    let member = roles.iter().find(|r| r.key.as_str() == "member").unwrap().clone();
    let billing = Role {
        id: RoleId::from_uuid(Uuid::now_v7()),
        org_id: org.id,
        key: RoleKey::parse("billing").unwrap(),
        name: "Billing".into(),
        description: "Pays".into(),
        builtin: false,
        permissions: PermissionSet::parse(["billing.read", "billing.write"]).unwrap(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let sorted = |mut ids: Vec<RoleId>| {
        ids.sort();
        ids
    };
    let mut ada = user(&org, member.id, "ada@example.com", "ada", now);
    ada.role_ids = sorted(vec![member.id, billing.id]);
    let bob = user(&org, billing.id, "bob@example.com", "bob", now);
    let cy = user(&org, member.id, "cy@example.com", "cy", now);
    let dee = user(&org, billing.id, "dee@example.com", "dee", now);
    let mut tx = storage.begin().await.unwrap();
    tx.insert_organization(&org, &roles).await.unwrap();
    tx.insert_role(&billing).await.unwrap();
    for u in [&ada, &bob, &cy, &dee] {
        tx.insert_user(u).await.unwrap();
    }
    assert_eq!(tx.delete_users(org.id, &[dee.id], now).await.unwrap(), vec![dee.id]);
    tx.commit().await.unwrap();

    // A live holder's assignment keeps the role.
    let mut tx = storage.begin().await.unwrap();
    assert!(matches!(tx.delete_role(org.id, billing.id).await, Err(StoreError::Other(_))));
    drop(tx);

    let mut tx = storage.begin().await.unwrap();
    assert_eq!(tx.count_role_holders(org.id, billing.id).await.unwrap(), 2, "the deleted holder is not counted");
    tx.reassign_role(org.id, billing.id, member.id, chrono::Utc::now()).await.unwrap();
    assert_eq!(tx.count_role_holders(org.id, billing.id).await.unwrap(), 0);
    assert_eq!(tx.count_role_holders(org.id, member.id).await.unwrap(), 3);
    tx.delete_role(org.id, billing.id).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(copies_out_of_step(&storage).await, 0);
    for (before, version) in [(&ada, 2), (&bob, 2), (&cy, 1)] {
        let after = storage.get_user(org.id, before.id).await.unwrap().expect("user").user;
        assert_eq!(after.role_ids, vec![member.id], "{}", before.username);
        assert_eq!(after.version, version, "{}", before.username);
    }
    assert!(storage.list_roles(org.id).await.unwrap().iter().all(|r| r.id != billing.id));
    let access = storage.user_access(org.id, &[ada.id], now).await.unwrap();
    let member_ref = RoleRef { id: member.id, key: "member".into(), builtin: true };
    let expected =
        UserAccess { user_id: ada.id, status: UserStatus::Active, roles: vec![member_ref], permissions: vec![] };
    assert_eq!(access, vec![expected]);
}

#[tokio::test]
async fn migration_0002_upgrades_the_rows_0001_wrote() {
    let (fresh, url) = testing::fresh_database_with_url().await;
    // Back to an empty schema, then 0001 alone, as a database of the previous release.
    sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;").execute(fresh.pool()).await.unwrap();
    sqlx::raw_sql(include_str!("../../../../migrations/postgres/0001_organizations_users_keys.sql"))
        .execute(fresh.pool())
        .await
        .unwrap();
    let (org, owner, user, key) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let created = now() - Duration::days(30);
    let digest = SecretDigest::of("rst_old");
    sqlx::raw_sql(&format!(
        "INSERT INTO organizations (id, slug, name, default_role_id, invitation_ttl_seconds, status, created_by, \
         modified_by, created_at, updated_at, version) \
         VALUES ('{org}', 'old', 'Old', '{owner}', 604800, 'active', 't', 't', '{created}', '{created}', 1); \
         INSERT INTO roles (id, org_id, key, name, description, builtin, created_at) \
         VALUES ('{owner}', '{org}', 'owner', 'Owner', '', true, '{created}'); \
         INSERT INTO users (id, org_id, email, email_normalized, username, name, role_ids, status, created_at, \
         updated_at, version) \
         VALUES ('{user}', '{org}', 'ada@example.com', 'ada@example.com', 'ada', 'Ada', ARRAY['{owner}'::uuid], \
         'active', '{created}', '{created}', 1); \
         INSERT INTO user_roles (org_id, user_id, role_id) VALUES ('{org}', '{user}', '{owner}');",
        created = created.to_rfc3339(),
    ))
    .execute(fresh.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, prefix, digest, created_by, created_at) \
         VALUES ($1, $2, 'ci', 'rst_old', $3, 't', $4)",
    )
    .bind(key)
    .bind(org)
    .bind(digest.as_bytes().as_slice())
    .bind(created)
    .execute(fresh.pool())
    .await
    .unwrap();
    sqlx::raw_sql(include_str!("../../../../migrations/postgres/0002_access_control.sql"))
        .execute(fresh.pool())
        .await
        .unwrap();
    // And the later migrations, which the current code reads through.
    sqlx::raw_sql(include_str!("../../../../migrations/postgres/0003_invitations_outbox.sql"))
        .execute(fresh.pool())
        .await
        .unwrap();
    fresh.pool().close().await;

    // New connections: the old ones prepared their statements against the old tables.
    let storage = PostgresStorage::connect(&url, 4).await.unwrap();
    let org_id = OrgId::from_uuid(org);
    let upgraded = storage.get_organization(org_id).await.unwrap().expect("organization");
    assert!(!upgraded.partner);
    assert_eq!(upgraded.default_login_url, None);
    let roles = storage.list_roles(org_id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!((roles[0].updated_at, roles[0].version), (created, 1));
    assert_eq!(roles[0].permissions, PermissionSet::of_builtin(BuiltinRole::Owner));
    let found = storage.find_api_key(&digest).await.unwrap().expect("key");
    assert_eq!(found.key.owner, ApiKeyOwner::Organization(org_id));
    assert_eq!((found.key.scope, found.key.last_used_at), (None, None));
    assert_eq!((found.org_status, found.org_partner), (Some(OrgStatus::Active), false));
    let access = storage.user_access(org_id, &[UserId::from_uuid(user)], created).await.unwrap();
    assert_eq!(access[0].roles, vec![RoleRef { id: RoleId::from_uuid(owner), key: "owner".into(), builtin: true }]);
    storage.pool().close().await;
    testing::drop_database(&url).await;
}
