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
    Ok(record_all(conn, dealer, std::slice::from_ref(event), at)?[0])
}

/// Records several events of one action, in order, reading the dealer's endpoints once for all
/// of them; returns their ids.
pub fn record_all(
    conn: &mut DbConnection,
    dealer: &str,
    events: &[NewEvent],
    at: NaiveDateTime,
) -> diesel::QueryResult<Vec<i64>> {
    let endpoints = webhooks::enabled_for(conn, dealer)?;
    let ids = events::record(conn, dealer, events, at)?;
    for (event, &id) in events.iter().zip(&ids) {
        let kind = event.kind.as_str();
        let subscribed = endpoints.iter().filter(|e| e.subscribes_to(kind));
        let mut body = None;
        for endpoint in subscribed {
            let body = body.get_or_insert_with(|| delivery::body(id, dealer, event, at));
            webhooks::queue(
                conn,
                &NewDelivery {
                    dealer_id: dealer,
                    webhook_id: endpoint.id,
                    event_id: id,
                    event_type: kind,
                    message_id: &delivery::new_message_id(),
                    body,
                    now: at,
                },
            )?;
        }
    }
    Ok(ids)
}
