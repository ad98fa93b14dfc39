//! Every change event goes through here: recorded in the dealer's feed and, in the same
//! transaction, queued for each of the dealer's webhook endpoints subscribed to its kind. The
//! delivery exists if and only if the event commits.

use chrono::NaiveDateTime;

use crate::db::webhooks::{self, NewDelivery};
use crate::db::{events, DbConnection};
use crate::domain::events::NewEvent;
use crate::notify::webhooks as delivery;

/// Records `event` in the caller's `db::dealer_transaction` and fans it out to webhooks;
/// returns the event's id.
pub fn record(
    conn: &mut DbConnection,
    dealer: &str,
    event: &NewEvent,
    at: NaiveDateTime,
) -> diesel::QueryResult<i64> {
    let id = events::record(conn, dealer, event, at)?;
    let kind = event.kind.as_str();
    let subscribed: Vec<i64> = webhooks::enabled_for(conn, dealer)?
        .into_iter()
        .filter(|endpoint| endpoint.subscribes_to(kind))
        .map(|endpoint| endpoint.id)
        .collect();
    if subscribed.is_empty() {
        return Ok(id);
    }
    let body = delivery::body(id, dealer, event, at);
    for webhook_id in subscribed {
        webhooks::queue(
            conn,
            &NewDelivery {
                dealer_id: dealer,
                webhook_id,
                event_id: id,
                event_type: kind,
                message_id: &delivery::new_message_id(),
                body: &body,
                now: at,
            },
        )?;
    }
    Ok(id)
}
