//! One middleware per request: a request id (kept from `X-Request-Id` when the caller sends a
//! sane one), a tracing span carrying it, an access log line and the route metrics. The log
//! names the route pattern (`/v1/dealers/{dealer}/customers`), never the query string, which
//! can hold an email or mobile.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use rand::Rng;
use tracing::Instrument;

use super::metrics::Metrics;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(new_request_id);
    let method = method_label(req.method());
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();

    let span = tracing::info_span!("request", id = %request_id, %method, %route);
    let in_flight = metrics.as_ref().map(|m| {
        InFlight::enter(
            m.in_flight
                .with_label_values(&[method.as_str(), route.as_str()]),
        )
    });
    let result = next.call(req).instrument(span.clone()).await;
    drop(in_flight);
    let elapsed = started.elapsed();

    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            ms = elapsed.as_secs_f64() * 1000.0,
            "answered"
        )
    });
    if let Some(metrics) = metrics {
        metrics
            .requests
            .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
            .inc();
        metrics
            .latency
            .with_label_values(&[method.as_str(), route.as_str()])
            .observe(elapsed.as_secs_f64());
    }

    let mut response = result?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// One request counted in `http_requests_in_flight` until this is dropped, which happens too
/// when the client goes away and actix drops the request's future.
struct InFlight(prometheus::IntGauge);

impl InFlight {
    fn enter(gauge: prometheus::IntGauge) -> InFlight {
        gauge.inc();
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The method as a metrics label, from a fixed set: any other (an extension method a client
/// makes up) would start a new series per request, unauthenticated.
fn method_label(method: &actix_web::http::Method) -> String {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let name = method.as_str();
    if KNOWN.contains(&name) { name } else { "OTHER" }.to_owned()
}

/// A caller's request id is kept only if it is short and plain, so it cannot inject into logs.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let plain = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (plain && (1..=64).contains(&value.len())).then(|| value.to_owned())
}

fn new_request_id() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}
