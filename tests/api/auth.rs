use base64::Engine as _;
use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

const CUSTOMERS: &str = "/v1/dealers/abc-motors/customers";

async fn app_with_dealer() -> TestApp {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    app
}

fn b64(value: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A missing or malformed token is 401.
#[tokio::test]
async fn a_missing_or_malformed_token_is_401() {
    let app = app_with_dealer().await;
    let none = app.call(Method::GET, CUSTOMERS, None, None).await;
    none.assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    app.get(CUSTOMERS, "not-a-jwt")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    let basic = app
        .client
        .get(format!("{}{CUSTOMERS}", app.address))
        .header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

/// Forged expired and misaddressed tokens are 401.
#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_401() {
    let app = app_with_dealer().await;
    let good = claims("dealer", &["abc-motors"]);
    assert_eq!(
        app.get(CUSTOMERS, &sign(&good)).await.status,
        StatusCode::OK
    );

    let mut cases = Vec::new();
    // Another secret.
    let other = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &good,
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret-0123456789")
            .unwrap(),
    )
    .unwrap();
    cases.push(("bad signature", other));
    // Expired beyond the leeway.
    let mut expired = good.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 120);
    cases.push(("expired", sign(&expired)));
    for (name, claim) in [
        ("missing exp", "exp"),
        ("missing iss", "iss"),
        ("missing aud", "aud"),
    ] {
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove(claim);
        cases.push((name, sign(&missing)));
    }
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("another-api");
    cases.push(("wrong aud", sign(&wrong_aud)));
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("someone-else");
    cases.push(("wrong iss", sign(&wrong_iss)));
    // alg none: an unsigned token.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&good)
    );
    cases.push(("alg none", none));
    // A tampered payload under a valid signature.
    let signed = sign(&good);
    let parts: Vec<&str> = signed.split('.').collect();
    let mut elevated = good.clone();
    elevated["role"] = json!("admin");
    cases.push((
        "tampered",
        format!("{}.{}.{}", parts[0], b64(&elevated), parts[2]),
    ));
    // HS256 signed with the RS256 public key (algorithm confusion).
    let public_pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rsa_public.pem"
    ))
    .unwrap();
    let confused = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("rsa-2026".into()),
            ..jsonwebtoken::Header::new(Algorithm::HS256)
        },
        &good,
        &jsonwebtoken::EncodingKey::from_secret(&public_pem).unwrap(),
    )
    .unwrap();
    cases.push(("HS256 with the public key", confused));
    // An unknown kid.
    cases.push((
        "unknown kid",
        sign_with(
            Algorithm::RS256,
            Some("retired-key"),
            "rsa_private.pem",
            &good,
        ),
    ));

    for (name, token) in cases {
        let reply = app.get(CUSTOMERS, &token).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            reply.body
        );
    }
}

/// Outside identity provider tokens verify by kid.
#[tokio::test]
async fn outside_identity_provider_tokens_verify_by_kid() {
    let app = app_with_dealer().await;
    let good = claims("dealer", &["abc-motors"]);
    let rsa = sign_with(Algorithm::RS256, Some("rsa-2026"), "rsa_private.pem", &good);
    assert_eq!(app.get(CUSTOMERS, &rsa).await.status, StatusCode::OK);
    let ec = sign_with(Algorithm::ES256, Some("ec-2026"), "ec_private.pem", &good);
    assert_eq!(app.get(CUSTOMERS, &ec).await.status, StatusCode::OK);
    // The right key id with the other key's algorithm is refused.
    let mismatched = sign_with(Algorithm::ES256, Some("rsa-2026"), "ec_private.pem", &good);
    assert_eq!(
        app.get(CUSTOMERS, &mismatched).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// A pem public key verifies tokens without kid.
#[tokio::test]
async fn a_pem_public_key_verifies_tokens_without_kid() {
    let app = spawn_app_with(|config| {
        config.jwt.jwks_file = None;
        config.jwt.public_key_pem =
            Some(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ec_public.pem").into());
    })
    .await;
    app.create_dealer("abc-motors").await;
    let good = claims("dealer", &["abc-motors"]);
    let ec = sign_with(Algorithm::ES256, None, "ec_private.pem", &good);
    assert_eq!(app.get(CUSTOMERS, &ec).await.status, StatusCode::OK);
    let rsa = sign_with(Algorithm::RS256, None, "rsa_private.pem", &good);
    assert_eq!(
        app.get(CUSTOMERS, &rsa).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// A wrong role is 403 and another dealer is 404.
#[tokio::test]
async fn a_wrong_role_is_403_and_another_dealer_is_404() {
    let app = app_with_dealer().await;
    let abc = dealer("abc-motors");
    // Dealers may not manage dealers.
    let create = app
        .post("/v1/dealers", &abc, json!({"id": "new-motors", "name": "N", "website": "https://n.co.za", "key_contacts": [{"name": "A", "email": "a@n.co.za"}]}))
        .await;
    create.assert_problem(StatusCode::FORBIDDEN);
    app.patch("/v1/dealers/abc-motors", &abc, json!({"name": "Renamed"}))
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    // Operators and subjects may not touch customers.
    let operator = sign(&claims("operator", &["abc-motors"]));
    app.get(CUSTOMERS, &operator)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    let subject_token = subject("abc-motors", "fred@sea.com");
    app.get(CUSTOMERS, &subject_token)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    // A subject token that names no identifier is no token at all.
    let anonymous = sign(&claims("subject", &["abc-motors"]));
    app.get("/v1/dealers/abc-motors/pi/records", &anonymous)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    // Another dealer's data is not found, whether or not it exists.
    let xyz = dealer("xyz-motors");
    app.get(CUSTOMERS, &xyz)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    app.get("/v1/dealers/abc-motors", &xyz)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    let customer = app.create_customer("abc-motors", fred()).await;
    let id = customer["id"].as_i64().unwrap();
    app.get(&format!("/v1/dealers/xyz-motors/customers/{id}"), &xyz)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    app.get(&format!("/v1/dealers/abc-motors/customers/{id}"), &xyz)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    // An admin sees every dealer.
    assert_eq!(
        app.get(&format!("/v1/dealers/abc-motors/customers/{id}"), &admin())
            .await
            .status,
        StatusCode::OK
    );
}
