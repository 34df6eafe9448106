//! `cargo xtask bench`: Roster's read path against PostgreSQL's own select-only throughput.
//!
//! The dev-built `cargo xtask bench` builds the release `roster` and `xtask` binaries, then
//! replaces itself with `target/release/xtask bench-run` (a debug load generator would be the
//! bottleneck). `bench-run`:
//!
//! 1. finds or starts PostgreSQL (as `cargo xtask test` does, with its own throwaway cluster
//!    in target/xtask-pg-bench), and creates the databases `roster_bench` and `roster_pgbench`;
//! 2. seeds one organization with `--users` users through the storage layer ([`seed`]);
//! 3. starts `target/release/roster serve` on `roster_bench` ([`server`]);
//! 4. runs each scenario of [`scenarios::ALL`] (REST GET user with a platform key and with a
//!    member's session, gRPC GetUser, AuthService.Authenticate, BatchCheckPermissions with 10
//!    pairs; each with its target, see [`scenarios::Target`]) for `--duration-secs`
//!    after `--warmup-secs`, one after the other, from the in-process load generator
//!    ([`loadgen`]): `--connections` tasks, each with its own connection, closed loop, on one
//!    thread (`--loadgen-threads`), as pgbench does; the clients ([`wire`]: hyper's HTTP/1.1,
//!    gRPC on `h2` directly) are kept lean, since they share the CPUs with what they measure;
//!    Then the write scenarios: creating invited users (judged against pgbench's single-row
//!    INSERT rate) and users with a password (judged against the machine's argon2id rate),
//!    and the GET latency probe at rest and while password creations hash on every core;
//! 5. stops the server, measures the machine's argon2id rate ([`argon2`]) and runs
//!    `pgbench -S -M prepared` and a single-row INSERT into a users-like table at the same
//!    concurrency ([`pgbench`]);
//! 6. prints requests per second, p50/p99 latency, the ratio to pgbench's transactions per
//!    second and where the CPU went ([`cpu`]), and writes it all to target/bench/results.json.
//!
//! New scenarios (another endpoint, a write rate) are a [`scenarios::Scenario`] entry plus a
//! [`loadgen::Client`] implementation.

mod argon2;
mod cpu;
mod loadgen;
mod pgbench;
mod report;
mod scenarios;
mod seed;
mod server;
mod wire;

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::postgres::{self, BENCH_CLUSTER};
use crate::test_task::PostgresArgs;
use crate::{Result, Workspace, display_command, interrupted, run_step};

/// Database Roster is seeded into and served from.
const ROSTER_DB: &str = "roster_bench";
/// Database `pgbench -i` fills.
const PGBENCH_DB: &str = "roster_pgbench";
/// `pgbench -i -s`: 1,000,000 accounts, more rows than Roster's users, still quick to build.
const PGBENCH_SCALE: u32 = 10;
/// How often (and how long apart) the server's `/readyz` is polled before giving up.
const READY_ATTEMPTS: u32 = 300;
const READY_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub postgres: PostgresArgs,
    /// How long each scenario (and pgbench) is measured, after the warm-up.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration_secs: u64,
    /// Concurrent connections (one task each) for every scenario and for pgbench.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub connections: u32,
    /// Users seeded into the organization.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub users: u32,
    /// Load applied before measuring starts, per scenario.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup_secs: u64,
    /// Run only these scenarios (comma-separated): rest_get_user, rest_get_user_session,
    /// grpc_get_user, grpc_authenticate, grpc_batch_check, rest_create_invited,
    /// rest_create_password, rest_get_probe, rest_get_while_hashing, pgbench, pgbench_insert,
    /// argon2id, and the diagnostics storage_get_user and grpc_get_user_tonic (not run by default).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub only: Vec<String>,
    /// Use the release binaries as they are instead of running `cargo build --release` first.
    #[arg(long)]
    pub skip_build: bool,
    /// Exit with an error when a target is missed (by default a miss prints FAIL only).
    #[arg(long)]
    pub strict: bool,
    /// Leave the databases roster_bench and roster_pgbench behind, for a closer look.
    #[arg(long)]
    pub keep_databases: bool,
    /// Threads of the load generator. One (the default) is how pgbench drives its 32
    /// connections too: no cross-thread wake-ups, so it takes the least CPU from the server.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub loadgen_threads: u32,
    /// Connections of the GET latency probe, at rest and while --connections clients create
    /// users with passwords (default: --connections, as every other GET scenario).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub probe_connections: Option<u32>,
    /// Record the whole machine with `perf record -a` during each measured window, into
    /// target/bench/perf-<scenario>.data (look with `perf report -i FILE --sort comm,dso`).
    #[arg(long)]
    pub perf: bool,
}

impl BenchArgs {
    /// The arguments again, for `bench-run`.
    fn to_cli(&self) -> Vec<String> {
        let mut args = vec![
            format!("--duration-secs={}", self.duration_secs),
            format!("--connections={}", self.connections),
            format!("--users={}", self.users),
            format!("--warmup-secs={}", self.warmup_secs),
            format!("--loadgen-threads={}", self.loadgen_threads),
        ];
        if let Some(probe) = self.probe_connections {
            args.push(format!("--probe-connections={probe}"));
        }
        if !self.only.is_empty() {
            args.push(format!("--only={}", self.only.join(",")));
        }
        if self.strict {
            args.push("--strict".to_owned());
        }
        if self.postgres.throwaway_postgres {
            args.push("--throwaway-postgres".to_owned());
        }
        if self.keep_databases {
            args.push("--keep-databases".to_owned());
        }
        if self.perf {
            args.push("--perf".to_owned());
        }
        args
    }

    /// Whether the scenario (or phase) `name` runs: those named in `--only`, else the defaults.
    fn selected(&self, name: &str, default: bool) -> bool {
        if self.only.is_empty() { default } else { self.only.iter().any(|only| only == name) }
    }

    fn check_selection(&self) -> Result<()> {
        let known: Vec<&str> =
            scenarios::ALL.iter().map(|s| s.name).chain([pgbench::NAME, pgbench::INSERT_NAME, argon2::NAME]).collect();
        match self.only.iter().find(|name| !known.contains(&name.as_str())) {
            Some(unknown) => Err(format!("unknown scenario `{unknown}` in --only; known: {}", known.join(", "))),
            None => Ok(()),
        }
    }
}

/// `cargo xtask bench`: build the release binaries, then hand over to `xtask bench-run`.
pub fn run(ws: &Workspace, args: &BenchArgs) -> Result<()> {
    args.check_selection()?;
    if args.skip_build {
        eprintln!("xtask bench: --skip-build: using the release binaries as they are");
    } else if !run_step(ws.cargo().args(["build", "--release", "-p", "roster", "-p", "xtask"]))? {
        return Err("bench: `cargo build --release` failed".to_owned());
    }
    if interrupted() {
        return Err("interrupted".to_owned());
    }
    let xtask = release_binary(ws, "xtask")?;
    let mut command = Command::new(&xtask);
    command.arg("bench-run").args(args.to_cli()).current_dir(&ws.root);
    eprintln!("==> {}", display_command(&command));
    // Only returns on failure.
    let err = command.exec();
    Err(format!("cannot run {}: {err}", xtask.display()))
}

/// `xtask bench-run` (release build): everything else.
pub fn run_measurements(ws: &Workspace, args: &BenchArgs) -> Result<()> {
    args.check_selection()?;
    if cfg!(debug_assertions) {
        eprintln!("xtask bench: warning: this load generator is a debug build; its figures are meaningless");
    }
    // h2 and hyper open trace spans on every frame. With no subscriber at all, `tracing`
    // (its `log` feature is on in this build) hands each one to `log`; a subscriber that
    // wants nothing turns them off for good at their first use (~2% of the gRPC client).
    let _ = tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::new());
    let scenarios: Vec<&scenarios::Scenario> =
        scenarios::ALL.iter().filter(|s| args.selected(s.name, s.default)).collect();
    let roster = if scenarios.is_empty() { None } else { Some(release_binary(ws, "roster")?) };
    let pgbench_bin = if args.selected(pgbench::NAME, true) {
        Some(postgres::find_client_program("pgbench").ok_or("pgbench not found (install the PostgreSQL client)")?)
    } else {
        None
    };
    let pgbench_insert_bin = if args.selected(pgbench::INSERT_NAME, true) {
        Some(postgres::find_client_program("pgbench").ok_or("pgbench not found (install the PostgreSQL client)")?)
    } else {
        None
    };
    let bench_dir = ws.target.join("bench");
    fs::create_dir_all(&bench_dir).map_err(|err| format!("cannot create {}: {err}", bench_dir.display()))?;
    // Held until the end: a second run would drop this one's databases and share its CPUs.
    let _lock = lock_bench_dir(&bench_dir)?;
    if args.perf && !cpu::perf_available() {
        return Err("--perf: `perf` cannot be run here (install linux-perf / linux-tools)".to_owned());
    }
    let perf_output = |name: &str| args.perf.then(|| bench_dir.join(format!("perf-{name}.data")));

    // Named threads keep the load generator apart from the server in `perf report --sort comm`
    // (with one thread, the load runs on this one, named `xtask`).
    let mut runtime = if args.loadgen_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(args.loadgen_threads as usize);
        builder
    };
    let runtime = runtime
        .thread_name("xtask-loadgen")
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the async runtime: {err}"))?;

    // Drop order matters: the server goes first, then the databases, then the cluster.
    let database = postgres::find_or_start(ws, args.postgres.throwaway_postgres, BENCH_CLUSTER)?;
    eprintln!("xtask bench: PostgreSQL: {}", database.description);
    let mut databases = Databases::create(&database.url, &[ROSTER_DB, PGBENCH_DB])?;
    let roster_url = postgres::with_database(&database.url, ROSTER_DB)?;
    let pgbench_url = postgres::with_database(&database.url, PGBENCH_DB)?;

    let load = loadgen::LoadSpec {
        connections: args.connections as usize,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
    };
    let mut report = report::Report::new(args, &load);

    if let Some(roster) = roster {
        eprintln!("xtask bench: seeding {} users into {ROSTER_DB}", args.users);
        let seeded = runtime.block_on(seed::seed(&roster_url, args.users as usize))?;
        eprintln!(
            "xtask bench: seeded {} users in {:.1}s ({:.0} users/s)",
            seeded.user_ids.len(),
            seeded.elapsed.as_secs_f64(),
            seeded.user_ids.len() as f64 / seeded.elapsed.as_secs_f64().max(1e-9)
        );
        report.seed(seeded.user_ids.len(), seeded.elapsed);
        let started = Instant::now();
        postgres::run_sql(&roster_url, "VACUUM (ANALYZE)")?;
        eprintln!("xtask bench: VACUUM (ANALYZE) of {ROSTER_DB} took {:.1}s", started.elapsed().as_secs_f64());

        let data_dir = bench_dir.join("data");
        let _ = fs::remove_dir_all(&data_dir);
        let mut server = server::RosterServer::start(&server::ServerConfig {
            binary: &roster,
            database_url: &roster_url,
            data_dir: &data_dir,
            log: &bench_dir.join("roster.log"),
            db_max_connections: args.connections,
        })?;
        server.wait_ready(READY_ATTEMPTS, READY_INTERVAL)?;
        eprintln!("xtask bench: roster serving REST on {} and gRPC on {}", server.http_addr, server.grpc_addr);

        let context = Arc::new(scenarios::Context {
            database_url: roster_url.clone(),
            http_addr: server.http_addr,
            grpc_addr: server.grpc_addr,
            api_key: seeded.api_key,
            service_key: seeded.service_key,
            session_token: seeded.session_token,
            org_id: seeded.org_id,
            user_ids: seeded.user_ids.into(),
            probe_connections: args.probe_connections.unwrap_or(args.connections) as usize,
        });
        let probe = cpu::Probe::new(Some(server.pid()));
        for scenario in scenarios {
            if interrupted() {
                return Err("interrupted".to_owned());
            }
            eprintln!(
                "xtask bench: {}: {} connections, {}s warm-up + {}s measured",
                scenario.label, args.connections, args.warmup_secs, args.duration_secs
            );
            let probe = probe.clone().with_perf(perf_output(scenario.name));
            let stats = runtime.block_on((scenario.run)(context.clone(), load.clone(), probe))?;
            eprintln!("xtask bench: {}: {}", scenario.label, stats.summary());
            report.scenario(scenario, stats);
        }
        // Off the runtime, nothing polls what its clients left behind (tonic's connection
        // tasks, with one thread): dropping it closes their connections, so the server's
        // graceful shutdown does not wait for them.
        drop(runtime);
        server.stop()?;
    }

    if args.selected(argon2::NAME, true) {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        eprintln!("xtask bench: argon2id rate, {threads} threads, {}s", args.duration_secs);
        let rate = argon2::rate(
            threads,
            Duration::from_secs(args.warmup_secs.min(2)),
            Duration::from_secs(args.duration_secs),
        )?;
        eprintln!("xtask bench: argon2id: {rate:.1} hashes/s");
        report.argon2_rate(rate);
    }

    if let Some(pgbench_bin) = pgbench_bin {
        if interrupted() {
            return Err("interrupted".to_owned());
        }
        let run = pgbench::Pgbench { program: &pgbench_bin, url: &pgbench_url };
        eprintln!("xtask bench: pgbench -i -s {PGBENCH_SCALE} {PGBENCH_DB}");
        run.init(PGBENCH_SCALE)?;
        if args.warmup_secs > 0 {
            eprintln!("xtask bench: pgbench warm-up ({}s)", args.warmup_secs);
            run.select_only(args.connections, args.warmup_secs)?;
        }
        eprintln!("xtask bench: pgbench -S -M prepared -c {} for {}s", args.connections, args.duration_secs);
        let probe = cpu::Probe::new(None).with_perf(perf_output(pgbench::NAME));
        let perf = probe.start_perf(Duration::from_secs(args.duration_secs))?;
        let before = probe.snapshot();
        let mut result = run.select_only(args.connections, args.duration_secs)?;
        result.cpu = Some(probe.snapshot().since(&before));
        if let Some(perf) = perf {
            perf.finish()?;
        }
        report.pgbench(result);
    }

    if let Some(pgbench_bin) = pgbench_insert_bin {
        if interrupted() {
            return Err("interrupted".to_owned());
        }
        let run = pgbench::Pgbench { program: &pgbench_bin, url: &pgbench_url };
        postgres::run_sql(&pgbench_url, pgbench::INSERT_TABLE_SQL)?;
        if args.warmup_secs > 0 {
            run.insert_only(args.connections, args.warmup_secs, &bench_dir)?;
        }
        eprintln!("xtask bench: pgbench single-row INSERT -c {} for {}s", args.connections, args.duration_secs);
        let result = run.insert_only(args.connections, args.duration_secs, &bench_dir)?;
        eprintln!("xtask bench: pgbench INSERT: {:.0} tps", result.tps);
        report.pgbench_insert(result);
    }

    if args.keep_databases {
        databases.keep();
        eprintln!("xtask bench: --keep-databases: kept {roster_url} and {pgbench_url}");
        if database.fresh {
            eprintln!("xtask bench: (the throwaway cluster stops now; `cargo xtask db start` keeps one running)");
        }
    }
    drop(databases);
    drop(database);

    let outcome = report.finish();
    let json_path = bench_dir.join("results.json");
    report::write_json(&json_path, &outcome.json)?;
    println!("{}", outcome.table);
    eprintln!("xtask bench: results written to {}", json_path.display());
    if args.perf {
        eprintln!(
            "xtask bench: perf recordings in {}/perf-*.data; e.g. `perf report -i FILE --sort comm,dso`",
            bench_dir.display()
        );
    }
    if let Some(errors) = outcome.errors {
        return Err(errors);
    }
    if args.strict && !outcome.all_passed {
        return Err("bench: a target was missed (--strict)".to_owned());
    }
    Ok(())
}

/// An exclusive lock on `bench_dir`, waiting for a run that holds it to finish.
fn lock_bench_dir(bench_dir: &std::path::Path) -> Result<fs::File> {
    let path = bench_dir.join("lock");
    let file = fs::File::create(&path).map_err(|err| format!("cannot create {}: {err}", path.display()))?;
    if file.try_lock().is_err() {
        eprintln!("xtask bench: another bench run holds {}; waiting for it to finish", path.display());
        file.lock().map_err(|err| format!("cannot lock {}: {err}", path.display()))?;
    }
    Ok(file)
}

fn release_binary(ws: &Workspace, name: &str) -> Result<PathBuf> {
    let path = ws.target.join("release").join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} not found; run `cargo build --release -p roster -p xtask`", path.display()))
    }
}

/// Fresh databases for the run, dropped again at the end (also on errors).
struct Databases {
    admin_url: String,
    names: Vec<&'static str>,
}

impl Databases {
    fn create(admin_url: &str, names: &[&'static str]) -> Result<Self> {
        let mut databases = Databases { admin_url: admin_url.to_owned(), names: Vec::new() };
        for &name in names {
            let quoted = postgres::quote_ident(name);
            postgres::run_sql(admin_url, &format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))?;
            postgres::run_sql(admin_url, &format!("CREATE DATABASE {quoted}"))?;
            databases.names.push(name);
        }
        Ok(databases)
    }

    /// Leaves the databases in place.
    fn keep(&mut self) {
        self.names.clear();
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        for name in &self.names {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", postgres::quote_ident(name));
            if let Err(err) = postgres::run_sql(&self.admin_url, &sql) {
                eprintln!("xtask bench: warning: {err}");
            }
        }
    }
}
