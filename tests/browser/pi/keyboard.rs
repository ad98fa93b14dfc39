//! The identify step with the keyboard alone: Tab to the field, type, Enter.

use fantoccini::key::Key;

use super::*;

/// Tab reaches the email field, typing fills it, Enter sends the code.
#[tokio::test]
async fn the_identify_step_works_with_the_keyboard_alone() {
    let Some(mut browser) = browser().await else {
        return;
    };
    let (app, _) = seeded_app().await;
    let tab = browser.tab(&app.address, Options::default()).await;
    tab.open(&page("")).await;
    wait_for(&tab, "form#identify #email").await;

    let mut order = Vec::new();
    for _ in 0..30 {
        press(&tab, Key::Tab.into()).await;
        let id = focused_id(&tab).await;
        order.push(id.clone());
        if id == "email" {
            break;
        }
    }
    println!("tab order to #email: {order:?}");
    assert_eq!(
        order.last().map(String::as_str),
        Some("email"),
        "Tab never reached #email: {order:?}"
    );
    // The focus can be seen (WCAG 2.4.7).
    let ring = tab
        .execute(
            "const s = getComputedStyle(document.activeElement);\
             return [s.outlineStyle, s.outlineWidth, s.boxShadow];",
            vec![],
        )
        .await
        .unwrap();
    println!(
        "focused #email: outline {} {}, box-shadow {}",
        ring[0], ring[1], ring[2]
    );
    assert!(
        (ring[0] != "none" && ring[1] != "0px") || ring[2] != "none",
        "no visible focus on #email: {ring}"
    );
    screenshot(&tab, "keyboard-focus-email").await;

    type_keys(&tab, "fred@sea.com").await;
    assert_eq!(
        wait_for(&tab, "#email")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("fred@sea.com")
    );
    mark_page(&tab).await;
    press(&tab, Key::Enter.into()).await;
    wait_for_new_page(&tab).await;
    wait_for_path(&tab, &page("/code")).await;
    wait_for(&tab, "form#confirm #code").await;
    latest_code(&app, "fred@sea.com").await;
    tab.close().await;
}
