//! Building a [`Client`]: a base URL and a bearer token, over rustls, with timeouts, a user
//! agent and the retry policy.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};

use crate::hooks::{Hooks, RetryPolicy};
use crate::Client;

/// Builds a [`Client`].
///
/// ```no_run
/// let client = popia_sdk::ClientBuilder::new("https://popia.example.co.za")
///     .token("eyJhbGciOi...")
///     .build()?;
/// # Ok::<(), popia_sdk::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    token: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
}

impl ClientBuilder {
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientBuilder {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            user_agent: format!("popia-sdk/{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
        }
    }

    /// The bearer token sent with every request (a dealer, operator, admin or subject JWT).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The longest wait for a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest wait for a whole request (a CSV download streams past it: the timeout
    /// applies to each request, and a download is one).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn build(self) -> Result<Client, crate::Error> {
        // rustls needs a process-wide crypto provider; install ring's unless one is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                crate::Error::InvalidRequest("the token is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(self.user_agent)
            .build()?;
        Ok(Client::new_with_client(
            &self.base_url,
            http,
            Hooks { retry: self.retry },
        ))
    }
}
