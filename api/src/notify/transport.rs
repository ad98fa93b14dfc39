//! Where messages go: SMTP (lettre) or the mailbox folder for email; an HTTP gateway or the
//! mailbox folder for SMS. The mailbox folder is the default, so a new user sees every message
//! with no mail server. Files are named by message id, so a repeated delivery rewrites the same
//! file rather than adding one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::NotifySettings;
use crate::db::outbox::{ContentRow, Message, MessageRow};

pub enum EmailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Mailbox(PathBuf),
}

pub enum SmsTransport {
    Gateway {
        client: reqwest::Client,
        url: String,
        token: Option<String>,
    },
    Mailbox(PathBuf),
}

pub struct Transports {
    pub email: EmailTransport,
    pub sms: SmsTransport,
    from: Mailbox,
}

impl Transports {
    pub fn from_settings(settings: &NotifySettings) -> anyhow::Result<Transports> {
        let from: Mailbox = settings.mail_from.parse().with_context(|| {
            format!("POPIA_MAIL_FROM `{}` is not an address", settings.mail_from)
        })?;
        let timeout = settings.delivery.send_timeout;
        let email = match &settings.smtp_url {
            Some(url) => EmailTransport::Smtp(smtp_transport(url, timeout)?),
            None => EmailTransport::Mailbox(mailbox(&settings.mailbox_dir)?),
        };
        let sms = match &settings.sms_url {
            Some(url) => {
                let parsed = url::Url::parse(url).context("POPIA_SMS_URL is not a URL")?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    bail!("POPIA_SMS_URL must be http:// or https://");
                }
                SmsTransport::Gateway {
                    client: reqwest::Client::builder().timeout(timeout).build()?,
                    url: url.clone(),
                    token: settings.sms_token.clone(),
                }
            }
            None => SmsTransport::Mailbox(mailbox(&settings.mailbox_dir)?),
        };
        Ok(Transports { email, sms, from })
    }

    /// Delivers one message. The error is fit for storage and logs: addresses are masked.
    pub async fn deliver(&self, (row, content): &Message) -> Result<(), String> {
        let Some(content) = content else {
            return Err("the message's content was purged before delivery".into());
        };
        let recipients: Vec<String> = serde_json::from_str(&content.recipients).unwrap_or_default();
        if recipients.is_empty() {
            return Err("the message has no recipients".into());
        }
        let result = match row.channel.as_str() {
            "sms" => self.send_sms(row, content, &recipients).await,
            _ => self.send_email(row, content, &recipients).await,
        };
        result.map_err(|e| crate::observability::mask_text(&format!("{e:#}")))
    }

    async fn send_email(
        &self,
        row: &MessageRow,
        content: &ContentRow,
        recipients: &[String],
    ) -> anyhow::Result<()> {
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .message_id(Some(row.message_id.clone()))
            .subject(content.subject.clone().unwrap_or_default());
        for recipient in recipients {
            builder = builder.to(recipient.parse().context("a recipient is not an address")?);
        }
        let text = content.body_text.clone();
        let email = match &content.body_html {
            Some(html) => {
                builder.multipart(MultiPart::alternative_plain_html(text, html.clone()))?
            }
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(text),
            )?,
        };
        match &self.email {
            EmailTransport::Smtp(transport) => {
                transport
                    .send(email)
                    .await
                    .context("SMTP delivery failed")?;
            }
            EmailTransport::Mailbox(dir) => {
                write_atomically(dir, &format!("{}.eml", file_stem(row)), &email.formatted())
                    .await?;
            }
        }
        Ok(())
    }

    async fn send_sms(
        &self,
        row: &MessageRow,
        content: &ContentRow,
        recipients: &[String],
    ) -> anyhow::Result<()> {
        let text = &content.body_text;
        for to in recipients {
            match &self.sms {
                SmsTransport::Gateway { client, url, token } => {
                    let mut request = client
                        .post(url)
                        .json(&serde_json::json!({ "to": to, "text": text }));
                    if let Some(token) = token {
                        request = request.bearer_auth(token);
                    }
                    let response = request
                        .send()
                        .await
                        .context("the SMS gateway did not answer")?;
                    if !response.status().is_success() {
                        bail!("the SMS gateway answered {}", response.status());
                    }
                }
                SmsTransport::Mailbox(dir) => {
                    let body = format!("To: {to}\nMessage-ID: {}\n\n{text}\n", row.message_id);
                    write_atomically(dir, &format!("{}.sms.txt", file_stem(row)), body.as_bytes())
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// `000000000042-consent_withdrawn`: sorts in queue order and says what it is.
fn file_stem(row: &MessageRow) -> String {
    format!("{:012}-{}", row.id, row.kind)
}

fn mailbox(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the mailbox folder {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// Writes beside the target and renames, so a reader never sees half a message.
async fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> anyhow::Result<()> {
    let temporary = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&temporary, contents)
        .await
        .with_context(|| format!("cannot write to the mailbox folder {}", dir.display()))?;
    tokio::fs::rename(&temporary, dir.join(name)).await?;
    Ok(())
}

/// `smtp://[user:pass@]host[:port][?tls=required|opportunistic|none]` (STARTTLS, required by
/// default; port 587) or `smtps://[user:pass@]host[:port]` (TLS from the start; port 465).
pub fn smtp_transport(
    url: &str,
    timeout: Duration,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let parsed = url::Url::parse(url).context("SMTP_URL is not a URL")?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .context("SMTP_URL has no host")?
        .to_owned();
    let tls_mode = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let parameters = || TlsParameters::new(host.clone()).context("bad TLS parameters for SMTP");
    let (tls, default_port) = match (parsed.scheme(), tls_mode.as_deref()) {
        ("smtps", _) => (Tls::Wrapper(parameters()?), 465),
        ("smtp", None | Some("required")) => (Tls::Required(parameters()?), 587),
        ("smtp", Some("opportunistic")) => (Tls::Opportunistic(parameters()?), 587),
        ("smtp", Some("none")) => (Tls::None, 587),
        ("smtp", Some(other)) => {
            bail!("SMTP_URL: unknown tls={other} (required, opportunistic or none)")
        }
        (scheme, _) => bail!("SMTP_URL must be smtp:// or smtps://, not {scheme}://"),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
        .port(parsed.port().unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(timeout));
    if !parsed.username().is_empty() {
        let decode = |s: &str| {
            percent_decode(s).context("SMTP_URL credentials are not valid percent-encoding")
        };
        builder = builder.credentials(Credentials::new(
            decode(parsed.username())?,
            decode(parsed.password().unwrap_or(""))?,
        ));
    }
    Ok(builder.build())
}

fn percent_decode(value: &str) -> anyhow::Result<String> {
    Ok(percent_encoding::percent_decode_str(value)
        .decode_utf8()?
        .into_owned())
}
