//! Faults with real components: SMTP down while customers withdraw.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

/// How many withdrawals the outage test makes (`POPIA_FAULT_WITHDRAWALS`, default 1,000).
fn withdrawals() -> usize {
    std::env::var("POPIA_FAULT_WITHDRAWALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// Withdrawals succeed while smtp is down and every email arrives once it returns.
#[tokio::test]
async fn withdrawals_succeed_while_smtp_is_down_and_every_email_arrives_once_it_returns() {
    let count = withdrawals();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let app = Arc::new(
        spawn_app_with(|c| {
            c.notify.smtp_url = Some(url);
            c.notify.delivery.base_backoff = Duration::from_millis(200);
            c.notify.delivery.max_backoff = Duration::from_secs(2);
            c.notify.delivery.batch_size = 200;
            // The outage lasts as long as this machine takes for the withdrawals; no message
            // may give up before it ends.
            c.notify.delivery.max_attempts = 1000;
            // About the server's own worker riding out the outage.
            c.notify.delivery.enabled = true;
        })
        .await,
    );
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");

    // Customers, each with a lead worked by a salesperson: a withdrawal mails the key contacts
    // and the salesperson.
    let ids: Vec<i64> = futures_util::stream::iter(0..count)
        .map(|n| {
            let (app, token) = (app.clone(), token.clone());
            async move {
                let body = json!({"first_name": "Outage", "last_name": format!("Customer{n}"), "email": format!("outage{n}@mail.co.za"),
                                  "consent_process": true, "consent_market": true});
                let customer = app.post("/v1/dealers/abc-motors/customers", &token, body).await;
                let id = customer.body["id"].as_i64().unwrap();
                let lead = app
                    .post("/v1/dealers/abc-motors/leads", &token, json!({"customer_id": id, "recipient": {"name": "Ashveer", "email": "ashveer@abc.co.za"}}))
                    .await;
                assert_eq!(lead.status, StatusCode::CREATED);
                id
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;

    let started = Instant::now();
    let statuses: Vec<StatusCode> = futures_util::stream::iter(ids)
        .map(|id| {
            let (app, token) = (app.clone(), token.clone());
            async move {
                app.post(
                    &format!("/v1/dealers/abc-motors/customers/{id}/withdraw-consent"),
                    &token,
                    json!({}),
                )
                .await
                .status
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "a withdrawal failed while SMTP was down"
    );

    // SMTP returns.
    let sink = SmtpSink::start_on(port).await;
    let expected = count * 2;
    let tally = sink.tally(expected, Duration::from_secs(120)).await;
    println!(
        "SMTP down during {count} withdrawals: {count} succeeded in {seconds:.1} s ({:.0}/s); once SMTP returned: {tally}",
        count as f64 / seconds
    );
    assert_eq!(
        (tally.delivered, tally.distinct),
        (expected, expected),
        "{tally}"
    );
}
