//! Building a [`Client`]: a base URL and a bearer token, over rustls, with timeouts, a user
//! agent and the retry policy.
//!
//! TLS is configured for each client, never for the process: the SDK installs no process-wide
//! rustls crypto provider. It uses the one the application installed
//! (`CryptoProvider::install_default`), if any, and otherwise ring's, for its own connections
//! only; certificates are checked against the platform's trust store.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use rustls::crypto::CryptoProvider;
use rustls_platform_verifier::BuilderVerifierExt;

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
        let mut headers = HeaderMap::new();
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                crate::Error::InvalidRequest("the token is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
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

/// The client's TLS configuration: the application's crypto provider or ring's, safe default
/// protocol versions, the platform verifier, and HTTP/1.1 (the only protocol the SDK's
/// reqwest speaks) offered by ALPN.
fn tls_config() -> Result<rustls::ClientConfig, crate::Error> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let tls_error = |error: rustls::Error| crate::Error::Tls(error.to_string());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_platform_verifier()
        .map_err(tls_error)?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn building_a_client_leaves_the_process_crypto_provider_alone() {
        assert!(CryptoProvider::get_default().is_none());
        // reqwest refuses a preconfigured TLS backend it does not recognise (another rustls
        // version) when the client is built, so this also proves the configuration is taken.
        ClientBuilder::new("https://popia.example.co.za")
            .token("t")
            .build()
            .unwrap();
        assert!(CryptoProvider::get_default().is_none());
    }
}
