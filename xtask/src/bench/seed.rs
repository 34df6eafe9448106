//! Seeding through the storage layer: the platform key and the organization go through the
//! use cases (as `roster create-platform-key` and `POST /v1/organizations` would), the users
//! straight through [`Transaction::insert_user`] in batches, all sharing one precomputed
//! argon2id hash, so seeding 100,000 users costs one hash rather than 100,000.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_domain::api_key::NewSecret;
use roster_domain::hashing::{Argon2id, HashingError, PasswordHash, PasswordHasher};
use roster_domain::ids::{OrgId, RoleId, UserId};
use roster_domain::organization_input::CreateOrganizationInput;
use roster_domain::ports::Storage as _;
use roster_domain::service::{CreateApiKeyInput, LoginInput, Roster, Settings};
use roster_domain::user::{User, UserStatus};
use roster_domain::values::{DisplayName, Email, Locale, Metadata, NamePart, Password, Tags, Username};
use roster_postgres::PostgresStorage;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::Result;

/// Users inserted per transaction.
const BATCH: usize = 2_000;
/// Transactions running at once.
const PARALLEL_BATCHES: usize = 4;
/// Every seeded user's password (for scenarios that log in).
pub const PASSWORD: &str = "bench-password-0123";
/// The seeded organization's slug.
pub const ORG_SLUG: &str = "bench";

/// What the scenarios need to know about the seeded data.
#[derive(Debug)]
pub struct Seeded {
    /// A platform key's secret (reaches every organization).
    pub api_key: String,
    /// An unscoped service key of the seeded organization (what internal services hold).
    pub service_key: String,
    /// A login session of the first seeded user (a member).
    pub session_token: String,
    pub org_id: OrgId,
    /// The users, in creation order.
    pub user_ids: Vec<UserId>,
    /// How long inserting the users took.
    pub elapsed: Duration,
}

/// Migrates the database at `url` and seeds it with one organization of `users` users.
pub async fn seed(url: &str, users: usize) -> Result<Seeded> {
    let storage = PostgresStorage::connect(url, PARALLEL_BATCHES as u32 + 1)
        .await
        .map_err(|err| format!("cannot connect to {}: {err}", crate::postgres::redact_password(url)))?;
    storage.migrate().await.map_err(|err| format!("migrations failed: {err}"))?;
    let roster = Roster::new(Arc::new(storage.clone()), Arc::new(NoHashing), Settings::default());
    let (_key, secret) =
        roster.create_platform_key("bench").await.map_err(|err| format!("cannot create a platform key: {err}"))?;
    let api_key = secret.expose().to_owned();
    let principal = roster.authenticate(&api_key).await.map_err(|err| format!("the new key does not work: {err}"))?;
    let org = roster
        .create_organization(
            &principal,
            CreateOrganizationInput {
                slug: Some(ORG_SLUG.to_owned()),
                name: Some("Bench Corp".to_owned()),
                domain: Some("bench.example".to_owned()),
                ..CreateOrganizationInput::default()
            },
        )
        .await
        .map_err(|err| format!("cannot create the organization: {err}"))?;

    let started = Instant::now();
    let hash = tokio::task::spawn_blocking(|| Argon2id::owasp().hash_blocking(PASSWORD))
        .await
        .map_err(|err| format!("hashing failed: {err}"))?
        .map_err(|err| format!("hashing failed: {err}"))?;
    let template = Template { org_id: org.id, role_id: org.default_role_id, hash };
    let user_ids: Vec<UserId> = (0..users).map(|_| UserId::from_uuid(Uuid::now_v7())).collect();

    let mut batches = JoinSet::new();
    let mut next = 0;
    let mut failure = None;
    loop {
        while failure.is_none() && next < users && batches.len() < PARALLEL_BATCHES {
            let end = (next + BATCH).min(users);
            let batch: Vec<(usize, UserId)> = (next..end).map(|i| (i, user_ids[i])).collect();
            batches.spawn(insert_batch(storage.clone(), template.clone(), batch));
            next = end;
        }
        let Some(joined) = batches.join_next().await else { break };
        match joined.map_err(|err| format!("a seeding task failed: {err}")).and_then(|inserted| inserted) {
            Ok(()) => {}
            Err(err) => failure = failure.or(Some(err)),
        }
    }
    if let Some(err) = failure {
        storage.pool().close().await;
        return Err(err);
    }
    let elapsed = started.elapsed();
    let service_key = roster
        .create_service_key(
            &principal,
            org.id,
            CreateApiKeyInput { name: Some("bench service".to_owned()), ..CreateApiKeyInput::default() },
        )
        .await
        .map_err(|err| format!("cannot create a service key: {err}"))?
        .1;
    let session = roster
        .login(LoginInput {
            organization: Some(ORG_SLUG.to_owned()),
            email: Some("user0@bench.example".to_owned()),
            password: Some(PASSWORD.to_owned()),
            client_ip: None,
            request_id: None,
        })
        .await
        .map_err(|err| format!("cannot log the first user in: {err}"))?;
    storage.pool().close().await;
    let expose = |secret: &NewSecret| secret.expose().to_owned();
    Ok(Seeded {
        api_key,
        service_key: expose(&service_key),
        session_token: expose(&session.token),
        org_id: org.id,
        user_ids,
        elapsed,
    })
}

/// What every seeded user shares.
#[derive(Clone, Debug)]
struct Template {
    org_id: OrgId,
    role_id: RoleId,
    hash: PasswordHash,
}

async fn insert_batch(storage: PostgresStorage, template: Template, batch: Vec<(usize, UserId)>) -> Result<()> {
    let mut tx = storage.begin().await.map_err(|err| format!("cannot begin a transaction: {err}"))?;
    for (index, id) in batch {
        let user = user(&template, index, id)?;
        tx.insert_user(&user).await.map_err(|err| format!("cannot insert user {index}: {err}"))?;
    }
    tx.commit().await.map_err(|err| format!("cannot commit a batch of users: {err}"))
}

/// The `index`th user: `user<index>@bench.example`, active, with the shared hash.
fn user(template: &Template, index: usize, id: UserId) -> Result<User> {
    let invalid = |what: &str, err: &dyn std::fmt::Display| format!("seed user {index}: invalid {what}: {err}");
    let now = chrono::Utc::now();
    Ok(User {
        id,
        org_id: template.org_id,
        email: Email::parse(format!("user{index}@bench.example")).map_err(|e| invalid("email", &e))?,
        username: Username::parse(format!("user{index}")).map_err(|e| invalid("username", &e))?,
        name: DisplayName::parse(format!("Bench User {index}")).map_err(|e| invalid("name", &e))?,
        first_name: Some(NamePart::parse("Bench").map_err(|e| invalid("first name", &e))?),
        last_name: Some(NamePart::parse(format!("User {index}")).map_err(|e| invalid("last name", &e))?),
        location: None,
        locale: Some(Locale::parse("en").map_err(|e| invalid("locale", &e))?),
        tags: Tags::parse(["bench"]).map_err(|e| invalid("tags", &e))?,
        metadata: Metadata::default(),
        status: UserStatus::Active,
        password_hash: Some(template.hash.clone()),
        role_ids: vec![template.role_id],
        last_login_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    })
}

/// The seeding use cases never hash (users are inserted with a precomputed hash), so a
/// hasher that refuses keeps it that way; it verifies for real, for the one login.
#[derive(Debug)]
struct NoHashing;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// Written out as `#[async_trait]` would expand it (xtask does not depend on async-trait).
impl PasswordHasher for NoHashing {
    fn hash<'s, 'p, 'f>(&'s self, _password: &'p Password) -> BoxFuture<'f, Result<PasswordHash, HashingError>>
    where
        's: 'f,
        'p: 'f,
        Self: 'f,
    {
        Box::pin(async { Err(HashingError::new("the bench seeds users with a precomputed hash")) })
    }

    fn verify<'s, 'c, 'h, 'f>(&'s self, candidate: &'c str, hash: &'h PasswordHash) -> BoxFuture<'f, bool>
    where
        's: 'f,
        'c: 'f,
        'h: 'f,
        Self: 'f,
    {
        // Once per bench run: blocking the seeding runtime for ~20 ms is fine.
        Box::pin(async move { Argon2id::owasp().verify_blocking(candidate, hash) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_users_are_valid() {
        let template = Template {
            org_id: OrgId::from_uuid(Uuid::now_v7()),
            role_id: RoleId::from_uuid(Uuid::now_v7()),
            hash: PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        };
        let user = user(&template, 99_999, UserId::from_uuid(Uuid::now_v7())).unwrap();
        assert_eq!(user.email.as_str(), "user99999@bench.example");
        assert_eq!(user.username.as_str(), "user99999");
        assert_eq!(user.role_ids, [template.role_id]);
    }
}
