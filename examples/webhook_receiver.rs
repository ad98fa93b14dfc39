//! A dealer system's webhook receiver: verifies each delivery with the SDK, answers at once,
//! and then fetches the customer the event is about through the API (deliveries carry ids and
//! the kind of event, never personal information).
//!
//! ```sh
//! # The server must be allowed to call a receiver on loopback:
//! POPIA_WEBHOOK_ALLOW_PRIVATE=true cargo run -q -p popia-api -- --demo
//! # Register the receiver; the answer holds its secret, shown only then:
//! curl -s -X POST http://127.0.0.1:8080/v1/dealers/demo-motors/webhooks \
//!     -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!     -d '{"url": "http://127.0.0.1:9000/webhooks", "events": ["customer.amended", "consent.withdrawn"]}'
//! cargo run --example webhook_receiver -- --secret whsec_... --token "$TOKEN"
//! ```

use std::collections::HashSet;
use std::sync::Mutex;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use clap::Parser;
use popia_sdk::webhooks::{verify, DEFAULT_TOLERANCE};
use serde::Deserialize;

#[derive(Parser)]
struct Args {
    /// Where to listen for deliveries.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: String,
    /// The endpoint's secret, from its registration (or its last rotation).
    #[arg(long, env = "POPIA_WEBHOOK_SECRET")]
    secret: String,
    /// The API, for reading what an event is about.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, env = "POPIA_TOKEN")]
    token: String,
}

/// What a delivery says.
#[derive(Debug, Deserialize)]
struct Delivery {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    dealer_id: String,
    customer_id: Option<i64>,
    lead_ids: Option<Vec<i64>>,
    occurred_at: String,
}

struct State {
    secret: String,
    client: popia_sdk::Client,
    /// The `webhook-id`s handled: a retry of one already handled is answered, not redone.
    seen: Mutex<HashSet<String>>,
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    // The SDK takes (name, value) pairs: actix's header map converts in one line.
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect();
    // Verify the raw bytes, before parsing: a re-serialised body would not match.
    if let Err(error) = verify(&state.secret, &headers, &body, DEFAULT_TOLERANCE) {
        eprintln!("refused a delivery: {error}");
        return HttpResponse::Unauthorized().finish();
    }
    let Ok(delivery) = serde_json::from_slice::<Delivery>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let webhook_id = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !state.seen.lock().unwrap().insert(webhook_id.clone()) {
        println!("{webhook_id}: already handled");
        return HttpResponse::NoContent().finish();
    }
    println!(
        "{webhook_id}: event {} {} at {} (customer {:?}, leads {:?})",
        delivery.id, delivery.kind, delivery.occurred_at, delivery.customer_id, delivery.lead_ids
    );
    // Answer now and work after: the sender waits 10 s at most and retries what it did not see
    // answered.
    if let Some(customer) = delivery.customer_id {
        let state = state.clone();
        actix_web::rt::spawn(async move {
            let read = state
                .client
                .get_customer()
                .dealer(&delivery.dealer_id)
                .id(customer)
                .send()
                .await;
            match read {
                Ok(record) => {
                    let record = record.into_inner();
                    println!(
                        "  customer {customer}: consent to process {}, to market {}{}",
                        record.consent_process,
                        record.consent_market,
                        if record.deidentified_at.is_some() {
                            ", de-identified: remove them from every list"
                        } else {
                            ""
                        }
                    );
                }
                Err(error) => eprintln!("  cannot read customer {customer}: {error}"),
            }
        });
    }
    HttpResponse::NoContent().finish()
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = popia_sdk::ClientBuilder::new(&args.url)
        .token(&args.token)
        .build()?;
    let state = web::Data::new(State {
        secret: args.secret,
        client,
        seen: Mutex::new(HashSet::new()),
    });
    println!("listening on http://{}/webhooks", args.listen);
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/webhooks", web::post().to(receive))
    })
    .bind(&args.listen)?
    .run()
    .await?;
    Ok(())
}
