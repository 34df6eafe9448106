//! `roster mail`: the outbox for operators. With no SMTP server configured it is the dev
//! mailbox: every email Roster would have sent, readable here.

use std::io::Write as _;

use roster_domain::ids::MessageId;
use roster_domain::outbox::OutboxMessage;
use roster_mail::render;

use crate::wiring::Backend;

/// What to show.
#[derive(Debug)]
pub enum Command {
    /// Every message, one line each.
    List,
    /// One message in full.
    Show {
        /// Its id.
        id: String,
        /// The HTML part instead of the text.
        html: bool,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Page size of the walk through the outbox.
const PAGE: u32 = 200;

/// Runs a `roster mail` command, printing to stdout.
///
/// # Errors
/// When storage fails, the id is not one, or no message has it.
pub async fn run(backend: &Backend, command: Command) -> Result<(), BoxError> {
    let outbox = backend.outbox();
    let mut out = std::io::stdout().lock();
    match command {
        Command::List => {
            let mut after = None;
            loop {
                let page = outbox.list_messages(after, PAGE).await?;
                for message in &page {
                    writeln!(out, "{}", list_line(message))?;
                }
                match page.last() {
                    Some(last) if page.len() == PAGE as usize => after = Some(last.id),
                    _ => break,
                }
            }
        }
        Command::Show { id, html } => {
            let id: MessageId = id.parse().map_err(|_| format!("{id:?} is not a message id (a UUID)"))?;
            let message = outbox.get_message(id).await?.ok_or_else(|| format!("no message with id {id}"))?;
            write!(out, "{}", show(&message, html))?;
        }
    }
    Ok(())
}

/// `id  recipient  subject  status`, tab-separated.
fn list_line(message: &OutboxMessage) -> String {
    format!("{}\t{}\t{}\t{}", message.id, message.recipient, subject(message), message.status.as_str())
}

fn subject(message: &OutboxMessage) -> String {
    message.mail.as_ref().map_or_else(|| "(content erased after delivery)".to_owned(), |mail| render(mail).subject)
}

/// The delivery record, then the body.
fn show(message: &OutboxMessage, html: bool) -> String {
    let mut text = format!(
        "Id: {}\nTo: {}\nSubject: {}\nStatus: {}\nAttempts: {}\nQueued: {}\n",
        message.id,
        message.recipient,
        subject(message),
        message.status.as_str(),
        message.attempts,
        message.created_at.to_rfc3339(),
    );
    if let Some(at) = message.sent_at {
        text.push_str(&format!(
            "Delivered: {} via {}\n",
            at.to_rfc3339(),
            message.delivered_via.as_deref().unwrap_or("-")
        ));
    }
    if let Some(error) = &message.last_error {
        text.push_str(&format!("Last error: {error}\n"));
    }
    text.push('\n');
    match &message.mail {
        Some(mail) => {
            let rendered = render(mail);
            text.push_str(if html { &rendered.html } else { &rendered.text });
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        None => text.push_str("(the content was erased once the message was delivered over SMTP)\n"),
    }
    text
}
