use std::collections::HashMap;
use std::time::Duration;

use popia_api::db::dealers::DealerRow;
use popia_api::db::{self, DbConnection};
use popia_api::notify::templates::{AlteredRow, ConsentWithdrawn, DeidentifyAlert, DetailsAltered};
use popia_api::notify::{emails, Branding};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

const WAIT: Duration = Duration::from_secs(20);

fn branding() -> Branding {
    Branding::new("POPIA Gateway", "popia@gateway.test")
}

/// Queues messages in one transaction, as the POPIA actions will.
fn queue(
    app: &TestApp,
    make: impl FnOnce(&mut DbConnection, &DealerRow, &Branding) -> diesel::QueryResult<()>,
) {
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    db::write_transaction(&mut conn, |conn| {
        let dealer = db::dealers::find(conn, "abc-motors")?.expect("dealer");
        make(conn, &dealer, &branding())
    })
    .unwrap();
}

fn altered_rows() -> Vec<AlteredRow> {
    let row = |label, was: &str, now: &str| AlteredRow {
        label,
        was: was.into(),
        now: now.into(),
        changed: was != now,
    };
    vec![
        row("Name", "Fred", "Fred"),
        row("Surname", "Basset", "Basset"),
        row("Email", "fred@sea.com", "fred@lost.com"),
        row("Mobile", "+27836567788", "+27836567788"),
        row("Consent to process", "Yes", "Yes"),
        row("Consent to market", "Yes", "No"),
    ]
}

/// A server sending email to `sink`, its own worker off: the test delivers with
/// `deliver_pending`.
async fn smtp_app(sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    let app = spawn_app_with(|c| c.notify.smtp_url = Some(url)).await;
    app.create_dealer("abc-motors").await;
    app
}

/// A server sending email to `sink` with its own delivery worker running, for tests about
/// that worker.
async fn smtp_app_with_worker(sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    let app = spawn_app_with(|c| {
        c.notify.smtp_url = Some(url);
        c.notify.delivery.enabled = true;
    })
    .await;
    app.create_dealer("abc-motors").await;
    app
}

/// Every message arrives with its subject recipients and facts.
#[tokio::test]
async fn every_message_arrives_with_its_subject_recipients_and_facts() {
    let sink = SmtpSink::start().await;
    let app = smtp_app(&sink).await;
    queue(&app, |conn, dealer, brand| {
        emails::one_time_code_email(conn, brand, dealer, "fred@sea.com", "493817")?;
        emails::lookup_not_found(conn, brand, dealer, "0730489055")?;
        let fred = ConsentWithdrawn {
            first_name: "Fred".into(),
            last_name: "Basset".into(),
        };
        emails::consent_withdrawn(conn, brand, dealer, 19713570, &fred)?;
        let altered = DetailsAltered {
            first_name: "Fred".into(),
            last_name: "Basset".into(),
            rows: altered_rows(),
        };
        emails::details_altered(conn, brand, dealer, 19713570, &altered)?;
        let alert = DeidentifyAlert {
            recipient_name: "Ashveer".into(),
            customer_first_name: "Fred".into(),
            customer_id: 19713570,
            lead_ids: vec![6226950, 6226978],
        };
        emails::deidentify_alert(conn, brand, dealer, "ashveer@abc-motors.co.za", &alert)?;
        Ok(())
    });
    assert_eq!(app.deliver_pending().await, 5);
    let received = sink.messages();
    assert_eq!(received.len(), 5);
    let by_subject: HashMap<String, _> = received
        .iter()
        .map(|m| (m.parsed().subject().unwrap().to_owned(), m.clone()))
        .collect();
    let contacts = vec!["thandi@abc-motors.co.za".to_owned()];
    let expectations: [(&str, Vec<String>, Vec<&str>); 5] = [
        (
            "Your abc-motors name verification code",
            vec!["fred@sea.com".into()],
            vec!["493817", "10 minutes"],
        ),
        (
            "POPIA /pi Lookup NOT FOUND",
            contacts.clone(),
            vec!["abc-motors.co.za", "0730489055", "DMS"],
        ),
        (
            "POPIA Customer withdraws consent to process | Fred Basset",
            contacts.clone(),
            vec![
                "Fred Basset",
                "de-identified",
                "separately",
                "no link",
                "marked as lost",
            ],
        ),
        (
            "POPIA Customer alters information | Fred Basset",
            contacts.clone(),
            vec![
                "fred@sea.com",
                "fred@lost.com",
                "Consent to market",
                "Consent to process",
                "Surname",
            ],
        ),
        (
            "POPIA Gateway De-identify Alert: Ashveer",
            vec!["ashveer@abc-motors.co.za".into()],
            vec!["Fred", "19713570", "6226950, 6226978"],
        ),
    ];
    for (subject, recipients, facts) in expectations {
        let message = by_subject
            .get(subject)
            .unwrap_or_else(|| panic!("no `{subject}` in {:?}", by_subject.keys()));
        assert_eq!(message.recipients, recipients, "{subject}");
        let parsed = message.parsed();
        let text = parsed.body_text(0).expect("a text body").into_owned();
        let html = parsed.body_html(0).expect("an HTML body").into_owned();
        for fact in facts {
            assert!(
                text.contains(fact),
                "{subject}: `{fact}` not in text:\n{text}"
            );
            assert!(
                html.contains(fact),
                "{subject}: `{fact}` not in HTML:\n{html}"
            );
        }
        assert!(parsed.message_id().unwrap().ends_with("@gateway.test"));
        assert_eq!(
            parsed.from().unwrap().first().unwrap().address().unwrap(),
            "popia@gateway.test"
        );
    }
    // The NOT FOUND email names the website as the dealer writes it, not as a URL.
    let not_found = by_subject["POPIA /pi Lookup NOT FOUND"].parsed();
    assert!(!not_found.body_text(0).unwrap().contains("https://"));
    // The altered table marks what changed.
    let altered = by_subject["POPIA Customer alters information | Fred Basset"].parsed();
    let text = altered.body_text(0).unwrap().into_owned();
    assert!(
        text.lines()
            .any(|l| l.contains("fred@lost.com") && l.contains("(changed)")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("Name") && l.contains("(unchanged)")),
        "{text}"
    );

    // Each delivery is recorded as soon as the SMTP server took it.
    let sent = app
        .get(
            "/v1/dealers/abc-motors/notifications?status=sent",
            &dealer("abc-motors"),
        )
        .await;
    assert_eq!(
        sent.body["items"].as_array().unwrap().len(),
        5,
        "{}",
        sent.body
    );
}

/// Names are escaped in delivered html.
#[tokio::test]
async fn names_are_escaped_in_delivered_html() {
    let sink = SmtpSink::start().await;
    let app = smtp_app(&sink).await;
    queue(&app, |conn, dealer, brand| {
        let facts = ConsentWithdrawn {
            first_name: "<script>alert(1)</script>".into(),
            last_name: "O'Hara & Co".into(),
        };
        emails::consent_withdrawn(conn, brand, dealer, 7, &facts).map(|_| ())
    });
    app.deliver_pending().await;
    let received = sink.messages();
    let parsed = received[0].parsed();
    let html = parsed.body_html(0).unwrap().into_owned();
    assert!(!html.contains("<script>"), "{html}");
    // askama writes numeric character references.
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(html.contains("O&#39;Hara &#38; Co"), "{html}");
    assert!(parsed
        .body_text(0)
        .unwrap()
        .contains("<script>alert(1)</script> O'Hara & Co"));
}

/// The operator's support contacts sign every email off, under "Sincerely", new lines kept.
#[tokio::test]
async fn the_support_contact_signs_every_email() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|c| {
        c.notify.smtp_url = Some(url);
        c.support_contact = Some("Help desk 0800 123 456\nhelp@<ops>.test".into());
    })
    .await;
    app.create_dealer("abc-motors").await;
    let started = start_verification(&app, serde_json::json!({"email": "fred@sea.com"})).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    app.deliver_pending().await;
    let received = sink.messages();
    let parsed = received[0].parsed();
    let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.contains(
            "Sincerely,\nThe team at POPIA Gateway\nHelp desk 0800 123 456\nhelp@<ops>.test"
        ),
        "{text}"
    );
    let html = parsed.body_html(0).unwrap().into_owned();
    assert!(
        html.contains("<p>Help desk 0800 123 456<br/>help@&#60;ops&#62;.test</p>"),
        "{html}"
    );
}

/// A message queued in a rolled back transaction is never sent.
#[tokio::test]
async fn a_message_queued_in_a_rolled_back_transaction_is_never_sent() {
    let sink = SmtpSink::start().await;
    let app = smtp_app(&sink).await;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let outcome: Result<(), diesel::result::Error> = db::write_transaction(&mut conn, |conn| {
        let dealer = db::dealers::find(conn, "abc-motors")?.unwrap();
        emails::lookup_not_found(conn, &branding(), &dealer, "0730489055")?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(outcome.is_err());
    // One committed message after it, to know the worker has had its chance.
    queue(&app, |conn, dealer, brand| {
        emails::lookup_not_found(conn, brand, dealer, "0820000000").map(|_| ())
    });
    // Everything due is claimed at once: the rolled-back message would be among it.
    assert_eq!(app.deliver_pending().await, 1);
    let received = sink.messages();
    let received_now = sink.messages();
    assert_eq!(received_now.len(), 1, "{received:?}");
    assert!(received_now[0]
        .parsed()
        .body_text(0)
        .unwrap()
        .contains("0820000000"));
    let listed = app
        .get(
            "/v1/dealers/abc-motors/notifications",
            &dealer("abc-motors"),
        )
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

fn listed(reply: &Reply) -> Vec<Value> {
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

/// An smtp outage loses nothing and sends nothing twice.
#[tokio::test]
async fn an_smtp_outage_loses_nothing_and_sends_nothing_twice() {
    // A port with nothing listening: SMTP is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let app = spawn_app_with(|c| {
        c.notify.smtp_url = Some(url);
        c.notify.delivery.base_backoff = Duration::from_millis(300);
        c.notify.delivery.enabled = true;
    })
    .await;
    app.create_dealer("abc-motors").await;
    const COUNT: usize = 30;
    queue(&app, |conn, dealer, brand| {
        for n in 0..COUNT {
            emails::lookup_not_found(conn, brand, dealer, &format!("08200000{n:02}"))?;
        }
        Ok(())
    });

    // Watch one message's retries: each wait is longer than the one before.
    let token = dealer("abc-motors");
    let mut next_attempts: Vec<chrono::DateTime<chrono::Utc>> = Vec::new();
    for attempt in 1..=4u64 {
        let first = eventually(WAIT, &format!("attempt {attempt}"), || async {
            let page = app
                .get("/v1/dealers/abc-motors/notifications?limit=1", &token)
                .await;
            let first = listed(&page)[0].clone();
            (first["attempts"].as_u64().unwrap() >= attempt).then_some(first)
        })
        .await;
        assert_eq!(first["status"], "pending");
        assert_eq!(
            first["attempts"].as_u64().unwrap(),
            attempt,
            "an attempt was not observed"
        );
        assert!(
            first["last_error"].as_str().unwrap().contains("SMTP"),
            "{first}"
        );
        next_attempts.push(first["next_attempt_at"].as_str().unwrap().parse().unwrap());
    }
    let gaps: Vec<i64> = next_attempts
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds())
        .collect();
    // Attempt k waits between base·2^(k−2) and base·2^(k−1) (equal jitter), base 300 ms.
    assert!(gaps[0] >= 300, "{gaps:?}");
    assert!(gaps[1] >= 600, "{gaps:?}");
    assert!(gaps[2] >= 1200, "{gaps:?}");
    let all = app
        .get("/v1/dealers/abc-motors/notifications", &token)
        .await;
    assert!(listed(&all).iter().all(|m| m["status"] == "pending"));

    // SMTP comes back on the same port.
    let sink = SmtpSink::start_on(port).await;
    let tally = sink.tally(COUNT, Duration::from_secs(30)).await;
    println!("SMTP outage: {tally}");
    assert_eq!((tally.delivered, tally.distinct), (COUNT, COUNT), "{tally}");
    let sent = app
        .get("/v1/dealers/abc-motors/notifications?status=sent", &token)
        .await;
    assert_eq!(listed(&sent).len(), COUNT);
}

/// Two workers on one database deliver each message once.
#[tokio::test]
async fn two_workers_on_one_database_deliver_each_message_once() {
    let sink = SmtpSink::start().await;
    let app = smtp_app_with_worker(&sink).await;
    let url = sink.url();
    let database_url = app.database_url.clone();
    // A second replica on the same database.
    let replica = spawn_app_with(move |c| {
        c.notify.smtp_url = Some(url);
        c.database_url = database_url;
        c.notify.delivery.enabled = true;
    })
    .await;
    const COUNT: usize = 500;
    queue(&app, |conn, dealer, brand| {
        for n in 0..COUNT {
            emails::lookup_not_found(conn, brand, dealer, &format!("0821{n:06}"))?;
        }
        Ok(())
    });
    let tally = sink.tally(COUNT, Duration::from_secs(60)).await;
    println!("two workers: {tally}");
    assert_eq!((tally.delivered, tally.distinct), (COUNT, COUNT), "{tally}");
    // Both replicas took part, and their counts add up.
    let mut shares = Vec::new();
    for server in [&app, &replica] {
        let metrics = server.metrics().await;
        let delivered = metrics
            .lines()
            .find(|l| l.starts_with(r#"outbox_delivery_attempts_total{outcome="delivered"}"#))
            .and_then(|l| l.rsplit(' ').next()?.parse::<usize>().ok())
            .unwrap_or(0);
        shares.push(delivered);
    }
    println!("two workers: delivered per replica {shares:?}");
    assert_eq!(shares.iter().sum::<usize>(), COUNT);
    assert!(
        shares.iter().all(|n| *n > 0),
        "one replica did all the work: {shares:?}"
    );
}

/// Retention purges content and keeps the record.
#[tokio::test]
async fn retention_purges_content_and_keeps_the_record() {
    let sink = SmtpSink::start().await;
    let app = smtp_app(&sink).await;
    queue(&app, |conn, dealer, brand| {
        emails::lookup_not_found(conn, brand, dealer, "0730489055").map(|_| ())
    });
    assert_eq!(app.deliver_pending().await, 1);
    let token = dealer("abc-motors");
    let message = listed(
        &app.get("/v1/dealers/abc-motors/notifications", &token)
            .await,
    )[0]
    .clone();
    assert_eq!(message["status"], "sent");
    assert_eq!(
        message["recipients"],
        serde_json::json!(["thandi@abc-motors.co.za"])
    );
    assert!(message.get("body_text").is_none() && message.get("body").is_none());
    let sent_at: chrono::DateTime<chrono::Utc> =
        message["sent_at"].as_str().unwrap().parse().unwrap();

    // The clock is ours: 29 days after sending nothing is purged, 31 days after it is.
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let retention = chrono::Duration::days(30);
    let at = |days: i64| (sent_at + chrono::Duration::days(days)).naive_utc();
    let purged = db::outbox::purge_finished(&mut conn, at(29) - retention, at(29)).unwrap();
    assert_eq!(purged, 0);
    let purged = db::outbox::purge_finished(&mut conn, at(31) - retention, at(31)).unwrap();
    assert_eq!(purged, 1);
    let after = listed(
        &app.get("/v1/dealers/abc-motors/notifications", &token)
            .await,
    )[0]
    .clone();
    assert_eq!(after["status"], "sent");
    assert_eq!(after["kind"], "lookup_not_found");
    assert!(
        after["recipients"].is_null() && after["subject"].is_null(),
        "{after}"
    );
    assert!(after["purged_at"].is_string());
    let (_, content) = db::outbox::load(&mut conn, &[after["id"].as_i64().unwrap()])
        .unwrap()
        .remove(0);
    assert!(content.is_none(), "the content row is gone");
}

/// Retention zero purges right after delivery.
#[tokio::test]
async fn retention_zero_purges_right_after_delivery() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|c| {
        c.notify.smtp_url = Some(url);
        c.notify.retention = Duration::ZERO;
    })
    .await;
    app.create_dealer("abc-motors").await;
    queue(&app, |conn, dealer, brand| {
        emails::lookup_not_found(conn, brand, dealer, "0730489055").map(|_| ())
    });
    assert_eq!(app.deliver_pending().await, 1);
    let token = dealer("abc-motors");
    let message = listed(
        &app.get("/v1/dealers/abc-motors/notifications", &token)
            .await,
    )[0]
    .clone();
    assert_eq!(message["status"], "sent");
    assert!(message["recipients"].is_null(), "{message}");
}

/// Without smtp every message lands in the mailbox folder.
#[tokio::test]
async fn without_smtp_every_message_lands_in_the_mailbox_folder() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    queue(&app, |conn, dealer, brand| {
        emails::one_time_code_email(conn, brand, dealer, "fred@sea.com", "111222")?;
        emails::one_time_code_sms(conn, brand, dealer, "+27836567788", "333444")?;
        Ok(())
    });
    assert_eq!(app.deliver_pending().await, 2);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&app.mailbox)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let eml = std::fs::read(&files[0]).unwrap();
    assert!(files[0].to_string_lossy().ends_with("-one_time_code.eml"));
    let parsed = mail_parser::MessageParser::default().parse(&eml).unwrap();
    assert_eq!(
        parsed.subject(),
        Some("Your abc-motors name verification code")
    );
    assert!(parsed.body_text(0).unwrap().contains("111222"));
    let sms = std::fs::read_to_string(&files[1]).unwrap();
    assert!(files[1]
        .to_string_lossy()
        .ends_with("-one_time_code.sms.txt"));
    assert!(sms.starts_with("To: +27836567788\n"), "{sms}");
    assert!(
        sms.contains("333444 is your abc-motors name /pi verification code"),
        "{sms}"
    );
}

/// Sms go to the http gateway with the bearer token.
#[tokio::test]
async fn sms_go_to_the_http_gateway_with_the_bearer_token() {
    let gateway = crate::sms_gateway::SmsGateway::start().await;
    let url = gateway.url();
    let app = spawn_app_with(|c| {
        c.notify.sms_url = Some(url);
        c.notify.sms_token = Some("gateway-token".into());
    })
    .await;
    app.create_dealer("abc-motors").await;
    queue(&app, |conn, dealer, brand| {
        emails::one_time_code_sms(conn, brand, dealer, "+27836567788", "555666").map(|_| ())
    });
    app.deliver_pending().await;
    let received = gateway.sent().await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].authorization.as_deref(),
        Some("Bearer gateway-token")
    );
    assert_eq!(received[0].body["to"], "+27836567788");
    assert!(received[0].body["text"]
        .as_str()
        .unwrap()
        .starts_with("555666 is your"));
}

/// The listing is scoped filtered and measured.
#[tokio::test]
async fn the_listing_is_scoped_filtered_and_measured() {
    let sink = SmtpSink::start().await;
    // The server's own worker, whose metrics /metrics shows.
    let app = smtp_app_with_worker(&sink).await;
    app.create_dealer("xyz-motors").await;
    queue(&app, |conn, dealer, brand| {
        emails::lookup_not_found(conn, brand, dealer, "0730489055").map(|_| ())
    });
    let token = dealer("abc-motors");
    let sent = eventually(WAIT, "the message recorded as sent", || async {
        let sent = app
            .get("/v1/dealers/abc-motors/notifications?status=sent", &token)
            .await;
        (!listed(&sent).is_empty()).then_some(sent)
    })
    .await;
    assert_eq!(listed(&sent).len(), 1);
    let pending = app
        .get(
            "/v1/dealers/abc-motors/notifications?status=pending",
            &token,
        )
        .await;
    assert_eq!(listed(&pending).len(), 0);
    app.get("/v1/dealers/abc-motors/notifications?status=lost", &token)
        .await
        .assert_field_refused("status");
    let theirs = app
        .get(
            "/v1/dealers/xyz-motors/notifications",
            &dealer("xyz-motors"),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(listed(&theirs).len(), 0);
    app.get(
        "/v1/dealers/abc-motors/notifications",
        &dealer("xyz-motors"),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    app.get(
        "/v1/dealers/abc-motors/notifications",
        &sign(&claims("operator", &["abc-motors"])),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("outbox_delivery_latency_seconds_count 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"outbox_delivery_attempts_total{outcome="delivered"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("outbox_messages{status=\"pending\"}"),
        "{metrics}"
    );
}

/// A crashed workers claim expires and another delivers.
#[tokio::test]
async fn a_crashed_workers_claim_expires_and_another_delivers() {
    let sink = SmtpSink::start().await;
    let app = smtp_app(&sink).await;
    // A replica claims the message and dies holding it, its lease one second long.
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let claimed = db::write_transaction(&mut conn, |conn| {
        let dealer = db::dealers::find(conn, "abc-motors")?.unwrap();
        emails::lookup_not_found(conn, &branding(), &dealer, "0730489055")?;
        let now = db::now();
        db::backend::claim_due_messages(
            conn,
            "crashed-replica",
            now,
            now + chrono::Duration::seconds(1),
            10,
        )
    })
    .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(app.deliver_pending().await, 0);
    assert!(
        sink.messages().is_empty(),
        "delivered while another worker held the claim"
    );
    // Once the lease is over, another worker claims it and delivers.
    eventually(WAIT, "the expired claim taken over", || async {
        (app.deliver_pending().await > 0).then_some(())
    })
    .await;
    assert_eq!(sink.messages().len(), 1);
}
