//! Signed tokens for every role, and the claims to build odd ones.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::app::{fixture, rand_u64};

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const ISSUER: &str = "popia-gateway";
pub const AUDIENCE: &str = "popia-api";

/// Claims for a token, as JSON so tests can leave out or break any of them.
pub fn claims(role: &str, dealers: &[&str]) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": format!("{role}-user"),
        "exp": now + 600, "iat": now, "jti": format!("{:x}", rand_u64()),
        "role": role, "dealers": dealers,
    })
}

pub fn sign(claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub fn sign_with(alg: Algorithm, kid: Option<&str>, private_pem: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(private_pem)).unwrap();
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        _ => EncodingKey::from_ec_pem(&pem).unwrap(),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, &key).unwrap()
}

pub fn admin() -> String {
    sign(&claims("admin", &[]))
}

/// A `subject` token as the service issues after verification (for tests that skip the code).
pub fn subject(dealer: &str, email: &str) -> String {
    let mut claims = claims("subject", &[dealer]);
    claims["pi"] = json!({ "email": email });
    // Each token its own subject, as each verification is: spending one spends no other.
    claims["sub"] = json!(format!("subject-{:x}", rand_u64()));
    sign(&claims)
}

pub fn dealer(id: &str) -> String {
    sign(&claims("dealer", &[id]))
}

/// An operator token for abc-motors.
pub fn operator() -> String {
    sign(&claims("operator", &["abc-motors"]))
}
