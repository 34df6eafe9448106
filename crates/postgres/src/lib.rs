//! # roster-postgres
//!
//! Roster's production storage adapter: the ports of [`roster_domain::ports`] on
//! PostgreSQL (15 or newer) through a sqlx connection pool, and `tokio-postgres` for the
//! hot reads.
//!
//! - Reads that need no transaction take one round trip each;
//!   [`UserReads::get_user`](roster_domain::ports::UserReads::get_user), the hot path, is a
//!   single prepared statement.
//! - The hot reads (get user, get organization, and authentication's find API key, find
//!   session and user access) run on a few shared `tokio-postgres` connections that
//!   pipeline concurrent queries (see [`ReadClients`]);
//!   when the URL asks for TLS (`sslmode=require`, `verify-ca`, `verify-full`), on sqlx
//!   connections of their own instead. Lists and transactions always use the sqlx pool.
//!   Rows of both drivers go through the same conversions (module `rows`), which re-validate
//!   every stored value.
//! - Writes run in a [`PgTransaction`] at `READ COMMITTED`; the `*_for_update` reads take
//!   row locks (`SELECT … FOR UPDATE`), which is what keeps seat limits and version checks
//!   true across several application instances.
//! - [`Storage::insert_user_if_unchanged`] is one autocommit statement: the
//!   organization's shared creation lock, then a new user's rows, written only if the
//!   organization read after the lock is still at the version the caller read;
//!   concurrent calls share a statement (module `new_users`).
//! - Uniqueness is enforced by named (partial) unique indexes and constraints, reported
//!   as [`StoreError::Duplicate`].
//! - [`UserReads::user_access`](roster_domain::ports::UserReads::user_access), which
//!   authentication and every permission check need, is one prepared statement: the
//!   users with their roles and the union of their custom roles' permissions and their
//!   unexpired direct grants.
//! - Every tenant query filters by `org_id`, but for what a bearer token alone names: the
//!   look-up of a key, session or invitation by its digest, and recording when that
//!   credential (by its id) was last used. Login throttles are keyed by account or
//!   address, no tenant's; the email outbox is the delivery worker's, across tenants.
//! - [`Outbox`](roster_domain::ports::Outbox), the mail worker's port, is implemented on
//!   [`PostgresStorage`]: each call one statement; concurrent claims take disjoint
//!   messages (`FOR UPDATE SKIP LOCKED`), and a claim's attempt count fences its outcome.
//!   Claims and marks, like new users written at once, run on the queue connections,
//!   whose plans never depend on the outbox's statistics (`queue_pool`).
//!
//! The schema lives in `migrations/postgres`; [`PostgresStorage::migrate`] applies it.
#![warn(missing_docs)]

mod access;
mod api_keys;
mod appends;
mod audit;
mod error;
mod invitations;
mod new_users;
mod organizations;
mod outbox;
mod pipeline;
#[cfg(test)]
mod plans;
mod reads;
mod roles;
mod rows;
mod sessions;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod users;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use roster_domain::error::StoreError;
use roster_domain::ports::{NewUser, Storage, Transaction};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::error::TransactionFinished;
pub use crate::pipeline::ReadClients;
use crate::pipeline::{PipelinedReads, Queries};
use crate::reads::ReadPool;

/// The embedded migrations of `migrations/postgres`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The statements of the hot reads, prepared on each pipelined connection.
const HOT_QUERIES: Queries = Queries {
    get_user: users::GET,
    get_organization: organizations::GET,
    find_api_key: api_keys::FIND,
    find_session: sessions::FIND,
    user_access: access::USER_ACCESS,
};

/// Where the hot reads (get user, get organization, and authentication's find API key,
/// find session and user access) run.
#[derive(Debug)]
enum HotReads {
    /// Shared pipelining `tokio-postgres` connections.
    Pipelined(PipelinedReads),
    /// A pool of sqlx connections, one query at a time each.
    Pooled(ReadPool),
}

/// Roster's storage on PostgreSQL: a connection pool. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct PostgresStorage {
    pool: PgPool,
    /// The queue connections ([`queue_pool`]).
    queue: PgPool,
    reads: Arc<HotReads>,
    /// Writes new users at once, in batches ([`new_users`]).
    new_users: Arc<new_users::NewUserWriter>,
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://user:password@host:port/database?…`) with at most
    /// `max_connections` connections, the hot reads set up as the environment says
    /// ([`ReadClients::from_env`]). See [`Self::connect_with_read_clients`].
    ///
    /// # Errors
    /// [`StoreError::Other`] when the URL is malformed or no connection can be made.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        Self::connect_with_read_clients(url, max_connections, ReadClients::from_env()).await
    }

    /// Connects to `url` with at most `max_connections` connections in all:
    ///
    /// - with [`ReadClients::Pipelined`]`(n)`, `n` shared connections
    ///   (`application_name=roster-reads`) pipeline the hot reads and the remaining
    ///   connections serve transactions and lists (a sqlx pool, `application_name=roster`)
    ///   and the write-behind queue (a quarter of them, 1 to 4, [`queue_pool`]: new users
    ///   written at once, the mail worker's claims and marks);
    /// - with [`ReadClients::Off`], and whenever the URL asks for TLS (`sslmode=require`,
    ///   `verify-ca` or `verify-full`: the pipelined connections are plain-text only) or
    ///   the pipelined connections cannot be opened where sqlx's could (a password sqlx
    ///   found in `~/.pgpass`, say), a quarter of the connections (at least 2) serve
    ///   transactions and lists, a quarter of that number (1 to 4) the queue, and the rest
    ///   the hot reads, all through sqlx.
    ///
    /// Each connection caches its prepared statements.
    ///
    /// # Errors
    /// [`StoreError::Other`] when the URL is malformed or no connection can be made.
    pub async fn connect_with_read_clients(
        url: &str,
        max_connections: u32,
        read_clients: ReadClients,
    ) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(StoreError::other)?.application_name("roster");
        let max_connections = max_connections.max(2);
        if let ReadClients::Pipelined(clients) = read_clients {
            match PipelinedReads::new(url, &options, clients, HOT_QUERIES) {
                Ok(reads) => match reads.connect_all().await {
                    Ok(()) => {
                        let clients = u32::try_from(clients).unwrap_or(u32::MAX);
                        let budget = max_connections.saturating_sub(clients).max(2);
                        let queue = queue_connections(budget);
                        let pool = Self::sqlx_pool(options.clone(), budget - queue).await?;
                        let queue = queue_pool(&options, queue);
                        return Ok(Self::with_parts(pool, queue, HotReads::Pipelined(reads)));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot open the pipelined read connections; the hot reads use sqlx");
                    }
                },
                Err(e) => tracing::info!("{e}; the hot reads use sqlx"),
            }
        }
        // A quarter of the connections (at least 2) serve transactions, a quarter of those
        // the queue, the rest the hot reads.
        let transactions = (max_connections / 4).max(2);
        let queue = queue_connections(transactions);
        let pool = Self::sqlx_pool(options, transactions).await?;
        Ok(Self::with_reads(pool, queue, max_connections.saturating_sub(transactions + queue).max(1)))
    }

    async fn sqlx_pool(options: PgConnectOptions, max_connections: u32) -> Result<PgPool, StoreError> {
        PgPoolOptions::new()
            .max_connections(max_connections)
            // sqlx pings every connection it hands out by default: one extra round trip per
            // query. A broken connection fails its query instead, and the pool replaces it.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(StoreError::other)
    }

    /// Wraps an existing pool (its options are the caller's); the hot reads get a pool of
    /// sqlx connections, as many again (sqlx does not reveal the password the pipelined
    /// connections would need), and the queue ([`queue_pool`]) a quarter as many (1 to 4).
    pub fn from_pool(pool: PgPool) -> Self {
        let size = pool.options().get_max_connections();
        Self::with_reads(pool, queue_connections(size), size)
    }

    /// `pool` for transactions; the queue and the hot reads on `queue` and
    /// `read_connections` connections of their own.
    fn with_reads(pool: PgPool, queue: u32, read_connections: u32) -> Self {
        let options = (*pool.connect_options()).clone();
        let queue = queue_pool(&options, queue);
        let reads = HotReads::Pooled(ReadPool::new(options, read_connections));
        Self::with_parts(pool, queue, reads)
    }

    fn with_parts(pool: PgPool, queue: PgPool, reads: HotReads) -> Self {
        let new_users = Arc::new(new_users::NewUserWriter::new(queue.clone()));
        Self { pool, queue, reads: Arc::new(reads), new_users }
    }

    /// Connections of the hot reads ready for a query, for metrics: the open pipelined
    /// connections (each takes any number of queries), or the idle pooled ones.
    pub fn idle_read_connections(&self) -> usize {
        match &*self.reads {
            HotReads::Pipelined(reads) => reads.open_count(),
            HotReads::Pooled(reads) => reads.idle_count(),
        }
    }

    /// Whether the hot reads are pipelined (see [`ReadClients`]).
    pub fn pipelined_reads(&self) -> bool {
        matches!(*self.reads, HotReads::Pipelined(_))
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

/// How many of `budget` connections serve the queue: a quarter, 1 to 4.
fn queue_connections(budget: u32) -> u32 {
    (budget / 4).clamp(1, 4)
}

/// The connections of the write-behind queue: new users written at once (module
/// `new_users`) and the mail worker's claims and marks (`application_name=roster-queue`),
/// opened when first needed.
///
/// Their statements have one right plan whatever the tables hold, and the tables they
/// touch fill and empty faster than statistics follow (an outbox analysed empty holds a
/// hundred thousand sent messages minutes later, and a plan made from its statistics
/// reads them all at every claim). So these connections plan each statement once
/// (`plan_cache_mode = force_generic_plan`: a plan for a batch's exact array lengths
/// always looks cheaper than the generic one, and planning anew cost as much as the
/// inserts) and never choose a sequential scan where an index serves
/// (`enable_seqscan = off`).
fn queue_pool(options: &PgConnectOptions, connections: u32) -> PgPool {
    let options = options
        .clone()
        .application_name("roster-queue")
        .options([("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off")]);
    PgPoolOptions::new().max_connections(connections).test_before_acquire(false).connect_lazy_with(options)
}

#[async_trait]
impl Storage for PostgresStorage {
    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        let tx = self.pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED").await.map_err(StoreError::other)?;
        Ok(Box::new(PgTransaction { tx: Some(tx), appends: appends::Appends::default() }))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(StoreError::other)?;
        Ok(())
    }

    async fn insert_user_if_unchanged(&self, org_version: i64, new: &NewUser) -> Result<bool, StoreError> {
        self.new_users.write(org_version, new).await
    }
}

/// One `READ COMMITTED` transaction on a pooled connection. Dropping it uncommitted rolls
/// it back; after [`Transaction::commit`] every call fails with [`StoreError::Other`].
pub struct PgTransaction {
    tx: Option<sqlx::Transaction<'static, Postgres>>,
    /// Rows written but not yet sent ([`appends`]).
    appends: appends::Appends,
}

impl PgTransaction {
    /// The transaction's connection, unless it was committed, with the rows held in
    /// [`Self::appends`] written first, so every statement sees them.
    async fn conn(&mut self) -> Result<&mut PgConnection, StoreError> {
        let tx = self.tx.as_mut().ok_or_else(|| StoreError::other(TransactionFinished))?;
        self.appends.flush(tx).await?;
        Ok(&mut **tx)
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
        self.conn().await?;
        let tx = self.tx.take().ok_or_else(|| StoreError::other(TransactionFinished))?;
        tx.commit().await.map_err(StoreError::other)
    }
}
