//! A real server on 127.0.0.1:0 with its own database: a fresh SQLite file, or, when
//! `POPIA_TEST_DATABASE_URL` names a PostgreSQL server, a fresh database there that is dropped
//! when the test ends.

use std::path::PathBuf;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use popia_api::auth::JwtSettings;
use popia_api::notify::{DeliverySettings, NotifySettings};
use popia_api::{Application, Config};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const ISSUER: &str = "popia-gateway";
pub const AUDIENCE: &str = "popia-api";

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub mailbox: PathBuf,
    pub client: reqwest::Client,
    /// Stops the server as SIGTERM would.
    pub stopper: popia_api::startup::Stopper,
    /// The server's task: done once it has stopped and its background tasks have wound down.
    pub running: std::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
    _database: TestDatabase,
    _data_dir: tempfile::TempDir,
}

enum TestDatabase {
    Sqlite,
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Every log line of this test process, captured at debug level so a test can prove that no
/// personal information reached the log.
static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogCapture;

impl std::io::Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(|| LogCapture)
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .try_init();
    });
}

/// The log output captured so far.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

/// Starts a server; `adjust` may change the configuration first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    try_spawn_app_with(adjust)
        .await
        .expect("application starts")
}

pub async fn try_spawn_app_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<TestApp> {
    capture_logs();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (database_url, database) = match std::env::var("POPIA_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("popia_test_{:016x}", rand_u64());
            let mut conn = PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .expect("create test database");
            let base = admin_url.rsplit_once('/').expect("URL with a database").0;
            (
                format!("{base}/{name}"),
                TestDatabase::Postgres { admin_url, name },
            )
        }
        _ => (
            format!("sqlite://{}", data_dir.path().join("test.db").display()),
            TestDatabase::Sqlite,
        ),
    };
    let mut config = Config {
        bind: "127.0.0.1:0".into(),
        database_url,
        db_pool_size: 8,
        data_dir: data_dir.path().to_path_buf(),
        jwt: JwtSettings {
            secret: SECRET.as_bytes().to_vec(),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            public_key_pem: None,
            jwks_file: Some(fixture("jwks.json")),
        },
        demo: false,
        brand: "POPIA Gateway".into(),
        public_url: None,
        notify: NotifySettings {
            smtp_url: None,
            sms_url: None,
            sms_token: None,
            mailbox_dir: data_dir.path().join("mailbox"),
            mail_from: "POPIA Gateway <popia@gateway.test>".into(),
            retention: Duration::from_secs(30 * 86_400),
            delivery: DeliverySettings {
                poll_interval: Duration::from_millis(50),
                base_backoff: Duration::from_millis(200),
                ..DeliverySettings::default()
            },
        },
        guards: Default::default(),
    };
    adjust(&mut config);
    let database_url = config.database_url.clone();
    let mailbox = config.notify.mailbox_dir.clone();
    let app = Application::build(config).await?;
    let address = format!("http://127.0.0.1:{}", app.port());
    let stopper = app.stopper();
    let running = std::sync::Mutex::new(Some(tokio::spawn(app.run_until_stopped())));
    Ok(TestApp {
        address,
        database_url,
        mailbox,
        stopper,
        running,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            // Below the server's keep-alive (5 s): never send on a connection it is closing.
            .pool_idle_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _database: database,
        _data_dir: data_dir,
    })
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    hasher.finish()
}

/// Claims for a token, as JSON so tests can leave out or break any of them.
pub fn claims(role: &str, dealers: &[&str]) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": format!("{role}-user"),
        "exp": now + 600, "iat": now, "jti": format!("{:x}", rand_u64()),
        "role": role, "dealers": dealers,
    })
}

pub fn sign(claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub fn sign_with(alg: Algorithm, kid: Option<&str>, private_pem: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(private_pem)).unwrap();
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        _ => EncodingKey::from_ec_pem(&pem).unwrap(),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, &key).unwrap()
}

pub fn admin() -> String {
    sign(&claims("admin", &[]))
}

/// A `subject` token as the service issues after verification (for tests that skip the code).
pub fn subject(dealer: &str, email: &str) -> String {
    let mut claims = claims("subject", &[dealer]);
    claims["pi"] = json!({ "email": email });
    // Each token its own subject, as each verification is: spending one spends no other.
    claims["sub"] = json!(format!("subject-{:x}", rand_u64()));
    sign(&claims)
}

pub fn dealer(id: &str) -> String {
    sign(&claims("dealer", &[id]))
}

/// A response's status and JSON body (Null when the body is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts a Problem response naming `field` among its refused fields.
    pub fn assert_field_refused(&self, field: &str) {
        assert_eq!(
            self.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            self.body
        );
        assert_eq!(self.content_type, "application/problem+json");
        let fields: Vec<&str> = self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors in {}", self.body))
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }

    pub fn assert_problem(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status.as_u16(), "{}", self.body);
        assert!(self.body["type"].is_string() && self.body["title"].is_string());
    }
}

impl TestApp {
    /// A pool of this app's database, for looking behind the API.
    pub fn pool(&self) -> popia_api::db::Pool {
        popia_api::db::connect(&self.database_url, 4).expect("connect to the test database")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        into_reply(response).await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.address))
            .send()
            .await;
        response
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Sends raw bytes with a given content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        into_reply(response).await
    }

    pub async fn create_dealer(&self, id: &str) -> Value {
        let reply = self
            .post(
                "/v1/dealers",
                &admin(),
                json!({
                    "id": id, "name": format!("{id} name"), "website": format!("https://{id}.co.za"),
                    "key_contacts": [{"name": "Thandi Nkosi", "email": format!("thandi@{id}.co.za")}],
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }

    pub async fn create_customer(&self, dealer_id: &str, body: Value) -> Value {
        let reply = self
            .post(
                &format!("/v1/dealers/{dealer_id}/customers"),
                &dealer(dealer_id),
                body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body
    }
}

/// The newest one-time code sent to `recipient` (an email or an E.164 mobile), read from the
/// mailbox folder the way the person would read their inbox.
pub async fn latest_code(app: &TestApp, recipient: &str) -> String {
    code_after(app, recipient, 0).await
}

/// How many one-time codes reached `recipient` so far.
pub fn codes_received(app: &TestApp, recipient: &str) -> usize {
    codes_to(&app.mailbox, recipient).len()
}

/// The newest code to `recipient` once more than `seen` codes reached them: the code of a send
/// made after counting `seen`, never an older one still in the inbox.
pub async fn code_after(app: &TestApp, recipient: &str, seen: usize) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let codes = codes_to(&app.mailbox, recipient);
        if codes.len() > seen {
            return codes.last().unwrap().clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no code reached {recipient}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every code sent to `recipient`, oldest first (mailbox files are named in sending order).
fn codes_to(mailbox: &std::path::Path, recipient: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(mailbox) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains("-one_time_code."))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|path| {
            let bytes = std::fs::read(path).ok()?;
            let text = if path.to_string_lossy().ends_with(".eml") {
                let parsed = mail_parser::MessageParser::default().parse(&bytes)?;
                let to = parsed.to()?.first()?.address()?.to_owned();
                if to != recipient {
                    return None;
                }
                parsed.body_text(0)?.into_owned()
            } else {
                let text = String::from_utf8(bytes).ok()?;
                if !text.starts_with(&format!("To: {recipient}\n")) {
                    return None;
                }
                text.split("\n\n").nth(1)?.to_owned()
            };
            text.split_whitespace()
                .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
        })
        .collect()
}

/// Asks abc-motors for a one-time code to `identifier` (`{"email": …}` or `{"mobile": …}`).
pub async fn start_verification(app: &TestApp, identifier: Value) -> Reply {
    app.call(
        Method::POST,
        "/v1/dealers/abc-motors/pi/verifications",
        None,
        Some(identifier),
    )
    .await
}

/// Proves control of `identifier` (`{"email": …}` or `{"mobile": …}`) and returns the subject token.
pub async fn verify(app: &TestApp, dealer_id: &str, identifier: Value, recipient: &str) -> String {
    let seen = codes_received(app, recipient);
    let started = app
        .call(
            Method::POST,
            &format!("/v1/dealers/{dealer_id}/pi/verifications"),
            None,
            Some(identifier),
        )
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let id = started.body["verification_id"].as_str().unwrap().to_owned();
    let code = code_after(app, recipient, seen).await;
    let confirmed = app
        .call(
            Method::POST,
            &format!("/v1/dealers/{dealer_id}/pi/verifications/{id}/confirm"),
            None,
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    confirmed.body["token"].as_str().unwrap().to_owned()
}

pub fn fred() -> Value {
    json!({
        "first_name": "Fred", "last_name": "Basset", "email": "Fred@Sea.com",
        "mobile": "083 656 7788", "consent_process": true, "consent_market": true,
        "consent_source": "website form",
    })
}

async fn into_reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

/// The email blacklist of abc-motors.
pub const EMAILS: &str = "/v1/dealers/abc-motors/blacklist/emails";

/// An operator token for abc-motors.
pub fn operator() -> String {
    sign(&claims("operator", &["abc-motors"]))
}

/// Day `n` of the seeded blacklist entries (from 2026-01-01).
pub fn day(n: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(n as i64)
}

/// Seeds `count` emails straight into the table, a thousand rows a statement, on days spread
/// over a month.
pub fn seed_emails(app: &TestApp, count: usize) {
    seed_emails_from(app, 0, count);
}

/// Seeds emails number `from` to `to` (exclusive).
pub fn seed_emails_from(app: &TestApp, from: usize, to: usize) {
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    for start in (from..to).step_by(1000) {
        let rows: Vec<String> = (start..(start + 1000).min(to))
            .map(|n| {
                let on = day((n % 30) as u32);
                format!("('abc-motors', 'person{n:07}@mail.co.za', '{on}', '{on}')")
            })
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO blacklist_emails (dealer_id, value, added_on, changed_on) VALUES {}",
            rows.join(", ")
        ))
        .execute(&mut *conn)
        .unwrap();
    }
}
