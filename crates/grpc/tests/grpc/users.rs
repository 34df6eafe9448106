//! The user life cycle over gRPC.

use prost_types::FieldMask;
use roster_domain::outbox::Mail;
use roster_grpc::pb;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::support::{TestServer, create_user, reason};

#[tokio::test]
async fn a_user_created_with_a_password_is_active_and_readable_with_its_organization() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut users = server.users();

    let created = users
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            email: "Ada@Example.com".into(),
            password: Some("correct horse battery staple".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            tags: vec!["vip".into()],
            metadata: [("plan".to_owned(), "pro".to_owned())].into(),
            ..Default::default()
        })
        .await
        .expect("create user")
        .into_inner();
    assert_eq!(created.generated_password, None);
    let user = created.user.expect("user");
    assert_eq!(user.status(), pb::UserStatus::Active);
    assert_eq!(user.name, "Ada Lovelace");
    assert_eq!(user.version, 1);
    assert_eq!(user.role_ids, std::slice::from_ref(&org.default_role_id));

    let got = users
        .get_user(pb::GetUserRequest { organization_id: org.id.clone(), user_id: user.id.clone() })
        .await
        .expect("get user")
        .into_inner();
    assert_eq!(got, user);
    let summary = got.organization.expect("organization summary");
    assert_eq!((summary.id, summary.slug, summary.name), (org.id, org.slug, org.name));
}

#[tokio::test]
async fn a_generated_password_is_returned_once_and_emailed_with_the_login_url() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let created = server
        .users()
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            email: "bot@example.com".into(),
            name: Some("Bot".into()),
            generate_password: true,
            login_url: Some("https://app.example.com/login".into()),
            ..Default::default()
        })
        .await
        .expect("create user")
        .into_inner();
    let password = created.generated_password.expect("generated password");
    assert!(password.len() >= 12);
    assert_eq!(created.user.expect("user").status(), pb::UserStatus::Active);

    let mails = server.mails().await;
    let [(to, Mail::Credentials { login_url, password: emailed, .. })] = mails.as_slice() else {
        panic!("one credentials email expected: {mails:?}");
    };
    assert_eq!((to.as_str(), login_url.as_str()), ("bot@example.com", "https://app.example.com/login"));
    assert_eq!(emailed, &password);
}

#[tokio::test]
async fn a_generated_password_without_any_login_url_is_refused_and_creates_nothing() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut users = server.users();
    let request = |org: &pb::Organization| pb::CreateUserRequest {
        organization_id: org.id.clone(),
        email: "bot@example.com".into(),
        name: Some("Bot".into()),
        generate_password: true,
        ..Default::default()
    };
    let status = users.create_user(request(&org)).await.expect_err("no login url");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "validation_failed");
    assert_eq!(crate::support::violations(&status), ["login_url"]);
    let listed = users
        .list_users(pb::ListUsersRequest { organization_id: org.id.clone(), ..Default::default() })
        .await
        .expect("list")
        .into_inner();
    assert!(listed.users.is_empty());
    assert!(server.mails().await.is_empty());

    // The organization's default login URL stands in for the request's.
    let with_default = server
        .orgs()
        .create_organization(pb::CreateOrganizationRequest {
            slug: "globex".into(),
            name: "Globex".into(),
            default_login_url: Some("https://globex.example/sign-in".into()),
            ..Default::default()
        })
        .await
        .expect("create organization")
        .into_inner();
    users.create_user(request(&with_default)).await.expect("the default login url is used");
    let mails = server.mails().await;
    let [(_, Mail::Credentials { login_url, .. })] = mails.as_slice() else {
        panic!("one credentials email expected: {mails:?}");
    };
    assert_eq!(login_url, "https://globex.example/sign-in");
}

#[tokio::test]
async fn users_are_listed_page_by_page_until_the_token_is_empty() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut users = server.users();
    let mut created = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        created.push(create_user(&mut users, &org, email).await.id);
    }

    let mut seen = Vec::new();
    let mut page_token = String::new();
    for _ in 0..10 {
        let page = users
            .list_users(pb::ListUsersRequest {
                organization_id: org.id.clone(),
                page_size: 1,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .expect("list users")
            .into_inner();
        assert!(page.users.len() <= 1);
        for user in page.users {
            assert_eq!(user.organization.as_ref().map(|o| o.id.as_str()), Some(org.id.as_str()));
            seen.push(user.id);
        }
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert!(page_token.is_empty(), "the walk ends");
    assert_eq!(seen, created, "oldest first, each once");

    let all = users
        .list_users(pb::ListUsersRequest { organization_id: org.id.clone(), ..Default::default() })
        .await
        .expect("list with the default page size")
        .into_inner();
    assert_eq!(all.users.len(), 3);
    assert!(all.next_page_token.is_empty());

    let filtered = users
        .list_users(pb::ListUsersRequest {
            organization_id: org.id.clone(),
            email: Some("B@example.com".into()),
            ..Default::default()
        })
        .await
        .expect("list by email")
        .into_inner();
    assert_eq!(filtered.users.iter().map(|u| &u.id).collect::<Vec<_>>(), [&created[1]]);
}

#[tokio::test]
async fn a_bad_page_token_or_size_names_the_grpc_field() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut users = server.users();
    for (page_size, page_token, field) in [(0, "garbage", "page_token"), (500, "", "page_size")] {
        let status = users
            .list_users(pb::ListUsersRequest {
                organization_id: org.id.clone(),
                page_size,
                page_token: page_token.into(),
                ..Default::default()
            })
            .await
            .expect_err("rejected");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(crate::support::violations(&status), [field]);
    }
}

#[tokio::test]
async fn an_update_applies_only_the_masked_fields_and_a_stale_version_changes_nothing() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut users = server.users();
    let created = users
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            email: "grace@example.com".into(),
            name: Some("Grace".into()),
            location: Some("Arlington".into()),
            locale: Some("en".into()),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner()
        .user
        .expect("user");

    let updated = users
        .update_user(pb::UpdateUserRequest {
            organization_id: org.id.clone(),
            user_id: created.id.clone(),
            user: Some(pb::UserPatch {
                name: Some("Grace Hopper".into()),
                locale: Some("fr".into()), // not in the mask: ignored
                tags: vec!["navy".into()],
                ..Default::default()
            }),
            update_mask: Some(FieldMask { paths: vec!["name".into(), "location".into(), "tags".into()] }),
            expected_version: Some(1),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.name, "Grace Hopper");
    assert_eq!(updated.location, None, "masked and unset: cleared");
    assert_eq!(updated.locale.as_deref(), Some("en"), "unmasked: unchanged");
    assert_eq!(updated.tags, ["navy"]);
    assert_eq!(updated.version, 2);

    let stale = users
        .update_user(pb::UpdateUserRequest {
            organization_id: org.id.clone(),
            user_id: created.id.clone(),
            user: Some(pb::UserPatch { name: Some("Amazing Grace".into()), ..Default::default() }),
            update_mask: Some(FieldMask { paths: vec!["name".into()] }),
            expected_version: Some(1),
        })
        .await
        .expect_err("stale version");
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason(&stale), "version_mismatch");
    let info = stale.get_details_error_info().expect("error info");
    assert_eq!(info.metadata.get("current_version").map(String::as_str), Some("2"));

    let current = users
        .get_user(pb::GetUserRequest { organization_id: org.id.clone(), user_id: created.id.clone() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!((current.name.as_str(), current.version), ("Grace Hopper", 2), "nothing changed");

    // Without a mask, the fields set in the patch are applied and nothing is cleared.
    let implied = users
        .update_user(pb::UpdateUserRequest {
            organization_id: org.id.clone(),
            user_id: created.id.clone(),
            user: Some(pb::UserPatch { locale: Some("de".into()), ..Default::default() }),
            ..Default::default()
        })
        .await
        .expect("update without a mask")
        .into_inner();
    assert_eq!(implied.locale.as_deref(), Some("de"));
    assert_eq!((implied.name.as_str(), implied.tags.as_slice()), ("Grace Hopper", ["navy".to_owned()].as_slice()));
    assert_eq!(implied.version, 3);

    // Domain validation errors of a patch name the patch field.
    let status = users
        .update_user(pb::UpdateUserRequest {
            organization_id: org.id.clone(),
            user_id: created.id.clone(),
            user: Some(pb::UserPatch { status: Some(pb::UserStatus::Suspended.into()), ..Default::default() }),
            ..Default::default()
        })
        .await
        .expect_err("an invited user cannot be suspended");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(crate::support::violations(&status), ["user.status"]);
}

#[tokio::test]
async fn deleted_users_disappear_and_batch_deletes_report_each_user() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut users = server.users();
    let a = create_user(&mut users, &org, "a@example.com").await;
    let b = create_user(&mut users, &org, "b@example.com").await;
    let c = create_user(&mut users, &org, "c@example.com").await;

    let stale = users
        .delete_user(pb::DeleteUserRequest {
            organization_id: org.id.clone(),
            user_id: a.id.clone(),
            expected_version: Some(7),
        })
        .await
        .expect_err("stale delete");
    assert_eq!(reason(&stale), "version_mismatch");
    users
        .delete_user(pb::DeleteUserRequest {
            organization_id: org.id.clone(),
            user_id: a.id.clone(),
            expected_version: Some(1),
        })
        .await
        .expect("delete");
    let gone = users
        .get_user(pb::GetUserRequest { organization_id: org.id.clone(), user_id: a.id.clone() })
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(reason(&gone), "not_found");

    // The deleted user's email is free again.
    create_user(&mut users, &org, "a@example.com").await;

    let missing = uuid_like();
    let results = users
        .batch_delete_users(pb::BatchDeleteUsersRequest {
            organization_id: org.id.clone(),
            user_ids: vec![b.id.clone(), a.id.clone(), b.id.clone(), c.id.clone(), missing.clone()],
        })
        .await
        .expect("batch delete")
        .into_inner()
        .results;
    let outcomes: Vec<(&str, pb::BatchDeleteOutcome)> =
        results.iter().map(|r| (r.user_id.as_str(), r.outcome())).collect();
    assert_eq!(
        outcomes,
        [
            (b.id.as_str(), pb::BatchDeleteOutcome::Deleted),
            (a.id.as_str(), pb::BatchDeleteOutcome::NotFound),
            (c.id.as_str(), pb::BatchDeleteOutcome::Deleted),
            (missing.as_str(), pb::BatchDeleteOutcome::NotFound),
        ]
    );

    let left = users
        .list_users(pb::ListUsersRequest { organization_id: org.id.clone(), ..Default::default() })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(left.users.len(), 1, "only the re-created user is left");
}

/// A well-formed id that names nothing.
fn uuid_like() -> String {
    "01890000-0000-7000-8000-000000000000".to_owned()
}
