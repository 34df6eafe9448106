//! The organization life cycle over gRPC.

use prost_types::FieldMask;
use roster_grpc::pb;
use tonic::Code;

use crate::support::{TestServer, reason, violations};

#[tokio::test]
async fn organizations_are_created_listed_updated_and_deleted() {
    let server = TestServer::start().await;
    let mut orgs = server.orgs();
    let acme = orgs
        .create_organization(pb::CreateOrganizationRequest {
            slug: "acme".into(),
            name: "Acme".into(),
            domain: Some("Acme.example".into()),
            seat_limit: Some(10),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    assert_eq!(acme.status(), pb::OrganizationStatus::Active);
    assert_eq!(acme.domain.as_deref(), Some("acme.example"));
    assert_eq!(acme.invitation_ttl_seconds, 7 * 24 * 3600);
    assert_eq!(acme.version, 1);
    assert!(acme.created_at.is_some() && acme.created_by.starts_with("api_key:"));
    let globex = server.create_org("globex").await;

    let taken = orgs
        .create_organization(pb::CreateOrganizationRequest {
            slug: "acme".into(),
            name: "Acme 2".into(),
            ..Default::default()
        })
        .await
        .expect_err("slug taken");
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert_eq!(reason(&taken), "slug_taken");

    let first = orgs
        .list_organizations(pb::ListOrganizationsRequest { page_size: 1, page_token: String::new() })
        .await
        .expect("first page")
        .into_inner();
    assert_eq!(first.organizations.iter().map(|o| &o.id).collect::<Vec<_>>(), [&acme.id]);
    let second = orgs
        .list_organizations(pb::ListOrganizationsRequest { page_size: 1, page_token: first.next_page_token })
        .await
        .expect("second page")
        .into_inner();
    assert_eq!(second.organizations.iter().map(|o| &o.id).collect::<Vec<_>>(), [&globex.id]);

    let updated = orgs
        .update_organization(pb::UpdateOrganizationRequest {
            organization_id: acme.id.clone(),
            organization: Some(pb::OrganizationPatch {
                name: Some("Acme Corp".into()),
                slug: Some("ignored".into()),
                ..Default::default()
            }),
            update_mask: Some(FieldMask { paths: vec!["name".into(), "domain".into(), "seat_limit".into()] }),
            expected_version: Some(1),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!((updated.name.as_str(), updated.slug.as_str()), ("Acme Corp", "acme"));
    assert_eq!((updated.domain, updated.seat_limit), (None, None), "masked and unset: cleared");
    assert_eq!(updated.version, 2);

    let invalid = orgs
        .update_organization(pb::UpdateOrganizationRequest {
            organization_id: acme.id.clone(),
            organization: Some(pb::OrganizationPatch { slug: Some("Not A Slug".into()), ..Default::default() }),
            update_mask: Some(FieldMask { paths: vec!["slug".into()] }),
            expected_version: None,
        })
        .await
        .expect_err("bad slug");
    assert_eq!(violations(&invalid), ["organization.slug"]);

    let stale = orgs
        .delete_organization(pb::DeleteOrganizationRequest {
            organization_id: acme.id.clone(),
            expected_version: Some(1),
        })
        .await
        .expect_err("stale delete");
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason(&stale), "version_mismatch");
    orgs.delete_organization(pb::DeleteOrganizationRequest {
        organization_id: acme.id.clone(),
        expected_version: Some(2),
    })
    .await
    .expect("delete");
    let gone = orgs
        .get_organization(pb::GetOrganizationRequest { organization_id: acme.id.clone() })
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn the_seat_limit_is_failed_precondition_with_the_limit() {
    let server = TestServer::start().await;
    let org = server
        .orgs()
        .create_organization(pb::CreateOrganizationRequest {
            slug: "tiny".into(),
            name: "Tiny".into(),
            seat_limit: Some(1),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let mut users = server.users();
    crate::support::create_user(&mut users, &org, "one@example.com").await;
    let status = users
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            email: "two@example.com".into(),
            name: Some("Two".into()),
            ..Default::default()
        })
        .await
        .expect_err("seat limit");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "seat_limit_reached");
    let info = tonic_types::StatusExt::get_details_error_info(&status).expect("error info");
    assert_eq!(info.metadata.get("limit").map(String::as_str), Some("1"));
}

#[tokio::test]
async fn the_default_login_url_is_set_read_and_cleared() {
    let server = TestServer::start().await;
    let mut orgs = server.orgs();
    let org = orgs
        .create_organization(pb::CreateOrganizationRequest {
            slug: "acme".into(),
            name: "Acme".into(),
            default_login_url: Some("https://acme.example/login".into()),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    assert_eq!(org.default_login_url.as_deref(), Some("https://acme.example/login"));

    let bad = orgs
        .update_organization(pb::UpdateOrganizationRequest {
            organization_id: org.id.clone(),
            organization: Some(pb::OrganizationPatch {
                default_login_url: Some("ftp://acme.example".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("not an http(s) url");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(violations(&bad), ["organization.default_login_url"]);

    let cleared = orgs
        .update_organization(pb::UpdateOrganizationRequest {
            organization_id: org.id.clone(),
            update_mask: Some(FieldMask { paths: vec!["default_login_url".into()] }),
            ..Default::default()
        })
        .await
        .expect("clear")
        .into_inner();
    assert_eq!(cleared.default_login_url, None);
    assert_eq!(cleared.version, org.version + 1);
}
