//! Queries of the webhooks table, and of the deliveries to its endpoints: an outbox row each
//! (channel `webhook`, carrying `webhook_id`), with a `webhook_deliveries` row beside it for the
//! event it announces and the HTTP status last answered.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::outbox::{MessageRow, FAILED, PENDING, WEBHOOK};
use super::schema::{outbox_contents as contents, outbox_messages as outbox};
use super::schema::{webhook_deliveries as deliveries, webhooks};
use super::{DbConnection, Page};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: i64,
    pub dealer_id: String,
    pub url: String,
    /// JSON array of event kinds.
    pub events: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub disabled_at: Option<NaiveDateTime>,
}

impl WebhookRow {
    /// The kinds of event the endpoint is subscribed to, as stored.
    pub fn kinds(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    pub fn subscribes_to(&self, kind: &str) -> bool {
        self.kinds().iter().any(|k| k == kind)
    }

    /// When the secret it replaced stops signing, if that is still to come at `now`.
    pub fn overlap_until(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        self.previous_secret
            .as_ref()
            .and(self.previous_secret_until)
            .filter(|until| *until > now)
    }

    /// The secrets that sign a delivery at `now`: the current one, and during a rotation's
    /// overlap the one it replaced.
    pub fn signing_secrets(&self, now: NaiveDateTime) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if self.overlap_until(now).is_some() {
            secrets.extend(self.previous_secret.as_deref());
        }
        secrets
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhooks)]
pub struct NewWebhookRow<'a> {
    pub dealer_id: &'a str,
    pub url: &'a str,
    pub events: String,
    pub secret: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &NewWebhookRow) -> QueryResult<WebhookRow> {
    diesel::insert_into(webhooks::table)
        .values(row)
        .returning(webhooks::all_columns)
        .get_result(conn)
}

/// One of the dealer's endpoints.
pub fn find(conn: &mut DbConnection, dealer: &str, id: i64) -> QueryResult<Option<WebhookRow>> {
    webhooks::table
        .filter(webhooks::dealer_id.eq(dealer))
        .filter(webhooks::id.eq(id))
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()
}

/// A keyset page of the dealer's endpoints, oldest first.
pub fn list(
    conn: &mut DbConnection,
    dealer: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Page<WebhookRow>> {
    let rows = webhooks::table
        .filter(webhooks::dealer_id.eq(dealer))
        .filter(webhooks::id.gt(after))
        .select(WebhookRow::as_select())
        .order(webhooks::id.asc())
        .limit(limit + 1)
        .load(conn)?;
    Ok(Page::from_overfetch(rows, limit))
}

/// The dealer's endpoints that still take deliveries.
pub fn enabled_for(conn: &mut DbConnection, dealer: &str) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table
        .filter(webhooks::dealer_id.eq(dealer))
        .filter(webhooks::disabled_at.is_null())
        .select(WebhookRow::as_select())
        .order(webhooks::id.asc())
        .load(conn)
}

/// The endpoints of a batch of deliveries.
pub fn by_ids(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table
        .filter(webhooks::id.eq_any(ids))
        .select(WebhookRow::as_select())
        .load(conn)
}

/// A new secret; the current one keeps signing beside it until `until`.
pub fn rotate(
    conn: &mut DbConnection,
    id: i64,
    secret: &str,
    until: NaiveDateTime,
) -> QueryResult<WebhookRow> {
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::previous_secret.eq(webhooks::secret.nullable()),
            webhooks::previous_secret_until.eq(Some(until)),
            webhooks::secret.eq(secret),
        ))
        .returning(webhooks::all_columns)
        .get_result(conn)
}

pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(webhooks::table.find(id)).execute(conn)
}

/// Disables an endpoint (once: the first time is the one recorded).
pub fn disable(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        webhooks::table
            .find(id)
            .filter(webhooks::disabled_at.is_null()),
    )
    .set(webhooks::disabled_at.eq(Some(now)))
    .execute(conn)
}

/// Deliveries to the endpoint still waiting become `failed` for good with `reason`. A worker
/// holding one loses its claim, so its outcome is not recorded over the cancellation.
pub fn cancel_pending(
    conn: &mut DbConnection,
    webhook_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::webhook_id.eq(webhook_id))
            .filter(outbox::status.eq(PENDING)),
    )
    .set((
        outbox::status.eq(FAILED),
        outbox::last_error.eq(Some(reason)),
        outbox::next_attempt_at.eq(now),
        outbox::claimed_by.eq(None::<String>),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct NewDeliveryRow<'a> {
    dealer_id: &'a str,
    customer_id: Option<i64>,
    kind: &'a str,
    channel: &'a str,
    message_id: &'a str,
    status: &'a str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
    webhook_id: Option<i64>,
}

/// The event a delivery announces, and how the receiver last answered.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deliveries)]
pub struct DeliveryRow {
    pub message_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub last_status_code: Option<i32>,
}

#[derive(Insertable)]
#[diesel(table_name = contents)]
struct NewDeliveryContent<'a> {
    message_id: i64,
    recipients: &'a str,
    body_text: &'a str,
}

/// A delivery to queue: the event's body for one endpoint.
pub struct NewDelivery<'a> {
    pub dealer_id: &'a str,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: &'a str,
    /// The `webhook-id` header, the same on every attempt.
    pub message_id: &'a str,
    pub body: &'a str,
    pub now: NaiveDateTime,
}

/// Queues a delivery in the caller's transaction. Its row names no customer (`customer_id`
/// NULL, kind `webhook`), so a withdrawal's silencing of the customer's messages leaves the
/// dealer's own systems still told; its body holds ids, never personal information.
pub fn queue(conn: &mut DbConnection, new: &NewDelivery) -> QueryResult<i64> {
    let id = diesel::insert_into(outbox::table)
        .values(&NewDeliveryRow {
            dealer_id: new.dealer_id,
            customer_id: None,
            kind: WEBHOOK,
            channel: WEBHOOK,
            message_id: new.message_id,
            status: PENDING,
            attempts: 0,
            next_attempt_at: new.now,
            created_at: new.now,
            webhook_id: Some(new.webhook_id),
        })
        .returning(outbox::id)
        .get_result(conn)?;
    diesel::insert_into(contents::table)
        .values(&NewDeliveryContent {
            message_id: id,
            recipients: "[]",
            body_text: new.body,
        })
        .execute(conn)?;
    diesel::insert_into(deliveries::table)
        .values(&DeliveryRow {
            message_id: id,
            event_id: new.event_id,
            event_type: new.event_type.to_owned(),
            last_status_code: None,
        })
        .execute(conn)?;
    Ok(id)
}

/// Records the HTTP status the receiver answered a delivery's latest attempt with.
pub fn record_status(
    conn: &mut DbConnection,
    message_id: i64,
    status_code: Option<i32>,
) -> QueryResult<usize> {
    diesel::update(deliveries::table.find(message_id))
        .set(deliveries::last_status_code.eq(status_code))
        .execute(conn)
}

/// A delivery as listed: its outbox row and what its side row says.
pub type Delivery = (MessageRow, Option<DeliveryRow>);

/// A keyset page of an endpoint's deliveries, oldest first, optionally of one status.
pub fn deliveries(
    conn: &mut DbConnection,
    webhook_id: i64,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> QueryResult<Page<Delivery>> {
    let mut query = outbox::table
        .filter(outbox::webhook_id.eq(webhook_id))
        .filter(outbox::id.gt(after))
        .select(MessageRow::as_select())
        .order(outbox::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status.to_owned()));
    }
    let page = Page::from_overfetch(query.load(conn)?, limit);
    let ids: Vec<i64> = page.items.iter().map(|m| m.id).collect();
    let mut sides: Vec<DeliveryRow> = deliveries::table
        .filter(deliveries::message_id.eq_any(&ids))
        .select(DeliveryRow::as_select())
        .load(conn)?;
    Ok(Page {
        has_more: page.has_more,
        items: page
            .items
            .into_iter()
            .map(|row| {
                let side = sides
                    .iter()
                    .position(|d| d.message_id == row.id)
                    .map(|at| sides.swap_remove(at));
                (row, side)
            })
            .collect(),
    })
}
