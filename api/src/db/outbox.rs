//! Queries of the outbox table. The claim is per backend (`backend::claim_due_messages`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::follow_ups::NewFollowUpRow;
use super::schema::outbox_contents as contents;
use super::schema::outbox_messages as outbox;
use super::{DbConnection, Page};

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
/// The channel (and kind) of webhook deliveries.
pub const WEBHOOK: &str = "webhook";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct MessageRow {
    pub id: i64,
    pub dealer_id: String,
    pub customer_id: Option<i64>,
    pub kind: String,
    pub channel: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub purged_at: Option<NaiveDateTime>,
    /// A webhook delivery's endpoint (channel `webhook`; the rest in `webhook_deliveries`).
    pub webhook_id: Option<i64>,
}

/// What a message says and to whom; gone once purged. (`None` as NULL: see [`NewMessageRow`].)
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contents, treat_none_as_default_value = false)]
pub struct ContentRow {
    pub message_id: i64,
    /// JSON array of addresses (emails, or E.164 mobiles).
    pub recipients: String,
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
}

/// A message with its content, if not purged.
pub type Message = (MessageRow, Option<ContentRow>);

// `None` is written as NULL (no column here has another default), so the INSERT's SQL is the
// same every time and diesel keeps it prepared; with DEFAULT it is planned on every call.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
pub struct NewMessageRow {
    pub dealer_id: String,
    pub customer_id: Option<i64>,
    pub kind: String,
    pub channel: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Inserts a message, its content and, if given, its follow-up; `content.message_id` and the
/// follow-up's are set here. One statement on PostgreSQL.
pub fn insert(
    conn: &mut DbConnection,
    row: &NewMessageRow,
    mut content: ContentRow,
    follow_up: Option<NewFollowUpRow<'_>>,
) -> QueryResult<i64> {
    if let DbConnection::Pg(pg) = conn {
        return super::backend::outbox_writes::insert_message(
            pg,
            row,
            &content,
            follow_up.as_ref(),
        );
    }
    let id = diesel::insert_into(outbox::table)
        .values(row)
        .returning(outbox::id)
        .get_result(conn)?;
    content.message_id = id;
    diesel::insert_into(contents::table)
        .values(&content)
        .execute(conn)?;
    if let Some(follow_up) = follow_up {
        super::follow_ups::open(
            conn,
            &NewFollowUpRow {
                message_id: id,
                ..follow_up
            },
        )?;
    }
    Ok(id)
}

pub fn load(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<Message>> {
    outbox::table
        .left_join(contents::table)
        .filter(outbox::id.eq_any(ids))
        .select((MessageRow::as_select(), Option::<ContentRow>::as_select()))
        .order(outbox::id.asc())
        .load(conn)
}

/// The outcome of one delivery attempt, recorded only while this worker still holds the claim;
/// with `forget`, the message's content goes with it (see [`purge`]). Returns how many messages
/// it recorded (0: the claim was lost). All or nothing: run it in `db::write_atomically`, as it
/// is one statement on PostgreSQL and several on SQLite.
pub fn record_sent(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    at: NaiveDateTime,
    forget: bool,
) -> QueryResult<usize> {
    if let DbConnection::Pg(pg) = conn {
        return super::backend::outbox_writes::record_sent(pg, id, worker, at, forget);
    }
    let recorded = diesel::update(claimed_by(id, worker))
        .set((
            outbox::status.eq(SENT),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::sent_at.eq(Some(at)),
            outbox::last_error.eq(None::<String>),
            outbox::claimed_by.eq(None::<String>),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    if forget && recorded > 0 {
        purge(conn, &[id], at)?;
    }
    Ok(recorded)
}

/// A failed attempt: retried at `retry_at`, or `failed` for good when `retry_at` is None (then
/// `next_attempt_at` records when it gave up, which retention counts from).
pub fn record_failure(
    conn: &mut DbConnection,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let (status, at) = match retry_at {
        Some(at) => (PENDING, at),
        None => (FAILED, now),
    };
    super::backend::prepared::run::<_, i64>(
        conn,
        diesel::update(claimed_by(id, worker))
            .set((
                outbox::status.eq(status),
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::last_error.eq(Some(error)),
                outbox::next_attempt_at.eq(at),
                outbox::claimed_by.eq(None::<String>),
                outbox::claimed_until.eq(None::<NaiveDateTime>),
            ))
            .returning(outbox::id),
    )
}

/// Gives back claims this worker will not use (on shutdown).
pub fn release(conn: &mut DbConnection, ids: &[i64], worker: &str) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::claimed_by.eq(worker))
            .filter(outbox::status.eq(PENDING)),
    )
    .set((
        outbox::claimed_by.eq(None::<String>),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
}

fn claimed_by(
    id: i64,
    worker: &str,
) -> diesel::dsl::Filter<
    diesel::dsl::Filter<outbox::table, diesel::dsl::Eq<outbox::id, i64>>,
    diesel::dsl::Eq<outbox::claimed_by, String>,
> {
    outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::claimed_by.eq(worker.to_owned()))
}

/// Deletes what finished messages said and to whom, keeping kind, status and times. Finished
/// means sent, or failed for good, at or before `finished_before`.
pub fn purge_finished(
    conn: &mut DbConnection,
    finished_before: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let ids: Vec<i64> = outbox::table
        .filter(outbox::purged_at.is_null())
        .filter(
            outbox::status
                .eq(SENT)
                .and(outbox::sent_at.le(finished_before))
                .or(outbox::status
                    .eq(FAILED)
                    .and(outbox::next_attempt_at.le(finished_before))),
        )
        .select(outbox::id)
        .load(conn)?;
    purge(conn, &ids, now)
}

/// What a cancelled message's `last_error` says (it stays `failed`: it will never be sent).
pub const CANCELLED: &str = "cancelled: the customer withdrew consent";

/// A withdrawal's reach into the outbox for a customer: messages about them still waiting to be
/// sent (an amendment's email it makes moot) are cancelled, finished ones lose their content.
/// Returns how many messages it touched.
pub fn silence_customer(
    conn: &mut DbConnection,
    customer_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let found: Vec<(i64, String)> = outbox::table
        .filter(outbox::customer_id.eq(customer_id))
        .filter(outbox::purged_at.is_null())
        .select((outbox::id, outbox::status))
        .load(conn)?;
    cancel_or_purge(conn, found, now)
}

/// The same for the dealer's messages about no customer record (one-time codes, NOT FOUND
/// alerts) sent to or naming any of `addresses`, in one read. Only those kinds are scanned, so
/// a withdrawal does not read every message the dealer ever sent.
pub fn silence_addresses(
    conn: &mut DbConnection,
    dealer: &str,
    addresses: &[&str],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    use diesel::sql_types::Bool;
    if addresses.is_empty() {
        return Ok(0);
    }
    let mut naming: Box<dyn BoxableExpression<_, _, SqlType = Bool>> =
        Box::new(false.into_sql::<Bool>());
    for address in addresses {
        let escaped = super::like_escaped(address);
        naming = Box::new(
            naming.or(contents::recipients
                .like(format!("%\"{escaped}\"%"))
                .escape('\\')
                .or(contents::body_text
                    .like(format!("%{escaped}%"))
                    .escape('\\'))),
        );
    }
    let found: Vec<(i64, String)> = outbox::table
        .inner_join(contents::table)
        .filter(outbox::dealer_id.eq(dealer))
        .filter(outbox::customer_id.is_null())
        .filter(outbox::kind.eq_any(["one_time_code", "lookup_not_found"]))
        .filter(naming)
        .select((outbox::id, outbox::status))
        .load(conn)?;
    cancel_or_purge(conn, found, now)
}

/// Waiting messages become `failed` for good with [`CANCELLED`]; every one loses its content.
fn cancel_or_purge(
    conn: &mut DbConnection,
    found: Vec<(i64, String)>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let waiting: Vec<i64> = found
        .iter()
        .filter(|(_, status)| status == PENDING)
        .map(|(id, _)| *id)
        .collect();
    purge(conn, &ids, now)?;
    for chunk in waiting.chunks(1000) {
        diesel::update(outbox::table.filter(outbox::id.eq_any(chunk)))
            .set((
                outbox::status.eq(FAILED),
                outbox::last_error.eq(Some(CANCELLED)),
                outbox::next_attempt_at.eq(now),
                outbox::claimed_by.eq(None::<String>),
                outbox::claimed_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    Ok(ids.len())
}

/// Deletes the contents of `ids` and marks them purged, in chunks that stay within SQLite's
/// limit on bound values.
pub fn purge(conn: &mut DbConnection, ids: &[i64], now: NaiveDateTime) -> QueryResult<usize> {
    for chunk in ids.chunks(1000) {
        diesel::delete(contents::table.filter(contents::message_id.eq_any(chunk))).execute(conn)?;
        // A NOT FOUND follow-up shows its identifier only while the email's content is kept.
        super::follow_ups::forget_identifiers(conn, chunk)?;
        let purged = diesel::update(outbox::table.filter(outbox::id.eq_any(chunk)))
            .set((
                outbox::purged_at.eq(Some(now)),
                outbox::last_error.eq(None::<String>),
            ))
            .returning(outbox::id);
        super::backend::prepared::run::<_, i64>(conn, purged)?;
    }
    Ok(ids.len())
}

/// A keyset page of a dealer's messages to people (webhook deliveries are listed per endpoint),
/// newest last, optionally of one status.
pub fn list(
    conn: &mut DbConnection,
    dealer: &str,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> QueryResult<Page<Message>> {
    let mut query = outbox::table
        .left_join(contents::table)
        .filter(outbox::dealer_id.eq(dealer))
        .filter(outbox::channel.ne(WEBHOOK))
        .filter(outbox::id.gt(after))
        .select((MessageRow::as_select(), Option::<ContentRow>::as_select()))
        .order(outbox::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status.to_owned()));
    }
    Ok(Page::from_overfetch(query.load(conn)?, limit))
}

/// How many SMS the dealer's messages since `since` were (one-time codes are the only ones).
pub fn sms_sent_since(
    conn: &mut DbConnection,
    dealer: &str,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::dealer_id.eq(dealer))
        .filter(outbox::channel.eq("sms"))
        .filter(outbox::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// Messages per status, for the depth gauge.
pub fn depth(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .load(conn)
}
