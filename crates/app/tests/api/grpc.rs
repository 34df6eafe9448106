//! The gRPC front end against the same service and storage.

use roster_grpc::pb;
use roster_grpc::pb::auth_service_client::AuthServiceClient;
use roster_grpc::pb::authorization_service_client::AuthorizationServiceClient;
use roster_grpc::pb::invitation_service_client::InvitationServiceClient;
use roster_grpc::pb::user_service_client::UserServiceClient;
use roster_grpc::pb::{CreateUserRequest, GetUserRequest, ListUsersRequest};
use serde_json::json;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic_types::StatusExt as _;

use crate::harness::{PASSWORD, TestApp};

crate::on_both_backends!(
    users_over_grpc_share_rules_and_error_details_with_rest,
    tokens_and_permission_checks_over_grpc,
    invitations_over_grpc_are_rests_and_a_token_works_once
);

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

/// Internal services' questions, on each backend's storage: who is this token (a service
/// key, a session from a login), and may these users do these things (one batch).
async fn tokens_and_permission_checks_over_grpc(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let service_key = app.service_key(&org).await;
    let invited = app.user(&org, "invited@acme.test").await["id"].as_str().expect("id").to_owned();
    let url = format!("http://{}", app.grpc_addr);
    let admin = UserServiceClient::connect(url.clone())
        .await
        .expect("connect")
        .create_user(authed(
            &app.platform_key,
            CreateUserRequest {
                organization_id: org.clone(),
                email: "admin@acme.test".to_owned(),
                name: Some("Admin".to_owned()),
                password: Some("correct horse battery staple".to_owned()),
                role: Some("admin".to_owned()),
                ..Default::default()
            },
        ))
        .await
        .expect("create admin")
        .into_inner()
        .user
        .expect("user");

    let mut auth = AuthServiceClient::connect(url.clone()).await.expect("connect");
    let service = auth
        .authenticate(pb::AuthenticateRequest { token: service_key.clone() })
        .await
        .expect("service key")
        .into_inner();
    assert_eq!(service.kind(), pb::PrincipalKind::ServiceKey);
    assert_eq!(service.organization_id.as_deref(), Some(org.as_str()));

    let login = auth
        .login(pb::LoginRequest {
            organization: "acme".to_owned(),
            email: "admin@acme.test".to_owned(),
            password: "correct horse battery staple".to_owned(),
            client_ip: None,
        })
        .await
        .expect("login")
        .into_inner();
    let session = auth.authenticate(pb::AuthenticateRequest { token: login.token }).await.expect("session");
    let session = session.into_inner();
    assert_eq!(session.kind(), pb::PrincipalKind::Session);
    assert_eq!(session.user_id.as_deref(), Some(admin.id.as_str()));
    assert_eq!(session.roles.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["admin"]);

    let unknown = auth.authenticate(pb::AuthenticateRequest { token: "rst_nope".to_owned() }).await.unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);

    let nobody = "01890000-0000-7000-8000-000000000000";
    let check = |user: &str, permission: &str| pb::PermissionCheck {
        user_id: user.to_owned(),
        permission: permission.to_owned(),
    };
    let results = AuthorizationServiceClient::connect(url)
        .await
        .expect("connect")
        .batch_check_permissions(authed(
            &service_key,
            pb::BatchCheckPermissionsRequest {
                organization_id: org.clone(),
                checks: vec![
                    check(&admin.id, "users.write"),
                    check(&admin.id, "organizations.delete"),
                    check(&invited, "users.read"),
                    check(nobody, "users.read"),
                ],
            },
        ))
        .await
        .expect("batch")
        .into_inner()
        .results;
    let answers: Vec<(bool, bool)> = results.iter().map(|r| (r.allowed, r.user_found)).collect();
    assert_eq!(answers, [(true, true), (false, true), (false, true), (false, false)]);
}

/// An invitee made over REST, seen and accepted over gRPC: the invitation is listed and
/// read as REST shows it, accepted with the emailed token and no credential, and the
/// token is spent.
async fn invitations_over_grpc_are_rests_and_a_token_works_once(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let user_id = app.user(&org, "ada@acme.test").await["id"].as_str().expect("id").to_owned();
    let mut client = InvitationServiceClient::connect(format!("http://{}", app.grpc_addr)).await.expect("connect");

    let pending = pb::ListInvitationsRequest {
        organization_id: org.clone(),
        status: Some(pb::InvitationStatus::Pending.into()),
        ..Default::default()
    };
    let listed = client.list_invitations(authed(&app.platform_key, pending)).await.expect("list").into_inner();
    assert!(listed.next_page_token.is_empty());
    let [invitation] = listed.invitations.as_slice() else { panic!("one invitation: {listed:?}") };
    assert_eq!((invitation.user_id.as_str(), invitation.email.as_str()), (user_id.as_str(), "ada@acme.test"));
    assert_eq!((invitation.status(), invitation.version), (pb::InvitationStatus::Pending, 1));

    let rest =
        app.call(http::Method::GET, &format!("/v1/organizations/{org}/invitations/{}", invitation.id), None).await;
    assert_eq!(
        (rest.data()["id"].as_str(), rest.data()["status"].as_str()),
        (Some(invitation.id.as_str()), Some("pending"))
    );
    let get = || pb::GetInvitationRequest { organization_id: org.clone(), invitation_id: invitation.id.clone() };
    let got = client.get_invitation(authed(&app.platform_key, get())).await.expect("get").into_inner();
    assert_eq!(&got, invitation);

    // No authorization metadata: the emailed token is the credential.
    let token = app.invitation_token("ada@acme.test").await;
    let accept = || pb::AcceptInvitationRequest { token: token.clone(), password: PASSWORD.to_owned() };
    let accepted = client.accept_invitation(accept()).await.expect("accept").into_inner();
    let user = accepted.user.expect("user");
    assert_eq!((user.id.as_str(), user.status()), (user_id.as_str(), pb::UserStatus::Active));
    assert_eq!(app.login("acme", "ada@acme.test", PASSWORD).await.status, http::StatusCode::OK);

    let got = client.get_invitation(authed(&app.platform_key, get())).await.expect("get").into_inner();
    assert_eq!((got.status(), got.version), (pb::InvitationStatus::Accepted, 2));
    assert!(got.accepted_at.is_some());

    let again = client.accept_invitation(accept()).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(again.get_error_details().error_info().map(|i| i.reason.as_str()), Some("invitation_already_accepted"));
}
