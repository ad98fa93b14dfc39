//! Signed webhooks end to end: a real receiver on loopback gets the dealer's change events,
//! signed as Standard Webhooks 1.0 says (checked with the SDK and with an HMAC computed here),
//! retried with the same `webhook-id`, never lost or doubled, stopped by `410 Gone`, refused on
//! private addresses, double-signed during a rotation, and free of personal information.
//! Delivery is driven with `deliver_pending` (or workers made here); retries are made due by
//! moving `next_attempt_at`, never by sleeping.

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use diesel::prelude::*;
use popia_api::db::schema::{outbox_messages as outbox, webhooks};
use popia_api::notify::worker::{OutboxMetrics, Worker};
use popia_api::notify::NotifySettings;
use popia_sdk::webhooks::{verify, VerifyError, DEFAULT_TOLERANCE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::webhook_receiver::{Received, Receiver};

const WEBHOOKS: &str = "/v1/dealers/abc-motors/webhooks";

/// Registers an endpoint for abc-motors; returns the answer (with the secret).
async fn register(app: &TestApp, url: &str, events: &[&str]) -> Value {
    let reply = app
        .post(
            WEBHOOKS,
            &dealer("abc-motors"),
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

/// Every delivery of an endpoint.
async fn deliveries(app: &TestApp, webhook: &Value) -> Vec<Value> {
    let reply = app
        .get(
            &format!("{WEBHOOKS}/{}/deliveries?limit=1000", webhook["id"]),
            &dealer("abc-motors"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

/// Makes every waiting delivery due now, as time passing would.
fn make_due(app: &TestApp) {
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    diesel::update(outbox::table.filter(outbox::status.eq("pending")))
        .set(outbox::next_attempt_at.eq(popia_api::db::now() - chrono::Duration::seconds(1)))
        .execute(&mut *conn)
        .unwrap();
}

/// A server whose failed deliveries wait an hour (so a test moves them), and its settings.
async fn app_with_slow_retries() -> (TestApp, NotifySettings) {
    let mut notify = None;
    let app = spawn_app_with(|c| {
        c.notify.delivery.base_backoff = Duration::from_secs(3600);
        notify = Some(c.notify.clone());
    })
    .await;
    app.create_dealer("abc-motors").await;
    (app, notify.unwrap())
}

/// HMAC-SHA256 (RFC 2104) by hand from SHA-256: a check that shares no code with the service.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

/// The `v1,` signature of a delivery under `secret`, computed here.
fn expected_signature(secret: &str, received: &Received) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut signed = format!(
        "{}.{}.",
        received.header("webhook-id").unwrap(),
        received.header("webhook-timestamp").unwrap()
    )
    .into_bytes();
    signed.extend_from_slice(&received.body);
    format!("v1,{}", engine.encode(hmac_sha256(&key, &signed)))
}

fn signatures(received: &Received) -> Vec<String> {
    received
        .header("webhook-signature")
        .unwrap()
        .split(' ')
        .map(str::to_owned)
        .collect()
}

/// Asserts the delivery verifies under `secret`, with the SDK and by hand.
fn assert_signed(secret: &str, received: &Received) {
    assert_eq!(
        verify(secret, &received.headers, &received.body, DEFAULT_TOLERANCE),
        Ok(()),
        "{received:?}"
    );
    assert!(
        signatures(received).contains(&expected_signature(secret, received)),
        "{received:?}"
    );
}

fn secret_of(webhook: &Value) -> String {
    webhook["secret"].as_str().unwrap().to_owned()
}

/// (1) A withdrawal, an amendment and a lead change reach the receiver, signed, thin, and as the
/// change feed recorded them; kinds not subscribed to are not sent.
#[tokio::test]
async fn a_withdrawal_an_amendment_and_a_lead_change_arrive_signed() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let receiver = Receiver::start().await;
    let kinds = [
        "customer.amended",
        "lead.status_changed",
        "consent.withdrawn",
    ];
    let webhook = register(&app, &receiver.url(), &kinds).await;
    let secret = secret_of(&webhook);
    let (customer, leads) = fred_with_leads(&app).await;
    let token = dealer("abc-motors");
    let customer_path = format!("/v1/dealers/abc-motors/customers/{customer}");
    let amended = app
        .patch(&customer_path, &token, json!({"first_name": "Frederick"}))
        .await;
    assert_eq!(amended.status, StatusCode::OK, "{}", amended.body);
    let won = app
        .patch(
            &format!("/v1/dealers/abc-motors/leads/{}", leads[0]),
            &token,
            json!({"status": "won"}),
        )
        .await;
    assert_eq!(won.status, StatusCode::OK, "{}", won.body);
    let withdrawn = app
        .post(
            &format!("{customer_path}/withdraw-consent"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);

    // What the feed holds of the subscribed kinds is exactly what is delivered.
    let feed: Vec<Value> = events_of(&app)
        .await
        .into_iter()
        .filter(|e| kinds.contains(&e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(feed.len(), 4, "{feed:?}");
    // (The same actions queue emails too: they are delivered beside.)
    app.deliver_pending().await;
    let mut received = receiver.received();
    received.sort_by_key(|r| r.json()["id"].as_str().unwrap().parse::<i64>().unwrap());
    assert_eq!(received.len(), 4);
    for (got, event) in received.iter().zip(&feed) {
        assert_signed(&secret, got);
        assert_eq!(got.path, "/hooks");
        assert_eq!(got.header("content-type"), Some("application/json"));
        assert!(got.header("webhook-id").unwrap().starts_with("msg_"));
        let mut expected = json!({
            "type": event["kind"], "id": event["id"].as_i64().unwrap().to_string(),
            "dealer_id": "abc-motors", "customer_id": customer,
            "occurred_at": event["occurred_at"],
        });
        if let Some(lead_ids) = event.get("lead_ids") {
            expected["lead_ids"] = lead_ids.clone();
        }
        assert_eq!(got.json(), expected);
    }
    let types: Vec<Value> = received.iter().map(|r| r.json()["type"].clone()).collect();
    assert_eq!(
        types,
        [
            "customer.amended",
            "lead.status_changed",
            "consent.withdrawn",
            "lead.status_changed"
        ]
    );

    // The endpoint's log: every delivery sent at once, named by its webhook-id and event.
    let log = deliveries(&app, &webhook).await;
    assert_eq!(log.len(), 4);
    for (delivery, event) in log.iter().zip(&feed) {
        assert_eq!(delivery["status"], "sent", "{delivery}");
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["last_status_code"], 204);
        assert_eq!(delivery["event_type"], event["kind"]);
        assert_eq!(delivery["event_id"], event["id"]);
        assert!(received
            .iter()
            .any(|r| Some(r.header("webhook-id").unwrap()) == delivery["webhook_id"].as_str()));
    }
    // Deliveries are not notifications to people.
    assert!(notifications_of(&app)
        .await
        .iter()
        .all(|n| n["channel"] != "webhook"));
}

/// (2) A receiver answering 500 is tried again, later, with the same `webhook-id`.
#[tokio::test]
async fn a_failed_attempt_is_retried_with_the_same_webhook_id() {
    let (app, _) = app_with_slow_retries().await;
    let receiver = Receiver::start().await;
    receiver.answer_next(&[500]);
    let webhook = register(&app, &receiver.url(), &["customer.created"]).await;
    app.create_customer("abc-motors", fred()).await;

    assert_eq!(app.deliver_pending().await, 1);
    let first = deliveries(&app, &webhook).await[0].clone();
    assert_eq!(first["status"], "pending", "{first}");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["last_status_code"], 500);
    assert!(first["last_error"].as_str().unwrap().contains("500"));
    // The backoff comes from the delivery settings: an hour's base, half of it at least.
    let next: chrono::DateTime<chrono::Utc> =
        first["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert!(next > chrono::Utc::now() + chrono::Duration::minutes(29));
    assert_eq!(app.deliver_pending().await, 0, "not due yet");

    make_due(&app);
    assert_eq!(app.deliver_pending().await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id")
    );
    for attempt in &received {
        assert_signed(&secret_of(&webhook), attempt);
        assert_eq!(attempt.body, received[0].body);
    }
    let done = deliveries(&app, &webhook).await[0].clone();
    assert_eq!(done["status"], "sent", "{done}");
    assert_eq!(done["attempts"], 2);
    assert_eq!(done["last_status_code"], 204);
    assert_eq!(done["last_error"], Value::Null);
}

/// (3) A receiver down for a while gets every delivery once it is back: none lost, none twice,
/// with two workers claiming from one database.
#[tokio::test]
async fn a_receiver_that_was_down_gets_everything_once_with_two_workers() {
    let (app, mut settings) = app_with_slow_retries().await;
    let down = Receiver::start().await;
    let (port, url) = (down.port, down.url());
    down.stop().await;
    let webhook = register(&app, &url, &["customer.created"]).await;
    const COUNT: usize = 30;
    for n in 0..COUNT {
        let mut customer = fred();
        customer["email"] = json!(format!("fred{n}@sea.com"));
        customer["mobile"] = json!(format!("0836567{n:03}"));
        app.create_customer("abc-motors", customer).await;
    }
    assert_eq!(app.deliver_pending().await, COUNT);
    let failed = deliveries(&app, &webhook).await;
    assert!(failed.iter().all(|d| d["status"] == "pending"
        && d["attempts"] == 1
        && d["last_status_code"].is_null()
        && d["last_error"].is_string()));

    let receiver = Receiver::start_on(port).await;
    make_due(&app);
    settings.delivery.batch_size = 4;
    let worker = || {
        Worker::new(
            popia_api::db::connect(&app.database_url, 2).unwrap(),
            &settings,
            OutboxMetrics::unregistered().unwrap(),
        )
        .unwrap()
    };
    let (one, two) = (worker(), worker());
    let (a, b) = tokio::join!(one.deliver_due(), two.deliver_due());
    let (a, b) = (a.unwrap(), b.unwrap());
    println!("two workers delivered {a} and {b}");
    assert_eq!(a + b, COUNT);

    let received = receiver.received();
    let ids: BTreeSet<&str> = received
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    let events: BTreeSet<String> = received
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        (received.len(), ids.len(), events.len()),
        (COUNT, COUNT, COUNT)
    );
    let created: BTreeSet<String> = events_of(&app)
        .await
        .iter()
        .filter(|e| e["kind"] == "customer.created")
        .map(|e| e["id"].as_i64().unwrap().to_string())
        .collect();
    assert_eq!(events, created);
    let log = deliveries(&app, &webhook).await;
    assert!(log
        .iter()
        .all(|d| d["status"] == "sent" && d["attempts"] == 2));
    assert_eq!(app.deliver_pending().await, 0);
    assert_eq!(receiver.received().len(), COUNT);

    // The log pages like every other list.
    let token = dealer("abc-motors");
    let first = app
        .get(
            &format!("{WEBHOOKS}/{}/deliveries?limit=20", webhook["id"]),
            &token,
        )
        .await;
    let next = first.body["next"].as_str().unwrap();
    let rest = app
        .get(
            &format!(
                "{WEBHOOKS}/{}/deliveries?limit=20&after={next}",
                webhook["id"]
            ),
            &token,
        )
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), COUNT - 20);
    assert!(rest.body["next"].is_null());
}

/// (4) `410 Gone` disables the endpoint: its other waiting delivery is cancelled, and nothing
/// more is queued for it or sent to it.
#[tokio::test]
async fn gone_disables_the_endpoint() {
    let (app, mut settings) = app_with_slow_retries().await;
    let receiver = Receiver::start().await;
    receiver.answer_next(&[410]);
    let webhook = register(&app, &receiver.url(), &["customer.created"]).await;
    for email in ["one@sea.com", "two@sea.com"] {
        let mut customer = fred();
        customer["email"] = json!(email);
        customer["mobile"] = Value::Null;
        app.create_customer("abc-motors", customer).await;
    }
    // One at a time: the first answer disables the endpoint before the second is tried.
    settings.delivery.batch_size = 1;
    let worker = Worker::new(
        popia_api::db::connect(&app.database_url, 2).unwrap(),
        &settings,
        OutboxMetrics::unregistered().unwrap(),
    )
    .unwrap();
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    assert_eq!(receiver.received().len(), 1);

    let endpoint = app
        .get(
            &format!("{WEBHOOKS}/{}", webhook["id"]),
            &dealer("abc-motors"),
        )
        .await;
    assert!(
        endpoint.body["disabled_at"].is_string(),
        "{}",
        endpoint.body
    );
    let log = deliveries(&app, &webhook).await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["status"], "failed");
    assert_eq!(log[0]["last_status_code"], 410);
    assert_eq!(log[1]["status"], "failed");
    assert!(log[1]["last_error"].as_str().unwrap().contains("410"));

    app.create_customer(
        "abc-motors",
        json!({"first_name": "Three", "last_name": "Sea",
        "email": "three@sea.com", "consent_process": true, "consent_market": false}),
    )
    .await;
    assert_eq!(deliveries(&app, &webhook).await.len(), 2, "nothing queued");
    make_due(&app);
    assert_eq!(app.deliver_pending().await, 0);
    assert_eq!(receiver.received().len(), 1, "nothing sent");
}

/// (5) Without `POPIA_WEBHOOK_ALLOW_PRIVATE`, private and loopback addresses are refused at
/// registration, and a delivery whose address became private is not sent.
#[tokio::test]
async fn private_addresses_are_refused_without_the_setting() {
    let app = spawn_app_with(|c| c.notify.webhook_allow_private = false).await;
    app.create_dealer("abc-motors").await;
    let receiver = Receiver::start().await;
    let port = receiver.port;
    for url in [
        receiver.url(),
        format!("http://localhost:{port}/hooks"),
        format!("http://[::1]:{port}/hooks"),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://10.0.0.8/hooks".into(),
        "http://172.20.1.1/hooks".into(),
        "http://192.168.1.20/hooks".into(),
        "http://100.64.1.1/hooks".into(),
        "http://0.0.0.0/hooks".into(),
        "http://[::ffff:127.0.0.1]/hooks".into(),
        "http://[fd00::1]/hooks".into(),
        "http://[fe80::1]/hooks".into(),
    ] {
        let reply = app
            .post(
                WEBHOOKS,
                &dealer("abc-motors"),
                json!({"url": url, "events": ["customer.created"]}),
            )
            .await;
        reply.assert_field_refused("url");
    }
    // A public address is taken (an IP literal: no DNS needed here)...
    let webhook = register(&app, "http://93.184.216.34/hooks", &["customer.created"]).await;
    // ...and later its name comes to point at loopback.
    let moved = |url: String| {
        let pool = app.pool();
        let mut conn = pool.get().unwrap();
        diesel::update(webhooks::table)
            .set(webhooks::url.eq(url))
            .execute(&mut *conn)
            .unwrap();
    };
    moved(format!("http://localhost:{port}/hooks"));
    app.create_customer("abc-motors", fred()).await;
    assert_eq!(app.deliver_pending().await, 1);
    let log = deliveries(&app, &webhook).await;
    println!("a delivery to a name now private: {}", log[0]["last_error"]);
    assert_eq!(log[0]["status"], "pending");
    assert!(
        log[0]["last_error"].as_str().unwrap().contains("private"),
        "{}",
        log[0]
    );
    // The same for a literal address.
    moved(receiver.url());
    make_due(&app);
    assert_eq!(app.deliver_pending().await, 1);
    let log = deliveries(&app, &webhook).await;
    println!("a delivery to a private literal: {}", log[0]["last_error"]);
    assert!(log[0]["last_error"].as_str().unwrap().contains("private"));
    assert!(receiver.received().is_empty(), "nothing was sent");
}

/// (6) After a rotation, deliveries carry two signatures, one per secret, until the overlap
/// ends; then only the new secret signs.
#[tokio::test]
async fn during_a_rotation_deliveries_carry_both_signatures() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let receiver = Receiver::start().await;
    let webhook = register(&app, &receiver.url(), &["customer.created"]).await;
    let old = secret_of(&webhook);
    let rotated = app
        .post(
            &format!("{WEBHOOKS}/{}/rotate-secret", webhook["id"]),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new = secret_of(&rotated.body);
    assert_ne!(new, old);
    let until: chrono::DateTime<chrono::Utc> = rotated.body["previous_secret_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let overlap = until - chrono::Utc::now();
    assert!(overlap > chrono::Duration::hours(23) && overlap <= chrono::Duration::hours(24));
    let shown = app
        .get(
            &format!("{WEBHOOKS}/{}", webhook["id"]),
            &dealer("abc-motors"),
        )
        .await;
    assert!(shown.body.get("secret").is_none(), "{}", shown.body);
    assert_eq!(
        shown.body["previous_secret_expires_at"],
        rotated.body["previous_secret_expires_at"]
    );

    app.create_customer("abc-motors", fred()).await;
    assert_eq!(app.deliver_pending().await, 1);
    let during = &receiver.received()[0];
    assert_eq!(
        signatures(during),
        [
            expected_signature(&new, during),
            expected_signature(&old, during)
        ]
    );
    assert_signed(&new, during);
    assert_signed(&old, during);

    // The overlap over, the old secret no longer signs.
    {
        let pool = app.pool();
        let mut conn = pool.get().unwrap();
        diesel::update(webhooks::table)
            .set(
                webhooks::previous_secret_until
                    .eq(Some(popia_api::db::now() - chrono::Duration::seconds(1))),
            )
            .execute(&mut *conn)
            .unwrap();
    }
    let mut other = fred();
    other["email"] = json!("other@sea.com");
    other["mobile"] = json!("082 555 0123");
    app.create_customer("abc-motors", other).await;
    assert_eq!(app.deliver_pending().await, 1);
    let after = &receiver.received()[1];
    assert_eq!(signatures(after).len(), 1);
    assert_signed(&new, after);
    assert_eq!(
        verify(&old, &after.headers, &after.body, DEFAULT_TOLERANCE),
        Err(VerifyError::NoMatchingSignature)
    );
}

/// (7) No webhook body, and no outbox row or content of a webhook, holds the customer's name,
/// email or mobile, before or after they withdraw.
#[tokio::test]
async fn webhooks_carry_no_personal_information() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let receiver = Receiver::start().await;
    let all = [
        "customer.created",
        "customer.amended",
        "consent.withdrawn",
        "customer.deidentified",
        "lead.created",
        "lead.status_changed",
        "lead.reassigned",
        "lookup.not_found",
    ];
    register(&app, &receiver.url(), &all).await;
    let (customer, leads) = fred_with_leads(&app).await;
    let token = dealer("abc-motors");
    let customer_path = format!("/v1/dealers/abc-motors/customers/{customer}");
    let amended = app
        .patch(
            &customer_path,
            &token,
            json!({"last_name": "Bassett-Hound", "email": "fred.basset@sea.com", "mobile": "082 111 2233"}),
        )
        .await;
    assert_eq!(amended.status, StatusCode::OK, "{}", amended.body);
    let reassigned = app
        .patch(
            &format!("/v1/dealers/abc-motors/leads/{}", leads[0]),
            &token,
            json!({"recipient": {"name": "Lerato Dlamini", "email": "lerato@abc-motors.co.za"}}),
        )
        .await;
    assert_eq!(reassigned.status, StatusCode::OK, "{}", reassigned.body);
    app.deliver_pending().await;
    assert_eq!(receiver.received().len(), 5);
    let withdrawn = app
        .post(
            &format!("{customer_path}/withdraw-consent"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);
    app.deliver_pending().await;

    let needles = [
        "fred",
        "basset",
        "fred@sea.com",
        "fred.basset@sea.com",
        "836567788",
        "821112233",
        "call fred",
    ];
    let received = receiver.received();
    assert_eq!(received.len(), 9);
    for request in &received {
        let text = format!(
            "{:?} {}",
            request.headers,
            String::from_utf8_lossy(&request.body)
        )
        .to_lowercase();
        for needle in needles {
            assert!(
                !text.contains(needle),
                "a delivery holds `{needle}`: {text}"
            );
        }
    }
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let rows: Vec<popia_api::db::outbox::Message> = outbox::table
        .left_join(popia_api::db::schema::outbox_contents::table)
        .filter(outbox::channel.eq("webhook"))
        .select((
            popia_api::db::outbox::MessageRow::as_select(),
            Option::<popia_api::db::outbox::ContentRow>::as_select(),
        ))
        .load(&mut *conn)
        .unwrap();
    assert_eq!(rows.len(), 9);
    let sides: Vec<popia_api::db::webhooks::DeliveryRow> =
        popia_api::db::schema::webhook_deliveries::table
            .select(popia_api::db::webhooks::DeliveryRow::as_select())
            .load(&mut *conn)
            .unwrap();
    let text = format!("{rows:?} {sides:?}").to_lowercase();
    for needle in needles {
        assert!(
            !text.contains(needle),
            "the outbox holds `{needle}`: {text}"
        );
    }
    assert!(rows
        .iter()
        .all(|(row, _)| row.customer_id.is_none() && row.kind == "webhook"));
}

/// (8) Dealer staff and admins manage endpoints; operators and data subjects may not; another
/// dealer's endpoints do not exist for a token; bad URLs and event lists are named.
#[tokio::test]
async fn roles_and_validation() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    let body = json!({"url": "https://dms.abcmotors.co.za/hooks", "events": ["customer.created"]});
    for token in [operator(), subject("abc-motors", "fred@sea.com")] {
        app.post(WEBHOOKS, &token, body.clone())
            .await
            .assert_problem(StatusCode::FORBIDDEN);
        app.get(WEBHOOKS, &token)
            .await
            .assert_problem(StatusCode::FORBIDDEN);
    }
    app.post(WEBHOOKS, &dealer("xyz-motors"), body.clone())
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    let theirs = app
        .post(
            "/v1/dealers/xyz-motors/webhooks",
            &dealer("xyz-motors"),
            body.clone(),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
    for path in ["", "/deliveries"] {
        app.get(
            &format!("{WEBHOOKS}/{}{path}", theirs.body["id"]),
            &dealer("abc-motors"),
        )
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    }

    let created = app.post(WEBHOOKS, &admin(), body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    assert_eq!(
        created.headers["location"],
        format!("/v1/dealers/abc-motors/webhooks/{id}").as_str()
    );
    let secret = created.body["secret"].as_str().unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert!(key.len() >= 24);
    assert_eq!(created.body["events"], json!(["customer.created"]));
    assert!(created.body["disabled_at"].is_null());
    let listed = app.get(WEBHOOKS, &dealer("abc-motors")).await;
    assert_eq!(listed.status, StatusCode::OK);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0].get("secret").is_none());

    let token = dealer("abc-motors");
    for url in [
        "ftp://dms.abcmotors.co.za/hooks",
        "not a url",
        "https://user:pass@dms.abcmotors.co.za/hooks",
    ] {
        app.post(
            WEBHOOKS,
            &token,
            json!({"url": url, "events": ["customer.created"]}),
        )
        .await
        .assert_field_refused("url");
    }
    for events in [
        json!([]),
        json!(["customer.exploded"]),
        json!("customer.created"),
    ] {
        app.post(
            WEBHOOKS,
            &token,
            json!({"url": "https://dms.abcmotors.co.za/hooks", "events": events}),
        )
        .await
        .assert_field_refused("events");
    }
    app.post(
        WEBHOOKS,
        &token,
        json!({"url": "https://dms.abcmotors.co.za/hooks"}),
    )
    .await
    .assert_field_refused("events");

    let path = format!("{WEBHOOKS}/{id}");
    let deleted = app
        .call(reqwest::Method::DELETE, &path, Some(&token), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.get(&path, &token)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    app.call(reqwest::Method::DELETE, &path, Some(&token), None)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    app.call(reqwest::Method::DELETE, &path, Some(&operator()), None)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
}
