//! The restore the issue describes: a live service, a backup, withdrawals after it, the backup
//! restored beside the live database (SQLite: `popia-api backup`'s copy; PostgreSQL: pg_dump
//! and pg_restore, as the README says), and a server on the restored copy.

use std::path::{Path, PathBuf};

use diesel::{Connection, PgConnection, RunQueryDsl};
use md5::Md5;
use popia_api::auth::KeyedHasher;
use popia_api::notify::Branding;
use popia_api::service::reconcile::{self, Report};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::residue::{dump, hex, with_decoded};

/// The person who withdraws after the backup.
pub const FIRST: &str = "Nkosinathi";
pub const LAST: &str = "Mabaso-Restoretest";
pub const EMAIL: &str = "nkosinathi.restoretest@restore.co.za";
pub const MOBILE: &str = "+27824441234";

/// The second dealer, whose customer withdraws too: one summary each.
pub const XYZ: &str = "xyz-motors";

pub fn is_postgres(app: &TestApp) -> bool {
    app.database_url.starts_with("postgres")
}

pub fn hasher() -> KeyedHasher {
    KeyedHasher::derive(SECRET.as_bytes())
}

pub fn branding() -> Branding {
    Branding::new("POPIA Gateway", "POPIA Gateway <popia@gateway.test>")
}

/// Reconciles the database at `url` from `sources`, as the CLI does (the tests' own secret).
pub fn reconcile_at(url: &str, sources: &[String]) -> anyhow::Result<Report> {
    let pool = popia_api::db::connect(url, 1)?;
    let mut conn = pool.get()?;
    reconcile::from_args(&mut conn, &hasher(), &branding(), sources)
}

/// An operator of both dealers.
pub fn operator_of_both() -> String {
    sign(&claims("operator", &["abc-motors", XYZ]))
}

/// A customer of `dealer` with these values; returns its id.
pub async fn customer(
    app: &TestApp,
    dealer: &str,
    name: (&str, &str),
    email: &str,
    mobile: &str,
) -> i64 {
    let body = json!({"first_name": name.0, "last_name": name.1, "email": email, "mobile": mobile,
                      "consent_process": true, "consent_market": true,
                      "consent_source": "website form"});
    app.create_customer(dealer, body).await["id"]
        .as_i64()
        .unwrap()
}

/// Staff withdraw one record.
pub async fn withdraw(app: &TestApp, dealer_id: &str, id: i64) {
    let done = app
        .post(
            &format!("/v1/dealers/{dealer_id}/customers/{id}/withdraw-consent"),
            &dealer(dealer_id),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
}

pub async fn record(app: &TestApp, dealer_id: &str, id: i64) -> Value {
    app.get(
        &format!("/v1/dealers/{dealer_id}/customers/{id}"),
        &dealer(dealer_id),
    )
    .await
    .body
}

/// A database made on the PostgreSQL test server, dropped when the test ends.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl ScratchDatabase {
    pub fn create(prefix: &str) -> ScratchDatabase {
        let admin_url = std::env::var("POPIA_TEST_DATABASE_URL").unwrap();
        let name = format!("{prefix}_{:016x}", rand_u64());
        let mut conn = PgConnection::establish(&admin_url).unwrap();
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .unwrap();
        let base = admin_url.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        ScratchDatabase {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            let _ = diesel::sql_query(sql).execute(&mut conn);
        }
    }
}

/// A copy of the live database as it is now, and where it was restored to.
pub enum Copy {
    Sqlite(PathBuf),
    Postgres(ScratchDatabase),
}

impl Copy {
    pub fn url(&self) -> String {
        match self {
            Copy::Sqlite(path) => format!("sqlite://{}", path.display()),
            Copy::Postgres(db) => db.url.clone(),
        }
    }
}

/// Backs the live database up and restores the backup: SQLite with `popia-api backup`'s
/// function and a file copy; PostgreSQL with `pg_dump --format=custom` and `pg_restore`.
pub fn backup_and_restore(live: &TestApp, dir: &Path) -> Copy {
    if !is_postgres(live) {
        let backup = dir.join("backup.db");
        popia_api::service::backup::sqlite(&live.database_url, &backup).expect("backup");
        let restored = dir.join("restored.db");
        std::fs::copy(&backup, &restored).unwrap();
        return Copy::Sqlite(restored);
    }
    let dump = dir.join("backup.dump");
    let dumped = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(&dump)
        .arg(&live.database_url)
        .status()
        .expect("pg_dump (PostgreSQL client tools) on PATH");
    assert!(dumped.success(), "pg_dump failed");
    let restored = ScratchDatabase::create("popia_restored");
    let status = std::process::Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname"])
        .arg(&restored.url)
        .arg(&dump)
        .status()
        .expect("pg_restore on PATH");
    assert!(status.success(), "pg_restore failed");
    Copy::Postgres(restored)
}

/// The live service with the person (two leads) and a bystander at abc-motors and Kagiso at
/// xyz-motors; a backup; then the person and Kagiso withdraw on the live service; then the
/// backup is restored and a server started on it (its start-up pass cannot know: finds nothing).
pub struct Scenario {
    pub live: TestApp,
    pub restored: TestApp,
    pub copy: Copy,
    pub person: i64,
    pub person_leads: Vec<i64>,
    pub kagiso: i64,
    pub bystander: i64,
    pub dir: tempfile::TempDir,
}

impl Scenario {
    pub async fn new() -> Scenario {
        let live = spawn_app().await;
        live.create_dealer("abc-motors").await;
        live.create_dealer(XYZ).await;
        let person = customer(&live, "abc-motors", (FIRST, LAST), EMAIL, "082 444 1234").await;
        let mut person_leads = Vec::new();
        for name in ["Ashveer", "Lerato"] {
            let lead = live
                .post(
                    "/v1/dealers/abc-motors/leads",
                    &dealer("abc-motors"),
                    json!({"customer_id": person,
                           "recipient": {"name": name, "email": format!("{}@abc-motors.co.za", name.to_lowercase())},
                           "vehicle": format!("{FIRST}'s Polo"), "message": format!("Call {FIRST} on 082 444 1234")}),
                )
                .await;
            assert_eq!(lead.status, StatusCode::CREATED, "{}", lead.body);
            person_leads.push(lead.body["id"].as_i64().unwrap());
        }
        let bystander = customer(
            &live,
            "abc-motors",
            ("Bongani", "Zulu"),
            "bongani@mail.co.za",
            "082 555 0101",
        )
        .await;
        let kagiso = customer(
            &live,
            XYZ,
            ("Kagiso", "Molefe"),
            "kagiso@mail.co.za",
            "082 555 0202",
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let copy = backup_and_restore(&live, dir.path());
        withdraw(&live, "abc-motors", person).await;
        withdraw(&live, XYZ, kagiso).await;
        let url = copy.url();
        let restored = spawn_app_with(|c| c.database_url = url).await;
        // The problem: the restore brought the person back, named, and off the blacklists.
        assert_eq!(
            record(&restored, "abc-motors", person).await["first_name"],
            FIRST
        );
        Scenario {
            live,
            restored,
            copy,
            person,
            person_leads,
            kagiso,
            bystander,
            dir,
        }
    }

    /// The two CSV exports of each dealer, downloaded from the live service as an operator
    /// would, under the names the service gives them.
    pub async fn download_exports(&self) -> Vec<String> {
        let mut files = Vec::new();
        for dealer_id in ["abc-motors", XYZ] {
            for list in ["emails", "mobiles"] {
                let response = self
                    .live
                    .client
                    .get(format!(
                        "{}/v1/dealers/{dealer_id}/blacklist/{list}",
                        self.live.address
                    ))
                    .bearer_auth(operator_of_both())
                    .header("accept", "text/csv")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let disposition = response.headers()["content-disposition"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let name = disposition.split('"').nth(1).unwrap().to_owned();
                let path = self.dir.path().join(name);
                std::fs::write(&path, response.bytes().await.unwrap()).unwrap();
                files.push(path.display().to_string());
            }
        }
        files
    }

    /// What the restored database's change feed and notifications hold, for "nothing new".
    pub async fn feed_and_outbox(&self) -> (usize, usize) {
        let mut events = 0;
        let mut messages = 0;
        for dealer_id in ["abc-motors", XYZ] {
            let token = dealer(dealer_id);
            let feed = format!("/v1/dealers/{dealer_id}/history?limit=1000");
            events += self.restored.get(&feed, &token).await.body["items"]
                .as_array()
                .unwrap()
                .len();
            let outbox = format!("/v1/dealers/{dealer_id}/notifications?limit=1000");
            messages += self.restored.get(&outbox, &token).await.body["items"]
                .as_array()
                .unwrap()
                .len();
        }
        (events, messages)
    }
}

/// Every form in which the person could be found: values; masked, national, bare forms; hashes.
fn needles() -> Vec<(String, String)> {
    let mut needles = Vec::new();
    for (value, what) in [
        (FIRST, "first name"),
        (LAST, "surname"),
        (EMAIL, "email"),
        (MOBILE, "mobile"),
    ] {
        needles.push((value.to_lowercase(), what.to_owned()));
        needles.push((
            hex(&Md5::digest(value.as_bytes())),
            format!("MD5 of {what}"),
        ));
        needles.push((
            hex(&Sha1::digest(value.as_bytes())),
            format!("SHA-1 of {what}"),
        ));
        needles.push((
            hex(&Sha256::digest(value.as_bytes())),
            format!("SHA-256 of {what}"),
        ));
    }
    needles.push(("0824441234".into(), "mobile (national)".into()));
    needles.push(("27824441234".into(), "mobile (bare)".into()));
    needles.push(("+2782*****34".into(), "mobile (masked)".into()));
    needles.push(("n***@restore.co.za".into(), "email (masked)".into()));
    needles
}

/// The residue scan of `tests/api/residue.rs`, on the restored database: every row of every
/// table, the SQLite file and its WAL, and the log; the email may stand in the email blacklist
/// and the mobile in the mobile blacklist, nothing else anywhere.
pub fn nothing_of_person_remains(url: &str) {
    let pool = popia_api::db::connect(url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    popia_api::service::storage_hygiene::run(&mut conn, chrono::Utc::now().date_naive()).unwrap();
    let needles = needles();
    let mut found = Vec::new();
    for (table, rows) in dump(&mut conn) {
        let allowed = match table.as_str() {
            "blacklist_emails" => Some(EMAIL),
            "blacklist_mobiles" => Some(MOBILE),
            _ => None,
        };
        for row in rows {
            let row = with_decoded(&row).to_lowercase();
            let rest = allowed.map_or(row.clone(), |v| row.replace(&format!("\"{v}\""), "\"\""));
            for (needle, what) in &needles {
                if rest.contains(needle.as_str()) {
                    found.push(format!("{what} in {table}: {row}"));
                }
            }
        }
    }
    drop(conn);
    drop(pool);
    if let Some(file) = url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal"] {
            let Ok(bytes) = std::fs::read(format!("{file}{suffix}")) else {
                continue;
            };
            let mut text = String::from_utf8_lossy(&bytes).to_lowercase();
            for listed in [EMAIL, MOBILE] {
                // The list's table and its two indexes.
                let count = text.matches(listed).count();
                if count > 3 {
                    found.push(format!("{listed} {count} times in {file}{suffix}"));
                }
                text = text.replace(listed, "");
            }
            for (needle, what) in &needles {
                if text.contains(needle.as_str()) {
                    found.push(format!("{what} in the file {file}{suffix}"));
                }
            }
        }
    }
    let logs = with_decoded(&captured_logs()).to_lowercase();
    for (needle, what) in &needles {
        if logs.contains(needle.as_str()) {
            found.push(format!("{what} in the log"));
        }
    }
    assert!(found.is_empty(), "left behind:\n{}", found.join("\n"));
}
