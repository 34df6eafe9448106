//! Delivery over SMTP with lettre: plain, STARTTLS or implicit TLS (rustls), as the
//! configured URL says.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox as Address, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use roster_domain::outbox::OutboxMessage;
use secrecy::{ExposeSecret, SecretString};

use crate::render::Rendered;
use crate::transport::{DeliveryError, Transport};

/// How to reach the SMTP server.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// `smtp://[user:pass@]host:port` (plain), `smtp://…?tls=required|opportunistic`
    /// (STARTTLS) or `smtps://[user:pass@]host:port` (implicit TLS). Credentials are
    /// percent-encoded. A secret: its `Debug` form is redacted.
    pub url: SecretString,
    /// The sender, `noreply@example.com` or `Roster <noreply@example.com>`. Its domain
    /// also names the messages' `Message-ID`s.
    pub from: String,
    /// How long to wait for the server at each step (connect, each command).
    pub timeout: Duration,
}

/// The SMTP server in the settings was not usable.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    /// The URL could not be used. The reason never quotes the URL.
    #[error("the SMTP URL is not usable: {0}")]
    Url(String),
    /// The sender address is not a valid mailbox.
    #[error("the sender address {from:?} is not valid: {reason}")]
    From {
        /// The address as configured.
        from: String,
        /// Why it was refused.
        reason: String,
    },
}

/// Sends outbox messages to an SMTP server, one connection per message, each a
/// `multipart/alternative` of the text and HTML bodies whose `Message-ID` is derived from
/// the outbox message's id, so a receiver can drop a redelivered duplicate.
#[derive(Clone)]
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
    endpoint: String,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may carry the credentials.
        f.debug_struct("SmtpTransport").field("endpoint", &self.endpoint).field("from", &self.from.to_string()).finish()
    }
}

impl SmtpTransport {
    /// A transport for the server the settings name. Connects lazily, at the first send.
    ///
    /// # Errors
    /// [`SmtpConfigError`] when the URL or the sender address is unusable.
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpConfigError> {
        let url = settings.url.expose_secret();
        let from: Address = settings.from.parse().map_err(|e: lettre::address::AddressError| {
            SmtpConfigError::From { from: settings.from.clone(), reason: e.to_string() }
        })?;
        // lettre's errors name the scheme or the parse failure, never the URL itself.
        let builder =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| SmtpConfigError::Url(e.to_string()))?;
        let inner = builder.timeout(Some(settings.timeout)).build();
        Ok(Self { inner, from, endpoint: endpoint(url) })
    }

    /// Where mail goes, credentials left out (`smtps://mail.example.com:465`), for logs.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn message(&self, message: &OutboxMessage, rendered: &Rendered) -> Result<Message, DeliveryError> {
        let to: lettre::Address = message
            .recipient
            .as_str()
            .parse()
            .map_err(|e| DeliveryError::permanent(format!("the recipient address cannot be used: {e}")))?;
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text_body(&rendered.text));
        let html = SinglePart::builder().header(ContentType::TEXT_HTML).body(rendered.html.clone());
        Message::builder()
            .from(self.from.clone())
            .to(Address::new(None, to))
            .subject(rendered.subject.clone())
            .message_id(Some(format!("<{}@{}>", message.id, self.from.email.domain())))
            .multipart(MultiPart::alternative().singlepart(text).singlepart(html))
            .map_err(|e| DeliveryError::permanent(format!("the message cannot be built: {e}")))
    }
}

#[async_trait]
impl Transport for SmtpTransport {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn erases_delivered_mail(&self) -> bool {
        // Once the recipient has it, the outbox need not keep the link or password.
        true
    }

    async fn deliver(&self, message: &OutboxMessage, rendered: &Rendered) -> Result<(), DeliveryError> {
        let email = self.message(message, rendered)?;
        // Even a 5xx is retried: a refused relay or login is usually the configuration,
        // which an operator can fix before the attempts run out.
        self.inner.send(email).await.map(drop).map_err(|e| DeliveryError::transient(e.to_string()))
    }
}

/// The plain-text body as `7bit` when it is ASCII within SMTP's line limit, so the link
/// stays whole on its line (quoted-printable would fold it at 76 characters); anything
/// else gets lettre's choice.
fn text_body(text: &str) -> Body {
    const MAX_LINE: usize = 998;
    let seven_bit = text.is_ascii()
        && text.lines().all(|line| line.len() <= MAX_LINE && !line.bytes().any(|b| b.is_ascii_control() && b != b'\t'));
    if seven_bit {
        let crlf: String = text.lines().flat_map(|line| [line, "\r\n"]).collect();
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text.to_owned())
    }
}

/// The URL without its user information, path or query (other than the TLS mode).
fn endpoint(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("smtp", url));
    // Credentials end at the last '@', whatever characters they hold.
    let after_credentials = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host_port = after_credentials.split(['/', '?', '#']).next().unwrap_or_default();
    let tls = after_credentials
        .split_once('?')
        .and_then(|(_, query)| query.split('&').find_map(|pair| pair.strip_prefix("tls=")));
    match tls {
        Some(mode) => format!("{scheme}://{host_port}?tls={mode}"),
        None => format!("{scheme}://{host_port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> SmtpSettings {
        SmtpSettings {
            url: SecretString::from(url.to_owned()),
            from: "Roster <noreply@roster.example>".into(),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn plain_starttls_and_implicit_tls_urls_are_accepted() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://user:p%40ss@mail.example.com:587?tls=required",
            "smtp://mail.example.com:587?tls=opportunistic",
            "smtps://user:pass@mail.example.com:465",
        ] {
            SmtpTransport::new(&settings(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }

    #[test]
    fn an_unusable_url_or_sender_is_refused_without_quoting_the_secret() {
        let err = SmtpTransport::new(&settings("http://user:hunter2@mail.example.com")).unwrap_err();
        assert!(matches!(err, SmtpConfigError::Url(_)), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = SmtpTransport::new(&settings("smtp://user:hunter2@mail.example.com:587?tls=sometimes")).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let mut bad_from = settings("smtp://127.0.0.1:2525");
        bad_from.from = "not an address".into();
        assert!(matches!(SmtpTransport::new(&bad_from), Err(SmtpConfigError::From { .. })));
    }

    #[test]
    fn the_debug_forms_and_the_endpoint_leave_the_credentials_out() {
        let settings = settings("smtps://user:hunter2@mail.example.com:465");
        assert!(!format!("{settings:?}").contains("hunter2"));
        let transport = SmtpTransport::new(&settings).unwrap();
        assert_eq!(transport.endpoint(), "smtps://mail.example.com:465");
        assert!(!format!("{transport:?}").contains("hunter2"));
        assert_eq!(endpoint("smtp://u:p/w@d@h.example:587?tls=required"), "smtp://h.example:587?tls=required");
    }

    #[test]
    fn ascii_text_stays_7bit_with_long_lines_whole() {
        let link = format!("https://roster.example/invite/{}", "t".repeat(120));
        let body = text_body(&format!("Hello\n{link}\n"));
        assert_eq!(body.encoding(), ContentTransferEncoding::SevenBit);
        assert_eq!(String::from_utf8(body.into_vec()).unwrap(), format!("Hello\r\n{link}\r\n"));
        assert_ne!(text_body("Café\n").encoding(), ContentTransferEncoding::SevenBit);
    }
}
