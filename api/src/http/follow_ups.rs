//! Follow-ups over HTTP: what each email asked the dealer to do, by when, and who closed it.

use actix_web::{get, post, web, HttpRequest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::blocking;
use super::extract::{valid_free_text, ValidJson, ValidQuery};
use super::idempotency::refer;
use super::pagination::{self, named_page, Page};
use super::problem::ApiError;
use crate::auth::{Capability, Principal};
use crate::clock::Clock;
use crate::db::follow_ups::{Filter, FollowUpRow, DONE};
use crate::db::idempotency::reference;
use crate::db::Pool;
use crate::service::follow_ups as service;

/// What the email that opened a follow-up asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    /// Check the DMS and operators for an identifier the dealer did not hold.
    LookupNotFound,
    /// Remove a customer who withdrew consent everywhere.
    ConsentWithdrawn,
    /// Make a customer's changes everywhere.
    DetailsAltered,
    /// Stop working a de-identified customer's leads.
    DeidentifyAlert,
}

impl FollowUpKind {
    fn from_stored(value: &str) -> FollowUpKind {
        match value {
            "lookup_not_found" => FollowUpKind::LookupNotFound,
            "consent_withdrawn" => FollowUpKind::ConsentWithdrawn,
            "details_altered" => FollowUpKind::DetailsAltered,
            _ => FollowUpKind::DeidentifyAlert,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpStatus {
    Open,
    Done,
}

/// What remains of an identifier once its NOT FOUND email's content is purged (retention).
pub const EXPIRED: &str = "[expired]";

named_page!(FollowUpPage, FollowUp);

/// Something an email asked the dealer to do. It holds no personal information of the customer:
/// ids only, and for a NOT FOUND lookup the identifier, for as long as that email is kept.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FollowUp {
    pub id: i64,
    pub kind: FollowUpKind,
    pub customer_id: Option<i64>,
    pub lead_ids: Option<Vec<i64>>,
    /// The email or mobile looked up (NOT FOUND only); `[expired]` once the retention period
    /// has purged the email.
    #[schema(example = "073 048 9055 (+27730489055)")]
    pub identifier: Option<String>,
    /// Who the email went to.
    pub assignees: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub status: FollowUpStatus,
    /// Open and past `due_at`.
    pub overdue: bool,
    pub done_at: Option<DateTime<Utc>>,
    /// The token subject that closed it.
    pub done_by: Option<String>,
    pub note: Option<String>,
}

impl FollowUp {
    fn from_row(row: FollowUpRow, now: chrono::NaiveDateTime) -> FollowUp {
        let kind = FollowUpKind::from_stored(&row.kind);
        let done = row.status == DONE;
        FollowUp {
            id: row.id,
            kind,
            customer_id: row.customer_id,
            lead_ids: row.lead_ids.and_then(|ids| serde_json::from_str(&ids).ok()),
            identifier: match (kind, row.identifier) {
                (FollowUpKind::LookupNotFound, None) => Some(EXPIRED.to_owned()),
                (_, identifier) => identifier,
            },
            assignees: serde_json::from_str(&row.assignees).unwrap_or_default(),
            created_at: row.created_at.and_utc(),
            due_at: row.due_at.and_utc(),
            status: if done {
                FollowUpStatus::Done
            } else {
                FollowUpStatus::Open
            },
            overdue: !done && row.due_at < now,
            done_at: row.done_at.map(|t| t.and_utc()),
            done_by: row.done_by,
            note: row.note,
        }
    }
}

/// Which follow-ups to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpFilter {
    Open,
    Done,
    /// Open and past the due date.
    Overdue,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FollowUpQuery {
    /// Only follow-ups in this state (default: all).
    #[param(inline)]
    pub status: Option<FollowUpFilter>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Closing a follow-up.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseFollowUp {
    /// What was done. Cleared if the customer later withdraws consent.
    #[validate(custom(function = "valid_free_text"))]
    #[schema(
        max_length = 2000,
        example = "Removed from the DMS and from both operators' lists."
    )]
    pub note: Option<String>,
}

/// The dealer's follow-ups, oldest first.
#[utoipa::path(
    operation_id = "list_follow_ups",
    tag = "follow-ups",
    params(("dealer" = String, Path, description = "The dealer's id"), FollowUpQuery),
    responses((status = 200, description = "A page of follow-ups", body = FollowUpPage)),
)]
#[get("/v1/dealers/{dealer}/follow-ups")]
pub async fn list_follow_ups(
    principal: Principal,
    pool: web::Data<Pool>,
    clock: web::Data<Clock>,
    path: web::Path<String>,
    query: ValidQuery<FollowUpQuery>,
) -> Result<web::Json<FollowUpPage>, ApiError> {
    let dealer = principal.authorize(Capability::DealerData, &path)?;
    let query = query.0;
    let (after, limit) = pagination::bounds(query.after.as_deref(), query.limit)?;
    let now = clock.now();
    let filter = match query.status {
        None => Filter::All,
        Some(FollowUpFilter::Open) => Filter::Open,
        Some(FollowUpFilter::Done) => Filter::Done,
        Some(FollowUpFilter::Overdue) => Filter::Overdue(now),
    };
    let page = blocking::run(&pool, move |conn| {
        service::list(conn, &dealer, filter, after, limit)
    })
    .await?;
    Ok(web::Json(
        Page::from_rows(page, |row| row.id, |row| FollowUp::from_row(row, now)).into(),
    ))
}

/// One follow-up.
#[utoipa::path(
    operation_id = "get_follow_up",
    tag = "follow-ups",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The follow-up id")),
    responses((status = 200, description = "The follow-up", body = FollowUp)),
)]
#[get("/v1/dealers/{dealer}/follow-ups/{id}")]
pub async fn get_follow_up(
    principal: Principal,
    pool: web::Data<Pool>,
    clock: web::Data<Clock>,
    path: web::Path<(String, i64)>,
) -> Result<web::Json<FollowUp>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let row = blocking::run(&pool, move |conn| service::get(conn, &dealer, id)).await?;
    Ok(web::Json(FollowUp::from_row(row, clock.now())))
}

/// Close a follow-up: what was asked is done. Records who (the token's subject) and when.
#[utoipa::path(
    operation_id = "close_follow_up",
    tag = "follow-ups",
    params(("dealer" = String, Path, description = "The dealer's id"),
           ("id" = i64, Path, description = "The follow-up id")),
    request_body = CloseFollowUp,
    responses(
        (status = 200, description = "The follow-up, closed", body = FollowUp),
        (status = 409, description = "It was closed already", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/v1/dealers/{dealer}/follow-ups/{id}/done")]
pub async fn close_follow_up(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    clock: web::Data<Clock>,
    path: web::Path<(String, i64)>,
    body: ValidJson<CloseFollowUp>,
) -> Result<web::Json<FollowUp>, ApiError> {
    let (dealer, id) = path.into_inner();
    let dealer = principal.authorize(Capability::DealerData, &dealer)?;
    let note = body
        .0
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let (by, now) = (principal.sub.clone(), clock.now());
    let row = blocking::run(&pool, move |conn| {
        service::close(conn, &dealer, id, &by, note.as_deref(), now)
    })
    .await?;
    // The stored response holds the note: it goes if the customer withdraws.
    if let Some(customer_id) = row.customer_id {
        refer(&req, [reference("customer", customer_id)]);
    }
    Ok(web::Json(FollowUp::from_row(row, now)))
}
