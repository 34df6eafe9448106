//! The outbox worker: claims due messages, delivers them, and records each outcome.
//!
//! Delivery is at-least-once by construction and once in practice: a claim is a lease,
//! each send must finish well inside it, and the outcome is recorded only while the
//! claim is still this worker's (`attempts` fences it). Only a crash (or a lost
//! connection) between the server's acceptance and the recording can repeat a message,
//! and the repeat carries the same `Message-ID`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use roster_domain::StoreError;
use roster_domain::clock::Clock;
use roster_domain::outbox::{Claim, OutboxMessage, RetryPolicy};
use roster_domain::ports::Outbox;
use roster_domain::service::MailSignal;
use tokio::sync::Notify;

use crate::render::render;
use crate::transport::{DeliveryError, Transport};

/// How the worker paces itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// How often to look for due messages when nobody wakes the worker: the pace of
    /// retries and of messages queued by other instances.
    pub poll_interval: Duration,
    /// How long a claim keeps a message from other workers. Each send must finish within
    /// half of it; the rest is the margin for recording the outcome.
    pub lease: Duration,
    /// How many messages one pass claims and sends concurrently (SMTP sends share the
    /// transport's connection pool). Each pass costs two statements (the claim and the
    /// record of its deliveries), so big passes keep up with bursts of new users: with 16
    /// the worker fell behind creations at about 900 emails a second on the 2-core
    /// benchmark machine.
    pub batch: u32,
    /// When to retry a failed message, and when to give up.
    pub retry: RetryPolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            batch: 128,
            retry: RetryPolicy::default(),
        }
    }
}

/// Delivers the outbox through a [`Transport`].
pub struct Worker {
    outbox: Arc<dyn Outbox>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
    waker: Arc<Notify>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("transport", &self.transport)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker; nothing happens until [`Self::run`] or [`Self::deliver_due`].
    pub fn new(
        outbox: Arc<dyn Outbox>,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        config: WorkerConfig,
    ) -> Self {
        Self { outbox, transport, clock, config, waker: Arc::new(Notify::new()) }
    }

    /// How delivered messages are recorded (`smtp`, `mailbox`), for logs.
    pub fn transport_name(&self) -> &'static str {
        self.transport.name()
    }

    /// Wakes a running worker for an immediate pass (`notify_one`). A wake-up that comes
    /// while a pass is under way is kept, so a just-queued message never waits a poll.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.waker)
    }

    /// [`Self::waker`] in the form the domain calls after committing queued mail
    /// (`Roster::with_mail_signal`).
    pub fn mail_signal(&self) -> MailSignal {
        let waker = self.waker();
        Arc::new(move || waker.notify_one())
    }

    /// Delivers until `shutdown` completes: a pass, then a wait for the waker, the next
    /// poll or the shutdown. A pass under way when shutdown comes is finished (each send
    /// is bounded by half the lease). Storage failures are logged and retried at the next
    /// poll; nothing here panics.
    pub async fn run(&self, shutdown: impl Future) {
        let mut shutdown = std::pin::pin!(shutdown);
        tracing::info!(transport = self.transport.name(), "mail worker started");
        loop {
            let more_due = match self.deliver_due().await {
                Ok(claimed) => claimed > 0 && claimed >= self.config.batch as usize,
                Err(e) => {
                    tracing::error!(error = %error_chain(&e), "mail worker could not read the outbox; retrying at the next poll");
                    false
                }
            };
            if more_due {
                if shutdown.as_mut().now_or_never().is_some() {
                    break;
                }
                continue;
            }
            tokio::select! {
                biased;
                _ = shutdown.as_mut() => break,
                () = self.waker.notified() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        tracing::info!("mail worker stopped");
    }

    /// One pass: claims up to `batch` due messages, delivers them concurrently and
    /// records the outcomes: the deliveries together, in one call, once every send of the
    /// pass has ended; each failure on its own. Returns how many messages were claimed
    /// (attempted).
    ///
    /// A crash between a send and its record leaves the message claimed: when the lease
    /// runs out a later pass sends it again (at-least-once delivery; the Message-ID, derived
    /// from the outbox id, lets a receiver drop the duplicate).
    ///
    /// # Errors
    /// [`StoreError`] when the claim fails. A failure to record an outcome is logged
    /// instead: the message's lease runs out and a later pass takes it up again.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        // Beyond chrono's range (hundreds of millions of years) means "a long time", not a panic.
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::days(365));
        let claimed = self.outbox.claim_due_messages(self.clock.now(), lease, self.config.batch).await?;
        let outcomes = futures::future::join_all(claimed.iter().map(|message| self.attempt(message))).await;
        let mut sent = Vec::with_capacity(claimed.len());
        let mut failed = Vec::new();
        for (message, outcome) in claimed.iter().zip(outcomes) {
            match outcome {
                Ok(()) => sent.push(message),
                Err(error) => failed.push(self.record_failure(message, error)),
            }
        }
        futures::future::join(self.record_sent(&sent), futures::future::join_all(failed)).await;
        Ok(claimed.len())
    }

    /// Sends one message, bounded by half the lease.
    async fn attempt(&self, message: &OutboxMessage) -> Result<(), DeliveryError> {
        let Some(mail) = &message.mail else {
            return Err(DeliveryError::permanent("the message has no content (unknown template, or erased)"));
        };
        let rendered = render(mail);
        let send_timeout = self.config.lease / 2;
        let result = tokio::time::timeout(send_timeout, self.transport.deliver(message, &rendered)).await;
        let delivered = result.unwrap_or_else(|_| {
            Err(DeliveryError::transient(format!("delivery timed out after {} s", send_timeout.as_secs_f64())))
        });
        if delivered.is_ok() {
            tracing::debug!(message_id = %message.id, attempt = message.attempts, via = self.transport.name(), "mail delivered");
        }
        delivered
    }

    /// Records the pass's deliveries, in one call.
    async fn record_sent(&self, sent: &[&OutboxMessage]) {
        if sent.is_empty() {
            return;
        }
        let claims: Vec<Claim> = sent.iter().map(|m| m.claim()).collect();
        let transport = &self.transport;
        match self
            .outbox
            .mark_sent(&claims, self.clock.now(), transport.name(), transport.erases_delivered_mail())
            .await
        {
            Ok(marked) => {
                for message in sent.iter().filter(|m| !marked.contains(&m.id)) {
                    lost_claim(message);
                }
            }
            Err(e) => {
                for message in sent {
                    tracing::error!(
                        message_id = %message.id,
                        attempt = message.attempts,
                        error = %error_chain(&e),
                        "mail delivered but not recorded; it will be sent again when its claim runs out"
                    );
                }
            }
        }
    }

    async fn record_failure(&self, message: &OutboxMessage, error: DeliveryError) {
        let now = self.clock.now();
        let retry_at = if error.is_permanent() {
            None
        } else {
            self.config.retry.delay_after(message.attempts).map(|delay| now + delay)
        };
        match retry_at {
            Some(at) => tracing::warn!(
                message_id = %message.id,
                attempt = message.attempts,
                %error,
                retry_at = %at.to_rfc3339(),
                "mail delivery failed; will retry"
            ),
            None => tracing::warn!(
                message_id = %message.id,
                attempt = message.attempts,
                %error,
                "mail delivery failed for good"
            ),
        }
        match self.outbox.mark_failed(message.id, message.attempts, &error.to_string(), retry_at).await {
            Ok(true) => {}
            Ok(false) => lost_claim(message),
            Err(e) => tracing::error!(
                message_id = %message.id,
                attempt = message.attempts,
                error = %error_chain(&e),
                "mail outcome not recorded; the message will be retried when its claim runs out"
            ),
        }
    }
}

fn lost_claim(message: &OutboxMessage) {
    tracing::warn!(
        message_id = %message.id,
        attempt = message.attempts,
        "mail outcome not recorded: the claim ran out and another attempt took the message over"
    );
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
