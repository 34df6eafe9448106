//! The HTTP/2 server under [`crate::serve`]: hyper's HTTP/2 connections serving tonic's
//! [`Routes`], like `tonic::transport::Server`, but with each call run inside its
//! connection's task.
//!
//! hyper hands every HTTP/2 stream (every call) to an executor; tonic's server passes
//! `tokio::spawn`, so a unary call costs a task spawn, a wake-up of the call's task when the
//! request is in, and one of the connection's task when the answer is ready, which on a
//! busy multi-threaded runtime often runs on the other worker and writes the response
//! headers before the message and trailers are queued: two `writev`s, two TCP segments.
//! Here the executor ([`ConnStreams`]) queues the call on its connection, whose task polls
//! the calls itself ([`serve_connection`]): the answer is queued and written at once, and
//! nothing crosses tasks. Calls of one connection then share one worker thread, which is
//! what the HTTP/1.1 (REST) server does for all its requests anyway.
//!
//! The socket is also presented to h2 as one without vectored writes ([`UnvectoredIo`]):
//! h2 then copies a DATA payload of under 1 KiB into its write buffer (under 256 bytes
//! otherwise; larger ones are written from where they are, after a flush), so a unary
//! answer of a few hundred bytes (HEADERS, DATA and trailers) leaves in one `write` rather
//! than two. Answers over 1 KiB (list pages) take one `write` more instead.
//!
//! Kept from tonic's server: HTTP/2 only (prior knowledge, no HTTP/1.1), `TCP_NODELAY`, the
//! `grpc-timeout` request header (CANCELLED "Timeout expired" when it passes, as tonic
//! answers), graceful shutdown (GOAWAY, then in-flight calls finish), and a panicking call
//! failing alone (its stream is reset), and the peer address as tonic's `TcpConnectInfo`
//! request extension (`Request::remote_addr`, which `Login` falls back to for throttling).
//! Not kept: the tonic server's tuning knobs (none was set).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures::FutureExt as _;
use futures::stream::{FuturesUnordered, StreamExt as _};
use http::{HeaderMap, Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::Status;
use tonic::body::Body;
use tonic::service::Routes;
use tonic::transport::server::TcpConnectInfo;
use tower::Service as _;

/// Pause after a failed `accept` (e.g. out of file descriptors) before the next one.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `routes` on `listener` until `shutdown` completes; then stops accepting, asks
/// every connection to finish (GOAWAY) and waits for their in-flight calls.
pub(crate) async fn serve(listener: TcpListener, routes: Routes, shutdown: impl Future<Output = ()>) {
    let service = GrpcService { routes: routes.prepare(), peer: None };
    let (closing, closing_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer),
                Err(err) => {
                    tracing::warn!(error = %err, "gRPC: accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    continue;
                }
            },
        };
        let (stream, peer) = stream;
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "gRPC: cannot set TCP_NODELAY");
        }
        let info = TcpConnectInfo { local_addr: stream.local_addr().ok(), remote_addr: Some(peer) };
        let service = GrpcService { routes: service.routes.clone(), peer: Some(info) };
        tokio::spawn(serve_connection(stream, service, closing_rx.clone()));
    }
    drop(listener);
    let _ = closing.send(true);
    drop(closing_rx);
    // Every connection holds a receiver until it has finished.
    closing.closed().await;
}

/// One HTTP/2 connection, and all its calls, in one task.
async fn serve_connection(stream: TcpStream, service: GrpcService, mut close_rx: watch::Receiver<bool>) {
    let streams = ConnStreams::default();
    let connection = hyper::server::conn::http2::Builder::new(streams.clone())
        .timer(TokioTimer::new())
        // tonic's server sets no limit; hyper's default (200 calls at a time per connection) is a
        // saner bound for one client.
        .serve_connection(UnvectoredIo(TokioIo::new(stream)), service);
    let mut connection = pin!(connection);
    let mut close_requested = pin!(async move {
        let _ = close_rx.wait_for(|closing| *closing).await;
    });
    let mut closing = false;
    let mut calls = FuturesUnordered::new();
    let result = poll_fn(|cx| {
        if !closing && close_requested.as_mut().poll(cx).is_ready() {
            closing = true;
            connection.as_mut().graceful_shutdown();
        }
        // The connection (reads frames, starts calls, writes what the calls queued), the
        // calls, then the connection again so what they just queued goes out in this turn.
        for _ in 0..2 {
            if let Poll::Ready(result) = connection.as_mut().poll(cx) {
                return Poll::Ready(result);
            }
            calls.extend(streams.take());
            while let Poll::Ready(Some(())) = calls.poll_next_unpin(cx) {}
        }
        Poll::Pending
    })
    .await;
    if let Err(err) = result {
        tracing::debug!(error = %err, "gRPC: connection ended with an error");
    }
}

/// hyper's I/O over a socket, without vectored writes (see the module documentation):
/// `hyper::rt::Write::is_write_vectored` keeps its default, `false`.
#[derive(Debug)]
struct UnvectoredIo<T>(T);

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for UnvectoredIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for UnvectoredIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// A call in progress: hyper's future for one HTTP/2 stream.
type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

/// hyper's executor for one connection's streams: it queues them for the connection's own
/// task (see [`serve_connection`]) instead of spawning them.
#[derive(Clone, Default)]
struct ConnStreams(Arc<Mutex<Vec<Call>>>);

impl ConnStreams {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl std::fmt::Debug for ConnStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnStreams").finish_non_exhaustive()
    }
}

impl<F> hyper::rt::Executor<F> for ConnStreams
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, call: F) {
        // A panicking call ends alone: its stream is reset when hyper's future is dropped.
        let call = AssertUnwindSafe(call).catch_unwind().map(|outcome| {
            if outcome.is_err() {
                tracing::error!("gRPC: a call panicked");
            }
        });
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Box::pin(call));
    }
}

/// tonic's routes as a hyper service, with the client's `grpc-timeout` applied.
#[derive(Clone, Debug)]
struct GrpcService {
    routes: Routes,
    /// The connection's addresses, given to every call.
    peer: Option<TcpConnectInfo>,
}

impl hyper::service::Service<Request<Incoming>> for GrpcService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        if let Some(peer) = &self.peer {
            request.extensions_mut().insert(peer.clone());
        }
        let timeout = grpc_timeout(request.headers());
        // `Routes` (an axum router) is always ready, so no `poll_ready` first.
        let call = self.routes.clone().call(request);
        match timeout {
            None => Box::pin(call),
            Some(timeout) => Box::pin(async move {
                match tokio::time::timeout(timeout, call).await {
                    Ok(response) => response,
                    Err(_) => Ok(Status::cancelled("Timeout expired").into_http()),
                }
            }),
        }
    }
}

/// The `grpc-timeout` request header: at most 8 digits and a unit (`H`, `M`, `S`, `m`, `u`,
/// `n`). A malformed one is ignored, as tonic does.
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.as_bytes();
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some(match unit {
        b'H' => Duration::from_secs(amount * 60 * 60),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::future::Ready;

    use http::HeaderValue;
    use tokio::sync::oneshot;
    use tonic::server::NamedService;
    use tonic::transport::{Channel, Endpoint};
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::server::HealthReporter;
    use tower::ServiceExt as _;

    use super::*;

    /// A service whose every call panics.
    #[derive(Clone, Debug)]
    struct Panics;

    impl NamedService for Panics {
        const NAME: &'static str = "test.Panics";
    }

    impl tower::Service<Request<Body>> for Panics {
        type Response = Response<Body>;
        type Error = Infallible;
        type Future = Ready<Result<Response<Body>, Infallible>>;

        fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<Body>) -> Self::Future {
            panic!("this call panics, on purpose");
        }
    }

    /// Serves health (SERVING) and [`Panics`] until the sender fires or is dropped.
    async fn start() -> (Channel, HealthReporter, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let (reporter, health) = tonic_health::server::health_reporter();
        let routes = Routes::new(health).add_service(Panics);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, routes, async {
            let _ = stopped.await;
        }));
        let channel = Endpoint::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
        (channel, reporter, stop, server)
    }

    fn overall() -> HealthCheckRequest {
        HealthCheckRequest { service: String::new() }
    }

    async fn serving(channel: &Channel) -> bool {
        let response = HealthClient::new(channel.clone()).check(overall()).await;
        response.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
    }

    #[tokio::test]
    async fn a_panicking_call_fails_alone() {
        let (channel, reporter, _stop, _server) = start().await;
        // A call in flight on the connection (a Channel is one connection) during the panic.
        let mut watch = HealthClient::new(channel.clone()).watch(overall()).await.expect("watch").into_inner();
        let first = watch.message().await.expect("a status").expect("a message");
        assert_eq!(first.status, ServingStatus::Serving as i32);

        let request = Request::post("/test.Panics/Call")
            .header("content-type", "application/grpc")
            .body(Body::empty())
            .expect("request");
        assert!(channel.clone().oneshot(request).await.is_err(), "the panicking call's stream is reset");

        // The watch survived: the connection and its other calls go on.
        reporter.set_service_status("", tonic_health::ServingStatus::NotServing).await;
        let next = watch.message().await.expect("the watch is still open").expect("a message");
        assert_eq!(next.status, ServingStatus::NotServing as i32);
    }

    #[tokio::test]
    async fn shutdown_closes_open_connections_and_returns() {
        let (channel, _reporter, stop, server) = start().await;
        assert!(serving(&channel).await);
        stop.send(()).expect("the server is running");
        // The client keeps its connection; the server's GOAWAY closes it anyway.
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("serve returns after shutdown")
            .expect("serve does not panic");
        assert!(!serving(&channel).await);
    }

    fn timeout(value: &'static str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", HeaderValue::from_static(value));
        grpc_timeout(&headers)
    }

    #[test]
    fn grpc_timeouts_parse_every_unit() {
        assert_eq!(grpc_timeout(&HeaderMap::new()), None);
        assert_eq!(timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(timeout("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(timeout("7n"), Some(Duration::from_nanos(7)));
    }

    #[test]
    fn malformed_grpc_timeouts_are_ignored() {
        for bad in ["", "S", "10", "123456789S", "1.5S", "-1S", "10x", "１S"] {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(bad) {
                headers.insert("grpc-timeout", value);
            }
            assert_eq!(grpc_timeout(&headers), None, "{bad:?}");
        }
    }
}
