//! The change feed read back: the dealer's events, or one customer's, oldest first.

use crate::db::events::{self, EventRow};
use crate::db::{customers, DbConnection, Page};
use crate::domain::DealerId;
use crate::error::ApiError;
use crate::service::dealers;

/// A page of the dealer's change feed after the event `after`; 404 when there is no such dealer.
pub fn dealer_feed(
    conn: &mut DbConnection,
    dealer: &DealerId,
    after: i64,
    limit: i64,
) -> Result<Page<EventRow>, ApiError> {
    dealers::require(conn, dealer)?;
    Ok(events::list(conn, dealer.as_str(), None, after, limit)?)
}

/// A page of one customer's history after the event `after`; 404 when the dealer holds no such
/// customer.
pub fn customer_feed(
    conn: &mut DbConnection,
    dealer: &DealerId,
    customer_id: i64,
    after: i64,
    limit: i64,
) -> Result<Page<EventRow>, ApiError> {
    if customers::find(conn, dealer.as_str(), customer_id)?.is_none() {
        return Err(ApiError::not_found("customer"));
    }
    Ok(events::list(
        conn,
        dealer.as_str(),
        Some(customer_id),
        after,
        limit,
    )?)
}
