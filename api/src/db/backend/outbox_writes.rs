//! The outbox's two busiest writes as one statement each on PostgreSQL (data-modifying CTEs,
//! kept prepared), where SQLite runs their steps in its write transaction: an email queued with
//! its content and follow-up, and a delivery's outcome with the content of a message that names
//! a withdrawn person forgotten at once. Each withdrawal queues two such emails and records two
//! such deliveries: as separate statements they were eight round trips more per withdrawal, and
//! the delivery's four were four commits where one is all-or-nothing.

use chrono::NaiveDateTime;
use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel::QueryResult;

use super::prepared;
use crate::db::follow_ups::NewFollowUpRow;
use crate::db::outbox::{ContentRow, NewMessageRow};

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

const MESSAGE: &str = "WITH message AS (INSERT INTO outbox_messages (dealer_id, customer_id, \
    kind, channel, message_id, status, attempts, next_attempt_at, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id), \
    content AS (INSERT INTO outbox_contents (message_id, recipients, subject, body_text, \
    body_html) SELECT id, $10, $11, $12, $13 FROM message)";

const FOLLOW_UP: &str = ", follow_up AS (INSERT INTO follow_ups (dealer_id, kind, customer_id, \
    lead_ids, assignees, message_id, identifier, created_at, due_at, status) \
    SELECT $14, $15, $16, $17, $18, id, $19, $20, $21, $22 FROM message)";

/// Queues a message with its content and, if given, its follow-up (whose `message_id` is set
/// here); returns the message's id.
pub fn insert_message(
    pg: &mut PgConnection,
    row: &NewMessageRow,
    content: &ContentRow,
    follow_up: Option<&NewFollowUpRow<'_>>,
) -> QueryResult<i64> {
    let sql = match follow_up {
        Some(_) => format!("{MESSAGE}{FOLLOW_UP} SELECT id FROM message"),
        None => format!("{MESSAGE} SELECT id FROM message"),
    };
    let message = diesel::sql_query(sql)
        .bind::<Text, _>(&row.dealer_id)
        .bind::<Nullable<BigInt>, _>(row.customer_id)
        .bind::<Text, _>(&row.kind)
        .bind::<Text, _>(&row.channel)
        .bind::<Text, _>(&row.message_id)
        .bind::<Text, _>(&row.status)
        .bind::<Integer, _>(row.attempts)
        .bind::<Timestamp, _>(row.next_attempt_at)
        .bind::<Timestamp, _>(row.created_at)
        .bind::<Text, _>(&content.recipients)
        .bind::<Nullable<Text>, _>(&content.subject)
        .bind::<Text, _>(&content.body_text)
        .bind::<Nullable<Text>, _>(&content.body_html);
    let ids: Vec<Id> = match follow_up {
        None => prepared::load_pg(pg, message)?,
        Some(f) => prepared::load_pg(
            pg,
            message
                .bind::<Text, _>(f.dealer_id)
                .bind::<Text, _>(f.kind)
                .bind::<Nullable<BigInt>, _>(f.customer_id)
                .bind::<Nullable<Text>, _>(&f.lead_ids)
                .bind::<Text, _>(&f.assignees)
                .bind::<Nullable<Text>, _>(&f.identifier)
                .bind::<Timestamp, _>(f.created_at)
                .bind::<Timestamp, _>(f.due_at)
                .bind::<Text, _>(f.status),
        )?,
    };
    ids.first()
        .map(|row| row.id)
        .ok_or(diesel::result::Error::NotFound)
}

/// Records message `id` as sent while `worker` still holds its claim; with `forget`, its
/// content goes in the same statement (and the identifier of its follow-up, as `purge` does).
/// Returns how many messages it recorded (0: the claim was lost).
pub fn record_sent(
    pg: &mut PgConnection,
    id: i64,
    worker: &str,
    at: NaiveDateTime,
    forget: bool,
) -> QueryResult<usize> {
    let statement = diesel::sql_query(
        "WITH sent AS (UPDATE outbox_messages SET status = $3, attempts = attempts + 1, \
         sent_at = $4, last_error = NULL, claimed_by = NULL, claimed_until = NULL, \
         purged_at = CASE WHEN $5 THEN $4 END WHERE id = $1 AND claimed_by = $2 \
         RETURNING id, purged_at IS NOT NULL AS forget), \
         forgotten AS (DELETE FROM outbox_contents \
         WHERE message_id IN (SELECT id FROM sent WHERE forget)), \
         unnamed AS (UPDATE follow_ups SET identifier = NULL \
         WHERE identifier IS NOT NULL AND message_id IN (SELECT id FROM sent WHERE forget)) \
         SELECT id FROM sent",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(worker)
    .bind::<Text, _>(crate::db::outbox::SENT)
    .bind::<Timestamp, _>(at)
    .bind::<Bool, _>(forget);
    Ok(prepared::load_pg::<_, Id>(pg, statement)?.len())
}
