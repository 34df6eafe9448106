//! Email delivery to a real SMTP server on 127.0.0.1 (the test sink): the invitation link
//! that arrives works, a refusing server gets the message once after retries, and a
//! message committed by an instance that is killed is delivered after a restart.

use std::process::{Child, Command};

use http::{Method, StatusCode};
use roster_domain::outbox::MessageStatus;
use roster_mail::testing::{Refusal, SmtpSink};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::{PASSWORD, TestApp};

macro_rules! with_smtp_on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let sink = roster_mail::testing::SmtpSink::start().await;
                    let app = crate::harness::TestApp::sqlite_with(crate::harness::MailTo::Smtp(sink.url())).await;
                    super::$name(app, sink).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let sink = roster_mail::testing::SmtpSink::start().await;
                    let app = crate::harness::TestApp::postgres_with(crate::harness::MailTo::Smtp(sink.url())).await;
                    super::$name(app, sink).await;
                }
            )*
        }
    };
}

with_smtp_on_both_backends!(
    the_emailed_invitation_link_opens_the_page_and_its_token_is_accepted,
    a_refusing_server_gets_the_message_once_after_retries,
);

/// `GET path` over a real socket; the status and the body.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default())
}

async fn the_emailed_invitation_link_opens_the_page_and_its_token_is_accepted(app: TestApp, sink: SmtpSink) {
    let org = app.org("acme", json!({"name": "Acme Corp"})).await;
    app.user(&org, "ada@acme.test").await;
    let received = sink.wait_for(1).await;
    let email = &received[0];
    assert_eq!(email.rcpt_to, ["ada@acme.test"]);
    assert!(email.header("subject").is_some_and(|s| s.contains("Acme Corp")), "{email:?}");
    assert!(email.text().is_some() && email.html().is_some(), "text and HTML parts: {email:?}");
    let link = email.invite_link().expect("a link in the email");
    let path = link.strip_prefix(&format!("http://{}", app.http_addr)).expect("a link to this server").to_owned();

    let (status, page) = http_get(app.http_addr, &path).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Acme Corp") && page.contains("<label for=\"password\""), "{page}");

    let token = path.rsplit('/').next().expect("token");
    let body = json!({"token": token, "password": PASSWORD});
    let accepted = app.call_as("", Method::POST, "/v1/invitations/accept", Some(body)).await;
    assert_eq!(accepted.status, StatusCode::OK, "{accepted:?}");
    assert_eq!(app.login("acme", "ada@acme.test", PASSWORD).await.status, StatusCode::OK);

    // Delivered once, and what it said (the link) is gone from the outbox.
    app.deliveries_recorded(1).await;
    let queued = app.mail_to("ada@acme.test").await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].status, MessageStatus::Sent);
    assert_eq!(queued[0].delivered_via.as_deref(), Some("smtp"));
    assert!(queued[0].mail.is_none(), "the link is erased once delivered");
    assert_eq!(sink.messages().len(), 1);
}

async fn a_refusing_server_gets_the_message_once_after_retries(app: TestApp, sink: SmtpSink) {
    sink.refuse_next(1, Refusal::Greeting);
    let org = app.org("acme", json!({})).await;
    app.user(&org, "bo@acme.test").await;
    let received = sink.wait_for(1).await;
    assert_eq!(received[0].rcpt_to, ["bo@acme.test"]);
    assert_eq!(sink.refused(), 1);
    app.deliveries_recorded(1).await;
    let queued = app.mail_to("bo@acme.test").await;
    assert_eq!(queued[0].status, MessageStatus::Sent, "{queued:?}");
    assert_eq!(queued[0].attempts, 2, "one refusal, one delivery");
    assert!(queued[0].last_error.is_some(), "the failure is recorded: {queued:?}");

    // A refusal in the middle of the transaction too.
    sink.refuse_next(2, Refusal::MailFrom);
    app.user(&org, "cy@acme.test").await;
    let received = sink.wait_for(2).await;
    assert_eq!(received[1].rcpt_to, ["cy@acme.test"]);
    app.deliveries_recorded(2).await;
    let queued = app.mail_to("cy@acme.test").await;
    assert_eq!((queued[0].status, queued[0].attempts), (MessageStatus::Sent, 3), "{queued:?}");
    // Sent is final: a message is never claimed again, so the sink keeps exactly these.
    assert_eq!(
        app.outbox()
            .claim_due_messages(app.now() + chrono::Duration::days(1), chrono::Duration::seconds(1), 10)
            .await
            .expect("claim")
            .len(),
        0
    );
    assert_eq!(sink.messages().len(), 2);
}

/// A `roster serve` process on a data directory, its REST address read from its logs;
/// killed when dropped (a failing test leaves nothing running).
struct Instance {
    child: Child,
    http: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    fn start(data: &std::path::Path, smtp_url: &str) -> Self {
        let (child, mut logs, http, _) = crate::binary::serve(
            data,
            &[
                ("ROSTER_SMTP_URL", smtp_url), // empty: the dev mailbox
                ("ROSTER_MAIL_POLL_MS", "50"),
                ("ROSTER_MAIL_RETRY_BASE_MS", "20"),
                ("ROSTER_MAIL_LEASE_SECONDS", "4"),
            ],
        );
        // Keep draining the logs so the process never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut logs, &mut std::io::sink()));
        Self { child, http }
    }

    fn call(&self, method: &str, path: &str, key: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        crate::binary::call(&self.http, method, path, key, body)
    }
}

fn roster_mail(data: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("mail")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ROSTER_DATA_DIR", data)
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("run roster mail");
    assert!(output.status.success(), "roster mail {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_committed_before_a_crash_is_delivered_after_the_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The first instance's mail server does not answer: nothing can be delivered.
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("smtp://{}", unreachable.local_addr().expect("addr"));
    drop(unreachable);
    let mut first = Instance::start(dir.path(), &dead_url);
    let key = std::fs::read_to_string(dir.path().join("bootstrap-platform-key")).expect("key file").trim().to_owned();
    let (status, org) = first.call("POST", "/v1/organizations", &key, &json!({"slug": "acme", "name": "Acme"}));
    assert_eq!(status, 201, "{org}");
    let org = org["data"]["id"].as_str().expect("org id").to_owned();
    let (status, user) = first.call(
        "POST",
        &format!("/v1/organizations/{org}/users"),
        &key,
        &json!({"email": "ada@acme.test", "name": "Ada"}),
    );
    assert_eq!(status, 201, "{user}");
    // Committed; now the process dies without any chance to clean up (SIGKILL).
    first.child.kill().expect("kill");
    first.child.wait().expect("reap");

    let sink = SmtpSink::start().await;
    let mut second = Instance::start(dir.path(), &sink.url());
    let received = sink.wait_for(1).await;
    assert_eq!(received[0].rcpt_to, ["ada@acme.test"]);
    // The link was written when the invitation was made (with the public URL of then).
    let link = received[0].invite_link().expect("link");
    assert!(link.starts_with(&format!("http://{}/invite/rsi_", first.http)), "{link}");
    let (status, _) = second.call(
        "GET",
        &format!("/v1/organizations/{org}/invitations?status=pending"),
        &key,
        &serde_json::Value::Null,
    );
    assert_eq!(status, 200);
    crate::binary::terminate(&mut second.child);

    // The outbox records one delivery; the sink got exactly one message.
    let list = roster_mail(dir.path(), &["list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 1, "{list}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    // Delivered over SMTP: the content (the link) is erased, the record stays.
    assert_eq!(&fields[1..], ["ada@acme.test", "(content erased after delivery)", "sent"], "{list}");
    let shown = roster_mail(dir.path(), &["show", fields[0]]);
    assert!(shown.contains("Status: sent") && shown.contains("via smtp"), "{shown}");
    assert_eq!(sink.messages().len(), 1);
}

/// With no SMTP server the dev mailbox keeps every message readable, link included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_mailbox_lists_and_shows_messages_with_their_links() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut instance = Instance::start(dir.path(), "");
    let key = std::fs::read_to_string(dir.path().join("bootstrap-platform-key")).expect("key file").trim().to_owned();
    let (_, org) = instance.call("POST", "/v1/organizations", &key, &json!({"slug": "acme", "name": "Acme"}));
    let org = org["data"]["id"].as_str().expect("org id").to_owned();
    let (status, _) = instance.call(
        "POST",
        &format!("/v1/organizations/{org}/users"),
        &key,
        &json!({"email": "bo@acme.test", "name": "Bo"}),
    );
    assert_eq!(status, 201);
    crate::binary::terminate(&mut instance.child);

    let list = roster_mail(dir.path(), &["list"]);
    let fields: Vec<&str> = list.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 4, "{list}");
    assert_eq!(&fields[1..3], ["bo@acme.test", "You are invited to join Acme"], "{list}");
    assert!(["pending", "sent"].contains(&fields[3]), "{list}");
    let shown = roster_mail(dir.path(), &["show", fields[0]]);
    let link = roster_mail::testing::find_invite_link(&shown).expect("the link is shown");
    assert!(link.starts_with(&format!("http://{}/invite/rsi_", instance.http)), "{shown}");
    let html = roster_mail(dir.path(), &["show", "--html", fields[0]]);
    assert!(html.contains("<a href="), "{html}");
    let missing = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["mail", "show", "not-an-id"])
        .env_clear()
        .env("ROSTER_DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("not a message id"), "{stderr}");
}
