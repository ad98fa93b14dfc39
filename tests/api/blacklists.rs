//! The blacklists as operators use them.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn read_pages(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &after {
            Some(cursor) => format!("{path}{separator}limit={limit}&after={cursor}"),
            None => format!("{path}{separator}limit={limit}"),
        };
        let page = app.get(&url, token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let batch = page.body["items"].as_array().unwrap();
        assert!(batch.len() <= limit);
        items.extend(batch.iter().cloned());
        match &page.body["next"] {
            Value::String(cursor) => after = Some(cursor.clone()),
            _ => break,
        }
    }
    items
}

/// Pages cover every entry once and changes include removals.
#[tokio::test]
async fn pages_cover_every_entry_once_and_changes_include_removals() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    seed_emails(&app, 250);
    let items = read_pages(&app, &operator(), EMAILS, 17).await;
    assert_eq!(items.len(), 250);
    let keys: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["added_on"].as_str().unwrap().to_owned(),
                i["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by (added_on, value)");
    assert_eq!(
        keys.iter().collect::<HashSet<_>>().len(),
        250,
        "no duplicates"
    );

    // Two entries leave through fresh consent today; one person is added today.
    for value in ["person0000001@mail.co.za", "person0000002@mail.co.za"] {
        let body = json!({"first_name": "Back", "last_name": "Again", "email": value,
                          "consent_process": true, "consent_market": false, "consent_source": "signed form at the dealership"});
        app.create_customer("abc-motors", body).await;
    }
    let id = app.create_customer("abc-motors", fred()).await["id"]
        .as_i64()
        .unwrap();
    let done = app
        .post(
            &format!("/v1/dealers/abc-motors/customers/{id}/withdraw-consent"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);

    let today = chrono::Utc::now().date_naive();
    let changes = read_pages(&app, &operator(), &format!("{EMAILS}?since={today}"), 2).await;
    let mut seen: Vec<(String, String)> = changes
        .iter()
        .map(|c| {
            (
                c["value"].as_str().unwrap().to_owned(),
                c["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("fred@sea.com".to_owned(), "added".to_owned()),
            ("person0000001@mail.co.za".to_owned(), "removed".to_owned()),
            ("person0000002@mail.co.za".to_owned(), "removed".to_owned()),
        ]
    );
    assert!(changes.iter().all(|c| c["on"] == today.to_string()));
    // The full list no longer holds the removed ones, and holds Fred.
    let all = read_pages(&app, &operator(), EMAILS, 1000).await;
    assert_eq!(all.len(), 249);
    // Changes since the first seeded day include every seeded entry still listed.
    let since_start = read_pages(
        &app,
        &operator(),
        &format!("{EMAILS}?since={}", day(0)),
        1000,
    )
    .await;
    assert_eq!(since_start.len(), 251);
    // A day that is not a date is refused.
    app.get(&format!("{EMAILS}?since=yesterday"), &operator())
        .await
        .assert_field_refused("since");
}

/// The check normalises reports invalid values and has a limit.
#[tokio::test]
async fn the_check_normalises_reports_invalid_values_and_has_a_limit() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let id = app.create_customer("abc-motors", fred()).await["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/v1/dealers/abc-motors/customers/{id}/withdraw-consent"),
        &dealer("abc-motors"),
        json!({}),
    )
    .await;
    let check = "/v1/dealers/abc-motors/blacklist/check";
    let reply = app
        .post(
            check,
            &operator(),
            json!({
                "emails": ["FRED@sea.com", " fred@SEA.com ", "other@sea.com", "not-an-email"],
                "mobiles": ["083 656 7788", "+27836567788", "+27 (0)83 656 7788", "0825550123", "12"],
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["emails"], json!(["fred@sea.com"]));
    assert_eq!(reply.body["mobiles"], json!(["+27836567788"]));
    let invalid: Vec<&str> = reply.body["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(invalid, ["emails[3]", "mobiles[4]"]);

    let too_many: Vec<String> = (0..10_001).map(|n| format!("p{n}@mail.co.za")).collect();
    app.post(check, &operator(), json!({ "emails": too_many }))
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
    let just_enough: Vec<String> = (0..10_000).map(|n| format!("p{n}@mail.co.za")).collect();
    let reply = app
        .post(check, &operator(), json!({ "emails": just_enough }))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["emails"], json!([]));
}

/// Operators reach the blacklists of their dealers and nothing else.
#[tokio::test]
async fn operators_reach_the_blacklists_of_their_dealers_and_nothing_else() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    let token = operator();
    for path in [EMAILS, "/v1/dealers/abc-motors/blacklist/mobiles"] {
        assert_eq!(app.get(path, &token).await.status, StatusCode::OK, "{path}");
    }
    app.get("/v1/dealers/abc-motors/customers", &token)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    app.get("/v1/dealers/abc-motors/history", &token)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    app.get("/v1/dealers/abc-motors/blacklist/pulls", &token)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    app.get("/v1/dealers/abc-motors", &token)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    app.get("/v1/dealers/xyz-motors/blacklist/emails", &token)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    app.post(
        "/v1/dealers/xyz-motors/blacklist/check",
        &token,
        json!({"emails": []}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    let csv = app
        .client
        .get(format!(
            "{}/v1/dealers/xyz-motors/blacklist/emails",
            app.address
        ))
        .bearer_auth(&token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::NOT_FOUND);
    // Dealers and admins read them too.
    assert_eq!(
        app.get(EMAILS, &dealer("abc-motors")).await.status,
        StatusCode::OK
    );
    assert_eq!(app.get(EMAILS, &admin()).await.status, StatusCode::OK);
}

/// A blacklisted identifier returns only with fresh consent.
#[tokio::test]
async fn a_blacklisted_identifier_returns_only_with_fresh_consent() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let id = app.create_customer("abc-motors", fred()).await["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/v1/dealers/abc-motors/customers/{id}/withdraw-consent"),
        &token,
        json!({}),
    )
    .await;

    let path = "/v1/dealers/abc-motors/customers";
    let mut without_source = fred();
    without_source
        .as_object_mut()
        .unwrap()
        .remove("consent_source");
    app.post(path, &token, without_source)
        .await
        .assert_problem(StatusCode::CONFLICT);
    let mut without_consent = fred();
    without_consent["consent_process"] = json!(false);
    app.post(path, &token, without_consent)
        .await
        .assert_problem(StatusCode::CONFLICT);
    let mut mobile_only = fred();
    mobile_only.as_object_mut().unwrap().remove("email");
    mobile_only
        .as_object_mut()
        .unwrap()
        .remove("consent_source");
    app.post(path, &token, mobile_only)
        .await
        .assert_problem(StatusCode::CONFLICT);

    let back = app.post(path, &token, fred()).await;
    assert_eq!(back.status, StatusCode::CREATED, "{}", back.body);
    let check = app
        .post(
            "/v1/dealers/abc-motors/blacklist/check",
            &token,
            json!({"emails": ["fred@sea.com"], "mobiles": ["0836567788"]}),
        )
        .await;
    assert_eq!(check.body["emails"], json!([]));
    assert_eq!(check.body["mobiles"], json!([]));
}

/// Every export and check is in the pull log.
#[tokio::test]
async fn every_export_and_check_is_in_the_pull_log() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    seed_emails(&app, 5);
    let operator = sign(&claims("operator", &["abc-motors"]));
    app.get(&format!("{EMAILS}?limit=3"), &operator).await;
    app.get(
        "/v1/dealers/abc-motors/blacklist/mobiles?since=2026-01-01",
        &operator,
    )
    .await;
    app.post(
        "/v1/dealers/abc-motors/blacklist/check",
        &operator,
        json!({"emails": ["a@b.co.za"], "mobiles": ["0836567788"]}),
    )
    .await;
    let pulls = app
        .get("/v1/dealers/abc-motors/blacklist/pulls", &admin())
        .await;
    assert_eq!(pulls.status, StatusCode::OK);
    let summary: Vec<(String, Value, u64)> = pulls.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["list"].as_str().unwrap().to_owned(),
                p["since"].clone(),
                p["items"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("emails".to_owned(), Value::Null, 3),
            ("mobiles".to_owned(), json!("2026-01-01"), 0),
            ("check".to_owned(), Value::Null, 2),
        ]
    );
    assert!(pulls.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["sub"] == "operator-user" && p["role"] == "operator"));
}

/// Reads a page of `url` and returns its values and its `next` cursor.
async fn page_of(app: &TestApp, token: &str, url: &str) -> (Vec<String>, Option<String>) {
    let page = app.get(url, token).await;
    assert_eq!(page.status, StatusCode::OK, "{url}: {}", page.body);
    let values = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap().to_owned())
        .collect();
    (values, page.body["next"].as_str().map(str::to_owned))
}

/// Blacklist cursors carry no value and open only where they were issued.
#[tokio::test]
async fn blacklist_cursors_carry_no_value_and_open_only_where_they_were_issued() {
    use base64::Engine;
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    seed_emails(&app, 30);
    let token = sign(&claims("operator", &["abc-motors", "xyz-motors"]));
    let (first, cursor) = page_of(&app, &token, &format!("{EMAILS}?limit=10")).await;
    assert_eq!(first.len(), 10);
    let cursor = cursor.expect("a next page");

    // No trace of the values or their days: not in the cursor, nor in its bytes once decoded.
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&cursor)
        .expect("base64url");
    let contains = |bytes: &[u8], needle: &str| {
        bytes
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    let last = first.last().unwrap();
    let (local, domain) = last.split_once('@').unwrap();
    for needle in [last.as_str(), local, domain, "person", "mail.co", "2026-"] {
        assert!(!contains(cursor.as_bytes(), needle), "{needle} in {cursor}");
        assert!(
            !contains(&decoded, needle),
            "{needle} in the decoded cursor"
        );
    }
    for value in &first {
        assert!(!contains(&decoded, value), "{value} in the decoded cursor");
    }

    // The next page still works, and starts right after the first.
    let (second, _) = page_of(&app, &token, &format!("{EMAILS}?limit=10&after={cursor}")).await;
    assert_eq!(second.len(), 10);
    let (all, _) = page_of(&app, &token, &format!("{EMAILS}?limit=20")).await;
    assert_eq!([first.clone(), second.clone()].concat(), all);
    // The same position sealed again is another cursor (a fresh nonce) that works the same.
    let (_, again) = page_of(&app, &token, &format!("{EMAILS}?limit=10")).await;
    let again = again.unwrap();
    assert_ne!(again, cursor);
    let (same, _) = page_of(&app, &token, &format!("{EMAILS}?limit=10&after={again}")).await;
    assert_eq!(same, second);

    // A tampered, truncated or made-up cursor is refused, naming `after`, never a 500.
    let middle = cursor.len() / 2;
    let flipped = if &cursor[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{flipped}{}", &cursor[..middle], &cursor[middle + 1..]);
    let readable =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("day:2026-01-01|{last}"));
    for bad in [
        tampered.as_str(),
        &cursor[..cursor.len() - 4],
        &cursor[..20],
        readable.as_str(),
        "bm90LWEtY3Vyc29y",
        "not-base64!",
    ] {
        let reply = app
            .get(&format!("{EMAILS}?limit=10&after={bad}"), &token)
            .await;
        reply.assert_field_refused("after");
        assert!(
            reply
                .body
                .to_string()
                .contains("is not a cursor this service issued"),
            "{}",
            reply.body
        );
    }

    // Bound to its list, dealer and filter: an emails cursor opens nowhere else.
    let today = chrono::Utc::now().date_naive();
    for elsewhere in [
        "/v1/dealers/abc-motors/blacklist/mobiles".to_owned(),
        "/v1/dealers/xyz-motors/blacklist/emails".to_owned(),
        format!("{EMAILS}?since={today}"),
    ] {
        let separator = if elsewhere.contains('?') { '&' } else { '?' };
        app.get(&format!("{elsewhere}{separator}after={cursor}"), &token)
            .await
            .assert_field_refused("after");
    }
}

/// Mobile cursors page the mobiles and carry no number.
#[tokio::test]
async fn mobile_cursors_page_the_mobiles_and_carry_no_number() {
    use base64::Engine;
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let mobiles: Vec<String> = (0..5).map(|n| format!("+2783656770{n}")).collect();
    {
        let pool = app.pool();
        let mut conn = pool.get().unwrap();
        let rows: Vec<String> = mobiles
            .iter()
            .map(|m| format!("('abc-motors', '{m}', '{0}', '{0}')", day(3)))
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO blacklist_mobiles (dealer_id, value, added_on, changed_on) VALUES {}",
            rows.join(", ")
        ))
        .execute(&mut *conn)
        .unwrap();
    }
    let path = "/v1/dealers/abc-motors/blacklist/mobiles";
    let mut seen = Vec::new();
    let mut url = format!("{path}?limit=2");
    loop {
        let (values, next) = page_of(&app, &operator(), &url).await;
        seen.extend(values.iter().cloned());
        let Some(cursor) = next else { break };
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&cursor)
            .unwrap();
        let last = values.last().unwrap();
        for needle in [last.as_str(), &last[1..], &last[3..], "8365677"] {
            assert!(!cursor.contains(needle), "{needle} in {cursor}");
            assert!(
                !decoded
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes()),
                "{needle} in the decoded cursor"
            );
        }
        // A mobiles cursor is refused on the emails.
        app.get(&format!("{EMAILS}?after={cursor}"), &operator())
            .await
            .assert_field_refused("after");
        url = format!("{path}?limit=2&after={cursor}");
    }
    assert_eq!(seen, mobiles);
}

/// Downloads `path` as CSV with `token` and returns its bytes as they came.
async fn csv_bytes(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.bytes().await.unwrap().to_vec()
}

/// Puts `(value, added_on, removed_on, changed_on)` rows straight into `table` for abc-motors.
fn insert_entries(app: &TestApp, table: &str, rows: &[(&str, u32, Option<u32>, u32)]) {
    use diesel::sql_types::{Date, Nullable, Text};
    use diesel::RunQueryDsl;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let placeholders = match &*conn {
        popia_api::db::DbConnection::Pg(_) => ["$1", "$2", "$3", "$4"],
        popia_api::db::DbConnection::Sqlite(_) => ["?1", "?2", "?3", "?4"],
    };
    for (value, added, removed, changed) in rows {
        diesel::sql_query(format!(
            "INSERT INTO {table} (dealer_id, value, added_on, removed_on, changed_on) \
             VALUES ('abc-motors', {}, {}, {}, {})",
            placeholders[0], placeholders[1], placeholders[2], placeholders[3]
        ))
        .bind::<Text, _>(*value)
        .bind::<Date, _>(day(*added))
        .bind::<Nullable<Date>, _>(removed.map(day))
        .bind::<Date, _>(day(*changed))
        .execute(&mut *conn)
        .unwrap();
    }
}

/// The CSV export is byte for byte the file operators have always had, on either backend: the
/// expected bytes are what the export wrote before PostgreSQL's went through COPY.
#[tokio::test]
async fn the_csv_export_is_byte_for_byte_the_expected_file() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    insert_entries(
        &app,
        "blacklist_emails",
        &[
            ("plain@x.co", 0, None, 0),
            ("=cmd@x.co", 1, None, 1),
            ("-a@x.co", 2, None, 2),
            ("+sum@x.co", 3, None, 3),
            ("o'brien@x.co", 4, None, 4),
            ("a@bücher.de", 5, None, 5),
            ("gone@x.co", 0, Some(6), 6),
            ("-left@x.co", 1, Some(7), 7),
        ],
    );
    insert_entries(
        &app,
        "blacklist_mobiles",
        &[
            ("+27821234567", 0, None, 0),
            ("+27831234567", 1, Some(2), 2),
        ],
    );
    let token = sign(&claims("operator", &["abc-motors", "xyz-motors"]));
    let mobiles = "/v1/dealers/abc-motors/blacklist/mobiles";
    let empty = "/v1/dealers/xyz-motors/blacklist/emails";
    // (path, the file, the entries the pull log counts)
    let cases = [
        (
            EMAILS.to_owned(),
            "value,added_on\nplain@x.co,2026-01-01\n'=cmd@x.co,2026-01-02\n'-a@x.co,2026-01-03\n\
             '+sum@x.co,2026-01-04\no'brien@x.co,2026-01-05\na@bücher.de,2026-01-06\n",
            6,
        ),
        (
            format!("{EMAILS}?since={}", day(3)),
            "value,change,on\n'+sum@x.co,added,2026-01-04\no'brien@x.co,added,2026-01-05\n\
             a@bücher.de,added,2026-01-06\ngone@x.co,removed,2026-01-07\n\
             '-left@x.co,removed,2026-01-08\n",
            5,
        ),
        (
            mobiles.to_owned(),
            "value,added_on\n+27821234567,2026-01-01\n",
            1,
        ),
        (
            format!("{mobiles}?since={}", day(0)),
            "value,change,on\n+27821234567,added,2026-01-01\n+27831234567,removed,2026-01-03\n",
            2,
        ),
        (
            format!("{mobiles}?since={}", day(30)),
            "value,change,on\n",
            0,
        ),
        // An empty list is its header alone.
        (empty.to_owned(), "value,added_on\n", 0),
        (format!("{empty}?since={}", day(0)), "value,change,on\n", 0),
    ];
    for (path, expected, _) in &cases {
        let got = csv_bytes(&app, &token, path).await;
        assert_eq!(String::from_utf8(got).unwrap(), *expected, "{path}");
    }

    // Each download is in its dealer's pull log with the entries it sent.
    for dealer_id in ["abc-motors", "xyz-motors"] {
        let mut expected: Vec<(String, Value, u64)> = cases
            .iter()
            .filter(|(path, _, _)| path.contains(dealer_id))
            .map(|(path, _, items)| {
                let list = if path.contains("mobiles") {
                    "mobiles"
                } else {
                    "emails"
                };
                let since = path
                    .split_once("since=")
                    .map_or(Value::Null, |(_, day)| json!(day));
                (list.to_owned(), since, *items)
            })
            .collect();
        expected.sort_by_key(|p| format!("{p:?}"));
        let logged = csv_pulls(&app, dealer_id, expected.len()).await;
        assert_eq!(logged, expected, "{dealer_id}");
    }
}

/// The CSV pulls in the dealer's log once there are `count` of them, as (list, since, items),
/// sorted: each is logged when its stream has ended, so not necessarily in request order.
async fn csv_pulls(app: &TestApp, dealer_id: &str, count: usize) -> Vec<(String, Value, u64)> {
    let path = format!("/v1/dealers/{dealer_id}/blacklist/pulls");
    let mut pulls = poll_until(Duration::from_secs(10), || async {
        let body = app.get(&path, &admin()).await.body;
        let pulls: Vec<(String, Value, u64)> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["format"] == "csv")
            .map(|p| {
                (
                    p["list"].as_str().unwrap().to_owned(),
                    p["since"].clone(),
                    p["items"].as_u64().unwrap(),
                )
            })
            .collect();
        (pulls.len() >= count, pulls)
    })
    .await;
    pulls.sort_by_key(|p| format!("{p:?}"));
    pulls
}

/// The CSV export neutralises and quotes odd values as it always has: values no validator lets
/// in, stored as they are, hold PostgreSQL's SELECT and the Rust rule of the SQLite path
/// (`service::blacklists::neutralise`) to the same bytes, which are what the export wrote before
/// PostgreSQL's went through COPY.
#[tokio::test]
async fn the_csv_export_neutralises_and_quotes_odd_values_as_it_always_has() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let values = [
        "=x",
        "+",
        "+1",
        "+12a",
        "+1 ",
        "+١٢",
        "-",
        "@",
        "\tx",
        "\rx",
        "x\ny",
        "x,y",
        "x\"y",
        "\"",
        "",
        " =x",
        "x=",
        "'=x",
        "++1",
        "é=",
        "+27821234567",
        "+0",
        "\n",
        "-1",
        ",=",
        "=,",
        "\r",
        "+1\n",
    ];
    // Each on a day of its own (the day orders them), every other one since removed.
    let rows: Vec<(&str, u32, Option<u32>, u32)> = values
        .iter()
        .enumerate()
        .map(|(n, v)| {
            let n = n as u32;
            (*v, n, (n % 2 == 1).then_some(n), n)
        })
        .collect();
    insert_entries(&app, "blacklist_emails", &rows);
    let listed = csv_bytes(&app, &operator(), EMAILS).await;
    assert_eq!(
        String::from_utf8(listed).unwrap(),
        "value,added_on\n'=x,2026-01-01\n+1,2026-01-03\n'+1 ,2026-01-05\n'-,2026-01-07\n\
         '\tx,2026-01-09\n\"x\ny\",2026-01-11\n\"x\"\"y\",2026-01-13\n,2026-01-15\nx=,2026-01-17\n\
         '++1,2026-01-19\n+27821234567,2026-01-21\n\"\n\",2026-01-23\n\",=\",2026-01-25\n\
         \"'\r\",2026-01-27\n"
    );
    let changes = csv_bytes(&app, &operator(), &format!("{EMAILS}?since={}", day(0))).await;
    assert_eq!(
        String::from_utf8(changes).unwrap(),
        "value,change,on\n'=x,added,2026-01-01\n'+,removed,2026-01-02\n+1,added,2026-01-03\n\
         '+12a,removed,2026-01-04\n'+1 ,added,2026-01-05\n'+١٢,removed,2026-01-06\n\
         '-,added,2026-01-07\n'@,removed,2026-01-08\n'\tx,added,2026-01-09\n\
         \"'\rx\",removed,2026-01-10\n\"x\ny\",added,2026-01-11\n\"x,y\",removed,2026-01-12\n\
         \"x\"\"y\",added,2026-01-13\n\"\"\"\",removed,2026-01-14\n,added,2026-01-15\n\
         \x20=x,removed,2026-01-16\nx=,added,2026-01-17\n'=x,removed,2026-01-18\n\
         '++1,added,2026-01-19\né=,removed,2026-01-20\n+27821234567,added,2026-01-21\n\
         +0,removed,2026-01-22\n\"\n\",added,2026-01-23\n'-1,removed,2026-01-24\n\
         \",=\",added,2026-01-25\n\"'=,\",removed,2026-01-26\n\"'\r\",added,2026-01-27\n\
         \"'+1\n\",removed,2026-01-28\n"
    );
    // Entries, not lines: a line feed inside a quoted value ends no entry.
    let logged = csv_pulls(&app, "abc-motors", 2).await;
    assert_eq!(
        logged,
        [
            ("emails".to_owned(), Value::Null, 14),
            ("emails".to_owned(), json!(day(0).to_string()), 28),
        ]
    );
}

/// Seeds `count` emails of about 200 bytes each straight into the table (a long export with few
/// rows), on days spread over a month.
fn seed_long_emails(app: &TestApp, count: usize) {
    seed_padded_emails(app, 0, count, &"x".repeat(180));
}

/// Starts a CSV download of the email list and reads at least `at_least` bytes of it; returns
/// the rest of the body and what was read.
async fn start_download(
    app: &TestApp,
    at_least: usize,
) -> (
    impl futures_util::Stream<Item = reqwest::Result<actix_web::web::Bytes>> + Unpin,
    Vec<u8>,
) {
    use futures_util::StreamExt;
    let response = app
        .client
        .get(format!("{}{EMAILS}", app.address))
        .bearer_auth(operator())
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = Box::pin(response.bytes_stream());
    let mut read = Vec::new();
    while read.len() < at_least {
        read.extend_from_slice(&body.next().await.unwrap().unwrap());
    }
    (body, read)
}

/// Backends of the app's database whose last statement is the export's COPY, and their states.
fn copy_backends(app: &TestApp) -> Vec<(i32, String)> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Backend {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
    }
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    diesel::sql_query(
        "SELECT pid, coalesce(state, '') AS state FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'COPY (SELECT%' \
         AND pid <> pg_backend_pid()",
    )
    .load::<Backend>(&mut *conn)
    .unwrap()
    .into_iter()
    .map(|b| (b.pid, b.state))
    .collect()
}

fn is_postgres(app: &TestApp) -> bool {
    app.database_url.starts_with("postgres")
}

/// A client that leaves mid-export stops it, and its pull is logged with what was sent.
#[tokio::test]
async fn a_client_that_leaves_mid_export_stops_it_and_its_pull_is_logged() {
    const ENTRIES: usize = 60_000;
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    // About 12 MB: far more than the channel and the sockets between the server and the client
    // hold (SQLite sends batches of 5,000 entries, 1 MB here).
    seed_long_emails(&app, ENTRIES);
    let (body, read) = start_download(&app, 200_000).await;
    assert!(read.starts_with(b"value,added_on\nperson0000000."));
    drop(body);

    let logged = csv_pulls(&app, "abc-motors", 1).await;
    let sent = logged[0].2 as usize;
    let received = read.iter().filter(|b| **b == b'\n').count() - 1;
    println!("the client left: {received} entries received, {sent} sent, of {ENTRIES}");
    assert!(
        sent >= received && sent < ENTRIES,
        "logged {sent} entries sent, {received} received, of {ENTRIES}"
    );
    if is_postgres(&app) {
        // The COPY ended with its connection, which the pool did not take back.
        let left = poll_until(Duration::from_secs(10), || async {
            let left = copy_backends(&app);
            (left.is_empty(), left)
        })
        .await;
        assert!(left.is_empty(), "still running the COPY: {left:?}");
    }
    // The next export is whole.
    let whole = csv_bytes(&app, &operator(), EMAILS).await;
    assert_eq!(whole.iter().filter(|b| **b == b'\n').count(), ENTRIES + 1);
    let logged = csv_pulls(&app, "abc-motors", 2).await;
    assert!(logged.iter().any(|p| p.2 == ENTRIES as u64), "{logged:?}");
}

/// A COPY that the database stops midway fails the download rather than ending it short, and
/// the pull is logged with what was sent (PostgreSQL).
#[tokio::test]
async fn a_copy_the_database_stops_midway_fails_the_download() {
    use futures_util::StreamExt;
    const ENTRIES: usize = 60_000;
    let app = spawn_app().await;
    if !is_postgres(&app) {
        println!("skipped: the COPY export is PostgreSQL's");
        return;
    }
    app.create_dealer("abc-motors").await;
    seed_long_emails(&app, ENTRIES);
    let (mut body, mut read) = start_download(&app, 200_000).await;
    // The server's backend is waiting for the client to read on: cancel its statement.
    let copy = copy_backends(&app);
    assert_eq!(copy.len(), 1, "{copy:?}");
    {
        use diesel::RunQueryDsl;
        let pool = app.pool();
        let mut conn = pool.get().unwrap();
        diesel::sql_query(format!("SELECT pg_cancel_backend({})", copy[0].0))
            .execute(&mut *conn)
            .unwrap();
    }
    let mut failed = false;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(bytes) => read.extend_from_slice(&bytes),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    let received = read.iter().filter(|b| **b == b'\n').count() - 1;
    assert!(
        failed,
        "the download ended cleanly after {received} entries"
    );
    assert!(received < ENTRIES);
    let logged = csv_pulls(&app, "abc-motors", 1).await;
    let sent = logged[0].2 as usize;
    println!("the COPY was cancelled: {received} entries received, {sent} sent, of {ENTRIES}");
    assert!(
        sent >= received && sent < ENTRIES,
        "{sent} sent, {received} received"
    );
    // The pool is fine: the next export is whole.
    let whole = csv_bytes(&app, &operator(), EMAILS).await;
    assert_eq!(whole.iter().filter(|b| **b == b'\n').count(), ENTRIES + 1);
}
