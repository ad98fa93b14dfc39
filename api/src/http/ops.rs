//! Operations endpoints: liveness, readiness (the database answers) and Prometheus metrics.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::blocking;
use super::problem::{ApiError, Problem};
use crate::clock::Clock;
use crate::db::{self, Pool};
use crate::observability::metrics::Metrics;
use crate::service::follow_ups;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// Whether the process is up.
#[utoipa::path(
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)),
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: "ok".into(),
    })
}

/// Whether the service can do its work: the database answers.
#[utoipa::path(
    operation_id = "readyz",
    tag = "operations",
    responses((status = 200, description = "The database answers", body = Health)),
)]
#[get("/readyz")]
pub async fn readyz(pool: web::Data<Pool>) -> Result<web::Json<Health>, ApiError> {
    let pool = pool.clone();
    let ready = web::block(move || db::ping(&pool)).await.unwrap_or(false);
    if ready {
        Ok(web::Json(Health {
            status: "ready".into(),
        }))
    } else {
        Err(ApiError::Unavailable)
    }
}

/// The bearer token `/metrics` requires (`POPIA_METRICS_TOKEN`); none: open on the bind address.
#[derive(Debug, Clone, Default)]
pub struct MetricsToken(pub Option<String>);

impl MetricsToken {
    fn admits(&self, req: &HttpRequest) -> bool {
        let Some(expected) = &self.0 else {
            return true;
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .trim();
        // Constant time: the comparison must not tell how much of a guess was right.
        given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// Prometheus metrics: request counts and latencies per route, outbox depth, SMS budget hits,
/// open and overdue follow-ups per dealer.
/// Needs `Authorization: Bearer <POPIA_METRICS_TOKEN>` when that is set.
#[utoipa::path(
    operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "`POPIA_METRICS_TOKEN` is set and the bearer token is not it", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    token: Option<web::Data<MetricsToken>>,
    pool: web::Data<Pool>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, ApiError> {
    if !token.is_none_or(|t| t.admits(&req)) {
        return Err(ApiError::Unauthorized(
            "/metrics needs the metrics bearer token".into(),
        ));
    }
    let now = clock.now();
    match blocking::run(&pool, move |conn| follow_ups::counts(conn, now)).await {
        Ok(counts) => {
            metrics.follow_ups_open.reset();
            metrics.follow_ups_overdue.reset();
            for (dealer, open, overdue) in counts {
                metrics
                    .follow_ups_open
                    .with_label_values(&[&dealer])
                    .set(open);
                metrics
                    .follow_ups_overdue
                    .with_label_values(&[&dealer])
                    .set(overdue);
            }
        }
        // The rest of the metrics are still worth serving.
        Err(error) => tracing::warn!(%error, "metrics: cannot count follow-ups"),
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render()))
}
