//! Hardening, read as an attacker would: idempotency only after authentication and only for
//! the caller who stored a response, client addresses behind a proxy, slow guessing, SMS
//! pumping, anonymous writes without the dealer's lock, metrics labels and token, and a record
//! of who read a customer record.

use std::time::Duration;

use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// A dealer token whose `sub` is the CLI's default, the same for every dealer.
fn cli_dealer(id: &str) -> String {
    let mut claims = claims("dealer", &[id]);
    claims["sub"] = json!("cli");
    sign(&claims)
}

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = app
        .client
        .post(format!("{}{path}", app.address))
        .header("idempotency-key", key)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(app: &TestApp, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .load::<Count>(&mut app.pool().get().unwrap())
        .unwrap()[0]
        .n
}

/// Another dealers caller cannot replay or probe a key.
#[tokio::test]
async fn another_dealers_caller_cannot_replay_or_probe_a_key() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    let path = "/v1/dealers/abc-motors/customers";
    let (status, _, created) = post_with_key(
        &app,
        path,
        Some(&cli_dealer("abc-motors")),
        "order-1",
        fred(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Dealer B's system, with the same `sub`, sends A's key and body to A's path: 404 as for
    // any of A's data, not A's stored customer.
    let (status, headers, body) = post_with_key(
        &app,
        path,
        Some(&cli_dealer("xyz-motors")),
        "order-1",
        fred(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!headers.contains_key("idempotent-replayed"));
    assert_ne!(body["id"], created["id"]);
    // Another body is no oracle either: still 404, never "this key was used" (422).
    let mut other = fred();
    other["email"] = json!("other@sea.com");
    let (status, _, _) = post_with_key(
        &app,
        path,
        Some(&cli_dealer("xyz-motors")),
        "order-1",
        other,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A's own retry replays.
    let (status, headers, body) = post_with_key(
        &app,
        path,
        Some(&cli_dealer("abc-motors")),
        "order-1",
        fred(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(body["id"], created["id"]);
}

/// Anonymous keyed posts store nothing but code requests.
#[tokio::test]
async fn anonymous_keyed_posts_store_nothing_but_code_requests() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    for n in 0..5 {
        let (status, _, _) = post_with_key(
            &app,
            "/v1/dealers/abc-motors/customers",
            None,
            &format!("anon-{n}"),
            fred(),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM idempotency_keys"), 0);
    // The public "send me a code" call keeps its keys, per client address.
    let path = "/v1/dealers/abc-motors/pi/verifications";
    let body = json!({"email": "fred@sea.com"});
    let (status, _, first) = post_with_key(&app, path, None, "code-1", body.clone(), &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, headers, again) = post_with_key(&app, path, None, "code-1", body, &[]).await;
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(again["verification_id"], first["verification_id"]);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM idempotency_keys"), 1);
}

/// An address holds a bounded number of keys.
#[tokio::test]
async fn an_address_holds_a_bounded_number_of_keys() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let cap = popia_api::http::idempotency::KEYS_PER_ADDRESS;
    let path = "/v1/dealers/abc-motors/pi/verifications";
    // Refused bodies (422) are stored like any answer, and cost no code.
    for n in 0..cap {
        let (status, _, _) =
            post_with_key(&app, path, None, &format!("k{n}"), json!({}), &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, headers, _) = post_with_key(&app, path, None, "one-more", json!({}), &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    // A retry of a key it already holds still replays.
    let (status, headers, _) = post_with_key(&app, path, None, "k0", json!({}), &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(headers["idempotent-replayed"], "true");
}

/// Sends a code to a fresh email from `forwarded_for` (when given).
async fn send_code(app: &TestApp, n: usize, forwarded_for: Option<&str>) -> StatusCode {
    let mut request = app
        .client
        .post(format!(
            "{}/v1/dealers/abc-motors/pi/verifications",
            app.address
        ))
        .json(&json!({"email": format!("visitor{n}@sea.com")}));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().status()
}

/// Behind a trusted proxy each visitor has their own budget.
#[tokio::test]
async fn behind_a_trusted_proxy_each_visitor_has_their_own_budget() {
    let app = spawn_app_with(|c| {
        c.guards.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    app.create_dealer("abc-motors").await;
    for n in 0..20 {
        assert_eq!(
            send_code(&app, n, Some("203.0.113.1")).await,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(
        send_code(&app, 20, Some("203.0.113.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another visitor behind the same proxy is not locked out by the first.
    assert_eq!(
        send_code(&app, 21, Some("203.0.113.2")).await,
        StatusCode::ACCEPTED
    );
    // A visitor cannot pose as another by prepending: the proxy's entry is the right-most.
    assert_eq!(
        send_code(&app, 22, Some("203.0.113.9, 203.0.113.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// From an untrusted peer forwarding headers are ignored.
#[tokio::test]
async fn from_an_untrusted_peer_forwarding_headers_are_ignored() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    for n in 0..20 {
        let spoofed = format!("198.51.100.{n}");
        assert_eq!(
            send_code(&app, n, Some(&spoofed)).await,
            StatusCode::ACCEPTED
        );
    }
    // A new spoofed address each time changes nothing: the budget is the peer's.
    assert_eq!(
        send_code(&app, 20, Some("198.51.100.250")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Enters `wrong` wrong codes on a fresh verification of fred@sea.com.
async fn guess_wrong(app: &TestApp, wrong: usize) {
    let seen = codes_received(app, "fred@sea.com");
    let started = start_verification(app, json!({"email": "fred@sea.com"})).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let id = started.body["verification_id"].as_str().unwrap().to_owned();
    let code = code_after(app, "fred@sea.com", seen).await;
    let guess = if code == "000000" { "999999" } else { "000000" };
    for _ in 0..wrong {
        let reply = app
            .call(
                Method::POST,
                &format!("/v1/dealers/abc-motors/pi/verifications/{id}/confirm"),
                None,
                Some(json!({ "code": guess })),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
    }
}

/// Ten wrong codes in a day lock the identifier for a day.
#[tokio::test]
async fn ten_wrong_codes_in_a_day_lock_the_identifier_for_a_day() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    guess_wrong(&app, 5).await;
    guess_wrong(&app, 5).await;
    // Two sends of three allowed per 15 minutes, yet the identifier is locked: same 429 shape.
    let locked = start_verification(&app, json!({"email": "fred@sea.com"})).await;
    locked.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (86_000..=86_400).contains(&retry_after),
        "locked for {retry_after} s"
    );
    // Another identifier is not.
    let other = start_verification(&app, json!({"email": "naledi@mail.co.za"})).await;
    assert_eq!(other.status, StatusCode::ACCEPTED);
    // Ten wrong codes more than a day ago lock nothing: age them in the database.
    diesel::sql_query(if app.database_url.starts_with("sqlite") {
        "UPDATE failed_codes SET failed_at = datetime(failed_at, '-25 hours')"
    } else {
        "UPDATE failed_codes SET failed_at = failed_at - INTERVAL '25 hours'"
    })
    .execute(&mut app.pool().get().unwrap())
    .unwrap();
    let unlocked = start_verification(&app, json!({"email": "fred@sea.com"})).await;
    assert_eq!(unlocked.status, StatusCode::ACCEPTED, "{}", unlocked.body);
}

/// Sms go only to allowed countries and within the dealers budget.
#[tokio::test]
async fn sms_go_only_to_allowed_countries_and_within_the_dealers_budget() {
    let app = spawn_app_with(|c| c.guards.sms.per_dealer_per_hour = 3).await;
    app.create_dealer("abc-motors").await;
    let foreign = start_verification(&app, json!({"mobile": "+44 7911 123456"})).await;
    foreign.assert_field_refused("mobile");
    assert!(
        foreign.body.to_string().contains("only to numbers of ZA"),
        "{}",
        foreign.body
    );
    for mobile in ["082 555 0101", "082 555 0102", "082 555 0103"] {
        let sent = start_verification(&app, json!({ "mobile": mobile })).await;
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    }
    let spent = start_verification(&app, json!({"mobile": "082 555 0104"})).await;
    spent.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    // Email is not SMS: still sent.
    let email = start_verification(&app, json!({"email": "fred@sea.com"})).await;
    assert_eq!(email.status, StatusCode::ACCEPTED);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("sms_budget_exhausted_total{dealer=\"abc-motors\"} 1"),
        "{metrics}"
    );
    assert!(captured_logs().contains("hourly SMS budget is spent"));
}

/// Anonymous code requests do not wait on the dealers lock.
#[tokio::test]
async fn anonymous_code_requests_do_not_wait_on_the_dealers_lock() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    if !app.database_url.starts_with("postgres") {
        // SQLite has one writer for everything; the dealer's lock is PostgreSQL's.
        return;
    }
    use diesel::Connection;
    let mut holder = diesel::PgConnection::establish(&app.database_url).unwrap();
    diesel::sql_query("BEGIN").execute(&mut holder).unwrap();
    // What every staff write of the dealer takes first (db::backend::lock_dealer), held alone.
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('dealer:' || 'abc-motors', 0))",
    )
    .execute(&mut holder)
    .unwrap();
    let started = tokio::time::timeout(
        Duration::from_secs(5),
        start_verification(&app, json!({"email": "fred@sea.com"})),
    )
    .await
    .expect("a code request waited on the dealer's lock");
    assert_eq!(started.status, StatusCode::ACCEPTED);
    let id = started.body["verification_id"].as_str().unwrap().to_owned();
    let confirm = tokio::time::timeout(
        Duration::from_secs(5),
        app.call(
            Method::POST,
            &format!("/v1/dealers/abc-motors/pi/verifications/{id}/confirm"),
            None,
            Some(json!({"code": "000000"})),
        ),
    )
    .await
    .expect("a confirmation waited on the dealer's lock");
    assert!(confirm.status.is_client_error());
    diesel::sql_query("ROLLBACK").execute(&mut holder).unwrap();
}

/// Metrics labels are a fixed set and a token can guard them.
#[tokio::test]
async fn metrics_labels_are_a_fixed_set_and_a_token_can_guard_them() {
    let app = spawn_app_with(|c| c.guards.metrics_token = Some("metrics-secret".into())).await;
    for method in ["FOO", "BAR"] {
        app.client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/healthz", app.address),
            )
            .send()
            .await
            .unwrap();
    }
    let open = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), StatusCode::UNAUTHORIZED);
    let wrong = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth("metrics-secreT")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth("metrics-secret")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("method=\"FOO\"") && !text.contains("method=\"BAR\""));
    assert!(text.contains("method=\"OTHER\""), "{text}");
}

/// Every staff read of a record is recorded and a withdrawal keeps only the count.
#[tokio::test]
async fn every_staff_read_of_a_record_is_recorded_and_a_withdrawal_keeps_only_the_count() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    let id = app.create_customer("abc-motors", fred()).await["id"]
        .as_i64()
        .unwrap();
    let staff = dealer("abc-motors");
    let record = format!("/v1/dealers/abc-motors/customers/{id}");
    app.get(&record, &staff).await;
    app.get(&record, &admin()).await;
    app.get(
        "/v1/dealers/abc-motors/customers?email=fred@sea.com",
        &staff,
    )
    .await;
    let reads = app.get(&format!("{record}/reads"), &staff).await;
    assert_eq!(reads.status, StatusCode::OK, "{}", reads.body);
    let items = reads.body["items"].as_array().unwrap();
    let who: Vec<(&str, &str)> = items
        .iter()
        .map(|r| (r["role"].as_str().unwrap(), r["sub"].as_str().unwrap()))
        .collect();
    assert_eq!(
        who,
        [
            ("dealer", "dealer-user"),
            ("admin", "admin-user"),
            ("dealer", "dealer-user")
        ]
    );
    assert!(items.iter().all(|r| r.as_object().unwrap().len() == 3));
    // Not the operator's, not another dealer's.
    app.get(&format!("{record}/reads"), &operator())
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    app.get(&format!("{record}/reads"), &dealer("xyz-motors"))
        .await
        .assert_problem(StatusCode::NOT_FOUND);

    app.post(&format!("{record}/withdraw-consent"), &staff, json!({}))
        .await;
    let after = app.get(&format!("{record}/reads"), &staff).await.body;
    assert_eq!(after["items"], json!([]));
    assert_eq!(after["reads_before_withdrawal"], 3);

    // Reads go after the retention period.
    let other = app
        .create_customer(
            "abc-motors",
            json!({"first_name": "Naledi", "last_name": "Dlamini", "email": "naledi@mail.co.za",
                   "consent_process": true, "consent_market": false}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.get(&format!("/v1/dealers/abc-motors/customers/{other}"), &staff)
        .await;
    let later = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(1);
    let purged =
        popia_api::db::customer_reads::purge_before(&mut app.pool().get().unwrap(), later).unwrap();
    assert_eq!(purged, 1);
}
