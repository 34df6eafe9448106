//! The invitation page in a real browser: headless Chromium driven through ChromeDriver
//! (both from the distribution's packages; `cargo xtask test` installs them and exports
//! their paths). Opens the link that arrived by email, fills the form with the keyboard,
//! submits, and reads what a person would read.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use chrono::Duration;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::harness::{MailTo, PASSWORD, TestApp};

/// ChromeDriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn program(env: &str, fallback: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| fallback.to_owned())
}

impl Driver {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let chromedriver = program("ROSTER_TEST_CHROMEDRIVER", "chromedriver");
        let mut child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {chromedriver} ({e}): run the tests with `cargo xtask test`, which installs Chromium"
                )
            });
        // It says when it listens.
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut said = String::new();
        loop {
            let mut line = String::new();
            assert!(out.read_line(&mut line).expect("read") > 0, "ChromeDriver exited:\n{said}");
            said.push_str(&line);
            if line.contains("started successfully") {
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Self { child, url: format!("http://127.0.0.1:{port}") }
    }

    /// A headless Chromium session.
    async fn browser(&self) -> Client {
        let chromium = program("ROSTER_TEST_CHROMIUM", "/usr/bin/chromium");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-quic", format!("--user-data-dir={}", profile.keep().display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}"))
    }
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).text().await.expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitee_opens_the_emailed_link_sets_a_password_and_an_expired_link_says_so() {
    let sink = roster_mail::testing::SmtpSink::start().await;
    let app = TestApp::sqlite_with(MailTo::Smtp(sink.url())).await;
    let org = app.org("acme", json!({"name": "Acme Corp"})).await;
    app.user(&org, "ada@acme.test").await;
    let link = sink.wait_for(1).await[0].invite_link().expect("the emailed link");

    let driver = Driver::start();
    let browser = driver.browser().await;
    browser.goto(&link).await.expect("open the link");
    assert!(text_of(&browser, "h1").await.contains("Acme Corp"));
    // Labelled fields, reached with the keyboard.
    let label = text_of(&browser, "label[for=password]").await;
    assert!(label.contains("password"), "{label}");
    let password = browser.find(Locator::Id("password")).await.expect("password field");
    password.send_keys(PASSWORD).await.expect("type");
    password.send_keys("\u{E004}").await.expect("tab to the next field");
    let active = browser.active_element().await.expect("focus");
    assert_eq!(active.attr("id").await.expect("id").as_deref(), Some("password_confirm"));
    active.send_keys(PASSWORD).await.expect("type");
    active.send_keys("\u{E007}").await.expect("press enter to submit");
    let status = browser.wait().for_element(Locator::Css("[role=status]")).await.expect("a success message");
    let said = status.text().await.expect("text");
    assert!(said.contains("ready"), "{said}");
    // It worked for real: the invitee can log in.
    assert_eq!(app.login("acme", "ada@acme.test", PASSWORD).await.status, http::StatusCode::OK);

    // A link past its expiry shows why it no longer works.
    app.user(&org, "bo@acme.test").await;
    let link = sink.wait_for(2).await[1].invite_link().expect("the second link");
    app.clock.advance(Duration::days(8));
    browser.goto(&link).await.expect("open the expired link");
    let alert = text_of(&browser, "[role=alert]").await;
    assert!(alert.contains("expired"), "{alert}");
    assert!(browser.find(Locator::Id("password")).await.is_err(), "no form for an expired link");
    browser.close().await.expect("close the browser");
}
