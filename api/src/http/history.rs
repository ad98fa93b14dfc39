//! The change feed over HTTP: the dealer's history and one customer's, as pages of events.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::blocking;
use super::extract::ValidQuery;
use super::pagination::{self, named_page, Page};
use super::problem::ApiError;
use crate::auth::{Capability, Principal};
use crate::db::events::EventRow;
use crate::db::Pool;
use crate::domain::events::{Actor, EventKind, FieldChange, Origin};
use crate::service::history as service;

named_page!(ChangeEventPage, ChangeEvent);

/// One change to a customer or lead, as dealer systems replay it. After the customer is
/// de-identified every `was`/`now` reads `"[de-identified]"`; the event itself stays.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangeEvent {
    pub id: i64,
    /// Pass as `after` to read what follows this event: a follower saves the cursor of the last
    /// event it applied and resumes from there.
    pub cursor: String,
    /// The core customer id, when the event is about a customer.
    pub customer_id: Option<i64>,
    pub kind: EventKind,
    pub actor: Actor,
    pub channel: Origin,
    pub changes: Vec<FieldChange>,
    /// The leads the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_ids: Option<Vec<i64>>,
    pub occurred_at: DateTime<Utc>,
}

impl From<EventRow> for ChangeEvent {
    fn from(row: EventRow) -> Self {
        ChangeEvent {
            id: row.id,
            cursor: pagination::encode_feed_cursor(row.position()),
            customer_id: row.customer_id,
            // Only this service writes the table, always with a known kind.
            kind: EventKind::from_stored(&row.kind).unwrap_or(EventKind::CustomerAmended),
            actor: Actor {
                role: row.actor_role,
                sub: row.actor_sub,
            },
            channel: Origin::from_stored(&row.channel),
            changes: serde_json::from_str(&row.changes).unwrap_or_default(),
            lead_ids: row
                .lead_ids
                .as_deref()
                .and_then(|ids| serde_json::from_str(ids).ok()),
            occurred_at: row.occurred_at.and_utc(),
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The `next` cursor of the previous page (a follower keeps the last one it read).
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The dealer's change feed, oldest first: follow it with `after` to make the same changes
/// everywhere. Each read is logged as the reader's (token `sub` and role, latest read): a data
/// subject's /pi lookup names who followed the feed.
#[utoipa::path(
    operation_id = "dealer_history",
    tag = "history",
    params(("dealer" = String, Path, description = "The dealer's id"), HistoryQuery),
    responses((status = 200, description = "A page of change events", body = ChangeEventPage)),
)]
#[get("/v1/dealers/{dealer}/history")]
pub async fn dealer_history(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    query: ValidQuery<HistoryQuery>,
) -> Result<web::Json<ChangeEventPage>, ApiError> {
    let dealer = principal.authorize(Capability::DealerData, &path)?;
    let (after, limit) = pagination::feed_bounds(query.0.after.as_deref(), query.0.limit)?;
    let reader = principal.actor();
    let page = blocking::run(&pool, move |conn| {
        service::dealer_feed(conn, &dealer, &reader, after, limit)
    })
    .await?;
    Ok(web::Json(feed_page(page).into()))
}

/// One customer's history, oldest first. Logged as a read of the change feed, as the dealer's
/// history is.
#[utoipa::path(
    operation_id = "customer_history",
    tag = "history",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The core customer id"), HistoryQuery),
    responses((status = 200, description = "A page of change events", body = ChangeEventPage)),
)]
#[get("/v1/dealers/{dealer}/customers/{id}/history")]
pub async fn customer_history(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<(String, i64)>,
    query: ValidQuery<HistoryQuery>,
) -> Result<web::Json<ChangeEventPage>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let (after, limit) = pagination::feed_bounds(query.0.after.as_deref(), query.0.limit)?;
    let reader = principal.actor();
    let page = blocking::run(&pool, move |conn| {
        service::customer_feed(conn, &dealer, &reader, id, after, limit)
    })
    .await?;
    Ok(web::Json(feed_page(page).into()))
}

/// The answer's page: `next` is the last event's feed cursor.
fn feed_page(page: crate::db::Page<EventRow>) -> Page<ChangeEvent> {
    let next = page
        .has_more
        .then(|| {
            page.items
                .last()
                .map(|e| pagination::encode_feed_cursor(e.position()))
        })
        .flatten();
    Page {
        items: page.items.into_iter().map(ChangeEvent::from).collect(),
        next,
    }
}
