use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Writers at once: none may fail with "database is locked" (SQLite) and the feed must list
/// every event once, in id order, with nothing lost.
#[tokio::test]
async fn concurrent_writes_all_succeed_and_the_feed_keeps_them_in_order() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.create_dealer("abc-motors").await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"first_name": format!("C{n}"), "last_name": "Load", "mobile": format!("082 555 {:04}", n),
                              "consent_process": true, "consent_market": false});
            app.post("/v1/dealers/abc-motors/customers", &dealer("abc-motors"), body).await
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        created.push(reply.body["id"].as_i64().unwrap());
    }
    created.sort();
    let feed = app
        .get(
            "/v1/dealers/abc-motors/history?limit=1000",
            &dealer("abc-motors"),
        )
        .await;
    let events = feed.body["items"].as_array().unwrap();
    let mut customers: Vec<i64> = events
        .iter()
        .map(|e| e["customer_id"].as_i64().unwrap())
        .collect();
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    customers.sort();
    assert_eq!(customers, created);
}

/// A dealer system following the feed while 16 writers change the dealer's data (creations,
/// amendments, withdrawals) never skips an event and never sees one twice: everything it read,
/// cursor by cursor, is exactly the feed as it stands once the writers are done. On PostgreSQL
/// an event committed late with a smaller id would be skipped by a follower already past it;
/// the feed's commit order is what this guards.
#[tokio::test]
async fn a_follower_under_sixteen_writers_never_skips_or_repeats_an_event() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.create_dealer("abc-motors").await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follower = {
        let (app, done) = (app.clone(), done.clone());
        tokio::spawn(async move {
            let mut read: Vec<i64> = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                // Read whether the writers were done before this pass: the last pass then
                // sees everything they wrote.
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let path = match &cursor {
                    Some(after) => format!("/v1/dealers/abc-motors/history?limit=20&after={after}"),
                    None => "/v1/dealers/abc-motors/history?limit=20".to_owned(),
                };
                let page = app.get(&path, &dealer("abc-motors")).await;
                assert_eq!(page.status, StatusCode::OK, "{}", page.body);
                let items = page.body["items"].as_array().unwrap().clone();
                for event in &items {
                    read.push(event["id"].as_i64().unwrap());
                    cursor = Some(event["cursor"].as_str().unwrap().to_owned());
                }
                if items.is_empty() && finished {
                    return read;
                }
            }
        })
    };
    let mut writers = Vec::new();
    for writer in 0..16 {
        let app = app.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..6 {
                let body = json!({"first_name": format!("W{writer}"), "last_name": format!("N{n}"),
                                  "mobile": format!("082 {writer:03} {n:04}"),
                                  "consent_process": true, "consent_market": false});
                let created = app
                    .post(
                        "/v1/dealers/abc-motors/customers",
                        &dealer("abc-motors"),
                        body,
                    )
                    .await;
                assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
                let id = created.body["id"].as_i64().unwrap();
                let path = format!("/v1/dealers/abc-motors/customers/{id}");
                let changed = match n % 3 {
                    0 => {
                        app.patch(&path, &dealer("abc-motors"), json!({"last_name": "Moved"}))
                            .await
                    }
                    1 => {
                        app.post(
                            &format!("{path}/withdraw-consent"),
                            &dealer("abc-motors"),
                            json!({}),
                        )
                        .await
                    }
                    _ => continue,
                };
                assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let read = follower.await.unwrap();

    let mut everything = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/dealers/abc-motors/history?limit=100&after={a}"),
            None => "/v1/dealers/abc-motors/history?limit=100".to_owned(),
        };
        let page = app.get(&path, &dealer("abc-motors")).await;
        let items = page.body["items"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        for event in &items {
            everything.push(event["id"].as_i64().unwrap());
            after = Some(event["cursor"].as_str().unwrap().to_owned());
        }
    }
    // 16 writers × 6 customers (96 events), a third amended (32) and a third withdrawn (two
    // events each: consent withdrawn, then de-identified; 64).
    assert_eq!(everything.len(), 192, "{everything:?}");
    assert_eq!(
        read, everything,
        "the follower skipped or repeated an event"
    );
}
