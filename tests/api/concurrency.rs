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
    let follower = follow(app.clone(), done.clone(), 20);
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

    let everything = whole_feed(&app, "abc-motors").await;
    // 16 writers × 6 customers (96 events), a third amended (32) and a third withdrawn (two
    // events each: consent withdrawn, then de-identified; 64).
    assert_eq!(everything.len(), 192, "{everything:?}");
    assert_eq!(
        read, everything,
        "the follower skipped or repeated an event"
    );
}

/// A dealer system following abc-motors' feed with its cursor, `page` events at a time, until
/// a pass that began after `done` was set finds nothing new: the ids it read, in order.
fn follow(
    app: std::sync::Arc<TestApp>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    page: usize,
) -> tokio::task::JoinHandle<Vec<i64>> {
    tokio::spawn(async move {
        let mut read: Vec<i64> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            // Read whether the writers were done before this pass: the last pass then sees
            // everything they wrote.
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let path = match &cursor {
                Some(after) => format!("/v1/dealers/abc-motors/history?limit={page}&after={after}"),
                None => format!("/v1/dealers/abc-motors/history?limit={page}"),
            };
            let reply = app.get(&path, &dealer("abc-motors")).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            let items = reply.body["items"].as_array().unwrap().clone();
            for event in &items {
                read.push(event["id"].as_i64().unwrap());
                cursor = Some(event["cursor"].as_str().unwrap().to_owned());
            }
            if items.is_empty() && finished {
                return read;
            }
        }
    })
}

/// Reads the dealer's whole feed through the API, cursor by cursor: the ids in feed order.
async fn whole_feed(app: &TestApp, dealer_id: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/dealers/{dealer_id}/history?limit=100&after={a}"),
            None => format!("/v1/dealers/{dealer_id}/history?limit=100"),
        };
        let page = app.get(&path, &dealer(dealer_id)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let items = page.body["items"].as_array().unwrap().clone();
        if items.is_empty() {
            return ids;
        }
        for event in &items {
            ids.push(event["id"].as_i64().unwrap());
            after = Some(event["cursor"].as_str().unwrap().to_owned());
        }
    }
}

/// One dealer's withdrawals run side by side on PostgreSQL (they no longer queue on the dealer),
/// and overlap: a person withdrawing by email (two records share it) while staff withdraw one of
/// those records for a caller. Every request succeeds, each record is de-identified exactly
/// once, every email and mobile is on its blacklist, and a follower reading the feed all the
/// while reads exactly the feed as the table holds it at the end: nothing skipped, nothing twice.
#[tokio::test]
async fn parallel_overlapping_withdrawals_keep_the_guarantee_and_the_feed_whole() {
    use diesel::prelude::*;
    let app = std::sync::Arc::new(spawn_app().await);
    app.create_dealer("abc-motors").await;
    // 16 pairs of records; the two records of a pair share an email, each has its own mobile
    // and a lead.
    let mut pairs = Vec::new();
    for pair in 0..16 {
        let email = format!("family{pair}@mail.co.za");
        let mut ids = Vec::new();
        for member in 0..2 {
            let body = json!({"first_name": format!("P{pair}"), "last_name": format!("M{member}"),
                              "email": email, "mobile": format!("082 {pair:03} {member:04}"),
                              "consent_process": true, "consent_market": true});
            let id = app.create_customer("abc-motors", body).await["id"]
                .as_i64()
                .unwrap();
            let lead = app
                .post(
                    "/v1/dealers/abc-motors/leads",
                    &dealer("abc-motors"),
                    json!({"customer_id": id, "recipient": {"name": "Ashveer", "email": "ashveer@abc-motors.co.za"}}),
                )
                .await;
            assert_eq!(lead.status, StatusCode::CREATED, "{}", lead.body);
            ids.push(id);
        }
        pairs.push((email, ids));
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follower = follow(app.clone(), done.clone(), 7);
    let mut withdrawals = Vec::new();
    for (email, ids) in pairs.iter().cloned() {
        let by_subject = {
            let app = app.clone();
            tokio::spawn(async move {
                let token = subject("abc-motors", &email);
                app.post(
                    "/v1/dealers/abc-motors/pi/withdraw-consent",
                    &token,
                    json!({}),
                )
                .await
            })
        };
        let by_staff = {
            let app = app.clone();
            tokio::spawn(async move {
                let path = format!(
                    "/v1/dealers/abc-motors/customers/{}/withdraw-consent",
                    ids[1]
                );
                app.post(&path, &dealer("abc-motors"), json!({})).await
            })
        };
        withdrawals.extend([by_subject, by_staff]);
    }
    for withdrawal in withdrawals {
        let reply = withdrawal.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let read = follower.await.unwrap();

    let everything = whole_feed(&app, "abc-motors").await;
    assert_eq!(
        read, everything,
        "the follower skipped or repeated an event"
    );
    // The table itself: every event of the dealer, in the order the feed promises.
    let mut conn = app.pool().get().unwrap();
    let table: Vec<i64> = popia_api::db::schema::change_events::table
        .filter(popia_api::db::schema::change_events::dealer_id.eq("abc-motors"))
        .order((
            popia_api::db::schema::change_events::xact_id.asc(),
            popia_api::db::schema::change_events::id.asc(),
        ))
        .select(popia_api::db::schema::change_events::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(everything, table);

    let kinds: Vec<(Option<i64>, String)> = popia_api::db::schema::change_events::table
        .filter(popia_api::db::schema::change_events::kind.eq("customer.deidentified"))
        .select((
            popia_api::db::schema::change_events::customer_id,
            popia_api::db::schema::change_events::kind,
        ))
        .load(&mut conn)
        .unwrap();
    let mut deidentified: Vec<i64> = kinds.into_iter().filter_map(|(id, _)| id).collect();
    deidentified.sort();
    let mut all_ids: Vec<i64> = pairs.iter().flat_map(|(_, ids)| ids.clone()).collect();
    all_ids.sort();
    assert_eq!(
        deidentified, all_ids,
        "each record de-identified exactly once"
    );

    for (email, ids) in &pairs {
        for id in ids {
            let record = app
                .get(
                    &format!("/v1/dealers/abc-motors/customers/{id}"),
                    &dealer("abc-motors"),
                )
                .await;
            assert_eq!(
                record.body["email"],
                serde_json::Value::Null,
                "{}",
                record.body
            );
            assert_eq!(
                record.body["mobile"],
                serde_json::Value::Null,
                "{}",
                record.body
            );
            assert!(record.body["leads"]
                .as_array()
                .unwrap()
                .iter()
                .all(|lead| lead["status"] == "lost"));
        }
        let check = app
            .post(
                "/v1/dealers/abc-motors/blacklist/check",
                &dealer("abc-motors"),
                json!({"emails": [email], "mobiles": []}),
            )
            .await;
        assert_eq!(check.body["emails"], json!([email]), "{}", check.body);
    }
    let mobiles: Vec<String> = (0..16)
        .flat_map(|pair| (0..2).map(move |member| format!("+2782{pair:03}{member:04}")))
        .collect();
    let check = app
        .post(
            "/v1/dealers/abc-motors/blacklist/check",
            &dealer("abc-motors"),
            json!({ "emails": [], "mobiles": mobiles }),
        )
        .await;
    assert_eq!(
        check.body["mobiles"].as_array().unwrap().len(),
        32,
        "{}",
        check.body
    );
}

/// The case the feed's commit order exists for, made certain rather than left to timing: a
/// transaction that wrote an event stays open while a later withdrawal commits its own. A
/// follower must not be shown the later events while the earlier one can still commit before
/// them; once it commits, the follower reads it and then the rest, skipping nothing. PostgreSQL
/// only: SQLite's one writer cannot commit past an open write transaction.
#[tokio::test]
async fn a_follower_waits_for_an_earlier_transaction_still_open_rather_than_skip_it() {
    use diesel::connection::SimpleConnection;
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (customer, _) = fred_with_leads(&app).await;
    let mut open = app.pool().get().unwrap();
    if !matches!(*open, popia_api::db::DbConnection::Pg(_)) {
        eprintln!("PostgreSQL only: SQLite commits one writer at a time");
        return;
    }
    let before = whole_feed(&app, "abc-motors").await;
    open.batch_execute(
        "BEGIN; INSERT INTO change_events (dealer_id, kind, actor_role, actor_sub, channel, \
         changes, occurred_at) VALUES ('abc-motors', 'lookup.not_found', 'system', 'test', \
         'api', '[]', now());",
    )
    .unwrap();
    let withdrawn = app
        .post(
            &format!("/v1/dealers/abc-motors/customers/{customer}/withdraw-consent"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);
    // The withdrawal has committed, but an earlier transaction is still open: nothing new yet.
    assert_eq!(whole_feed(&app, "abc-motors").await, before);
    let cursor = events_of(&app).await.last().unwrap()["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    open.batch_execute("COMMIT").unwrap();
    let page = app
        .get(
            &format!("/v1/dealers/abc-motors/history?after={cursor}"),
            &dealer("abc-motors"),
        )
        .await;
    let kinds: Vec<&str> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "lookup.not_found",
            "consent.withdrawn",
            "customer.deidentified",
            "lead.status_changed",
            "lead.status_changed"
        ],
        "{}",
        page.body
    );
}
