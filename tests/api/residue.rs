//! After a withdrawal, nothing that names the person is left anywhere the service keeps data:
//! every row of every table (enumerated from the database's own catalogue), and the log.

use std::time::Duration;

use diesel::RunQueryDsl;
use md5::Md5;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

const FIRST: &str = "Zanele";
const LAST: &str = "Mkhwanazi-Residuetest";
const EMAIL: &str = "zanele.residuetest@sea.co.za";
const MOBILE: &str = "+27827774321";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every form in which the person could be found: the values, their national and bare forms,
/// and the lower-case hex MD5, SHA-1 and SHA-256 of each value.
fn needles() -> Vec<(String, &'static str)> {
    let mut needles = Vec::new();
    for (value, what) in [
        (FIRST, "first name"),
        (LAST, "surname"),
        (EMAIL, "email"),
        (MOBILE, "mobile"),
    ] {
        needles.push((value.to_lowercase(), what));
        needles.push((hex(&Md5::digest(value.as_bytes())), "an MD5"));
        needles.push((hex(&Sha1::digest(value.as_bytes())), "a SHA-1"));
        needles.push((hex(&Sha256::digest(value.as_bytes())), "a SHA-256"));
    }
    needles.push(("0827774321".into(), "mobile (national)"));
    needles.push(("27827774321".into(), "mobile (bare)"));
    needles
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// Every row of every table, as text (binary columns decoded), by table.
fn dump(conn: &mut popia_api::db::DbConnection) -> Vec<(String, Vec<String>)> {
    let is_pg = matches!(conn, popia_api::db::DbConnection::Pg(_));
    let tables_sql = if is_pg {
        "SELECT table_name::text AS text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name AS text FROM sqlite_master WHERE type = 'table'"
    };
    let tables: Vec<String> = diesel::sql_query(tables_sql)
        .load::<Text>(conn)
        .unwrap()
        .into_iter()
        .map(|t| t.text)
        .collect();
    tables
        .into_iter()
        .map(|table| {
            let columns_sql = if is_pg {
                format!(
                    "SELECT column_name::text || '|' || data_type::text AS text FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = '{table}'"
                )
            } else {
                format!("SELECT name || '|' || type AS text FROM pragma_table_info('{table}')")
            };
            let fields: Vec<String> = diesel::sql_query(columns_sql)
                .load::<Text>(conn)
                .unwrap()
                .into_iter()
                .map(|c| {
                    let (name, kind) = c.text.split_once('|').unwrap();
                    let value = match (is_pg, kind) {
                        (true, "bytea") => format!("convert_from(\"{name}\", 'UTF8')"),
                        (true, _) => format!("\"{name}\""),
                        (false, _) => format!("CAST(\"{name}\" AS TEXT)"),
                    };
                    format!("'{name}', {value}")
                })
                .collect();
            let function = if is_pg { "json_build_object" } else { "json_object" };
            let sql = format!("SELECT {function}({})::text AS text FROM \"{table}\"", fields.join(", "));
            let sql = if is_pg { sql } else { sql.replace("::text", "") };
            let rows = diesel::sql_query(sql).load::<Text>(conn).unwrap().into_iter().map(|r| r.text).collect();
            (table, rows)
        })
        .collect()
}

#[tokio::test]
async fn after_a_withdrawal_nothing_names_the_person() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|c| {
        c.notify.smtp_url = Some(url);
        c.notify.retention = Duration::ZERO;
    })
    .await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    // Created with an Idempotency-Key, so a stored response names the person too.
    let customer = app
        .client
        .post(format!("{}/v1/dealers/abc-motors/customers", app.address))
        .bearer_auth(&token)
        .header("idempotency-key", "create-zanele")
        .json(&json!({"first_name": FIRST, "last_name": LAST, "email": EMAIL.to_uppercase(), "mobile": "082 777 4321",
                      "consent_process": true, "consent_market": true, "consent_source": "website form"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let id = customer["id"].as_i64().unwrap();
    for (name, email) in [
        ("Ashveer", "ashveer@abc-motors.co.za"),
        ("Lerato", "lerato@abc-motors.co.za"),
    ] {
        let lead = app
            .post(
                "/v1/dealers/abc-motors/leads",
                &token,
                json!({"customer_id": id, "recipient": {"name": name, "email": email},
                       "message": format!("Please call {FIRST} {LAST} on 082 777 4321 or {EMAIL}")}),
            )
            .await;
        assert_eq!(lead.status, StatusCode::CREATED);
    }
    // Staff look them up and amend them; the customer verifies both identifiers, looks up,
    // amends, and withdraws.
    app.get("/v1/dealers/abc-motors/customers?mobile=0827774321", &token)
        .await;
    app.patch(
        &format!("/v1/dealers/abc-motors/customers/{id}"),
        &token,
        json!({"consent_market": false}),
    )
    .await;
    let started = start_verification(&app, json!({"email": EMAIL})).await;
    let verification = started.body["verification_id"].as_str().unwrap().to_owned();
    // The code email, among the others the amendment queued.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let code_mail = loop {
        if let Some(mail) = sink
            .messages()
            .into_iter()
            .find(|m| m.recipients == [EMAIL])
        {
            break mail;
        }
        assert!(tokio::time::Instant::now() < deadline, "no code email");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let body = code_mail.parsed().body_text(0).unwrap().into_owned();
    let code = body
        .split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_owned();
    let confirm = app
        .call(
            Method::POST,
            &format!("/v1/dealers/abc-motors/pi/verifications/{verification}/confirm"),
            None,
            Some(json!({"code": code})),
        )
        .await;
    let subject = confirm.body["token"].as_str().unwrap().to_owned();
    // An abandoned verification of the mobile too (its row must not outlive the withdrawal).
    start_verification(&app, json!({"mobile": "082 777 4321"})).await;
    app.get("/v1/dealers/abc-motors/pi/records", &subject).await;
    app.patch(
        &format!("/v1/dealers/abc-motors/pi/records/{id}"),
        &subject,
        json!({"consent_market": true}),
    )
    .await;
    let withdrawn = app
        .post(
            "/v1/dealers/abc-motors/pi/withdraw-consent",
            &subject,
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);
    app.get("/v1/dealers/abc-motors/pi/records", &subject).await;

    // Let every message go out (retention 0 purges each right after delivery).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listed = app
            .get("/v1/dealers/abc-motors/notifications?limit=1000", &token)
            .await
            .body;
        let items = listed["items"].as_array().unwrap().clone();
        if !items.is_empty()
            && items
                .iter()
                .all(|m| m["status"] == "sent" && m["purged_at"].is_string())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "messages still pending: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let tables = dump(&mut conn);
    let needles = needles();
    let mut found = Vec::new();
    let mut rows = 0;
    for (table, table_rows) in &tables {
        rows += table_rows.len();
        // The email alone may stand in the email blacklist, and the mobile alone in the mobile
        // blacklist: take that value out of their rows, and nothing else may remain.
        let allowed = match table.as_str() {
            "blacklist_emails" => Some(EMAIL),
            "blacklist_mobiles" => Some(MOBILE),
            _ => None,
        };
        for row in table_rows {
            let row = row.to_lowercase();
            let rest = allowed.map_or(row.clone(), |value| {
                row.replace(&format!("\"{value}\""), "\"\"")
            });
            for (needle, what) in &needles {
                if rest.contains(needle.as_str()) {
                    found.push(format!("{what} in {table}: {row}"));
                }
            }
        }
    }
    let blacklisted = |table: &str, value: &str| {
        tables
            .iter()
            .any(|(t, rows)| t == table && rows.iter().any(|r| r.contains(value)))
    };
    assert!(blacklisted("blacklist_emails", EMAIL) && blacklisted("blacklist_mobiles", MOBILE));
    println!(
        "residue: scanned {} tables, {rows} rows, {} forms of the person; found {} outside the blacklists",
        tables.len(),
        needles.len(),
        found.len()
    );
    assert!(
        found.is_empty(),
        "personal information left behind:\n{}",
        found.join("\n")
    );

    // Nor in the log, in any form.
    let logs = captured_logs().to_lowercase();
    assert!(!logs.is_empty());
    for (needle, what) in &needles {
        assert!(!logs.contains(needle.as_str()), "{what} is in the log");
    }
    // The salespeople's own details stay: they are staff, not the data subject.
    let leads: Value = app
        .get(&format!("/v1/dealers/abc-motors/customers/{id}"), &token)
        .await
        .body;
    assert_eq!(leads["leads"][0]["recipient"]["name"], "Ashveer");
}

#[tokio::test]
async fn a_withdrawal_purges_earlier_messages_to_the_person_whatever_the_retention() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let id = app.create_customer("abc-motors", fred()).await["id"]
        .as_i64()
        .unwrap();
    app.patch(
        &format!("/v1/dealers/abc-motors/customers/{id}"),
        &token,
        json!({"consent_market": false}),
    )
    .await;
    let subject = verify(
        &app,
        "abc-motors",
        json!({"email": "fred@sea.com"}),
        "fred@sea.com",
    )
    .await;
    // Wait until the code and the details-altered email are delivered (retention: 30 days).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let items = app
            .get("/v1/dealers/abc-motors/notifications", &token)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .clone();
        if items.len() == 2 && items.iter().all(|m| m["status"] == "sent") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = app
        .post(
            "/v1/dealers/abc-motors/pi/withdraw-consent",
            &subject,
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    let items = app
        .get("/v1/dealers/abc-motors/notifications", &token)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    for earlier in &items[..2] {
        assert!(earlier["purged_at"].is_string(), "{earlier}");
        assert!(
            earlier["recipients"].is_null() && earlier["subject"].is_null(),
            "{earlier}"
        );
    }
    // What the withdrawal itself queued is still to be delivered.
    assert_eq!(items[2]["kind"], "consent_withdrawn");
}
