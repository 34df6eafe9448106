//! Organizations and roles: insert, read, list, update, delete, slug uniqueness.

use std::collections::HashSet;

use chrono::Duration;
use roster_domain::error::{StoreError, Unique};
use roster_domain::ids::{OrgId, RoleId};
use roster_domain::organization::OrgStatus;
use roster_domain::role::Role;
use roster_domain::values::{Description, DomainName, HttpUrl, OrgName, Slug};

use crate::fixtures::{
    Store, at, create_org, custom_role, delete_org, insert_org, insert_users, new_org, new_user, org_id, update_org,
};

fn sorted_roles(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort_by_key(|r| r.id);
    roles
}

/// Asserts `actual` holds exactly `expected` (any order within a group) with every
/// built-in role before every custom one.
#[track_caller]
fn assert_roles(actual: &[Role], expected: &[Role]) {
    assert_eq!(sorted_roles(actual.to_vec()), sorted_roles(expected.to_vec()), "the organization's roles");
    let first_custom = actual.iter().position(|r| !r.builtin).unwrap_or(actual.len());
    assert!(actual[first_custom..].iter().all(|r| !r.builtin), "built-in roles come first: {actual:#?}");
}

/// Every field of an organization, optional ones set, reads back unchanged (timestamps
/// to the microsecond, the largest seat limit, a parent organization).
pub async fn organization_round_trips_every_field(store: Store) {
    let parent = create_org(&store, "parent").await;
    let mut child = new_org("child-org");
    let org = &mut child.org;
    org.name = OrgName::parse("Ünïcödé Org — \"quoted\" 'name'").unwrap();
    org.domain = Some(DomainName::parse_normalized("child.example.com").unwrap());
    org.description = Some(Description::parse("Line one; line two % _ \\ ' \" ünïcödé").unwrap());
    org.logo_url = Some(HttpUrl::parse("https://cdn.example.com/logo.png?size=64&x=%20").unwrap());
    org.icon_url = Some(HttpUrl::parse("http://cdn.example.com/icon.ico").unwrap());
    org.parent_id = Some(parent.id());
    org.seat_limit = Some(u32::MAX);
    org.default_role_id = child.roles[0].id;
    org.invitation_ttl = Duration::seconds(90 * 24 * 3600);
    org.default_login_url = Some(HttpUrl::parse("https://child.example.com/login?next=%2F&x=1").unwrap());
    org.created_by = "api_key:0190c8b4-0000-7000-8000-000000000001".to_owned();
    org.modified_by = "operator".to_owned();
    org.created_at = at("2024-02-29T23:59:59.123456Z");
    org.updated_at = at("2024-03-01T00:00:00.000001Z");
    org.version = 7;
    child.roles.push(custom_role(child.id(), "billing-admin"));
    insert_org(&store, &child).await;

    assert_eq!(store.get_organization(child.id()).await.unwrap(), Some(child.org.clone()));
    assert_eq!(store.get_organization(parent.id()).await.unwrap(), Some(parent.org.clone()));
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.organization_for_update(child.id()).await.unwrap(), Some(child.org.clone()));
    assert_roles(&tx.roles_of(child.id()).await.unwrap(), &child.roles);
    drop(tx);
    assert_roles(&store.list_roles(child.id()).await.unwrap(), &child.roles);
}

/// An organization with every optional field empty and a zero seat limit reads back with
/// them empty (not defaults).
pub async fn organization_round_trips_empty_optional_fields(store: Store) {
    let mut fixture = new_org("bare");
    fixture.org.seat_limit = Some(0);
    fixture.org.invitation_ttl = Duration::seconds(60);
    insert_org(&store, &fixture).await;
    let read = store.get_organization(fixture.id()).await.unwrap().expect("organization is found");
    assert_eq!(read, fixture.org);
    assert_eq!(read.seat_limit, Some(0));

    let unlimited = create_org(&store, "unlimited").await;
    assert_eq!(store.get_organization(unlimited.id()).await.unwrap().unwrap().seat_limit, None);
}

/// Unknown ids read as nothing, not as an error.
pub async fn unknown_organization_reads_as_none(store: Store) {
    create_org(&store, "acme").await;
    let unknown = org_id();
    assert_eq!(store.get_organization(unknown).await.unwrap(), None);
    assert!(store.list_roles(unknown).await.unwrap().is_empty());
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.organization_for_update(unknown).await.unwrap(), None);
    assert!(tx.roles_of(unknown).await.unwrap().is_empty());
}

/// A second organization with a taken slug is `Duplicate(OrganizationSlug)`, and the
/// failed insert leaves nothing behind.
pub async fn duplicate_slug_on_insert_is_organization_slug_duplicate(store: Store) {
    let first = create_org(&store, "acme").await;
    let second = new_org("acme");
    let mut tx = store.begin().await.unwrap();
    let err = tx.insert_organization(&second.org, &second.roles).await.expect_err("the slug is taken");
    assert!(matches!(err, StoreError::Duplicate(Unique::OrganizationSlug)), "got {err:?}");
    drop(tx);
    assert_eq!(store.get_organization(second.id()).await.unwrap(), None);
    assert_eq!(store.get_organization(first.id()).await.unwrap(), Some(first.org));
}

/// Renaming an organization to a taken slug is `Duplicate(OrganizationSlug)`.
pub async fn duplicate_slug_on_update_is_organization_slug_duplicate(store: Store) {
    create_org(&store, "acme").await;
    let other = create_org(&store, "globex").await;
    let mut renamed = other.org.clone();
    renamed.slug = Slug::parse("acme").unwrap();
    renamed.version += 1;
    let mut tx = store.begin().await.unwrap();
    tx.organization_for_update(other.id()).await.unwrap().expect("organization exists");
    let err = tx.update_organization(&renamed).await.expect_err("the slug is taken");
    assert!(matches!(err, StoreError::Duplicate(Unique::OrganizationSlug)), "got {err:?}");
    drop(tx);
    assert_eq!(store.get_organization(other.id()).await.unwrap(), Some(other.org));
}

/// An update overwrites every field (optional ones set and cleared) and keeps the roles.
pub async fn updated_organization_reads_back_changed(store: Store) {
    let parent = create_org(&store, "partner").await;
    let mut fixture = new_org("acme");
    fixture.org.domain = Some(DomainName::parse_normalized("acme.com").unwrap());
    fixture.org.description = Some(Description::parse("old").unwrap());
    fixture.org.seat_limit = Some(5);
    insert_org(&store, &fixture).await;

    let mut org = fixture.org.clone();
    org.slug = Slug::parse("acme-renamed").unwrap();
    org.name = OrgName::parse("Acme Renamed").unwrap();
    org.domain = None;
    org.description = None;
    org.logo_url = Some(HttpUrl::parse("https://acme.com/logo.svg").unwrap());
    org.icon_url = Some(HttpUrl::parse("https://acme.com/icon.svg").unwrap());
    org.parent_id = Some(parent.id());
    org.seat_limit = None;
    org.default_role_id = fixture.admin();
    org.invitation_ttl = Duration::seconds(3600);
    org.default_login_url = Some(HttpUrl::parse("https://acme.com/sign-in").unwrap());
    org.modified_by = "api_key:someone-else".to_owned();
    org.updated_at = at("2030-01-02T03:04:05.678901Z");
    org.version = 2;
    update_org(&store, &org).await;

    assert_eq!(store.get_organization(org.id).await.unwrap(), Some(org.clone()));
    assert_roles(&store.list_roles(org.id).await.unwrap(), &fixture.roles);
    let listed = store.list_organizations(None, None, 100).await.unwrap();
    assert!(listed.contains(&org), "the list shows the updated row");
    // The old slug is free again.
    create_org(&store, "acme").await;
}

/// A deleted organization disappears from every read, and its slug can be used again.
pub async fn deleted_organization_frees_slug_and_disappears(store: Store) {
    let doomed = create_org(&store, "acme").await;
    let survivor = create_org(&store, "globex").await;
    let user = new_user(&doomed, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&user)).await;
    delete_org(&store, &doomed).await;

    assert_eq!(store.get_organization(doomed.id()).await.unwrap(), None);
    let listed: Vec<OrgId> = store.list_organizations(None, None, 100).await.unwrap().iter().map(|o| o.id).collect();
    assert_eq!(listed, vec![survivor.id()]);
    assert!(store.list_roles(doomed.id()).await.unwrap().is_empty(), "roles of a deleted organization");
    assert_eq!(store.get_user(doomed.id(), user.id).await.unwrap(), None, "users of a deleted organization");
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.organization_for_update(doomed.id()).await.unwrap(), None);
    drop(tx);

    let reborn = create_org(&store, "acme").await;
    assert_eq!(store.get_organization(reborn.id()).await.unwrap(), Some(reborn.org));
}

/// `list_organizations` is keyset-paginated by id: walking it with a small limit yields
/// every live organization once, in id order.
pub async fn organizations_list_in_id_order_with_keyset_pages(store: Store) {
    let mut expected = Vec::new();
    // Inserted in reverse id order, so insertion order cannot pass for id order.
    let mut fixtures: Vec<_> = (0..7).map(|i| new_org(&format!("org-{i}"))).collect();
    fixtures.reverse();
    for fixture in &fixtures {
        insert_org(&store, fixture).await;
        expected.push(fixture.org.clone());
    }
    let deleted = create_org(&store, "deleted-org").await;
    delete_org(&store, &deleted).await;
    expected.sort_by_key(|o| o.id);

    assert_eq!(store.list_organizations(None, None, 100).await.unwrap(), expected);
    assert_eq!(store.list_organizations(None, None, 3).await.unwrap(), expected[..3].to_vec());
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_organizations(None, after, 2).await.unwrap();
        assert!(page.len() <= 2);
        after = page.last().map(|o| o.id);
        let done = page.len() < 2;
        walked.extend(page);
        if done {
            break;
        }
        assert!(walked.len() <= expected.len(), "pagination runs past the end");
    }
    assert_eq!(walked, expected);
    assert!(store.list_organizations(None, Some(expected[6].id), 10).await.unwrap().is_empty());
}

/// Roles: built-ins first, every field kept, and only the organization's own.
pub async fn roles_are_listed_per_organization_builtins_first(store: Store) {
    let mut acme = new_org("acme");
    // A custom role whose id sorts before the built-ins must still come after them.
    let mut early = custom_role(acme.id(), "auditor");
    early.id = RoleId::from_uuid(uuid::Uuid::from_u128(1));
    acme.roles.insert(0, early);
    acme.roles.push(custom_role(acme.id(), "billing"));
    insert_org(&store, &acme).await;
    let globex = create_org(&store, "globex").await;

    let listed = store.list_roles(acme.id()).await.unwrap();
    assert_roles(&listed, &acme.roles);
    assert_eq!(listed.iter().filter(|r| r.builtin).count(), 3);
    let keys: HashSet<&str> = listed.iter().filter(|r| r.builtin).map(|r| r.key.as_str()).collect();
    assert_eq!(keys, HashSet::from(["owner", "admin", "member"]));
    assert_roles(&store.list_roles(globex.id()).await.unwrap(), &globex.roles);

    let mut tx = store.begin().await.unwrap();
    assert_roles(&tx.roles_of(acme.id()).await.unwrap(), &acme.roles);
    assert_roles(&tx.roles_of(globex.id()).await.unwrap(), &globex.roles);
}

/// The status field round-trips, and an organization read for update in a transaction
/// that is then dropped stays as it was.
pub async fn organization_status_and_version_round_trip(store: Store) {
    let fixture = create_org(&store, "acme").await;
    let read = store.get_organization(fixture.id()).await.unwrap().unwrap();
    assert_eq!(read.status, OrgStatus::Active);
    assert_eq!(read.version, 1);

    let mut changed = fixture.org.clone();
    changed.version = 2;
    changed.name = OrgName::parse("Changed").unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.organization_for_update(fixture.id()).await.unwrap().unwrap();
    tx.update_organization(&changed).await.unwrap();
    drop(tx);
    assert_eq!(store.get_organization(fixture.id()).await.unwrap(), Some(fixture.org));
}

/// The default login URL round-trips through insert and update: set, changed and cleared.
pub async fn default_login_url_round_trips_through_insert_and_update(store: Store) {
    let mut fixture = new_org("acme");
    fixture.org.default_login_url = Some(HttpUrl::parse("https://acme.example/login").unwrap());
    insert_org(&store, &fixture).await;
    let bare = create_org(&store, "bare").await;
    assert_eq!(store.get_organization(fixture.id()).await.unwrap(), Some(fixture.org.clone()));
    assert_eq!(store.get_organization(bare.id()).await.unwrap().unwrap().default_login_url, None);

    let mut org = fixture.org.clone();
    for (version, url) in [(2, Some("http://intranet.acme.example:8080/sso?tenant=acme")), (3, None)] {
        org.default_login_url = url.map(|u| HttpUrl::parse(u).unwrap());
        org.version = version;
        update_org(&store, &org).await;
        assert_eq!(store.get_organization(org.id).await.unwrap(), Some(org.clone()), "version {version}");
    }
    let mut set = bare.org.clone();
    set.default_login_url = Some(HttpUrl::parse("https://bare.example/").unwrap());
    set.version = 2;
    update_org(&store, &set).await;
    assert_eq!(store.get_organization(set.id).await.unwrap(), Some(set));
}
