//! `InvitationService`: invited users join by accepting; invitations are listed, read,
//! resent and revoked. Tokens come from the queued emails, as an invitee's would.

use chrono::Duration;
use roster_grpc::pb;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::support::{Invitations, TestServer, bearer, create_user, reason, scoped_service_token, violations};

/// The password invitees choose.
const CHOSEN: &str = "a long and private passphrase";

/// An organization whose invitations last the default 7 days.
async fn org(server: &TestServer, slug: &str, seat_limit: Option<u32>) -> pb::Organization {
    server
        .orgs()
        .create_organization(pb::CreateOrganizationRequest {
            slug: slug.to_owned(),
            name: format!("Org {slug}"),
            seat_limit,
            default_login_url: Some(format!("https://{slug}.example/login")),
            ..Default::default()
        })
        .await
        .expect("create organization")
        .into_inner()
}

/// The only invitation of `org` (listed with the platform key).
async fn only_invitation(invitations: &mut Invitations, org: &pb::Organization) -> pb::Invitation {
    let mut listed = invitations
        .list_invitations(pb::ListInvitationsRequest { organization_id: org.id.clone(), ..Default::default() })
        .await
        .expect("list invitations")
        .into_inner()
        .invitations;
    assert_eq!(listed.len(), 1, "{listed:?}");
    listed.remove(0)
}

fn get(org: &pb::Organization, inv: &pb::Invitation) -> pb::GetInvitationRequest {
    pb::GetInvitationRequest { organization_id: org.id.clone(), invitation_id: inv.id.clone() }
}

fn accept(token: &str, password: &str) -> pb::AcceptInvitationRequest {
    pb::AcceptInvitationRequest { token: token.to_owned(), password: password.to_owned() }
}

#[tokio::test]
async fn an_invitee_accepts_once_without_credentials_and_becomes_active() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme", None).await;
    let mut users = server.users();
    let invited = users
        .create_user(pb::CreateUserRequest {
            organization_id: acme.id.clone(),
            email: "ada@example.com".into(),
            name: Some("Ada".into()),
            role: Some("admin".into()),
            login_url: Some("https://app.example.com/welcome".into()),
            ..Default::default()
        })
        .await
        .expect("invite")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(invited.status(), pb::UserStatus::Invited);

    let mut invitations = server.invitations();
    let inv = only_invitation(&mut invitations, &acme).await;
    assert_eq!((inv.organization_id.as_str(), inv.user_id.as_str()), (acme.id.as_str(), invited.id.as_str()));
    assert_eq!(inv.email, "ada@example.com");
    assert_eq!(inv.role_ids, invited.role_ids);
    assert_eq!(inv.status(), pb::InvitationStatus::Pending);
    assert!(inv.invited_by.starts_with("api_key:"), "{}", inv.invited_by);
    assert_eq!(inv.login_url.as_deref(), Some("https://app.example.com/welcome"), "the request's, not the default");
    let created = inv.created_at.expect("created_at");
    assert_eq!(inv.expires_at.map(|t| t.seconds - created.seconds), Some(7 * 24 * 3600));
    assert_eq!((inv.accepted_at, inv.revoked_at, inv.version), (None, None, 1));
    assert_eq!(invitations.get_invitation(get(&acme, &inv)).await.expect("get").into_inner(), inv);

    // The invitee has no credential: the token is theirs.
    let token = server.invitation_token("ada@example.com").await;
    let mut anonymous = server.invitations_with(None);
    let accepted = anonymous.accept_invitation(accept(&token, CHOSEN)).await.expect("accept").into_inner();
    assert_eq!(accepted.login_url.as_deref(), Some("https://app.example.com/welcome"));
    let user = accepted.user.expect("user");
    assert_eq!((user.id.as_str(), user.status()), (invited.id.as_str(), pb::UserStatus::Active));
    assert_eq!(user.version, invited.version + 1);

    let now = invitations.get_invitation(get(&acme, &inv)).await.expect("get").into_inner();
    assert_eq!((now.status(), now.version), (pb::InvitationStatus::Accepted, 2));
    assert!(now.accepted_at.is_some());

    let again = anonymous.accept_invitation(accept(&token, CHOSEN)).await.expect_err("single use");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(reason(&again), "invitation_already_accepted");

    // The roles took effect: the invitee logs in.
    let login = pb::LoginRequest {
        organization: "acme".into(),
        email: "ada@example.com".into(),
        password: CHOSEN.into(),
        client_ip: None,
    };
    let mut auth = pb::auth_service_client::AuthServiceClient::new(server.authed(None));
    let session = auth.login(login).await.expect("login").into_inner();
    let me = auth.authenticate(pb::AuthenticateRequest { token: session.token }).await.expect("me").into_inner();
    assert_eq!(me.roles.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["admin"]);
}

#[tokio::test]
async fn bad_tokens_and_passwords_fail_with_their_own_reasons() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme", None).await;
    create_user(&mut server.users(), &acme, "ada@example.com").await;
    let token = server.invitation_token("ada@example.com").await;
    let mut anonymous = server.invitations_with(None);

    let longer = format!("{token}x");
    for unknown in ["", "rsi_unknown", "not even a token", longer.as_str()] {
        let status = anonymous.accept_invitation(accept(unknown, CHOSEN)).await.expect_err("unknown token");
        assert_eq!(status.code(), Code::NotFound, "{unknown:?}");
        assert_eq!(reason(&status), "invitation_invalid");
    }
    let short = anonymous.accept_invitation(accept(&token, "short")).await.expect_err("weak password");
    assert_eq!(short.code(), Code::InvalidArgument);
    assert_eq!(violations(&short), ["password"]);
    let own_email = anonymous.accept_invitation(accept(&token, "ADA@example.com")).await.expect_err("the email");
    assert_eq!(violations(&own_email), ["password"]);
    anonymous.accept_invitation(accept(&token, CHOSEN)).await.expect("a refused password leaves the token usable");
}

#[tokio::test]
async fn expiry_follows_the_servers_clock_and_a_resend_renews_the_link() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme", None).await;
    create_user(&mut server.users(), &acme, "ada@example.com").await;
    let mut invitations = server.invitations();
    let inv = only_invitation(&mut invitations, &acme).await;
    let old_token = server.invitation_token("ada@example.com").await;

    server.clock.advance(Duration::days(7));
    let expired = invitations.get_invitation(get(&acme, &inv)).await.expect("get").into_inner();
    assert_eq!((expired.status(), expired.version), (pb::InvitationStatus::Expired, 1), "derived, not stored");
    let status = |s: pb::InvitationStatus| pb::ListInvitationsRequest {
        organization_id: acme.id.clone(),
        status: Some(s.into()),
        ..Default::default()
    };
    let listed = invitations.list_invitations(status(pb::InvitationStatus::Expired)).await.expect("list");
    assert_eq!(listed.into_inner().invitations, std::slice::from_ref(&expired));
    let listed = invitations.list_invitations(status(pb::InvitationStatus::Pending)).await.expect("list");
    assert!(listed.into_inner().invitations.is_empty());
    let late = server.invitations_with(None).accept_invitation(accept(&old_token, CHOSEN)).await.expect_err("late");
    assert_eq!((late.code(), reason(&late)), (Code::FailedPrecondition, "invitation_expired".to_owned()));

    let resend = |expected_version| pb::ResendInvitationRequest {
        organization_id: acme.id.clone(),
        invitation_id: inv.id.clone(),
        expected_version,
    };
    let stale = invitations.resend_invitation(resend(Some(7))).await.expect_err("stale version");
    assert_eq!((stale.code(), reason(&stale)), (Code::Aborted, "version_mismatch".to_owned()));
    let info = stale.get_details_error_info().expect("error info");
    assert_eq!(info.metadata.get("current_version").map(String::as_str), Some("1"));

    let resent = invitations.resend_invitation(resend(Some(1))).await.expect("resend").into_inner();
    assert_eq!((resent.status(), resent.version), (pb::InvitationStatus::Pending, 2));
    let renewed = resent.expires_at.expect("expiry").seconds - expired.expires_at.expect("expiry").seconds;
    assert_eq!(renewed, 7 * 24 * 3600, "seven days from now");

    let new_token = server.invitation_token("ada@example.com").await;
    assert_ne!(new_token, old_token);
    let mut anonymous = server.invitations_with(None);
    let dead = anonymous.accept_invitation(accept(&old_token, CHOSEN)).await.expect_err("replaced token");
    assert_eq!((dead.code(), reason(&dead)), (Code::NotFound, "invitation_invalid".to_owned()));
    anonymous.accept_invitation(accept(&new_token, CHOSEN)).await.expect("the new link works");
}

#[tokio::test]
async fn revoking_frees_the_seat_and_kills_the_link() {
    let server = TestServer::start().await;
    let tiny = org(&server, "tiny", Some(1)).await;
    let mut users = server.users();
    create_user(&mut users, &tiny, "ada@example.com").await;
    let token = server.invitation_token("ada@example.com").await;
    let full = users
        .create_user(pb::CreateUserRequest {
            organization_id: tiny.id.clone(),
            email: "bob@example.com".into(),
            name: Some("Bob".into()),
            ..Default::default()
        })
        .await
        .expect_err("an invitee takes a seat");
    assert_eq!(reason(&full), "seat_limit_reached");

    let mut invitations = server.invitations();
    let inv = only_invitation(&mut invitations, &tiny).await;
    let revoke = pb::RevokeInvitationRequest {
        organization_id: tiny.id.clone(),
        invitation_id: inv.id.clone(),
        expected_version: None,
    };
    let revoked = invitations.revoke_invitation(revoke.clone()).await.expect("revoke").into_inner();
    assert_eq!((revoked.status(), revoked.version), (pb::InvitationStatus::Revoked, 2));
    assert!(revoked.revoked_at.is_some());

    let dead = server.invitations_with(None).accept_invitation(accept(&token, CHOSEN)).await.expect_err("revoked");
    assert_eq!((dead.code(), reason(&dead)), (Code::FailedPrecondition, "invitation_revoked".to_owned()));
    let again = invitations.revoke_invitation(revoke).await.expect_err("already revoked");
    assert_eq!((again.code(), reason(&again)), (Code::FailedPrecondition, "invitation_not_pending".to_owned()));
    let info = again.get_details_error_info().expect("error info");
    assert_eq!(info.metadata.get("status").map(String::as_str), Some("revoked"));
    let resend = pb::ResendInvitationRequest {
        organization_id: tiny.id.clone(),
        invitation_id: inv.id.clone(),
        expected_version: None,
    };
    let settled = invitations.resend_invitation(resend).await.expect_err("revoked");
    assert_eq!(reason(&settled), "invitation_not_pending");

    create_user(&mut users, &tiny, "bob@example.com").await;
}

#[tokio::test]
async fn deleting_an_invited_user_revokes_their_invitation() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme", None).await;
    let mut users = server.users();
    let ada = create_user(&mut users, &acme, "ada@example.com").await;
    let token = server.invitation_token("ada@example.com").await;
    users
        .delete_user(pb::DeleteUserRequest {
            organization_id: acme.id.clone(),
            user_id: ada.id.clone(),
            expected_version: None,
        })
        .await
        .expect("delete");

    let mut invitations = server.invitations();
    let inv = only_invitation(&mut invitations, &acme).await;
    assert_eq!((inv.status(), inv.version), (pb::InvitationStatus::Revoked, 2));
    let dead = server.invitations_with(None).accept_invitation(accept(&token, CHOSEN)).await.expect_err("revoked");
    assert_eq!(reason(&dead), "invitation_revoked");
}

#[tokio::test]
async fn invitations_are_listed_page_by_page() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme", None).await;
    let mut users = server.users();
    let mut invited = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        invited.push(create_user(&mut users, &acme, email).await.id);
    }
    let mut invitations = server.invitations();
    let (mut seen, mut page_token) = (Vec::new(), String::new());
    for _ in 0..10 {
        let page = invitations
            .list_invitations(pb::ListInvitationsRequest {
                organization_id: acme.id.clone(),
                page_size: 2,
                page_token: page_token.clone(),
                status: Some(pb::InvitationStatus::Pending.into()),
            })
            .await
            .expect("list")
            .into_inner();
        assert!(page.invitations.len() <= 2);
        seen.extend(page.invitations.into_iter().map(|i| i.user_id));
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, invited, "oldest first, each once");
}

#[tokio::test]
async fn malformed_requests_name_the_grpc_fields() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme", None).await;
    let mut invitations = server.invitations();
    let list = |status: Option<i32>, page_size: i32, page_token: &str| pb::ListInvitationsRequest {
        organization_id: acme.id.clone(),
        page_size,
        page_token: page_token.to_owned(),
        status,
    };
    for (request, field) in [
        (list(Some(pb::InvitationStatus::Unspecified.into()), 0, ""), "status"),
        (list(Some(42), 0, ""), "status"),
        (list(None, 201, ""), "page_size"),
        (list(None, 0, "not-a-token"), "page_token"),
    ] {
        let status = invitations.list_invitations(request).await.expect_err(field);
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert_eq!(violations(&status), [field]);
    }
    let status = invitations
        .get_invitation(pb::GetInvitationRequest { organization_id: String::new(), invitation_id: "42".into() })
        .await
        .expect_err("malformed ids");
    assert_eq!(violations(&status), ["organization_id", "invitation_id"]);
    let missing = pb::GetInvitationRequest { organization_id: acme.id.clone(), invitation_id: acme.id.clone() };
    let status = invitations.get_invitation(missing).await.expect_err("no such invitation");
    assert_eq!((status.code(), reason(&status)), (Code::NotFound, "not_found".to_owned()));
}

#[tokio::test]
async fn managing_invitations_needs_a_credential_the_permission_and_reach() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme", None).await;
    let globex = org(&server, "globex", None).await;
    create_user(&mut server.users(), &acme, "ada@example.com").await;
    let inv = only_invitation(&mut server.invitations(), &acme).await;
    let list = pb::ListInvitationsRequest { organization_id: acme.id.clone(), ..Default::default() };

    let anonymous = server.invitations_with(None).list_invitations(list.clone()).await.expect_err("no credential");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let users_only = scoped_service_token(&server, &acme, &["users.read"]).await;
    let mut scoped = server.invitations_with(Some(&bearer(&users_only)));
    let denied = scoped.list_invitations(list.clone()).await.expect_err("no invitations.read");
    assert_eq!((denied.code(), reason(&denied)), (Code::PermissionDenied, "forbidden".to_owned()));

    let readers = scoped_service_token(&server, &acme, &["invitations.read"]).await;
    let mut readers = server.invitations_with(Some(&bearer(&readers)));
    readers.get_invitation(get(&acme, &inv)).await.expect("invitations.read reads");
    let revoke = pb::RevokeInvitationRequest {
        organization_id: acme.id.clone(),
        invitation_id: inv.id.clone(),
        expected_version: None,
    };
    let denied = readers.revoke_invitation(revoke).await.expect_err("no invitations.write");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let other = server.service_token(&globex).await;
    let hidden = server.invitations_with(Some(&bearer(&other))).get_invitation(get(&acme, &inv)).await;
    assert_eq!(hidden.expect_err("other tenant").code(), Code::NotFound);
}
