//! `popia-api backup`: a consistent copy of the SQLite database while the service runs
//! (`VACUUM INTO` reads one snapshot; writers carry on beside it), private from its first byte.
//! PostgreSQL has `pg_dump` for that; the command says so rather than half-doing it.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context};
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::backend::{self, Backend, ConnectionManager};
use crate::db::{reconcile, DbConnection};

/// What a backup holds, read back from the file itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub customers: i64,
    /// Entries on the lists now (removed ones are kept as rows, but are not on the lists).
    pub blacklist_emails: i64,
    pub blacklist_mobiles: i64,
    pub events: i64,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} customers, {} blacklist entries ({} emails, {} mobiles), {} change events",
            self.customers,
            self.blacklist_emails + self.blacklist_mobiles,
            self.blacklist_emails,
            self.blacklist_mobiles,
            self.events
        )
    }
}

/// The `pg_dump` line for `out`, and why the command does not run it.
pub fn postgres_refusal(out: &Path) -> String {
    format!(
        "`popia-api backup` copies SQLite databases; for PostgreSQL use pg_dump, which takes a \
         consistent snapshot while the service runs. The same rule applies: the file private \
         from the start (umask 077), never over an existing one (noclobber):\n  \
         (umask 077 && set -o noclobber && pg_dump --format=custom \"$DATABASE_URL\" > {})\n\
         After restoring it with pg_restore, run `popia-api reconcile --blacklists-from <the live \
         database URL, or the blacklist CSV exports>` before serving.",
        out.display()
    )
}

/// Writes a consistent copy of the SQLite database `database_url` to `out` (mode 0600, created
/// new: an existing file is refused, never overwritten) and returns what it holds.
pub fn sqlite(database_url: &str, out: &Path) -> anyhow::Result<Counts> {
    if Backend::from_url(database_url).map_err(anyhow::Error::msg)? == Backend::Postgres {
        bail!("{}", postgres_refusal(out));
    }
    let source = backend::sqlite_file(database_url)
        .context("the database is not an SQLite file (an in-memory database has no backup)")?;
    if !source.is_file() {
        bail!("there is no database at {}", source.display());
    }
    create_private(out)?;
    let copied = copy_into(database_url, out);
    if let Err(error) = copied {
        // Only the file this call created, empty or partial, is removed.
        let _ = std::fs::remove_file(out);
        return Err(error);
    }
    counts(out)
}

/// Creates `out` empty, 0600, failing if anything is there: `VACUUM INTO` then writes into it
/// (it accepts an empty file) and the copy is never readable by others, not even for a moment.
fn create_private(out: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(out).map(drop).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists: a backup never overwrites a file; name a new one",
                out.display()
            )
        } else {
            anyhow::anyhow!("cannot create {}: {e}", out.display())
        }
    })
}

fn copy_into(database_url: &str, out: &Path) -> anyhow::Result<()> {
    let manager = ConnectionManager::new(database_url).map_err(anyhow::Error::msg)?;
    let mut conn = manager
        .establish()
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    let DbConnection::Sqlite(sqlite) = &mut conn else {
        bail!("not an SQLite database");
    };
    let target = out.to_str().context("the backup path is not valid UTF-8")?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(sqlite)
        .context("the backup (VACUUM INTO) failed")?;
    // VACUUM INTO does not sync its output: the copy is on disk before it is reported.
    std::fs::File::open(out)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", out.display()))
}

/// Opens the copy and counts what it holds.
fn counts(out: &Path) -> anyhow::Result<Counts> {
    // A plain path (not a `file:` URI): a `?` or `#` in the name stays part of it.
    let path = out.to_str().context("the backup path is not valid UTF-8")?;
    let mut conn = DbConnection::Sqlite(
        diesel::SqliteConnection::establish(path)
            .with_context(|| format!("cannot open the backup {}", out.display()))?,
    );
    let active = "removed_on IS NULL";
    let counts = (|| -> QueryResult<Counts> {
        Ok(Counts {
            customers: reconcile::count(&mut conn, "customers", "")?,
            blacklist_emails: reconcile::count(&mut conn, "blacklist_emails", active)?,
            blacklist_mobiles: reconcile::count(&mut conn, "blacklist_mobiles", active)?,
            events: reconcile::count(&mut conn, "change_events", "")?,
        })
    })();
    counts.with_context(|| format!("cannot read the backup {}", out.display()))
}
