//! `PermissionGrantService`: a user's direct grants.

use prost_types::{FieldMask, Timestamp};
use roster_grpc::pb;
use roster_grpc::pb::permission_grant_service_client::PermissionGrantServiceClient;
use tonic::Code;

use crate::support::{TestServer, create_user, grant, reason, violations};

/// 2025-01-02T00:00:00Z: a day after the test clock's now.
const TOMORROW: Timestamp = Timestamp { seconds: 1_735_776_000, nanos: 0 };

#[tokio::test]
async fn grants_are_created_listed_updated_and_deleted() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let ada = create_user(&mut server.users(), &org, "ada@example.com").await;
    let mut grants = PermissionGrantServiceClient::new(server.platform());

    let created = grant(&server, &org, &ada, "projects.create").await;
    assert_eq!((created.permission.as_str(), created.user_id.as_str()), ("projects.create", ada.id.as_str()));
    assert_eq!((created.expires_at, created.version), (None, 1));
    assert!(created.created_by.starts_with("api_key:"));

    let duplicate = grants
        .create_permission_grant(pb::CreatePermissionGrantRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            permission: "projects.create".into(),
            expires_at: None,
        })
        .await
        .expect_err("duplicate");
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    assert_eq!(reason(&duplicate), "grant_exists");

    let past = grants
        .create_permission_grant(pb::CreatePermissionGrantRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            permission: "projects.delete".into(),
            expires_at: Some(Timestamp { seconds: 1_000, nanos: 0 }),
        })
        .await
        .expect_err("expiry in the past");
    assert_eq!(violations(&past), ["expires_at"]);

    let updated = grants
        .update_permission_grant(pb::UpdatePermissionGrantRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            grant_id: created.id.clone(),
            grant: Some(pb::PermissionGrantPatch { permission: None, expires_at: Some(TOMORROW) }),
            update_mask: Some(FieldMask { paths: vec!["expires_at".into()] }),
            expected_version: Some(1),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!((updated.expires_at, updated.version), (Some(TOMORROW), 2));

    let listed = grants
        .list_permission_grants(pb::ListPermissionGrantsRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
        })
        .await
        .expect("list")
        .into_inner()
        .grants;
    assert_eq!(listed, std::slice::from_ref(&updated));

    let stale = grants
        .delete_permission_grant(pb::DeletePermissionGrantRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            grant_id: created.id.clone(),
            expected_version: Some(1),
        })
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    grants
        .delete_permission_grant(pb::DeletePermissionGrantRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            grant_id: created.id.clone(),
            expected_version: Some(2),
        })
        .await
        .expect("delete");
    let gone = grants
        .get_permission_grant(pb::GetPermissionGrantRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            grant_id: created.id.clone(),
        })
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
}
