//! Afrikaans for a browser that asks for it, and the switch to English.

use super::*;

async fn html_lang(tab: &Tab) -> String {
    attr(tab, "html", "lang").await.unwrap_or_default()
}

/// An Afrikaans browser gets the page in Afrikaans; the switch turns it to English.
#[tokio::test]
async fn an_afrikaans_browser_gets_afrikaans_and_can_switch_to_english() {
    let Some(mut browser) = browser().await else {
        return;
    };
    let (app, _) = seeded_app().await;
    let tab = browser
        .tab(
            &app.address,
            Options {
                language: Some("af"),
                ..Options::default()
            },
        )
        .await;
    tab.open(&page("")).await;
    wait_for(&tab, "form#identify #email").await;
    assert_eq!(html_lang(&tab).await, "af");
    let afrikaans = body_text(&tab).await;
    assert!(
        afrikaans.contains("E-posadres"),
        "Afrikaans text: {afrikaans}"
    );
    tab.step("lang-af-identify").await;

    follow(&tab, "a[hreflang=\"en\"]").await;
    until("the page in English", || async {
        (html_lang(&tab).await == "en").then_some(())
    })
    .await;
    wait_for(&tab, "form#identify #email").await;
    let english = body_text(&tab).await;
    assert!(english.contains("Email address"), "English text: {english}");
    assert_ne!(afrikaans, english);
    assert!(exists(&tab, "a[hreflang=\"af\"]").await, "a switch back");
    tab.step("lang-en-identify").await;
    tab.close().await;
}
