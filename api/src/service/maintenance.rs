//! Retention (POPIA s14) beyond the outbox: verifications are deleted an hour after they expire
//! (they are kept that long only to count sends), NOT FOUND alert markers after their day, and
//! idempotency records after 24 hours.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::db::{self, idempotency, lookup_alerts, verifications, DbConnection, Pool};

/// How long past expiry a verification is kept: the longest send-limit window.
pub const VERIFICATION_GRACE: Duration = crate::service::pi::SENDS_PER_CLIENT.1;

/// Runs every purge once, as of `now`.
pub fn purge(conn: &mut DbConnection, now: NaiveDateTime) -> diesel::QueryResult<usize> {
    let grace = chrono::Duration::from_std(VERIFICATION_GRACE).unwrap_or_default();
    let verifications = verifications::purge_expired(conn, now - grace)?;
    let alerts = lookup_alerts::purge_before(conn, now.date())?;
    let keys = idempotency::purge_before(conn, now - chrono::Duration::hours(24))?;
    Ok(verifications + alerts + keys)
}

/// Runs [`purge`] every `interval` until the process ends.
pub fn spawn(pool: Pool, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let pool = pool.clone();
            let result = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let mut conn = pool.get()?;
                Ok(purge(&mut conn, db::now())?)
            })
            .await;
            match result {
                Ok(Ok(purged)) if purged > 0 => {
                    tracing::info!(purged, "retention: purged expired rows")
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(%error, "retention purge failed"),
                Err(error) => tracing::warn!(%error, "retention purge panicked"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}
