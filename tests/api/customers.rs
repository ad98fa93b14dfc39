use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A customer is created normalised and read with its leads.
#[tokio::test]
async fn a_customer_is_created_normalised_and_read_with_its_leads() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let created = app.create_customer("abc-motors", fred()).await;
    assert_eq!(created["email"], "fred@sea.com");
    assert_eq!(created["mobile"], "+27836567788");
    assert_eq!(created["dealer_id"], "abc-motors");
    assert!(created["deidentified_at"].is_null());

    let id = created["id"].as_i64().unwrap();
    let path = format!("/v1/dealers/abc-motors/customers/{id}");
    let lead = app
        .post(
            "/v1/dealers/abc-motors/leads",
            &dealer("abc-motors"),
            json!({"customer_id": id, "recipient": {"name": "Ashveer", "email": "ashveer@abc.co.za"}, "vehicle": "VW Polo"}),
        )
        .await;
    assert_eq!(lead.status, StatusCode::CREATED, "{}", lead.body);
    let read = app.get(&path, &dealer("abc-motors")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["first_name"], "Fred");
    assert_eq!(read.body["leads"][0]["id"], lead.body["id"]);
    assert_eq!(read.body["leads"][0]["status"], "active");

    app.get(
        "/v1/dealers/abc-motors/customers/999999",
        &dealer("abc-motors"),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
}

/// Every mobile format finds the same customer.
#[tokio::test]
async fn every_mobile_format_finds_the_same_customer() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let created = app.create_customer("abc-motors", fred()).await;
    // Another customer that must not match.
    let mut other = fred();
    other["mobile"] = json!("082 555 0123");
    other["email"] = json!("other@sea.com");
    app.create_customer("abc-motors", other).await;

    for format in [
        "083 656 7788",
        "0836567788",
        "+27 83 656 7788",
        "27836567788",
        "+27 (0)83 656 7788",
        "+27836567788",
    ] {
        let query: String = url_encode(format);
        let found = app
            .get(
                &format!("/v1/dealers/abc-motors/customers?mobile={query}"),
                &dealer("abc-motors"),
            )
            .await;
        assert_eq!(found.status, StatusCode::OK, "{format}: {}", found.body);
        let items = found.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{format}: {}", found.body);
        assert_eq!(items[0]["id"], created["id"], "{format}");
    }
    let by_email = app
        .get(
            "/v1/dealers/abc-motors/customers?email=%20FRED%40sea.COM",
            &dealer("abc-motors"),
        )
        .await;
    assert_eq!(by_email.body["items"][0]["id"], created["id"]);
    let both_must_match = app
        .get(
            "/v1/dealers/abc-motors/customers?email=fred%40sea.com&mobile=0825550123",
            &dealer("abc-motors"),
        )
        .await;
    assert_eq!(both_must_match.body["items"], json!([]));
    app.get(
        "/v1/dealers/abc-motors/customers?mobile=12",
        &dealer("abc-motors"),
    )
    .await
    .assert_field_refused("mobile");
    // The identifiers are parsed once, in the handler: both refusals still come in one answer,
    // and before the dealer check, as when a rule checked them while reading the query.
    let both_refused = app
        .get(
            "/v1/dealers/abc-motors/customers?email=nope&mobile=12",
            &dealer("abc-motors"),
        )
        .await;
    both_refused.assert_field_refused("email");
    both_refused.assert_field_refused("mobile");
    app.get(
        "/v1/dealers/other-motors/customers?mobile=12",
        &dealer("abc-motors"),
    )
    .await
    .assert_field_refused("mobile");
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Invalid values for every field are named.
#[tokio::test]
async fn invalid_values_for_every_field_are_named() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let cases = [
        ("first_name", json!("")),
        ("first_name", json!("x".repeat(101))),
        ("first_name", json!("Fred\u{7}")),
        ("last_name", json!("   ")),
        ("email", json!("fred@")),
        ("email", json!("not an email")),
        ("mobile", json!("083 656")),
        ("mobile", json!("011 555 1234")),
        ("mobile", json!("phone me")),
        ("consent_process", json!(null)),
        ("consent_market", json!(1)),
        ("consent_source", json!("")),
    ];
    for (field, value) in cases {
        let mut body = fred();
        body[field] = value.clone();
        let reply = app
            .post("/v1/dealers/abc-motors/customers", &token, body)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}: {}",
            reply.body
        );
        reply.assert_field_refused(field);
    }
    let mut neither = fred();
    neither.as_object_mut().unwrap().remove("email");
    neither.as_object_mut().unwrap().remove("mobile");
    app.post("/v1/dealers/abc-motors/customers", &token, neither)
        .await
        .assert_field_refused("email");
    // Several bad fields are reported together.
    let mut many = fred();
    many["first_name"] = json!("");
    many["email"] = json!("bad");
    let reply = app
        .post("/v1/dealers/abc-motors/customers", &token, many)
        .await;
    reply.assert_field_refused("first_name");
    reply.assert_field_refused("email");
    // Nothing was stored.
    let list = app.get("/v1/dealers/abc-motors/customers", &token).await;
    assert_eq!(list.body["items"], json!([]));
}

/// A customer of an unknown dealer is not created.
#[tokio::test]
async fn a_customer_of_an_unknown_dealer_is_not_created() {
    let app = spawn_app().await;
    app.post("/v1/dealers/ghost-motors/customers", &admin(), fred())
        .await
        .assert_problem(StatusCode::NOT_FOUND);
}

/// A search logs a read for each record it shows and for no other: the extra record read to
/// tell whether a next page exists was not shown to anyone.
#[tokio::test]
async fn a_search_logs_a_read_only_for_the_records_on_its_page() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let staff = dealer("abc-motors");
    let mut ids = Vec::new();
    for first_name in ["Fred", "Freda"] {
        let mut body = fred();
        body["first_name"] = json!(first_name);
        ids.push(
            app.create_customer("abc-motors", body).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let reads_of = |id: i64| {
        let app = &app;
        let staff = staff.clone();
        async move {
            let reads = app
                .get(
                    &format!("/v1/dealers/abc-motors/customers/{id}/reads"),
                    &staff,
                )
                .await;
            assert_eq!(reads.status, StatusCode::OK, "{}", reads.body);
            reads.body["items"].as_array().unwrap().len()
        }
    };
    let first = app
        .get(
            "/v1/dealers/abc-motors/customers?email=fred@sea.com&limit=1",
            &staff,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["items"][0]["id"], ids[0]);
    assert_eq!((reads_of(ids[0]).await, reads_of(ids[1]).await), (1, 0));
    let next = first.body["next"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/dealers/abc-motors/customers?email=fred@sea.com&limit=1&after={next}"),
            &staff,
        )
        .await;
    assert_eq!(second.body["items"][0]["id"], ids[1]);
    assert_eq!(second.body["next"], serde_json::Value::Null);
    assert_eq!((reads_of(ids[0]).await, reads_of(ids[1]).await), (1, 1));
}
