//! `EXPLAIN` of every query whose cost grows with the data, on 100k users of one
//! organization (next to 20k of another and 5,000 small ones), with their roles, grants,
//! sessions, API keys, invitations, audit events and outbox messages: each must be served
//! by an index, never a sequential scan. The hot prepared statements are checked with their generic plan too,
//! the one PostgreSQL may settle on after a few executions.

use chrono::{Duration, Utc};
use roster_domain::audit::AuditQuery;
use roster_domain::ids::{ApiKeyId, AuditEventId, InvitationId, MessageId, OrgId, RoleId, SessionId, UserId};
use roster_domain::invitation::{InvitationQuery, InvitationStatus};
use roster_domain::ports::KeyOwnerFilter;
use roster_domain::user::{UserCursor, UserFilter, UserQuery, UserSort, UserStatus};
use roster_domain::values::{Email, Tag};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{Connection as _, Executor as _, PgConnection, Postgres, QueryBuilder, Row as _};
use uuid::Uuid;

use crate::{
    PostgresStorage, access, api_keys, audit, invitations, organizations, outbox, roles, sessions, testing, users,
};

/// What [`seed`] made of one organization.
struct Seeded {
    org: OrgId,
    /// Held by 1% of the users: the `role_id` filter's and the owner count's role.
    admin: RoleId,
}

/// Seeds `n` users (with role assignments, a fifth with grants, each with a session,
/// a fifth with a personal key, nearly a third with an invitation), `2n` audit events and
/// `2n` outbox messages (2% pending, a half of those claimed) into a new organization.
async fn seed(storage: &PostgresStorage, slug: &str, n: i32) -> Seeded {
    let org = Uuid::now_v7();
    let (admin, member) = (Uuid::now_v7(), Uuid::now_v7());
    let statements = [
        "INSERT INTO organizations (id, slug, name, default_role_id, invitation_ttl_seconds, status, created_by, \
         modified_by, created_at, updated_at, version, partner) \
         VALUES ($1, $4, 'Org', $3, 604800, 'active', 't', 't', now(), now(), 1, true)",
        "INSERT INTO roles (id, org_id, key, name, description, builtin, created_at, updated_at) VALUES \
         ($2, $1, 'admin', 'Admin', '', true, now(), now()), ($3, $1, 'member', 'Member', '', true, now(), now())",
        "INSERT INTO roles (id, org_id, key, name, description, builtin, permissions, created_at, updated_at) \
         SELECT gen_random_uuid(), $1, 'custom-' || i, 'Custom', '', false, ARRAY['projects.p' || i, 'reports.read'], \
             now(), now() \
         FROM generate_series(1, 200) AS i",
        "INSERT INTO users (id, org_id, email, email_normalized, username, name, tags, status, created_at, \
         updated_at, version) \
         SELECT gen_random_uuid(), $1, md5(i::text) || '@Example.com', md5(i::text) || '@example.com', 'u' || i, \
             initcap(substr(md5((i * 7)::text), 1, 8)) || ' ' || substr(md5((i * 13)::text), 1, 10), \
             CASE WHEN i % 10 = 0 THEN ARRAY['vip'] ELSE '{}' END, \
             CASE WHEN i % 20 = 0 THEN 'suspended' WHEN i % 20 = 1 THEN 'invited' \
                  WHEN i % 50 = 2 THEN 'deleted' ELSE 'active' END, now(), now(), 1 \
         FROM generate_series(1, $5) AS i",
        "INSERT INTO user_roles (org_id, user_id, role_id) \
         SELECT org_id, id, CASE WHEN random() < 0.01 THEN $2 ELSE $3 END FROM users WHERE org_id = $1",
        "INSERT INTO user_roles (org_id, user_id, role_id) \
         SELECT u.org_id, u.id, (SELECT r.id FROM roles r WHERE r.org_id = $1 AND NOT r.builtin \
             ORDER BY r.key OFFSET abs(hashtext(u.id::text)) % 20 LIMIT 1) \
         FROM users u WHERE u.org_id = $1 AND random() < 0.05",
        "UPDATE users u SET role_ids = ARRAY(SELECT ur.role_id FROM user_roles ur \
         WHERE ur.org_id = u.org_id AND ur.user_id = u.id ORDER BY ur.role_id) WHERE u.org_id = $1",
        "INSERT INTO user_permissions (id, org_id, user_id, permission, expires_at, created_by, created_at, \
         updated_at, version) \
         SELECT gen_random_uuid(), u.org_id, u.id, p.permission, \
             CASE WHEN p.permission = 'app.old' THEN now() - interval '1 day' END, 't', now(), now(), 1 \
         FROM users u CROSS JOIN (VALUES ('app.p1'), ('app.old')) AS p (permission) \
         WHERE u.org_id = $1 AND random() < 0.2",
        "INSERT INTO sessions (id, org_id, user_id, digest, client_ip, created_at, expires_at, revoked_at) \
         SELECT gen_random_uuid(), org_id, id, sha256(convert_to('s' || id::text, 'UTF8')), '192.0.2.1', now(), \
             now() + interval '1 day', CASE WHEN random() < 0.1 THEN now() END \
         FROM users WHERE org_id = $1",
        "INSERT INTO api_keys (id, org_id, user_id, name, prefix, digest, scope, created_by, created_at) \
         SELECT gen_random_uuid(), org_id, id, 'personal', 'rst_x', sha256(convert_to('k' || id::text, 'UTF8')), \
             ARRAY['users.read'], 't', now() \
         FROM users WHERE org_id = $1 AND random() < 0.2",
        "INSERT INTO api_keys (id, org_id, name, prefix, digest, created_by, created_at) \
         SELECT gen_random_uuid(), $1, 'service', 'rst_x', sha256(convert_to('k' || $1::text || i, 'UTF8')), 't', \
             now() \
         FROM generate_series(1, 500) AS i",
        "INSERT INTO audit_events (id, org_id, actor, action, target_type, target_id, request_id, occurred_at, \
         details) \
         SELECT gen_random_uuid(), $1, 'user:' || (i % 1000), 'thing.action' || (i % 20), 'user', 't' || (i % 50000), \
             'req-' || i, now() - make_interval(secs => i), '{\"name\": \"x\"}' \
         FROM generate_series(1, 2 * $5) AS i",
        "INSERT INTO invitations (id, org_id, user_id, status, digest, invited_by, expires_at, created_at, \
         updated_at, version) \
         SELECT gen_random_uuid(), org_id, id, \
             CASE WHEN random() < 0.7 THEN 'pending' WHEN random() < 0.5 THEN 'accepted' ELSE 'revoked' END, \
             sha256(convert_to('i' || id::text, 'UTF8')), 't', \
             now() + CASE WHEN random() < 0.5 THEN interval '1 day' ELSE interval '-1 day' END, now(), now(), 1 \
         FROM users WHERE org_id = $1 AND random() < 0.3",
        "INSERT INTO outbox_messages (id, org_id, recipient, template, params, status, attempts, next_attempt_at, \
         locked_until, created_at, sent_at) \
         SELECT gen_random_uuid(), $1, 'u' || i || '@example.com', 'invitation', NULL, \
             CASE WHEN i % 50 = 0 THEN 'pending' WHEN i % 97 = 0 THEN 'failed' ELSE 'sent' END, 1, \
             now() - make_interval(secs => i), CASE WHEN i % 100 = 0 THEN now() + interval '1 minute' END, \
             now() - make_interval(secs => i), CASE WHEN i % 50 <> 0 THEN now() END \
         FROM generate_series(1, 2 * $5) AS i",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(org)
            .bind(admin)
            .bind(member)
            .bind(slug)
            .bind(n)
            .execute(&storage.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    Seeded { org: OrgId::from_uuid(org), admin: RoleId::from_uuid(admin) }
}

/// Many small organizations with their built-in roles, a fifth of them children of
/// `partner`, so that neither table is small enough to scan.
async fn seed_small_organizations(storage: &PostgresStorage, partner: OrgId) {
    let statements = [
        "INSERT INTO organizations (id, slug, name, parent_id, default_role_id, invitation_ttl_seconds, status, \
         created_by, modified_by, created_at, updated_at, version) \
         SELECT gen_random_uuid(), 'small-' || i, 'Small', CASE WHEN i % 5 = 0 THEN $1 END, gen_random_uuid(), \
             604800, CASE WHEN i % 50 = 0 THEN 'deleted' ELSE 'active' END, 't', 't', now(), now(), 1 \
         FROM generate_series(1, 5000) AS i",
        "INSERT INTO roles (id, org_id, key, name, description, builtin, created_at, updated_at) \
         SELECT gen_random_uuid(), o.id, k.key, k.key, '', true, now(), now() \
         FROM organizations o CROSS JOIN (VALUES ('owner'), ('admin'), ('member')) AS k (key) \
         WHERE o.slug LIKE 'small-%'",
    ];
    for sql in statements {
        sqlx::query(sql).bind(partner.as_uuid()).execute(&storage.pool).await.unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
}

/// The plan of `query` (which starts with `EXPLAIN`).
async fn plan_of(conn: &mut PgConnection, query: Query<'_, Postgres, PgArguments>) -> String {
    let lines = query.fetch_all(conn).await.unwrap();
    lines.iter().map(|line| line.get::<String, _>(0)).collect::<Vec<_>>().join("\n")
}

/// Records the plans that scan a table sequentially.
#[derive(Default)]
struct Plans {
    failures: Vec<String>,
}

impl Plans {
    fn check(&mut self, label: impl Into<String>, plan: &str) {
        let label = label.into();
        eprintln!("== {label}\n{plan}\n");
        if plan.contains("Seq Scan") {
            self.failures.push(label);
        }
    }

    /// Checks a query built with a [`QueryBuilder`] by `build`.
    async fn built(
        &mut self,
        conn: &mut PgConnection,
        label: impl Into<String>,
        build: impl FnOnce(&mut QueryBuilder<'_, Postgres>),
    ) {
        let mut sql = QueryBuilder::new("EXPLAIN ");
        build(&mut sql);
        let plan = plan_of(conn, sql.build()).await;
        self.check(label, &plan);
    }
}

/// Some ids of `org`'s users, from the middle of the table.
async fn some_users(storage: &PostgresStorage, org: OrgId, n: i64) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT id FROM users WHERE org_id = $1 ORDER BY id OFFSET 50000 LIMIT $2")
        .bind(org.as_uuid())
        .bind(n)
        .fetch_all(&storage.pool)
        .await
        .unwrap()
}

/// An id from the middle of a table's rows of `org`, for keyset cursors.
async fn middle_id(storage: &PostgresStorage, table: &str, org: OrgId) -> Uuid {
    sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE org_id = $1 ORDER BY id OFFSET 10000 LIMIT 1"))
        .bind(org.as_uuid())
        .fetch_one(&storage.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_list_shape_uses_an_index() {
    let (storage, url) = testing::fresh_database_with_url().await;
    seed(&storage, "other", 20_000).await;
    let big = seed(&storage, "big", 100_000).await;
    seed_small_organizations(&storage, big.org).await;
    // As autovacuum leaves a table: statistics, and the visibility map that index-only
    // scans (of `user_roles`, say) rely on.
    sqlx::raw_sql("VACUUM ANALYZE").execute(&storage.pool).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let mut plans = Plans::default();
    list_users_shapes(&storage, &mut conn, &mut plans, &big).await;
    access_shapes(&storage, &mut conn, &mut plans, &big).await;
    listing_shapes(&storage, &mut conn, &mut plans, &big).await;
    // The hot statements again as the pipelined connections may come to run them.
    conn.execute("SET plan_cache_mode = force_generic_plan").await.unwrap();
    access_shapes(&storage, &mut conn, &mut plans, &big).await;
    conn.close().await.unwrap();
    storage.pool().close().await;
    testing::drop_database(&url).await;
    assert!(plans.failures.is_empty(), "sequential scans in: {:?}", plans.failures);
}

async fn list_users_shapes(storage: &PostgresStorage, conn: &mut PgConnection, plans: &mut Plans, big: &Seeded) {
    let org = big.org;
    let (key, id): (String, Uuid) = sqlx::query_as(
        "SELECT email_normalized, id FROM users WHERE org_id = $1 AND status <> 'deleted' \
         ORDER BY email_normalized COLLATE \"C\" OFFSET 50000 LIMIT 1",
    )
    .bind(org.as_uuid())
    .fetch_one(&storage.pool)
    .await
    .unwrap();
    let cursor = UserCursor { key, id: UserId::from_uuid(id) };
    let (name, name_id): (String, Uuid) = sqlx::query_as(
        "SELECT name, id FROM users WHERE org_id = $1 AND status <> 'deleted' \
         ORDER BY name COLLATE \"C\" OFFSET 50000 LIMIT 1",
    )
    .bind(org.as_uuid())
    .fetch_one(&storage.pool)
    .await
    .unwrap();
    let name_cursor = UserCursor { key: name, id: UserId::from_uuid(name_id) };

    let plain = |sort, after| UserQuery { filter: UserFilter::default(), sort, after, limit: 51 };
    let filtered = |filter, sort| UserQuery { filter, sort, after: None, limit: 51 };
    let mut shapes = Vec::new();
    for sort in [UserSort::CreatedAsc, UserSort::CreatedDesc, UserSort::EmailAsc, UserSort::EmailDesc] {
        shapes.push((format!("{sort:?}, first page"), plain(sort, None)));
        shapes.push((format!("{sort:?}, middle page"), plain(sort, Some(cursor.clone()))));
    }
    for sort in [UserSort::NameAsc, UserSort::NameDesc] {
        shapes.push((format!("{sort:?}, first page"), plain(sort, None)));
        shapes.push((format!("{sort:?}, middle page"), plain(sort, Some(name_cursor.clone()))));
    }
    let status = |s| UserFilter { status: Some(s), ..UserFilter::default() };
    for sort in [UserSort::CreatedAsc, UserSort::NameAsc, UserSort::EmailDesc] {
        shapes.push((format!("status=suspended, {sort:?}"), filtered(status(UserStatus::Suspended), sort)));
        shapes.push((format!("status=active, {sort:?}"), filtered(status(UserStatus::Active), sort)));
    }
    let email = UserFilter {
        email: Some(Email::parse("C4CA4238A0B923820DCC509A6F75849B@example.com").unwrap()),
        ..UserFilter::default()
    };
    shapes.push(("email filter".into(), filtered(email, UserSort::CreatedAsc)));
    let q = UserFilter { q: Some("a1b2".into()), ..UserFilter::default() };
    shapes.push(("q=a1b2, CreatedAsc".into(), filtered(q.clone(), UserSort::CreatedAsc)));
    shapes.push(("q=a1b2, NameAsc".into(), filtered(q, UserSort::NameAsc)));
    let tag = UserFilter { tag: Some(Tag::parse("vip").unwrap()), ..UserFilter::default() };
    shapes.push(("tag=vip, CreatedAsc".into(), filtered(tag, UserSort::CreatedAsc)));
    let role = UserFilter { role_id: Some(big.admin), ..UserFilter::default() };
    shapes.push(("role=admin, CreatedAsc".into(), filtered(role, UserSort::CreatedAsc)));

    for (label, query) in &shapes {
        plans.built(conn, format!("list_users: {label}"), |sql| users::push_list_users(sql, org, query)).await;
    }
}

/// The statements authentication and permission checks run, prepared as the pipelined
/// connections prepare them, and the other prepared statements run often (the invitation
/// look-up by token, the mail worker's claim), explained with the connection's
/// `plan_cache_mode`: [`every_list_shape_uses_an_index`] checks them with custom and with
/// generic plans. Besides sequential scans, a merge join is flagged: a hot read of one
/// row must not walk a whole index.
async fn access_shapes(storage: &PostgresStorage, conn: &mut PgConnection, plans: &mut Plans, big: &Seeded) {
    let mode: String = sqlx::query_scalar("SHOW plan_cache_mode").fetch_one(&mut *conn).await.unwrap();
    let ids = some_users(storage, big.org, 10).await;
    let digest: Vec<u8> =
        sqlx::query_scalar("SELECT digest FROM sessions OFFSET 5000 LIMIT 1").fetch_one(&storage.pool).await.unwrap();
    let digest: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let invitation: Vec<u8> = sqlx::query_scalar("SELECT digest FROM invitations OFFSET 5000 LIMIT 1")
        .fetch_one(&storage.pool)
        .await
        .unwrap();
    let invitation: String = invitation.iter().map(|b| format!("{b:02x}")).collect();
    let until = (Utc::now() + Duration::minutes(5)).to_rfc3339();
    let org = big.org.as_uuid();
    let now = Utc::now().to_rfc3339();
    let list = |ids: &[Uuid]| ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",");
    let shapes = [
        (
            "user_access of 10 users",
            access::USER_ACCESS,
            "uuid, uuid[], timestamptz",
            format!("'{org}', '{{{}}}', '{now}'", list(&ids)),
        ),
        (
            "user_access of one user",
            access::USER_ACCESS,
            "uuid, uuid[], timestamptz",
            format!("'{org}', '{{{}}}', '{now}'", list(&ids[..1])),
        ),
        ("find_session", sessions::FIND, "bytea", format!("'\\x{digest}'")),
        ("find_api_key", api_keys::FIND, "bytea", format!("'\\x{digest}'")),
        ("find_invitation", invitations::FIND, "bytea", format!("'\\x{invitation}'")),
        ("claim_due_messages", outbox::CLAIM, "timestamptz, timestamptz, bigint", format!("'{now}', '{until}', 10")),
        (
            "mark_sent of 10 claims",
            outbox::MARK_SENT,
            "uuid[], int4[], timestamptz, text, boolean",
            format!("'{{{}}}', '{{{}}}', '{now}', 'smtp', true", list(&ids), ["1"; 10].join(",")),
        ),
    ];
    for (i, (label, sql, types, args)) in shapes.iter().enumerate() {
        let name = format!("hot_{mode}_{i}");
        conn.execute(&*format!("PREPARE {name} ({types}) AS {sql}")).await.unwrap();
        let plan = plan_of(conn, sqlx::query(&format!("EXPLAIN EXECUTE {name} ({args})"))).await;
        let label = format!("{label} ({mode})");
        if plan.contains("Merge") {
            plans.failures.push(format!("{label}: merge join"));
        }
        plans.check(label, &plan);
    }
}

async fn listing_shapes(storage: &PostgresStorage, conn: &mut PgConnection, plans: &mut Plans, big: &Seeded) {
    let org = big.org;
    let user = UserId::from_uuid(some_users(storage, org, 1).await[0]);
    let now = Utc::now();

    let event = AuditEventId::from_uuid(middle_id(storage, "audit_events", org).await);
    let base = AuditQuery { limit: 51, ..AuditQuery::default() };
    let audit_shapes = [
        ("no filter", base.clone()),
        ("middle page", AuditQuery { before: Some(event), ..base.clone() }),
        ("actor", AuditQuery { actor: Some("user:7".into()), ..base.clone() }),
        ("actor, middle page", AuditQuery { actor: Some("user:7".into()), before: Some(event), ..base.clone() }),
        ("action", AuditQuery { action: Some("thing.action3".into()), ..base.clone() }),
        ("target_id", AuditQuery { target_id: Some("t4242".into()), ..base.clone() }),
        (
            "since and until",
            AuditQuery { since: Some(now - Duration::days(1)), until: Some(now - Duration::hours(1)), ..base.clone() },
        ),
        ("action and since", AuditQuery { action: Some("thing.action3".into()), since: Some(now), ..base.clone() }),
    ];
    for (label, query) in &audit_shapes {
        plans
            .built(conn, format!("list_audit_events: {label}"), |sql| audit::push_list_audit_events(sql, org, query))
            .await;
    }

    let session = SessionId::from_uuid(middle_id(storage, "sessions", org).await);
    for (label, after) in [("first page", None), ("middle page", Some(session))] {
        plans
            .built(conn, format!("list_sessions: {label}"), |sql| sessions::push_list(sql, org, user, now, after, 51))
            .await;
    }

    let key = ApiKeyId::from_uuid(middle_id(storage, "api_keys", org).await);
    for (label, owner) in [("a user's", KeyOwnerFilter::User(user)), ("service", KeyOwnerFilter::Service)] {
        for (page, after) in [("first page", None), ("middle page", Some(key))] {
            plans
                .built(conn, format!("list_api_keys: {label}, {page}"), |sql| {
                    api_keys::push_list_api_keys(sql, org, owner, after, 51);
                })
                .await;
        }
    }

    let partner_child: Uuid =
        sqlx::query_scalar("SELECT id FROM organizations WHERE parent_id = $1 ORDER BY id OFFSET 100 LIMIT 1")
            .bind(org.as_uuid())
            .fetch_one(&storage.pool)
            .await
            .unwrap();
    let child = Some(OrgId::from_uuid(partner_child));
    for (label, within, after) in [
        ("all", None, None),
        ("all, middle page", None, child),
        ("a partner's", Some(org), None),
        ("a partner's, middle page", Some(org), child),
    ] {
        plans
            .built(conn, format!("list_organizations: {label}"), |sql| {
                organizations::push_list_organizations(sql, within, after, 51);
            })
            .await;
    }

    let invitation = InvitationId::from_uuid(middle_id(storage, "invitations", org).await);
    for status in
        [None, Some(InvitationStatus::Pending), Some(InvitationStatus::Expired), Some(InvitationStatus::Revoked)]
    {
        for (page, after) in [("first page", None), ("middle page", Some(invitation))] {
            let query = InvitationQuery { status, now, after, limit: 51 };
            plans
                .built(conn, format!("list_invitations: {status:?}, {page}"), |sql| {
                    invitations::push_list_invitations(sql, org, &query);
                })
                .await;
        }
    }
    let message = MessageId::from_uuid(middle_id(storage, "outbox_messages", org).await);
    for (page, after) in [("first page", None), ("middle page", Some(message))] {
        plans.built(conn, format!("list_messages: {page}"), |sql| outbox::push_list_messages(sql, after, 51)).await;
    }
    let sql = format!("EXPLAIN {}", users::DELETE);
    let query = sqlx::query(&sql).bind(org.as_uuid()).bind(some_users(storage, org, 10).await).bind(now);
    plans.check("delete_users (with their invitations)", &plan_of(conn, query).await);

    let sql = format!("EXPLAIN {}", access::LIST_GRANTS);
    let query = sqlx::query(&sql).bind(org.as_uuid()).bind(user.as_uuid());
    plans.check("list_grants", &plan_of(conn, query).await);
    let sql = format!("EXPLAIN {}", users::COUNT_ACTIVE_OWNERS);
    let query = sqlx::query(&sql).bind(org.as_uuid()).bind(big.admin.as_uuid()).bind(vec![*user.as_uuid()]);
    plans.check("count_active_owners", &plan_of(conn, query).await);
    let sql = format!("EXPLAIN {}", roles::COUNT_HOLDERS);
    let query = sqlx::query(&sql).bind(org.as_uuid()).bind(big.admin.as_uuid());
    plans.check("count_role_holders", &plan_of(conn, query).await);
}
