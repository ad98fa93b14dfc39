//! Follow-ups: read, closed by the dealer, and reminded of. Each email asking a dealer to act
//! opened one in the same transaction (`notify::emails`); this is the rest of its life.

use chrono::NaiveDateTime;

use crate::db::follow_ups::{self as table, Filter, FollowUpRow, Reminder};
use crate::db::{self, dealers as dealer_rows, DbConnection, Page};
use crate::domain::DealerId;
use crate::error::ApiError;
use crate::notify::{emails, Branding};
use crate::service::dealers;

/// How long before `due_at` the early reminder goes.
pub const EARLY_REMINDER: chrono::Duration = chrono::Duration::days(7);
/// Reminders of one kind queued per pass at most; the next pass takes the rest.
const REMINDERS_PER_PASS: i64 = 500;

/// A page of the dealer's follow-ups; 404 when there is no such dealer.
pub fn list(
    conn: &mut DbConnection,
    dealer: &DealerId,
    filter: Filter,
    after: i64,
    limit: i64,
) -> Result<Page<FollowUpRow>, ApiError> {
    dealers::require(conn, dealer)?;
    Ok(table::list(conn, dealer.as_str(), filter, after, limit)?)
}

/// One follow-up of the dealer's; 404 when there is none (or it is another dealer's).
pub fn get(conn: &mut DbConnection, dealer: &DealerId, id: i64) -> Result<FollowUpRow, ApiError> {
    table::find(conn, dealer.as_str(), id)?.ok_or_else(|| ApiError::not_found("follow-up"))
}

/// Closes an open follow-up, recording who and when; 409 when it is done already.
pub fn close(
    conn: &mut DbConnection,
    dealer: &DealerId,
    id: i64,
    by: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<FollowUpRow, ApiError> {
    db::write_transaction(conn, |conn| {
        let found = get(conn, dealer, id)?;
        if !table::close(conn, found.id, by, note, now)? {
            return Err(ApiError::Conflict(format!(
                "follow-up {id} was closed already"
            )));
        }
        get(conn, dealer, id)
    })
}

/// Queues the reminders owed as of `now`: on the due date, and seven days before it. Each is
/// marked in the transaction that queues its email, so it goes once even when several replicas
/// run this pass at once; a follow-up closed meanwhile is not reminded of. Returns how many
/// were queued.
pub fn send_reminders(
    conn: &mut DbConnection,
    branding: &Branding,
    now: NaiveDateTime,
) -> Result<usize, ApiError> {
    let mut queued = 0;
    // Due first: a follow-up already past due gets only that one.
    for reminder in [Reminder::Due, Reminder::Early] {
        let owed = table::owed(conn, reminder, now, EARLY_REMINDER, REMINDERS_PER_PASS)?;
        for follow_up in owed {
            queued += db::write_transaction(conn, |conn| -> Result<usize, ApiError> {
                if !table::mark_reminded(conn, follow_up.id, reminder, now)? {
                    return Ok(0);
                }
                let Some(dealer) = dealer_rows::find(conn, &follow_up.dealer_id)? else {
                    return Ok(0);
                };
                emails::follow_up_reminder(conn, branding, &dealer, &follow_up, reminder)?;
                Ok(1)
            })?;
        }
    }
    Ok(queued)
}

/// Open and overdue follow-ups per dealer as of `now`, for `/metrics`.
pub fn counts(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<Vec<(String, i64, i64)>, ApiError> {
    Ok(table::counts(conn, now)?)
}
