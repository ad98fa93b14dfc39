//! Swagger UI at /docs/ in a real browser: authorize with a dealer token and try an operation.

use crate::support::*;

/// Swagger UI authorizes with a bearer token and executes get_dealer.
#[tokio::test]
async fn swagger_ui_authorizes_and_executes_get_dealer() {
    let Some(mut browser) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let tab = browser.tab(&app.address, Options::default()).await;

    tab.open("/docs/").await;
    wait_for(&tab, "button.authorize").await;
    let operation = "#operations-dealers-get_dealer";
    wait_for(&tab, operation).await;
    // Swagger UI's markup is not ours: axe reports, and does not fail the test.
    tab.step_report_only("docs").await;

    // Authorize: paste a dealer token into the bearer dialog, then close it.
    click(&tab, "button.authorize").await;
    fill(&tab, ".modal-ux input[type=text]", &dealer("abc-motors")).await;
    click(&tab, ".modal-ux .auth-btn-wrapper button.authorize").await;
    click(&tab, ".modal-ux button.btn-done").await;
    until("the authorize dialog to close", || async {
        (!exists(&tab, ".modal-ux").await).then_some(())
    })
    .await;

    // get_dealer: expand, try it out, fill the dealer, execute.
    click(&tab, &format!("{operation} .opblock-summary")).await;
    click(&tab, &format!("{operation} .try-out__btn")).await;
    fill(
        &tab,
        &format!("{operation} tr[data-param-name=\"dealer\"] input"),
        "abc-motors",
    )
    .await;
    click(&tab, &format!("{operation} .execute")).await;

    let status = format!("{operation} .live-responses-table tr.response .response-col_status");
    let seen = until("the response status", || async {
        let status = tab.find(fantoccini::Locator::Css(&status)).await.ok()?;
        let text = status.text().await.ok()?;
        (!text.trim().is_empty()).then_some(text)
    })
    .await;
    assert_eq!(seen.trim(), "200", "the response panel's status");
    let body = text(
        &tab,
        &format!("{operation} .live-responses-table tr.response .response-col_description pre"),
    )
    .await;
    assert!(body.contains("\"abc-motors\""), "response body: {body}");
    screenshot(&tab, "docs-get-dealer-200").await;
    tab.close().await;
}
