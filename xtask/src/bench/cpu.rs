//! Where the CPU goes during a measurement, from `/proc` (no `perf` needed): the Roster
//! server, every `postgres` process (backends, and through the postmaster's child times the
//! backends that exited meanwhile), this process (the load generator) with its reaped
//! children (pgbench), and the machine as a whole. With `--perf`, a system-wide
//! `perf record` covers each measured window too.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::Result;

/// Takes [`Snapshot`]s (and perf recordings, when asked to).
#[derive(Clone, Debug)]
pub struct Probe {
    server_pid: Option<u32>,
    perf_output: Option<PathBuf>,
}

/// A running `perf record`; see [`Probe::start_perf`].
#[derive(Debug)]
pub struct PerfRecording {
    child: Child,
    output: PathBuf,
}

impl PerfRecording {
    /// Waits for perf to finish writing (it stops by itself at the end of the window).
    pub fn finish(mut self) -> Result<PathBuf> {
        let status = self.child.wait().map_err(|err| format!("cannot wait for perf: {err}"))?;
        if status.success() {
            Ok(self.output)
        } else {
            Err(format!("perf record failed ({status}); see its messages above"))
        }
    }
}

/// CPU times (in clock ticks) at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    at: Instant,
    server: u64,
    postgres: u64,
    own: u64,
    machine: MachineTimes,
}

/// CPU used between two snapshots, in cores (1.0 = one core fully busy).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuUsage {
    /// The Roster server.
    pub server: f64,
    /// All `postgres` processes.
    pub postgres: f64,
    /// This process and its reaped children (the load generator, or pgbench).
    pub loadgen: f64,
    /// Everything busy on the machine (whatever else runs included).
    pub machine_busy: f64,
    /// Of which interrupt handling (hard and soft: mostly the loopback network stack).
    pub irq: f64,
    /// How many cores the machine has.
    pub cores: f64,
}

impl CpuUsage {
    /// Busy time not accounted for by the server, PostgreSQL or the load generator: other
    /// programs, the kernel's network stack outside those processes' time slices, ….
    pub fn other(&self) -> f64 {
        (self.machine_busy - self.server - self.postgres - self.loadgen).max(0.0)
    }

    pub fn summary(&self) -> String {
        format!(
            "roster {:.2} + postgres {:.2} + loadgen {:.2} + other {:.2} (irq {:.2}) = {:.2} of {:.0} cores busy",
            self.server,
            self.postgres,
            self.loadgen,
            self.other(),
            self.irq,
            self.machine_busy,
            self.cores
        )
    }
}

impl Probe {
    /// A probe that also follows the server process `server_pid`.
    pub fn new(server_pid: Option<u32>) -> Self {
        Self { server_pid, perf_output: None }
    }

    /// Also records the whole machine with `perf record` into `output` during the window.
    #[must_use]
    pub fn with_perf(mut self, output: Option<PathBuf>) -> Self {
        self.perf_output = output;
        self
    }

    /// Starts `perf record -a` for `duration`, when this probe records with perf.
    pub fn start_perf(&self, duration: Duration) -> Result<Option<PerfRecording>> {
        let Some(output) = &self.perf_output else { return Ok(None) };
        let child = perf_record(output, duration)?;
        Ok(Some(PerfRecording { child, output: output.clone() }))
    }

    /// The CPU times now. Unreadable entries count as zero (this is diagnostics).
    pub fn snapshot(&self) -> Snapshot {
        let server = self.server_pid.and_then(|pid| read_stat(&pid.to_string())).map_or(0, |s| s.own());
        let own = read_stat("self").map_or(0, |s| s.own() + s.children());
        let machine = machine_times().unwrap_or_default();
        Snapshot { at: Instant::now(), server, postgres: postgres_ticks(), own, machine }
    }
}

impl Snapshot {
    /// Usage from `earlier` to this snapshot.
    pub fn since(&self, earlier: &Snapshot) -> CpuUsage {
        let seconds = self.at.duration_since(earlier.at).as_secs_f64().max(1e-9);
        let hz = clock_ticks_per_second();
        let cores = |now: u64, then: u64| now.saturating_sub(then) as f64 / hz / seconds;
        let total = self.machine.total.saturating_sub(earlier.machine.total) as f64;
        let share = |now: u64, then: u64| if total > 0.0 { now.saturating_sub(then) as f64 / total } else { 0.0 };
        let ncores = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
        CpuUsage {
            server: cores(self.server, earlier.server),
            postgres: cores(self.postgres, earlier.postgres),
            loadgen: cores(self.own, earlier.own),
            machine_busy: share(self.machine.busy, earlier.machine.busy) * ncores,
            irq: share(self.machine.irq, earlier.machine.irq) * ncores,
            cores: ncores,
        }
    }
}

/// The fields of `/proc/<pid>/stat` this module uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProcStat {
    ppid: u32,
    utime: u64,
    stime: u64,
    cutime: u64,
    cstime: u64,
}

impl ProcStat {
    fn own(&self) -> u64 {
        self.utime + self.stime
    }

    /// Times of waited-for children.
    fn children(&self) -> u64 {
        self.cutime + self.cstime
    }
}

fn read_stat(pid: &str) -> Option<ProcStat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Parses `/proc/<pid>/stat`; the command name (field 2) may hold spaces and parentheses.
fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state).
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(ProcStat {
        ppid: u32::try_from(field(4)?).ok()?,
        utime: field(14)?,
        stime: field(15)?,
        cutime: field(16)?,
        cstime: field(17)?,
    })
}

/// CPU ticks of every `postgres` process, plus the reaped children of each postmaster (a
/// `postgres` whose parent is not one), so backends that exited still count.
fn postgres_ticks() -> u64 {
    let Ok(entries) = fs::read_dir("/proc") else { return 0 };
    let mut processes = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let is_postgres = fs::read_to_string(entry.path().join("comm")).is_ok_and(|comm| comm.trim() == "postgres");
        if is_postgres && let Some(stat) = read_stat(&pid.to_string()) {
            processes.push((pid, stat));
        }
    }
    let is_postgres = |pid: u32| processes.iter().any(|(p, _)| *p == pid);
    processes.iter().map(|(_, stat)| stat.own() + if is_postgres(stat.ppid) { 0 } else { stat.children() }).sum()
}

/// Ticks of all CPUs together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct MachineTimes {
    busy: u64,
    irq: u64,
    total: u64,
}

/// From the first line of `/proc/stat`.
fn machine_times() -> Option<MachineTimes> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    parse_machine_times(text.lines().next()?)
}

fn parse_machine_times(line: &str) -> Option<MachineTimes> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest times are inside user/nice).
    let values: Vec<u64> = fields.take(8).map(|v| v.parse().ok()).collect::<Option<_>>()?;
    let total: u64 = values.iter().sum();
    let idle = values.get(3)? + values.get(4)?;
    Some(MachineTimes { busy: total - idle, irq: values.get(5)? + values.get(6)?, total })
}

/// `perf record -a` (every CPU, user and kernel, no call graphs: cheap enough not to disturb
/// the measurement much) for `duration`.
fn perf_record(output: &Path, duration: Duration) -> Result<Child> {
    Command::new("perf")
        .args(["record", "--all-cpus", "--freq=499", "--quiet", "--output"])
        .arg(output)
        .args(["--", "sleep", &format!("{:.3}", duration.as_secs_f64())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|err| format!("cannot run `perf record` (is perf installed?): {err}"))
}

/// Whether `perf` can be run at all.
pub fn perf_available() -> bool {
    Command::new("perf")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn clock_ticks_per_second() -> f64 {
    static HZ: OnceLock<f64> = OnceLock::new();
    *HZ.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse::<f64>().ok())
            .filter(|hz| *hz > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_with_odd_command_names() {
        let text = "4242 (tokio (rt) x) S 17 4242 4242 0 -1 4194560 9 0 0 0 120 30 5 7 20 0 4 0 123 0 0";
        assert_eq!(parse_stat(text), Some(ProcStat { ppid: 17, utime: 120, stime: 30, cutime: 5, cstime: 7 }));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn parses_proc_stat_cpu_line() {
        assert_eq!(
            parse_machine_times("cpu  100 5 50 800 10 3 2 0 0 0"),
            Some(MachineTimes { busy: 160, irq: 5, total: 970 })
        );
        assert_eq!(parse_machine_times("cpu0 1 2 3 4 5 6 7 8"), None);
    }

    #[test]
    fn own_process_is_readable() {
        let before = Probe::new(Some(std::process::id())).snapshot();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let usage = Probe::new(Some(std::process::id())).snapshot().since(&before);
        assert!(usage.cores >= 1.0);
        assert!(usage.server >= 0.0 && usage.loadgen >= 0.0);
    }
}
