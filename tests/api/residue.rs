//! After a withdrawal, nothing that names the person is left anywhere the service keeps data:
//! every row of every table (enumerated from the database's own catalogue), the raw bytes of the
//! SQLite database and its WAL, and the log; in clear, masked, hashed, or inside a token.

use base64::Engine;
use diesel::RunQueryDsl;
use md5::Md5;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

const FIRST: &str = "Zanele";
const LAST: &str = "Mkhwanazi-Residuetest";
const EMAIL: &str = "zanele.residuetest@sea.co.za";
/// The mobile the record had first; changed through /pi to [`MOBILE`].
const FORMER_MOBILE: &str = "+27827774321";
const MOBILE: &str = "+27827779876";

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every form in which the person could be found: the values, their masked, national and bare
/// forms, the lower-case hex MD5, SHA-1 and SHA-256 of each value, and the subject tokens they
/// were given (whole, and the payload segment that base64-encodes their identifier).
fn needles(tokens: &[String]) -> Vec<(String, String)> {
    let mut needles: Vec<(String, String)> = Vec::new();
    for (value, what) in [
        (FIRST, "first name"),
        (LAST, "surname"),
        (EMAIL, "email"),
        (MOBILE, "mobile"),
        (FORMER_MOBILE, "former mobile"),
    ] {
        needles.push((value.to_lowercase(), what.into()));
        needles.push((
            hex(&Md5::digest(value.as_bytes())),
            format!("the MD5 of the {what}"),
        ));
        needles.push((
            hex(&Sha1::digest(value.as_bytes())),
            format!("the SHA-1 of the {what}"),
        ));
        needles.push((
            hex(&Sha256::digest(value.as_bytes())),
            format!("the SHA-256 of the {what}"),
        ));
    }
    for mobile in [MOBILE, FORMER_MOBILE] {
        let digits = &mobile[3..];
        needles.push((format!("0{digits}"), format!("{mobile} (national)")));
        needles.push((mobile[1..].to_owned(), format!("{mobile} (bare)")));
        needles.push((
            format!(
                "{}{}{}",
                &mobile[..5],
                "*".repeat(mobile.len() - 7),
                &mobile[mobile.len() - 2..]
            ),
            format!("{mobile} (masked)"),
        ));
    }
    needles.push(("z***@sea.co.za".into(), "email (masked)".into()));
    for token in tokens {
        needles.push((token.to_lowercase(), "a subject token".into()));
        let payload = token.split('.').nth(1).unwrap();
        needles.push((payload.to_lowercase(), "a subject token's payload".into()));
    }
    needles
}

/// `text` and, after it, every base64 or base64url run in it decoded (a JWT's payload, a
/// base64-encoded body), so that a needle hidden by the encoding is found too.
pub(crate) fn with_decoded(text: &str) -> String {
    let mut all = text.to_owned();
    let engines = [
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    for run in text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_+/".contains(c))) {
        if run.len() < 16 {
            continue;
        }
        for engine in &engines {
            if let Ok(bytes) = engine.decode(run.trim_end_matches('=')) {
                all.push('\n');
                all.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    all
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// Every row of every table, as text (binary columns decoded), by table.
pub(crate) fn dump(conn: &mut popia_api::db::DbConnection) -> Vec<(String, Vec<String>)> {
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

/// A POST as the SDK sends it: with a fresh Idempotency-Key.
async fn post_keyed(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = app
        .client
        .post(format!("{}{path}", app.address))
        .header(
            "idempotency-key",
            format!("{:016x}{:016x}", rand_u64(), rand_u64()),
        )
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Delivers what is due, then the code in the newest email the SMTP server received for
/// `recipient`.
async fn emailed_code(app: &TestApp, sink: &SmtpSink, recipient: &str) -> String {
    app.deliver_pending().await;
    sink.messages()
        .into_iter()
        .rev()
        .find(|m| m.recipients == [recipient])
        .and_then(|mail| {
            let body = mail.parsed().body_text(0)?.into_owned();
            body.split_whitespace()
                .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no code email to {recipient}"))
}

/// Proves control of an email through the public endpoints, keyed as the SDK sends them.
async fn sign_in(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    let started = post_keyed(
        app,
        "/v1/dealers/abc-motors/pi/verifications",
        None,
        json!({ "email": email }),
    )
    .await;
    let id = started["verification_id"].as_str().unwrap().to_owned();
    let code = emailed_code(app, sink, email).await;
    let confirmed = post_keyed(
        app,
        &format!("/v1/dealers/abc-motors/pi/verifications/{id}/confirm"),
        None,
        json!({ "code": code }),
    )
    .await;
    confirmed["token"].as_str().unwrap().to_owned()
}

/// Delivers what is due and returns abc-motors' notifications, none of them left pending.
async fn until_nothing_pending(app: &TestApp) -> Vec<Value> {
    app.deliver_pending().await;
    let listed = app
        .get(
            "/v1/dealers/abc-motors/notifications?limit=1000",
            &dealer("abc-motors"),
        )
        .await
        .body;
    let items = listed["items"].as_array().unwrap().clone();
    assert!(
        items.iter().all(|m| m["status"] != "pending"),
        "messages still pending: {listed}"
    );
    items
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// After a withdrawal nothing names or links the person.
#[tokio::test]
async fn after_a_withdrawal_nothing_names_or_links_the_person() {
    // The default retention (30 days), email over SMTP, SMS to the mailbox folder.
    let port = free_port();
    let sink = SmtpSink::start_on(port).await;
    let smtp = sink.url();
    let app = spawn_app_with(|c| c.notify.smtp_url = Some(smtp)).await;
    let database_file = app.database_url.trim_start_matches("sqlite://").to_owned();
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let created = post_keyed(
        &app,
        "/v1/dealers/abc-motors/customers",
        Some(&token),
        json!({"first_name": FIRST, "last_name": LAST, "email": EMAIL.to_uppercase(), "mobile": "082 777 4321",
               "consent_process": true, "consent_market": true, "consent_source": "website form"}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    for (name, email) in [
        ("Ashveer", "ashveer@abc-motors.co.za"),
        ("Lerato", "lerato@abc-motors.co.za"),
    ] {
        post_keyed(
            &app,
            "/v1/dealers/abc-motors/leads",
            Some(&token),
            json!({"customer_id": id, "recipient": {"name": name, "email": email},
                   "source": format!("{FIRST}'s referral"), "vehicle": format!("{FIRST}'s Polo CA 777-432"),
                   "message": format!("Please call {FIRST} {LAST} on 082 777 4321 or {EMAIL}")}),
        )
        .await;
    }
    // Staff look them up; an operator checks the lists for them (a read, never stored).
    app.get("/v1/dealers/abc-motors/customers?mobile=0827774321", &token)
        .await;
    post_keyed(
        &app,
        "/v1/dealers/abc-motors/blacklist/check",
        Some(&operator()),
        json!({"emails": [EMAIL], "mobiles": ["082 777 4321"]}),
    )
    .await;
    // The customer proves their email (code by email) and moves the record to a new mobile
    // (code by SMS to the new number); an abandoned verification of the former mobile too.
    let subject = sign_in(&app, &sink, EMAIL).await;
    post_keyed(
        &app,
        "/v1/dealers/abc-motors/pi/verifications",
        None,
        json!({"mobile": "082 777 4321"}),
    )
    .await;
    app.get("/v1/dealers/abc-motors/pi/records", &subject).await;
    let change = post_keyed(
        &app,
        &format!("/v1/dealers/abc-motors/pi/records/{id}/identifier-changes"),
        Some(&subject),
        json!({"mobile": "082 777 9876"}),
    )
    .await;
    let change_id = change["verification_id"].as_str().unwrap().to_owned();
    let code = latest_code(&app, MOBILE).await;
    let changed = post_keyed(
        &app,
        &format!("/v1/dealers/abc-motors/pi/records/{id}/identifier-changes/{change_id}/confirm"),
        Some(&subject),
        json!({"code": code}),
    )
    .await;
    assert_eq!(changed["mobile"], MOBILE);
    until_nothing_pending(&app).await;

    // SMTP goes down: the amendments' and the withdrawal's emails wait in the outbox.
    drop(sink);
    app.patch(
        &format!("/v1/dealers/abc-motors/customers/{id}"),
        &token,
        json!({"consent_market": false}),
    )
    .await;
    app.patch(
        &format!("/v1/dealers/abc-motors/pi/records/{id}"),
        &subject,
        json!({"consent_market": true}),
    )
    .await;
    let withdrawn = post_keyed(
        &app,
        "/v1/dealers/abc-motors/pi/withdraw-consent",
        Some(&subject),
        json!({}),
    )
    .await;
    assert_eq!(withdrawn["customer_ids"], json!([id]));
    app.get("/v1/dealers/abc-motors/pi/records", &subject)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);

    // SMTP is back: the withdrawal's own emails go out, then their content is deleted at once.
    let sink = SmtpSink::start_on(port).await;
    let messages = until_nothing_pending(&app).await;
    let delivered: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| m.parsed().subject().unwrap_or_default().to_owned())
        .collect();
    assert!(
        delivered
            .iter()
            .any(|s| s.starts_with("POPIA Customer withdraws consent to process"))
            && delivered
                .iter()
                .filter(|s| s.contains("De-identify Alert"))
                .count()
                == 2,
        "{delivered:?} {}",
        serde_json::to_string(&messages).unwrap()
    );
    for message in &messages {
        assert!(message["purged_at"].is_string(), "content kept: {message}");
    }
    // The two amendments' emails were made moot by the withdrawal: cancelled, never sent.
    let cancelled = messages
        .iter()
        .filter(|m| m["kind"] == "details_altered" && m["status"] == "failed")
        .count();
    assert_eq!(cancelled, 2, "{messages:#?}");

    // The storage pass (at most 30 s after the withdrawal in the service; driven here).
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let today = chrono::Utc::now().date_naive();
    popia_api::service::storage_hygiene::run(&mut conn, today).unwrap();

    let needles = needles(std::slice::from_ref(&subject));
    let tables = dump(&mut conn);
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
            let row = with_decoded(row).to_lowercase();
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
    assert!(!blacklisted("blacklist_mobiles", FORMER_MOBILE));

    // SQLite: the files themselves, freed pages and WAL frames included. The two blacklist
    // values stand in their list's table and its two indexes; nothing else may.
    let mut files = 0;
    if app.database_url.starts_with("sqlite://") {
        for suffix in ["", "-wal"] {
            let path = format!("{database_file}{suffix}");
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            files += 1;
            let mut text = with_decoded(&String::from_utf8_lossy(&bytes)).to_lowercase();
            for listed in [EMAIL, MOBILE] {
                let count = text.matches(listed).count();
                if count > 3 {
                    found.push(format!("{listed} {count} times in the file {path}"));
                }
                text = text.replace(listed, "");
            }
            for (needle, what) in &needles {
                if let Some(at) = text.find(needle.as_str()) {
                    let context = &text[at.saturating_sub(80)..(at + 80).min(text.len())];
                    found.push(format!("{what} in the file {path}, as in {context:?}"));
                }
            }
        }
    }
    println!(
        "residue: scanned {} tables, {rows} rows, {files} database files, {} forms of the person; found {} outside the blacklists",
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
    let logs = with_decoded(&captured_logs()).to_lowercase();
    assert!(!logs.is_empty());
    for (needle, what) in &needles {
        assert!(!logs.contains(needle.as_str()), "{what} is in the log");
    }
    // The salespeople's own details stay: they are staff, not the data subject.
    let record = app
        .get(&format!("/v1/dealers/abc-motors/customers/{id}"), &token)
        .await
        .body;
    assert_eq!(record["leads"][0]["recipient"]["name"], "Ashveer");
}

/// A withdrawal purges earlier messages to the person whatever the retention.
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
    // The code and the details-altered email are delivered (retention: 30 days).
    app.deliver_pending().await;
    let items = app
        .get("/v1/dealers/abc-motors/notifications", &token)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        items.len() == 2 && items.iter().all(|m| m["status"] == "sent"),
        "{items:?}"
    );
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
