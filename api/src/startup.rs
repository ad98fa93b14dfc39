//! Builds the application from a [`Config`]: keys, database, migrations, the HTTP server bound
//! to its port. Tests build it on `127.0.0.1:0` and read the port back.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{KeyedHasher, Keys};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, Pool};
use crate::http::client_address::TrustedProxies;
use crate::http::fallback::{self, RouteTable};
use crate::http::idempotency::idempotency;
use crate::http::openapi;
use crate::http::ops::MetricsToken;
use crate::http::problem::ApiError;
use crate::http::webhooks::WebhookAddresses;
use crate::notify::worker::{OutboxMetrics, Worker};
use crate::notify::Branding;
use crate::observability::metrics::Metrics;
use crate::observability::middleware::observe;
use crate::service;
use crate::service::pi::Sender;

pub struct Application {
    port: u16,
    server: Server,
    /// Cancelled when the server has stopped: every background task then winds down.
    stop: CancellationToken,
    /// The background tasks (delivery worker, retention and storage passes), awaited at exit.
    tasks: TaskTracker,
}

/// Stops a running application as SIGTERM does: no new connections, in-flight requests
/// answered (up to 10 s), then the background tasks wound down.
#[derive(Clone)]
pub struct Stopper(actix_web::dev::ServerHandle);

impl Stopper {
    pub async fn stop(&self) {
        self.0.stop(true).await;
    }
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        // One TLS crypto provider for the SMTP and SMS clients (a second install is a no-op).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let keys = Keys::load(&config.jwt)?;
        // Before the database opens: the data folder exists, private, and so do its files.
        config.secure_files()?;
        crate::http::blocking::limit_in_flight(config.db_pool_size);
        let pool = {
            let (url, size) = (config.database_url.clone(), config.db_pool_size);
            web::block(move || -> anyhow::Result<Pool> {
                let pool = db::connect(&url, size)?;
                db::migrate(&pool)?;
                Ok(pool)
            })
            .await??
        };
        let hasher = KeyedHasher::derive(&config.jwt.secret);
        let branding = Branding::new(&config.brand, &config.notify.mail_from)
            .with_support(config.support_contact.as_deref())
            .with_public_url(config.public_url.as_ref())
            .with_follow_up_days(config.follow_up_days);
        {
            // A restored backup may hold a withdrawn person's record live again: never serve it.
            let (pool, hasher, branding) = (pool.clone(), hasher.clone(), branding.clone());
            web::block(move || -> anyhow::Result<()> {
                let mut conn = pool.get()?;
                service::reconcile::at_start(&mut conn, &hasher, &branding).map(drop)
            })
            .await??;
        }
        if config.demo {
            let (pool, hasher, branding) = (pool.clone(), hasher.clone(), branding.clone());
            let seeded = web::block(move || -> anyhow::Result<bool> {
                let mut conn = pool.get()?;
                service::demo::seed(&mut conn, &hasher, &branding)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await??;
            if seeded {
                tracing::info!(dealer = service::demo::DEMO_DEALER, "added the demo dealer");
            }
        }
        let listener = TcpListener::bind(&config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let metrics = Metrics::new()?;
        let outbox_metrics = OutboxMetrics::register(metrics.registry())?;
        let (stop, tasks) = (CancellationToken::new(), TaskTracker::new());
        let worker = Worker::new(pool.clone(), &config.notify, outbox_metrics)?;
        if config.notify.delivery.enabled {
            worker.spawn(&tasks, stop.clone());
        }
        service::maintenance::spawn(
            &tasks,
            stop.clone(),
            pool.clone(),
            service::maintenance::Schedule {
                purge_every: Duration::from_secs(300),
                hygiene_every: Duration::from_secs(30),
                mailbox_dir: config.notify.mailbox_dir.clone(),
                retention: config.notify.retention,
                remind_every: Duration::from_secs(600),
                branding: branding.clone(),
                clock: config.clock.clone(),
            },
        );
        let sender = Sender::new(
            hasher.clone(),
            branding.clone(),
            config.guards.sms.clone(),
            metrics.registry(),
        )?;
        let shared = Shared {
            pool,
            keys,
            hasher,
            metrics,
            branding,
            sender,
            proxies: TrustedProxies(config.guards.trusted_proxies.clone()),
            metrics_token: MetricsToken(config.guards.metrics_token.clone()),
            webhook_addresses: WebhookAddresses {
                allow_private: config.notify.webhook_allow_private,
            },
            clock: config.clock.clone(),
            page: crate::page::PageSettings::new(config.public_url.as_ref()),
        };
        let server = server(listener, shared)?;
        Ok(Application {
            port,
            server,
            stop,
            tasks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What stops this application as SIGTERM would (for tests and embedders).
    pub fn stopper(&self) -> Stopper {
        Stopper(self.server.handle())
    }

    /// Serves until the server stops (SIGINT/SIGTERM: actix stops accepting and answers the
    /// requests in flight), then cancels the background tasks and waits for them: the delivery
    /// worker finishes the deliveries it has started and gives back the claims it has not.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        tracing::info!("stopped");
        result
    }
}

/// What every request may use, shared by the server's workers.
struct Shared {
    pool: Pool,
    keys: Keys,
    hasher: KeyedHasher,
    metrics: Metrics,
    branding: Branding,
    sender: Sender,
    proxies: TrustedProxies,
    metrics_token: MetricsToken,
    webhook_addresses: WebhookAddresses,
    clock: Clock,
    page: crate::page::PageSettings,
}

fn server(listener: TcpListener, shared: Shared) -> anyhow::Result<Server> {
    let document = openapi::document();
    let yaml = web::Data::new(openapi::to_yaml(&document));
    let routes = web::Data::new(RouteTable::from_document(&document));
    let metrics = web::Data::new(shared.metrics);
    let branding = web::Data::new(shared.branding);
    let hasher = web::Data::new(shared.hasher);
    let pool = web::Data::new(shared.pool);
    let keys = web::Data::new(shared.keys);
    let sender = web::Data::new(shared.sender);
    let proxies = web::Data::new(shared.proxies);
    let metrics_token = web::Data::new(shared.metrics_token);
    let webhook_addresses = web::Data::new(shared.webhook_addresses);
    let clock = web::Data::new(shared.clock);
    let page = web::Data::new(shared.page);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .app_data(keys.clone())
            .app_data(metrics.clone())
            .app_data(branding.clone())
            .app_data(hasher.clone())
            .app_data(sender.clone())
            .app_data(proxies.clone())
            .app_data(metrics_token.clone())
            .app_data(webhook_addresses.clone())
            .app_data(clock.clone())
            .app_data(page.clone())
            .app_data(routes.clone())
            .app_data(yaml.clone())
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| ApiError::NotFound("no such resource".into()).into()),
            )
            .wrap(from_fn(idempotency))
            .wrap(from_fn(observe))
            .into_utoipa_app()
            .configure(crate::http::routes)
            .into_app()
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .url("/openapi.json", document.clone())
                    .config(
                        utoipa_swagger_ui::Config::default()
                            .validator_url("none")
                            .persist_authorization(true),
                    ),
            )
            .configure(crate::page::routes)
            .route("/docs", web::get().to(redirect_to_docs))
            .route("/openapi.yaml", web::get().to(openapi_yaml))
            .default_service(web::to(fallback::not_matched))
    })
    .listen(listener)?
    .shutdown_timeout(10)
    .run();
    Ok(server)
}

async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}

async fn openapi_yaml(yaml: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(yaml.get_ref().clone())
}
