//! # roster-sqlite
//!
//! Roster's embedded storage adapter: the [`roster_domain::ports`] implemented on one
//! SQLite database file in WAL mode.
//!
//! ```no_run
//! # async fn demo() -> Result<(), roster_domain::StoreError> {
//! let storage = roster_sqlite::SqliteStorage::open(std::path::Path::new("roster.db")).await?;
//! storage.migrate().await?;
//! # Ok(()) }
//! ```
//!
//! Every statement filters by organization id (tenant isolation). Write use cases run in
//! `BEGIN IMMEDIATE` transactions, which take SQLite's single write lock up front: writers
//! queue (up to the 10 s busy timeout) instead of failing when a read-then-write
//! transaction would have to upgrade its lock, and the `*_for_update` reads need no row
//! locks of their own.
//!
//! The mail worker's [`roster_domain::ports::Outbox`] is implemented on [`SqliteStorage`]
//! too: each claim or mark is one statement in a `BEGIN IMMEDIATE` transaction of its own,
//! so concurrent workers' claims are serial and never share a message.
#![warn(missing_docs)]

mod access;
mod api_keys;
mod audit;
mod error;
mod grants;
mod invitations;
mod organizations;
mod outbox;
mod roles;
mod rows;
mod sessions;
mod throttle;
mod users;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use roster_domain::error::StoreError;
use roster_domain::ports::{Storage, Transaction};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool};

use crate::error::{AdapterError, store_error};

/// The schema migrations, embedded at compile time.
static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The most connections the pool opens.
const MAX_CONNECTIONS: u32 = 8;
/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Roster storage on a SQLite database. Cheap to clone: clones share the pool.
#[derive(Clone, Debug)]
pub struct SqliteStorage {
    pool: SqlitePool,
}

impl SqliteStorage {
    /// Opens (creating it if missing) the database file at `path`, with a pool of up to 8
    /// connections in WAL mode, foreign keys on, `synchronous = NORMAL` and a 10 s busy
    /// timeout. Does not migrate: call [`Self::migrate`].
    ///
    /// # Errors
    /// [`StoreError::Other`] when the file cannot be opened or created.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // No liveness ping per acquire: a local file connection does not drop.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(store_error)?;
        Ok(Self { pool })
    }

    /// Brings the schema up to date with the migrations in `migrations/sqlite`.
    ///
    /// # Errors
    /// [`StoreError::Other`] when a migration fails or the database holds migrations this
    /// build does not know.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(StoreError::other)
    }

    /// The connection pool, for metrics (size, idle connections).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(store_error)?;
        Ok(Box::new(SqliteTransaction { tx: Some(tx) }))
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(store_error)?;
        Ok(())
    }
}

/// One `BEGIN IMMEDIATE` transaction. Dropping it uncommitted rolls it back.
pub struct SqliteTransaction {
    /// `None` once committed.
    tx: Option<sqlx::Transaction<'static, Sqlite>>,
}

impl SqliteTransaction {
    /// The transaction's connection, unless it was committed.
    fn conn(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        self.tx.as_deref_mut().ok_or_else(|| AdapterError::Finished.into())
    }

    /// A savepoint in the transaction, for port calls that run several statements: SQLite,
    /// unlike PostgreSQL, keeps a transaction usable after a failed statement, so without it
    /// a call failing half-way would leave its first writes in place. Committing the
    /// savepoint releases it; dropping it rolls back to it.
    async fn savepoint(&mut self) -> Result<sqlx::Transaction<'_, Sqlite>, StoreError> {
        sqlx::Connection::begin(self.conn()?).await.map_err(store_error)
    }
}

impl fmt::Debug for SqliteTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTransaction").field("open", &self.tx.is_some()).finish()
    }
}

#[async_trait]
impl Transaction for SqliteTransaction {
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn commit(&mut self) -> Result<(), StoreError> {
        let tx = self.tx.take().ok_or(AdapterError::Finished)?;
        tx.commit().await.map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use roster_domain::error::Unique;
    use roster_domain::ids::{OrgId, RoleId, UserId};
    use roster_domain::organization::{OrgStatus, Organization};
    use roster_domain::ports::{ApiKeyReads as _, OrganizationReads as _, UserReads as _};
    use roster_domain::role::{BuiltinRole, Role};
    use roster_domain::user::{User, UserFilter, UserQuery, UserSort, UserStatus};
    use roster_domain::values::{DisplayName, Email, Metadata, OrgName, Slug, Tags, Username};
    use uuid::Uuid;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
    }

    fn organization(at: DateTime<Utc>, default_role_id: RoleId) -> Organization {
        Organization {
            id: OrgId::from_uuid(Uuid::now_v7()),
            slug: Slug::parse("acme").unwrap(),
            name: OrgName::parse("Acme").unwrap(),
            domain: None,
            description: None,
            logo_url: None,
            icon_url: None,
            parent_id: None,
            partner: false,
            seat_limit: Some(10),
            default_role_id,
            invitation_ttl: Organization::default_invitation_ttl(),
            default_login_url: None,
            status: OrgStatus::Active,
            created_by: "test".into(),
            modified_by: "test".into(),
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn user(org: OrgId, role: RoleId, email: &str, username: &str, at: DateTime<Utc>) -> User {
        User {
            id: UserId::from_uuid(Uuid::now_v7()),
            org_id: org,
            email: Email::parse(email).unwrap(),
            username: Username::parse(username).unwrap(),
            name: DisplayName::parse("Ada Lovelace").unwrap(),
            first_name: None,
            last_name: None,
            location: None,
            locale: None,
            tags: Tags::parse(["math", "pioneer"]).unwrap(),
            metadata: Metadata::parse([("born".to_owned(), "1815".to_owned())].into()).unwrap(),
            status: UserStatus::Active,
            password_hash: None,
            role_ids: vec![role],
            last_login_at: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    #[tokio::test]
    async fn organizations_and_users_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("roster.db")).await.unwrap();
        storage.migrate().await.unwrap();
        storage.ping().await.unwrap();

        let at = now();
        let role_ids: Vec<RoleId> = BuiltinRole::ALL.iter().map(|_| RoleId::from_uuid(Uuid::now_v7())).collect();
        let org = organization(at, role_ids[2]);
        let roles: Vec<Role> =
            BuiltinRole::ALL.iter().zip(&role_ids).map(|(which, id)| Role::builtin(*id, org.id, *which, at)).collect();
        let ada = user(org.id, role_ids[2], "Ada@Example.com", "ada", at);

        let mut tx = storage.begin().await.unwrap();
        tx.insert_organization(&org, &roles).await.unwrap();
        tx.insert_user(&ada).await.unwrap();
        tx.commit().await.unwrap();
        assert!(matches!(tx.commit().await, Err(StoreError::Other(_))), "a committed transaction is finished");

        assert_eq!(storage.get_organization(org.id).await.unwrap(), Some(org.clone()));
        let mut by_key = roles.clone();
        by_key.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        assert_eq!(storage.list_roles(org.id).await.unwrap(), by_key, "built-ins (all of them here) by key");

        let view = storage.get_user(org.id, ada.id).await.unwrap().expect("user is found");
        assert_eq!(view.user, ada);
        assert_eq!(view.organization, org.summary());
        assert_eq!(storage.get_user(OrgId::from_uuid(Uuid::now_v7()), ada.id).await.unwrap(), None);

        let query = UserQuery {
            filter: UserFilter { q: Some("LOVE".into()), ..UserFilter::default() },
            sort: UserSort::EmailAsc,
            after: None,
            limit: 10,
        };
        assert_eq!(storage.list_users(org.id, &query).await.unwrap(), vec![ada.clone()]);
        let query = UserQuery { filter: UserFilter { q: Some("lo_e".into()), ..UserFilter::default() }, ..query };
        assert_eq!(storage.list_users(org.id, &query).await.unwrap(), vec![]);

        let mut tx = storage.begin().await.unwrap();
        let twin = user(org.id, role_ids[2], "ada@EXAMPLE.com", "ada2", now());
        assert!(matches!(tx.insert_user(&twin).await, Err(StoreError::Duplicate(Unique::UserEmail))));
        // SQLite keeps a transaction usable after a failed statement: the checks go on in it.
        let namesake = user(org.id, role_ids[2], "other@example.com", "ada", now());
        assert!(matches!(tx.insert_user(&namesake).await, Err(StoreError::Duplicate(Unique::UserUsername))));
        let clone = organization(now(), role_ids[2]);
        assert!(matches!(
            tx.insert_organization(&clone, &[]).await,
            Err(StoreError::Duplicate(Unique::OrganizationSlug))
        ));
    }

    /// 0002 and 0003 upgrade a database that 0001 made and that holds rows: organizations
    /// are not partners and have no default login URL, roles were last changed when made
    /// and are at version 1, keys are unscoped service keys never used.
    #[tokio::test]
    async fn the_access_control_migration_keeps_existing_rows_readable() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("roster.db")).await.unwrap();
        let first =
            Migrator { migrations: std::borrow::Cow::Owned(MIGRATOR.migrations[..1].to_vec()), ..Migrator::DEFAULT };
        first.run(&storage.pool).await.unwrap();

        let (org, owner, key) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let created = "2024-01-02T03:04:05.000006+00:00";
        sqlx::query(
            "INSERT INTO organizations (id, slug, name, default_role_id, invitation_ttl_seconds, status, created_by, \
             modified_by, created_at, updated_at, version) VALUES (?1, 'acme', 'Acme', ?2, 60, 'active', 'x', 'x', ?3, ?3, 1)",
        )
        .bind(org.to_string())
        .bind(owner.to_string())
        .bind(created)
        .execute(&storage.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO roles (id, org_id, key, name, description, builtin, created_at) \
             VALUES (?1, ?2, 'owner', 'Owner', 'd', 1, ?3)",
        )
        .bind(owner.to_string())
        .bind(org.to_string())
        .bind(created)
        .execute(&storage.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO api_keys (id, org_id, name, prefix, digest, created_by, created_at) \
             VALUES (?1, ?2, 'k', 'rst_abc', ?3, 'x', ?4)",
        )
        .bind(key.to_string())
        .bind(org.to_string())
        .bind([7u8; 32].as_slice())
        .bind(created)
        .execute(&storage.pool)
        .await
        .unwrap();

        storage.migrate().await.unwrap();
        let org_id = OrgId::from_uuid(org);
        let upgraded = storage.get_organization(org_id).await.unwrap().expect("the organization");
        assert!(!upgraded.partner);
        assert_eq!(upgraded.default_login_url, None);
        let roles = storage.list_roles(org_id).await.unwrap();
        assert_eq!(roles.len(), 1);
        assert_eq!((roles[0].updated_at, roles[0].version), (roles[0].created_at, 1));
        assert!(roles[0].is_owner() && roles[0].permissions.is_all());
        let digest = roster_domain::api_key::SecretDigest::from_bytes([7; 32]);
        let found = storage.find_api_key(&digest).await.unwrap().expect("the key");
        assert_eq!(found.key.owner, roster_domain::api_key::ApiKeyOwner::Organization(org_id));
        assert_eq!((found.key.scope, found.key.last_used_at, found.org_partner), (None, None, false));
    }
}
