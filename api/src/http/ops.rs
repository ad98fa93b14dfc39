use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::problem::ApiError;
use crate::db::{self, Pool};
use crate::observability::metrics::Metrics;

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

/// Prometheus metrics: request counts and latencies per route.
#[utoipa::path(
    operation_id = "metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")),
)]
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
