use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Writers at once: none may fail with "database is locked" (SQLite) and the feed must list
/// every event once, in id order, with nothing lost.
#[tokio::test]
async fn concurrent_writes_all_succeed_and_the_feed_keeps_them_in_order() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.create_dealer("abc-motors").await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"first_name": format!("C{n}"), "last_name": "Load", "mobile": format!("082 555 {:04}", n),
                              "consent_process": true, "consent_market": false});
            app.post("/v1/dealers/abc-motors/customers", &dealer("abc-motors"), body).await
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        created.push(reply.body["id"].as_i64().unwrap());
    }
    created.sort();
    let feed = app
        .get(
            "/v1/dealers/abc-motors/history?limit=1000",
            &dealer("abc-motors"),
        )
        .await;
    let events = feed.body["items"].as_array().unwrap();
    let mut customers: Vec<i64> = events
        .iter()
        .map(|e| e["customer_id"].as_i64().unwrap())
        .collect();
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    customers.sort();
    assert_eq!(customers, created);
}
