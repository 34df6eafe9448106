//! Nothing secret reaches the logs or the stored errors.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use roster_domain::mocks::FixedClock;
use roster_mail::testing::SmtpSink;
use roster_mail::{Mailbox, WorkerConfig};

use super::*;

/// Collects everything logged while it is the default subscriber (tests run on one thread).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let this = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || this.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_dev_mailbox_logs_the_id_recipient_and_subject_but_no_link_or_password() {
    let logs = Captured::default();
    let _guard = logs.install();
    let outbox = Arc::new(MemoryOutbox::default());
    let invitation = queue(&outbox, "new@example.com", invitation_mail("tok_SECRET"), start());
    let credentials = queue(&outbox, "bob@acme.example", credentials_mail(), start());
    let worker = worker(&outbox, Arc::new(Mailbox), Arc::new(FixedClock::new(start())), WorkerConfig::default());

    assert_eq!(worker.deliver_due().await.unwrap(), 2);

    let text = logs.text();
    for expected in [
        invitation.to_string(),
        credentials.to_string(),
        "new@example.com".into(),
        "You are invited to join Acme & Co".into(),
    ] {
        assert!(text.contains(&expected), "{expected} missing from the logs:\n{text}");
    }
    for secret in ["tok_SECRET", "Gen3rated-pa55word!", "/invite/"] {
        assert!(!text.contains(secret), "{secret} logged:\n{text}");
    }
}

#[tokio::test]
async fn a_failed_delivery_logs_and_stores_no_smtp_credential_or_content() {
    let logs = Captured::default();
    let _guard = logs.install();
    // The sink offers no AUTH, so a transport with credentials fails at login.
    let sink = SmtpSink::start().await;
    let url = format!("smtp://roster:hunter2-secret@{}", sink.addr());
    let outbox = Arc::new(MemoryOutbox::default());
    let id = queue(&outbox, "bob@acme.example", credentials_mail(), start());
    let worker = worker(&outbox, smtp_at(&url), Arc::new(FixedClock::new(start())), quick_retries(5));

    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    let stored = outbox.message(id);
    let error = stored.last_error.expect("the failure is recorded");
    let text = logs.text();
    assert!(text.contains(&id.to_string()) && text.contains("attempt=1"), "{text}");
    assert!(text.contains(&error), "the logged error is the stored one:\n{text}");
    for secret in ["hunter2-secret", "Gen3rated-pa55word!"] {
        assert!(!text.contains(secret), "{secret} logged:\n{text}");
        assert!(!error.contains(secret), "{secret} stored: {error}");
    }
    assert!(sink.messages().is_empty());
}
