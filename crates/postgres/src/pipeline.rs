//! The hot single-statement reads (get user, get organization, and authentication's
//! find API key, find session and user access) on a few long-lived `tokio-postgres`
//! connections shared by every request, with query pipelining.
//!
//! A pooled connection (sqlx's, or [`crate::reads::ReadPool`]) serves one query at a
//! time: each read costs Roster one `write` and one `read` system call, and PostgreSQL a
//! wake-up, a `recv` and a `send`. A `tokio-postgres` [`Client`] instead queues every
//! query issued while others are in flight and writes them to the socket together; the
//! server answers them in order, and one `read` brings back many answers. Under load a
//! handful of connections thus carries all the concurrent reads with far fewer system
//! calls on both sides.
//!
//! - [`PipelinedReads`] holds a fixed number of connections (see [`ReadClients`]: by
//!   default one per two cores), each with the five statements prepared once. Requests
//!   are spread over them round-robin.
//! - A connection found closed (the server restarted, an administrator terminated the
//!   backend, the network broke) is replaced transparently: the next read on its slot
//!   opens a new one. A read that fails because its connection died is retried once on a
//!   new connection (the reads are idempotent). Replacing happens under a per-slot async
//!   gate so that one task reconnects while the others wait; the slot itself is a short
//!   `std` mutex never held across an `.await`.
//! - A caller that drops its read half-way does no harm: the connection task reads the
//!   answer and discards it.
//! - Plain TCP or Unix sockets only (`NoTls`; this build of sqlx has no TLS either). A URL
//!   asking for TLS (`sslmode=require`, `verify-ca`, `verify-full`) keeps the hot reads on
//!   sqlx (see [`crate::PostgresStorage::connect`]).

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use roster_domain::StoreError;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

/// `application_name` of the pipelined connections (`pg_stat_activity`).
pub(crate) const APPLICATION_NAME: &str = "roster-reads";

/// How long a new connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// After a failed connection attempt, reads on that slot fail at once for this long
/// instead of queueing up behind new attempts (the database is down or refusing).
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// The statements each connection prepares, with their parameter types.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Queries {
    /// `get_user`: `($1 org uuid, $2 user uuid)`.
    pub(crate) get_user: &'static str,
    /// `get_organization`: `($1 org uuid)`.
    pub(crate) get_organization: &'static str,
    /// `find_api_key`: `($1 digest bytea)`.
    pub(crate) find_api_key: &'static str,
    /// `find_session`: `($1 digest bytea)`.
    pub(crate) find_session: &'static str,
    /// `user_access`: `($1 org uuid, $2 users uuid[], $3 now timestamptz)`.
    pub(crate) user_access: &'static str,
}

/// Which prepared statement to run.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Query {
    GetUser,
    GetOrganization,
    FindApiKey,
    FindSession,
    UserAccess,
}

/// How many pipelined connections serve the hot reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadClients {
    /// This many (at least 1) shared, pipelining connections.
    Pipelined(usize),
    /// None: the hot reads use a pool of sqlx connections, one query per connection at a
    /// time (what a TLS URL gets too).
    Off,
}

impl ReadClients {
    /// The environment variable [`ReadClients::from_env`] reads.
    pub const ENV: &'static str = "PG_READ_CLIENTS";

    /// The default: one connection per two cores of this machine, 1 to 4. Fewer
    /// connections pipeline more queries per system call; on the 2-core benchmark machine
    /// (PostgreSQL, Roster and the load generator sharing it) one connection served GET
    /// user best, 2 and 3 about 10% fewer requests per second, 4 fewer still. A single
    /// connection is one PostgreSQL backend, which is why bigger machines get more.
    pub fn default_for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::Pipelined((cores / 2).clamp(1, 4))
    }

    /// [`Self::ENV`]: a number of connections, `0` for [`ReadClients::Off`]; unset, empty
    /// or unparsable: [`Self::default_for_this_machine`].
    pub fn from_env() -> Self {
        Self::parse(std::env::var(Self::ENV).ok().as_deref())
    }

    fn parse(value: Option<&str>) -> Self {
        match value.and_then(|v| v.trim().parse::<usize>().ok()) {
            Some(0) => Self::Off,
            Some(n) => Self::Pipelined(n),
            None => Self::default_for_this_machine(),
        }
    }
}

/// The prepared statements of one connection.
struct Session {
    client: Client,
    get_user: Statement,
    get_organization: Statement,
    find_api_key: Statement,
    find_session: Statement,
    user_access: Statement,
}

impl Session {
    fn statement(&self, query: Query) -> &Statement {
        match query {
            Query::GetUser => &self.get_user,
            Query::GetOrganization => &self.get_organization,
            Query::FindApiKey => &self.find_api_key,
            Query::FindSession => &self.find_session,
            Query::UserAccess => &self.user_access,
        }
    }
}

/// One connection's place in the set.
#[derive(Default)]
struct Slot {
    /// The live connection, if any. Held only to clone or swap the `Arc`.
    current: Mutex<Option<Arc<Session>>>,
    /// Taken by the task that (re)connects, so the others wait for its connection
    /// rather than each opening one.
    connecting: tokio::sync::Mutex<Option<Instant>>,
}

impl Slot {
    /// The slot's connection if it is open.
    fn open(&self) -> Option<Arc<Session>> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().filter(|session| !session.client.is_closed()).cloned()
    }

    /// Forgets `dead` (unless it was replaced already).
    fn discard(&self, dead: &Arc<Session>) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|session| Arc::ptr_eq(session, dead)) {
            *current = None;
        }
    }
}

/// A fixed set of pipelining connections for the hot reads.
pub(crate) struct PipelinedReads {
    config: Config,
    queries: Queries,
    slots: Box<[Slot]>,
    next: AtomicUsize,
}

impl fmt::Debug for PipelinedReads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelinedReads")
            .field("clients", &self.slots.len())
            .field("open", &self.open_count())
            .finish_non_exhaustive()
    }
}

/// Why the hot reads cannot be pipelined with these options.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unsupported {
    #[error("the URL asks for TLS (sslmode={0}), which the pipelined reads do not do")]
    Tls(&'static str),
}

impl PipelinedReads {
    /// A set of `clients` connections configured like `options`, the password taken from
    /// `url` (or `PGPASSWORD`). Connects nothing yet: see [`Self::connect_all`].
    pub(crate) fn new(
        url: &str,
        options: &PgConnectOptions,
        clients: usize,
        queries: Queries,
    ) -> Result<Self, Unsupported> {
        let config = config(url, options)?;
        let slots = (0..clients.max(1)).map(|_| Slot::default()).collect();
        Ok(Self { config, queries, slots, next: AtomicUsize::new(0) })
    }

    /// Opens every connection now.
    ///
    /// # Errors
    /// The first failure (a wrong password, the server refusing, …).
    pub(crate) async fn connect_all(&self) -> Result<(), StoreError> {
        for slot in &self.slots {
            self.session(slot).await?;
        }
        Ok(())
    }

    /// Connections currently open.
    pub(crate) fn open_count(&self) -> usize {
        self.slots.iter().filter(|slot| slot.open().is_some()).count()
    }

    /// Runs `query` on one of the connections; at most one row is expected (more are
    /// an error).
    pub(crate) async fn query_opt(
        &self,
        query: Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let rows = self.query(query, params).await?;
        if rows.len() > 1 {
            return Err(StoreError::other(MoreThanOneRow));
        }
        Ok(rows.into_iter().next())
    }

    /// Runs `query` on one of the connections and returns its rows. A read whose
    /// connection turns out dead is retried once on a new connection.
    pub(crate) async fn query(&self, query: Query, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let session = self.session(slot).await?;
        match session.client.query(session.statement(query), params).await {
            Ok(rows) => Ok(rows),
            Err(e) if connection_lost(&e, &session.client) => {
                tracing::debug!(error = %e, "pipelined read connection lost; retrying on a new one");
                slot.discard(&session);
                drop(session);
                let session = self.session(slot).await?;
                session.client.query(session.statement(query), params).await.map_err(StoreError::other)
            }
            Err(e) => Err(StoreError::other(e)),
        }
    }

    /// The slot's open connection, opening a new one if it has none (or a closed one).
    async fn session(&self, slot: &Slot) -> Result<Arc<Session>, StoreError> {
        if let Some(session) = slot.open() {
            return Ok(session);
        }
        let mut last_failure = slot.connecting.lock().await;
        // Another task may have reconnected while this one waited.
        if let Some(session) = slot.open() {
            return Ok(session);
        }
        if let Some(failed) = *last_failure
            && failed.elapsed() < RETRY_AFTER
        {
            return Err(StoreError::other(ConnectBackoff));
        }
        match self.connect().await {
            Ok(session) => {
                *last_failure = None;
                let session = Arc::new(session);
                *slot.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(session.clone());
                Ok(session)
            }
            Err(e) => {
                *last_failure = Some(Instant::now());
                Err(StoreError::other(e))
            }
        }
    }

    /// A new connection, its task spawned, its statements prepared.
    async fn connect(&self) -> Result<Session, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "pipelined read connection closed");
            }
        });
        // Prepared together: one round trip.
        let (get_user, get_organization, find_api_key, find_session, user_access) = tokio::try_join!(
            client.prepare_typed(self.queries.get_user, &[Type::UUID, Type::UUID]),
            client.prepare_typed(self.queries.get_organization, &[Type::UUID]),
            client.prepare_typed(self.queries.find_api_key, &[Type::BYTEA]),
            client.prepare_typed(self.queries.find_session, &[Type::BYTEA]),
            client.prepare_typed(self.queries.user_access, &[Type::UUID, Type::UUID_ARRAY, Type::TIMESTAMPTZ]),
        )?;
        Ok(Session { client, get_user, get_organization, find_api_key, find_session, user_access })
    }
}

/// Whether a failed read's connection is gone (so a new one may succeed): the client saw
/// the socket close, the error is not the server's verdict on the query, or the server
/// is ending the session (`FATAL`, e.g. `pg_terminate_backend` or a shutdown).
fn connection_lost(e: &tokio_postgres::Error, client: &Client) -> bool {
    if client.is_closed() || e.is_closed() {
        return true;
    }
    match e.as_db_error() {
        None => false,
        Some(db) => {
            matches!(db.severity(), "FATAL" | "PANIC")
                || matches!(
                    db.code(),
                    &SqlState::ADMIN_SHUTDOWN | &SqlState::CRASH_SHUTDOWN | &SqlState::CANNOT_CONNECT_NOW
                )
        }
    }
}

/// A read expecting at most one row got several.
#[derive(Debug, thiserror::Error)]
#[error("a single-row read returned several rows")]
struct MoreThanOneRow;

/// A slot's last connection attempt failed moments ago.
#[derive(Debug, thiserror::Error)]
#[error("no connection to PostgreSQL for the hot reads (the last attempt failed under {RETRY_AFTER:?} ago)")]
struct ConnectBackoff;

/// The `tokio-postgres` configuration matching sqlx's `options` (which resolved the URL,
/// the `PG*` variables and the defaults): host or socket, port, user, database, options.
/// sqlx does not reveal the password, so it is read from `url` again, else `PGPASSWORD`.
fn config(url: &str, options: &PgConnectOptions) -> Result<Config, Unsupported> {
    match options.get_ssl_mode() {
        PgSslMode::Require => return Err(Unsupported::Tls("require")),
        PgSslMode::VerifyCa => return Err(Unsupported::Tls("verify-ca")),
        PgSslMode::VerifyFull => return Err(Unsupported::Tls("verify-full")),
        PgSslMode::Disable | PgSslMode::Allow | PgSslMode::Prefer => {}
    }
    let mut config = Config::new();
    match options.get_socket() {
        #[cfg(unix)]
        Some(socket) => {
            config.host_path(socket);
        }
        _ => {
            config.host(options.get_host());
        }
    }
    config
        .port(options.get_port())
        .user(options.get_username())
        .application_name(APPLICATION_NAME)
        .ssl_mode(tokio_postgres::config::SslMode::Disable)
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true);
    if let Some(database) = options.get_database() {
        config.dbname(database);
    }
    if let Some(server_options) = options.get_options() {
        config.options(server_options);
    }
    if let Some(password) = password(url) {
        config.password(password);
    }
    Ok(config)
}

/// The password of a `postgres://user:password@…` URL (percent-decoded), else
/// `PGPASSWORD`.
fn password(url: &str) -> Option<Vec<u8>> {
    // tokio-postgres rejects query parameters it does not know (sqlx's
    // `statement-cache-capacity`, …); the password is before them.
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let from_url = base.parse::<Config>().ok().and_then(|parsed| parsed.get_password().map(<[u8]>::to_vec));
    from_url.or_else(|| std::env::var("PGPASSWORD").ok().map(String::into_bytes))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use tokio_postgres::config::Host;

    use super::*;

    fn options(url: &str) -> PgConnectOptions {
        PgConnectOptions::from_str(url).unwrap()
    }

    #[test]
    fn a_url_asking_for_tls_is_not_pipelined() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let url = format!("postgres://u:p@db.example/roster?sslmode={mode}");
            assert!(matches!(config(&url, &options(&url)), Err(Unsupported::Tls(_))), "{mode}");
        }
        for mode in ["disable", "allow", "prefer"] {
            let url = format!("postgres://u:p@db.example/roster?sslmode={mode}");
            assert!(config(&url, &options(&url)).is_ok(), "{mode}");
        }
    }

    #[test]
    fn the_configuration_follows_the_url() {
        let url =
            "postgres://ada:s%40cret@db.example:6543/roster?statement-cache-capacity=10&options=-c%20search_path%3Dx";
        let config = config(url, &options(url)).unwrap();
        assert_eq!(config.get_hosts(), &[Host::Tcp("db.example".to_owned())]);
        assert_eq!(config.get_ports(), &[6543]);
        assert_eq!(config.get_user(), Some("ada"));
        assert_eq!(config.get_password(), Some(&b"s@cret"[..]));
        assert_eq!(config.get_dbname(), Some("roster"));
        assert_eq!(config.get_application_name(), Some(APPLICATION_NAME));
        assert!(config.get_options().is_some_and(|o| o.contains("search_path")));
    }

    #[test]
    fn the_read_clients_setting_parses() {
        assert_eq!(ReadClients::parse(Some("3")), ReadClients::Pipelined(3));
        assert_eq!(ReadClients::parse(Some(" 1 ")), ReadClients::Pipelined(1));
        assert_eq!(ReadClients::parse(Some("0")), ReadClients::Off);
        let default = ReadClients::default_for_this_machine();
        assert!(matches!(default, ReadClients::Pipelined(1..=4)), "{default:?}");
        assert_eq!(ReadClients::parse(Some("")), default);
        assert_eq!(ReadClients::parse(Some("many")), default);
        assert_eq!(ReadClients::parse(None), default);
    }
}
