use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

/// Unknown routes and wrong methods are problems.
#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = spawn_app().await;
    let missing = app.call(Method::GET, "/no/such/route", None, None).await;
    missing.assert_problem(StatusCode::NOT_FOUND);

    let wrong = app
        .call(
            Method::DELETE,
            "/v1/dealers/abc-motors/customers",
            None,
            None,
        )
        .await;
    wrong.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers["allow"], "GET, POST");
}

/// Malformed json is 400 and wrong shapes are 422.
#[tokio::test]
async fn malformed_json_is_400_and_wrong_shapes_are_422() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let path = "/v1/dealers/abc-motors/customers";

    let malformed = app
        .post_raw(
            path,
            &token,
            "application/json",
            b"{\"first_name\":".to_vec(),
        )
        .await;
    malformed.assert_problem(StatusCode::BAD_REQUEST);

    let trailing = app
        .post_raw(path, &token, "application/json", b"{} {}".to_vec())
        .await;
    assert!(trailing.status.is_client_error());

    let mut body = fred();
    body["dealer_id"] = json!("other-dealer");
    let unknown = app.post(path, &token, body).await;
    unknown.assert_field_refused("dealer_id");

    let mut body = fred();
    body["deidentified_at"] = json!("2026-01-01T00:00:00Z");
    app.post(path, &token, body)
        .await
        .assert_field_refused("deidentified_at");

    let mut body = fred();
    body["consent_process"] = json!("yes");
    app.post(path, &token, body)
        .await
        .assert_field_refused("consent_process");

    let mut body = fred();
    body.as_object_mut().unwrap().remove("first_name");
    app.post(path, &token, body)
        .await
        .assert_field_refused("first_name");
}

/// Bodies must be json and within the limit.
#[tokio::test]
async fn bodies_must_be_json_and_within_the_limit() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let path = "/v1/dealers/abc-motors/customers";

    let text = app
        .post_raw(path, &token, "text/plain", b"hello".to_vec())
        .await;
    text.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let mut body = fred();
    body["consent_source"] = json!("x".repeat(200 * 1024));
    let huge = app.post(path, &token, body).await;
    huge.assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
}

/// Bad path and query values are problems.
#[tokio::test]
async fn bad_path_and_query_values_are_problems() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    app.get("/v1/dealers/abc-motors/customers/not-a-number", &token)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    app.get("/v1/dealers/abc-motors/customers?limit=abc", &token)
        .await
        .assert_field_refused("limit");
    app.get("/v1/dealers/abc-motors/customers?limit=1001", &token)
        .await
        .assert_field_refused("limit");
    app.get("/v1/dealers/abc-motors/customers?limit=0", &token)
        .await
        .assert_field_refused("limit");
    app.get("/v1/dealers/abc-motors/customers?after=forged", &token)
        .await
        .assert_field_refused("after");
    app.get("/v1/dealers/abc-motors/customers?colour=red", &token)
        .await
        .assert_field_refused("colour");
}
