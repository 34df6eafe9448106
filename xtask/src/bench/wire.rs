//! The load generator's connections: one HTTP/1.1 connection (hyper) or one HTTP/2
//! connection speaking gRPC (h2) per simulated client.
//!
//! Both share the machine with the server and PostgreSQL, so every microsecond the client
//! spends is one the server does not get. Two choices keep them lean:
//!
//! - each connection's I/O future is polled by the client's own task, alongside the call
//!   ([`Conn::run`]), instead of in a task of its own: a request then costs no wake-up of
//!   another task on the way out and none on the way back;
//! - gRPC is spoken on `h2` directly: the request message is encoded once per user id up
//!   front, and the response is checked (HTTP status, content type, the length prefix,
//!   `grpc-status` 0) without the tower buffer, codec and body layers of a tonic client.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::task::Poll;

use http::header::{AUTHORIZATION, CONTENT_TYPE, TE};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Result;

/// The I/O half of a connection, polled by the task that makes the calls. `None` once it
/// has finished (the peer closed, or an error), after which every call fails.
struct Conn<F> {
    io: Option<Pin<Box<F>>>,
}

impl<F, E> Conn<F>
where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    fn new(io: F) -> Self {
        Self { io: Some(Box::pin(io)) }
    }

    /// Runs `work` (which talks through this connection's handle) while polling the I/O
    /// future, until `work` completes or the connection ends.
    async fn run<T>(&mut self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let mut work = pin!(work);
        poll_fn(|cx| {
            // The call first (it queues its request), then the I/O (which writes it and reads
            // what came back), then the call again (it takes the answer, if there is one).
            if let Poll::Ready(result) = work.as_mut().poll(cx) {
                return Poll::Ready(result);
            }
            let Some(io) = self.io.as_mut() else { return Poll::Ready(Err("connection closed".to_owned())) };
            if let Poll::Ready(ended) = io.as_mut().poll(cx) {
                self.io = None;
                return Poll::Ready(Err(match ended {
                    Ok(()) => "the server closed the connection".to_owned(),
                    Err(err) => format!("connection failed: {err}"),
                }));
            }
            work.as_mut().poll(cx)
        })
        .await
    }
}

async fn tcp_connect(addr: SocketAddr) -> Result<TcpStream> {
    let stream = TcpStream::connect(addr).await.map_err(|err| format!("cannot connect to {addr}: {err}"))?;
    stream.set_nodelay(true).map_err(|err| format!("cannot set TCP_NODELAY: {err}"))?;
    Ok(stream)
}

// --- HTTP/1.1 -------------------------------------------------------------------------------

/// One HTTP/1.1 keep-alive connection (hyper's connection-level client, no pool).
pub struct Http1 {
    sender: http1::SendRequest<Full<Bytes>>,
    conn: Conn<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>,
}

impl Http1 {
    pub async fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = tcp_connect(addr).await?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|err| format!("HTTP/1.1 handshake with {addr} failed: {err}"))?;
        Ok(Self { sender, conn: Conn::new(connection) })
    }

    /// Sends `request` and reads the whole body.
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes)> {
        let Self { sender, conn } = self;
        conn.run(async move {
            sender.ready().await.map_err(|err| format!("connection lost: {err}"))?;
            let response = sender.send_request(request).await.map_err(|err| format!("request failed: {err}"))?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(|err| format!("reading the body failed: {err}"))?;
            Ok((status, body.to_bytes()))
        })
        .await
    }
}

// --- gRPC over HTTP/2 -----------------------------------------------------------------------

/// The length-prefixed gRPC message of a protobuf `message`: a zero byte (not compressed)
/// and the length as a big-endian u32, then the message.
pub fn grpc_frame(message: &[u8]) -> Result<Vec<u8>> {
    let length = u32::try_from(message.len()).map_err(|_| "message too long for a gRPC frame".to_owned())?;
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(0);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(message);
    Ok(frame)
}

/// The message of a gRPC response body holding exactly one uncompressed message.
pub fn grpc_message(body: &[u8]) -> Result<&[u8]> {
    let (prefix, message) =
        body.split_at_checked(5).ok_or_else(|| format!("short gRPC body ({} bytes)", body.len()))?;
    let length = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    match prefix[0] {
        0 if length == message.len() => Ok(message),
        0 => Err(format!("gRPC body of {} bytes announces a {length}-byte message", body.len())),
        flag => Err(format!("unexpected gRPC compression flag {flag}")),
    }
}

/// The request head every unary call of one method sends.
#[derive(Clone, Debug)]
pub struct GrpcMethod {
    head: Request<()>,
}

impl GrpcMethod {
    /// `POST http://{addr}{path}` with `content-type: application/grpc`, `te: trailers` and
    /// `authorization`.
    pub fn new(addr: SocketAddr, path: &str, authorization: HeaderValue) -> Result<Self> {
        let uri: Uri = format!("http://{addr}{path}").parse().map_err(|err| format!("bad gRPC URI: {err}"))?;
        let head = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/grpc"))
            .header(TE, HeaderValue::from_static("trailers"))
            .header(AUTHORIZATION, authorization)
            .body(())
            .map_err(|err| format!("cannot build the gRPC request head: {err}"))?;
        Ok(Self { head })
    }
}

/// One HTTP/2 connection making unary gRPC calls, one at a time.
pub struct GrpcH2 {
    sender: h2::client::SendRequest<Bytes>,
    conn: Conn<h2::client::Connection<TcpStream, Bytes>>,
}

impl GrpcH2 {
    /// Connects with prior knowledge (h2c, as gRPC does without TLS).
    pub async fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = tcp_connect(addr).await?;
        let (sender, connection) = h2::client::Builder::new()
            .handshake(stream)
            .await
            .map_err(|err| format!("HTTP/2 handshake with {addr} failed: {err}"))?;
        Ok(Self { sender, conn: Conn::new(connection) })
    }

    /// Calls `method` with `frame` (an encoded [`grpc_frame`]) as the request body. Returns
    /// the response body (the length-prefixed message) when the call succeeded: HTTP 200,
    /// `application/grpc`, and `grpc-status: 0`; any other status is an error.
    pub async fn unary(&mut self, method: &GrpcMethod, frame: Bytes) -> Result<Bytes> {
        let Self { sender, conn } = self;
        let head = method.head.clone();
        conn.run(async move {
            poll_fn(|cx| sender.poll_ready(cx)).await.map_err(|err| format!("connection lost: {err}"))?;
            let (response, mut body_out) =
                sender.send_request(head, false).map_err(|err| format!("cannot send the request: {err}"))?;
            body_out.send_data(frame, true).map_err(|err| format!("cannot send the request body: {err}"))?;
            let response = response.await.map_err(|err| format!("no response: {err}"))?;
            let (parts, mut body_in) = response.into_parts();
            if parts.status != StatusCode::OK {
                return Err(format!("HTTP {}", parts.status));
            }
            if !parts.headers.get(CONTENT_TYPE).is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc")) {
                return Err(format!("unexpected content-type {:?}", parts.headers.get(CONTENT_TYPE)));
            }
            // A "trailers-only" answer (errors) carries its status in the headers.
            if parts.headers.contains_key("grpc-status") {
                return check_grpc_status(&parts.headers).map(|()| Bytes::new());
            }
            let mut data = Bytes::new();
            let mut more: Vec<u8> = Vec::new();
            while let Some(chunk) = body_in.data().await {
                let chunk = chunk.map_err(|err| format!("reading the response failed: {err}"))?;
                // Hand the window back, or the connection stalls after 64 KiB of answers.
                let _ = body_in.flow_control().release_capacity(chunk.len());
                if data.is_empty() {
                    data = chunk;
                } else {
                    if more.is_empty() {
                        more.extend_from_slice(&data);
                    }
                    more.extend_from_slice(&chunk);
                }
            }
            let trailers = body_in.trailers().await.map_err(|err| format!("reading the trailers failed: {err}"))?;
            check_grpc_status(&trailers.unwrap_or_default())?;
            Ok(if more.is_empty() { data } else { Bytes::from(more) })
        })
        .await
    }
}

/// `Ok` for `grpc-status: 0`; the status and message otherwise (or when it is missing).
fn check_grpc_status(headers: &HeaderMap) -> Result<()> {
    match headers.get("grpc-status").map(HeaderValue::as_bytes) {
        Some(b"0") => Ok(()),
        Some(code) => {
            let message = headers.get("grpc-message").map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned());
            Err(format!("gRPC status {}: {}", String::from_utf8_lossy(code), message.unwrap_or_default()))
        }
        None => Err("the response has no grpc-status".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_frames_round_trip() {
        let frame = grpc_frame(b"\x0a\x03abc").unwrap();
        assert_eq!(frame, b"\x00\x00\x00\x00\x05\x0a\x03abc");
        assert_eq!(grpc_message(&frame).unwrap(), b"\x0a\x03abc");
        assert_eq!(grpc_message(b"\x00\x00\x00\x00\x00").unwrap(), b"");
    }

    #[test]
    fn malformed_grpc_bodies_are_refused() {
        assert!(grpc_message(b"\x00\x00\x00").is_err());
        assert!(grpc_message(b"\x00\x00\x00\x00\x09abc").is_err());
        assert!(grpc_message(b"\x01\x00\x00\x00\x03abc").is_err());
    }

    #[test]
    fn grpc_status_comes_from_the_trailers() {
        let mut trailers = HeaderMap::new();
        assert!(check_grpc_status(&trailers).is_err());
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        assert!(check_grpc_status(&trailers).is_ok());
        trailers.insert("grpc-status", HeaderValue::from_static("16"));
        trailers.insert("grpc-message", HeaderValue::from_static("no key"));
        assert_eq!(check_grpc_status(&trailers).unwrap_err(), "gRPC status 16: no key");
    }
}
