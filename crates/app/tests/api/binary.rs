//! The real `roster` binary, as a newcomer runs it.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// Sends one HTTP/1.1 request and returns the raw response.
fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn serve_bootstraps_a_platform_key_file_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ROSTER_DATA_DIR", dir.path())
        .env("ROSTER_HTTP_ADDR", "127.0.0.1:0")
        .env("ROSTER_GRPC_ADDR", "127.0.0.1:0")
        .env("ROSTER_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start roster");
    let mut logs = BufReader::new(child.stderr.take().expect("stderr"));
    let mut all = String::new();
    let http_addr = loop {
        let mut line = String::new();
        assert!(logs.read_line(&mut line).expect("read log") > 0, "roster exited early:\n{all}");
        all.push_str(&line);
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if event["message"] == "roster is serving" {
            break event["http"].as_str().expect("http address").to_owned();
        }
    };
    let key_path = dir.path().join("bootstrap-platform-key");
    let key = std::fs::read_to_string(&key_path).expect("key file").trim().to_owned();
    assert!(!all.contains(&key), "the secret must never be logged");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key_path).expect("stat").permissions().mode() & 0o777, 0o600);
    }

    let response = http(
        &http_addr,
        &format!(
            "GET /v1/organizations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "roster did not stop cleanly: {exit:?}");
    logs.read_to_string(&mut all).expect("rest of the logs");
    assert!(all.contains("roster stopped"), "{all}");
}
