//! Errors as the person meets them: a wrong code tied to its field, the lock after five, and the
//! wait after too many sends.

use super::*;

fn has_number(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
}

/// A wrong code is tied to the field; five lock; too many sends show the wait.
#[tokio::test]
async fn wrong_codes_are_tied_to_the_field_and_too_many_sends_show_the_wait() {
    let Some(mut browser) = browser().await else {
        return;
    };
    let (app, _) = seeded_app().await;
    let tab = browser.tab(&app.address, Options::default()).await;
    tab.open(&page("")).await;
    identify(&tab, By::EMAIL).await;
    let real = latest_code(&app, "fred@sea.com").await;
    let wrong = format!("{:06}", (real.parse::<u32>().unwrap() + 1) % 1_000_000);

    // One wrong code: the error is the field's, and says how many tries are left.
    fill(&tab, "form#confirm #code", &wrong).await;
    submit(&tab, "form#confirm").await;
    let code_field = "#code[aria-invalid=\"true\"]";
    wait_for(&tab, code_field).await;
    let described = attr(&tab, "#code", "aria-describedby")
        .await
        .unwrap_or_default();
    assert!(
        described.split_whitespace().any(|id| id == "code-error"),
        "#code aria-describedby={described:?}"
    );
    let error = text(&tab, "#code-error").await;
    assert!(
        error.contains('4'),
        "#code-error should say 4 attempts are left: {error:?}"
    );
    println!("one wrong code: #code-error {error:?}");
    tab.step("errors-1-wrong-code").await;

    // Four more: each says how many tries are left; the fifth leaves none.
    for left in (0..4).rev() {
        fill(&tab, "form#confirm #code", &wrong).await;
        submit(&tab, "form#confirm").await;
        let seen = page_error(&tab).await.unwrap_or_default();
        println!("wrong code, {left} left: {seen:?}");
        if left == 0 {
            assert!(
                seen.contains("last try"),
                "the fifth says it was the last: {seen:?}"
            );
        } else {
            assert!(seen.contains(&left.to_string()), "{left} left: {seen:?}");
        }
    }
    // Locked: even the real code is refused now, and the page says why.
    if exists(&tab, "form#confirm #code").await {
        fill(&tab, "form#confirm #code", &real).await;
        submit(&tab, "form#confirm").await;
    }
    assert_ne!(
        tab.current_url().await.unwrap().path(),
        page("/records"),
        "the real code got in after five wrong ones"
    );
    let locked = page_error(&tab).await.unwrap_or_default();
    println!("the real code after five wrong ones: {locked:?}");
    assert!(
        !locked.is_empty() && !locked.contains("That code is wrong"),
        "a locked message after five wrong codes: {locked:?}"
    );
    tab.step("errors-2-locked").await;

    // Sends until the service answers 429: the page shows the wait.
    let mut sends = 1;
    let wait = loop {
        tab.open(&page("")).await;
        fill(&tab, "form#identify #email", "fred@sea.com").await;
        submit(&tab, "form#identify").await;
        sends += 1;
        let answer = if exists(&tab, "#form-error").await {
            Err(text(&tab, "#form-error").await)
        } else {
            wait_for(&tab, "form#confirm #code").await;
            Ok(())
        };
        if let Err(wait) = answer {
            break wait;
        }
        assert!(sends < 10, "no 429 after {sends} sends");
    };
    println!("send {sends} refused: #form-error {wait:?}");
    assert_eq!(
        attr(&tab, "#form-error", "role").await.as_deref(),
        Some("alert")
    );
    assert!(
        has_number(&wait),
        "the wait in minutes or seconds: {wait:?}"
    );
    let lower = wait.to_lowercase();
    assert!(
        ["second", "minute", "hour"]
            .iter()
            .any(|unit| lower.contains(unit)),
        "the wait in seconds, minutes or hours: {wait:?}"
    );
    tab.step("errors-3-too-many-sends").await;
    tab.close().await;
}

/// The code page's error, wherever the page puts it (the field's or the form's).
async fn page_error(tab: &Tab) -> Option<String> {
    for css in ["#code-error", "#form-error"] {
        if exists(tab, css).await {
            let text = tab
                .find(fantoccini::Locator::Css(css))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            if !text.trim().is_empty() {
                return Some(text);
            }
        }
    }
    None
}

/// An unknown dealer gets an HTML 404 page in the page's own style.
#[tokio::test]
async fn an_unknown_dealer_gets_an_html_404_page() {
    let Some(mut browser) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let tab = browser.tab(&app.address, Options::default()).await;
    tab.open("/pi/no-such-dealer").await;
    let answer = tab
        .execute(
            "const nav = performance.getEntriesByType('navigation')[0];\
             return [nav.responseStatus, document.contentType, document.documentElement.lang];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(answer[0], 404, "{answer}");
    assert_eq!(answer[1], "text/html", "{answer}");
    assert_eq!(answer[2], "en", "{answer}");
    let shown = text(&tab, "main").await;
    println!("unknown dealer: {shown:?}");
    assert!(!shown.trim().is_empty());
    tab.step("unknown-dealer-404").await;
    tab.close().await;
}
