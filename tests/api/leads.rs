use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Leads are created read and moved through their statuses.
#[tokio::test]
async fn leads_are_created_read_and_moved_through_their_statuses() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let customer = app.create_customer("abc-motors", fred()).await;
    let created = app
        .post(
            "/v1/dealers/abc-motors/leads",
            &token,
            json!({"customer_id": customer["id"], "recipient": {"name": "Ashveer", "email": "Ashveer@abc.co.za"},
                   "source": "website", "vehicle": "VW Polo", "message": "Call me\nafter 5"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["recipient"]["email"], "ashveer@abc.co.za");
    assert_eq!(created.body["message"], "Call me\nafter 5");
    let path = format!("/v1/dealers/abc-motors/leads/{}", created.body["id"]);
    assert!(created.headers["location"]
        .to_str()
        .unwrap()
        .ends_with(&path));

    let won = app.patch(&path, &token, json!({"status": "won"})).await;
    assert_eq!(won.status, StatusCode::OK, "{}", won.body);
    assert_eq!(won.body["status"], "won");
    let moved = app
        .patch(
            &path,
            &token,
            json!({"recipient": {"name": "Lerato", "email": "lerato@abc.co.za"}}),
        )
        .await;
    assert_eq!(moved.body["recipient"]["name"], "Lerato");
    assert_eq!(moved.body["status"], "won");
    let read = app.get(&path, &token).await;
    assert_eq!(read.body["recipient"]["email"], "lerato@abc.co.za");

    app.patch(&path, &token, json!({"status": "sold"}))
        .await
        .assert_field_refused("status");
    app.patch(
        &path,
        &token,
        json!({"recipient": {"name": "X", "email": "nope"}}),
    )
    .await
    .assert_field_refused("recipient.email");
}

/// A lead needs a customer of the same dealer.
#[tokio::test]
async fn a_lead_needs_a_customer_of_the_same_dealer() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    let theirs = app.create_customer("xyz-motors", fred()).await;
    let reply = app
        .post(
            "/v1/dealers/abc-motors/leads",
            &dealer("abc-motors"),
            json!({"customer_id": theirs["id"], "recipient": {"name": "A", "email": "a@abc.co.za"}}),
        )
        .await;
    reply.assert_field_refused("customer_id");
    app.post(
        "/v1/dealers/abc-motors/leads",
        &dealer("abc-motors"),
        json!({"customer_id": 0, "recipient": {"name": "A", "email": "a@abc.co.za"}}),
    )
    .await
    .assert_field_refused("customer_id");

    let lead = app
        .post(
            "/v1/dealers/xyz-motors/leads",
            &dealer("xyz-motors"),
            json!({"customer_id": theirs["id"], "recipient": {"name": "A", "email": "a@xyz.co.za"}}),
        )
        .await;
    app.get(
        &format!("/v1/dealers/abc-motors/leads/{}", lead.body["id"]),
        &dealer("abc-motors"),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
}
