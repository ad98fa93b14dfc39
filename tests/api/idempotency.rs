//! `Idempotency-Key` on POST: replay, mismatch, a request still running, expiry, and a retried
//! withdrawal that de-identifies once and mails once.

use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn post_with_key(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Reply {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

const CUSTOMERS: &str = "/v1/dealers/abc-motors/customers";

/// A retry replays the first response.
#[tokio::test]
async fn a_retry_replays_the_first_response() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let first = post_with_key(&app, CUSTOMERS, &token, "create-fred-1", fred()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    let again = post_with_key(&app, CUSTOMERS, &token, "create-fred-1", fred()).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["location"], first.headers["location"]);
    let listed = app.get(CUSTOMERS, &token).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "created once"
    );

    // The same key with another body is refused; another caller's key is their own.
    let mut other = fred();
    other["first_name"] = json!("Frederick");
    post_with_key(&app, CUSTOMERS, &token, "create-fred-1", other)
        .await
        .assert_field_refused("Idempotency-Key");
    let admin_call = post_with_key(&app, CUSTOMERS, &admin(), "create-fred-1", fred()).await;
    assert_eq!(admin_call.status, StatusCode::CREATED);
    assert!(!admin_call.headers.contains_key("idempotent-replayed"));

    // Errors are replayed too, except those worth retrying.
    let mut bad = fred();
    bad["mobile"] = json!("12");
    let refused = post_with_key(&app, CUSTOMERS, &token, "bad-1", bad.clone()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refused_again = post_with_key(&app, CUSTOMERS, &token, "bad-1", bad).await;
    assert_eq!(refused_again.headers["idempotent-replayed"], "true");
    assert_eq!(refused_again.body, refused.body);

    post_with_key(&app, CUSTOMERS, &token, &"k".repeat(256), fred())
        .await
        .assert_field_refused("Idempotency-Key");
}

/// A request still running is 409 until it is abandoned.
#[tokio::test]
async fn a_request_still_running_is_409_until_it_is_abandoned() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    // A replica has claimed the key and is still working (or died) on the same request.
    let first = post_with_key(&app, CUSTOMERS, &token, "running", fred()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    diesel::sql_query("UPDATE idempotency_keys SET status = 'in_progress', response_body = NULL")
        .execute(&mut *conn)
        .unwrap();
    post_with_key(&app, CUSTOMERS, &token, "running", fred())
        .await
        .assert_problem(StatusCode::CONFLICT);
    // After a minute without an answer the claim is abandoned and the request runs again.
    let long_ago = popia_api::db::now() - chrono::Duration::minutes(2);
    let sql = match &*conn {
        popia_api::db::DbConnection::Pg(_) => "UPDATE idempotency_keys SET created_at = $1",
        popia_api::db::DbConnection::Sqlite(_) => "UPDATE idempotency_keys SET created_at = ?",
    };
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Timestamp, _>(long_ago)
        .execute(&mut *conn)
        .unwrap();
    let retried = post_with_key(&app, CUSTOMERS, &token, "running", fred()).await;
    assert_eq!(retried.status, StatusCode::CREATED);
    assert!(!retried.headers.contains_key("idempotent-replayed"));
}

/// Keys are kept a day.
#[tokio::test]
async fn keys_are_kept_a_day() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let first = post_with_key(&app, CUSTOMERS, &token, "daily", fred()).await;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let now = popia_api::db::now();
    assert_eq!(
        popia_api::service::maintenance::purge(&mut conn, now + chrono::Duration::hours(23))
            .unwrap(),
        0
    );
    assert_eq!(
        popia_api::service::maintenance::purge(&mut conn, now + chrono::Duration::hours(25))
            .unwrap(),
        1
    );
    let again = post_with_key(&app, CUSTOMERS, &token, "daily", fred()).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_ne!(
        again.body["id"], first.body["id"],
        "after a day the key is new again"
    );
}

/// A retried withdrawal deidentifies once and mails once.
#[tokio::test]
async fn a_retried_withdrawal_deidentifies_once_and_mails_once() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let (id, _) = fred_with_leads(&app).await;
    let path = format!("/v1/dealers/abc-motors/customers/{id}/withdraw-consent");
    let first = post_with_key(&app, &path, &token, "withdraw-fred", json!({})).await;
    assert_eq!(first.status, StatusCode::OK);
    let (events, mails) = (
        events_of(&app).await.len(),
        notifications_of(&app).await.len(),
    );
    for _ in 0..3 {
        let retry = post_with_key(&app, &path, &token, "withdraw-fred", json!({})).await;
        assert_eq!(retry.status, StatusCode::OK);
        assert_eq!(retry.headers["idempotent-replayed"], "true");
        assert_eq!(retry.body, first.body);
    }
    assert_eq!(
        (
            events_of(&app).await.len(),
            notifications_of(&app).await.len()
        ),
        (events, mails)
    );
    let kinds: Vec<Value> = notifications_of(&app)
        .await
        .iter()
        .map(|n| n["kind"].clone())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "consent_withdrawn").count(),
        1
    );
}
