//! The delivery worker inside `serve`: claims due messages with a lease, delivers them,
//! records each outcome, retries with exponential backoff and jitter, gives up after the maximum
//! number of attempts, and purges finished messages after the retention period. Several
//! replicas can run it on one PostgreSQL database: a claim is exclusive (`SKIP LOCKED`), and the
//! claim of a crashed replica expires with its lease.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use futures_util::StreamExt;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGaugeVec, Opts};
use rand::Rng;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::outbox::MessageKind;
use super::transport::{Attempt, Transports};
use super::{webhooks, DeliverySettings, NotifySettings};
use crate::db::outbox::{self as table, Message};
use crate::db::webhooks as endpoints;
use crate::db::{self, backend, Pool};

/// How often finished messages are purged and the depth gauge refreshed.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(5);
/// Deliveries in flight at once per worker.
const CONCURRENCY: usize = 8;

/// Outbox metrics, registered in the application's registry.
#[derive(Clone)]
pub struct OutboxMetrics {
    depth: IntGaugeVec,
    latency: Histogram,
    attempts: IntCounterVec,
}

impl OutboxMetrics {
    pub fn register(registry: &prometheus::Registry) -> anyhow::Result<OutboxMetrics> {
        let depth = IntGaugeVec::new(
            Opts::new("outbox_messages", "Outbox messages by status"),
            &["status"],
        )?;
        let latency = Histogram::with_opts(
            HistogramOpts::new(
                "outbox_delivery_latency_seconds",
                "Time from queueing a message to its delivery",
            )
            .buckets(vec![
                0.1, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 1800.0, 7200.0,
            ]),
        )?;
        let attempts = IntCounterVec::new(
            Opts::new(
                "outbox_delivery_attempts_total",
                "Delivery attempts by outcome",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(depth.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(attempts.clone()))?;
        Ok(OutboxMetrics {
            depth,
            latency,
            attempts,
        })
    }

    /// Metrics in a registry of their own, which nothing serves: for a worker driven by hand
    /// (tests deliver on demand with [`Worker::deliver_due`]).
    pub fn unregistered() -> anyhow::Result<OutboxMetrics> {
        OutboxMetrics::register(&prometheus::Registry::new())
    }
}

pub struct Worker {
    pool: Pool,
    transports: Arc<Transports>,
    settings: DeliverySettings,
    retention: Duration,
    metrics: OutboxMetrics,
    id: String,
}

impl Worker {
    pub fn new(
        pool: Pool,
        settings: &NotifySettings,
        metrics: OutboxMetrics,
    ) -> anyhow::Result<Worker> {
        Ok(Worker {
            pool,
            transports: Arc::new(Transports::from_settings(settings)?),
            settings: settings.delivery.clone(),
            retention: settings.retention,
            metrics,
            id: format!(
                "{}-{}-{:08x}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into()),
                std::process::id(),
                rand::rng().random::<u32>()
            ),
        })
    }

    /// Runs on `tasks` until `stop` is cancelled; then it finishes the deliveries it has
    /// started and gives back the claims it has not.
    pub fn spawn(self, tasks: &TaskTracker, stop: CancellationToken) {
        tasks.spawn(self.run(stop));
    }

    async fn run(self, stopped: CancellationToken) {
        tracing::info!(worker = %self.id, "outbox delivery worker started");
        let mut last_housekeeping: Option<Instant> = None;
        while !stopped.is_cancelled() {
            if last_housekeeping.is_none_or(|at| at.elapsed() >= HOUSEKEEPING_INTERVAL) {
                self.housekeeping().await;
                last_housekeeping = Some(Instant::now());
            }
            let delivered = match self.deliver_batch(&stopped).await {
                Ok(count) => count,
                Err(error) => {
                    tracing::warn!(%error, "outbox: cannot claim messages; will retry");
                    0
                }
            };
            if delivered == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = stopped.cancelled() => {}
                }
            }
        }
        tracing::info!(worker = %self.id, "outbox delivery worker stopped");
    }

    /// Claims every message due now and delivers it once, in batches, through the same code
    /// the background loop runs; returns how many were claimed. A message that fails is
    /// rescheduled with backoff as usual, not retried here. For delivering on demand (tests)
    /// in a process that runs no background worker.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        let never = CancellationToken::new();
        let mut total = 0;
        loop {
            let claimed = self.deliver_batch(&never).await?;
            total += claimed;
            // A short batch took everything that was due when it was claimed.
            if claimed < self.settings.batch_size.max(1) as usize {
                return Ok(total);
            }
        }
    }

    /// Claims one batch and delivers it; returns how many were claimed.
    async fn deliver_batch(&self, stopped: &CancellationToken) -> anyhow::Result<usize> {
        let (worker, lease, limit) = (
            self.id.clone(),
            chrono::Duration::from_std(self.settings.lease)?,
            self.settings.batch_size,
        );
        let (messages, endpoints) = self
            .blocking(move |conn| {
                let now = db::now();
                let ids = db::write_atomically(conn, |conn| {
                    backend::claim_due_messages(conn, &worker, now, now + lease, limit)
                })?;
                if ids.is_empty() {
                    return Ok((Vec::new(), Vec::new()));
                }
                let messages = table::load(conn, &ids)?;
                // Webhook deliveries go where their endpoint says now, signed with its secrets.
                let webhook_ids: Vec<i64> =
                    messages.iter().filter_map(|m| m.0.webhook_id).collect();
                if webhook_ids.is_empty() {
                    return Ok((messages, Vec::new()));
                }
                Ok((messages, endpoints::by_ids(conn, &webhook_ids)?))
            })
            .await?;
        let claimed = messages.len();
        let mut unsent = Vec::new();
        let endpoints = &endpoints;
        let mut deliveries = futures_util::stream::iter(messages)
            .map(|message| async move {
                if stopped.is_cancelled() {
                    return Err(message.0.id);
                }
                let endpoint = message
                    .0
                    .webhook_id
                    .and_then(|id| endpoints.iter().find(|e| e.id == id));
                let attempt = self.transports.deliver(&message, endpoint).await;
                self.record(&message, attempt).await;
                Ok(())
            })
            .buffer_unordered(CONCURRENCY);
        while let Some(outcome) = deliveries.next().await {
            if let Err(id) = outcome {
                unsent.push(id);
            }
        }
        if !unsent.is_empty() {
            let worker = self.id.clone();
            self.blocking(move |conn| table::release(conn, &unsent, &worker))
                .await?;
        }
        Ok(claimed)
    }

    async fn record(&self, (message, _): &Message, attempt: Attempt) {
        let (id, worker, attempts) = (message.id, self.id.clone(), message.attempts + 1);
        let created = message.created_at;
        let Attempt {
            result,
            status_code,
            give_up,
            endpoint_gone,
        } = attempt;
        let is_webhook = message.channel == table::WEBHOOK;
        let retry_at = match (give_up, is_webhook) {
            (true, _) => None,
            // Webhooks are retried for a time, not a number of attempts.
            (false, true) => webhooks::retry_at(&self.settings, created, attempts, db::now()),
            (false, false) => self.next_attempt(attempts),
        };
        let gone_endpoint = message.webhook_id.filter(|_| endpoint_gone);
        // A withdrawal's own messages name the person: once delivered (or failed for good)
        // their content goes at once, whatever the retention.
        let forget_when_done = forget_when_done(&message.kind);
        let recorded = match result {
            Ok(()) => {
                self.metrics
                    .attempts
                    .with_label_values(&["delivered"])
                    .inc();
                let now = db::now();
                let latency = (now - created).to_std().unwrap_or_default();
                self.metrics.latency.observe(latency.as_secs_f64());
                let purge_all = self.retention.is_zero();
                self.blocking(move |conn| {
                    if is_webhook {
                        db::write_transaction(conn, |conn| {
                            if table::record_sent(conn, id, &worker, now, false)? > 0 {
                                endpoints::record_status(conn, id, status_code)?;
                            }
                            Ok::<_, diesel::result::Error>(())
                        })?;
                    } else {
                        db::write_atomically(conn, |conn| {
                            table::record_sent(conn, id, &worker, now, forget_when_done)
                        })?;
                    }
                    if purge_all {
                        table::purge_finished(conn, now, now)?;
                    }
                    Ok(())
                })
                .await
            }
            Err(error) => {
                let outcome = if retry_at.is_some() {
                    "retry"
                } else {
                    "failed"
                };
                self.metrics.attempts.with_label_values(&[outcome]).inc();
                tracing::warn!(message = id, attempts, %error, outcome, "outbox: delivery failed");
                let gave_up = retry_at.is_none();
                self.blocking(move |conn| {
                    db::write_transaction(conn, |conn| {
                        let now = db::now();
                        let recorded =
                            table::record_failure(conn, id, &worker, &error, retry_at, now)?;
                        if is_webhook && recorded > 0 {
                            endpoints::record_status(conn, id, status_code)?;
                        }
                        if gave_up && forget_when_done && recorded > 0 {
                            table::purge(conn, &[id], now)?;
                        }
                        // 410 Gone: nothing more is queued for the endpoint or sent to it.
                        if let Some(webhook) = gone_endpoint.filter(|_| recorded > 0) {
                            endpoints::disable(conn, webhook, now)?;
                            endpoints::cancel_pending(conn, webhook, webhooks::GONE, now)?;
                        }
                        Ok(())
                    })
                })
                .await
            }
        };
        if let Err(error) = recorded {
            // The lease will expire and the message will be tried again.
            tracing::error!(message = id, %error, "outbox: cannot record a delivery outcome");
        }
    }

    /// When to try again after `attempts` failures, or None to give up. Exponential backoff
    /// with "equal jitter": half the delay fixed, half random, so replicas do not retry in step.
    fn next_attempt(&self, attempts: i32) -> Option<NaiveDateTime> {
        if attempts >= self.settings.max_attempts {
            return None;
        }
        let delay = backoff(&self.settings, attempts);
        Some(db::now() + chrono::Duration::from_std(delay).unwrap_or_default())
    }

    async fn housekeeping(&self) {
        let retention = chrono::Duration::from_std(self.retention).unwrap_or_default();
        let result = self
            .blocking(move |conn| {
                let now = db::now();
                table::purge_finished(conn, now - retention, now)?;
                table::depth(conn)
            })
            .await;
        match result {
            Ok(depth) => {
                for status in [table::PENDING, table::SENT, table::FAILED] {
                    let count = depth
                        .iter()
                        .find(|(s, _)| s == status)
                        .map_or(0, |(_, n)| *n);
                    self.metrics.depth.with_label_values(&[status]).set(count);
                }
            }
            Err(error) => tracing::warn!(%error, "outbox: housekeeping failed"),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut db::DbConnection) -> diesel::QueryResult<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<T> {
            let mut conn = pool.get()?;
            Ok(work(&mut conn)?)
        })
        .await?
    }
}

/// Messages sent because someone withdrew consent: kept only until they are done with.
fn forget_when_done(kind: &str) -> bool {
    [MessageKind::ConsentWithdrawn, MessageKind::DeidentifyAlert]
        .iter()
        .any(|k| k.as_str() == kind)
}

/// The delay after `attempts` failures: base × 2^(attempts−1), capped, with equal jitter.
pub fn backoff(settings: &DeliverySettings, attempts: i32) -> Duration {
    let exponent = attempts.clamp(1, 30) as u32 - 1;
    let full = settings
        .base_backoff
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(settings.max_backoff);
    let half = full / 2;
    half + half.mul_f64(rand::rng().random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let settings = DeliverySettings {
            base_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(100),
            ..DeliverySettings::default()
        };
        for _ in 0..50 {
            let first = backoff(&settings, 1);
            assert!(first >= Duration::from_secs(5) && first <= Duration::from_secs(10));
            let third = backoff(&settings, 3);
            assert!(third >= Duration::from_secs(20) && third <= Duration::from_secs(40));
            let capped = backoff(&settings, 20);
            assert!(capped >= Duration::from_secs(50) && capped <= Duration::from_secs(100));
        }
    }
}
