//! The dealer's notifications over HTTP: what was sent, to whom, and how delivery went.

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
use crate::db::outbox::Message;
use crate::db::{outbox, Pool};
use crate::service::notifications as service;

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// Delivered.
    Sent,
    /// Given up after the maximum number of attempts.
    Failed,
}

impl NotificationStatus {
    fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Pending => outbox::PENDING,
            NotificationStatus::Sent => outbox::SENT,
            NotificationStatus::Failed => outbox::FAILED,
        }
    }

    fn from_stored(value: &str) -> Self {
        match value {
            outbox::SENT => NotificationStatus::Sent,
            outbox::FAILED => NotificationStatus::Failed,
            _ => NotificationStatus::Pending,
        }
    }
}

named_page!(NotificationPage, Notification);

/// A message the service sent or will send for the dealer. Bodies are never listed;
/// recipients and subject are null once the retention period has purged them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    /// `one_time_code`, `lookup_not_found`, `consent_withdrawn`, `details_altered`,
    /// `deidentify_alert`, `follow_up_reminder` or `reconcile_summary`.
    pub kind: String,
    /// `email` or `sms`.
    pub channel: String,
    pub recipients: Option<Vec<String>>,
    pub subject: Option<String>,
    pub status: NotificationStatus,
    pub attempts: i32,
    /// The last delivery error, addresses masked.
    pub last_error: Option<String>,
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due (pending), or when delivery was given up (failed).
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub purged_at: Option<DateTime<Utc>>,
}

impl From<Message> for Notification {
    fn from((row, content): Message) -> Self {
        let (recipients, subject) = match content {
            Some(content) => (
                serde_json::from_str(&content.recipients).ok(),
                content.subject,
            ),
            None => (None, None),
        };
        Notification {
            id: row.id,
            kind: row.kind,
            channel: row.channel,
            recipients,
            subject,
            status: NotificationStatus::from_stored(&row.status),
            attempts: row.attempts,
            last_error: row.last_error,
            message_id: row.message_id,
            created_at: row.created_at.and_utc(),
            next_attempt_at: row.next_attempt_at.and_utc(),
            sent_at: row.sent_at.map(|t| t.and_utc()),
            purged_at: row.purged_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only messages in this status.
    pub status: Option<NotificationStatus>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The dealer's notifications, oldest first: what was sent, to whom, and how delivery went.
#[utoipa::path(
    operation_id = "list_notifications",
    tag = "notifications",
    params(("dealer" = String, Path, description = "The dealer's id"), NotificationQuery),
    responses((status = 200, description = "A page of notifications", body = NotificationPage)),
)]
#[get("/v1/dealers/{dealer}/notifications")]
pub async fn list_notifications(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    query: ValidQuery<NotificationQuery>,
) -> Result<web::Json<NotificationPage>, ApiError> {
    let dealer = principal.authorize(Capability::DealerData, &path)?;
    let query = query.0;
    let (after, limit) = pagination::bounds(query.after.as_deref(), query.limit)?;
    let status = query.status.map(NotificationStatus::as_str);
    let page = blocking::run(&pool, move |conn| {
        service::list(conn, &dealer, status, after, limit)
    })
    .await?;
    Ok(web::Json(
        Page::from_rows(page, |(m, _)| m.id, Notification::from).into(),
    ))
}
