//! A restored backup must not resurrect withdrawn people: `popia-api backup` makes a whole,
//! private copy while the service writes; `reconcile` (from the live database or its CSV
//! exports) puts the lost blacklist entries back and de-identifies again, through the
//! withdrawal, leaving fresh consent and shared identifiers alone; bad input changes nothing;
//! and `serve` runs the same pass before it serves.

mod scenario;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use diesel::{Connection, RunQueryDsl};
use popia_api::service::{backup, reconcile::Report};
use serde_json::{json, Value};

use crate::helpers::*;
use scenario::*;

#[derive(diesel::QueryableByName)]
struct Check {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// A backup taken while customers are being written is whole, private and counted right.
#[tokio::test]
async fn a_backup_taken_during_writes_is_whole_private_and_counted() {
    let app = Arc::new(spawn_app().await);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("popia-backup.db");
    if is_postgres(&app) {
        let refused = backup::sqlite(&app.database_url, &out).unwrap_err();
        assert!(
            format!("{refused}").contains("pg_dump --format=custom"),
            "{refused}"
        );
        assert!(!out.exists());
        println!("skipped on PostgreSQL: `popia-api backup` copies SQLite only (refusal checked; pg_dump is the tool)");
        return;
    }
    app.create_dealer("abc-motors").await;
    // Some bulk, so that the copy takes a moment while the writer carries on.
    seed_emails(&app, 20_000);
    let stop = Arc::new(AtomicBool::new(false));
    let committed: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    let writer = {
        let (app, stop, committed) = (app.clone(), stop.clone(), committed.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut body = fred();
                body["email"] = json!(format!("writer{n}@mail.co.za"));
                body["mobile"] = Value::Null;
                let id = app.create_customer("abc-motors", body).await["id"]
                    .as_i64()
                    .unwrap();
                committed.lock().unwrap().push((id, Instant::now()));
                n += 1;
            }
        })
    };
    eventually(
        std::time::Duration::from_secs(30),
        "20 customers written",
        || {
            let enough = committed.lock().unwrap().len() >= 20;
            async move { enough.then_some(()) }
        },
    )
    .await;
    let began = Instant::now();
    let (url, path) = (app.database_url.clone(), out.clone());
    let counts = tokio::task::spawn_blocking(move || backup::sqlite(&url, &path))
        .await
        .unwrap()
        .expect("backup");
    let ended = Instant::now();
    // The writer goes on after the copy too: the live database was never locked for it.
    let seen = committed.lock().unwrap().len();
    eventually(
        std::time::Duration::from_secs(30),
        "writes after the backup",
        || {
            let more = committed.lock().unwrap().len() >= seen + 5;
            async move { more.then_some(()) }
        },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let committed = committed.lock().unwrap().clone();
    let before: Vec<i64> = committed
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(id, _)| *id)
        .collect();
    let during = committed
        .iter()
        .filter(|(_, at)| *at >= began && *at <= ended)
        .count();

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the backup is not private");
    let mut copy = diesel::SqliteConnection::establish(out.to_str().unwrap()).unwrap();
    let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut copy)
        .unwrap();
    assert_eq!(check.len(), 1);
    assert_eq!(check[0].integrity_check, "ok");
    let held: Vec<i64> = diesel::sql_query("SELECT id FROM customers")
        .load::<Id>(&mut copy)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let missing: Vec<&i64> = before.iter().filter(|id| !held.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "committed before the backup, not in it: {missing:?}"
    );
    // The counts printed are the copy's own.
    let events = diesel::sql_query("SELECT id FROM change_events")
        .load::<Id>(&mut copy)
        .unwrap()
        .len() as i64;
    assert_eq!(counts.customers, held.len() as i64);
    assert_eq!(counts.blacklist_emails, 20_000);
    assert_eq!(counts.blacklist_mobiles, 0);
    assert_eq!(counts.events, events);
    assert_eq!(
        counts.to_string(),
        format!(
            "{} customers, 20000 blacklist entries (20000 emails, 0 mobiles), {} change events",
            held.len(),
            counts.events
        )
    );
    // Never over an existing file.
    let size = std::fs::metadata(&out).unwrap().len();
    let again = backup::sqlite(&app.database_url, &out).unwrap_err();
    assert!(format!("{again}").contains("already exists"), "{again}");
    assert_eq!(std::fs::metadata(&out).unwrap().len(), size);
    println!(
        "backup: {} customers committed before it began, {during} during it, {} in all; copy holds {counts}",
        before.len(),
        committed.len()
    );
}

/// What every reconcile of the scenario must leave: the person de-identified again, their
/// identifiers on the lists, the feed and one summary per dealer, nothing of them anywhere.
async fn assert_reconciled(s: &Scenario, report: &Report) {
    assert_eq!(report.found(), 2, "{report}");
    let abc = &report.dealers["abc-motors"];
    assert_eq!(abc.customer_ids, vec![s.person]);
    assert_eq!((abc.emails_restored, abc.mobiles_restored), (1, 1));
    let mut lost = abc.lead_ids.clone();
    lost.sort();
    assert_eq!(lost, s.person_leads);
    assert_eq!(report.dealers[XYZ].customer_ids, vec![s.kagiso]);
    assert_eq!(report.summaries, 2);

    let restored = &s.restored;
    let person = record(restored, "abc-motors", s.person).await;
    for field in ["first_name", "last_name", "email", "mobile"] {
        assert!(person[field].is_null(), "{field}: {person}");
    }
    assert!(person["deidentified_at"].is_string());
    for lead in person["leads"].as_array().unwrap() {
        assert_eq!(lead["status"], "lost", "{lead}");
    }
    let kagiso = record(restored, XYZ, s.kagiso).await;
    assert!(kagiso["first_name"].is_null() && kagiso["email"].is_null());
    let bystander = record(restored, "abc-motors", s.bystander).await;
    assert_eq!(bystander["first_name"], "Bongani");
    assert_eq!(bystander["email"], "bongani@mail.co.za");

    let listed = restored
        .post(
            "/v1/dealers/abc-motors/blacklist/check",
            &operator(),
            json!({"emails": [EMAIL], "mobiles": [MOBILE]}),
        )
        .await;
    assert_eq!(
        json!([listed.body["emails"], listed.body["mobiles"]]),
        json!([[EMAIL], [MOBILE]])
    );

    let feed = events_of(restored).await;
    let about: Vec<&Value> = feed
        .iter()
        .filter(|e| e["customer_id"] == json!(s.person))
        .collect();
    let deidentified: Vec<&&Value> = about
        .iter()
        .filter(|e| e["kind"] == "customer.deidentified")
        .collect();
    assert_eq!(deidentified.len(), 1, "{about:#?}");
    assert_eq!(deidentified[0]["channel"], "reconcile");
    assert!(
        about.iter().all(|e| e["kind"] != "consent.withdrawn"),
        "{about:#?}"
    );
    let lost_events = about
        .iter()
        .filter(|e| e["kind"] == "lead.status_changed" && e["channel"] == "reconcile")
        .count();
    assert_eq!(lost_events, 2);

    for dealer_id in ["abc-motors", XYZ] {
        let listed = restored
            .get(
                &format!("/v1/dealers/{dealer_id}/notifications?limit=1000"),
                &dealer(dealer_id),
            )
            .await
            .body;
        let items = listed["items"].as_array().unwrap();
        let kinds: Vec<&str> = items.iter().map(|m| m["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["reconcile_summary"], "{listed}");
        assert_eq!(
            items[0]["subject"],
            format!("POPIA reconcile after restore | {dealer_id}")
        );
        assert_eq!(
            items[0]["recipients"],
            json!([format!("thandi@{dealer_id}.co.za")])
        );
    }
    let mail = delivered_file(restored, "-reconcile_summary.eml").await;
    let mail = std::fs::read(mail).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&mail).unwrap();
    let body = parsed.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        body.contains(&format!("core customer IDs: {}", s.person)),
        "{body}"
    );
    assert!(
        body.contains("Sincerely,\nThe team at POPIA Gateway"),
        "{body}"
    );
    let html = parsed.body_html(0).unwrap().into_owned();
    assert!(
        html.contains("Sincerely,<br>The team at POPIA Gateway"),
        "{html}"
    );

    nothing_of_person_remains(&s.copy.url());
}

/// A second reconcile from the same source finds nothing, changes nothing and sends nothing.
async fn assert_second_run_is_a_no_op(s: &Scenario, sources: &[String]) {
    let before = s.feed_and_outbox().await;
    let again = reconcile_at(&s.copy.url(), sources).expect("second reconcile");
    assert_eq!(again, Report::default(), "{again}");
    assert_eq!(s.feed_and_outbox().await, before);
}

/// Reconcile from the live database brings the withdrawals back.
#[tokio::test]
async fn reconcile_from_the_live_database_deidentifies_the_restored_again() {
    let s = Scenario::new().await;
    let sources = vec![s.live.database_url.clone()];
    let report = reconcile_at(&s.copy.url(), &sources).expect("reconcile");
    println!("{report}");
    assert_reconciled(&s, &report).await;
    assert_second_run_is_a_no_op(&s, &sources).await;
}

/// Reconcile from the CSV exports downloaded from the live service does the same.
#[tokio::test]
async fn reconcile_from_the_csv_exports_deidentifies_the_restored_again() {
    let s = Scenario::new().await;
    let sources = s.download_exports().await;
    assert_eq!(sources.len(), 4);
    let report = reconcile_at(&s.copy.url(), &sources).expect("reconcile");
    println!("{report}");
    assert_reconciled(&s, &report).await;
    assert_second_run_is_a_no_op(&s, &sources).await;
}

/// Puts `email` and `mobile` (either may be empty) straight onto abc-motors' lists, `days` ago.
fn blacklist_directly(app: &TestApp, dealer_id: &str, email: &str, mobile: &str, days: u64) {
    let on = chrono::Utc::now().date_naive() - chrono::Days::new(days);
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    for (table, value) in [("blacklist_emails", email), ("blacklist_mobiles", mobile)] {
        if value.is_empty() {
            continue;
        }
        diesel::sql_query(format!(
            "INSERT INTO {table} (dealer_id, value, added_on, changed_on) \
             VALUES ('{dealer_id}', '{value}', '{on}', '{on}')"
        ))
        .execute(&mut *conn)
        .unwrap();
    }
}

/// Fresh consent, and a record sharing only one identifier with a withdrawn person, keep their
/// identity; a record whose every identifier is listed without fresh consent does not.
#[tokio::test]
async fn fresh_consent_and_a_shared_identifier_keep_their_identity() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let themba = customer(
        &app,
        "abc-motors",
        ("Themba", "Dube"),
        "themba@mail.co.za",
        "082 555 0301",
    )
    .await;
    let spouse = customer(
        &app,
        "abc-motors",
        ("Ayanda", "Dube"),
        "ayanda@mail.co.za",
        "082 555 0301",
    )
    .await;
    let family = customer(
        &app,
        "abc-motors",
        ("Lindiwe", "Dube"),
        "themba@mail.co.za",
        "082 555 0302",
    )
    .await;
    withdraw(&app, "abc-motors", themba).await;
    // Listed 30 days ago; Nomsa's record is newer and has consent to process: fresh consent.
    let nomsa = customer(
        &app,
        "abc-motors",
        ("Nomsa", "Khoza"),
        "nomsa@mail.co.za",
        "082 555 0303",
    )
    .await;
    blacklist_directly(&app, "abc-motors", "nomsa@mail.co.za", "+27825550303", 30);
    // Newer too, but without consent to process: no fresh consent. One has only a mobile.
    let mut body = json!({"first_name": "Thabo", "last_name": "Khoza", "email": "thabo@mail.co.za",
                          "mobile": "082 555 0304", "consent_process": false, "consent_market": false});
    let thabo = app.create_customer("abc-motors", body.clone()).await["id"]
        .as_i64()
        .unwrap();
    body["first_name"] = json!("Zodwa");
    body["email"] = Value::Null;
    body["mobile"] = json!("082 555 0305");
    let zodwa = app.create_customer("abc-motors", body).await["id"]
        .as_i64()
        .unwrap();
    blacklist_directly(&app, "abc-motors", "thabo@mail.co.za", "+27825550304", 30);
    blacklist_directly(&app, "abc-motors", "", "+27825550305", 30);
    let app_ref = &app;
    let kept = |id| async move { record(app_ref, "abc-motors", id).await };
    let before = [kept(spouse).await, kept(family).await, kept(nomsa).await];

    let report = reconcile_at(&app.database_url, &[]).expect("reconcile");
    assert_eq!(
        report.dealers["abc-motors"].customer_ids,
        vec![thabo, zodwa],
        "{report}"
    );
    let after = [kept(spouse).await, kept(family).await, kept(nomsa).await];
    assert_eq!(after, before, "a record that keeps its identity changed");
    assert_eq!(after[0]["first_name"], "Ayanda");
    assert_eq!(after[0]["email"], "ayanda@mail.co.za");
    for id in [thabo, zodwa] {
        assert!(kept(id).await["first_name"].is_null());
    }
    assert_eq!(
        reconcile_at(&app.database_url, &[]).unwrap(),
        Report::default()
    );
}

/// Every row of the tables a reconcile writes, and the feed and outbox sizes.
fn snapshot(app: &TestApp) -> Vec<(String, Vec<String>)> {
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let watched = [
        "customers",
        "blacklist_emails",
        "blacklist_mobiles",
        "change_events",
        "outbox_messages",
    ];
    let mut tables: Vec<(String, Vec<String>)> = crate::residue::dump(&mut conn)
        .into_iter()
        .filter(|(t, _)| watched.contains(&t.as_str()))
        .collect();
    for (_, rows) in &mut tables {
        rows.sort();
    }
    tables.sort();
    tables
}

/// Bad input is refused with a clear error, and nothing changes.
#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let id = customer(
        &app,
        "abc-motors",
        ("Mpho", "Sithole"),
        "mpho@mail.co.za",
        "082 555 0401",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    // A good emails file naming Mpho, beside a bad mobiles file: neither may be applied.
    let emails = file(
        "abc-motors-blacklist-emails-2026-11-30.csv",
        "value,added_on\nmpho@mail.co.za,2026-11-01\n",
    );
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![dir
                .path()
                .join("abc-motors-blacklist-mobiles-2026-11-27.csv")
                .display()
                .to_string()],
            "cannot read",
        ),
        (
            vec![file(
                "abc-motors-blacklist-mobiles-2026-11-29.csv",
                "email,added_on\n+27825550401,2026-11-01\n",
            )],
            "wrong header",
        ),
        (
            vec!["postgres://postgres@127.0.0.1:1/x".into()],
            "does not answer",
        ),
        (
            vec![
                emails.clone(),
                file(
                    "abc-motors-blacklist-mobiles-2026-11-30.csv",
                    "value,added_on\n+27825550401,2026-11-01\n12345,2026-11-02\n",
                ),
            ],
            "line 3: the value is not a valid mobile number",
        ),
        (
            vec![
                emails.clone(),
                file(
                    "abc-motors-blacklist-mobiles-2026-11-28.csv",
                    "value,added_on\n+27825550401,yesterday\n",
                ),
            ],
            "line 2: added_on is not a past day",
        ),
        (
            vec![file("mobiles.csv", "value,added_on\n")],
            "cannot tell the dealer and the list",
        ),
        (
            vec![file(
                "nope-motors-blacklist-emails-2026-11-30.csv",
                "value,added_on\nmpho@mail.co.za,2026-11-01\n",
            )],
            "this database has no dealer nope-motors",
        ),
        (
            vec![emails.clone(), emails.clone()],
            "give one export per list",
        ),
    ];
    let before = snapshot(&app);
    for (sources, expected) in cases {
        let error = reconcile_at(&app.database_url, &sources).expect_err(expected);
        let message = format!("{error:#}");
        assert!(
            message.contains(expected),
            "{message} (expected: {expected})"
        );
        assert!(
            !message.contains("mpho@mail.co.za") && !message.contains("12345"),
            "{message}"
        );
        assert_eq!(
            snapshot(&app),
            before,
            "changed by a refused reconcile: {message}"
        );
    }
    assert_eq!(record(&app, "abc-motors", id).await["first_name"], "Mpho");
}

/// Serve reconciles at start, before it serves, and says how many it found.
#[tokio::test]
async fn serve_deidentifies_a_blacklisted_record_before_it_serves() {
    let first = spawn_app().await;
    let dealer_id = format!("boot-{:08x}", rand_u64() as u32);
    first.create_dealer(&dealer_id).await;
    let id = customer(
        &first,
        &dealer_id,
        ("Lwazi", "Nene"),
        "lwazi@mail.co.za",
        "082 555 0501",
    )
    .await;
    blacklist_directly(&first, &dealer_id, "lwazi@mail.co.za", "+27825550501", 0);
    let url = first.database_url.clone();
    let second = spawn_app_with(|c| c.database_url = url).await;
    let after = record(&second, &dealer_id, id).await;
    assert!(
        after["first_name"].is_null() && after["email"].is_null(),
        "{after}"
    );
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|l| l.contains("start-up reconcile") && l.contains(&dealer_id))
        .unwrap_or_else(|| panic!("no start-up reconcile line for {dealer_id}"));
    assert!(line.contains("found=1"), "{line}");
    let feed = second
        .get(
            &format!("/v1/dealers/{dealer_id}/history"),
            &dealer(&dealer_id),
        )
        .await
        .body;
    let last = feed["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["channel"].as_str()),
        (Some("customer.deidentified"), Some("reconcile"))
    );
}

/// The real binary refuses a CSV with a wrong header: exit code 1, the reason, no change.
#[tokio::test]
async fn the_cli_refuses_a_csv_with_a_wrong_header() {
    // The root package's tests get no CARGO_BIN_EXE for popia-api: use the one
    // `cargo build --workspace` put beside this test binary's folder.
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("popia-api");
    let help = std::process::Command::new(&binary)
        .args(["reconcile", "--help"])
        .output();
    if !help.is_ok_and(|o| o.status.success()) {
        println!(
            "skipped: no current {} (run `cargo build --workspace` first)",
            binary.display()
        );
        return;
    }
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    customer(
        &app,
        "abc-motors",
        ("Sizwe", "Ntuli"),
        "sizwe@mail.co.za",
        "082 555 0601",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir
        .path()
        .join("abc-motors-blacklist-emails-2026-11-30.csv");
    std::fs::write(&csv, "email,day\nsizwe@mail.co.za,2026-11-01\n").unwrap();
    let before = snapshot(&app);
    let output = std::process::Command::new(&binary)
        .env_clear()
        .env("POPIA_JWT_SECRET", SECRET)
        .args(["reconcile", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--database-url", &app.database_url, "--blacklists-from"])
        .arg(&csv)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("wrong header") && stderr.contains("value,added_on"),
        "{stderr}"
    );
    assert!(!stderr.contains("sizwe"), "{stderr}");
    assert_eq!(snapshot(&app), before);
}
