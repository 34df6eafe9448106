//! A closed-loop load generator: `connections` tasks, each owning one [`Client`] (one
//! connection), each sending its next request as soon as the previous one is answered.
//! Requests answered during the warm-up are not counted; latency is recorded per task in an
//! HDR histogram (microseconds) and merged at the end.

use std::future::Future;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::cpu::{CpuUsage, Probe};
use crate::Result;

/// Highest latency the histograms track (longer requests are recorded as this).
const MAX_LATENCY_MICROS: u64 = 60_000_000;
/// A task stops after this many failed requests (a broken connection would otherwise spin).
const MAX_ERRORS_PER_TASK: u64 = 100;
/// Error messages kept for the report, per task.
const ERROR_SAMPLES_PER_TASK: usize = 3;

/// How much load, for how long.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// Concurrent clients (connections), one task each.
    pub connections: usize,
    /// Load applied before measuring.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
}

/// One connection's worth of a scenario: sends one request per [`Client::call`].
pub trait Client: Send + 'static {
    /// Sends one request and waits for the whole answer. `Err` (with a short description)
    /// for anything but the expected success, a non-200 status included.
    fn call(&mut self) -> impl Future<Output = Result<(), String>> + Send;
}

/// What one run measured.
#[derive(Debug)]
pub struct Stats {
    /// Successful requests completed inside the measured window.
    pub requests: u64,
    /// Failed requests, warm-up included.
    pub errors: u64,
    /// A few error messages.
    pub error_samples: Vec<String>,
    /// The measured window.
    pub window: Duration,
    /// Latency of the counted requests, in microseconds.
    pub latency: Histogram<u64>,
    /// Where the CPU went during the window, when a probe was given.
    pub cpu: Option<CpuUsage>,
}

impl Stats {
    /// Successful requests per second in the window.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// The latency at `quantile` (0..=1), in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The mean latency, in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        self.latency.mean() / 1000.0
    }

    /// The highest latency, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }

    /// One line for the progress log.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} requests, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} errors",
            self.requests,
            self.rps(),
            self.latency_ms(0.5),
            self.latency_ms(0.99),
            self.max_ms(),
            self.errors
        );
        if let Some(cpu) = &self.cpu {
            line.push_str("; CPU ");
            line.push_str(&cpu.summary());
        }
        line
    }
}

fn new_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3).map_err(|err| format!("cannot create a histogram: {err}"))
}

/// Connects `spec.connections` clients with `connect` (one after the other, before the clock
/// starts), runs them for the warm-up and the window, and merges their measurements. `probe`
/// samples CPU usage at the window's edges.
pub async fn run<C, F, Fut>(spec: &LoadSpec, mut connect: F, probe: Probe) -> Result<Stats>
where
    C: Client,
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<C>>,
{
    let mut clients = Vec::with_capacity(spec.connections);
    for index in 0..spec.connections {
        clients.push(connect(index).await.map_err(|err| format!("connection {index}: {err}"))?);
    }

    let start = Instant::now();
    let window = Window { from: start + spec.warmup, until: start + spec.warmup + spec.duration };
    // Snapshots read /proc for every process: off the async workers, so the load does not
    // stall while they are taken.
    let duration = spec.duration;
    let cpu = tokio::spawn(async move {
        let snapshot = |probe: Probe| async move {
            tokio::task::spawn_blocking(move || probe.snapshot()).await.map_err(|err| err.to_string())
        };
        tokio::time::sleep_until(window.from).await;
        let perf = probe.start_perf(duration)?;
        let before = snapshot(probe.clone()).await?;
        tokio::time::sleep_until(window.until).await;
        let after = snapshot(probe).await?;
        if let Some(perf) = perf {
            tokio::task::spawn_blocking(move || perf.finish()).await.map_err(|err| err.to_string())??;
        }
        Ok::<_, String>(after.since(&before))
    });
    let mut tasks = JoinSet::new();
    for client in clients {
        let histogram = new_histogram()?;
        tasks.spawn(drive(client, window, histogram));
    }

    let mut stats = Stats {
        requests: 0,
        errors: 0,
        error_samples: Vec::new(),
        window: spec.duration,
        latency: new_histogram()?,
        cpu: None,
    };
    while let Some(joined) = tasks.join_next().await {
        let task = joined.map_err(|err| format!("a load task failed: {err}"))?;
        stats.requests += task.requests;
        stats.errors += task.errors;
        stats.error_samples.extend(task.error_samples);
        stats.latency.add(&task.latency).map_err(|err| format!("cannot merge histograms: {err}"))?;
    }
    stats.error_samples.truncate(10);
    let usage = cpu.await.map_err(|err| err.to_string()).and_then(|usage| usage);
    stats.cpu = Some(usage.map_err(|err| format!("the CPU probe failed: {err}"))?);
    Ok(stats)
}

/// The measured window.
#[derive(Clone, Copy, Debug)]
struct Window {
    from: Instant,
    until: Instant,
}

struct TaskStats {
    requests: u64,
    errors: u64,
    error_samples: Vec<String>,
    latency: Histogram<u64>,
}

/// Calls `client` back to back until the window ends.
async fn drive<C: Client>(mut client: C, window: Window, mut latency: Histogram<u64>) -> TaskStats {
    let (mut requests, mut errors, mut error_samples) = (0, 0, Vec::new());
    loop {
        let sent = Instant::now();
        if sent >= window.until || crate::interrupted() {
            break;
        }
        let result = client.call().await;
        let done = Instant::now();
        match result {
            Ok(()) => {
                if done >= window.from && done <= window.until {
                    requests += 1;
                    let micros = u64::try_from(done.duration_since(sent).as_micros()).unwrap_or(u64::MAX);
                    latency.saturating_record(micros.clamp(1, MAX_LATENCY_MICROS));
                }
            }
            Err(message) => {
                errors += 1;
                if error_samples.len() < ERROR_SAMPLES_PER_TASK {
                    error_samples.push(message);
                }
                if errors >= MAX_ERRORS_PER_TASK {
                    error_samples.push(format!("a task gave up after {errors} errors"));
                    break;
                }
            }
        }
    }
    TaskStats { requests, errors, error_samples, latency }
}

/// A small, fast PRNG (SplitMix64) for picking request targets; not for secrets.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0), near enough uniform for picking among many ids.
    pub fn below(&mut self, n: usize) -> usize {
        // Lemire's multiply-shift: no division, bias below 2^-32 for n < 2^32.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    #[test]
    fn split_mix_stays_in_range_and_spreads() {
        let mut rng = SplitMix64::new(7);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            seen[rng.below(10)] += 1;
        }
        assert!(seen.iter().all(|&count| (800..1200).contains(&count)), "{seen:?}");
    }

    struct Sleepy {
        calls: Arc<AtomicU64>,
    }

    impl Client for Sleepy {
        async fn call(&mut self) -> Result<(), String> {
            let n = self.calls.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(2)).await;
            if n % 50 == 49 { Err(format!("call {n} failed")) } else { Ok(()) }
        }
    }

    #[test]
    fn counts_only_the_window_and_reports_errors() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let calls = Arc::new(AtomicU64::new(0));
        let spec =
            LoadSpec { connections: 4, warmup: Duration::from_millis(100), duration: Duration::from_millis(300) };
        let stats = runtime
            .block_on(run(
                &spec,
                |_| {
                    let calls = calls.clone();
                    async move { Ok(Sleepy { calls }) }
                },
                Probe::new(None),
            ))
            .unwrap();
        let total = calls.load(Ordering::Relaxed);
        assert!(stats.requests > 0 && stats.requests < total, "{} of {total}", stats.requests);
        assert!(stats.errors > 0 && !stats.error_samples.is_empty());
        assert!(stats.latency_ms(0.5) >= 2.0, "{}", stats.latency_ms(0.5));
        assert!(stats.cpu.is_some());
    }
}
