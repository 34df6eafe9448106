//! # roster-postgres
//!
//! Roster's production storage adapter: the ports of [`roster_domain::ports`] on
//! PostgreSQL (15 or newer) through a sqlx connection pool.
//!
//! - Reads that need no transaction run on the pool, one round trip each;
//!   [`UserReads::get_user`](roster_domain::ports::UserReads::get_user), the hot path, is a
//!   single prepared statement.
//! - Writes run in a [`PgTransaction`] at `READ COMMITTED`; the `*_for_update` reads take
//!   row locks (`SELECT … FOR UPDATE`), which is what keeps seat limits and version checks
//!   true across several application instances.
//! - Uniqueness is enforced by named partial unique indexes, reported as
//!   [`StoreError::Duplicate`].
//! - Every tenant query filters by `org_id`.
//!
//! The schema lives in `migrations/postgres`; [`PostgresStorage::migrate`] applies it.
#![warn(missing_docs)]

mod api_keys;
mod error;
mod organizations;
mod reads;
mod rows;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod users;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use roster_domain::error::StoreError;
use roster_domain::ports::{Storage, Transaction};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::error::TransactionFinished;
use crate::reads::ReadPool;

/// The embedded migrations of `migrations/postgres`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Roster's storage on PostgreSQL: a connection pool. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct PostgresStorage {
    pool: PgPool,
    reads: Arc<ReadPool>,
}

impl PostgresStorage {
    /// Connects a pool of at most `max_connections` to `url`
    /// (`postgres://user:password@host:port/database?…`), identifying itself as
    /// `application_name=roster`. Each connection caches its prepared statements.
    ///
    /// # Errors
    /// [`StoreError::Other`] when the URL is malformed or no connection can be made.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(StoreError::other)?.application_name("roster");
        // A quarter of the connections serve transactions, the rest the hot reads.
        let max_connections = max_connections.max(2);
        let writers = (max_connections / 4).max(1);
        let pool = PgPoolOptions::new()
            .max_connections(writers)
            // sqlx pings every connection it hands out by default: one extra round trip per
            // query. A broken connection fails its query instead, and the pool replaces it.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(StoreError::other)?;
        Ok(Self::with_reads(pool, max_connections - writers))
    }

    /// Wraps an existing pool (its options are the caller's); the hot reads get a pool of
    /// as many connections again.
    pub fn from_pool(pool: PgPool) -> Self {
        let size = pool.options().get_max_connections();
        Self::with_reads(pool, size)
    }

    fn with_reads(pool: PgPool, read_connections: u32) -> Self {
        let options = (*pool.connect_options()).clone();
        Self { pool, reads: Arc::new(ReadPool::new(options, read_connections)) }
    }

    /// Idle connections of the hot-read pool, for metrics.
    pub fn idle_read_connections(&self) -> usize {
        self.reads.idle_count()
    }

    /// Applies the pending migrations of `migrations/postgres`.
    ///
    /// # Errors
    /// [`StoreError::Other`] when a migration fails or the database holds a migration
    /// this build does not know (or one whose text changed).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(StoreError::other)
    }

    /// The pool, for metrics (size, idle connections) and shutdown.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Storage for PostgresStorage {
    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        let tx = self.pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED").await.map_err(StoreError::other)?;
        Ok(Box::new(PgTransaction { tx: Some(tx) }))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(StoreError::other)?;
        Ok(())
    }
}

/// One `READ COMMITTED` transaction on a pooled connection. Dropping it uncommitted rolls
/// it back; after [`Transaction::commit`] every call fails with [`StoreError::Other`].
pub struct PgTransaction {
    tx: Option<sqlx::Transaction<'static, Postgres>>,
}

impl PgTransaction {
    /// The transaction's connection, unless it was committed.
    fn conn(&mut self) -> Result<&mut PgConnection, StoreError> {
        match self.tx.as_mut() {
            Some(tx) => Ok(&mut **tx),
            None => Err(StoreError::other(TransactionFinished)),
        }
    }
}

impl std::fmt::Debug for PgTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTransaction").field("open", &self.tx.is_some()).finish()
    }
}

#[async_trait]
impl Transaction for PgTransaction {
    async fn commit(&mut self) -> Result<(), StoreError> {
        let tx = self.tx.take().ok_or_else(|| StoreError::other(TransactionFinished))?;
        tx.commit().await.map_err(StoreError::other)
    }
}
