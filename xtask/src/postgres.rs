//! Finding a PostgreSQL server, or starting a throwaway cluster with `initdb`/`pg_ctl`.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use std::{env, fs};

use crate::{Result, Workspace, display_command, shell_quote};

/// Cluster of `cargo xtask db start` (under the target directory).
pub const DEV_CLUSTER: &str = "xtask-pg";
/// Cluster `cargo xtask test` starts and stops itself.
pub const TEST_CLUSTER: &str = "xtask-pg-test";
/// Cluster `cargo xtask bench` starts and stops itself (apart from the test one, so a bench
/// and a test run do not wipe each other's cluster).
pub const BENCH_CLUSTER: &str = "xtask-pg-bench";
const LOCAL_PORT: u16 = 5432;
const DEBIAN_PG_DIR: &str = "/usr/lib/postgresql";

/// A server that is already running.
#[derive(Debug)]
pub enum Found {
    Env(String),
    DevCluster(String),
    Local(String),
}

impl Found {
    pub fn url(&self) -> &str {
        match self {
            Found::Env(url) | Found::DevCluster(url) | Found::Local(url) => url,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Found::Env(url) => format!("$DATABASE_URL ({})", redact_password(url)),
            Found::DevCluster(url) => format!("the `cargo xtask db start` cluster ({url})"),
            Found::Local(url) => format!("the server on 127.0.0.1:{LOCAL_PORT} ({url})"),
        }
    }
}

/// Looks for a usable server without starting anything: $DATABASE_URL, the dev cluster, then
/// 127.0.0.1:5432.
pub fn find_running(ws: &Workspace) -> Option<Found> {
    match env::var("DATABASE_URL") {
        Ok(url) if is_postgres_url(&url) => return Some(Found::Env(url)),
        Ok(url) if !url.is_empty() => {
            eprintln!("xtask: note: ignoring DATABASE_URL={} (not a postgres:// URL)", redact_password(&url));
        }
        _ => {}
    }
    if let Some(port) = running_port(&cluster_dir(ws, DEV_CLUSTER)) {
        return Some(Found::DevCluster(url_for_port(port)));
    }
    if tcp_open(LOCAL_PORT) {
        let url = url_for_port(LOCAL_PORT);
        match can_log_in(&url) {
            Some(false) => eprintln!(
                "xtask: note: 127.0.0.1:{LOCAL_PORT} answers but `psql {url}` fails without a password; not using it"
            ),
            Some(true) | None => return Some(Found::Local(url)),
        }
    }
    None
}

/// The database the tests run against; stops the throwaway cluster (if any) when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub description: String,
    /// A cluster created just now (so there is nothing to clean up in it).
    pub fresh: bool,
    _cluster: Option<ClusterGuard>,
}

pub fn for_tests(ws: &Workspace, force_throwaway: bool) -> Result<TestDatabase> {
    find_or_start(ws, force_throwaway, TEST_CLUSTER)
}

/// A running server (see [`find_running`]) unless `force_throwaway`; otherwise a throwaway
/// cluster in the target directory under `cluster_name`, stopped when the result is dropped.
pub fn find_or_start(ws: &Workspace, force_throwaway: bool, cluster_name: &str) -> Result<TestDatabase> {
    if !force_throwaway && let Some(found) = find_running(ws) {
        return Ok(TestDatabase {
            url: found.url().to_owned(),
            description: found.describe(),
            fresh: false,
            _cluster: None,
        });
    }
    let bins = PgBinaries::find().ok_or_else(no_postgres_help)?;
    let cluster = Cluster::create(bins, &cluster_dir(ws, cluster_name))?;
    let url = cluster.url();
    let description = format!("a throwaway cluster in {} ({url}), stopped at the end", cluster.dir.display());
    Ok(TestDatabase { url, description, fresh: true, _cluster: Some(ClusterGuard(cluster)) })
}

pub fn no_postgres_help() -> String {
    format!(
        "no PostgreSQL to use: no running server was found or selected, and there are no `initdb`/`pg_ctl` \
         binaries on PATH or in {DEBIAN_PG_DIR}/*/bin to start a throwaway cluster.\n\
         Either install PostgreSQL (Debian/Ubuntu: `sudo apt-get install postgresql`; xtask then starts its own \
         cluster, the system service need not run),\n\
         or point xtask at a server: DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/postgres cargo xtask test \
         (that user must be allowed to create databases)."
    )
}

/// Location of the `initdb`, `pg_ctl` (and usually `psql`) binaries.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    dir: PathBuf,
}

impl PgBinaries {
    /// First PATH entry holding both `initdb` and `pg_ctl`, else the newest `/usr/lib/postgresql/*/bin`.
    pub fn find() -> Option<Self> {
        let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
        if let Some(path) = env::var_os("PATH")
            && let Some(dir) = env::split_paths(&path).find(|dir| has_both(dir))
        {
            return Some(PgBinaries { dir });
        }
        debian_bin_dir(has_both).map(|dir| PgBinaries { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that satisfies `usable`.
fn debian_bin_dir(usable: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let entries = fs::read_dir(DEBIAN_PG_DIR).ok()?;
    let versions: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|version| usable(&Path::new(DEBIAN_PG_DIR).join(version).join("bin")))
        .collect();
    let newest = highest_version(versions.iter().map(String::as_str))?;
    Some(Path::new(DEBIAN_PG_DIR).join(newest).join("bin"))
}

/// The highest of dotted numeric version names ("9.6" < "10" < "16"); other names are ignored.
fn highest_version<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let key = |name: &str| name.split('.').map(|part| part.parse::<u32>().ok()).collect::<Option<Vec<u32>>>();
    names.into_iter().filter_map(|name| Some((key(name)?, name))).max().map(|(_, name)| name)
}

fn find_psql() -> Option<PathBuf> {
    if let Some(path) = env::var_os("PATH")
        && let Some(psql) = env::split_paths(&path).map(|dir| dir.join("psql")).find(|psql| psql.is_file())
    {
        return Some(psql);
    }
    debian_bin_dir(|dir| dir.join("psql").is_file()).map(|dir| dir.join("psql"))
}

/// A PostgreSQL client program such as `pgbench`: next to `initdb`/`pg_ctl` (same version as
/// the server xtask would start), else the newest `/usr/lib/postgresql/*/bin`, else on PATH.
pub fn find_client_program(name: &str) -> Option<PathBuf> {
    if let Some(bins) = PgBinaries::find()
        && bins.path(name).is_file()
    {
        return Some(bins.path(name));
    }
    if let Some(dir) = debian_bin_dir(|dir| dir.join(name).is_file()) {
        return Some(dir.join(name));
    }
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(name)).find(|program| program.is_file())
}

/// Runs `sql` (one statement, outside any transaction block) with psql against `url` and
/// returns what it printed (unaligned, tuples only).
pub fn run_sql(url: &str, sql: &str) -> Result<String> {
    let psql_path = find_psql().ok_or("psql not found (install the PostgreSQL client)")?;
    let mut command = psql(&psql_path, url);
    command.args(["-c", sql]);
    let output = command.output().map_err(|err| format!("cannot run psql: {err}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("`{sql}` failed on {}: {}", redact_password(url), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// `psql` that neither reads ~/.psqlrc nor prompts for a password.
fn psql(psql: &Path, url: &str) -> Command {
    let mut command = Command::new(psql);
    command.args(["-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-At"]).arg(url);
    command.env("PGCONNECT_TIMEOUT", "5").stdin(Stdio::null());
    command
}

/// Whether `url` accepts a password-less login; `None` when psql is not installed.
fn can_log_in(url: &str) -> Option<bool> {
    let psql_path = find_psql()?;
    let output = psql(&psql_path, url).args(["-c", "select 1"]).output().ok()?;
    Some(output.status.success())
}

/// Drops `roster_t_*` databases left by earlier (crashed) test runs. Databases with open
/// connections are kept: they may belong to a test run going on right now. Failures are reported
/// and otherwise ignored.
pub fn drop_leftover_databases(url: &str) {
    let Some(psql_path) = find_psql() else {
        eprintln!("xtask: note: psql not found; not dropping leftover roster_t_* test databases");
        return;
    };
    let query = r"select datname, exists (select 1 from pg_stat_activity a where a.datid = d.oid)
                  from pg_database d where datname like 'roster\_t\_%' order by datname";
    let output = match psql(&psql_path, url).args(["-F", "|", "-c", query]).output() {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            eprintln!("xtask: note: could not list leftover test databases (ignored): {}", stderr.trim());
            return;
        }
        Err(err) => {
            eprintln!("xtask: note: could not run psql to list leftover test databases (ignored): {err}");
            return;
        }
    };
    let (mut dropped, mut in_use, mut failed) = (0, 0, 0);
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((name, busy)) = line.rsplit_once('|') else { continue };
        if busy == "t" {
            in_use += 1;
            continue;
        }
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
        match psql(&psql_path, url).args(["-c", &sql]).output() {
            Ok(output) if output.status.success() => dropped += 1,
            Ok(output) => {
                failed += 1;
                eprintln!("xtask: note: {sql} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
            }
            Err(err) => {
                failed += 1;
                eprintln!("xtask: note: {sql} failed: {err}");
            }
        }
    }
    if dropped + in_use + failed > 0 {
        eprintln!(
            "xtask: leftover test databases: {dropped} dropped, {in_use} kept (in use by another run?), {failed} failed"
        );
    }
}

/// A cluster started by xtask (as user `nobody` when xtask runs as root).
#[derive(Debug)]
pub struct Cluster {
    bins: PgBinaries,
    pub dir: PathBuf,
    pub port: u16,
}

impl Cluster {
    /// Replaces whatever is in `dir` by a fresh cluster and starts it on a free port.
    pub fn create(bins: PgBinaries, dir: &Path) -> Result<Self> {
        discard(&bins, dir)?;
        fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        if running_as_root() {
            prepare_for_nobody(dir)?;
        }
        eprintln!("xtask: creating a PostgreSQL cluster in {} (binaries from {})", dir.display(), bins.dir.display());
        let mut initdb = pg_command(&bins, "initdb", dir);
        initdb.arg("-D").arg(dir).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ]);
        run_quietly(&mut initdb)?;

        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = free_port()?;
            match start(&bins, dir, port) {
                Ok(()) => return Ok(Cluster { bins, dir: dir.to_path_buf(), port }),
                // Most likely someone else took the port meanwhile; try another one.
                Err(err) => last_error = err,
            }
        }
        Err(last_error)
    }

    pub fn url(&self) -> String {
        url_for_port(self.port)
    }
}

/// Stops the cluster when dropped, also on panics and errors.
#[derive(Debug)]
pub struct ClusterGuard(pub Cluster);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        eprintln!("xtask: stopping the throwaway PostgreSQL cluster in {}", self.0.dir.display());
        if let Err(err) = stop(&self.0.bins, &self.0.dir, "fast") {
            eprintln!("xtask: warning: {err}");
        }
    }
}

fn start(bins: &PgBinaries, dir: &Path, port: u16) -> Result<()> {
    // The Unix socket goes into the data dir, unless that path is too long for a socket address
    // (TCP is what everyone uses anyway).
    let socket_dir = if dir.join(".s.PGSQL.65535.lock").as_os_str().len() < 100 {
        shell_quote(&dir.to_string_lossy())
    } else {
        "''".to_owned()
    };
    // pg_ctl hands these to /bin/sh, hence the quoting.
    let options = format!(
        "-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200"
    );
    let log = dir.join("log");
    let mut pg_ctl = pg_command(bins, "pg_ctl", dir);
    pg_ctl.arg("-D").arg(dir).args(["-o", &options, "-w", "-t", "60", "-l"]).arg(&log).arg("start");
    run_quietly(&mut pg_ctl).map_err(|err| format!("{err}\n--- end of {} ---\n{}", log.display(), tail(&log, 20)))
}

/// `pg_ctl stop`; a no-op when the directory holds no `postmaster.pid`.
pub fn stop(bins: &PgBinaries, dir: &Path, mode: &str) -> Result<()> {
    if !dir.join("postmaster.pid").exists() {
        return Ok(());
    }
    let mut pg_ctl = pg_command(bins, "pg_ctl", dir);
    pg_ctl.arg("-D").arg(dir).args(["-m", mode, "-w", "-t", "60", "stop"]);
    run_quietly(&mut pg_ctl)
}

/// Stops a cluster possibly left running in `dir` (e.g. by a killed xtask) and deletes `dir`.
fn discard(bins: &PgBinaries, dir: &Path) -> Result<()> {
    if let Err(err) = stop(bins, dir, "immediate") {
        eprintln!("xtask: note: stopping the old cluster in {} failed (ignored): {err}", dir.display());
    }
    match fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove the old cluster {}: {err}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Port of the cluster running in `dir`, if one is.
pub fn running_port(dir: &Path) -> Option<u16> {
    let (pid, port) = parse_pid_file(&fs::read_to_string(dir.join("postmaster.pid")).ok()?)?;
    let alive = !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists();
    (alive && tcp_open(port)).then_some(port)
}

/// PID and port from a `postmaster.pid` (line 1: PID, line 4: port).
fn parse_pid_file(text: &str) -> Option<(u32, u16)> {
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let port = lines.nth(2)?.trim().parse().ok()?;
    Some((pid, port))
}

/// Runs a PostgreSQL program; PostgreSQL refuses to run as root, so root runs it as `nobody`.
fn pg_command(bins: &PgBinaries, program: &str, dir: &Path) -> Command {
    let mut command = if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--"]).arg(bins.path(program));
        command
    } else {
        Command::new(bins.path(program))
    };
    // initdb wants a current directory its user can enter.
    command.current_dir(dir).stdin(Stdio::null());
    command
}

fn run_quietly(command: &mut Command) -> Result<()> {
    let output = command.output().map_err(|err| format!("cannot run `{}`: {err}", display_command(command)))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{}` failed ({}):\n{}{}",
        display_command(command),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn running_as_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id").arg("-u").output().is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
    })
}

/// Where the cluster called `name` lives: the target directory, unless xtask runs as root and
/// `nobody` could not reach it there (e.g. a checkout under /root); then a fixed directory in /tmp.
pub fn cluster_dir(ws: &Workspace, name: &str) -> PathBuf {
    if !running_as_root() || traversable_by_others(&ws.target) {
        return ws.target.join(name);
    }
    let hash = ws.root.to_string_lossy().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3) // FNV-1a: stable across runs
    });
    env::temp_dir().join(format!("roster-xtask-{hash:016x}")).join(name)
}

fn traversable_by_others(dir: &Path) -> bool {
    dir.ancestors().all(|dir| fs::metadata(dir).is_ok_and(|meta| meta.permissions().mode() & 0o001 != 0))
}

fn prepare_for_nobody(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent()
        && parent.file_name().is_some_and(|name| name.to_string_lossy().starts_with("roster-xtask-"))
    {
        // Our own directory in /tmp (see `cluster_dir`).
        fs::set_permissions(parent, fs::Permissions::from_mode(0o755))
            .map_err(|err| format!("cannot chmod {}: {err}", parent.display()))?;
    }
    if let Some(parent) = dir.parent()
        && !traversable_by_others(parent)
    {
        return Err(format!(
            "PostgreSQL cannot run as root, and user nobody cannot reach {}; make its parent directories \
             world-traversable (chmod o+x) or run xtask as a regular user",
            dir.display()
        ));
    }
    let mut chown = Command::new("chown");
    chown.args(["-R", "nobody"]).arg(dir);
    run_quietly(&mut chown)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|err| format!("cannot find a free port: {err}"))?;
    listener.local_addr().map(|addr| addr.port()).map_err(|err| format!("cannot find a free port: {err}"))
}

fn tcp_open(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_secs(1)).is_ok()
}

fn url_for_port(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`, for printing.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_owned(),
    }
}

/// `url` with its database (path) replaced by `database`, query parameters kept.
pub fn with_database(url: &str, database: &str) -> Result<String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("not a URL: {}", redact_password(url)))?;
    let (before_query, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    let authority = before_query.split_once('/').map_or(before_query, |(authority, _path)| authority);
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_version_compares_numerically() {
        assert_eq!(highest_version(["9.6", "15", "10", "13"]), Some("15"));
        assert_eq!(highest_version(["9.6", "9.10"]), Some("9.10"));
        assert_eq!(highest_version(["16", "17beta1", "common"]), Some("16"));
        assert_eq!(highest_version(["common"]), None);
        assert_eq!(highest_version([]), None);
    }

    #[test]
    fn parses_postmaster_pid() {
        let text = "12345\n/work/main/target/xtask-pg\n1732400000\n40123\n/work/main/target/xtask-pg\n127.0.0.1\n  \
                    1234567     32768\nready   \n";
        assert_eq!(parse_pid_file(text), Some((12345, 40123)));
        assert_eq!(parse_pid_file("12345\n/dir\n"), None);
        assert_eq!(parse_pid_file(""), None);
    }

    #[test]
    fn recognizes_postgres_urls() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("postgresql://u@h/db"));
        assert!(!is_postgres_url("sqlite://roster.db"));
        assert!(!is_postgres_url(""));
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact_password("postgres://u:s3cr@t@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_password("postgres://postgres@127.0.0.1/postgres"), "postgres://postgres@127.0.0.1/postgres");
        assert_eq!(redact_password("postgres:///db"), "postgres:///db");
        assert_eq!(
            redact_password("postgres://u:p@h/db?application_name=a@b"),
            "postgres://u:***@h/db?application_name=a@b"
        );
    }

    #[test]
    fn replaces_the_database_of_urls() {
        let with = |url, db| with_database(url, db).unwrap();
        assert_eq!(with("postgres://postgres@127.0.0.1:5432/postgres", "b"), "postgres://postgres@127.0.0.1:5432/b");
        assert_eq!(with("postgres://u:p@h/db?sslmode=disable", "b"), "postgres://u:p@h/b?sslmode=disable");
        assert_eq!(with("postgresql://h:5432", "b"), "postgresql://h:5432/b");
        assert_eq!(with("postgres://h?application_name=x", "b"), "postgres://h/b?application_name=x");
        assert!(with_database("nope", "b").is_err());
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("roster_t_1"), "\"roster_t_1\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
