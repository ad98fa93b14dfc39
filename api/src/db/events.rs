//! Queries on the change-event table: record, page, past values, and redaction on withdrawal.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::backend::prepared::Prepared;
use super::schema::change_events;
use super::{DbConnection, Page};
use crate::domain::events::{EventKind, FieldChange, NewEvent};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = change_events)]
pub struct EventRow {
    pub id: i64,
    pub dealer_id: String,
    pub customer_id: Option<i64>,
    pub kind: String,
    pub actor_role: String,
    pub actor_sub: String,
    pub channel: String,
    /// JSON array of `{field, was, now}`.
    pub changes: String,
    /// JSON array of lead ids.
    pub lead_ids: Option<String>,
    pub occurred_at: NaiveDateTime,
    /// Orders the feed with `id`: see [`FeedPosition`].
    pub xact_id: i64,
}

impl EventRow {
    /// Where a follower that applied this event resumes.
    pub fn position(&self) -> FeedPosition {
        FeedPosition {
            xact_id: self.xact_id,
            id: self.id,
        }
    }
}

/// A place in the feed. Events are read in (transaction, id) order: on PostgreSQL the
/// transactions of one dealer commit in parallel, and a reader sees only the events of
/// transactions older than every one still running, so nothing can later appear before a
/// position already read. On SQLite `xact_id` is 0 and the order is the id's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedPosition {
    pub xact_id: i64,
    pub id: i64,
}

/// Where a feed read starts: a position, or (from a cursor issued before positions carried the
/// transaction) the id of the last event read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedAfter {
    Position(FeedPosition),
    Event(i64),
}

/// Records an action's events in the caller's transaction, in order, in one statement (the
/// database fills in `xact_id`); returns their ids, ascending as the events were given.
pub fn record(
    conn: &mut DbConnection,
    dealer: &str,
    events: &[NewEvent],
    at: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(events.len());
    // Within both backends' limit on parameters per statement.
    for chunk in events.chunks(1000) {
        ids.extend(record_rows(conn, dealer, chunk, at)?);
    }
    Ok(ids)
}

fn record_rows(
    conn: &mut DbConnection,
    dealer: &str,
    events: &[NewEvent],
    at: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
    #[derive(QueryableByName)]
    struct Recorded {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    // Written out because the two-backend connection has no multi-row insert; both backends
    // number parameters `$n` and return the new rows.
    const COLUMNS: usize = 9;
    let rows: Vec<String> = (0..events.len())
        .map(|row| {
            let cells: Vec<String> = (1..=COLUMNS)
                .map(|column| format!("${}", row * COLUMNS + column))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO change_events (dealer_id, customer_id, kind, actor_role, actor_sub, \
         channel, changes, lead_ids, occurred_at) VALUES {} RETURNING id",
        rows.join(", ")
    );
    // Built for the connection's own backend, so that on PostgreSQL it can stay prepared.
    macro_rules! run {
        ($conn:expr, $wrap:path) => {{
            let mut query = diesel::sql_query(sql).into_boxed();
            for event in events {
                query = query
                    .bind::<Text, _>(dealer.to_owned())
                    .bind::<Nullable<BigInt>, _>(event.customer_id)
                    .bind::<Text, _>(event.kind.as_str())
                    .bind::<Text, _>(event.actor.role.clone())
                    .bind::<Text, _>(event.actor.sub.clone())
                    .bind::<Text, _>(event.origin.as_str())
                    .bind::<Text, _>(to_json(&event.changes))
                    .bind::<Nullable<Text>, _>(event.lead_ids.as_ref().map(to_json))
                    .bind::<Timestamp, _>(at);
            }
            $wrap(query).load::<Recorded>($conn)?
        }};
    }
    let recorded = match conn {
        DbConnection::Pg(pg) => run!(pg, Prepared),
        DbConnection::Sqlite(sqlite) => run!(sqlite, std::convert::identity),
    };
    let mut ids: Vec<i64> = recorded.into_iter().map(|row| row.id).collect();
    // Ids are drawn in the order of the rows given; RETURNING need not keep it.
    ids.sort_unstable();
    Ok(ids)
}

/// A keyset page of the dealer's feed after `after`, in feed order; `customer` narrows it to
/// one customer. Only events no running transaction can precede are read (PostgreSQL).
pub fn list(
    conn: &mut DbConnection,
    dealer: &str,
    customer: Option<i64>,
    after: FeedPosition,
    limit: i64,
) -> QueryResult<Page<EventRow>> {
    use diesel::sql_types::{BigInt, Bool};
    let settled_below = super::backend::settled_below(conn)?;
    let mut query = change_events::table
        .filter(change_events::dealer_id.eq(dealer))
        .filter(
            diesel::dsl::sql::<Bool>("(xact_id, id) > (")
                .bind::<BigInt, _>(after.xact_id)
                .sql(", ")
                .bind::<BigInt, _>(after.id)
                .sql(")"),
        )
        .select(EventRow::as_select())
        .order((change_events::xact_id.asc(), change_events::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(customer) = customer {
        query = query.filter(change_events::customer_id.eq(customer));
    }
    if let Some(bound) = settled_below {
        query = query.filter(change_events::xact_id.lt(bound));
    }
    Ok(Page::from_overfetch(query.load(conn)?, limit))
}

/// The position `after` names: an event id is looked up (`(0, id)` when the dealer has no such
/// event, which reads on from the id as before).
pub fn position(
    conn: &mut DbConnection,
    dealer: &str,
    after: FeedAfter,
) -> QueryResult<FeedPosition> {
    let id = match after {
        FeedAfter::Position(position) => return Ok(position),
        FeedAfter::Event(id) => id,
    };
    let xact_id = change_events::table
        .filter(change_events::dealer_id.eq(dealer))
        .filter(change_events::id.eq(id))
        .select(change_events::xact_id)
        .first(conn)
        .optional()?;
    Ok(FeedPosition {
        xact_id: xact_id.unwrap_or(0),
        id,
    })
}

/// Serialises an event's parts: plain vectors of strings and numbers, which cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// What every earlier value of a de-identified customer's events reads.
pub const REDACTED: &str = "[de-identified]";

/// The customer's events as stored: (id, changes).
pub type StoredChanges = Vec<(i64, String)>;

/// Every event of the customer, read once for a withdrawal: its past values, then redacted.
pub fn of_customer(conn: &mut DbConnection, customer_id: i64) -> QueryResult<StoredChanges> {
    change_events::table
        .filter(change_events::customer_id.eq(customer_id))
        .select((change_events::id, change_events::changes))
        .load(conn)
}

/// Rewrites every `was`/`now` of the customer's events (as read by [`of_customer`], under the
/// record's lock) to [`REDACTED`]; the events stay.
pub fn redact_customer(conn: &mut DbConnection, events: &StoredChanges) -> QueryResult<usize> {
    redact(conn, events)
}

/// Every value the customer's events (as read by [`of_customer`]) recorded for each of
/// `fields` (was or now): what the record held over time, such as an email it no longer has.
pub fn values_of<const N: usize>(events: &StoredChanges, fields: [&str; N]) -> [Vec<String>; N] {
    let changes: Vec<FieldChange> = events
        .iter()
        .flat_map(|(_, changes)| {
            serde_json::from_str::<Vec<FieldChange>>(changes).unwrap_or_default()
        })
        .collect();
    fields.map(|field| {
        let mut values: Vec<String> = changes
            .iter()
            .filter(|change| change.field == field)
            .flat_map(|change| [change.was.clone(), change.now.clone()])
            .flatten()
            .filter(|value| value != REDACTED)
            .collect();
        values.sort();
        values.dedup();
        values
    })
}

/// Redacts the dealer's `lookup.not_found` events that name any of `masked` (the masked forms
/// of a withdrawn person's identifiers). A masked form may be shared by other people; redacting
/// theirs too loses only a hint.
pub fn redact_masked_lookups(
    conn: &mut DbConnection,
    dealer: &str,
    masked: &[String],
) -> QueryResult<usize> {
    use diesel::sql_types::Bool;
    if masked.is_empty() {
        return Ok(0);
    }
    // The LIKEs narrow the rows read (one read for every value); the exact match is checked
    // below.
    let mut naming: Box<dyn BoxableExpression<_, _, SqlType = Bool>> =
        Box::new(false.into_sql::<Bool>());
    for value in masked {
        let escaped = super::like_escaped(value);
        naming = Box::new(
            naming.or(change_events::changes
                .like(format!("%{escaped}%"))
                .escape('\\')),
        );
    }
    let rows: Vec<(i64, String)> = change_events::table
        .filter(change_events::dealer_id.eq(dealer))
        .filter(change_events::customer_id.is_null())
        .filter(change_events::kind.eq(EventKind::LookupNotFound.as_str()))
        .filter(naming)
        .select((change_events::id, change_events::changes))
        .load(conn)?;
    let naming: Vec<(i64, String)> = rows
        .into_iter()
        .filter(|(_, changes)| {
            let changes: Vec<FieldChange> = serde_json::from_str(changes).unwrap_or_default();
            changes.iter().any(|c| {
                [&c.was, &c.now]
                    .into_iter()
                    .flatten()
                    .any(|value| masked.contains(value))
            })
        })
        .collect();
    redact(conn, &naming)
}

/// Rewrites the rows in one statement, in id order: two withdrawals redacting the same rows
/// lock them in the same order, so neither waits on the other in a cycle.
fn redact(conn: &mut DbConnection, rows: &[(i64, String)]) -> QueryResult<usize> {
    use diesel::sql_types::{BigInt, Text};
    let mut rows = rows.to_vec();
    rows.sort_by_key(|(id, _)| *id);
    rows.dedup_by_key(|(id, _)| *id);
    let redact = |value: Option<String>| value.map(|_| REDACTED.to_owned());
    let redacted: Vec<(i64, String)> = rows
        .iter()
        .map(|(id, changes)| {
            let changes: Vec<FieldChange> = serde_json::from_str(changes).unwrap_or_default();
            let redacted: Vec<FieldChange> = changes
                .into_iter()
                .map(|c| FieldChange {
                    field: c.field,
                    was: redact(c.was),
                    now: redact(c.now),
                })
                .collect();
            (*id, to_json(&redacted))
        })
        .collect();
    for chunk in redacted.chunks(200) {
        // UPDATE … SET changes = CASE id WHEN $1 THEN $2 … END WHERE id IN ($1, $3, …): both
        // backends number parameters this way.
        let cases: String = (0..chunk.len())
            .map(|n| format!(" WHEN ${} THEN ${}", 2 * n + 1, 2 * n + 2))
            .collect();
        let ids: Vec<String> = (0..chunk.len())
            .map(|n| format!("${}", 2 * n + 1))
            .collect();
        let sql = format!(
            "UPDATE change_events SET changes = CASE id{cases} END WHERE id IN ({})",
            ids.join(", ")
        );
        let mut query = diesel::sql_query(sql).into_boxed();
        for (id, changes) in chunk {
            query = query
                .bind::<BigInt, _>(*id)
                .bind::<Text, _>(changes.clone());
        }
        query.execute(conn)?;
    }
    Ok(rows.len())
}
