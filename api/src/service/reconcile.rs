//! Reconcile after a restore: a backup taken before someone withdrew brings their record back,
//! named, with their identifiers off the blacklists. This puts back the blacklist entries a
//! source holds and this database lacks (one transaction), then de-identifies every live record
//! whose identifiers are all blacklisted without later fresh consent, through the withdrawal
//! itself (`Origin::Reconcile`: no per-person emails, no second `consent.withdrawn`), and tells
//! each affected dealer once, with ids and counts only. Serve runs it without a source at start.
//! Run again, it finds nothing: it changes nothing and sends nothing.

mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use anyhow::{anyhow, bail};
use chrono::NaiveDate;

pub use source::Source;

use crate::auth::KeyedHasher;
use crate::db::blacklists::{self, List};
use crate::db::{self, backend, dealers, reconcile as queries, DbConnection};
use crate::domain::events::{Actor, Origin};
use crate::domain::DealerId;
use crate::notify::templates::ReconcileSummary;
use crate::notify::{emails, Branding};
use crate::service::withdrawal::{self, Scope};

/// What one dealer got back or lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealerReport {
    /// Blacklist entries put back from the source.
    pub emails_restored: usize,
    pub mobiles_restored: usize,
    /// Records de-identified again, and the leads they lost.
    pub customer_ids: Vec<i64>,
    pub lead_ids: Vec<i64>,
}

/// What a reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub dealers: BTreeMap<String, DealerReport>,
    /// Dealers of a source database that this one does not have: their entries were left.
    pub unknown_dealers: Vec<String>,
    /// Summary emails queued (one per dealer that got or lost anything).
    pub summaries: usize,
}

impl Report {
    /// Live records of withdrawn people found (and de-identified).
    pub fn found(&self) -> usize {
        self.dealers.values().map(|d| d.customer_ids.len()).sum()
    }

    /// Blacklist entries put back.
    pub fn restored(&self) -> usize {
        let each = |d: &DealerReport| d.emails_restored + d.mobiles_restored;
        self.dealers.values().map(each).sum()
    }

    /// The dealers whose records were de-identified, comma-separated (ids, for the log).
    pub fn dealers_found(&self) -> String {
        let found = self
            .dealers
            .iter()
            .filter(|(_, d)| !d.customer_ids.is_empty());
        found
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reconcile: {} blacklist entries put back, {} live records of withdrawn people \
             de-identified, {} summary emails queued",
            self.restored(),
            self.found(),
            self.summaries
        )?;
        for (dealer, done) in &self.dealers {
            write!(
                f,
                "\n  {dealer}: {} emails and {} mobiles put back; customers {:?}; leads lost {:?}",
                done.emails_restored, done.mobiles_restored, done.customer_ids, done.lead_ids
            )?;
        }
        if !self.unknown_dealers.is_empty() {
            write!(
                f,
                "\n  not merged (dealers this database does not have): {}",
                self.unknown_dealers.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Reads the sources named by `args` (see [`Source::read`]), then runs [`run`] with them.
pub fn from_args(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    args: &[String],
) -> anyhow::Result<Report> {
    let source = Source::read(args)?;
    run(conn, hasher, branding, source.as_ref())
}

/// Serve's pass before it serves: against the database's own blacklists. Logs what it found.
pub fn at_start(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
) -> anyhow::Result<Report> {
    let report = run(conn, hasher, branding, None)?;
    tracing::info!(
        found = report.found(),
        dealers = %report.dealers_found(),
        summaries = report.summaries,
        "start-up reconcile: live records of withdrawn people de-identified before serving"
    );
    Ok(report)
}

/// Merges the source's entries (if any), then de-identifies what the blacklists say is
/// withdrawn and queues the dealers' summaries. On bad input nothing is written.
pub fn run(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    source: Option<&Source>,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut earliest = None;
    if let Some(source) = source {
        earliest = merge(conn, source, &mut report)?;
    }
    deidentify(conn, hasher, branding, &mut report)?;
    for (dealer, done) in &report.dealers {
        summarise(conn, branding, dealer, done)?;
        report.summaries += 1;
    }
    if !report.dealers.is_empty() {
        storage_hygiene(conn, earliest)?;
    }
    Ok(report)
}

/// Puts back, in one transaction, every entry the source has on a list that this database has
/// not (absent, or removed here), with the source's day. Returns the earliest day put back.
fn merge(
    conn: &mut DbConnection,
    source: &Source,
    report: &mut Report,
) -> anyhow::Result<Option<NaiveDate>> {
    let mut known = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    for batch in &source.batches {
        if dealers::exists(conn, &batch.dealer)? {
            known.insert(batch.dealer.clone());
        } else {
            unknown.insert(batch.dealer.clone());
        }
    }
    if source.strict_dealers && !unknown.is_empty() {
        bail!(
            "{}: this database has no dealer {}; nothing was changed",
            source.described,
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    if !unknown.is_empty() {
        tracing::warn!(dealers = ?unknown, "reconcile: the source's entries of dealers this database does not have are left");
    }
    report.unknown_dealers = unknown.into_iter().collect();
    let batches = source.batches.iter().filter(|b| known.contains(&b.dealer));
    let restored = db::write_transaction(conn, |conn| {
        // Every dealer's write lock, in id order (other writers take one each: no deadlock).
        for dealer in &known {
            backend::lock_dealer(conn, dealer, backend::DealerLock::Exclusive)?;
        }
        let mut restored: Vec<(String, List, NaiveDate)> = Vec::new();
        for batch in batches {
            let values: Vec<String> = batch.entries.keys().cloned().collect();
            let (dealer, list) = (batch.dealer.as_str(), batch.list);
            let here: BTreeSet<String> = match list {
                List::Emails => blacklists::emails::present(conn, dealer, &values)?,
                List::Mobiles => blacklists::mobiles::present(conn, dealer, &values)?,
            }
            .into_iter()
            .collect();
            for (value, day) in batch.entries.iter().filter(|(v, _)| !here.contains(*v)) {
                match list {
                    List::Emails => blacklists::emails::add(conn, dealer, value, *day)?,
                    List::Mobiles => blacklists::mobiles::add(conn, dealer, value, *day)?,
                }
                restored.push((dealer.to_owned(), list, *day));
            }
        }
        Ok::<_, diesel::result::Error>(restored)
    })?;
    let earliest = restored.iter().map(|(_, _, day)| *day).min();
    for (dealer, list, _) in restored {
        let done = report.dealers.entry(dealer).or_default();
        match list {
            List::Emails => done.emails_restored += 1,
            List::Mobiles => done.mobiles_restored += 1,
        }
    }
    Ok(earliest)
}

/// Withdraws each live record the blacklists say is withdrawn, one withdrawal each, exactly as
/// staff would (leads lost, free text cleared, events redacted, outbox silenced).
fn deidentify(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    report: &mut Report,
) -> anyhow::Result<()> {
    // The service itself acts, with an admin's reach; `sub` names the pass in the feed.
    let actor = Actor {
        role: "admin".into(),
        sub: "reconcile".into(),
    };
    for (dealer, id) in queries::withdrawn_but_live(conn)? {
        let dealer_id =
            DealerId::parse(&dealer).map_err(|e| anyhow!("dealer id {dealer:?}: {e}"))?;
        let done = withdrawal::withdraw(
            conn,
            hasher,
            branding,
            &dealer_id,
            Scope::Customer(id),
            actor.clone(),
            Origin::Reconcile,
        )
        .map_err(|e| anyhow::Error::new(e).context(format!("de-identifying {dealer}'s {id}")))?;
        let entry = report.dealers.entry(dealer).or_default();
        entry.customer_ids.push(id);
        entry.lead_ids.extend(done.lead_ids_lost);
    }
    Ok(())
}

/// Queues the dealer's one summary email, in a transaction of its own.
fn summarise(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &str,
    done: &DealerReport,
) -> anyhow::Result<()> {
    let facts = ReconcileSummary {
        dealer: dealer.to_owned(),
        emails_restored: done.emails_restored,
        mobiles_restored: done.mobiles_restored,
        customer_ids: done.customer_ids.clone(),
        lead_ids: done.lead_ids.clone(),
    };
    db::dealer_transaction(conn, dealer, |conn| {
        let row = dealers::find(conn, dealer)?.ok_or(diesel::result::Error::NotFound)?;
        emails::reconcile_summary(conn, branding, &row, &facts)
    })?;
    Ok(())
}

/// As the storage pass does after a withdrawal, for the rows written here: on PostgreSQL the
/// lists' rows changed since the earliest day put back are rewritten (the merge wrote a
/// person's email and mobile rows in one transaction); on SQLite the WAL is truncated.
fn storage_hygiene(conn: &mut DbConnection, earliest: Option<NaiveDate>) -> anyhow::Result<()> {
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap_or(today);
    let since = earliest.map_or(yesterday, |day| day.min(yesterday));
    for list in [List::Emails, List::Mobiles] {
        backend::rewrite_blacklist(conn, list, since)?;
    }
    if !backend::truncate_wal(conn)? {
        tracing::debug!("reconcile: the WAL checkpoint was busy; the storage pass retries");
    }
    Ok(())
}
