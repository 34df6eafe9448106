//! A minimal SMTP server (RFC 5321's mandatory commands, no AUTH or TLS) that stores
//! every message it accepts and can refuse the next transactions on demand.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::mime::ReceivedMessage;

/// How long [`SmtpSink::wait_for`] waits before failing the test.
const WAIT: Duration = Duration::from_secs(30);

/// How the sink refuses a transaction (see [`SmtpSink::refuse_next`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Greets a new connection with `421` and closes it.
    Greeting,
    /// Answers `MAIL FROM` with `451`.
    MailFrom,
}

/// An SMTP server on `127.0.0.1:0`, stopped when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

#[derive(Debug)]
struct State {
    messages: Mutex<Vec<ReceivedMessage>>,
    received: watch::Sender<usize>,
    plan: Mutex<Plan>,
}

#[derive(Debug, Default)]
struct Plan {
    refuse: usize,
    how: Option<Refusal>,
    refused: usize,
}

impl State {
    /// Whether to refuse now, at `step`; counts the refusal.
    fn refuses(&self, step: Refusal) -> bool {
        let mut plan = self.plan.lock().unwrap_or_else(PoisonError::into_inner);
        if plan.refuse > 0 && plan.how == Some(step) {
            plan.refuse -= 1;
            plan.refused += 1;
            true
        } else {
            false
        }
    }

    fn store(&self, message: ReceivedMessage) {
        let mut messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        messages.push(message);
        let count = messages.len();
        self.received.send_replace(count);
    }
}

impl SmtpSink {
    /// Starts a sink on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink on 127.0.0.1");
        let addr = listener.local_addr().expect("the SMTP sink's address");
        let state = Arc::new(State {
            messages: Mutex::new(Vec::new()),
            received: watch::Sender::new(0),
            plan: Mutex::new(Plan::default()),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Self { addr, state, accept }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL for `ROSTER_SMTP_URL`: `smtp://127.0.0.1:PORT` (plain SMTP).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Refuses the next `n` transactions `how` (replacing any earlier plan);
    /// `usize::MAX` refuses them all.
    pub fn refuse_next(&self, n: usize, how: Refusal) {
        let mut plan = self.state.plan.lock().unwrap_or_else(PoisonError::into_inner);
        plan.refuse = n;
        plan.how = Some(how);
    }

    /// How many transactions it refused so far.
    pub fn refused(&self) -> usize {
        self.state.plan.lock().unwrap_or_else(PoisonError::into_inner).refused
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.state.messages.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until at least `n` messages arrived, and returns all of them.
    ///
    /// # Panics
    /// When they have not arrived within 30 seconds: the test fails.
    pub async fn wait_for(&self, n: usize) -> Vec<ReceivedMessage> {
        let mut received = self.state.received.subscribe();
        if tokio::time::timeout(WAIT, received.wait_for(|count| *count >= n)).await.is_err() {
            panic!("the SMTP sink received {} of {n} messages within {WAIT:?}", self.messages().len());
        }
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve(stream, Arc::clone(&state)));
    }
}

/// One SMTP session. I/O errors just end it: the client sees a broken connection.
async fn serve(stream: TcpStream, state: Arc<State>) {
    let _ = session(stream, &state).await;
}

async fn session(stream: TcpStream, state: &State) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    if state.refuses(Refusal::Greeting) {
        writer.write_all(b"421 4.3.2 roster-sink busy, try again later\r\n").await?;
        return writer.shutdown().await;
    }
    writer.write_all(b"220 roster-sink ESMTP ready\r\n").await?;
    let mut from: Option<String> = None;
    let mut rcpt: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line).trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or_default();
        let reply: &[u8] = match verb {
            "EHLO" => b"250-roster-sink greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n",
            "HELO" => b"250 roster-sink greets you\r\n",
            "MAIL" if upper.starts_with("MAIL FROM:") => {
                if state.refuses(Refusal::MailFrom) {
                    b"451 4.3.0 roster-sink refuses for now, try again later\r\n"
                } else {
                    from = Some(address(&command));
                    rcpt.clear();
                    b"250 2.1.0 OK\r\n"
                }
            }
            "RCPT" if upper.starts_with("RCPT TO:") => {
                if from.is_some() {
                    rcpt.push(address(&command));
                    b"250 2.1.5 OK\r\n"
                } else {
                    b"503 5.5.1 MAIL first\r\n"
                }
            }
            "DATA" => match (&from, rcpt.is_empty()) {
                (Some(sender), false) => {
                    writer.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
                    let data = read_data(&mut reader).await?;
                    state.store(ReceivedMessage::new(sender.clone(), std::mem::take(&mut rcpt), data));
                    from = None;
                    b"250 2.0.0 OK queued\r\n"
                }
                _ => b"503 5.5.1 MAIL and RCPT first\r\n",
            },
            "RSET" => {
                from = None;
                rcpt.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                writer.write_all(b"221 2.0.0 bye\r\n").await?;
                return writer.shutdown().await;
            }
            "MAIL" | "RCPT" => b"501 5.5.4 syntax error\r\n",
            _ => b"502 5.5.2 command not implemented\r\n",
        };
        writer.write_all(reply).await?;
    }
}

/// The message up to the lone `.` line, dot-unstuffed (RFC 5321 4.5.2).
async fn read_data(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<String> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(String::from_utf8_lossy(&data).into_owned());
        }
        let unstuffed = if line.first() == Some(&b'.') { &line[1..] } else { &line[..] };
        data.extend_from_slice(unstuffed);
    }
}

/// `MAIL FROM:<a@b> BODY=8BITMIME` → `a@b`.
fn address(command: &str) -> String {
    let after_colon = command.split_once(':').map_or("", |(_, rest)| rest);
    match (after_colon.find('<'), after_colon.find('>')) {
        (Some(open), Some(close)) if open < close => after_colon[open + 1..close].to_owned(),
        _ => after_colon.split_whitespace().next().unwrap_or_default().to_owned(),
    }
}
