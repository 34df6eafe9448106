//! `AuthorizationService`: "may user U do P?", one at a time and in batches.

use roster_grpc::pb;
use roster_grpc::pb::authorization_service_client::AuthorizationServiceClient;
use tonic::Code;

use crate::support::{Authed, TestServer, active_user, bearer, create_user, reason, violations};

/// A well-formed id that names nothing.
const NOBODY: &str = "01890000-0000-7000-8000-000000000000";

fn client(server: &TestServer) -> AuthorizationServiceClient<Authed> {
    AuthorizationServiceClient::new(server.platform())
}

fn check(org: &pb::Organization, user: &str, permission: &str) -> pb::CheckPermissionRequest {
    pb::CheckPermissionRequest {
        organization_id: org.id.clone(),
        user_id: user.to_owned(),
        permission: permission.to_owned(),
    }
}

fn pair(user: &str, permission: &str) -> pb::PermissionCheck {
    pb::PermissionCheck { user_id: user.to_owned(), permission: permission.to_owned() }
}

#[tokio::test]
async fn a_single_check_is_allowed_denied_or_not_found() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let admin = active_user(&server, &org, "admin@example.com", "admin").await;
    let invited = create_user(&mut server.users(), &org, "invited@example.com").await;
    let mut authz = client(&server);

    let ask = |user: &str, permission: &str| check(&org, user, permission);
    let allowed = authz.check_permission(ask(&admin.id, "users.write")).await.expect("check").into_inner();
    assert!(allowed.allowed);
    let denied = authz.check_permission(ask(&admin.id, "organizations.delete")).await.expect("check").into_inner();
    assert!(!denied.allowed, "admins may not delete the organization");
    let inactive = authz.check_permission(ask(&invited.id, "users.read")).await.expect("check").into_inner();
    assert!(!inactive.allowed, "an invited user holds nothing");

    let unknown = authz.check_permission(ask(NOBODY, "users.read")).await.expect_err("unknown user");
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(reason(&unknown), "not_found");

    let malformed = authz.check_permission(ask("ada", "users")).await.expect_err("malformed");
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(violations(&malformed), ["user_id", "permission"]);
}

#[tokio::test]
async fn an_organization_out_of_reach_is_not_found_and_one_without_the_permission_forbidden() {
    let server = TestServer::start().await;
    let acme = server.create_org("acme").await;
    let globex = server.create_org("globex").await;
    let ada = create_user(&mut server.users(), &acme, "ada@example.com").await;

    let globex_key = server.service_token(&globex).await;
    let mut other_tenant = AuthorizationServiceClient::new(server.authed(Some(&bearer(&globex_key))));
    let status = other_tenant.check_permission(check(&acme, &ada.id, "users.read")).await.expect_err("other tenant");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(reason(&status), "not_found");
    let status = other_tenant
        .batch_check_permissions(pb::BatchCheckPermissionsRequest {
            organization_id: acme.id.clone(),
            checks: vec![pair(&ada.id, "users.read")],
        })
        .await
        .expect_err("other tenant");
    assert_eq!(status.code(), Code::NotFound);

    // Within reach but without permissions.read.
    let scoped = crate::support::scoped_service_token(&server, &acme, &["users.read"]).await;
    let status = AuthorizationServiceClient::new(server.authed(Some(&bearer(&scoped))))
        .check_permission(check(&acme, &ada.id, "users.read"))
        .await
        .expect_err("no permissions.read");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "forbidden");
}

#[tokio::test]
async fn a_batch_answers_every_pair_in_order() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let admin = active_user(&server, &org, "admin@example.com", "admin").await;
    let member = active_user(&server, &org, "member@example.com", "member").await;
    let invited = create_user(&mut server.users(), &org, "invited@example.com").await;
    // A service key that may only ask, as internal services would hold.
    let asker = crate::support::scoped_service_token(&server, &org, &["permissions.read"]).await;

    let pairs = [
        (admin.id.as_str(), "users.write", true, true),
        (member.id.as_str(), "users.write", false, true),
        (member.id.as_str(), "users.read", true, true),
        (NOBODY, "users.read", false, false),
        (admin.id.as_str(), "organizations.delete", false, true),
        (invited.id.as_str(), "users.read", false, true),
        (member.id.as_str(), "roles.read", true, true),
        (admin.id.as_str(), "projects.create", false, true),
        (member.id.as_str(), "organizations.read", true, true),
        (admin.id.as_str(), "audit.read", true, true),
    ];
    let response = AuthorizationServiceClient::new(server.authed(Some(&bearer(&asker))))
        .batch_check_permissions(pb::BatchCheckPermissionsRequest {
            organization_id: org.id.clone(),
            checks: pairs.iter().map(|(user, permission, ..)| pair(user, permission)).collect(),
        })
        .await
        .expect("batch")
        .into_inner();
    let expected: Vec<pb::PermissionCheckResult> = pairs
        .iter()
        .map(|(user, permission, allowed, found)| pb::PermissionCheckResult {
            user_id: (*user).to_owned(),
            permission: (*permission).to_owned(),
            allowed: *allowed,
            user_found: *found,
        })
        .collect();
    assert_eq!(response.results, expected);
}

#[tokio::test]
async fn a_batch_needs_a_caller_and_well_formed_pairs() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let ada = create_user(&mut server.users(), &org, "ada@example.com").await;
    let request =
        |checks: Vec<pb::PermissionCheck>| pb::BatchCheckPermissionsRequest { organization_id: org.id.clone(), checks };

    let status = AuthorizationServiceClient::new(server.authed(None))
        .batch_check_permissions(request(vec![pair(&ada.id, "users.read")]))
        .await
        .expect_err("no credential");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "unauthenticated");

    let mut authz = client(&server);
    let status = authz
        .batch_check_permissions(request(vec![
            pair(&ada.id, "users.read"),
            pair("not-a-uuid", "users.read"),
            pair(&ada.id, "Users.Read"),
            pair("", "users.read"),
        ]))
        .await
        .expect_err("malformed pairs");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "validation_failed");
    assert_eq!(violations(&status), ["checks[1].user_id", "checks[2].permission", "checks[3].user_id"]);

    let status = authz.batch_check_permissions(request(vec![])).await.expect_err("no pairs");
    assert_eq!(violations(&status), ["checks"]);
    let status = authz
        .batch_check_permissions(pb::BatchCheckPermissionsRequest {
            organization_id: "acme".into(),
            checks: vec![pair(&ada.id, "users.read")],
        })
        .await
        .expect_err("malformed organization id");
    assert_eq!(violations(&status), ["organization_id"]);
}

#[tokio::test]
async fn effective_permissions_are_the_roles_and_the_direct_grants() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let member = active_user(&server, &org, "member@example.com", "member").await;
    let mut authz = client(&server);
    let request = || pb::GetEffectivePermissionsRequest { organization_id: org.id.clone(), user_id: member.id.clone() };

    let before = authz.get_effective_permissions(request()).await.expect("permissions").into_inner();
    assert_eq!(before.permissions, ["organizations.read", "roles.read", "users.read"]);

    crate::support::grant(&server, &org, &member, "projects.create").await;
    let after = authz.get_effective_permissions(request()).await.expect("permissions").into_inner();
    assert_eq!(after.permissions, ["organizations.read", "projects.create", "roles.read", "users.read"]);
    let allowed = authz.check_permission(check(&org, &member.id, "projects.create")).await.expect("check");
    assert!(allowed.into_inner().allowed);

    let status = authz
        .get_effective_permissions(pb::GetEffectivePermissionsRequest {
            organization_id: org.id.clone(),
            user_id: NOBODY.into(),
        })
        .await
        .expect_err("unknown user");
    assert_eq!(status.code(), Code::NotFound);
}
