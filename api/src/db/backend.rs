//! Everything that differs between PostgreSQL and SQLite lives here; the rest of the code is
//! written once against [`DbConnection`].

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
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
            Backend::Postgres => Ok(DbConnection::Pg(PgConnection::establish(&self.url)?)),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url)?;
                // WAL lets readers work beside the writer; foreign keys are off by default.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {};",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
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
/// concurrency, where IMMEDIATE waits for `busy_timeout` instead.
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

/// Serialises the writers of one dealer's change feed on PostgreSQL, so that event ids commit
/// in order and a follower reading "after id N" never skips an event committed late with a
/// smaller id. SQLite already serialises every writer (`BEGIN IMMEDIATE`).
pub fn lock_dealer_feed(conn: &mut DbConnection, dealer_id: &str) -> QueryResult<()> {
    if let DbConnection::Pg(pg) = conn {
        diesel::sql_query("SELECT id FROM dealers WHERE id = $1 FOR NO KEY UPDATE")
            .bind::<Text, _>(dealer_id)
            .execute(pg)?;
    }
    Ok(())
}
