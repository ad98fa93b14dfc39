//! Command line and configuration: clap, with an environment variable behind every option.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::{Args, Parser, Subcommand};
use rand::RngCore;

use crate::auth::keys::{JwtSettings, MIN_SECRET_BYTES};
use crate::auth::Role;
use crate::notify::{DeliverySettings, NotifySettings};
use crate::service::pi::SmsPolicy;

#[derive(Debug, Parser)]
#[command(
    name = "popia-api",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("POPIA_GIT_COMMIT"), ")"),
    about = "POPIA Gateway: the /pi page back end, consent blacklists and change feed for South African car dealers"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `popia-api` alone is `popia-api serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (YAML, or JSON with --json); needs no database.
    Openapi {
        #[arg(long)]
        json: bool,
    },
    /// Print a signed JWT for this server.
    Token(TokenArgs),
    /// Copy the SQLite database, consistent while the service runs, to a new file only its
    /// owner can read (PostgreSQL: prints the `pg_dump` line to use instead).
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// After restoring a backup, before serving: put back the blacklist entries the restore
    /// lost, and de-identify every live record of a person who withdrew. Run it with the
    /// service's settings (its data folder or POPIA_JWT_SECRET, and DATABASE_URL).
    Reconcile {
        /// The blacklists to put back: the database the service ran on before the restore, or a
        /// replica (`sqlite://…`, `postgres://…`), or its CSV exports
        /// (`{dealer}-blacklist-emails-{day}.csv`, `…-mobiles-…`; repeat the flag). Without it,
        /// the database's own blacklists only, as `serve` does at start.
        #[arg(long = "blacklists-from", value_name = "SOURCE")]
        blacklists_from: Vec<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "POPIA_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Add a demo dealer (`demo-motors`) with customers and leads.
    #[arg(long, env = "POPIA_DEMO")]
    pub demo: bool,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    #[arg(long, value_enum)]
    pub role: Role,
    /// A dealer the token is scoped to (repeat for several).
    #[arg(long = "dealer")]
    pub dealers: Vec<String>,
    /// The token's subject: who holds it.
    #[arg(long, default_value = "cli")]
    pub sub: String,
    /// For `--role subject`: the verified email (or `--mobile`) the token stands for.
    #[arg(long, conflicts_with = "mobile")]
    pub email: Option<String>,
    #[arg(long)]
    pub mobile: Option<String>,
    /// How long the token is valid, e.g. `15m`, `1h`, `30d`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
}

/// Settings shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Folder for the default SQLite database, the generated JWT secret and the mailbox.
    #[arg(long, env = "POPIA_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; default: an SQLite file in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections in the pool (PostgreSQL; SQLite uses at most 8).
    #[arg(long, env = "POPIA_DB_POOL_SIZE", default_value_t = 16, global = true)]
    pub db_pool_size: u32,
    /// HS256 secret (at least 32 bytes); default: generated once and kept in the data folder.
    #[arg(long, env = "POPIA_JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// The `iss` claim of tokens.
    #[arg(
        long,
        env = "POPIA_JWT_ISSUER",
        default_value = "popia-gateway",
        global = true
    )]
    pub jwt_issuer: String,
    /// The `aud` claim of tokens.
    #[arg(
        long,
        env = "POPIA_JWT_AUDIENCE",
        default_value = "popia-api",
        global = true
    )]
    pub jwt_audience: String,
    /// PEM file of an outside identity provider's RS256 or ES256 public key.
    #[arg(long, env = "POPIA_JWT_PUBLIC_KEY", global = true)]
    pub jwt_public_key: Option<PathBuf>,
    /// JWKS file of an outside identity provider (keys picked by `kid`).
    #[arg(long, env = "POPIA_JWT_JWKS", global = true)]
    pub jwt_jwks: Option<PathBuf>,
    /// The brand named in emails.
    #[arg(
        long,
        env = "POPIA_BRAND",
        default_value = "POPIA Gateway",
        global = true
    )]
    pub brand: String,
    /// The operator's support contacts (free text), shown under "Sincerely" in every email.
    #[arg(long, env = "POPIA_SUPPORT_CONTACT", global = true)]
    pub support_contact: Option<String>,
    /// Where customers reach this service, e.g. `https://privacy.example.co.za`: the base of the
    /// /pi page's links in emails, the origin its forms must come from, and, when https, the
    /// `Secure` flag on its cookies. Unset: no links in emails; the origin is the request's
    /// own host.
    #[arg(long, env = "POPIA_PUBLIC_URL", global = true, value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,
    /// Days a dealer has to act on an email before its follow-up is overdue.
    #[arg(
        long,
        env = "POPIA_FOLLOW_UP_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=3650),
        global = true
    )]
    pub follow_up_days: u32,
    /// `smtp://[user:pass@]host[:port][?tls=required|opportunistic|none]` or `smtps://…`;
    /// unset: every message is written to the mailbox folder.
    #[arg(long, env = "SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// An HTTP SMS gateway that takes `{to, text}` as JSON; unset: SMS go to the mailbox folder.
    #[arg(long, env = "POPIA_SMS_URL", global = true)]
    pub sms_url: Option<String>,
    /// Bearer token for the SMS gateway.
    #[arg(long, env = "POPIA_SMS_TOKEN", global = true, hide_env_values = true)]
    pub sms_token: Option<String>,
    /// Where messages are written when no SMTP server or SMS gateway is set.
    #[arg(long, env = "POPIA_MAILBOX_DIR", global = true)]
    pub mailbox_dir: Option<PathBuf>,
    /// The From address of every email.
    #[arg(
        long,
        env = "POPIA_MAIL_FROM",
        default_value = "POPIA Gateway <popia@localhost>",
        global = true
    )]
    pub mail_from: String,
    /// Days a delivered message keeps its recipients and bodies (0: purge right after delivery).
    #[arg(
        long,
        env = "POPIA_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub retention_days: u32,
    /// Delivery attempts before a message is marked failed.
    #[arg(
        long,
        env = "POPIA_OUTBOX_MAX_ATTEMPTS",
        default_value_t = 10,
        global = true
    )]
    pub outbox_max_attempts: i32,
    /// The wait after a first failed delivery; it doubles each time, up to an hour.
    #[arg(long, env = "POPIA_OUTBOX_BACKOFF", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub outbox_backoff: Duration,
    /// Let webhooks go to private, loopback and link-local addresses (a closed network); by
    /// default such endpoints are refused at registration and at every delivery.
    #[arg(long, env = "POPIA_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: bool,
    /// Reverse proxies (comma-separated CIDRs) whose `Forwarded` / `X-Forwarded-For` name the
    /// client; from any other peer those headers are ignored.
    #[arg(
        long,
        env = "POPIA_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Countries (ISO 3166 codes, comma-separated) whose mobiles may be sent a code by SMS.
    #[arg(
        long,
        env = "POPIA_SMS_COUNTRIES",
        value_delimiter = ',',
        default_value = "ZA",
        global = true
    )]
    pub sms_countries: Vec<String>,
    /// Codes one dealer may send by SMS in an hour (a stop to SMS pumping).
    #[arg(
        long,
        env = "POPIA_SMS_PER_DEALER_HOUR",
        default_value_t = 200,
        global = true
    )]
    pub sms_per_dealer_hour: u32,
    /// A bearer token `/metrics` requires; unset: `/metrics` is open on the bind address.
    #[arg(
        long,
        env = "POPIA_METRICS_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
}

/// Everything the service needs to start, resolved and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    pub db_pool_size: u32,
    pub data_dir: PathBuf,
    pub jwt: JwtSettings,
    pub demo: bool,
    pub brand: String,
    pub support_contact: Option<String>,
    /// `POPIA_PUBLIC_URL`: where customers reach the service.
    pub public_url: Option<url::Url>,
    pub follow_up_days: u32,
    /// The clock deadlines in days run on (tests move it forward).
    pub clock: crate::clock::Clock,
    pub notify: NotifySettings,
    pub guards: Guards,
}

/// What guards the public endpoints and the operations ones.
#[derive(Debug, Clone, Default)]
pub struct Guards {
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub sms: SmsPolicy,
    pub metrics_token: Option<String>,
}

/// Where the JWT secret came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    Generated(PathBuf),
    File(PathBuf),
}

impl Settings {
    /// Resolves the settings: creates the data folder, picks the default database, and reads
    /// or generates the JWT secret.
    pub fn resolve(&self, serve: &ServeArgs) -> anyhow::Result<(Config, SecretSource)> {
        ensure_writable(&self.data_dir)?;
        let database_url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("popia.db").display()),
        };
        let (secret, source) = self.jwt_secret()?;
        let config = Config {
            bind: serve.bind.clone(),
            database_url,
            db_pool_size: self.db_pool_size,
            data_dir: self.data_dir.clone(),
            jwt: JwtSettings {
                secret,
                issuer: self.jwt_issuer.clone(),
                audience: self.jwt_audience.clone(),
                public_key_pem: self.jwt_public_key.clone(),
                jwks_file: self.jwt_jwks.clone(),
            },
            demo: serve.demo,
            brand: self.brand.clone(),
            support_contact: self.support_contact.clone(),
            public_url: self.public_url.clone(),
            follow_up_days: self.follow_up_days,
            clock: crate::clock::Clock::default(),
            notify: NotifySettings {
                smtp_url: self.smtp_url.clone(),
                sms_url: self.sms_url.clone(),
                sms_token: self.sms_token.clone(),
                mailbox_dir: self
                    .mailbox_dir
                    .clone()
                    .unwrap_or_else(|| self.data_dir.join("mailbox")),
                mail_from: self.mail_from.clone(),
                retention: Duration::from_secs(u64::from(self.retention_days) * 86_400),
                delivery: DeliverySettings {
                    max_attempts: self.outbox_max_attempts.max(1),
                    base_backoff: self.outbox_backoff,
                    ..DeliverySettings::default()
                },
                webhook_allow_private: self.webhook_allow_private,
            },
            guards: Guards {
                trusted_proxies: self.trusted_proxies.clone(),
                sms: SmsPolicy {
                    countries: self
                        .sms_countries
                        .iter()
                        .map(|c| c.trim().to_ascii_uppercase())
                        .filter(|c| !c.is_empty())
                        .collect(),
                    per_dealer_per_hour: self.sms_per_dealer_hour,
                },
                metrics_token: self.metrics_token.clone().filter(|t| !t.is_empty()),
            },
        };
        config.secure_files()?;
        Ok((config, source))
    }

    fn jwt_secret(&self) -> anyhow::Result<(Vec<u8>, SecretSource)> {
        if let Some(secret) = &self.jwt_secret {
            if secret.len() < MIN_SECRET_BYTES {
                bail!("POPIA_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes");
            }
            return Ok((secret.as_bytes().to_vec(), SecretSource::Environment));
        }
        let path = self.data_dir.join("jwt-secret");
        if path.exists() {
            let secret = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the JWT secret {}", path.display()))?;
            let secret = secret.trim().as_bytes().to_vec();
            if secret.len() < MIN_SECRET_BYTES {
                bail!(
                    "the JWT secret in {} is shorter than {MIN_SECRET_BYTES} bytes",
                    path.display()
                );
            }
            return Ok((secret, SecretSource::File(path)));
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        write_private(&path, secret.as_bytes())?;
        Ok((secret.into_bytes(), SecretSource::Generated(path)))
    }
}

impl Config {
    /// Creates the data folder (0700) and makes what the service keeps on disk private to its
    /// user: the folder, the JWT secret, the SQLite database with its -wal, -shm and -journal
    /// files, and the mailbox folder with its messages. What already exists with a looser mode is
    /// tightened, with one log line naming it. Runs at every start, before the database opens.
    pub fn secure_files(&self) -> anyhow::Result<()> {
        ensure_writable(&self.data_dir)?;
        let mut paths = vec![self.data_dir.clone(), self.data_dir.join("jwt-secret")];
        if let Some(database) = crate::db::backend::sqlite_file(&self.database_url) {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut name = database.clone().into_os_string();
                name.push(suffix);
                paths.push(name.into());
            }
        }
        for path in paths {
            crate::private_files::make_private(&path)
                .with_context(|| format!("cannot make {} private", path.display()))?;
        }
        crate::notify::transport::secure_mailbox(&self.notify.mailbox_dir)
    }
}

/// Creates the folder (0700) and proves it can be written, so the service refuses to start with
/// a clear message rather than failing on its first write.
fn ensure_writable(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok")
        .with_context(|| format!("the data folder {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Writes a file only its owner can read (mode 0600 on Unix).
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// `POPIA_PUBLIC_URL`: an http or https URL with a host and no query, fragment or credentials;
/// a trailing `/` is dropped so that paths join cleanly.
fn parse_public_url(value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err("must have no query, fragment or user name".into());
    }
    let trimmed = url.as_str().trim_end_matches('/').to_owned();
    url::Url::parse(&trimmed).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> Settings {
        let cli = Cli::parse_from(["popia-api", "--data-dir", dir.to_str().unwrap()]);
        cli.settings
    }

    #[test]
    fn the_generated_secret_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let serve = ServeArgs {
            bind: "127.0.0.1:0".into(),
            demo: false,
        };
        let (first, source) = settings(dir.path()).resolve(&serve).unwrap();
        assert!(matches!(source, SecretSource::Generated(_)));
        let (second, source) = settings(dir.path()).resolve(&serve).unwrap();
        assert!(matches!(source, SecretSource::File(_)));
        assert_eq!(first.jwt.secret, second.jwt.secret);
        assert!(first.jwt.secret.len() >= MIN_SECRET_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("jwt-secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(first.database_url.starts_with("sqlite://"));
    }

    #[test]
    fn serve_is_the_default_command() {
        let cli = Cli::parse_from(["popia-api", "--bind", "0.0.0.0:9000", "--demo"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.bind, "0.0.0.0:9000");
        assert!(cli.serve.demo);
        let cli = Cli::parse_from([
            "popia-api",
            "token",
            "--role",
            "dealer",
            "--dealer",
            "a1",
            "--ttl",
            "15m",
        ]);
        match cli.command {
            Some(Command::Token(args)) => assert_eq!(args.ttl, Duration::from_secs(900)),
            other => panic!("{other:?}"),
        }
    }
}
