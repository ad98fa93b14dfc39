//! End-to-end through the SDK only: a real server on a real socket, every operation at least
//! once, the typed Problem on error paths, and the retries.

#[allow(dead_code, unused_imports)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use popia_sdk::hooks::RetryPolicy;
use popia_sdk::types::{self, EventKind, LeadStatus, NotificationStatus};
use popia_sdk::{Client, ClientBuilder, Error, List};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use helpers::*;

const DEALER: &str = "abc-motors";

fn client(app: &TestApp, token: &str) -> Client {
    ClientBuilder::new(&app.address)
        .token(token)
        .build()
        .unwrap()
}

/// A request body from JSON, the way a caller holding JSON would build one.
fn body<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a valid request body")
}

fn problem_of(error: &Error) -> (u16, &types::Problem) {
    let problem = error
        .problem()
        .unwrap_or_else(|| panic!("no Problem in {error:?}"));
    (error.status().unwrap(), problem)
}

/// What the sections share: one server, and a client for each role.
struct Ctx {
    app: TestApp,
    admin: Client,
    staff: Client,
    operator: Client,
}

/// Every operation of the API document works through the SDK, end to end, on one server.
#[tokio::test]
async fn every_operation_through_the_sdk() {
    let app = spawn_app().await;
    let ctx = Ctx {
        admin: client(&app, &admin()),
        staff: client(&app, &dealer(DEALER)),
        operator: client(&app, &operator()),
        app,
    };
    health_readiness_and_metrics(&ctx).await;
    dealers_and_key_contacts(&ctx).await;
    let fred = customers_and_leads(&ctx).await;
    the_pi_flow(&ctx, fred).await;
    let naledi = a_withdrawal_by_staff(&ctx).await;
    history_and_notifications(&ctx, fred, naledi).await;
    blacklists_and_pulls(&ctx).await;
    follow_ups_through_the_sdk(&ctx, naledi).await;
    webhooks_through_the_sdk(&ctx).await;
    every_operation_was_called(&ctx).await;
}

/// A deployment's probes and scraper get health, readiness and the Prometheus metrics.
async fn health_readiness_and_metrics(ctx: &Ctx) {
    let staff = &ctx.staff;
    assert_eq!(
        staff.healthz().send().await.unwrap().into_inner().status,
        "ok"
    );
    assert_eq!(
        staff.readyz().send().await.unwrap().into_inner().status,
        "ready"
    );
    let metrics = staff.metrics().send().await.unwrap().into_inner();
    let text: Vec<u8> = metrics
        .into_inner()
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .unwrap();
    assert!(String::from_utf8(text)
        .unwrap()
        .contains("http_requests_total"));
}

/// An admin registers a dealer with its key contacts and renames it; its staff read it back.
async fn dealers_and_key_contacts(ctx: &Ctx) {
    let Ctx { admin, staff, .. } = ctx;
    let created = admin
        .create_dealer()
        .body(body::<types::CreateDealer>(json!({
            "id": DEALER, "name": "ABC Motors", "website": "https://abcmotors.co.za",
            "key_contacts": [{"name": "Thandi Nkosi", "email": "thandi@abcmotors.co.za"}]})))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.id, DEALER);
    let updated = admin
        .update_dealer()
        .dealer(DEALER)
        .body(body::<types::UpdateDealer>(
            json!({"name": "ABC Motors Pretoria"}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name, "ABC Motors Pretoria");
    assert_eq!(
        staff
            .get_dealer()
            .dealer(DEALER)
            .send()
            .await
            .unwrap()
            .into_inner()
            .website,
        "https://abcmotors.co.za"
    );
}

/// Staff record a customer (mobile normalised), work a lead, amend under If-Match, and find them.
async fn customers_and_leads(ctx: &Ctx) -> i64 {
    let staff = &ctx.staff;
    let fred = staff
        .create_customer()
        .dealer(DEALER)
        .body_map(|b| {
            b.first_name("Fred")
                .last_name("Basset")
                .email(Some("Fred@Sea.com".try_into().unwrap()))
                .mobile(Some("083 656 7788".try_into().unwrap()))
                .consent_process(true)
                .consent_market(true)
                .consent_source(Some("website form".try_into().unwrap()))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fred.mobile.as_deref(), Some("+27836567788"));
    let lead = staff
        .create_lead()
        .dealer(DEALER)
        .body(body::<types::CreateLead>(json!({"customer_id": fred.id, "recipient": {"name": "Ashveer Singh", "email": "ashveer@abcmotors.co.za"}})))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(lead.status, LeadStatus::Active);
    let got = staff
        .get_lead()
        .dealer(DEALER)
        .id(lead.id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.customer_id, fred.id);
    let won = staff
        .update_lead()
        .dealer(DEALER)
        .id(lead.id)
        .body(body::<types::UpdateLead>(json!({"status": "won"})))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(won.status, LeadStatus::Won);
    let read = staff
        .get_customer()
        .dealer(DEALER)
        .id(fred.id)
        .send()
        .await
        .unwrap();
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(read.into_inner().leads.unwrap().len(), 1);
    let amended = staff
        .amend_customer()
        .dealer(DEALER)
        .id(fred.id)
        .if_match(etag)
        .body(body::<types::AmendCustomer>(
            json!({"consent_market": false}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(!amended.consent_market);
    let found: Vec<types::Customer> =
        popia_sdk::paging::customers(staff, DEALER, None, Some("0836567788"))
            .try_collect()
            .await
            .unwrap();
    assert_eq!(found.len(), 1);
    let first_page = staff
        .list_customers()
        .dealer(DEALER)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first_page.items.len(), 1);

    fred.id
}

/// A data subject proves their email by code, then sees, corrects, moves and withdraws their record.
async fn the_pi_flow(ctx: &Ctx, fred: i64) {
    let Ctx {
        app,
        staff,
        operator,
        ..
    } = ctx;
    // A dealer system follows the change feed, then an operator pulls the email blacklist: the
    // lookup names both as third parties, latest first.
    staff.dealer_history().dealer(DEALER).send().await.unwrap();
    operator
        .list_blacklist_emails()
        .dealer(DEALER)
        .send()
        .await
        .unwrap();
    let started = staff
        .start_verification()
        .dealer(DEALER)
        .body(body::<types::StartVerification>(
            json!({"email": "fred@sea.com"}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.channel, types::CodeChannel::Email);
    let code = latest_code(app, "fred@sea.com").await;
    let token = staff
        .confirm_verification()
        .dealer(DEALER)
        .verification_id(started.verification_id.clone())
        .body(body::<types::ConfirmCode>(json!({ "code": code })))
        .send()
        .await
        .unwrap()
        .into_inner();
    let fred_client = client(app, &token.token);
    let records = fred_client
        .pi_lookup()
        .dealer(DEALER)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(records.found);
    let who: Vec<(&str, &str, &[types::ThirdPartyAccess])> = records
        .third_parties
        .iter()
        .map(|p| (p.name.as_str(), p.category.as_str(), p.accessed.as_slice()))
        .collect();
    assert_eq!(
        who,
        [
            (
                "operator-user",
                "operator",
                &[types::ThirdPartyAccess::Blacklists][..]
            ),
            (
                "dealer-user",
                "dealer",
                &[types::ThirdPartyAccess::ChangeFeed][..]
            ),
        ]
    );
    assert!(records.third_parties[0].last_access_at > records.third_parties[1].last_access_at);
    // The salesperson ("Ashveer Singh") by first name; the lead is the one staff marked won.
    let leads = &records.customers[0].leads;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].recipient_first_name, "Ashveer");
    assert_eq!(leads[0].status, LeadStatus::Won);
    let corrected = fred_client
        .pi_amend()
        .dealer(DEALER)
        .customer_id(fred)
        .body(body::<types::PiAmendCustomer>(
            json!({"last_name": "Basset-Hound"}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(corrected.last_name.as_deref(), Some("Basset-Hound"));
    assert_eq!(corrected.leads[0].recipient_first_name, "Ashveer");
    // A new mobile, proven by the code sent to it.
    let change = fred_client
        .pi_start_identifier_change()
        .dealer(DEALER)
        .customer_id(fred)
        .body(body::<types::StartVerification>(
            json!({"mobile": "072 111 2222"}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(change.channel, types::CodeChannel::Sms);
    let code = latest_code(app, "+27721112222").await;
    let moved = fred_client
        .pi_confirm_identifier_change()
        .dealer(DEALER)
        .customer_id(fred)
        .verification_id(change.verification_id.clone())
        .body(body::<types::ConfirmCode>(json!({ "code": code })))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.mobile.as_deref(), Some("+27721112222"));
    assert_eq!(moved.leads.len(), 1);
    let withdrawn = fred_client
        .pi_withdraw_consent()
        .dealer(DEALER)
        .body(body::<types::WithdrawConsent>(json!({})))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(withdrawn.customer_ids, vec![fred]);
}

/// Staff withdraw a customer's consent on their behalf (a request phoned in). Returns their id.
async fn a_withdrawal_by_staff(ctx: &Ctx) -> i64 {
    let staff = &ctx.staff;
    let naledi = staff
        .create_customer()
        .dealer(DEALER)
        .body(body::<types::CreateCustomer>(json!({"first_name": "Naledi", "last_name": "Dlamini", "mobile": "082 555 0123", "consent_process": true, "consent_market": false})))
        .send()
        .await
        .unwrap()
        .into_inner();
    let staff_withdrawal = staff
        .withdraw_consent()
        .dealer(DEALER)
        .id(naledi.id)
        .body(body::<types::WithdrawConsent>(
            json!({"reason": "phoned in"}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(staff_withdrawal.customer_ids, vec![naledi.id]);

    naledi.id
}

/// Staff read the change feed (resumable from a cursor), who read a record, and the notifications.
async fn history_and_notifications(ctx: &Ctx, fred: i64, naledi: i64) {
    let staff = &ctx.staff;
    let feed: Vec<types::ChangeEvent> = popia_sdk::paging::dealer_history(staff, DEALER, None)
        .try_collect()
        .await
        .unwrap();
    assert!(feed.iter().any(|e| e.kind == EventKind::ConsentWithdrawn));
    // Resuming from an event's cursor reads only what follows it.
    let after_third: Vec<types::ChangeEvent> =
        popia_sdk::paging::dealer_history(staff, DEALER, Some(feed[2].cursor.clone()))
            .try_collect()
            .await
            .unwrap();
    assert_eq!(after_third.len(), feed.len() - 3);
    assert_eq!(after_third[0].id, feed[3].id);
    let own: Vec<types::ChangeEvent> = popia_sdk::paging::customer_history(staff, DEALER, fred)
        .try_collect()
        .await
        .unwrap();
    assert!(own.iter().all(|e| e.customer_id == Some(fred)));
    let page = staff
        .dealer_history()
        .dealer(DEALER)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.items.len(), feed.len());
    let one = staff
        .customer_history()
        .dealer(DEALER)
        .id(naledi)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(!one.items.is_empty());
    // Who read Naledi's record before she withdrew: only the count is kept.
    let reads = staff
        .customer_reads()
        .dealer(DEALER)
        .id(naledi)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(reads.items.is_empty());
    assert!(reads.reads_before_withdrawal.is_some());
    let queued: Vec<types::Notification> = popia_sdk::paging::notifications(staff, DEALER, None)
        .try_collect()
        .await
        .unwrap();
    assert!(queued.len() >= 4);
    let listed = staff
        .list_notifications()
        .dealer(DEALER)
        .status(NotificationStatus::Failed)
        .send()
        .await
        .unwrap()
        .into_inner();
    // Nothing failed to send; only what the withdrawal made moot (an amendment's email still
    // waiting) was cancelled.
    assert!(
        listed.items.iter().all(|n| n
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("cancelled"))),
        "{:?}",
        listed.items
    );
}

/// An operator pulls withdrawn identifiers as pages, changes, CSV and a check; each pull is logged.
async fn blacklists_and_pulls(ctx: &Ctx) {
    let Ctx {
        staff, operator, ..
    } = ctx;
    let emails: Vec<types::BlacklistItem> =
        popia_sdk::paging::blacklist(operator, DEALER, List::Emails, None)
            .try_collect()
            .await
            .unwrap();
    assert_eq!(
        emails.iter().map(|e| e.value.as_str()).collect::<Vec<_>>(),
        ["fred@sea.com"]
    );
    let today = chrono::Utc::now().date_naive();
    let changes: Vec<types::BlacklistItem> =
        popia_sdk::paging::blacklist(operator, DEALER, List::Mobiles, Some(today))
            .try_collect()
            .await
            .unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes
        .iter()
        .all(|c| c.change == Some(types::BlacklistChange::Added)));
    let page = operator
        .list_blacklist_emails()
        .dealer(DEALER)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.items.len(), 1);
    let page = operator
        .list_blacklist_mobiles()
        .dealer(DEALER)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.items.len(), 2);
    let mut csv = Vec::new();
    let mut reports = 0;
    let done =
        popia_sdk::download_blacklist(operator, DEALER, List::Mobiles, None, &mut csv, |_| {
            reports += 1
        })
        .await
        .unwrap();
    assert_eq!(done.rows, 2);
    assert!(reports >= 1);
    assert!(String::from_utf8(csv)
        .unwrap()
        .starts_with("value,added_on\n"));
    let checked = operator
        .check_blacklist()
        .dealer(DEALER)
        .body(body::<types::BlacklistCheck>(
            json!({"emails": ["FRED@sea.com", "x"], "mobiles": ["+27 82 555 0123"]}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(checked.emails, ["fred@sea.com"]);
    assert_eq!(checked.mobiles, ["+27825550123"]);
    assert_eq!(checked.invalid.len(), 1);
    let pulls: Vec<types::BlacklistPull> = popia_sdk::paging::blacklist_pulls(staff, DEALER)
        .try_collect()
        .await
        .unwrap();
    assert!(pulls.len() >= 6, "{}", pulls.len());
    let page = staff
        .list_blacklist_pulls()
        .dealer(DEALER)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.items.len(), pulls.len());
}

/// Staff list what the emails asked of them, read one, and close it with a note, once.
async fn follow_ups_through_the_sdk(ctx: &Ctx, naledi: i64) {
    let staff = &ctx.staff;
    let open = staff
        .list_follow_ups()
        .dealer(DEALER)
        .status(types::ListFollowUpsStatus::Open)
        .send()
        .await
        .unwrap()
        .into_inner();
    let withdrawn = open
        .items
        .iter()
        .find(|f| f.kind == types::FollowUpKind::ConsentWithdrawn && f.customer_id == Some(naledi))
        .expect("the withdrawal's follow-up");
    assert!(!withdrawn.overdue);
    let read = staff
        .get_follow_up()
        .dealer(DEALER)
        .id(withdrawn.id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.id, withdrawn.id);
    let closed = staff
        .close_follow_up()
        .dealer(DEALER)
        .id(withdrawn.id)
        .body(body::<types::CloseFollowUp>(
            json!({"note": "Removed from the DMS and both operators' lists."}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.status, types::FollowUpStatus::Done);
    assert_eq!(closed.done_by.as_deref(), Some("dealer-user"));
    let again = staff
        .close_follow_up()
        .dealer(DEALER)
        .id(withdrawn.id)
        .body(body::<types::CloseFollowUp>(json!({})))
        .send()
        .await
        .unwrap_err();
    assert_eq!(problem_of(&Error::from(again)).0, 409);
}

/// Staff register a webhook endpoint (its secret shown once), see a change queued for it, rotate
/// its secret, and delete it.
async fn webhooks_through_the_sdk(ctx: &Ctx) {
    let staff = &ctx.staff;
    let created = staff
        .create_webhook()
        .dealer(DEALER)
        .body(body::<types::CreateWebhook>(json!({
            "url": "http://127.0.0.1:9/hooks", "events": ["customer.created"]})))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(created.secret.starts_with("whsec_"));
    assert_eq!(created.events, [EventKind::CustomerCreated]);
    staff
        .create_customer()
        .dealer(DEALER)
        .body(body::<types::CreateCustomer>(json!({
            "first_name": "Hook", "last_name": "Test", "email": "hook@sea.com",
            "consent_process": true, "consent_market": false})))
        .send()
        .await
        .unwrap();
    let queued: Vec<types::WebhookDelivery> =
        popia_sdk::paging::webhook_deliveries(staff, DEALER, created.id, None)
            .try_collect()
            .await
            .unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].event_type, Some(EventKind::CustomerCreated));
    assert_eq!(queued[0].status, types::DeliveryStatus::Pending);
    let rotated = staff
        .rotate_webhook_secret()
        .dealer(DEALER)
        .id(created.id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_ne!(rotated.secret, created.secret);
    assert!(rotated.previous_secret_expires_at.is_some());
    let listed: Vec<types::Webhook> = popia_sdk::paging::webhooks(staff, DEALER)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let page = staff
        .list_webhooks()
        .dealer(DEALER)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.items.len(), 1);
    staff
        .delete_webhook()
        .dealer(DEALER)
        .id(created.id)
        .send()
        .await
        .unwrap();
    let gone = staff
        .get_webhook()
        .dealer(DEALER)
        .id(created.id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(problem_of(&Error::from(gone)).0, 404);
}

/// No operation in the API document goes untested: the server's route metrics show each called.
async fn every_operation_was_called(ctx: &Ctx) {
    let app = &ctx.app;
    let document: Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let metrics = app.metrics().await;
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let label = format!("method=\"{}\",route=\"{path}\"", method.to_uppercase());
            if !metrics
                .lines()
                .any(|l| l.starts_with("http_requests_total") && l.contains(&label))
            {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "operations the SDK test never called: {missing:?}"
    );
}

/// Errors carry the typed problem.
#[tokio::test]
async fn errors_carry_the_typed_problem() {
    let app = spawn_app().await;
    app.create_dealer(DEALER).await;
    let staff = client(&app, &dealer(DEALER));

    let anonymous = ClientBuilder::new(&app.address).build().unwrap();
    let error = Error::from(
        anonymous
            .list_customers()
            .dealer(DEALER)
            .send()
            .await
            .unwrap_err(),
    );
    let (status, problem) = problem_of(&error);
    assert_eq!((status, problem.status), (401, 401));
    assert_eq!(problem.type_, "urn:popia-gateway:problem:unauthorized");

    let error = Error::from(
        staff
            .get_customer()
            .dealer(DEALER)
            .id(999_999)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(problem_of(&error).0, 404);

    let error = Error::from(
        staff
            .create_customer()
            .dealer(DEALER)
            .body(body::<types::CreateCustomer>(json!({"first_name": "A", "last_name": "B", "mobile": "011 555 1234", "consent_process": true, "consent_market": false})))
            .send()
            .await
            .unwrap_err(),
    );
    let (status, problem_422) = problem_of(&error);
    assert_eq!(status, 422);
    assert_eq!(problem_422.errors.as_ref().unwrap()[0].field, "mobile");

    let admin = client(&app, &admin());
    let duplicate = admin
        .create_dealer()
        .body(body::<types::CreateDealer>(json!({"id": DEALER, "name": "Again", "website": "https://a.co.za", "key_contacts": [{"name": "A", "email": "a@a.co.za"}]})))
        .send()
        .await
        .unwrap_err();
    let error = Error::from(duplicate);
    assert_eq!(problem_of(&error).0, 409);
    assert!(error.to_string().starts_with("409 Conflict"), "{error}");

    // A download of another dealer's list is a typed 404 too.
    let operator = client(&app, &operator());
    let error = popia_sdk::download_blacklist(
        &operator,
        "xyz-motors",
        List::Emails,
        None,
        Vec::new(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(problem_of(&error).0, 404);
}

/// A 429 is retried with backoff then reported.
#[tokio::test]
async fn a_429_is_retried_with_backoff_then_reported() {
    let app = spawn_app().await;
    app.create_dealer(DEALER).await;
    let patient = ClientBuilder::new(&app.address)
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        })
        .build()
        .unwrap();
    let send = || {
        patient
            .start_verification()
            .dealer(DEALER)
            .body(body::<types::StartVerification>(
                json!({"email": "fred@sea.com"}),
            ))
            .send()
    };
    for _ in 0..3 {
        send().await.unwrap();
    }
    let error = Error::from(send().await.unwrap_err());
    assert_eq!(problem_of(&error).0, 429);
    // The server saw the first three sends and three attempts of the fourth.
    let metrics = app.metrics().await;
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total")
                && l.contains("pi/verifications\"")
                && l.contains("status=\"429\"")
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(line.ends_with(" 3"), "{line}");
}

/// Connection errors are retried until the server is up.
#[tokio::test]
async fn connection_errors_are_retried_until_the_server_is_up() {
    // A port with no server yet; the server comes up a moment after the first attempt.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = ClientBuilder::new(format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        })
        .build()
        .unwrap();
    let starter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        spawn_app_with(move |c| c.bind = format!("127.0.0.1:{port}")).await
    });
    let health = client
        .healthz()
        .send()
        .await
        .expect("retried until the server answered")
        .into_inner();
    assert_eq!(health.status, "ok");
    drop(starter.await.unwrap());
}

/// Streams read every page.
#[tokio::test]
async fn streams_read_every_page() {
    let app = spawn_app().await;
    app.create_dealer(DEALER).await;
    seed_emails(&app, 2_345);
    let operator = client(&app, &operator());
    let stream = popia_sdk::paging::blacklist(&operator, DEALER, List::Emails, None);
    let values: Vec<String> = stream.map(|item| item.unwrap().value).collect().await;
    assert_eq!(values.len(), 2_345);
    let mut distinct = values.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 2_345);
}
