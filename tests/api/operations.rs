use reqwest::{Method, StatusCode};

use crate::helpers::*;

/// Health and readiness answer.
#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, serde_json::json!({"status": "ok"}));
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert!(ready.headers.contains_key("x-request-id"));
}

/// Metrics count requests per route.
#[tokio::test]
async fn metrics_count_requests_per_route() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.get("/v1/dealers/abc-motors/customers", &dealer("abc-motors"))
        .await;
    let text = app.metrics().await;
    assert!(
        text.contains(r#"http_requests_total{method="POST",route="/v1/dealers",status="201"} 1"#),
        "{text}"
    );
    assert!(text.contains(
        r#"http_request_duration_seconds_count{method="GET",route="/v1/dealers/{dealer}/customers"} 1"#
    ));
}

/// Swagger ui is served from the binary.
#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let redirect = app
        .client
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = app
        .client
        .get(format!("{}/docs/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let config = app
        .client
        .get(format!("{}/docs/swagger-initializer.js", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(config.contains("/openapi.json"), "{config}");
    assert!(config.contains(r#""validatorUrl": "none""#), "{config}");
}

/// The committed openapi yaml is what the server serves.
#[tokio::test]
async fn the_committed_openapi_yaml_is_what_the_server_serves() {
    let app = spawn_app().await;
    let served = app
        .client
        .get(format!("{}/openapi.yaml", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml at the repository root");
    assert!(
        served == committed,
        "openapi.yaml is stale: run `cargo run -p popia-api -- openapi > openapi.yaml`"
    );
    let json = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.body["info"]["title"], "POPIA Gateway API");
}

/// Every operation has an id a tag and problem errors.
#[tokio::test]
async fn every_operation_has_an_id_a_tag_and_problem_errors() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let at = format!("{method} {path}");
            assert!(operation["operationId"].is_string(), "{at}: no operationId");
            assert!(operation["tags"][0].is_string(), "{at}: no tag");
            for (code, response) in operation["responses"].as_object().unwrap() {
                if code.starts_with('4') || code.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{at} {code}"
                    );
                }
            }
            // Starting and confirming a verification is how a subject gets a token.
            if path.starts_with("/v1/") && !path.contains("/pi/verifications") {
                assert_eq!(
                    operation["security"][0]["bearer"],
                    serde_json::json!([]),
                    "{at}"
                );
                assert!(operation["responses"]["401"].is_object(), "{at}");
            }
        }
    }
    assert!(operations >= 14, "only {operations} operations");
}
