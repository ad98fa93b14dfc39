//! Verifying the service's webhook deliveries (Standard Webhooks 1.0) before trusting them.
//!
//! A delivery carries `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`:
//! one or more space-separated `v1,<base64>` HMAC-SHA256 signatures of
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed with the base64 after `whsec_` in the
//! endpoint's secret. Two signatures arrive while a rotated-out secret still signs; either may
//! match. Pass the body exactly as received, before any JSON parsing.
//!
//! ```
//! use popia_sdk::webhooks::{sign, verify, DEFAULT_TOLERANCE};
//!
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let body = br#"{"type":"consent.withdrawn","id":"42"}"#;
//! let now = std::time::SystemTime::now()
//!     .duration_since(std::time::UNIX_EPOCH)
//!     .unwrap()
//!     .as_secs() as i64;
//! let headers = vec![
//!     ("webhook-id", "msg_1".to_owned()),
//!     ("webhook-timestamp", now.to_string()),
//!     ("webhook-signature", sign(secret, "msg_1", now, body).unwrap()),
//! ];
//! assert!(verify(secret, &headers, body, DEFAULT_TOLERANCE).is_ok());
//! ```

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// How far a delivery's timestamp may be from now: older ones may be replays.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Why a delivery was not verified: answer it with 400 or 401 and do not act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    #[error("the secret is not `whsec_` followed by base64")]
    InvalidSecret,
    #[error("`webhook-timestamp` is not a number of seconds")]
    InvalidTimestamp,
    #[error("`webhook-timestamp` is further from now than the tolerance")]
    StaleTimestamp,
    #[error("no signature matches the secret")]
    NoMatchingSignature,
}

/// Request headers, by case-insensitive name: a `reqwest`/`http` header map, a map or a list
/// of `(name, value)` pairs (what most servers' header maps convert to in one line).
pub trait Headers {
    fn header(&self, name: &str) -> Option<&str>;
}

impl Headers for reqwest::header::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name)?.to_str().ok()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, S: BuildHasher> Headers for HashMap<K, V, S> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

/// Verifies a delivery: its timestamp within `tolerance` of now and one of its signatures made
/// with `secret` over exactly `body`. Signatures are compared in constant time.
pub fn verify<H: Headers + ?Sized>(
    secret: &str,
    headers: &H,
    body: &[u8],
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let header = |name: &'static str| {
        headers
            .header(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(VerifyError::MissingHeader(name))
    };
    let id = header("webhook-id")?;
    let timestamp: i64 = header("webhook-timestamp")?
        .parse()
        .map_err(|_| VerifyError::InvalidTimestamp)?;
    let signatures = header("webhook-signature")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(VerifyError::StaleTimestamp);
    }
    let mac = mac(secret, id, timestamp, body)?;
    let matches = signatures
        .split_whitespace()
        .filter_map(|signature| signature.strip_prefix("v1,"))
        .filter_map(|signature| STANDARD.decode(signature).ok())
        .any(|signature| mac.clone().verify_slice(&signature).is_ok());
    if matches {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

/// The `v1,<base64>` signature of a delivery: for a receiver's own tests.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, VerifyError> {
    let mac = mac(secret, id, timestamp, body)?;
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

fn mac(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<hmac::Hmac<Sha256>, VerifyError> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| VerifyError::InvalidSecret)?;
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(&key).map_err(|_| VerifyError::InvalidSecret)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const OTHER: &str = "whsec_c2Vjb25kIHNlY3JldCBzZWNvbmQgc2VjcmV0IQ==";
    const BODY: &[u8] = br#"{"type":"customer.amended","id":"7","dealer_id":"abc-motors"}"#;

    fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn delivery(timestamp: i64, signature: String) -> Vec<(&'static str, String)> {
        vec![
            ("Webhook-Id", "msg_2f1a".to_owned()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ]
    }

    fn signed(secret: &str, timestamp: i64) -> String {
        sign(secret, "msg_2f1a", timestamp, BODY).unwrap()
    }

    #[test]
    fn the_specifications_example_signs_as_published() {
        let signature = sign(
            SECRET,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_good_delivery_verifies() {
        let headers = delivery(now(), signed(SECRET, now()));
        assert_eq!(verify(SECRET, &headers, BODY, DEFAULT_TOLERANCE), Ok(()));
        // The same through a reqwest header map.
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in &headers {
            map.insert(*name, value.parse().unwrap());
        }
        assert_eq!(verify(SECRET, &map, BODY, DEFAULT_TOLERANCE), Ok(()));
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let headers = delivery(now(), signed(SECRET, now()));
        let tampered = br#"{"type":"customer.amended","id":"8","dealer_id":"abc-motors"}"#;
        assert_eq!(
            verify(SECRET, &headers, tampered, DEFAULT_TOLERANCE),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn another_secret_is_refused() {
        let headers = delivery(now(), signed(OTHER, now()));
        assert_eq!(
            verify(SECRET, &headers, BODY, DEFAULT_TOLERANCE),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            verify("whsec_not base64!", &headers, BODY, DEFAULT_TOLERANCE),
            Err(VerifyError::InvalidSecret)
        );
    }

    #[test]
    fn a_stale_or_future_timestamp_is_refused() {
        for at in [now() - 301, now() + 301] {
            let headers = delivery(at, signed(SECRET, at));
            assert_eq!(
                verify(SECRET, &headers, BODY, DEFAULT_TOLERANCE),
                Err(VerifyError::StaleTimestamp)
            );
        }
        let within = now() - 200;
        let headers = delivery(within, signed(SECRET, within));
        assert_eq!(verify(SECRET, &headers, BODY, DEFAULT_TOLERANCE), Ok(()));
        // A signature made for another timestamp does not carry over.
        let moved = delivery(now(), signed(SECRET, within));
        assert_eq!(
            verify(SECRET, &moved, BODY, DEFAULT_TOLERANCE),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn either_of_two_signatures_may_match() {
        let both = format!("{} {}", signed(OTHER, now()), signed(SECRET, now()));
        let headers = delivery(now(), both);
        assert_eq!(verify(SECRET, &headers, BODY, DEFAULT_TOLERANCE), Ok(()));
        assert_eq!(verify(OTHER, &headers, BODY, DEFAULT_TOLERANCE), Ok(()));
        let third = "whsec_dGhpcmQgc2VjcmV0IHRoaXJkIHNlY3JldCB0aGlyZA==";
        assert_eq!(
            verify(third, &headers, BODY, DEFAULT_TOLERANCE),
            Err(VerifyError::NoMatchingSignature)
        );
        // Unknown versions and garbage beside a good signature are skipped.
        let mixed = format!("v2,abc v1,!!! {}", signed(SECRET, now()));
        assert_eq!(
            verify(SECRET, &delivery(now(), mixed), BODY, DEFAULT_TOLERANCE),
            Ok(())
        );
    }

    #[test]
    fn missing_headers_are_named() {
        let mut headers = delivery(now(), signed(SECRET, now()));
        headers.retain(|(name, _)| *name != "webhook-signature");
        assert_eq!(
            verify(SECRET, &headers, BODY, DEFAULT_TOLERANCE),
            Err(VerifyError::MissingHeader("webhook-signature"))
        );
        let mut map = HashMap::new();
        map.insert("webhook-id".to_owned(), "msg_2f1a".to_owned());
        map.insert("webhook-timestamp".to_owned(), "soon".to_owned());
        map.insert("webhook-signature".to_owned(), signed(SECRET, now()));
        assert_eq!(
            verify(SECRET, &map, BODY, DEFAULT_TOLERANCE),
            Err(VerifyError::InvalidTimestamp)
        );
    }
}
