//! Webhook endpoint actions: register, list, read, rotate the secret, delete, and read an
//! endpoint's deliveries. Each write is one transaction under the dealer's lock, so an endpoint
//! takes exactly the events committed after it.

use crate::db::webhooks::{self as table, Delivery, NewWebhookRow, WebhookRow};
use crate::db::{self, DbConnection, Page};
use crate::domain::events::EventKind;
use crate::domain::DealerId;
use crate::error::ApiError;
use crate::notify::webhooks::{new_secret, ROTATION_OVERLAP};
use crate::service::dealers;

/// What a cancelled delivery of a deleted endpoint says.
const DELETED: &str = "cancelled: the endpoint was deleted";

/// An endpoint to register; its URL already checked (scheme and address).
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventKind>,
}

/// Registers an endpoint with a new secret (shown once, in the answer).
pub fn create(
    conn: &mut DbConnection,
    dealer: &DealerId,
    new: NewWebhook,
) -> Result<WebhookRow, ApiError> {
    let now = db::now();
    // Stored in the order of `EventKind::ALL`, once each.
    let kinds: Vec<&str> = EventKind::ALL
        .into_iter()
        .filter(|kind| new.events.contains(kind))
        .map(EventKind::as_str)
        .collect();
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        dealers::require(conn, dealer)?;
        let row = table::insert(
            conn,
            &NewWebhookRow {
                dealer_id: dealer.as_str(),
                url: &new.url,
                events: serde_json::to_string(&kinds).map_err(ApiError::internal)?,
                secret: &new_secret(),
                created_at: now,
            },
        )?;
        Ok(row)
    })
}

/// A page of the dealer's endpoints; 404 when there is no such dealer.
pub fn list(
    conn: &mut DbConnection,
    dealer: &DealerId,
    after: i64,
    limit: i64,
) -> Result<Page<WebhookRow>, ApiError> {
    dealers::require(conn, dealer)?;
    Ok(table::list(conn, dealer.as_str(), after, limit)?)
}

/// One of the dealer's endpoints, or 404 `webhook`.
pub fn get(conn: &mut DbConnection, dealer: &DealerId, id: i64) -> Result<WebhookRow, ApiError> {
    table::find(conn, dealer.as_str(), id)?.ok_or_else(|| ApiError::not_found("webhook"))
}

/// A new secret; the current one keeps signing beside it for [`ROTATION_OVERLAP`]. A second
/// rotation within the overlap ends the first one's: only the two latest secrets sign.
pub fn rotate_secret(
    conn: &mut DbConnection,
    dealer: &DealerId,
    id: i64,
) -> Result<WebhookRow, ApiError> {
    let now = db::now();
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let endpoint = get(conn, dealer, id)?;
        Ok(table::rotate(
            conn,
            endpoint.id,
            &new_secret(),
            now + ROTATION_OVERLAP,
        )?)
    })
}

/// Deletes an endpoint; its waiting deliveries are cancelled, finished ones stay in the outbox.
pub fn delete(conn: &mut DbConnection, dealer: &DealerId, id: i64) -> Result<(), ApiError> {
    let now = db::now();
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let endpoint = get(conn, dealer, id)?;
        table::cancel_pending(conn, endpoint.id, DELETED, now)?;
        table::delete(conn, endpoint.id)?;
        Ok(())
    })
}

/// A page of an endpoint's deliveries, only those in `status` (a stored outbox status) when
/// given.
pub fn deliveries(
    conn: &mut DbConnection,
    dealer: &DealerId,
    id: i64,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Page<Delivery>, ApiError> {
    let endpoint = get(conn, dealer, id)?;
    Ok(table::deliveries(conn, endpoint.id, status, after, limit)?)
}
