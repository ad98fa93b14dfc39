//! Storage: the connection pool, the per-backend module and one file of queries per table.

pub mod backend;
pub mod blacklist_pulls;
pub mod blacklists;
pub mod customer_reads;
pub mod customers;
pub mod dealer_logos;
pub mod dealers;
pub mod events;
pub mod feed_reads;
pub mod follow_ups;
pub mod idempotency;
pub mod leads;
pub mod lookup_alerts;
pub mod outbox;
pub mod reconcile;
pub mod schema;
pub mod sqlite_writer;
pub mod verifications;
pub mod webhooks;

use std::time::{Duration, Instant};

pub use backend::{write_atomically, write_transaction, Backend, DbConnection};

pub type Pool = r2d2::Pool<backend::ConnectionManager>;

/// Connects to the database the URL names, with the real error if it cannot.
pub fn connect(url: &str, max_size: u32) -> anyhow::Result<Pool> {
    let manager = backend::ConnectionManager::new(url).map_err(anyhow::Error::msg)?;
    // One direct attempt first: r2d2 would retry until its timeout and then report less.
    manager
        .establish()
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    let size = match manager.backend() {
        Backend::Postgres => max_size,
        // SQLite has one writer at a time; a few readers beside it is plenty.
        Backend::Sqlite => max_size.min(8),
    };
    // No `SELECT 1` before each checkout: it doubled the round trips of a short read. A dead
    // connection (PostgreSQL restarted) is found by the query that fails on it instead, and
    // `has_broken` keeps it from going back (the request that met it fails once).
    let pool = r2d2::Pool::builder()
        .test_on_check_out(false)
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .error_handler(Box::new(r2d2::LoggingErrorHandler))
        .build(manager)?;
    Ok(pool)
}

/// `value` with LIKE's wildcards escaped (use with `.escape('\\')`), to find it as written.
pub fn like_escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Applies pending migrations.
pub fn migrate(pool: &Pool) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    backend::run_migrations(&mut conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))
}

/// Runs `f` in a write transaction that first takes the dealer's write lock alone (on
/// PostgreSQL; SQLite has one writer anyway). Every action that changes a dealer's data goes
/// through here, but withdrawals ([`dealer_shared_transaction`]): its reads and writes cannot
/// interleave with another action's on the same dealer (an amendment racing a withdrawal).
pub fn dealer_transaction<T, E>(
    conn: &mut DbConnection,
    dealer: &str,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    locked_dealer_transaction(conn, dealer, backend::DealerLock::Exclusive, f)
}

/// Like [`dealer_transaction`], but beside other shared holders: for withdrawals, which only
/// take away (de-identify, close, redact, blacklist) and lock the customer rows they change
/// ([`customers::lock`]), so one dealer's withdrawals run in parallel while every other
/// action still runs alone. The change feed stays gap-free for followers without the
/// serialisation ([`events::FeedPosition`]).
pub fn dealer_shared_transaction<T, E>(
    conn: &mut DbConnection,
    dealer: &str,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    locked_dealer_transaction(conn, dealer, backend::DealerLock::Shared, f)
}

fn locked_dealer_transaction<T, E>(
    conn: &mut DbConnection,
    dealer: &str,
    mode: backend::DealerLock,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    write_transaction(conn, |conn| {
        backend::lock_dealer(conn, dealer, mode)?;
        f(conn)
    })
}

/// Whether the database answers a trivial query now. Connections are not tested when checked
/// out, so one the pool kept from before a restart fails here: it is discarded and the next one
/// tried (as r2d2's checkout test did), within the same two seconds. Any other failure answers.
pub fn ping(pool: &Pool) -> bool {
    use diesel::connection::SimpleConnection;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(mut conn) = pool.get_timeout(left.max(Duration::from_millis(1))) else {
            return false;
        };
        match conn.batch_execute("SELECT 1") {
            Ok(()) => return true,
            // Dropped, it is discarded rather than returned.
            Err(_) if backend::is_broken(&mut conn) && !left.is_zero() => continue,
            Err(_) => return false,
        }
    }
}

/// The current time as stored: UTC, rounded to microseconds (PostgreSQL keeps six digits, so
/// a value read back equals the value written on both backends).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now().naive_utc();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}

/// A page of rows read with one extra row, which tells whether a next page exists.
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64) -> Page<T> {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        Page {
            items: rows,
            has_more,
        }
    }
}
