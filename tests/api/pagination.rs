use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// Reads every page of `path` with `limit`, returning the ids in order.
async fn read_all(app: &TestApp, path: &str, limit: usize) -> (Vec<i64>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(cursor) => format!("{path}?limit={limit}&after={cursor}"),
            None => format!("{path}?limit={limit}"),
        };
        let page = app.get(&url, &dealer("abc-motors")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        ids.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        pages += 1;
        match &page.body["next"] {
            Value::String(cursor) => after = Some(cursor.clone()),
            _ => break,
        }
    }
    (ids, pages)
}

/// Pages have no gaps or duplicates.
#[tokio::test]
async fn pages_have_no_gaps_or_duplicates() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    let mut expected = Vec::new();
    for n in 0..23 {
        let body = json!({"first_name": format!("Customer{n}"), "last_name": "Test",
                          "email": format!("c{n}@mail.co.za"), "consent_process": true, "consent_market": false});
        expected.push(
            app.create_customer("abc-motors", body.clone()).await["id"]
                .as_i64()
                .unwrap(),
        );
        // Another dealer's rows interleave and must never appear.
        app.create_customer("xyz-motors", body).await;
    }
    let (ids, pages) = read_all(&app, "/v1/dealers/abc-motors/customers", 5).await;
    assert_eq!(ids, expected);
    assert_eq!(pages, 5);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 23);

    // An exact multiple ends with `next: null` on the last full page.
    let (ids, pages) = read_all(&app, "/v1/dealers/abc-motors/customers", 23).await;
    assert_eq!((ids.len(), pages), (23, 1));

    let (events, _) = read_all(&app, "/v1/dealers/abc-motors/history", 4).await;
    assert_eq!(events.len(), 23);
    assert!(
        events.windows(2).all(|w| w[0] < w[1]),
        "feed is oldest first"
    );
}
