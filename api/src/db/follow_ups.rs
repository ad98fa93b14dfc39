//! Queries of the follow-ups table: opened with each email that asks a dealer to act, closed by
//! the dealer, reminded of by the maintenance task.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::follow_ups;
use super::{DbConnection, Page};

pub const OPEN: &str = "open";
pub const DONE: &str = "done";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = follow_ups)]
pub struct FollowUpRow {
    pub id: i64,
    pub dealer_id: String,
    pub kind: String,
    pub customer_id: Option<i64>,
    /// JSON array of lead ids.
    pub lead_ids: Option<String>,
    /// JSON array of names.
    pub assignees: String,
    pub message_id: i64,
    pub identifier: Option<String>,
    pub created_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub status: String,
    pub done_at: Option<NaiveDateTime>,
    pub done_by: Option<String>,
    pub note: Option<String>,
    pub reminded_early_at: Option<NaiveDateTime>,
    pub reminded_due_at: Option<NaiveDateTime>,
}

// `None` as NULL, so the INSERT stays prepared (see `outbox::NewMessageRow`).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = follow_ups, treat_none_as_default_value = false)]
pub struct NewFollowUpRow<'a> {
    pub dealer_id: &'a str,
    pub kind: &'a str,
    pub customer_id: Option<i64>,
    pub lead_ids: Option<String>,
    pub assignees: String,
    pub message_id: i64,
    pub identifier: Option<String>,
    pub created_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub status: &'a str,
}

/// Which follow-ups a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Open,
    Done,
    /// Open and past `due_at` as of the given time.
    Overdue(NaiveDateTime),
}

pub fn open(conn: &mut DbConnection, row: &NewFollowUpRow<'_>) -> QueryResult<i64> {
    diesel::insert_into(follow_ups::table)
        .values(row)
        .returning(follow_ups::id)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, dealer: &str, id: i64) -> QueryResult<Option<FollowUpRow>> {
    follow_ups::table
        .filter(follow_ups::dealer_id.eq(dealer))
        .filter(follow_ups::id.eq(id))
        .select(FollowUpRow::as_select())
        .first(conn)
        .optional()
}

/// A keyset page of the dealer's follow-ups, oldest first.
pub fn list(
    conn: &mut DbConnection,
    dealer: &str,
    filter: Filter,
    after: i64,
    limit: i64,
) -> QueryResult<Page<FollowUpRow>> {
    let mut query = follow_ups::table
        .filter(follow_ups::dealer_id.eq(dealer))
        .filter(follow_ups::id.gt(after))
        .select(FollowUpRow::as_select())
        .order(follow_ups::id.asc())
        .limit(limit + 1)
        .into_boxed();
    query = match filter {
        Filter::All => query,
        Filter::Open => query.filter(follow_ups::status.eq(OPEN)),
        Filter::Done => query.filter(follow_ups::status.eq(DONE)),
        Filter::Overdue(now) => query
            .filter(follow_ups::status.eq(OPEN))
            .filter(follow_ups::due_at.lt(now)),
    };
    Ok(Page::from_overfetch(query.load(conn)?, limit))
}

/// Closes an open follow-up; false when it was not open (done already, or another request
/// closed it first).
pub fn close(
    conn: &mut DbConnection,
    id: i64,
    by: &str,
    note: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let closed = diesel::update(
        follow_ups::table
            .filter(follow_ups::id.eq(id))
            .filter(follow_ups::status.eq(OPEN)),
    )
    .set((
        follow_ups::status.eq(DONE),
        follow_ups::done_at.eq(Some(at)),
        follow_ups::done_by.eq(Some(by)),
        follow_ups::note.eq(note),
    ))
    .execute(conn)?;
    Ok(closed == 1)
}

/// Which reminder a follow-up is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// Seven days before `due_at`.
    Early,
    /// On `due_at`.
    Due,
}

/// Open follow-ups owed `reminder` as of `now` (`early_from`: how long before `due_at` the early
/// one is sent), oldest first, at most `limit`.
pub fn owed(
    conn: &mut DbConnection,
    reminder: Reminder,
    now: NaiveDateTime,
    early_from: chrono::Duration,
    limit: i64,
) -> QueryResult<Vec<FollowUpRow>> {
    let query = follow_ups::table
        .filter(follow_ups::status.eq(OPEN))
        .filter(follow_ups::reminded_due_at.is_null())
        .select(FollowUpRow::as_select())
        .order(follow_ups::due_at.asc())
        .limit(limit)
        .into_boxed();
    let query = match reminder {
        Reminder::Due => query.filter(follow_ups::due_at.le(now)),
        Reminder::Early => query
            .filter(follow_ups::reminded_early_at.is_null())
            .filter(follow_ups::due_at.gt(now))
            .filter(follow_ups::due_at.le(now + early_from)),
    };
    query.load(conn)
}

/// Marks `reminder` sent for an open follow-up that was still owed it; false when another
/// replica got there first or the follow-up was closed meanwhile. A due reminder also settles
/// the early one, which is moot by then.
pub fn mark_reminded(
    conn: &mut DbConnection,
    id: i64,
    reminder: Reminder,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let owed = follow_ups::table
        .filter(follow_ups::id.eq(id))
        .filter(follow_ups::status.eq(OPEN))
        .filter(follow_ups::reminded_due_at.is_null());
    let marked = match reminder {
        Reminder::Early => diesel::update(owed.filter(follow_ups::reminded_early_at.is_null()))
            .set(follow_ups::reminded_early_at.eq(Some(at)))
            .execute(conn)?,
        Reminder::Due => {
            let marked = diesel::update(owed)
                .set(follow_ups::reminded_due_at.eq(Some(at)))
                .execute(conn)?;
            diesel::update(
                follow_ups::table
                    .filter(follow_ups::id.eq(id))
                    .filter(follow_ups::reminded_early_at.is_null()),
            )
            .set(follow_ups::reminded_early_at.eq(Some(at)))
            .execute(conn)?;
            marked
        }
    };
    Ok(marked == 1)
}

/// Open and overdue follow-ups per dealer, as of `now`: `(dealer, open, overdue)`.
pub fn counts(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<(String, i64, i64)>> {
    let open: Vec<(String, i64)> = follow_ups::table
        .filter(follow_ups::status.eq(OPEN))
        .group_by(follow_ups::dealer_id)
        .select((follow_ups::dealer_id, diesel::dsl::count_star()))
        .load(conn)?;
    let overdue: Vec<(String, i64)> = follow_ups::table
        .filter(follow_ups::status.eq(OPEN))
        .filter(follow_ups::due_at.lt(now))
        .group_by(follow_ups::dealer_id)
        .select((follow_ups::dealer_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(open
        .into_iter()
        .map(|(dealer, open)| {
            let late = overdue
                .iter()
                .find(|(d, _)| *d == dealer)
                .map_or(0, |(_, n)| *n);
            (dealer, open, late)
        })
        .collect())
}

/// Forgets the identifiers of NOT FOUND follow-ups whose email content (`message_ids`) is being
/// purged: the follow-up keeps the identifier no longer than the email does.
pub fn forget_identifiers(conn: &mut DbConnection, message_ids: &[i64]) -> QueryResult<usize> {
    let forget = diesel::update(
        follow_ups::table
            .filter(follow_ups::message_id.eq_any(message_ids))
            .filter(follow_ups::identifier.is_not_null()),
    )
    .set(follow_ups::identifier.eq(None::<String>))
    .returning(follow_ups::id);
    super::backend::prepared::run::<_, i64>(conn, forget)
}

/// A withdrawal clears what the dealer wrote when closing the customer's follow-ups.
pub fn clear_notes_of(conn: &mut DbConnection, customer_id: i64) -> QueryResult<usize> {
    super::backend::prepared::run::<_, i64>(
        conn,
        diesel::update(
            follow_ups::table
                .filter(follow_ups::customer_id.eq(customer_id))
                .filter(follow_ups::note.is_not_null()),
        )
        .set(follow_ups::note.eq(None::<String>))
        .returning(follow_ups::id),
    )
}
