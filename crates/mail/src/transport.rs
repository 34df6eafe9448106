//! Where a rendered message goes: the port the worker delivers through, and its error.

use std::fmt;

use async_trait::async_trait;
use roster_domain::outbox::OutboxMessage;

use crate::render::Rendered;

/// Port: delivers one rendered outbox message. [`crate::SmtpTransport`] sends it;
/// [`crate::Mailbox`] leaves it in the outbox for an operator to read.
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// How a delivery is recorded in `delivered_via` (`smtp`, `mailbox`).
    fn name(&self) -> &'static str;

    /// Whether a delivered message's content (links, passwords) is erased from the
    /// outbox. A transport that keeps the message only in the outbox must say `false`.
    fn erases_delivered_mail(&self) -> bool;

    /// Delivers the message to `message.recipient`.
    ///
    /// # Errors
    /// A [`DeliveryError`], transient (worth retrying) or permanent. Its text is stored
    /// and logged, so it MUST NOT contain credentials or the message's content.
    async fn deliver(&self, message: &OutboxMessage, rendered: &Rendered) -> Result<(), DeliveryError>;
}

/// Why a delivery failed, in words safe to store and log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct DeliveryError {
    reason: String,
    permanent: bool,
}

impl DeliveryError {
    /// A failure that may go away (server down or busy, timeout): retry with backoff.
    pub fn transient(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), permanent: false }
    }

    /// A failure no retry can fix (the message cannot even be built): give up at once.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), permanent: true }
    }

    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }
}
