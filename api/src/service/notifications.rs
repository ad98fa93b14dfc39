//! The dealer's outbox read back: what was sent or will be sent, to whom, and how delivery went.

use crate::db::outbox::{self, Message};
use crate::db::{DbConnection, Page};
use crate::domain::DealerId;
use crate::error::ApiError;
use crate::service::dealers;

/// A page of the dealer's messages after the message `after`, only those in `status` (one of
/// the outbox's stored statuses) when given; 404 when there is no such dealer.
pub fn list(
    conn: &mut DbConnection,
    dealer: &DealerId,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Page<Message>, ApiError> {
    dealers::require(conn, dealer)?;
    Ok(outbox::list(conn, dealer.as_str(), status, after, limit)?)
}
