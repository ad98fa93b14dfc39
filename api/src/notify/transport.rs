//! Where messages go: SMTP (lettre) or the mailbox folder for email; an HTTP gateway or the
//! mailbox folder for SMS. The mailbox folder is the default, so a new user sees every message
//! with no mail server. Files are named by message id, so a repeated delivery rewrites the same
//! file rather than adding one.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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

/// Creates the mailbox folder, 0700: it stands in for the recipients' inboxes. (One that
/// already exists was made private at start, by [`secure_mailbox`].)
fn mailbox(dir: &Path) -> anyhow::Result<PathBuf> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create the mailbox folder {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// Makes an existing mailbox folder (0700) and the message files in it (0600) private.
pub fn secure_mailbox(dir: &Path) -> anyhow::Result<()> {
    let private = |path: &Path| {
        crate::config::make_private(path)
            .with_context(|| format!("cannot make {} private", path.display()))
    };
    private(dir)?;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if is_message_file(&entry.file_name()) {
            private(&entry.path())?;
        }
    }
    Ok(())
}

/// The files this service writes to the mailbox folder (and its half-written temporaries); a
/// folder shared with anything else keeps that other thing's files.
fn is_message_file(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.ends_with(".eml") || name.ends_with(".sms.txt") || name.ends_with(".tmp")
}

/// Removes the message files last written before `older_than`: the mailbox folder stands in for
/// the recipients' inboxes, and keeps what they were sent no longer than the retention period.
/// Returns how many it removed; a missing folder holds none.
pub fn purge_mailbox(dir: &Path, older_than: SystemTime) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let metadata = entry.metadata()?;
        if !metadata.is_file() || !is_message_file(&entry.file_name()) {
            continue;
        }
        if metadata.modified()? < older_than {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(removed)
}

/// Writes beside the target (0600: it holds a message) and renames, so a reader never sees half
/// a message.
async fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> anyhow::Result<()> {
    let temporary = dir.join(format!(".{name}.tmp"));
    let target = dir.join(name);
    let contents = contents.to_vec();
    tokio::task::spawn_blocking(move || write_private(&temporary, &contents, &target))
        .await?
        .with_context(|| format!("cannot write to the mailbox folder {}", dir.display()))
}

fn write_private(temporary: &Path, contents: &[u8], target: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(temporary)?;
    #[cfg(unix)]
    {
        // A temporary left over from an earlier run keeps its old mode on open: set it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    drop(file);
    std::fs::rename(temporary, target)
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
