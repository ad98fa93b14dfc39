//! Notifications: the transactional outbox, the delivery worker, the transports (SMTP, an HTTP
//! SMS gateway, or a mailbox folder) and the messages themselves.

pub mod address_guard;
pub mod emails;
pub mod outbox;
pub mod templates;
pub mod transport;
pub mod webhooks;
pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

/// How messages are delivered and kept.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// `smtp://` (STARTTLS) or `smtps://`; None: emails go to the mailbox folder.
    pub smtp_url: Option<String>,
    /// An HTTP SMS gateway taking `{to, text}`; None: SMS go to the mailbox folder.
    pub sms_url: Option<String>,
    pub sms_token: Option<String>,
    pub mailbox_dir: PathBuf,
    /// The `From` of every email.
    pub mail_from: String,
    /// Delivered (or given-up) messages keep their bodies and recipients this long.
    pub retention: Duration,
    pub delivery: DeliverySettings,
    /// Let webhooks go to private, loopback and link-local addresses (a closed network, tests).
    pub webhook_allow_private: bool,
}

/// How the delivery worker paces itself.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Run the worker in this process.
    pub enabled: bool,
    /// How often to look for due messages when idle.
    pub poll_interval: Duration,
    /// Attempts before a message is `failed` for good.
    pub max_attempts: i32,
    /// The wait after the first failure; it doubles with each failure, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claim holds; a crashed worker's claims are due again after it.
    pub lease: Duration,
    /// Messages claimed at once.
    pub batch_size: i64,
    /// Longest wait for one transport call.
    pub send_timeout: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            enabled: true,
            poll_interval: Duration::from_millis(500),
            max_attempts: 10,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            lease: Duration::from_secs(120),
            batch_size: 50,
            send_timeout: Duration::from_secs(20),
        }
    }
}

/// What every message needs to know about the product sending it.
#[derive(Debug, Clone)]
pub struct Branding {
    /// `{brand}` in subjects and signatures.
    pub brand: String,
    /// The domain of Message-IDs.
    pub domain: String,
    /// The operator's support contacts, shown under "Sincerely" in every email when set.
    pub support: Option<String>,
    /// How long a dealer has to act on an email that asks it to: its follow-up's due date.
    pub follow_up_due: chrono::Duration,
    /// `POPIA_PUBLIC_URL` without a trailing `/`: emails link a dealer's /pi page under it.
    pub public_url: Option<String>,
}

impl Branding {
    pub fn new(brand: &str, mail_from: &str) -> Branding {
        let domain = mail_from
            .rsplit('@')
            .next()
            .map(|d| d.trim_end_matches('>').trim())
            .filter(|d| !d.is_empty() && !d.contains(' '))
            .unwrap_or("popia-gateway.local");
        Branding {
            brand: brand.to_owned(),
            domain: domain.to_owned(),
            support: None,
            follow_up_due: chrono::Duration::days(30),
            public_url: None,
        }
    }

    /// Emails link the hosted /pi page under `url` (`POPIA_PUBLIC_URL`).
    pub fn with_public_url(mut self, url: Option<&url::Url>) -> Branding {
        self.public_url = url.map(|u| u.as_str().trim_end_matches('/').to_owned());
        self
    }

    /// The address of `dealer`'s hosted /pi page, when the public URL is known. Dealer ids are
    /// URL-safe by construction (lower-case letters, digits and hyphens).
    pub fn page_url(&self, dealer: &str) -> Option<String> {
        let base = self.public_url.as_deref()?;
        Some(format!("{base}/pi/{dealer}"))
    }

    /// Follow-ups fall due `days` after their email.
    pub fn with_follow_up_days(mut self, days: u32) -> Branding {
        self.follow_up_due = chrono::Duration::days(i64::from(days));
        self
    }

    /// Signs every email off with the operator's support contacts (blank: none).
    pub fn with_support(mut self, support: Option<&str>) -> Branding {
        self.support = support
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        self
    }
}
