//! roster-mail against a real SMTP server (`SmtpSink`) and an in-memory outbox.

mod delivery;
mod logs;
mod outbox;
mod retries;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use roster_domain::clock::Clock;
use roster_domain::ids::{IdGenerator as _, MessageId, UuidV7Ids};
use roster_domain::outbox::{Mail, OutboxMessage, RetryPolicy};
use roster_domain::values::Email;
use roster_mail::testing::SmtpSink;
use roster_mail::{SmtpSettings, SmtpTransport, Transport, Worker, WorkerConfig};

use crate::outbox::MemoryOutbox;

/// The sender of every test message.
const FROM: &str = "Roster <noreply@roster.example>";

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, 14, 9, 0, 0).unwrap()
}

fn invitation_mail(token: &str) -> Mail {
    Mail::Invitation {
        org_name: "Acme & Co".into(),
        inviter: "Ada Lovelace".into(),
        accept_url: format!("https://roster.example/invite/{token}"),
        expires_at: start() + chrono::Duration::days(7),
    }
}

fn credentials_mail() -> Mail {
    Mail::Credentials {
        org_name: "Acme & Co".into(),
        login_url: "https://acme.example/login".into(),
        email: "bob@acme.example".into(),
        username: "bob".into(),
        password: "Gen3rated-pa55word!".into(),
    }
}

fn queue(outbox: &MemoryOutbox, to: &str, mail: Mail, now: DateTime<Utc>) -> MessageId {
    let id = MessageId::from_uuid(UuidV7Ids.new_uuid());
    outbox.queue(OutboxMessage::queued(id, None, Email::parse(to).unwrap(), mail, now));
    id
}

fn smtp_to(sink: &SmtpSink) -> Arc<dyn Transport> {
    smtp_at(&sink.url())
}

fn smtp_at(url: &str) -> Arc<dyn Transport> {
    let settings = SmtpSettings { url: url.to_owned().into(), from: FROM.into(), timeout: Duration::from_secs(10) };
    Arc::new(SmtpTransport::new(&settings).unwrap())
}

/// Retries after 10 ms, 20 ms, 40 ms…, giving up after `max_attempts`.
fn quick_retries(max_attempts: u32) -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(10),
        lease: Duration::from_secs(60),
        batch: 4,
        retry: RetryPolicy {
            base: chrono::Duration::milliseconds(10),
            max: chrono::Duration::seconds(1),
            max_attempts,
        },
    }
}

fn worker(
    outbox: &Arc<MemoryOutbox>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
) -> Worker {
    Worker::new(Arc::clone(outbox) as _, transport, clock, config)
}
