//! Writing to the outbox. `enqueue` takes the caller's open transaction: the message exists if
//! and only if the change that caused it commits.

use rand::Rng;

use super::Branding;
use crate::db::follow_ups::NewFollowUpRow;
use crate::db::outbox::{self as table, ContentRow, NewMessageRow, PENDING};
use crate::db::{self, DbConnection};

/// What a message is, for the listing and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    OneTimeCode,
    LookupNotFound,
    ConsentWithdrawn,
    DetailsAltered,
    DeidentifyAlert,
    FollowUpReminder,
    ReconcileSummary,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::OneTimeCode => "one_time_code",
            MessageKind::LookupNotFound => "lookup_not_found",
            MessageKind::ConsentWithdrawn => "consent_withdrawn",
            MessageKind::DetailsAltered => "details_altered",
            MessageKind::DeidentifyAlert => "deidentify_alert",
            MessageKind::FollowUpReminder => "follow_up_reminder",
            MessageKind::ReconcileSummary => "reconcile_summary",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// A message to send, before it is queued.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub dealer_id: String,
    /// The customer the message is about, if any: a withdrawal purges these.
    pub customer_id: Option<i64>,
    pub kind: MessageKind,
    pub channel: Channel,
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

/// Queues a message in the caller's transaction; returns its id.
pub fn enqueue(
    conn: &mut DbConnection,
    branding: &Branding,
    message: NewMessage,
) -> diesel::QueryResult<i64> {
    queue(conn, branding, message, None)
}

/// Queues a message and the follow-up that asks its recipients to act (its `message_id` is set
/// here), in the caller's transaction; returns the message's id.
pub fn enqueue_with_follow_up(
    conn: &mut DbConnection,
    branding: &Branding,
    message: NewMessage,
    follow_up: NewFollowUpRow<'_>,
) -> diesel::QueryResult<i64> {
    queue(conn, branding, message, Some(follow_up))
}

fn queue(
    conn: &mut DbConnection,
    branding: &Branding,
    message: NewMessage,
    follow_up: Option<NewFollowUpRow<'_>>,
) -> diesel::QueryResult<i64> {
    let now = db::now();
    let message_id = format!(
        "<{:032x}@{}>",
        rand::rng().random::<u128>(),
        branding.domain
    );
    table::insert(
        conn,
        &NewMessageRow {
            dealer_id: message.dealer_id,
            customer_id: message.customer_id,
            kind: message.kind.as_str().to_owned(),
            channel: message.channel.as_str().to_owned(),
            message_id,
            status: PENDING.to_owned(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        },
        ContentRow {
            message_id: 0,
            recipients: serde_json::to_string(&message.recipients).unwrap_or_default(),
            subject: message.subject,
            body_text: message.text,
            body_html: message.html,
        },
        follow_up,
    )
}
