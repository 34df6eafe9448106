//! The Roster server under test: `target/release/roster serve` as a child process.

use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Result, interrupted, postgres};

/// How long the server gets to drain after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// How to start the server.
#[derive(Debug)]
pub struct ServerConfig<'a> {
    pub binary: &'a Path,
    pub database_url: &'a str,
    pub data_dir: &'a Path,
    /// Where its stdout and stderr go.
    pub log: &'a Path,
    pub db_max_connections: u32,
}

/// A running `roster serve`; stopped when dropped.
#[derive(Debug)]
pub struct RosterServer {
    child: Option<Child>,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    log: std::path::PathBuf,
}

impl RosterServer {
    /// Starts the server on two free ports of 127.0.0.1.
    pub fn start(config: &ServerConfig<'_>) -> Result<Self> {
        let http_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, postgres::free_port()?));
        let grpc_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, postgres::free_port()?));
        fs::create_dir_all(config.data_dir)
            .map_err(|err| format!("cannot create {}: {err}", config.data_dir.display()))?;
        let log = File::create(config.log).map_err(|err| format!("cannot create {}: {err}", config.log.display()))?;
        let log_err = log.try_clone().map_err(|err| format!("cannot open {}: {err}", config.log.display()))?;
        let child = Command::new(config.binary)
            .arg("serve")
            .env("DATABASE_URL", config.database_url)
            .env("ROSTER_HTTP_ADDR", http_addr.to_string())
            .env("ROSTER_GRPC_ADDR", grpc_addr.to_string())
            .env("ROSTER_DATA_DIR", config.data_dir)
            .env("ROSTER_LOG", "warn")
            .env("ROSTER_DB_MAX_CONNECTIONS", config.db_max_connections.to_string())
            .env_remove("ROSTER_CONFIG")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|err| format!("cannot start {}: {err}", config.binary.display()))?;
        eprintln!("xtask bench: started roster (pid {}), log in {}", child.id(), config.log.display());
        Ok(Self { child: Some(child), http_addr, grpc_addr, log: config.log.to_path_buf() })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Polls `GET /readyz` until it answers 200, at most `attempts` times `interval` apart.
    pub fn wait_ready(&mut self, attempts: u32, interval: Duration) -> Result<()> {
        let started = Instant::now();
        let mut last = String::from("no answer yet");
        for _ in 0..attempts {
            if interrupted() {
                return Err("interrupted".to_owned());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!("roster exited before it was ready ({status}); its log:\n{}", self.log_tail()));
            }
            match http_status(self.http_addr, "/readyz") {
                Ok(200) => {
                    eprintln!("xtask bench: roster ready after {:.1}s", started.elapsed().as_secs_f64());
                    return Ok(());
                }
                Ok(status) => last = format!("/readyz answered {status}"),
                Err(err) => last = err,
            }
            thread::sleep(interval);
        }
        Err(format!(
            "roster was not ready after {:.0}s ({last}); its log:\n{}",
            started.elapsed().as_secs_f64(),
            self.log_tail()
        ))
    }

    /// SIGTERM, then waits for it to drain; SIGKILL after [`STOP_TIMEOUT`].
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(());
        }
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(format!("roster exited with {status} on SIGTERM; its log:\n{}", self.log_tail()));
                }
                Ok(None) => thread::sleep(Duration::from_millis(50)),
                Err(err) => return Err(format!("cannot wait for roster: {err}")),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("roster did not stop within {}s of SIGTERM; killed it", STOP_TIMEOUT.as_secs()))
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for RosterServer {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            eprintln!("xtask bench: warning: {err}");
        }
    }
}

/// The status code of a plain `GET path` (HTTP/1.1, connection closed afterwards).
fn http_status(addr: SocketAddr, path: &str) -> Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|err| err.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|err| err.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
        .map_err(|err| err.to_string())?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]).map_err(|err| err.to_string())? {
            0 => break,
            n => read += n,
        }
    }
    parse_status_line(&head[..read]).ok_or_else(|| "not an HTTP response".to_owned())
}

fn parse_status_line(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head.get(..12)?).ok()?;
    let code = text.strip_prefix("HTTP/1.")?.get(2..5)?;
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status_line(b"HTTP/1.0 503 Service Unavailable"), Some(503));
        assert_eq!(parse_status_line(b"HTTP/1.1 20"), None);
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH_9.2p1"), None);
    }
}
