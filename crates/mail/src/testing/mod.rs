//! Test tooling (feature `testing`): [`SmtpSink`], a real SMTP server on 127.0.0.1 that
//! keeps what it receives, and [`ReceivedMessage`] to read a received message's parts.

mod mime;
mod sink;

pub use mime::{Part, ReceivedMessage, find_invite_link};
pub use sink::{Refusal, SmtpSink};
