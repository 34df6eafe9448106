//! The gRPC front end against the same service and storage.

use roster_grpc::pb::user_service_client::UserServiceClient;
use roster_grpc::pb::{CreateUserRequest, GetUserRequest, ListUsersRequest};
use serde_json::json;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic_types::StatusExt as _;

use crate::harness::TestApp;

crate::on_both_backends!(users_over_grpc_share_rules_and_error_details_with_rest);

fn authed<T>(key: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {key}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

async fn users_over_grpc_share_rules_and_error_details_with_rest(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let mut client = UserServiceClient::connect(format!("http://{}", app.grpc_addr)).await.expect("connect");

    let create = |email: &str| CreateUserRequest {
        organization_id: org.clone(),
        email: email.to_owned(),
        name: Some("Ada".to_owned()),
        ..Default::default()
    };
    let created = client.create_user(authed(&app.platform_key, create("ada@acme.test"))).await.expect("create");
    let user = created.into_inner().user.expect("user");
    assert_eq!(user.email, "ada@acme.test");
    assert_eq!(user.organization.as_ref().map(|o| o.slug.as_str()), Some("acme"));

    let got = client
        .get_user(authed(&app.platform_key, GetUserRequest { organization_id: org.clone(), user_id: user.id.clone() }))
        .await
        .expect("get");
    assert_eq!(got.into_inner().id, user.id);

    // The same rule, the same code as REST.
    let dup = client.create_user(authed(&app.platform_key, create("ADA@acme.test"))).await.unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    assert_eq!(dup.get_error_details().error_info().map(|i| i.reason.as_str()), Some("email_taken"));

    let invalid = client.create_user(authed(&app.platform_key, create(""))).await.unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let details = invalid.get_error_details();
    assert_eq!(details.error_info().map(|i| i.reason.as_str()), Some("validation_failed"));
    let fields: Vec<&str> = details
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["email"]);

    let other = app.org("other", json!({})).await;
    let other_key = app.service_key(&other).await;
    let hidden = client
        .list_users(authed(&other_key, ListUsersRequest { organization_id: org.clone(), ..Default::default() }))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    assert_eq!(hidden.get_error_details().error_info().map(|i| i.reason.as_str()), Some("not_found"));

    let anonymous =
        client.list_users(tonic::Request::new(ListUsersRequest { organization_id: org, ..Default::default() })).await;
    assert_eq!(anonymous.unwrap_err().code(), Code::Unauthenticated);
}
