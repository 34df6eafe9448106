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

/// Sends one JSON request and returns the status code and the body.
pub(crate) fn call(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let body = if body.is_null() { String::new() } else { body.to_string() };
    let auth = if token.is_empty() { String::new() } else { format!("Authorization: Bearer {token}\r\n") };
    let response = http(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let json = response.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or_default();
    (status, json)
}

/// A `roster serve` on a data directory (JSON logs, free ports, `env` added), once it says
/// it is serving: the process, its log stream, its REST address and the logs so far.
pub(crate) fn serve(
    data: &std::path::Path,
    env: &[(&str, &str)],
) -> (std::process::Child, BufReader<std::process::ChildStderr>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ROSTER_DATA_DIR", data)
        .env("ROSTER_HTTP_ADDR", "127.0.0.1:0")
        .env("ROSTER_GRPC_ADDR", "127.0.0.1:0")
        .env("ROSTER_LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start roster");
    let mut logs = BufReader::new(child.stderr.take().expect("stderr"));
    let mut all = String::new();
    let http = loop {
        let mut line = String::new();
        assert!(logs.read_line(&mut line).expect("read log") > 0, "roster exited early:\n{all}");
        all.push_str(&line);
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if event["message"] == "roster is serving" {
            break event["http"].as_str().expect("http address").to_owned();
        }
    };
    (child, logs, http, all)
}

/// Stops a `roster serve` with SIGTERM and checks that it exits cleanly.
pub(crate) fn terminate(child: &mut std::process::Child) {
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "roster did not stop cleanly: {exit:?}");
}

/// Logs in through a real socket: the session records the client's address.
fn login_records_the_client_address(addr: &str, key: &str) {
    use serde_json::json;
    let (status, org) = call(addr, "POST", "/v1/organizations", key, &json!({"slug": "acme", "name": "Acme"}));
    assert_eq!(status, 201, "{org}");
    let org = org["data"]["id"].as_str().expect("org id").to_owned();
    let user = json!({"email": "ada@acme.test", "name": "Ada", "password": "correct horse battery staple"});
    let (status, user) = call(addr, "POST", &format!("/v1/organizations/{org}/users"), key, &user);
    assert_eq!(status, 201, "{user}");
    let user = user["data"]["id"].as_str().expect("user id").to_owned();
    let login = json!({"organization": "acme", "email": "ada@acme.test", "password": "correct horse battery staple"});
    let (status, session) = call(addr, "POST", "/v1/auth/login", "", &login);
    assert_eq!(status, 200, "{session}");
    let (status, sessions) =
        call(addr, "GET", &format!("/v1/organizations/{org}/users/{user}/sessions"), key, &serde_json::Value::Null);
    assert_eq!(status, 200, "{sessions}");
    assert_eq!(sessions["data"][0]["client_ip"], "127.0.0.1", "{sessions}");
    assert_eq!(sessions["data"][0]["id"], session["data"]["session_id"]);
}

#[test]
fn serve_bootstraps_a_platform_key_file_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, mut logs, http_addr, mut all) = serve(dir.path(), &[]);
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
    login_records_the_client_address(&http_addr, &key);

    terminate(&mut child);
    logs.read_to_string(&mut all).expect("rest of the logs");
    assert!(all.contains("roster stopped"), "{all}");
}
