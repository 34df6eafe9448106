//! The verdict: a table for people, target/bench/results.json for tools.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::BenchArgs;
use super::cpu::CpuUsage;
use super::loadgen::{LoadSpec, Stats};
use super::pgbench::PgbenchResult;
use super::scenarios::{Scenario, Target};
use crate::Result;

/// Each API scenario must reach at least this fraction of pgbench's select-only tps...
pub const MIN_RATIO: f64 = 0.5;
/// ...with a p99 latency of at most this many milliseconds.
pub const MAX_P99_MS: f64 = 10.0;

/// CPU used by other programs (beyond interrupts) above which a phase is flagged as disturbed.
const FOREIGN_LOAD_WARNING_CORES: f64 = 0.3;

/// Results as they come in.
#[derive(Debug)]
pub struct Report {
    config: Value,
    seed: Option<(usize, Duration)>,
    scenarios: Vec<(&'static Scenario, Stats)>,
    pgbench: Option<PgbenchResult>,
    pgbench_insert: Option<PgbenchResult>,
    argon2_rate: Option<f64>,
}

/// The finished report.
#[derive(Debug)]
pub struct Outcome {
    pub table: String,
    pub json: Value,
    /// Failed requests, if any (the run is then an error).
    pub errors: Option<String>,
    /// Whether every target was met.
    pub all_passed: bool,
}

impl Report {
    pub fn new(args: &BenchArgs, load: &LoadSpec) -> Self {
        let config = json!({
            "connections": load.connections,
            "duration_secs": load.duration.as_secs_f64(),
            "warmup_secs": load.warmup.as_secs_f64(),
            "users": args.users,
            "cores": std::thread::available_parallelism().map_or(0, usize::from),
        });
        Self { config, seed: None, scenarios: Vec::new(), pgbench: None, pgbench_insert: None, argon2_rate: None }
    }

    pub fn seed(&mut self, users: usize, elapsed: Duration) {
        self.seed = Some((users, elapsed));
    }

    pub fn scenario(&mut self, scenario: &'static Scenario, stats: Stats) {
        self.scenarios.push((scenario, stats));
    }

    pub fn pgbench(&mut self, result: PgbenchResult) {
        self.pgbench = Some(result);
    }

    pub fn pgbench_insert(&mut self, result: PgbenchResult) {
        self.pgbench_insert = Some(result);
    }

    pub fn argon2_rate(&mut self, hashes_per_sec: f64) {
        self.argon2_rate = Some(hashes_per_sec);
    }

    pub fn finish(&self) -> Outcome {
        let pgbench_tps = self.pgbench.as_ref().map(|p| p.tps).filter(|tps| *tps > 0.0);
        let mut table = String::new();
        let mut scenarios_json = Vec::new();
        let mut errors = Vec::new();
        let mut all_passed = true;
        let _ = writeln!(
            table,
            "Roster bench: {} users, {} connections, {}s measured after {}s warm-up",
            self.config["users"], self.config["connections"], self.config["duration_secs"], self.config["warmup_secs"]
        );
        for (scenario, stats) in &self.scenarios {
            let ratio = pgbench_tps.map(|tps| stats.rps() / tps);
            let p99 = stats.latency_ms(0.99);
            let baseline = |name: &str| self.scenarios.iter().find(|(s, _)| s.name == name).map(|(_, b)| b);
            let baseline_rps = |name: &str| baseline(name).map(Stats::rps).filter(|r| *r > 0.0);
            let insert_tps = self.pgbench_insert.as_ref().map(|p| p.tps).filter(|tps| *tps > 0.0);
            let (passed, target_text) = match scenario.target {
                Target::None => (None, "diagnostic, no target".to_owned()),
                Target::Pgbench => (
                    ratio.map(|r| r >= MIN_RATIO && p99 <= MAX_P99_MS),
                    format!("target ≥{MIN_RATIO}× pgbench, p99 ≤{MAX_P99_MS}ms"),
                ),
                Target::Absolute { min_rps, max_p99_ms } => (
                    Some(stats.rps() >= min_rps && p99 <= max_p99_ms),
                    format!("target ≥{min_rps:.0}/s, p99 ≤{max_p99_ms}ms"),
                ),
                Target::Overhead { baseline, max_overhead } => match baseline_rps(baseline) {
                    Some(base) => (
                        Some(stats.rps() >= base * (1.0 - max_overhead)),
                        format!(
                            "{:.1}% slower than {baseline} (target ≤{:.0}%)",
                            (1.0 - stats.rps() / base) * 100.0,
                            max_overhead * 100.0
                        ),
                    ),
                    None => (None, format!("n/a ({baseline} not run)")),
                },
                Target::PgbenchInsert { min_ratio } => match insert_tps {
                    Some(tps) => (
                        Some(stats.rps() >= tps * min_ratio),
                        format!("{:.2}× pgbench INSERT {tps:.0}/s (target ≥{min_ratio}×)", stats.rps() / tps),
                    ),
                    None => (None, "n/a (pgbench_insert not run)".to_owned()),
                },
                Target::Argon2 { min_ratio } => match self.argon2_rate {
                    Some(rate) if rate > 0.0 => (
                        Some(stats.rps() >= rate * min_ratio),
                        format!(
                            "{:.0}% of argon2id {rate:.1}/s (target ≥{:.0}%)",
                            stats.rps() / rate * 100.0,
                            min_ratio * 100.0
                        ),
                    ),
                    _ => (None, "n/a (argon2id not run)".to_owned()),
                },
                Target::P99Factor { baseline: name, max_factor } => match baseline(name) {
                    Some(base) if base.requests > 0 => {
                        let base_p99 = base.latency_ms(0.99);
                        (
                            Some(p99 <= base_p99 * max_factor),
                            format!("p99 {:.2}× {name}'s {base_p99:.2}ms (target ≤{max_factor}×)", p99 / base_p99),
                        )
                    }
                    _ => (None, format!("n/a ({name} not run)")),
                },
            };
            if passed == Some(false) {
                all_passed = false;
            }
            let ratio_text = ratio.map_or_else(|| "n/a (no pgbench run)".to_owned(), |r| format!("{r:.2}× pgbench"));
            let verdict = match passed {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "-",
            };
            let targets = format!("  ratio={ratio_text} ({target_text})  {verdict}");
            let _ = writeln!(
                table,
                "{:<18} rps={:<8.0} p50={:.2}ms  p99={:.2}ms{targets}",
                scenario.label,
                stats.rps(),
                stats.latency_ms(0.5),
                p99,
            );
            if stats.errors > 0 {
                let _ = writeln!(table, "{:<18} {} FAILED REQUESTS, e.g. {:?}", "", stats.errors, stats.error_samples);
                errors.push(format!("{}: {} failed requests", scenario.label, stats.errors));
            }
            if let Some(cpu) = &stats.cpu {
                let _ = writeln!(table, "{:<18} cpu: {}", "", cpu.summary());
            }
            scenarios_json.push(json!({
                "name": scenario.name,
                "label": scenario.label,
                "requests": stats.requests,
                "errors": stats.errors,
                "error_samples": stats.error_samples,
                "rps": round(stats.rps(), 1),
                "latency_ms": {
                    "mean": round(stats.mean_ms(), 3),
                    "p50": round(stats.latency_ms(0.5), 3),
                    "p90": round(stats.latency_ms(0.9), 3),
                    "p99": round(p99, 3),
                    "p999": round(stats.latency_ms(0.999), 3),
                    "max": round(stats.max_ms(), 3),
                },
                "ratio_to_pgbench": ratio.map(|r| round(r, 3)),
                "target": target_text,
                "pass": passed,
                "cpu_cores": stats.cpu.as_ref().map(cpu_json),
            }));
        }
        if let Some(pgbench) = &self.pgbench {
            let latency = pgbench.latency_avg_ms.map_or_else(String::new, |ms| format!("  latency avg={ms:.2}ms"));
            let _ = writeln!(table, "{:<18} tps={:.0}{latency}", "pgbench -S", pgbench.tps);
            if let Some(cpu) = &pgbench.cpu {
                let _ = writeln!(table, "{:<18} cpu: {} (loadgen = pgbench)", "", cpu.summary());
            }
        }
        if let Some(insert) = &self.pgbench_insert {
            let _ = writeln!(table, "{:<18} tps={:.0} (single-row INSERT, unique index)", "pgbench INSERT", insert.tps);
        }
        if let Some(rate) = self.argon2_rate {
            let _ = writeln!(table, "{:<18} {rate:.1} hashes/s (one thread per core)", "argon2id");
        }
        let foreign = self
            .scenarios
            .iter()
            .filter_map(|(_, stats)| stats.cpu)
            .chain(self.pgbench.as_ref().and_then(|p| p.cpu))
            .map(|cpu| cpu.other() - cpu.irq)
            .fold(0.0, f64::max);
        if foreign > FOREIGN_LOAD_WARNING_CORES {
            let _ = writeln!(
                table,
                "note: other programs used up to {foreign:.2} cores during a phase; the figures are disturbed"
            );
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let json = json!({
            "generated_at_unix": now,
            "config": self.config,
            "targets": { "min_ratio_to_pgbench": MIN_RATIO, "max_p99_ms": MAX_P99_MS },
            "seed": self.seed.map(|(users, elapsed)| json!({
                "users": users,
                "seconds": round(elapsed.as_secs_f64(), 2),
            })),
            "scenarios": scenarios_json,
            "pgbench": self.pgbench.as_ref().map(|p| json!({
                "mode": "-S -M prepared",
                "tps": round(p.tps, 1),
                "latency_avg_ms": p.latency_avg_ms,
                "transactions": p.transactions,
                "cpu_cores": p.cpu.as_ref().map(cpu_json),
            })),
            "pgbench_insert": self.pgbench_insert.as_ref().map(|p| json!({
                "mode": "one INSERT per transaction, -M prepared",
                "tps": round(p.tps, 1),
                "latency_avg_ms": p.latency_avg_ms,
            })),
            "argon2id_hashes_per_sec": self.argon2_rate.map(|r| round(r, 2)),
            "all_passed": all_passed,
        });
        let errors = (!errors.is_empty()).then(|| format!("bench: {}", errors.join("; ")));
        Outcome { table: table.trim_end().to_owned(), json, errors, all_passed }
    }
}

fn cpu_json(cpu: &CpuUsage) -> Value {
    json!({
        "roster": round(cpu.server, 2),
        "postgres": round(cpu.postgres, 2),
        "loadgen": round(cpu.loadgen, 2),
        "other": round(cpu.other(), 2),
        "irq": round(cpu.irq, 2),
        "machine_busy": round(cpu.machine_busy, 2),
        "machine_cores": cpu.cores,
    })
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

pub fn write_json(path: &Path, json: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(json).map_err(|err| format!("cannot encode the results: {err}"))?;
    fs::write(path, text + "\n").map_err(|err| format!("cannot write {}: {err}", path.display()))
}
