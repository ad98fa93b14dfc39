//! Guessing codes and spraying sends, across two server instances on one database: the limits
//! live in the database, so a second replica is no way around them.

use std::sync::Arc;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

async fn two_replicas() -> (Arc<TestApp>, Arc<TestApp>) {
    let first = spawn_app().await;
    first.create_dealer("abc-motors").await;
    let (database_url, mailbox) = (first.database_url.clone(), first.mailbox.clone());
    // One database and one mailbox folder: either replica may deliver the code.
    let second = spawn_app_with(move |c| {
        c.database_url = database_url;
        c.notify.mailbox_dir = mailbox;
    })
    .await;
    (Arc::new(first), Arc::new(second))
}

/// Ten thousand guesses find nothing and lock after five.
#[tokio::test]
async fn ten_thousand_guesses_find_nothing_and_lock_after_five() {
    let (first, second) = two_replicas().await;
    let started = start_verification(&first, json!({"email": "fred@sea.com"})).await;
    let id = started.body["verification_id"].as_str().unwrap().to_owned();
    let real = latest_code(&first, "fred@sea.com").await;
    const GUESSES: u32 = 10_000;
    let confirm = format!("/v1/dealers/abc-motors/pi/verifications/{id}/confirm");
    // Every six-digit code but the real one first, then the real one; 16 in flight, half of
    // them through each replica.
    let guesses = (0..GUESSES).map(|n| {
        let code = if n + 1 == GUESSES {
            real.clone()
        } else {
            format!("{:06}", (real.parse::<u32>().unwrap() + 1 + n) % 1_000_000)
        };
        let app = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let confirm = confirm.clone();
        async move {
            app.call(Method::POST, &confirm, None, Some(json!({ "code": code })))
                .await
                .status
        }
    });
    let statuses: Vec<StatusCode> = futures_util::stream::iter(guesses)
        .buffer_unordered(16)
        .collect()
        .await;
    let count = |status: StatusCode| statuses.iter().filter(|s| **s == status).count();
    println!(
        "brute force: {GUESSES} guesses over two replicas: {} accepted, {} wrong (422), {} refused as locked (410)",
        count(StatusCode::OK),
        count(StatusCode::UNPROCESSABLE_ENTITY),
        count(StatusCode::GONE)
    );
    assert_eq!(count(StatusCode::OK), 0, "a guess got in");
    assert_eq!(
        count(StatusCode::UNPROCESSABLE_ENTITY),
        5,
        "the lock came after five wrong codes"
    );
    assert_eq!(count(StatusCode::GONE), GUESSES as usize - 5);
}

/// Send limits hold across replicas.
#[tokio::test]
async fn send_limits_hold_across_replicas() {
    let (first, second) = two_replicas().await;
    let path = "/v1/dealers/abc-motors/pi/verifications";
    for app in [&first, &second, &first] {
        let reply = app
            .call(
                Method::POST,
                path,
                None,
                Some(json!({"email": "fred@sea.com"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
    }
    second
        .call(
            Method::POST,
            path,
            None,
            Some(json!({"email": "fred@sea.com"})),
        )
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS);
    first
        .call(
            Method::POST,
            path,
            None,
            Some(json!({"email": "fred@sea.com"})),
        )
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS);
}
