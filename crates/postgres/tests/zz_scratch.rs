use roster_postgres::testing;
use roster_domain::ports::Storage;
use roster_domain::ids::{OrgId, UserId};
use std::sync::Arc;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scratch() {
    let (storage, _url) = testing::fresh_database_with_url().await;
    let pool = storage.pool().clone();
    let (org, owner, user) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    sqlx::raw_sql(&format!(
        "INSERT INTO organizations (id, slug, name, default_role_id, invitation_ttl_seconds, status, created_by, \
         modified_by, created_at, updated_at, version) \
         VALUES ('{org}', 'old', 'Old', '{owner}', 604800, 'active', 't', 't', now(), now(), 1); \
         INSERT INTO users (id, org_id, email, email_normalized, username, name, status, created_at, \
         updated_at, version) \
         VALUES ('{user}', '{org}', 'ada@example.com', 'ada@example.com', 'ada', 'Ada', \
         'invited', now(), now(), 1); \
         INSERT INTO invitations (id, org_id, user_id, status, digest, invited_by, expires_at, created_at, updated_at, version) \
         VALUES (gen_random_uuid(), '{org}', '{user}', 'pending', '\\x00', 't', now(), now(), now(), 1);"
    )).execute(&pool).await.unwrap();
    let storage = Arc::new(storage);
    for round in 0..5 {
    let b = Arc::new(tokio::sync::Barrier::new(2));
    let mut hs = vec![];
    for _ in 0..2 {
        let s = storage.clone();
        let b = b.clone();
        hs.push(tokio::spawn(async move {
            b.wait().await;
            let mut tx = s.begin().await.unwrap();
            let mut u = tx.user_for_update(OrgId::from_uuid(org), UserId::from_uuid(user)).await.unwrap().unwrap();
            let seen = u.version;
            u.version += 1;
            tx.update_user(&u).await.unwrap();
            tx.commit().await.unwrap();
            seen
        }));
    }
    let mut r = vec![];
    for h in hs { r.push(h.await.unwrap()); }
    eprintln!("round {round}: {r:?}");
    }
}
