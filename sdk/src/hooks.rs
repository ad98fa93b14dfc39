//! What the SDK does around every request: an `Idempotency-Key` on every POST (reused when the
//! request is retried), and retries with backoff for 429, 503 and connection errors, honouring
//! `Retry-After`.

use std::time::Duration;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use rand::Rng;
use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};

use crate::Client;

/// The header that makes a POST safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// How requests are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles each time, with jitter.
    pub base_delay: Duration,
    /// The longest wait between attempts, whatever `Retry-After` says.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): the server's `Retry-After` if it gave one,
    /// else exponential backoff with equal jitter; never more than `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let delay = retry_after.unwrap_or_else(|| {
            let full = self
                .base_delay
                .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
            let half = full / 2;
            half + half.mul_f64(rand::rng().random::<f64>())
        });
        delay.min(self.max_delay)
    }
}

/// The SDK's state inside the generated client.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub retry: RetryPolicy,
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A fresh idempotency key: 128 random bits in hex.
pub fn new_idempotency_key() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

impl ClientHooks<Hooks> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if request.method() == Method::POST && !request.headers().contains_key(IDEMPOTENCY_KEY) {
            if let Ok(key) = HeaderValue::from_str(&new_idempotency_key()) {
                request.headers_mut().insert(IDEMPOTENCY_KEY, key);
            }
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let policy = &self.inner().retry;
        let mut attempt = 1;
        loop {
            // A request whose body cannot be copied is sent once.
            let Some(copy) = request
                .try_clone()
                .filter(|_| attempt < policy.max_attempts)
            else {
                return self.client().execute(request).await;
            };
            match self.client().execute(copy).await {
                Ok(response) if retryable(response.status()) => {
                    tokio::time::sleep(policy.delay(attempt, retry_after(&response))).await;
                }
                Err(error) if error.is_connect() || error.is_timeout() => {
                    tokio::time::sleep(policy.delay(attempt, None)).await;
                }
                outcome => return outcome,
            }
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_honour_retry_after_and_are_capped() {
        let policy = RetryPolicy::default();
        for _ in 0..20 {
            let first = policy.delay(1, None);
            assert!(first >= Duration::from_millis(125) && first <= Duration::from_millis(250));
            let third = policy.delay(3, None);
            assert!(third >= Duration::from_millis(500) && third <= Duration::from_secs(1));
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(300))),
            Duration::from_secs(30)
        );
    }
}
