use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// The feed records each change with its actor and channel.
#[tokio::test]
async fn the_feed_records_each_change_with_its_actor_and_channel() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let customer = app.create_customer("abc-motors", fred()).await;
    let id = customer["id"].as_i64().unwrap();
    let lead = app
        .post(
            "/v1/dealers/abc-motors/leads",
            &token,
            json!({"customer_id": id, "recipient": {"name": "Ashveer", "email": "ashveer@abc.co.za"}}),
        )
        .await
        .body;
    let path = format!("/v1/dealers/abc-motors/leads/{}", lead["id"]);
    app.patch(&path, &token, json!({"status": "lost"})).await;
    // A change to nothing records nothing.
    app.patch(&path, &token, json!({"status": "lost"})).await;

    let feed = app.get("/v1/dealers/abc-motors/history", &token).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    let events = feed.body["items"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["customer.created", "lead.created", "lead.status_changed"]
    );

    let created = &events[0];
    assert_eq!(created["customer_id"], id);
    assert_eq!(
        created["actor"],
        json!({"role": "dealer", "sub": "dealer-user"})
    );
    assert_eq!(created["channel"], "api");
    assert!(
        change(created, "mobile") == json!({"field": "mobile", "was": null, "now": "+27836567788"})
    );
    assert_eq!(change(created, "consent_process")["now"], "true");

    assert_eq!(events[1]["lead_ids"], json!([lead["id"]]));
    assert_eq!(
        change(&events[2], "status"),
        json!({"field": "status", "was": "active", "now": "lost"})
    );

    let own = app
        .get(
            &format!("/v1/dealers/abc-motors/customers/{id}/history"),
            &token,
        )
        .await;
    assert_eq!(own.body["items"].as_array().unwrap().len(), 3);
    app.get("/v1/dealers/abc-motors/customers/424242/history", &token)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
}

fn change(event: &Value, field: &str) -> Value {
    event["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == field)
        .cloned()
        .unwrap_or(Value::Null)
}
