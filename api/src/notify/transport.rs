//! Where messages go: SMTP (lettre) or the mailbox folder for email; an HTTP gateway or the
//! mailbox folder for SMS; a dealer's endpoint for webhooks (`webhooks.rs`). The mailbox folder is the default, so a new user sees every message
//! with no mail server. Files are named by message id, so a repeated delivery rewrites the same
//! file rather than adding one.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::webhooks::WebhookSender;
use super::NotifySettings;
use crate::db::outbox::{ContentRow, Message, MessageRow, WEBHOOK};
use crate::db::webhooks::WebhookRow;

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
    pub webhook: WebhookSender,
    from: Mailbox,
}

/// What one delivery attempt came to.
#[derive(Debug)]
pub struct Attempt {
    /// Why it was not delivered, fit for storage and logs (addresses masked).
    pub result: Result<(), String>,
    /// The HTTP status the receiver answered (webhooks).
    pub status_code: Option<i32>,
    /// Trying again cannot help: give up now, whatever attempts are left.
    pub give_up: bool,
    /// The receiver answered `410 Gone`: its endpoint takes no more deliveries.
    pub endpoint_gone: bool,
}

impl Attempt {
    pub fn delivered(status_code: Option<i32>) -> Attempt {
        Attempt {
            result: Ok(()),
            status_code,
            give_up: false,
            endpoint_gone: false,
        }
    }

    /// A failure worth trying again. Webhook errors name no person: they are kept as they are.
    pub fn retry(error: impl Into<String>) -> Attempt {
        Attempt {
            result: Err(error.into()),
            ..Attempt::delivered(None)
        }
    }

    pub fn give_up(error: impl Into<String>) -> Attempt {
        Attempt {
            give_up: true,
            ..Attempt::retry(error)
        }
    }

    pub fn with_status(self, status_code: Option<i32>) -> Attempt {
        Attempt {
            status_code,
            ..self
        }
    }
}

/// An email's or SMS's outcome (its error already masked by [`Transports::deliver`]).
impl From<Result<(), String>> for Attempt {
    fn from(result: Result<(), String>) -> Attempt {
        Attempt {
            result,
            ..Attempt::delivered(None)
        }
    }
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
        let webhook = WebhookSender::new(settings.webhook_allow_private)?;
        Ok(Transports {
            email,
            sms,
            webhook,
            from,
        })
    }

    /// Delivers one message (a webhook delivery to `endpoint`). The error is fit for storage
    /// and logs: addresses are masked.
    pub async fn deliver(
        &self,
        (row, content): &Message,
        endpoint: Option<&WebhookRow>,
    ) -> Attempt {
        let Some(content) = content else {
            return Attempt::retry("the message's content was purged before delivery");
        };
        if row.channel == WEBHOOK {
            return self.webhook.deliver(row, content, endpoint).await;
        }
        self.send(row, content).await.into()
    }

    async fn send(&self, row: &MessageRow, content: &ContentRow) -> Result<(), String> {
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
        crate::private_files::make_private(path)
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

/// Writes a private temporary (0600: it holds a message) beside the target and renames it, so a
/// reader never sees half a message. Each write has a temporary of its own (`.{name}.XXXXXX.tmp`),
/// so two deliveries of one message never write into the same temporary; one left by a crash
/// ends in `.tmp`, so [`purge_mailbox`] and [`secure_mailbox`] still find it.
async fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> anyhow::Result<()> {
    let folder = dir.to_path_buf();
    let name = name.to_owned();
    let contents = contents.to_vec();
    tokio::task::spawn_blocking(move || write_private(&folder, &name, &contents))
        .await?
        .with_context(|| format!("cannot write to the mailbox folder {}", dir.display()))
}

fn write_private(dir: &Path, name: &str, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(contents)?;
    file.persist(dir.join(name))?;
    Ok(())
}

/// `smtp://[user:pass@]host[:port][?tls=required|opportunistic|none]` (STARTTLS, required by
/// default; port 587) or `smtps://[user:pass@]host[:port]` (TLS from the start; port 465).
///
/// lettre reads the URL; what differs from its own reading is mapped here first: a plain
/// `smtp://` means STARTTLS required (lettre's is no TLS, port 25), `tls=none` means plaintext on
/// port 587 (lettre knows no `none`), a user without a password still logs in, and a path is
/// ignored (lettre would send it as the EHLO name).
pub fn smtp_transport(
    url: &str,
    timeout: Duration,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let (url, user_only) = lettre_url(url)?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
        .context("SMTP_URL is not usable")?
        .timeout(Some(timeout));
    if let Some(user) = user_only {
        builder = builder.credentials(Credentials::new(user, String::new()));
    }
    Ok(builder.build())
}

/// The URL in lettre's reading that means what `url` means in ours, and the user to log in
/// with when the URL names a user but no password (lettre then logs in as nobody).
fn lettre_url(url: &str) -> anyhow::Result<(url::Url, Option<String>)> {
    let mut parsed = url::Url::parse(url).context("SMTP_URL is not a URL")?;
    if parsed.host_str().is_none_or(str::is_empty) {
        bail!("SMTP_URL has no host");
    }
    let tls_mode = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let tls = match (parsed.scheme(), tls_mode.as_deref()) {
        ("smtps", _) => None,
        ("smtp", None | Some("required")) => Some("tls=required"),
        ("smtp", Some("opportunistic")) => Some("tls=opportunistic"),
        ("smtp", Some("none")) => {
            if parsed.port().is_none() {
                let _ = parsed.set_port(Some(587));
            }
            None
        }
        ("smtp", Some(other)) => {
            bail!("SMTP_URL: unknown tls={other} (required, opportunistic or none)")
        }
        (scheme, _) => bail!("SMTP_URL must be smtp:// or smtps://, not {scheme}://"),
    };
    parsed.set_query(tls);
    parsed.set_path("");
    let mut user_only = None;
    if parsed.username().is_empty() {
        // No user, no login: a password alone is ignored.
        let _ = parsed.set_password(None);
    } else if parsed.password().is_none() {
        user_only = Some(
            percent_encoding::percent_decode_str(parsed.username())
                .decode_utf8()
                .context("SMTP_URL credentials are not valid percent-encoding")?
                .into_owned(),
        );
    }
    Ok((parsed, user_only))
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// The transport's settings as lettre shows them: server, port, TLS mode and whether it
    /// logs in.
    fn settings(url: &str) -> String {
        format!("{:?}", smtp_transport(url, TIMEOUT).unwrap())
    }

    // A pooled transport needs a runtime to be dropped in.
    #[tokio::test]
    async fn smtp_urls_keep_their_documented_meaning() {
        for (url, port, tls) in [
            ("smtp://mail.example", 587, "Required"),
            ("smtp://mail.example?tls=required", 587, "Required"),
            (
                "smtp://mail.example?tls=opportunistic",
                587,
                "Opportunistic",
            ),
            ("smtp://mail.example?tls=none", 587, "None"),
            ("smtp://mail.example:2525", 2525, "Required"),
            ("smtp://mail.example:25?tls=none", 25, "None"),
            (
                "smtp://mail.example:2587?tls=opportunistic",
                2587,
                "Opportunistic",
            ),
            ("smtps://mail.example", 465, "Wrapper"),
            ("smtps://mail.example:4650", 4650, "Wrapper"),
            ("smtps://mail.example?tls=none", 465, "Wrapper"),
        ] {
            let shown = settings(url);
            assert!(
                shown.contains(r#"server: "mail.example""#),
                "{url}: {shown}"
            );
            assert!(shown.contains(&format!("port: {port},")), "{url}: {shown}");
            assert!(shown.contains(&format!("tls: {tls},")), "{url}: {shown}");
            assert!(shown.contains("credentials: None"), "{url}: {shown}");
        }
        for url in [
            "smtp://user:pass@mail.example",
            "smtp://user@mail.example?tls=none",
            "smtps://us%40er:p%3Ass@mail.example",
        ] {
            let shown = settings(url);
            assert!(shown.contains("credentials: Some"), "{url}: {shown}");
        }
        // A password without a user logs in as nobody; a path is no EHLO name.
        assert!(settings("smtp://:pass@mail.example").contains("credentials: None"));
        assert_eq!(
            settings("smtp://mail.example/ehlo.example"),
            settings("smtp://mail.example")
        );
    }

    #[tokio::test]
    async fn bad_smtp_urls_are_refused_with_the_reason() {
        for (url, reason) in [
            ("mail.example", "not a URL"),
            ("smtp://", "no host"),
            ("smtp://mail.example?tls=maybe", "unknown tls=maybe"),
            ("http://mail.example", "must be smtp:// or smtps://"),
            ("smtp://us%FFer@mail.example", "percent-encoding"),
        ] {
            let error = format!("{:#}", smtp_transport(url, TIMEOUT).unwrap_err());
            assert!(error.contains(reason), "{url}: {error}");
        }
    }

    /// A plaintext SMTP server that offers no STARTTLS and takes any `AUTH PLAIN`; returns its
    /// port and the decoded credentials it was sent.
    async fn plain_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use base64::Engine;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (logins, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let logins = logins.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 sink ESMTP\r\n").await?;
                    while let Some(line) = lines.next_line().await? {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250 AUTH PLAIN\r\n"
                        } else if let Some(token) = line.strip_prefix("AUTH PLAIN ") {
                            let decoded = base64::engine::general_purpose::STANDARD
                                .decode(token.trim())
                                .unwrap_or_default();
                            let _ = logins.send(String::from_utf8_lossy(&decoded).into_owned());
                            b"235 ok\r\n"
                        } else if upper.starts_with("QUIT") {
                            write.write_all(b"221 bye\r\n").await?;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        write.write_all(reply).await?;
                    }
                    Ok::<_, std::io::Error>(())
                });
            }
        });
        (port, received)
    }

    #[tokio::test]
    async fn plain_smtp_needs_tls_none_or_opportunistic_and_logs_in() {
        let (port, mut logins) = plain_server().await;
        let connects = |url: String| async move {
            let transport = smtp_transport(&url, TIMEOUT).unwrap();
            matches!(transport.test_connection().await, Ok(true))
        };
        // STARTTLS is required unless told otherwise: a server without it is refused.
        assert!(!connects(format!("smtp://127.0.0.1:{port}")).await);
        assert!(!connects(format!("smtp://127.0.0.1:{port}?tls=required")).await);
        assert!(!connects(format!("smtps://127.0.0.1:{port}")).await);
        assert!(connects(format!("smtp://127.0.0.1:{port}?tls=opportunistic")).await);
        assert!(connects(format!("smtp://127.0.0.1:{port}?tls=none")).await);
        assert!(connects(format!("smtp://fr%40ed:p%3Ass@127.0.0.1:{port}?tls=none")).await);
        assert_eq!(logins.recv().await.unwrap(), "\0fr@ed\0p:ss");
        assert!(connects(format!("smtp://fred@127.0.0.1:{port}?tls=none")).await);
        assert_eq!(logins.recv().await.unwrap(), "\0fred\0");
        assert!(logins.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_redelivery_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = tokio::join!(
            write_atomically(dir.path(), "000000000001-code.eml", b"one"),
            write_atomically(dir.path(), "000000000001-code.eml", b"two"),
        );
        first.unwrap();
        second.unwrap();
        write_atomically(dir.path(), "000000000001-code.eml", b"three")
            .await
            .unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["000000000001-code.eml"]);
        let path = dir.path().join("000000000001-code.eml");
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn temporaries_are_message_files_for_purge_and_securing() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = tempfile::Builder::new();
        builder.prefix(".000000000001-code.eml.").suffix(".tmp");
        let (_, left) = builder.tempfile_in(dir.path()).unwrap().keep().unwrap();
        assert!(is_message_file(left.file_name().unwrap()));
        let later = SystemTime::now() + Duration::from_secs(60);
        assert_eq!(purge_mailbox(dir.path(), later).unwrap(), 1);
    }
}
