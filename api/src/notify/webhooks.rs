//! Webhook deliveries (Standard Webhooks 1.0): a thin JSON body per change event (ids and the
//! kind, never personal information), signed with HMAC-SHA256 under the endpoint's secret and
//! POSTed with a 10 s timeout, redirects not followed, only to addresses the guard allows.
//! Retried with the outbox's backoff for three days from the event, then given up; a `410 Gone`
//! disables the endpoint.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{NaiveDateTime, SecondsFormat, TimeDelta};
use hmac::{KeyInit, Mac};
use rand::{Rng, RngCore};
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde::Serialize;
use sha2::Sha256;

use super::address_guard::{self, GuardedResolver, Refused};
use super::transport::Attempt;
use super::DeliverySettings;
use crate::db::outbox::{ContentRow, MessageRow};
use crate::db::webhooks::WebhookRow;
use crate::domain::events::NewEvent;

/// Every secret starts with this; the rest is the key, base64.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a secret (Standard Webhooks asks for 24 to 64).
const SECRET_BYTES: usize = 32;
/// Longest wait for a receiver's answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a delivery is retried, counted from when it was queued (with its event).
pub const GIVE_UP_AFTER: TimeDelta = TimeDelta::days(3);
/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);
/// What a delivery cancelled by a `410 Gone` says.
pub const GONE: &str = "cancelled: the endpoint answered 410 Gone and was disabled";

/// A new secret: `whsec_` and 32 random bytes, base64.
pub fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// A delivery's `webhook-id`: unique, and the same on every attempt (receivers dedupe on it).
pub fn new_message_id() -> String {
    format!("msg_{:032x}", rand::rng().random::<u128>())
}

/// What a receiver is told: enough to fetch the rest through the API, with its own token.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: String,
    dealer_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lead_ids: Option<&'a [i64]>,
    occurred_at: String,
}

/// The body of the delivery of event `id`.
pub fn body(id: i64, dealer: &str, event: &NewEvent, at: NaiveDateTime) -> String {
    let body = Body {
        kind: event.kind.as_str(),
        id: id.to_string(),
        dealer_id: dealer,
        customer_id: event.customer_id,
        lead_ids: event.lead_ids.as_deref(),
        occurred_at: at.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// The `webhook-signature` header: `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` under
/// each secret, space-separated.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = STANDARD
                .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
                .ok()?;
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// When to try a failed delivery again, or None to give up: the outbox's backoff after
/// `attempts` failures, until three days after it was queued (the last try falls on that day).
pub fn retry_at(
    settings: &DeliverySettings,
    queued: NaiveDateTime,
    attempts: i32,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let deadline = queued + GIVE_UP_AFTER;
    if now >= deadline {
        return None;
    }
    let delay = super::worker::backoff(settings, attempts);
    Some((now + TimeDelta::from_std(delay).unwrap_or(GIVE_UP_AFTER)).min(deadline))
}

/// Sends deliveries: one client, through the guarded resolver, never through a proxy.
pub struct WebhookSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl WebhookSender {
    pub fn new(allow_private: bool) -> anyhow::Result<WebhookSender> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect for us, to addresses the guard never saw.
            .no_proxy()
            .dns_resolver(GuardedResolver { allow_private })
            .user_agent(concat!(
                "popia-gateway-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(WebhookSender {
            client,
            allow_private,
        })
    }

    /// One attempt at a delivery to its endpoint (None: the endpoint was deleted).
    pub async fn deliver(
        &self,
        row: &MessageRow,
        content: &ContentRow,
        endpoint: Option<&WebhookRow>,
    ) -> Attempt {
        let Some(endpoint) = endpoint else {
            return Attempt::give_up("the endpoint was deleted");
        };
        if endpoint.disabled_at.is_some() {
            return Attempt::give_up("the endpoint is disabled");
        }
        let url = match url::Url::parse(&endpoint.url) {
            Ok(url) => url,
            Err(error) => return Attempt::give_up(format!("the endpoint's URL: {error}")),
        };
        if let Err(refused) = address_guard::check_literal(&url, self.allow_private) {
            return Attempt::retry(format!("refused: {refused}"));
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signature(
            &endpoint.signing_secrets(crate::db::now()),
            &row.message_id,
            timestamp,
            &content.body_text,
        );
        let sent = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &row.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(content.body_text.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Attempt::retry(describe(&error)),
        };
        let status = response.status();
        let code = Some(i32::from(status.as_u16()));
        if status.is_success() {
            Attempt::delivered(code)
        } else if status == StatusCode::GONE {
            Attempt {
                endpoint_gone: true,
                ..Attempt::give_up("the endpoint answered 410 Gone: it is disabled")
            }
            .with_status(code)
        } else {
            Attempt::retry(format!("the endpoint answered {status}")).with_status(code)
        }
    }
}

/// Why a request failed, in one line: the guard's refusal when that is the reason.
fn describe(error: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(error);
    let mut chain = error.to_string();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return format!("refused: {refused}");
        }
        chain = format!("{chain}: {cause}");
        source = cause.source();
    }
    if error.is_timeout() {
        return format!("the endpoint did not answer within {} s", TIMEOUT.as_secs());
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[secret], id, 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let two = signature(&[secret, secret], id, 1614265330, body);
        assert_eq!(two.split(' ').count(), 2);
    }

    #[test]
    fn secrets_are_prefixed_and_long_enough() {
        let secret = new_secret();
        let key = STANDARD
            .decode(secret.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(key.len(), SECRET_BYTES);
        assert_ne!(new_secret(), secret);
        assert!(new_message_id().starts_with("msg_"));
    }

    #[test]
    fn retries_stop_three_days_after_queueing() {
        let settings = DeliverySettings {
            base_backoff: Duration::from_secs(60),
            max_backoff: Duration::from_secs(6 * 3600),
            ..DeliverySettings::default()
        };
        let queued = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let soon = retry_at(&settings, queued, 1, queued).unwrap();
        assert!(soon > queued && soon <= queued + TimeDelta::seconds(60));
        let late = queued + GIVE_UP_AFTER - TimeDelta::minutes(1);
        assert_eq!(
            retry_at(&settings, queued, 40, late),
            Some(queued + GIVE_UP_AFTER)
        );
        assert_eq!(
            retry_at(&settings, queued, 41, queued + GIVE_UP_AFTER),
            None
        );
    }
}
