//! Everything that differs between PostgreSQL and SQLite lives here; the rest of the code is
//! written once against [`DbConnection`].

pub mod copy_csv;
pub mod outbox_writes;
pub mod prepared;
pub mod search;
pub mod withdrawal_steps;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::Text;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// One connection type for both backends, picked at run time from the database URL.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// The backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// `postgres://` and `postgresql://` are PostgreSQL; `sqlite://`, `file:` and plain paths
    /// are SQLite files. Any other scheme is refused rather than guessed.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres);
        }
        if url.starts_with("sqlite://") || url.starts_with("file:") {
            return Ok(Backend::Sqlite);
        }
        match url.split_once("://") {
            Some((scheme, _)) => Err(format!(
                "unsupported database URL scheme `{scheme}://` (use postgres://, postgresql:// or sqlite://)"
            )),
            None if url.trim().is_empty() => Err("the database URL is empty".into()),
            None => Ok(Backend::Sqlite),
        }
    }
}

/// How long an SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An r2d2 manager that connects to the backend the URL names and reports the real
/// connection error (diesel's stock manager tries each backend and hides it).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Result<Self, String> {
        Ok(Self {
            url: url.to_owned(),
            backend: Backend::from_url(url)?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens one connection, configured for this service.
    pub fn establish(&self) -> Result<DbConnection, ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.url)?;
                conn.set_instrumentation(LostConnectionWatch::default());
                Ok(DbConnection::Pg(conn))
            }
            Backend::Sqlite => {
                if let Some(path) = sqlite_file(&self.url) {
                    create_private(&path);
                }
                let mut conn = SqliteConnection::establish(&self.url)?;
                // WAL lets readers work beside the writer; foreign keys are off by default;
                // secure_delete zeroes freed content, so a deleted value leaves no trace in
                // free pages or in the WAL.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA busy_timeout = {};",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// The file an SQLite URL names (`sqlite://path`, `file:path?…` or a plain path); None for an
/// in-memory database or another backend's URL.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    if Backend::from_url(url) != Ok(Backend::Sqlite) {
        return None;
    }
    let (rest, uri) = match url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("file:"))
    {
        Some(rest) => (rest, true),
        None => (url, false),
    };
    let path = if uri {
        let path = rest.split(['?', '#']).next().unwrap_or_default();
        // `file://host/path`: the path starts at the first slash after the authority.
        let path = match path.strip_prefix("//") {
            Some(authority_and_path) => &authority_and_path[authority_and_path.find('/')?..],
            None => path,
        };
        percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .ok()?
            .into_owned()
    } else {
        rest.to_owned()
    };
    if path.is_empty() || path == ":memory:" || (uri && url.contains("mode=memory")) {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Creates the database file 0600 before SQLite opens it: SQLite creates a missing file with the
/// process umask, and gives its -wal and -shm files the database file's mode. An existing file is
/// left alone (start-up tightens it); any other failure is SQLite's to report.
fn create_private(path: &std::path::Path) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = options.open(path);
}

/// Remembers that a query on this connection failed because the connection itself was lost
/// (PostgreSQL restarted, the socket closed): libpq then reports `ClosedConnection`. The pool
/// does not test a connection before handing it out, so this is what keeps a dead one from
/// going back. diesel's own check (`is_broken`) catches these in practice (libpq answers an
/// unknown transaction status on a dead connection; tests/api/pool.rs passes without this
/// watch), but diesel 2.3 does not update that status when preparing a read's statement fails,
/// so this does not rely on it.
#[derive(Debug, Default)]
struct LostConnectionWatch {
    lost: bool,
}

impl Instrumentation for LostConnectionWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery {
            error: Some(DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)),
            ..
        } = event
        {
            self.lost = true;
        }
    }
}

/// Whether `conn` must not be used again: dropped while its thread unwinds, a transaction still
/// open or not rolled back (the next caller's `BEGIN` would become a savepoint inside it, never
/// commit, and hold the dealer's lock, as diesel's own manager says), or its PostgreSQL
/// connection lost. A fast local check: no round trip.
pub fn is_broken(conn: &mut DbConnection) -> bool {
    if std::thread::panicking() || conn.is_broken() {
        return true;
    }
    match conn {
        DbConnection::Pg(pg) => pg
            .instrumentation()
            .downcast_ref::<LostConnectionWatch>()
            .is_some_and(|watch| watch.lost),
        DbConnection::Sqlite(_) => false,
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.ping()
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    /// Answers without a round trip (see [`is_broken`]): r2d2 calls it whenever a connection
    /// comes back, and the pool does not test connections on checkout (`is_valid` above is only
    /// used if that is turned back on), so a failed query is what finds a dead connection.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        is_broken(conn)
    }
}

/// Applies the pending migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> Result<(), String> {
    let result = match conn {
        DbConnection::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|_| ()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| e.to_string())
}

/// Runs `f` in a write transaction. SQLite takes the write lock at `BEGIN IMMEDIATE`: a plain
/// `BEGIN` upgrades it on the first write and fails with "database is locked" under
/// concurrency, where IMMEDIATE waits for `busy_timeout` instead. Before that, writers of this
/// process queue for their turn ([`super::sqlite_writer`]).
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    let _turn = super::sqlite_writer::wait_turn(sqlite, SQLITE_BUSY_TIMEOUT);
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    type Manager = <DbConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            Manager::rollback_transaction(conn)?;
            Err(error)
        }
    }
}

/// Runs `f`, a write that must be all or nothing and that is one statement on PostgreSQL (its
/// own transaction there, without the BEGIN and COMMIT round trips) and may be several on
/// SQLite, where it runs in a [`write_transaction`].
pub fn write_atomically<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Pg(_) => f(conn),
        DbConnection::Sqlite(_) => write_transaction(conn, f),
    }
}

/// How an action holds its dealer's write lock on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealerLock {
    /// Alone: no other action of the dealer runs beside it. What every action takes unless it
    /// can prove it races nothing but its own kind.
    Exclusive,
    /// Beside other shared holders only (withdrawals), which lock the rows they change.
    Shared,
}

/// Takes the dealer's write lock for the rest of the transaction (a transaction-level advisory
/// lock, so waiting holders queue in memory rather than on the dealer's row). SQLite already
/// serialises every writer (`BEGIN IMMEDIATE`).
pub fn lock_dealer(conn: &mut DbConnection, dealer_id: &str, mode: DealerLock) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(pg) => lock_dealer_pg(pg, dealer_id, mode),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

fn lock_dealer_pg(pg: &mut PgConnection, dealer_id: &str, mode: DealerLock) -> QueryResult<()> {
    let function = match mode {
        DealerLock::Exclusive => "pg_advisory_xact_lock",
        DealerLock::Shared => "pg_advisory_xact_lock_shared",
    };
    prepared::run_pg::<_, prepared::Done>(
        pg,
        diesel::sql_query(format!(
            "SELECT 1 AS n FROM {function}(hashtextextended('dealer:' || $1, 0))"
        ))
        .bind::<Text, _>(dealer_id),
    )?;
    Ok(())
}

/// The transaction id below which the change feed is settled (PostgreSQL): every transaction
/// of this database with a smaller id has ended, so no event can later commit before an event
/// of a smaller id that a reader was shown. Read in its own statement, before the feed query,
/// whose later snapshot then sees all of them. Only this database's transactions count (from
/// `pg_stat_activity`): a long transaction in another database of the cluster does not hold
/// the feed back. None on SQLite, which commits one writer at a time, in id order.
pub fn settled_below(conn: &mut DbConnection) -> QueryResult<Option<i64>> {
    #[derive(diesel::QueryableByName)]
    struct Bound {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        bound: i64,
    }
    let DbConnection::Pg(pg) = conn else {
        return Ok(None);
    };
    // `backend_xid` is a 32-bit xid; the snapshot's are 64-bit (epoch and xid).
    let bound = diesel::sql_query(
        "SELECT COALESCE(\
           (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x \
             WHERE x::text::bigint % 4294967296 IN \
               (SELECT backend_xid::text::bigint FROM pg_stat_activity \
                 WHERE datname = current_database() AND backend_xid IS NOT NULL)), \
           pg_snapshot_xmax(pg_current_snapshot())::text::bigint) AS bound",
    )
    .get_result::<Bound>(pg)?;
    Ok(Some(bound.bound))
}

/// Serialises the transactions that name `key` (one identifier's sends, one verification's
/// attempts) on PostgreSQL, without the dealer's lock that staff writes wait on. SQLite already
/// serialises every writer.
pub fn lock_key(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    if let DbConnection::Pg(pg) = conn {
        prepared::run_pg::<_, prepared::Done>(
            pg,
            diesel::sql_query("SELECT 1 AS n FROM pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<Text, _>(key),
        )?;
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct ClaimedId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Claims up to `limit` due outbox messages for `worker` until `lease_until`, atomically.
/// PostgreSQL skips rows another replica is claiming (`FOR UPDATE SKIP LOCKED`); SQLite has one
/// writer at a time, so the statement alone is atomic there. A claim whose lease has run out
/// (its worker crashed) is due again.
pub fn claim_due_messages(
    conn: &mut DbConnection,
    worker: &str,
    now: chrono::NaiveDateTime,
    lease_until: chrono::NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    use diesel::sql_types::{BigInt, Timestamp};
    const DUE: &str = "status = 'pending' AND next_attempt_at <= {now} \
        AND (claimed_until IS NULL OR claimed_until < {now}) ORDER BY next_attempt_at, id LIMIT {limit}";
    let rows: Vec<ClaimedId> = match conn {
        DbConnection::Pg(pg) => {
            let due = DUE.replace("{now}", "$3").replace("{limit}", "$4");
            diesel::sql_query(format!(
                "UPDATE outbox_messages SET claimed_by = $1, claimed_until = $2 WHERE id IN \
                 (SELECT id FROM outbox_messages WHERE {due} FOR UPDATE SKIP LOCKED) RETURNING id"
            ))
            .bind::<Text, _>(worker)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(pg)?
        }
        DbConnection::Sqlite(sqlite) => {
            let due = DUE.replace("{now}", "?3").replace("{limit}", "?4");
            diesel::sql_query(format!(
                "UPDATE outbox_messages SET claimed_by = ?1, claimed_until = ?2 WHERE id IN \
                 (SELECT id FROM outbox_messages WHERE {due}) RETURNING id"
            ))
            .bind::<Text, _>(worker)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(sqlite)?
        }
    };
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Runs a keyset read in one transaction, so a long export sees one snapshot. On PostgreSQL the
/// planner is also told to avoid sorting: on a freshly loaded table, before statistics exist, it
/// would otherwise sort everything after the cursor for each batch instead of walking the
/// index in order (seen: 300,000 rows, 18x slower).
pub fn keyset_read<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        if let DbConnection::Pg(pg) = conn {
            pg.batch_execute("SET LOCAL enable_sort = off")?;
        }
        f(conn)
    })
}

/// Rewrites a blacklist's rows changed on or after `since` (PostgreSQL), in one transaction of
/// their own and in value order, so that they no longer share a transaction id (`xmin`) with the
/// other list's rows or the customer rows written beside them, and their physical order (`ctid`)
/// follows the value rather than the time of insertion. Every column is written back as it was.
/// It first takes the exclusive write lock of every dealer concerned, in id order (other writers
/// take one each, so none deadlocks): a withdrawal or removal whose UPDATE met a row the rewrite had just
/// deleted would otherwise skip it and be lost. A dealer whose first row of the window commits
/// after the locks are taken is left for the next pass. SQLite keeps these `WITHOUT ROWID` tables
/// in key order and no transaction id in its rows: nothing to do. Returns the rows rewritten.
pub fn rewrite_blacklist(
    conn: &mut DbConnection,
    list: super::blacklists::List,
    since: chrono::NaiveDate,
) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Date};
    let DbConnection::Pg(pg) = conn else {
        return Ok(0);
    };
    let table = list.table();
    #[derive(diesel::QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Text)]
        id: String,
    }
    pg.transaction(|pg| {
        let dealers: Vec<String> = diesel::sql_query(format!(
            "SELECT d.id FROM dealers d WHERE EXISTS \
             (SELECT 1 FROM {table} b WHERE b.dealer_id = d.id AND b.changed_on >= $1) \
             ORDER BY d.id"
        ))
        .bind::<Date, _>(since)
        .load::<Locked>(pg)?
        .into_iter()
        .map(|row| row.id)
        .collect();
        if dealers.is_empty() {
            return Ok(0);
        }
        for dealer in &dealers {
            lock_dealer_pg(pg, dealer, DealerLock::Exclusive)?;
        }
        diesel::sql_query(format!(
            "WITH gone AS (DELETE FROM {table} WHERE dealer_id = ANY($1) AND changed_on >= $2 \
             RETURNING dealer_id, value, added_on, removed_on, changed_on) \
             INSERT INTO {table} (dealer_id, value, added_on, removed_on, changed_on) \
             SELECT dealer_id, value, added_on, removed_on, changed_on FROM gone \
             ORDER BY dealer_id, value"
        ))
        .bind::<Array<Text>, _>(&dealers)
        .bind::<Date, _>(since)
        .execute(pg)
    })
}

/// Copies the SQLite WAL into the database and truncates it to zero bytes, so no WAL frame keeps
/// a deleted value or the grouping of one transaction's writes. It waits at most half a second
/// (writers queue behind a checkpoint that waits for readers); `false` when a reader or writer
/// kept it from finishing. PostgreSQL: nothing to do.
pub fn truncate_wal(conn: &mut DbConnection) -> QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
    }
    let DbConnection::Sqlite(sqlite) = conn else {
        return Ok(true);
    };
    sqlite.batch_execute("PRAGMA busy_timeout = 500")?;
    let checkpoint =
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result::<Checkpoint>(sqlite);
    sqlite.batch_execute(&format!(
        "PRAGMA busy_timeout = {}",
        SQLITE_BUSY_TIMEOUT.as_millis()
    ))?;
    Ok(checkpoint?.busy == 0)
}
