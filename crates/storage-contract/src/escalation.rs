//! Rule 5 across app instances: no privilege escalation, even while another instance
//! still caches a credential whose user has just been demoted there.

use std::sync::Arc;

use roster_domain::Error;
use roster_domain::grant::Grant;
use roster_domain::role::BuiltinRole;
use roster_domain::service::{CreateApiKeyInput, GrantInput, Roster, Settings};
use roster_domain::user_input::{CreateUserInput, UpdateUserInput};

use crate::fixtures::{PlainHasher, Store, as_storage, roster_with_platform};

/// An admin's personal key, verified (and cached) by a second instance, is demoted to
/// member through the first instance. Before the cache expires, the second instance
/// still lets the key read, but refuses everything that would hand out what the admin no
/// longer holds: the admin role, a grant of `users.write`, a key. Its identity says admin;
/// storage, re-read at the moment of granting, says member.
pub async fn a_demoted_admin_cannot_grant_through_another_instances_cache(store: Store) {
    let (first, platform) = roster_with_platform(&store).await;
    let second = Roster::new(as_storage(&store), Arc::new(PlainHasher), Settings::default());
    let org = first
        .create_organization(
            &platform,
            roster_domain::organization_input::CreateOrganizationInput {
                slug: Some("acme".into()),
                name: Some("Acme".into()),
                ..Default::default()
            },
        )
        .await
        .expect("create_organization");
    let roles = first.list_roles(&platform, org.id).await.expect("list_roles");
    let role = |which| roles.iter().find(|r| r.builtin_kind() == Some(which)).expect("a built-in role").id;
    let (admin, member) = (role(BuiltinRole::Admin), role(BuiltinRole::Member));
    let user = |email: &str, role_id: roster_domain::ids::RoleId| CreateUserInput {
        email: Some(email.to_owned()),
        name: Some(email.to_owned()),
        password: Some("correct horse battery staple".to_owned()),
        role_ids: Some(vec![role_id.to_string()]),
        ..Default::default()
    };
    let ada = first.create_user(&platform, org.id, user("ada@example.com", admin)).await.expect("ada").view.user;
    let bob = first.create_user(&platform, org.id, user("bob@example.com", member)).await.expect("bob").view.user;
    let key_input = CreateApiKeyInput { name: Some("ada".into()), ..Default::default() };
    let (_, secret) = first.create_personal_key(&platform, org.id, ada.id, key_input).await.expect("ada's key");

    // The second instance verifies Ada's key while she is an admin, and caches it.
    let cached = second.authenticate(secret.expose()).await.expect("ada's key authenticates");
    assert!(cached.can("users.write"));

    let demote = UpdateUserInput { role_ids: Some(vec![member.to_string()]), ..Default::default() };
    first.update_user(&platform, org.id, ada.id, demote, None).await.expect("demote ada");

    // Still cached on the second instance (within the TTL): reads go on...
    let stale = second.authenticate(secret.expose()).await.expect("still cached");
    assert!(stale.can("users.write"), "the cache still holds the admin identity");
    second.get_user(&stale, org.id, bob.id).await.expect("a member may read users");
    // ...but nothing the admin no longer holds is handed out.
    let promote = UpdateUserInput { role_ids: Some(vec![admin.to_string()]), ..Default::default() };
    let promoted = second.update_user(&stale, org.id, bob.id, promote, None).await;
    assert!(matches!(promoted, Err(Error::Forbidden)), "promotion by a demoted admin: {promoted:?}");
    let grant = GrantInput { permission: Some("users.write".into()), expires_at: None };
    let granted: Result<Grant, Error> = second.create_grant(&stale, org.id, bob.id, grant).await;
    assert!(matches!(granted, Err(Error::Forbidden)), "grant by a demoted admin: {granted:?}");
    let created = second.create_user(&stale, org.id, user("eve@example.com", admin)).await;
    assert!(matches!(created, Err(Error::Forbidden)), "admin creation by a demoted admin: {:?}", created.err());
    let bob_now = first.get_user(&platform, org.id, bob.id).await.expect("bob").user;
    assert_eq!(bob_now.role_ids, [member], "bob is still a member");
}
