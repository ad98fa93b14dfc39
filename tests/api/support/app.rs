//! A real server on 127.0.0.1:0 with its own database: a fresh SQLite file, or, when
//! `POPIA_TEST_DATABASE_URL` names a PostgreSQL server, a fresh database there that is dropped
//! when the test ends. Messages are delivered on demand (`TestApp::deliver_pending`).

use std::path::PathBuf;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use popia_api::auth::JwtSettings;
use popia_api::notify::worker::{OutboxMetrics, Worker};
use popia_api::notify::{DeliverySettings, NotifySettings};
use popia_api::{Application, Config};
use reqwest::Method;
use serde_json::{json, Value};

use super::logs::capture_logs;
use super::reply::{into_reply, Reply};
use super::tokens::{admin, dealer, AUDIENCE, ISSUER, SECRET};
use reqwest::StatusCode;

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub mailbox: PathBuf,
    pub client: reqwest::Client,
    /// Stops the server as SIGTERM would.
    pub stopper: popia_api::startup::Stopper,
    /// The server's task: done once it has stopped and its background tasks have wound down.
    pub running: std::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
    /// A delivery worker over the same database and settings, driven by hand with
    /// [`TestApp::deliver_pending`]. The server's own worker is off unless a test turns it on
    /// (`config.notify.delivery.enabled = true`) to watch the worker itself.
    worker: Worker,
    /// The server's clock for deadlines in days: a test moves it forward instead of waiting.
    pub clock: popia_api::clock::Clock,
    /// What the server's emails are signed with, for passes a test runs by hand.
    branding: popia_api::notify::Branding,
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

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
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
                // No TLS on loopback: a server a test left running can still be reconnecting
                // (its pool refilling after the database was dropped) when the process exits,
                // and OpenSSL's exit-time cleanup under such a thread crashed one CI run with
                // SIGSEGV after every test had passed. The TLS test asks for it explicitly.
                format!("{base}/{name}?sslmode=disable"),
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
        support_contact: None,
        public_url: None,
        follow_up_days: 30,
        clock: popia_api::clock::Clock::default(),
        notify: NotifySettings {
            smtp_url: None,
            sms_url: None,
            sms_token: None,
            mailbox_dir: data_dir.path().join("mailbox"),
            mail_from: "POPIA Gateway <popia@gateway.test>".into(),
            retention: Duration::from_secs(30 * 86_400),
            delivery: DeliverySettings {
                // Tests deliver with `deliver_pending`; the ones about the worker turn it on.
                enabled: false,
                poll_interval: Duration::from_millis(50),
                base_backoff: Duration::from_millis(200),
                ..DeliverySettings::default()
            },
            // The webhook receivers of tests listen on loopback.
            webhook_allow_private: true,
        },
        guards: Default::default(),
    };
    adjust(&mut config);
    let database_url = config.database_url.clone();
    let mailbox = config.notify.mailbox_dir.clone();
    let notify = config.notify.clone();
    let clock = config.clock.clone();
    let branding = popia_api::notify::Branding::new(&config.brand, &notify.mail_from)
        .with_support(config.support_contact.as_deref())
        .with_public_url(config.public_url.as_ref())
        .with_follow_up_days(config.follow_up_days);
    let app = Application::build(config).await?;
    let worker = Worker::new(
        popia_api::db::connect(&database_url, 2)?,
        &notify,
        OutboxMetrics::unregistered()?,
    )?;
    let address = format!("http://127.0.0.1:{}", app.port());
    let stopper = app.stopper();
    let running = std::sync::Mutex::new(Some(tokio::spawn(app.run_until_stopped())));
    Ok(TestApp {
        address,
        database_url,
        mailbox,
        stopper,
        running,
        worker,
        clock,
        branding,
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

pub fn rand_u64() -> u64 {
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

impl TestApp {
    /// Claims every message due now and delivers it once, through the worker's own code
    /// path; returns how many were claimed. The test then reads the result at once.
    pub async fn deliver_pending(&self) -> usize {
        self.worker
            .deliver_due()
            .await
            .expect("pending messages delivered")
    }

    /// Runs the follow-up reminder pass as the server's background task does, as of the app's
    /// clock; returns how many reminders it queued.
    pub fn send_follow_up_reminders(&self) -> usize {
        let pool = self.pool();
        let mut conn = pool.get().unwrap();
        popia_api::service::follow_ups::send_reminders(&mut conn, &self.branding, self.clock.now())
            .expect("reminders queued")
    }

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
