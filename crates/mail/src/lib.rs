//! # roster-mail
//!
//! Email delivery for Roster's transactional outbox. The domain writes each email into
//! the outbox in the same transaction as the change that causes it; this crate renders
//! it ([`render`]) and delivers it ([`Worker`]) through a [`Transport`]: SMTP with lettre
//! ([`SmtpTransport`]) or, with no mail server configured, the dev [`Mailbox`] that
//! leaves the message in the outbox for an operator to read.
//!
//! ```no_run
//! # async fn demo(outbox: std::sync::Arc<dyn roster_domain::ports::Outbox>) -> Result<(), roster_mail::SmtpConfigError> {
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use roster_domain::clock::SystemClock;
//! use roster_mail::{SmtpSettings, SmtpTransport, Worker, WorkerConfig};
//!
//! let smtp = SmtpTransport::new(&SmtpSettings {
//!     url: "smtps://roster:secret@mail.example.com:465".to_owned().into(),
//!     from: "Roster <noreply@example.com>".into(),
//!     timeout: Duration::from_secs(10),
//! })?;
//! let worker = Worker::new(outbox, Arc::new(smtp), Arc::new(SystemClock), WorkerConfig::default());
//! let signal = worker.mail_signal(); // for Roster::with_mail_signal
//! tokio::spawn(async move { worker.run(std::future::pending::<()>()).await });
//! # let _ = signal; Ok(()) }
//! ```
//!
//! Architecture invariant: nothing here logs a message's body, link or password, or the
//! SMTP URL; only ids, recipients and subjects.

#![warn(missing_docs)]

mod mailbox;
mod render;
mod smtp;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;
mod worker;

pub use mailbox::Mailbox;
pub use render::{Rendered, render};
pub use smtp::{SmtpConfigError, SmtpSettings, SmtpTransport};
pub use transport::{DeliveryError, Transport};
pub use worker::{Worker, WorkerConfig};
