//! The running service: REST and gRPC listeners over one set of use cases, stopped
//! together on a shutdown signal after in-flight requests finish.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use roster_domain::service::Roster;
use roster_rest::RestState;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::wiring::Backend;

/// The REST router exactly as `roster serve` builds it.
pub fn rest_router(roster: Arc<Roster>, backend: Backend, metrics: PrometheusHandle) -> axum::Router {
    roster_rest::router(RestState { roster, metrics, on_scrape: Arc::new(move || backend.record_pool_metrics()) })
}

/// Bound listeners, ready to serve.
#[derive(Debug)]
pub struct Server {
    http: TcpListener,
    grpc: TcpListener,
    backend: Backend,
    metrics: PrometheusHandle,
}

/// Serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The REST server failed.
    #[error("REST server failed")]
    Http(#[source] io::Error),
    /// The gRPC server failed.
    #[error("gRPC server failed")]
    Grpc(#[source] tonic::transport::Error),
}

impl Server {
    /// Binds both addresses (port 0 picks a free port).
    ///
    /// # Errors
    /// When an address cannot be bound.
    pub async fn bind(
        http_addr: SocketAddr,
        grpc_addr: SocketAddr,
        backend: Backend,
        metrics: PrometheusHandle,
    ) -> io::Result<Self> {
        let http = TcpListener::bind(http_addr).await?;
        let grpc = TcpListener::bind(grpc_addr).await?;
        Ok(Self { http, grpc, backend, metrics })
    }

    /// The bound REST address.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn http_addr(&self) -> io::Result<SocketAddr> {
        self.http.local_addr()
    }

    /// The bound gRPC address.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn grpc_addr(&self) -> io::Result<SocketAddr> {
        self.grpc.local_addr()
    }

    /// Serves until `shutdown` completes, then drains both servers.
    ///
    /// # Errors
    /// [`ServeError`] when either server fails.
    pub async fn run(
        self,
        roster: Arc<Roster>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let router = rest_router(roster.clone(), self.backend, self.metrics);
        // With each connection's peer address, which login throttles failures by.
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        let http = axum::serve(self.http, app).with_graceful_shutdown(stopped(stop_rx.clone()));
        let grpc = roster_grpc::serve(self.grpc, roster, stopped(stop_rx));
        let (http, grpc) = tokio::join!(http, grpc);
        http.map_err(ServeError::Http)?;
        grpc.map_err(ServeError::Grpc)
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
