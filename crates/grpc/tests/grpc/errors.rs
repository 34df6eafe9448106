//! Failures: codes, `ErrorInfo` reasons and `BadRequest` violations.

use prost_types::FieldMask;
use roster_grpc::pb;
use tonic::Code;

use crate::support::{TestServer, create_user, reason, violations};

#[tokio::test]
async fn a_taken_email_is_already_exists_with_reason_email_taken() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut users = server.users();
    create_user(&mut users, &org, "ada@example.com").await;
    let status = users
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            email: " ADA@example.com ".into(),
            name: Some("Other Ada".into()),
            ..Default::default()
        })
        .await
        .expect_err("duplicate email");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(reason(&status), "email_taken");
}

#[tokio::test]
async fn a_missing_email_is_invalid_argument_naming_email() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let status = server
        .users()
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            name: Some("Nobody".into()),
            ..Default::default()
        })
        .await
        .expect_err("no email");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "validation_failed");
    assert_eq!(violations(&status), ["email"]);
}

#[tokio::test]
async fn calls_without_a_usable_key_are_unauthenticated() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let basic = format!("Basic {}", server.platform_token());
    for authorization in [None, Some("Bearer not-a-key"), Some("Bearer rk_0000000000000000"), Some(basic.as_str())] {
        let status = server
            .users_with(authorization)
            .get_user(pb::GetUserRequest { organization_id: org.id.clone(), user_id: org.id.clone() })
            .await
            .expect_err("unauthenticated");
        assert_eq!(status.code(), Code::Unauthenticated, "{authorization:?}");
        assert_eq!(reason(&status), "unauthenticated");
    }
    let status = server.orgs_with(None).list_organizations(pb::ListOrganizationsRequest::default()).await;
    assert_eq!(status.expect_err("unauthenticated").code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_service_key_of_another_organization_finds_nothing() {
    let server = TestServer::start().await;
    let acme = server.create_org("acme").await;
    let globex = server.create_org("globex").await;
    let ada = create_user(&mut server.users(), &acme, "ada@example.com").await;
    let globex_key = format!("Bearer {}", server.service_token(&globex).await);
    let mut users = server.users_with(Some(&globex_key));

    let status = users
        .get_user(pb::GetUserRequest { organization_id: acme.id.clone(), user_id: ada.id.clone() })
        .await
        .expect_err("other tenant");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(reason(&status), "not_found");
    let status = users
        .list_users(pb::ListUsersRequest { organization_id: acme.id.clone(), ..Default::default() })
        .await
        .expect_err("other tenant");
    assert_eq!(status.code(), Code::NotFound);

    // Its own organization is reachable; creating organizations is not allowed.
    let own = users
        .list_users(pb::ListUsersRequest { organization_id: globex.id.clone(), ..Default::default() })
        .await
        .expect("own organization");
    assert!(own.into_inner().users.is_empty());
    let status = server
        .orgs_with(Some(&globex_key))
        .create_organization(pb::CreateOrganizationRequest {
            slug: "initech".into(),
            name: "Initech".into(),
            ..Default::default()
        })
        .await
        .expect_err("only platform keys create organizations");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "forbidden");
}

#[tokio::test]
async fn malformed_ids_are_invalid_argument_naming_each_field() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut users = server.users();

    let status = users
        .get_user(pb::GetUserRequest { organization_id: "acme".into(), user_id: String::new() })
        .await
        .expect_err("bad ids");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "validation_failed");
    assert_eq!(violations(&status), ["organization_id", "user_id"]);

    let status = server
        .orgs()
        .get_organization(pb::GetOrganizationRequest { organization_id: "42".into() })
        .await
        .expect_err("bad id");
    assert_eq!(violations(&status), ["organization_id"]);

    let status = users
        .batch_delete_users(pb::BatchDeleteUsersRequest {
            organization_id: org.id.clone(),
            user_ids: vec![org.id.clone(), "nope".into()],
        })
        .await
        .expect_err("bad batch id");
    assert_eq!(violations(&status), ["user_ids[1]"]);

    let status = users
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            email: "ada@example.com".into(),
            name: Some("Ada".into()),
            role_ids: vec!["admin".into()],
            ..Default::default()
        })
        .await
        .expect_err("bad role id");
    assert_eq!(violations(&status), ["role_ids[0]"]);
}

#[tokio::test]
async fn field_masks_reject_unknown_paths_and_clearing_required_fields() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut users = server.users();
    let ada = create_user(&mut users, &org, "ada@example.com").await;

    let status = users
        .update_user(pb::UpdateUserRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            user: None,
            update_mask: Some(FieldMask { paths: vec!["nickname".into(), "email".into()] }),
            expected_version: None,
        })
        .await
        .expect_err("bad mask");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violations(&status), ["update_mask", "user.email"]);

    let status = server
        .orgs()
        .update_organization(pb::UpdateOrganizationRequest {
            organization_id: org.id.clone(),
            organization: Some(pb::OrganizationPatch { parent_id: Some(org.id.clone()), ..Default::default() }),
            update_mask: None,
            expected_version: None,
        })
        .await
        .expect_err("parent_id is not updatable");
    assert_eq!(violations(&status), ["organization.parent_id"]);

    let unchanged = users
        .get_user(pb::GetUserRequest { organization_id: org.id.clone(), user_id: ada.id.clone() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(unchanged.version, 1);
}
