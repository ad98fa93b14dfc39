//! The whole flow: by email, by mobile, and with JavaScript off.

use serde_json::json;

use super::*;

/// Identify → code → records, each step looked at; checks Fred's record and his leads.
async fn sign_in(tab: &Tab, app: &TestApp, by: By, id: i64, prefix: &str) {
    tab.open(&by.identify_page()).await;
    wait_for(tab, &format!("form#identify {}", by.field())).await;
    tab.step(&format!("{prefix}-identify")).await;
    identify(tab, by).await;
    tab.step(&format!("{prefix}-code")).await;
    enter_code(tab, app, by.recipient, "form#confirm").await;
    wait_for_path(tab, &page("/records")).await;

    let record = format!("section.record[data-customer-id=\"{id}\"]");
    let shown = text(tab, &record).await;
    assert!(shown.contains("Fred"), "records page: {shown}");
    // The leads' salespeople, by first name only.
    assert!(shown.contains("Ashveer"), "records page: {shown}");
    assert!(shown.contains("Lerato"), "records page: {shown}");
    assert!(
        exists(tab, &format!("{record} table")).await,
        "the leads are in a table"
    );
    assert!(!exists(tab, "#nothing-held").await);
    assert!(!exists(tab, "#blacklisted").await);
    tab.step(&format!("{prefix}-records")).await;
}

/// From the records page: change the first name and untick marketing; back on the records page
/// with the saved message.
async fn edit_details(tab: &Tab, app: &TestApp, id: i64, prefix: &str) {
    follow(
        tab,
        &format!("section.record[data-customer-id=\"{id}\"] a.edit"),
    )
    .await;
    wait_for_path(tab, &page(&format!("/records/{id}/edit"))).await;
    wait_for(tab, "form#details #first_name").await;
    tab.step(&format!("{prefix}-edit")).await;
    fill(tab, "form#details #first_name", "Frederick").await;
    let consent = wait_for(tab, "form#details #consent_market").await;
    assert!(consent.is_selected().await.unwrap(), "marketing was ticked");
    consent.click().await.unwrap();
    assert!(!consent.is_selected().await.unwrap());
    submit(tab, "form#details").await;
    wait_for_path(tab, &page("/records")).await;
    let status = text(tab, "#status").await;
    assert!(!status.trim().is_empty(), "a saved message in #status");
    assert_eq!(
        attr(tab, "#status", "role").await.as_deref(),
        Some("status")
    );
    let shown = text(tab, &format!("section.record[data-customer-id=\"{id}\"]")).await;
    assert!(shown.contains("Frederick"), "records page: {shown}");
    tab.step(&format!("{prefix}-saved")).await;

    let record = record_via_api(app, id).await;
    assert_eq!(record["first_name"], "Frederick", "{}", pretty(&record));
    assert_eq!(record["consent_market"], false, "{}", pretty(&record));
}

/// From the records page: a new email or mobile in place of the one signed in with, proved with
/// the code sent to the new one; the page then signs the person out
/// (`/done?what=identifier-moved`), as the session names an identifier no record holds any more.
/// Returns the new identifier.
async fn change_identifier(tab: &Tab, app: &TestApp, id: i64, by: By, prefix: &str) -> By {
    let (form, field, new) = if by.mobile {
        (
            "form#new-mobile",
            "#new_mobile",
            By {
                mobile: true,
                typed: "082 555 0123",
                recipient: "+27825550123",
            },
        )
    } else {
        (
            "form#new-email",
            "#new_email",
            By {
                mobile: false,
                typed: "Fred@NewMail.co.za",
                recipient: "fred@newmail.co.za",
            },
        )
    };
    follow(
        tab,
        &format!("section.record[data-customer-id=\"{id}\"] a.edit"),
    )
    .await;
    wait_for_path(tab, &page(&format!("/records/{id}/edit"))).await;
    fill(tab, &format!("{form} {field}"), new.typed).await;
    submit(tab, form).await;
    wait_for_path(tab, &page(&format!("/records/{id}/identifier"))).await;
    wait_for(tab, "form#confirm-identifier #code").await;
    tab.step(&format!("{prefix}-identifier-code")).await;
    // The code goes to the NEW address.
    enter_code(tab, app, new.recipient, "form#confirm-identifier").await;
    // Replacing the very identifier signed in with ends the session.
    wait_for_path(tab, &page("/done")).await;
    assert_eq!(query(tab).await.as_deref(), Some("what=identifier-moved"));
    let done = text(tab, "#done-identifier-moved").await;
    println!("{prefix}: after the new identifier: {done:?}");
    tab.step(&format!("{prefix}-identifier-moved")).await;

    let record = record_via_api(app, id).await;
    let key = if by.mobile { "mobile" } else { "email" };
    assert_eq!(record[key], json!(new.recipient), "{}", pretty(&record));
    new
}

async fn whole_flow(by: By, prefix: &str) {
    let Some(mut browser) = browser().await else {
        return;
    };
    let (app, id) = seeded_app().await;
    let tab = browser.tab(&app.address, Options::default()).await;
    sign_in(&tab, &app, by, id, &format!("{prefix}-1")).await;
    edit_details(&tab, &app, id, &format!("{prefix}-2")).await;
    let new = change_identifier(&tab, &app, id, by, &format!("{prefix}-3")).await;
    // Signed in again with the new identifier, whose code also lands in the mailbox.
    sign_in_again(&tab, &app, new, id, &format!("{prefix}-4")).await;
    withdraw(&tab, &format!("{prefix}-5")).await;
    assert_deidentified(&app, id).await;
    tab.close().await;
}

/// Identify → code → records with the new identifier (the record now shows "Frederick").
async fn sign_in_again(tab: &Tab, app: &TestApp, by: By, id: i64, prefix: &str) {
    tab.open(&by.identify_page()).await;
    identify(tab, by).await;
    enter_code(tab, app, by.recipient, "form#confirm").await;
    wait_for_path(tab, &page("/records")).await;
    let shown = text(tab, &format!("section.record[data-customer-id=\"{id}\"]")).await;
    assert!(shown.contains("Frederick"), "records page: {shown}");
    assert!(shown.contains(by.recipient), "records page: {shown}");
    tab.step(&format!("{prefix}-records")).await;
}

/// By email: identify, code, records, edit, new email, withdraw.
#[tokio::test]
async fn whole_flow_by_email() {
    whole_flow(By::EMAIL, "email").await;
}

/// By mobile (the SMS lands in the mailbox folder too).
#[tokio::test]
async fn whole_flow_by_mobile() {
    whole_flow(By::MOBILE, "mobile").await;
}

/// The identify page links to the other identifier.
#[tokio::test]
async fn the_identify_page_switches_between_email_and_mobile() {
    let Some(mut browser) = browser().await else {
        return;
    };
    let (app, _) = seeded_app().await;
    let tab = browser.tab(&app.address, Options::default()).await;
    tab.open(&page("")).await;
    wait_for(&tab, "form#identify #email").await;
    follow(&tab, "a#switch-identifier").await;
    wait_for(&tab, "form#identify #mobile").await;
    assert!(!exists(&tab, "form#identify #email").await);
    let mobile = wait_for(&tab, "#mobile").await;
    assert_eq!(mobile.attr("type").await.unwrap().as_deref(), Some("tel"));
    assert_eq!(
        mobile.attr("autocomplete").await.unwrap().as_deref(),
        Some("tel")
    );
    follow(&tab, "a#switch-identifier").await;
    let email = wait_for(&tab, "form#identify #email").await;
    assert_eq!(email.attr("type").await.unwrap().as_deref(), Some("email"));
    assert_eq!(
        email.attr("autocomplete").await.unwrap().as_deref(),
        Some("email")
    );
    tab.close().await;
}

/// With JavaScript off: identify, code, records, withdraw.
#[tokio::test]
async fn whole_flow_without_javascript() {
    let Some(mut browser) = browser().await else {
        return;
    };
    let (app, id) = seeded_app().await;
    let tab = browser
        .tab(
            &app.address,
            Options {
                no_javascript: true,
                ..Options::default()
            },
        )
        .await;
    // The harness's own check that page scripts are off (WebDriver's still run).
    tab.goto("data:text/html,<title>off</title><script>document.title='on'</script>")
        .await
        .unwrap();
    assert_eq!(tab.title().await.unwrap(), "off", "page scripts ran");
    sign_in(&tab, &app, By::EMAIL, id, "nojs-1").await;
    withdraw(&tab, "nojs-2").await;
    assert_deidentified(&app, id).await;
    tab.close().await;
}

/// Sign-out ends the session: the records are gone from this browser.
#[tokio::test]
async fn sign_out_ends_the_session() {
    let Some(mut browser) = browser().await else {
        return;
    };
    let (app, _) = seeded_app().await;
    let tab = browser.tab(&app.address, Options::default()).await;
    tab.open(&By::EMAIL.identify_page()).await;
    identify(&tab, By::EMAIL).await;
    enter_code(&tab, &app, By::EMAIL.recipient, "form#confirm").await;
    wait_for_path(&tab, &page("/records")).await;
    wait_for(&tab, "section.record").await;

    submit(&tab, "form#sign-out").await;
    wait_for_path(&tab, &page("/done")).await;
    assert_eq!(query(&tab).await.as_deref(), Some("what=signed-out"));
    wait_for(&tab, "#done-signed-out").await;
    assert!(!exists(&tab, "form#sign-out").await);
    tab.step("signout-1-done").await;

    // The records page now asks who you are again.
    tab.client
        .goto(&format!("{}{}", app.address, page("/records")))
        .await
        .unwrap();
    wait_for(&tab, "form#identify").await;
    assert!(!exists(&tab, "section.record").await);
    tab.close().await;
}
