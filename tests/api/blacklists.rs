//! The blacklists as operators use them.

use std::collections::HashSet;

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
