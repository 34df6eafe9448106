//! `list_users`: every filter, every sort, keyset continuation.

use std::collections::HashSet;

use roster_domain::ids::UserId;
use roster_domain::user::{User, UserCursor, UserFilter, UserQuery, UserSort, UserStatus};
use roster_domain::values::{Email, Tag};

use crate::fixtures::{
    OrgFixture, Store, assert_same_user, create_org, custom_role, delete_users, expected_order, ids, insert_org,
    insert_users, list, list_ids, new_org, new_user, tags, walk_pages,
};

const ALL_SORTS: [UserSort; 6] = [
    UserSort::CreatedAsc,
    UserSort::CreatedDesc,
    UserSort::EmailAsc,
    UserSort::EmailDesc,
    UserSort::NameAsc,
    UserSort::NameDesc,
];

/// A varied population: names that tie, differ only by case or are non-ASCII, emails
/// whose spelling and normalised order differ, every live status, tags and roles. Users
/// are inserted in an order unrelated to their ids, plus one deleted user and one user of
/// another organization that must never be listed.
struct Population {
    org: OrgFixture,
    /// The live users of `org`, in id (creation) order.
    live: Vec<User>,
    /// A custom role some users hold.
    support: roster_domain::ids::RoleId,
}

async fn population(store: &Store) -> Population {
    let mut org = new_org("acme");
    org.roles.push(custom_role(org.id(), "support"));
    insert_org(store, &org).await;
    let support = org.roles[3].id;
    let specs: [(&str, &str, &str, UserStatus, &[&str]); 14] = [
        ("zed@example.com", "zed", "Ada", UserStatus::Active, &["vip"]),
        ("Bob@Example.com", "bob", "bob", UserStatus::Invited, &[]),
        ("alice@example.com", "alice", "Ada", UserStatus::Active, &["vip", "beta"]),
        ("CAROL@example.com", "carol", "Émile", UserStatus::Suspended, &["beta"]),
        ("dave@example.org", "dave", "Bob", UserStatus::Active, &[]),
        ("erin@example.com", "erin", "ada", UserStatus::Active, &["vip"]),
        ("Frank@example.com", "frank", "Zoë", UserStatus::Invited, &["beta"]),
        ("grace@example.net", "grace", "Ada", UserStatus::Suspended, &[]),
        ("heidi@example.com", "heidi", "Charles Babbage", UserStatus::Active, &["vip", "beta"]),
        ("ivan@example.com", "ivan", "Ada Lovelace", UserStatus::Active, &[]),
        ("a@example.com", "a-short", "Bob", UserStatus::Active, &["vip"]),
        ("judy@example.com", "judy", "ÉMILE", UserStatus::Invited, &[]),
        ("mallory@example.com", "mallory", "Ada", UserStatus::Active, &["beta"]),
        ("Zed@Example.org", "zed2", "zoe", UserStatus::Active, &[]),
    ];
    let mut live = Vec::new();
    for (i, (email, username, name, status, user_tags)) in specs.into_iter().enumerate() {
        let mut user = new_user(&org, email, username, name);
        user.status = status;
        user.tags = tags(user_tags);
        if i % 3 == 0 {
            user.role_ids = vec![org.admin()];
        }
        if i % 4 == 1 {
            user.role_ids.push(support);
            user.role_ids.sort();
        }
        user.created_at += chrono::Duration::seconds(i64::try_from(i).unwrap());
        user.updated_at = user.created_at;
        live.push(user);
    }
    // Insert in an order unrelated to ids: odd positions first, then even ones reversed.
    let mut order: Vec<User> = live.iter().skip(1).step_by(2).cloned().collect();
    order.extend(live.iter().step_by(2).rev().cloned());
    insert_users(store, &order).await;

    let deleted = new_user(&org, "deleted@example.com", "deleted", "Ada Deleted");
    insert_users(store, std::slice::from_ref(&deleted)).await;
    delete_users(store, org.id(), &[deleted.id]).await;
    let other = create_org(store, "globex").await;
    insert_users(store, &[new_user(&other, "alice@example.com", "alice", "Ada")]).await;

    live.sort_by_key(|u| u.id);
    Population { org, live, support }
}

/// Which users a filter should list.
type Predicate = Box<dyn Fn(&User) -> bool>;

fn matching(live: &[User], pred: impl Fn(&User) -> bool) -> Vec<UserId> {
    live.iter().filter(|u| pred(u)).map(|u| u.id).collect()
}

/// With no filter, the default order is creation (id) order and every live user is
/// listed with every field intact.
pub async fn list_users_returns_live_users_in_creation_order(store: Store) {
    let p = population(&store).await;
    let listed = list(&store, p.org.id(), UserFilter::default(), UserSort::CreatedAsc, 200).await;
    assert_eq!(ids(&listed), ids(&p.live));
    for (actual, expected) in listed.iter().zip(&p.live) {
        assert_same_user(actual, expected);
    }
}

/// `limit` caps the rows returned, taking the first ones in order.
pub async fn list_users_respects_the_limit(store: Store) {
    let p = population(&store).await;
    for limit in [1, 2, 5, 14, 15] {
        let listed = list(&store, p.org.id(), UserFilter::default(), UserSort::EmailAsc, limit).await;
        let expected = expected_order(&p.live, UserSort::EmailAsc);
        let n = (limit as usize).min(expected.len());
        assert_eq!(ids(&listed), ids(&expected[..n]), "limit {limit}");
    }
}

/// The email filter matches exactly one user, whatever the case of filter or stored
/// address, and never a substring.
pub async fn email_filter_is_exact_and_case_insensitive(store: Store) {
    let p = population(&store).await;
    let by_email = |raw: &str| UserFilter { email: Some(Email::parse(raw).unwrap()), ..Default::default() };
    let bob = p.live.iter().find(|u| u.username.as_str() == "bob").unwrap().id;
    let carol = p.live.iter().find(|u| u.username.as_str() == "carol").unwrap().id;
    assert_eq!(list_ids(&store, p.org.id(), by_email("bob@example.com")).await, vec![bob]);
    assert_eq!(list_ids(&store, p.org.id(), by_email("BOB@EXAMPLE.COM")).await, vec![bob]);
    assert_eq!(list_ids(&store, p.org.id(), by_email("Carol@Example.Com")).await, vec![carol]);
    assert_eq!(list_ids(&store, p.org.id(), by_email("ob@example.com")).await, Vec::<UserId>::new());
    assert_eq!(list_ids(&store, p.org.id(), by_email("deleted@example.com")).await, Vec::<UserId>::new());
}

/// `q` is a case-insensitive substring of the name, the email or the username.
pub async fn q_matches_name_email_or_username_ignoring_case(store: Store) {
    let p = population(&store).await;
    let q = |text: &str| UserFilter { q: Some(text.to_owned()), ..Default::default() };
    let cases: [(&str, Predicate); 8] = [
        // In names (several case variants) only.
        ("ADA", Box::new(|u: &User| u.name.as_str().to_lowercase().contains("ada"))),
        ("lovelace", Box::new(|u: &User| u.name.as_str() == "Ada Lovelace")),
        // Non-ASCII case folding: "Émile" and "ÉMILE".
        ("émile", Box::new(|u: &User| u.name.as_str().to_lowercase() == "émile")),
        ("ÉMI", Box::new(|u: &User| u.name.as_str().to_lowercase() == "émile")),
        // In emails (stored with capitals) only.
        ("EXAMPLE.ORG", Box::new(|u: &User| u.email.normalized().ends_with("example.org"))),
        ("carol@", Box::new(|u: &User| u.username.as_str() == "carol")),
        // In usernames only.
        ("A-SHO", Box::new(|u: &User| u.username.as_str() == "a-short")),
        ("nobody-has-this", Box::new(|_: &User| false)),
    ];
    for (text, pred) in cases {
        assert_eq!(list_ids(&store, p.org.id(), q(text)).await, matching(&p.live, pred), "q = {text:?}");
    }
}

/// `%`, `_` and `\` in `q` are literal characters, not wildcards.
pub async fn q_treats_percent_underscore_and_backslash_literally(store: Store) {
    let org = create_org(&store, "acme").await;
    let users = [
        new_user(&org, "p1@example.com", "p1", "100% Done"),
        new_user(&org, "p2@example.com", "p2", "1000 Done"),
        new_user(&org, "p3@example.com", "p3", "a_b"),
        new_user(&org, "p4@example.com", "p4", "axb"),
        new_user(&org, "p5@example.com", "p5", "back\\slash"),
        new_user(&org, "p6@example.com", "p6", "backslash"),
        new_user(&org, "under_score@example.com", "p7", "Plain"),
        new_user(&org, "underxscore@example.com", "p8", "Plain"),
    ];
    insert_users(&store, &users).await;
    let q = |text: &str| UserFilter { q: Some(text.to_owned()), ..Default::default() };
    let cases: [(&str, Vec<UserId>); 7] = [
        ("100%", vec![users[0].id]),
        ("%", vec![users[0].id]),
        ("a_b", vec![users[2].id]),
        ("k\\s", vec![users[4].id]),
        ("\\", vec![users[4].id]),
        ("under_", vec![users[6].id]),
        ("_", vec![users[2].id, users[6].id]),
    ];
    for (text, expected) in cases {
        assert_eq!(list_ids(&store, org.id(), q(text)).await, expected, "q = {text:?}");
    }
}

/// `q` matches within one field: text spanning the end of the name and the start of the
/// email (or username) matches nothing.
pub async fn q_does_not_match_across_fields(store: Store) {
    let org = create_org(&store, "acme").await;
    let ada = new_user(&org, "byron@example.com", "countess", "Ada Lovelace");
    insert_users(&store, std::slice::from_ref(&ada)).await;
    let q = |text: &str| UserFilter { q: Some(text.to_owned()), ..Default::default() };
    assert_eq!(list_ids(&store, org.id(), q("lovelace")).await, vec![ada.id]);
    for spanning in ["lovelace byron", "lace byr", "e b", ".com countess", "com c"] {
        assert_eq!(list_ids(&store, org.id(), q(spanning)).await, Vec::<UserId>::new(), "q = {spanning:?}");
    }
}

/// The status filter lists only users in that status.
pub async fn status_filter_lists_only_that_status(store: Store) {
    let p = population(&store).await;
    for status in [UserStatus::Invited, UserStatus::Active, UserStatus::Suspended] {
        let filter = UserFilter { status: Some(status), ..Default::default() };
        assert_eq!(list_ids(&store, p.org.id(), filter).await, matching(&p.live, |u| u.status == status), "{status:?}");
    }
}

/// The role filter lists holders of the role, whatever other roles they hold.
pub async fn role_filter_lists_holders_of_the_role(store: Store) {
    let p = population(&store).await;
    for role in [p.org.owner(), p.org.admin(), p.org.member(), p.support] {
        let filter = UserFilter { role_id: Some(role), ..Default::default() };
        assert_eq!(list_ids(&store, p.org.id(), filter).await, matching(&p.live, |u| u.role_ids.contains(&role)));
    }
    assert!(!matching(&p.live, |u| u.role_ids.len() > 1).is_empty(), "the population has multi-role users");
}

/// The tag filter lists users carrying the tag (exact tag, not a substring).
pub async fn tag_filter_lists_users_with_the_tag(store: Store) {
    let p = population(&store).await;
    for raw in ["vip", "beta", "VIP", "vi", "none"] {
        let tag = Tag::parse(raw).unwrap();
        let filter = UserFilter { tag: Some(tag.clone()), ..Default::default() };
        let expected = matching(&p.live, |u| u.tags.as_slice().contains(&tag));
        assert_eq!(list_ids(&store, p.org.id(), filter).await, expected, "tag {raw:?}");
    }
}

/// Filters combine with AND.
pub async fn filters_combine(store: Store) {
    let p = population(&store).await;
    let vip = Tag::parse("vip").unwrap();
    let filter = UserFilter {
        q: Some("ada".to_owned()),
        status: Some(UserStatus::Active),
        tag: Some(vip.clone()),
        role_id: Some(p.org.admin()),
        email: None,
    };
    let expected = matching(&p.live, |u| {
        u.name.as_str().to_lowercase().contains("ada")
            && u.status == UserStatus::Active
            && u.tags.as_slice().contains(&vip)
            && u.role_ids.contains(&p.org.admin())
    });
    assert!(!expected.is_empty(), "the combination matches someone");
    assert_eq!(list_ids(&store, p.org.id(), filter).await, expected);
    let zed = p.live.iter().find(|u| u.username.as_str() == "zed").unwrap();
    let filter = UserFilter { email: Some(zed.email.clone()), status: Some(UserStatus::Invited), ..Default::default() };
    assert_eq!(list_ids(&store, p.org.id(), filter).await, Vec::<UserId>::new());
}

/// Every sort orders by its key in byte order (emails by their normalised form), ties
/// broken by id, descending sorts being the exact reverse of ascending ones.
pub async fn every_sort_orders_by_key_then_id(store: Store) {
    let p = population(&store).await;
    for sort in ALL_SORTS {
        let listed = list(&store, p.org.id(), UserFilter::default(), sort, 200).await;
        assert_eq!(ids(&listed), ids(&expected_order(&p.live, sort)), "{sort:?}");
    }
}

/// Walking every page with a small limit and keyset cursors yields the full sorted list
/// exactly: no duplicates, no gaps, for every sort and page size.
pub async fn keyset_pages_concatenate_to_the_full_list_for_every_sort(store: Store) {
    let p = population(&store).await;
    for sort in ALL_SORTS {
        let expected = ids(&expected_order(&p.live, sort));
        for limit in [1, 2, 3, 5] {
            let walked = ids(&walk_pages(&store, p.org.id(), &UserFilter::default(), sort, limit).await);
            let unique: HashSet<_> = walked.iter().collect();
            assert_eq!(unique.len(), walked.len(), "duplicates with {sort:?} limit {limit}");
            assert_eq!(walked, expected, "{sort:?} limit {limit}");
        }
    }
}

/// Keyset pagination composes with filters.
pub async fn keyset_pages_respect_filters(store: Store) {
    let p = population(&store).await;
    let filters = [
        UserFilter { status: Some(UserStatus::Active), ..Default::default() },
        UserFilter { tag: Some(Tag::parse("beta").unwrap()), ..Default::default() },
        UserFilter { q: Some("ADA".to_owned()), ..Default::default() },
        UserFilter { role_id: Some(p.org.member()), ..Default::default() },
    ];
    for filter in filters {
        let all = list(&store, p.org.id(), filter.clone(), UserSort::CreatedAsc, 200).await;
        assert!(all.len() >= 3, "{filter:?} matches enough users to page");
        for sort in ALL_SORTS {
            let walked = walk_pages(&store, p.org.id(), &filter, sort, 2).await;
            assert_eq!(ids(&walked), ids(&expected_order(&all, sort)), "{sort:?} {filter:?}");
        }
    }
}

/// A cursor stays valid after its row is deleted: the next page starts right after where
/// the deleted row was.
pub async fn keyset_continues_after_the_cursor_row_is_deleted(store: Store) {
    let mut p = population(&store).await;
    for sort in [UserSort::NameAsc, UserSort::EmailDesc, UserSort::CreatedAsc] {
        let expected = expected_order(&p.live, sort);
        let first = list(&store, p.org.id(), UserFilter::default(), sort, 4).await;
        assert_eq!(ids(&first), ids(&expected[..4]), "{sort:?}");
        let last = first.last().unwrap();
        let cursor = UserCursor { key: sort.key_of(last), id: last.id };
        assert_eq!(delete_users(&store, p.org.id(), &[last.id]).await, vec![last.id]);
        p.live.retain(|u| u.id != last.id);
        let query = UserQuery { filter: UserFilter::default(), sort, after: Some(cursor), limit: 3 };
        let next = store.list_users(p.org.id(), &query).await.unwrap();
        assert_eq!(ids(&next), ids(&expected[4..7]), "{sort:?}");
    }
}

/// A cursor built from a key and id that no row has (a tie on the key with a higher id)
/// still positions the page correctly.
pub async fn keyset_cursor_positions_between_rows_with_equal_keys(store: Store) {
    let p = population(&store).await;
    let sort = UserSort::NameAsc;
    let expected = expected_order(&p.live, sort);
    // The users named exactly "Ada" (several), in id order.
    let adas: Vec<&User> = expected.iter().filter(|u| u.name.as_str() == "Ada").collect();
    assert!(adas.len() >= 3, "the population has several users named Ada");
    let cursor = UserCursor { key: "Ada".to_owned(), id: adas[0].id };
    let query = UserQuery { filter: UserFilter::default(), sort, after: Some(cursor), limit: 200 };
    let next = store.list_users(p.org.id(), &query).await.unwrap();
    let start = expected.iter().position(|u| u.id == adas[0].id).unwrap() + 1;
    assert_eq!(ids(&next), ids(&expected[start..]));
    // Past the last "Ada" by key alone: a key between "Ada" and the next name.
    let cursor = UserCursor { key: "Ada ".to_owned(), id: UserId::from_uuid(uuid::Uuid::nil()) };
    let query = UserQuery { filter: UserFilter::default(), sort, after: Some(cursor), limit: 200 };
    let next = store.list_users(p.org.id(), &query).await.unwrap();
    let start = expected.iter().position(|u| u.name.as_str() > "Ada ").unwrap();
    assert_eq!(ids(&next), ids(&expected[start..]));
}
