//! Webhook endpoints over HTTP: register one (its signing secret shown once), list, read,
//! delete, rotate the secret, and read an endpoint's deliveries. Dealer staff and admins only.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::blocking;
use super::extract::{parsed, ValidJson, ValidQuery};
use super::pagination::{self, named_page, Page};
use super::problem::ApiError;
use crate::auth::{Capability, Principal};
use crate::db::webhooks::{Delivery, WebhookRow};
use crate::db::{outbox, Pool};
use crate::domain::events::EventKind;
use crate::domain::{rule, webhook_url, Invalid};
use crate::notify::address_guard;
use crate::service::webhooks::{self as service, NewWebhook};

/// Whether endpoints may point at private addresses (`POPIA_WEBHOOK_ALLOW_PRIVATE`), for the
/// check at registration.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookAddresses {
    pub allow_private: bool,
}

named_page!(WebhookPage, Webhook);
named_page!(WebhookDeliveryPage, WebhookDelivery);

/// An endpoint the dealer's change events are delivered to, signed (Standard Webhooks 1.0).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    #[schema(example = 7)]
    pub id: i64,
    #[schema(example = "https://dms.abcmotors.co.za/popia/webhooks")]
    pub url: String,
    /// The kinds of change event delivered to it.
    #[schema(example = json!(["consent.withdrawn", "customer.amended"]))]
    pub events: Vec<EventKind>,
    pub created_at: DateTime<Utc>,
    /// Set when the endpoint answered `410 Gone`: nothing more is sent to it.
    pub disabled_at: Option<DateTime<Utc>>,
    /// After a rotation: until when the previous secret still signs beside the new one.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

/// An endpoint with its signing secret: the answer to registering it and to rotating its
/// secret, the only times the secret is shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookWithSecret {
    #[schema(example = 7)]
    pub id: i64,
    #[schema(example = "https://dms.abcmotors.co.za/popia/webhooks")]
    pub url: String,
    #[schema(example = json!(["consent.withdrawn", "customer.amended"]))]
    pub events: Vec<EventKind>,
    /// `whsec_` and the base64 key that signs deliveries; keep it secret.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwq7mu4Ff2Cm8=")]
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// After a rotation: until when the previous secret still signs beside this one.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

fn kinds(row: &WebhookRow) -> Vec<EventKind> {
    row.kinds()
        .iter()
        .filter_map(|k| EventKind::from_stored(k))
        .collect()
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        Webhook {
            id: row.id,
            events: kinds(&row),
            previous_secret_expires_at: row.overlap_until(crate::db::now()).map(|t| t.and_utc()),
            url: row.url,
            created_at: row.created_at.and_utc(),
            disabled_at: row.disabled_at.map(|t| t.and_utc()),
        }
    }
}

impl From<WebhookRow> for WebhookWithSecret {
    fn from(row: WebhookRow) -> Self {
        let secret = row.secret.clone();
        let shown = Webhook::from(row);
        WebhookWithSecret {
            id: shown.id,
            url: shown.url,
            events: shown.events,
            secret,
            created_at: shown.created_at,
            disabled_at: shown.disabled_at,
            previous_secret_expires_at: shown.previous_secret_expires_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: an http or https URL whose host resolves to public
    /// addresses only.
    #[validate(custom(function = "valid_url"))]
    #[schema(
        format = "uri",
        max_length = 2000,
        example = "https://dms.abcmotors.co.za/popia/webhooks"
    )]
    pub url: String,
    /// The kinds of change event to deliver: one or more.
    #[validate(custom(function = "valid_events"))]
    #[schema(value_type = Vec<EventKind>, min_items = 1, example = json!(["consent.withdrawn", "customer.amended"]))]
    pub events: Vec<String>,
}

fn valid_url(raw: &str) -> Result<(), validator::ValidationError> {
    rule(webhook_url::parse, raw)
}

fn valid_events(raw: &[String]) -> Result<(), validator::ValidationError> {
    parse_events(raw).map(|_| ()).map_err(|Invalid(message)| {
        validator::ValidationError::new("invalid").with_message(message.into())
    })
}

fn parse_events(raw: &[String]) -> Result<Vec<EventKind>, Invalid> {
    if raw.is_empty() {
        return Err(Invalid::new("must name at least one kind of event"));
    }
    raw.iter()
        .map(|kind| {
            EventKind::from_stored(kind).ok_or_else(|| {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                Invalid::new(format!(
                    "`{kind}` is not a kind of event (one of {})",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Sent,
    /// Given up: three days of failures, `410 Gone`, or the endpoint deleted.
    Failed,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => outbox::PENDING,
            DeliveryStatus::Sent => outbox::SENT,
            DeliveryStatus::Failed => outbox::FAILED,
        }
    }

    fn from_stored(value: &str) -> Self {
        match value {
            outbox::SENT => DeliveryStatus::Sent,
            outbox::FAILED => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// One change event's delivery to an endpoint, with how its attempts went.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    pub id: i64,
    /// The kind of change event delivered (the body's `type`).
    pub event_type: Option<EventKind>,
    /// The change event's id (the body's `id`).
    pub event_id: Option<i64>,
    /// The `webhook-id` header: the same on every attempt, for the receiver to dedupe on.
    #[schema(example = "msg_5f0c6b1e8f6d4a3c9b2e7d1a0c4b8e2f")]
    pub webhook_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The HTTP status the endpoint last answered.
    #[schema(example = 204)]
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending), or when delivery was given up (failed).
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for WebhookDelivery {
    fn from((row, side): Delivery) -> Self {
        WebhookDelivery {
            id: row.id,
            event_type: side
                .as_ref()
                .and_then(|d| EventKind::from_stored(&d.event_type)),
            event_id: side.as_ref().map(|d| d.event_id),
            webhook_id: row.message_id,
            status: DeliveryStatus::from_stored(&row.status),
            attempts: row.attempts,
            last_status_code: side.and_then(|d| d.last_status_code),
            last_error: row.last_error,
            next_attempt_at: row.next_attempt_at.and_utc(),
            created_at: row.created_at.and_utc(),
            sent_at: row.sent_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WebhookQuery {
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries in this status.
    pub status: Option<DeliveryStatus>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Register an endpoint for signed change events. The answer holds its secret, shown only here
/// and on rotation.
#[utoipa::path(
    operation_id = "create_webhook",
    tag = "webhooks",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "The endpoint, with its signing secret", body = WebhookWithSecret),
    ),
)]
#[post("/v1/dealers/{dealer}/webhooks")]
pub async fn create_webhook(
    principal: Principal,
    pool: web::Data<Pool>,
    addresses: web::Data<WebhookAddresses>,
    path: web::Path<String>,
    body: ValidJson<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let dealer = principal.authorize(Capability::DealerData, &path)?;
    let body = body.0;
    let url = parsed("url", webhook_url::parse(&body.url))?;
    let events = parsed("events", parse_events(&body.events))?;
    address_guard::check_url(&url, addresses.allow_private)
        .await
        .map_err(|refused| ApiError::field("url", format!("is refused: {refused}")))?;
    let new = NewWebhook {
        url: url.to_string(),
        events,
    };
    let row = blocking::run(&pool, move |conn| service::create(conn, &dealer, new)).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/v1/dealers/{}/webhooks/{}", row.dealer_id, row.id),
        ))
        .json(WebhookWithSecret::from(row)))
}

/// The dealer's webhook endpoints, oldest first (without their secrets).
#[utoipa::path(
    operation_id = "list_webhooks",
    tag = "webhooks",
    params(("dealer" = String, Path, description = "The dealer's id"), WebhookQuery),
    responses((status = 200, description = "A page of endpoints", body = WebhookPage)),
)]
#[get("/v1/dealers/{dealer}/webhooks")]
pub async fn list_webhooks(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    query: ValidQuery<WebhookQuery>,
) -> Result<web::Json<WebhookPage>, ApiError> {
    let dealer = principal.authorize(Capability::DealerData, &path)?;
    let (after, limit) = pagination::bounds(query.0.after.as_deref(), query.0.limit)?;
    let page = blocking::run(&pool, move |conn| {
        service::list(conn, &dealer, after, limit)
    })
    .await?;
    Ok(web::Json(
        Page::from_rows(page, |row| row.id, Webhook::from).into(),
    ))
}

/// Read a webhook endpoint (without its secret).
#[utoipa::path(
    operation_id = "get_webhook",
    tag = "webhooks",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint", body = Webhook)),
)]
#[get("/v1/dealers/{dealer}/webhooks/{id}")]
pub async fn get_webhook(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<Webhook>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let row = blocking::run(&pool, move |conn| service::get(conn, &dealer, id)).await?;
    Ok(web::Json(row.into()))
}

/// Delete a webhook endpoint; its deliveries still waiting are cancelled.
#[utoipa::path(
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The endpoint's id")),
    responses((status = 204, description = "The endpoint was deleted")),
)]
#[delete("/v1/dealers/{dealer}/webhooks/{id}")]
pub async fn delete_webhook(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    blocking::run(&pool, move |conn| service::delete(conn, &dealer, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give the endpoint a new secret. The previous one keeps signing beside it for 24 hours
/// (deliveries then carry two signatures), so the receiver can switch without a gap.
#[utoipa::path(
    operation_id = "rotate_webhook_secret",
    tag = "webhooks",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint, with its new secret", body = WebhookWithSecret)),
)]
#[post("/v1/dealers/{dealer}/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<WebhookWithSecret>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let row = blocking::run(&pool, move |conn| service::rotate_secret(conn, &dealer, id)).await?;
    Ok(web::Json(row.into()))
}

/// The endpoint's deliveries, oldest first: which event, how each attempt went, what is next.
#[utoipa::path(
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The endpoint's id"), DeliveryQuery),
    responses((status = 200, description = "A page of deliveries", body = WebhookDeliveryPage)),
)]
#[get("/v1/dealers/{dealer}/webhooks/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
    query: ValidQuery<DeliveryQuery>,
) -> Result<web::Json<WebhookDeliveryPage>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let query = query.0;
    let (after, limit) = pagination::bounds(query.after.as_deref(), query.limit)?;
    let status = query.status.map(DeliveryStatus::as_str);
    let page = blocking::run(&pool, move |conn| {
        service::deliveries(conn, &dealer, id, status, after, limit)
    })
    .await?;
    Ok(web::Json(
        Page::from_rows(page, |(row, _)| row.id, WebhookDelivery::from).into(),
    ))
}
