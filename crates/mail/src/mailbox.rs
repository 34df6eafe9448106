//! The dev mailbox: delivers nowhere. The message stays readable in the outbox
//! (`roster mail list`, `roster mail show ID`), so Roster works without a mail server.

use async_trait::async_trait;
use roster_domain::outbox::OutboxMessage;

use crate::render::Rendered;
use crate::transport::{DeliveryError, Transport};

/// The transport used when no SMTP server is configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mailbox;

#[async_trait]
impl Transport for Mailbox {
    fn name(&self) -> &'static str {
        "mailbox"
    }

    fn erases_delivered_mail(&self) -> bool {
        // The outbox row is the only copy an operator can read.
        false
    }

    async fn deliver(&self, message: &OutboxMessage, rendered: &Rendered) -> Result<(), DeliveryError> {
        // Never the body: it holds the link or the password.
        tracing::info!(
            message_id = %message.id,
            recipient = %message.recipient,
            subject = %rendered.subject,
            "mail kept in the dev mailbox; read it with `roster mail show {}`",
            message.id
        );
        Ok(())
    }
}
