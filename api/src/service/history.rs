//! The change feed read back: the dealer's events, or one customer's, oldest first. Each read is
//! logged as the reader's (feed_reads), so a data subject can be told who followed the feed.

use crate::db::events::{self, EventRow, FeedAfter};
use crate::db::{self, customers, feed_reads, DbConnection, Page};
use crate::domain::events::Actor;
use crate::domain::DealerId;
use crate::error::ApiError;
use crate::service::dealers;

/// A page of the dealer's change feed after the event `after`; 404 when there is no such dealer.
pub fn dealer_feed(
    conn: &mut DbConnection,
    dealer: &DealerId,
    reader: &Actor,
    after: FeedAfter,
    limit: i64,
) -> Result<Page<EventRow>, ApiError> {
    dealers::require(conn, dealer)?;
    let after = events::position(conn, dealer.as_str(), after)?;
    let page = events::list(conn, dealer.as_str(), None, after, limit)?;
    feed_reads::record(conn, dealer.as_str(), reader, db::now())?;
    Ok(page)
}

/// A page of one customer's history after the event `after`; 404 when the dealer holds no such
/// customer.
pub fn customer_feed(
    conn: &mut DbConnection,
    dealer: &DealerId,
    reader: &Actor,
    customer_id: i64,
    after: FeedAfter,
    limit: i64,
) -> Result<Page<EventRow>, ApiError> {
    if customers::find(conn, dealer.as_str(), customer_id)?.is_none() {
        return Err(ApiError::not_found("customer"));
    }
    let after = events::position(conn, dealer.as_str(), after)?;
    let page = events::list(conn, dealer.as_str(), Some(customer_id), after, limit)?;
    feed_reads::record(conn, dealer.as_str(), reader, db::now())?;
    Ok(page)
}
