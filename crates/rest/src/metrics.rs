//! HTTP metrics: a request counter and a latency histogram, labelled by the matched route
//! template (`/v1/organizations/{org_id}`), never the raw path, so label cardinality
//! stays bounded by the number of routes.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// Counter: requests answered, by `method`, `route` and `status`.
pub const REQUESTS_TOTAL: &str = "roster_http_requests_total";
/// Histogram: seconds from request to response head, by `method` and `route`.
pub const REQUEST_DURATION: &str = "roster_http_request_duration_seconds";
/// The `route` label of requests no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Latency buckets in seconds: from a cached key check to a slow argon2 hash.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A Prometheus builder that renders [`REQUEST_DURATION`] as a histogram with buckets
/// (without them the exporter renders a summary). Build the recorder from it, install it,
/// and hand its handle to [`crate::RestState`].
pub fn prometheus_builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), BUCKETS)
        // The bucket list is a non-empty constant, so this cannot fail.
        .unwrap_or_else(|_| PrometheusBuilder::new())
}

/// A bounded `method` label: the standard methods by name, anything else as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts and times every request.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let res = next.run(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = res.status().as_u16().to_string();
    metrics::counter!(REQUESTS_TOTAL, "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!(REQUEST_DURATION, "method" => method, "route" => route).record(elapsed);
    res
}
