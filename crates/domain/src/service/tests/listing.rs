//! Lists: keyset pagination, cursors bound to their list and order, filters, and what a
//! caller may list (rule 10).

use super::support::{Tenant, invalid_fields, platform, roster, run};
use crate::error::{Error, Resource};
use crate::mocks::MockStorage;
use crate::page::PageSize;
use crate::user::{User, UserCursor, UserQuery, UserSort, UserStatus};
use crate::user_input::ListUsersInput;

fn users(tenant: &Tenant, n: usize) -> Vec<User> {
    (0..n).map(|i| tenant.user(&format!("user{i}@example.com"))).collect()
}

fn page_of(limit: i64) -> ListUsersInput {
    ListUsersInput { limit: Some(limit), ..Default::default() }
}

#[test]
fn listing_users_asks_for_one_more_row_than_the_default_page_size_of_50() {
    let tenant = Tenant::new("acme");
    let mut storage = tenant.storage();
    storage
        .expect_list_users()
        .withf(|_, q: &UserQuery| q.limit == 51 && q.after.is_none() && q.sort == UserSort::CreatedAsc)
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let page = run(roster(storage).list_users(&tenant.key(), tenant.id(), ListUsersInput::default())).unwrap();
    assert!(page.items.is_empty());
    assert!(page.next_cursor.is_none());
}

#[test]
fn next_cursor_is_present_only_when_more_rows_came_back_than_the_page_holds() {
    let tenant = Tenant::new("acme");
    let rows = users(&tenant, 3);
    let mut storage = tenant.storage();
    let (full, exact) = (rows.clone(), rows[..2].to_vec());
    storage.expect_list_users().withf(|_, q| q.limit == 3).times(1).returning(move |_, _| Ok(full.clone()));
    storage.expect_list_users().withf(|_, q| q.limit == 3).times(1).returning(move |_, _| Ok(exact.clone()));
    let roster = roster(storage);

    let more = run(roster.list_users(&tenant.key(), tenant.id(), page_of(2))).unwrap();
    assert_eq!(more.items, rows[..2]);
    assert!(more.next_cursor.is_some());

    let last = run(roster.list_users(&tenant.key(), tenant.id(), page_of(2))).unwrap();
    assert_eq!(last.items, rows[..2]);
    assert!(last.next_cursor.is_none());
}

#[test]
fn a_next_cursor_resumes_after_the_last_row_of_the_page_in_the_same_order() {
    let tenant = Tenant::new("acme");
    let mut rows = users(&tenant, 3);
    rows[1].email = crate::values::Email::parse("Zed@Example.com").unwrap();
    let mut storage = tenant.storage();
    let first = rows.clone();
    storage.expect_list_users().withf(|_, q| q.after.is_none()).times(1).returning(move |_, _| Ok(first.clone()));
    let expected = UserCursor { key: "zed@example.com".into(), id: rows[1].id };
    storage
        .expect_list_users()
        .withf(move |_, q| q.after.as_ref() == Some(&expected) && q.sort == UserSort::EmailAsc)
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let roster = roster(storage);

    let by_email = || ListUsersInput { sort: Some("email".into()), ..page_of(2) };
    let page = run(roster.list_users(&tenant.key(), tenant.id(), by_email())).unwrap();
    let cursor = page.next_cursor.unwrap().to_string();
    let next = ListUsersInput { cursor: Some(cursor), ..by_email() };
    let page = run(roster.list_users(&tenant.key(), tenant.id(), next)).unwrap();
    assert!(page.items.is_empty());
}

#[test]
fn a_cursor_from_another_sort_order_is_a_validation_error_on_cursor() {
    let tenant = Tenant::new("acme");
    let rows = users(&tenant, 2);
    let mut storage = tenant.storage();
    storage.expect_list_users().times(1).returning(move |_, _| Ok(rows.clone()));
    let roster = roster(storage);

    let page = ListUsersInput { sort: Some("email".into()), ..page_of(1) };
    let cursor = run(roster.list_users(&tenant.key(), tenant.id(), page)).unwrap().next_cursor.unwrap().to_string();
    for other_sort in ["-email", "name", "created_at"] {
        let input = ListUsersInput { sort: Some(other_sort.into()), cursor: Some(cursor.clone()), ..page_of(1) };
        let result = run(roster.list_users(&tenant.key(), tenant.id(), input));
        assert_eq!(invalid_fields(result), [("cursor".to_owned(), "invalid")], "accepted under {other_sort}");
    }
}

#[test]
fn a_malformed_cursor_is_a_validation_error_on_cursor_before_storage() {
    let tenant = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_get_organization().times(0);
    storage.expect_list_users().times(0);
    let input = ListUsersInput { cursor: Some("%%% not a cursor".into()), ..Default::default() };
    let result = run(roster(storage).list_users(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_fields(result), [("cursor".to_owned(), "invalid")]);
}

#[test]
fn list_filters_and_order_reach_storage_validated() {
    let tenant = Tenant::new("acme");
    let admin = tenant.role("admin");
    let mut storage = tenant.storage();
    storage
        .expect_list_users()
        .withf(move |_, q| {
            let f = &q.filter;
            f.email.as_ref().map(|e| e.normalized()) == Some("ada@example.com")
                && f.q.as_deref() == Some("love")
                && f.status == Some(UserStatus::Suspended)
                && f.role_id == Some(admin)
                && f.tag.as_ref().map(|t| t.as_str()) == Some("vip")
                && q.sort == UserSort::NameDesc
                && q.limit == 11
        })
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let input = ListUsersInput {
        limit: Some(10),
        email: Some(" ADA@example.com ".into()),
        q: Some("  love ".into()),
        status: Some("suspended".into()),
        role_id: Some(admin.to_string()),
        tag: Some("VIP".into()),
        sort: Some("-name".into()),
        cursor: None,
    };
    run(roster(storage).list_users(&tenant.key(), tenant.id(), input)).unwrap();
}

#[test]
fn bad_list_parameters_are_all_reported_before_storage() {
    let tenant = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_list_users().times(0);
    let input = ListUsersInput { limit: Some(0), sort: Some("age".into()), ..Default::default() };
    let fields: Vec<String> = invalid_fields(run(roster(storage).list_users(&tenant.key(), tenant.id(), input)))
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(fields, ["limit", "sort"]);
}

#[test]
fn listing_users_of_an_unknown_organization_is_not_found() {
    let tenant = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_get_organization().times(1).returning(|_| Ok(None));
    storage.expect_list_users().times(0);
    let result = run(roster(storage).list_users(&platform(), tenant.id(), ListUsersInput::default()));
    assert!(matches!(result, Err(Error::NotFound(Resource::Organization))));
}

#[test]
fn listing_organizations_with_a_service_key_returns_only_its_own_organization() {
    let tenant = Tenant::new("acme");
    let mut storage = tenant.storage();
    storage.expect_list_organizations().times(0);
    let page = run(roster(storage).list_organizations(&tenant.key(), PageSize::default(), None)).unwrap();
    assert_eq!(page.items, std::slice::from_ref(&tenant.org));
    assert!(page.next_cursor.is_none());
}

#[test]
fn listing_organizations_with_a_platform_key_pages_through_all_of_them() {
    let (a, b, c) = (Tenant::new("acme"), Tenant::new("globex"), Tenant::new("initech"));
    let mut storage = MockStorage::new();
    let all = vec![a.org.clone(), b.org.clone(), c.org.clone()];
    storage
        .expect_list_organizations()
        .withf(|within, after, limit| within.is_none() && after.is_none() && *limit == 3)
        .times(1)
        .returning(move |_, _, _| Ok(all.clone()));
    let (b_id, rest) = (b.id(), vec![c.org.clone()]);
    storage
        .expect_list_organizations()
        .withf(move |within, after, limit| within.is_none() && *after == Some(b_id) && *limit == 3)
        .times(1)
        .returning(move |_, _, _| Ok(rest.clone()));
    let roster = roster(storage);
    let size = PageSize::new(2).unwrap();

    let first = run(roster.list_organizations(&platform(), size, None)).unwrap();
    assert_eq!(first.items, [a.org.clone(), b.org.clone()]);
    let cursor = first.next_cursor.unwrap().to_string();
    let second = run(roster.list_organizations(&platform(), size, Some(&cursor))).unwrap();
    assert_eq!(second.items, std::slice::from_ref(&c.org));
    assert!(second.next_cursor.is_none());
}

#[test]
fn a_user_list_cursor_is_rejected_by_the_organization_list() {
    let tenant = Tenant::new("acme");
    let rows = users(&tenant, 2);
    let mut storage = tenant.storage();
    storage.expect_list_users().times(1).returning(move |_, _| Ok(rows.clone()));
    storage.expect_list_organizations().times(0);
    let roster = roster(storage);
    let cursor =
        run(roster.list_users(&tenant.key(), tenant.id(), page_of(1))).unwrap().next_cursor.unwrap().to_string();
    let result = run(roster.list_organizations(&platform(), PageSize::default(), Some(&cursor)));
    assert_eq!(invalid_fields(result), [("cursor".to_owned(), "invalid")]);
}
