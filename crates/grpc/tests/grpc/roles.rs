//! `RoleService`: custom roles' life cycle, and the built-ins that never change.

use prost_types::FieldMask;
use roster_grpc::pb;
use roster_grpc::pb::role_service_client::RoleServiceClient;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::support::{Authed, TestServer, create_user, reason, violations};

fn client(server: &TestServer) -> RoleServiceClient<Authed> {
    RoleServiceClient::new(server.platform())
}

fn create(org: &pb::Organization, key: &str, permissions: &[&str]) -> pb::CreateRoleRequest {
    pb::CreateRoleRequest {
        organization_id: org.id.clone(),
        key: key.to_owned(),
        name: format!("Role {key}"),
        description: Some("For the billing team".into()),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

#[tokio::test]
async fn custom_roles_are_created_read_updated_and_deleted() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut roles = client(&server);

    let builtins = roles
        .list_roles(pb::ListRolesRequest { organization_id: org.id.clone() })
        .await
        .expect("list")
        .into_inner()
        .roles;
    let keys: Vec<&str> = builtins.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["admin", "member", "owner"], "built-ins first, then by key");
    assert!(builtins.iter().all(|r| r.builtin));
    assert_eq!(builtins[2].permissions, ["*"]);
    assert_eq!(builtins[1].permissions, ["organizations.read", "roles.read", "users.read"]);

    let billing = roles
        .create_role(create(&org, "billing", &["users.read", "invoices.read"]))
        .await
        .expect("create")
        .into_inner();
    assert!(!billing.builtin);
    assert_eq!(billing.permissions, ["invoices.read", "users.read"]);
    assert_eq!((billing.version, billing.organization_id.as_str()), (1, org.id.as_str()));

    let taken = roles.create_role(create(&org, "billing", &[])).await.expect_err("key taken");
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert_eq!(reason(&taken), "role_key_taken");
    let invalid = roles.create_role(create(&org, "Billing Team", &["users.read", "nope"])).await.expect_err("invalid");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(violations(&invalid), ["key", "permissions[1]"]);

    let got = roles
        .get_role(pb::GetRoleRequest { organization_id: org.id.clone(), role_id: billing.id.clone() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, billing);

    let update = |patch: pb::RolePatch, paths: &[&str], version: Option<i64>| pb::UpdateRoleRequest {
        organization_id: org.id.clone(),
        role_id: billing.id.clone(),
        role: Some(patch),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
        expected_version: version,
    };
    let patch = pb::RolePatch {
        name: Some("Billing".into()),
        key: Some("ignored".into()),
        permissions: vec!["invoices.read".into(), "invoices.write".into()],
        ..Default::default()
    };
    let updated = roles
        .update_role(update(patch, &["name", "permissions", "description"], Some(1)))
        .await
        .expect("update")
        .into_inner();
    assert_eq!((updated.key.as_str(), updated.name.as_str()), ("billing", "Billing"));
    assert_eq!(updated.description, "", "masked and unset: cleared");
    assert_eq!(updated.permissions, ["invoices.read", "invoices.write"]);
    assert_eq!(updated.version, 2);

    let stale = roles
        .update_role(update(pb::RolePatch { name: Some("Late".into()), ..Default::default() }, &["name"], Some(1)))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason(&stale), "version_mismatch");
    let bad = roles
        .update_role(update(
            pb::RolePatch { permissions: vec!["x".into()], ..Default::default() },
            &["permissions"],
            None,
        ))
        .await
        .expect_err("bad permission");
    assert_eq!(violations(&bad), ["role.permissions[0]"]);

    roles
        .delete_role(pb::DeleteRoleRequest {
            organization_id: org.id.clone(),
            role_id: billing.id.clone(),
            reassign_to: None,
            expected_version: Some(2),
        })
        .await
        .expect("delete an unheld role");
    let gone = roles
        .get_role(pb::GetRoleRequest { organization_id: org.id.clone(), role_id: billing.id.clone() })
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn built_in_roles_cannot_be_changed_or_deleted() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut roles = client(&server);
    let builtins = roles.list_roles(pb::ListRolesRequest { organization_id: org.id.clone() }).await.expect("list");
    let admin = builtins.into_inner().roles.into_iter().find(|r| r.key == "admin").expect("admin role");

    let status = roles
        .update_role(pb::UpdateRoleRequest {
            organization_id: org.id.clone(),
            role_id: admin.id.clone(),
            role: Some(pb::RolePatch { name: Some("Boss".into()), ..Default::default() }),
            update_mask: None,
            expected_version: None,
        })
        .await
        .expect_err("built-in");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "immutable_role");

    let status = roles
        .delete_role(pb::DeleteRoleRequest {
            organization_id: org.id.clone(),
            role_id: admin.id.clone(),
            reassign_to: None,
            expected_version: None,
        })
        .await
        .expect_err("built-in");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "immutable_role");
}

#[tokio::test]
async fn a_held_role_is_deleted_only_with_somewhere_for_its_holders_to_go() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut roles = client(&server);
    let support = roles.create_role(create(&org, "support", &["users.read"])).await.expect("create").into_inner();
    let mut users = server.users();
    let ada = users
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            email: "ada@example.com".into(),
            name: Some("Ada".into()),
            role_ids: vec![support.id.clone()],
            ..Default::default()
        })
        .await
        .expect("user with the custom role")
        .into_inner()
        .user
        .expect("user");
    create_user(&mut users, &org, "grace@example.com").await;

    let delete = |reassign_to: Option<String>| pb::DeleteRoleRequest {
        organization_id: org.id.clone(),
        role_id: support.id.clone(),
        reassign_to,
        expected_version: None,
    };
    let status = roles.delete_role(delete(None)).await.expect_err("held");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "role_in_use");
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.metadata.get("holders").map(String::as_str), Some("1"));

    let status = roles.delete_role(delete(Some("nope".into()))).await.expect_err("bad reassign_to");
    assert_eq!(violations(&status), ["reassign_to"]);

    roles.delete_role(delete(Some(org.default_role_id.clone()))).await.expect("delete with reassignment");
    let moved = users
        .get_user(pb::GetUserRequest { organization_id: org.id.clone(), user_id: ada.id.clone() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(moved.role_ids, std::slice::from_ref(&org.default_role_id));
}
