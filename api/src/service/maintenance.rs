//! Retention (POPIA s14) beyond the outbox: verifications are deleted an hour after they expire
//! (they are kept that long only to count sends), NOT FOUND alert markers after their day,
//! idempotency records after 24 hours, wrong codes after 48, and staff reads of records, change
//! feed readers and mailbox files after the retention period. The same background task runs the storage hygiene
//! pass on its own, shorter interval, and queues the follow-up reminders owed.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use chrono::NaiveDateTime;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::db::{
    self, customer_reads, feed_reads, idempotency, lookup_alerts, verifications, DbConnection, Pool,
};
use crate::notify::{transport, Branding};
use crate::service::{follow_ups, storage_hygiene};

/// How long past expiry a verification is kept: the longest send-limit window.
pub const VERIFICATION_GRACE: Duration = crate::service::pi::SENDS_PER_CLIENT.1;

/// Runs every purge once, as of `now`.
pub fn purge(conn: &mut DbConnection, now: NaiveDateTime) -> diesel::QueryResult<usize> {
    let grace = chrono::Duration::from_std(VERIFICATION_GRACE).unwrap_or_default();
    let verifications = verifications::purge_expired(conn, now - grace)?;
    let alerts = lookup_alerts::purge_before(conn, now.date())?;
    let keys = idempotency::purge_before(conn, now - chrono::Duration::hours(24))?;
    // Wrong codes count for a day and lock for a day after the last of them.
    let failures = verifications::purge_failures(conn, now - chrono::Duration::hours(48))?;
    Ok(verifications + alerts + keys + failures)
}

/// Forgets the access logs kept for the retention period, as of `now`: staff reads of records,
/// and change-feed readers whose last read is that old.
pub fn purge_access_logs(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    retention: Duration,
) -> diesel::QueryResult<usize> {
    let before = now - chrono::Duration::from_std(retention).unwrap_or_default();
    Ok(customer_reads::purge_before(conn, before)? + feed_reads::purge_before(conn, before)?)
}

/// What the background task does, and how often.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// How often [`purge`] and the mailbox purge run.
    pub purge_every: Duration,
    /// How often [`storage_hygiene::run`] runs: at most 30 s, so a withdrawal is unlinked at the
    /// storage level within the contract's 60 s.
    pub hygiene_every: Duration,
    /// The mailbox folder, whose files are removed after `retention`.
    pub mailbox_dir: PathBuf,
    pub retention: Duration,
    /// How often follow-up reminders owed are queued ([`follow_ups::send_reminders`]).
    pub remind_every: Duration,
    pub branding: Branding,
    pub clock: Clock,
}

/// Runs every job at once, then each on its own interval, until `stop` is cancelled (a job
/// under way finishes first).
pub fn spawn(tasks: &TaskTracker, stop: CancellationToken, pool: Pool, schedule: Schedule) {
    tasks.spawn(async move {
        let mut purges = tokio::time::interval(schedule.purge_every);
        let mut passes = tokio::time::interval(schedule.hygiene_every);
        let mut reminders = tokio::time::interval(schedule.remind_every);
        purges.set_missed_tick_behavior(MissedTickBehavior::Delay);
        passes.set_missed_tick_behavior(MissedTickBehavior::Delay);
        reminders.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = purges.tick() => purge_all(&pool, &schedule).await,
                _ = passes.tick() => hygiene(&pool).await,
                _ = reminders.tick() => remind(&pool, &schedule).await,
            }
        }
    });
}

async fn purge_all(pool: &Pool, schedule: &Schedule) {
    let pool = pool.clone();
    let (mailbox, retention) = (schedule.mailbox_dir.clone(), schedule.retention);
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, usize)> {
        let mut conn = pool.get()?;
        let now = db::now();
        let rows = purge(&mut conn, now)? + purge_access_logs(&mut conn, now, retention)?;
        let older_than = SystemTime::now()
            .checked_sub(retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let files = transport::purge_mailbox(&mailbox, older_than)?;
        Ok((rows, files))
    })
    .await;
    match result {
        Ok(Ok((0, 0))) => {}
        Ok(Ok((rows, files))) => {
            tracing::info!(
                rows,
                files,
                "retention: purged expired rows and mailbox files"
            )
        }
        Ok(Err(error)) => tracing::warn!(%error, "retention purge failed"),
        Err(error) => tracing::warn!(%error, "retention purge panicked"),
    }
}

async fn remind(pool: &Pool, schedule: &Schedule) {
    let (pool, branding, now) = (
        pool.clone(),
        schedule.branding.clone(),
        schedule.clock.now(),
    );
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut conn = pool.get()?;
        follow_ups::send_reminders(&mut conn, &branding, now).map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await;
    match result {
        Ok(Ok(0)) => {}
        Ok(Ok(queued)) => tracing::info!(queued, "follow-ups: reminders queued"),
        Ok(Err(error)) => tracing::warn!(%error, "follow-up reminders failed"),
        Err(error) => tracing::warn!(%error, "follow-up reminders panicked"),
    }
}

async fn hygiene(pool: &Pool) {
    let pool = pool.clone();
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        Ok(storage_hygiene::run(&mut *pool.get()?, db::now().date())?)
    })
    .await;
    match result {
        Ok(Ok(rewritten)) => tracing::debug!(rewritten, "storage hygiene pass done"),
        Ok(Err(error)) => tracing::warn!(%error, "storage hygiene pass failed"),
        Err(error) => tracing::warn!(%error, "storage hygiene pass panicked"),
    }
}
