//! What a test does with a page: wait for things (polling, never a fixed sleep), read them,
//! screenshot them at both sizes, check them with axe-core, and weigh them.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use super::driver::{set_size, target_dir, Size};

/// How long a condition is waited for before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);
/// Looks at `check` until it returns `Some`; panics, naming `what`, after [`PATIENCE`].
pub async fn until<T, F>(what: &str, check: impl FnMut() -> F) -> T
where
    F: Future<Output = Option<T>>,
{
    super::eventually(PATIENCE, what, check).await
}

/// The first element matching `css`, once there is one; on timeout the panic says which page
/// the browser was on and what it showed (and screenshots it to `target/screenshots/FAILED-…`).
pub async fn wait_for(client: &Client, css: &str) -> Element {
    let found = super::poll_until(PATIENCE, || async {
        let found = client.find(Locator::Css(css)).await.ok();
        (found.is_some(), found)
    })
    .await;
    match found {
        Some(element) => element,
        None => panic!(
            "timed out waiting for an element {css}\n{}",
            seen(client).await
        ),
    }
}

/// Where the browser is and what the page says, for a failure's message; screenshots it.
pub async fn seen(client: &Client) -> String {
    let url = client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    let body = match client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let name = format!(
        "FAILED-{}",
        url.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let shot = match client.screenshot().await {
        Ok(png) => {
            let dir = target_dir().join("screenshots");
            let path = dir.join(format!("{name}.png"));
            let _ = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, png));
            path.display().to_string()
        }
        Err(e) => format!("(no screenshot: {e})"),
    };
    format!("the browser is on {url} ({shot}), showing:\n{body}")
}

/// Waits until the page's path (its query aside) is `path` and the document has loaded.
pub async fn wait_for_path(client: &Client, path: &str) {
    let path = path.split(['?', '#']).next().unwrap();
    until(&format!("the page {path}"), || async {
        let url = client.current_url().await.ok()?;
        (url.path() == path && loaded(client).await).then_some(())
    })
    .await;
}

/// The page's query string, if any.
pub async fn query(client: &Client) -> Option<String> {
    client
        .current_url()
        .await
        .expect("current url")
        .query()
        .map(str::to_owned)
}

/// Presses `key` (a character, or a [`fantoccini::key::Key`] as char) on whatever has focus.
pub async fn press(client: &Client, key: char) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    client.perform_actions(actions).await.expect("key pressed");
}

/// Types `text` on whatever has focus, key by key.
pub async fn type_keys(client: &Client, text: &str) {
    for key in text.chars() {
        press(client, key).await;
    }
}

/// The `id` of the element that has focus.
pub async fn focused_id(client: &Client) -> String {
    client
        .execute(
            "return document.activeElement ? document.activeElement.id : '';",
            vec![],
        )
        .await
        .expect("active element")
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// Whether the document has finished loading (WebDriver scripts run with JavaScript off too).
async fn loaded(client: &Client) -> bool {
    client
        .execute("return document.readyState;", vec![])
        .await
        .map(|s| s == "complete")
        .unwrap_or(false)
}

/// The text of the first element matching `css`, once there is one.
pub async fn text(client: &Client, css: &str) -> String {
    wait_for(client, css).await.text().await.expect("text")
}

/// Whether an element matching `css` is on the page now.
pub async fn exists(client: &Client, css: &str) -> bool {
    !client
        .find_all(Locator::Css(css))
        .await
        .expect("find")
        .is_empty()
}

/// The attribute `name` of the first element matching `css`.
pub async fn attr(client: &Client, css: &str, name: &str) -> Option<String> {
    wait_for(client, css).await.attr(name).await.expect("attr")
}

/// Clears the field matching `css` and types `value` into it.
pub async fn fill(client: &Client, css: &str, value: &str) {
    let field = wait_for(client, css).await;
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// Clicks the first element matching `css`.
pub async fn click(client: &Client, css: &str) {
    wait_for(client, css).await.click().await.expect("click");
}

/// The whole document's visible text.
pub async fn body_text(client: &Client) -> String {
    text(client, "body").await
}

/// The tallest a screenshot is made, CSS pixels.
const TALLEST: u64 = 6000;

/// Writes `target/screenshots/<name>-desktop.png` and `…-phone.png`: the whole page at each
/// width (the window grown to the page's height, up to 6,000 px), leaving the window at the
/// desktop size.
pub async fn screenshot(client: &Client, name: &str) -> Vec<PathBuf> {
    let dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    let mut written = Vec::new();
    for size in Size::ALL {
        set_size(client, size).await;
        let (width, height) = size.viewport();
        let page_height = client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .ok()
            .and_then(|h| h.as_u64())
            .unwrap_or(0)
            .min(TALLEST);
        if page_height > u64::from(height) {
            client
                .set_window_size(width, page_height as u32)
                .await
                .expect("window grown");
        }
        let png = client.screenshot().await.expect("screenshot");
        let path = dir.join(format!("{name}-{}.png", size.name()));
        std::fs::write(&path, png).expect("screenshot written");
        written.push(path);
    }
    set_size(client, Size::Desktop).await;
    written
}

/// What axe-core found on one page.
#[derive(Debug, Clone)]
pub struct AxeFigures {
    pub violations: Vec<Value>,
    pub passes: usize,
    pub incomplete: usize,
}

/// The WCAG 2.2 AA rule set this project holds its pages to.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
const runs = window.__axeRun || (run => run());
runs(() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}}))
  .then(r => done({
    passes: r.passes.length,
    incomplete: r.incomplete.length,
    violations: r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary})),
    })),
  }))
  .catch(e => done({error: String(e)}));
"#;

/// With the page's JavaScript off, WebDriver's scripts still run and promises still settle, but
/// no timer, animation frame or message fires, and axe-core waits on those: here they are queued
/// and run by hand, between promise turns, until axe's answer is in.
const TIMERS_BY_HAND: &str = r#"
const queue = [];
const cancelled = new Set();
let next = 1;
const later = (fn, args) => { const id = next++; queue.push([id, () => fn(...args)]); return id; };
window.setTimeout = (fn, ms, ...args) => later(fn, args);
window.clearTimeout = id => cancelled.add(id);
window.requestAnimationFrame = fn => later(fn, [performance.now()]);
window.cancelAnimationFrame = id => cancelled.add(id);
window.__axeRun = run => new Promise((resolve, reject) => {
  let answer = null;
  run().then(r => { answer = {r}; }, e => { answer = {e}; });
  let turns = 0;
  const pump = () => {
    if (answer) return answer.e ? reject(answer.e) : resolve(answer.r);
    if (++turns > 1000000) return reject(new Error('axe did not finish'));
    const job = queue.shift();
    if (job && !cancelled.has(job[0])) job[1]();
    Promise.resolve().then(pump);
  };
  pump();
});
"#;

/// Runs axe-core on the page as it is now and returns what it found, without judging it.
/// `page_scripts_off`: the session has JavaScript off (see [`TIMERS_BY_HAND`]).
pub async fn axe_figures(client: &Client, axe_source: &str, page_scripts_off: bool) -> AxeFigures {
    // Injected by WebDriver, which the page's Content-Security-Policy does not govern.
    let timers = if page_scripts_off { TIMERS_BY_HAND } else { "" };
    client
        .execute(&format!("{axe_source}\n;{timers}\nreturn true;"), vec![])
        .await
        .expect("axe-core injected");
    let found = client
        .execute_async(AXE_RUN, vec![])
        .await
        .expect("axe.run answered");
    assert!(
        found["error"].is_null(),
        "axe.run failed: {}",
        found["error"]
    );
    AxeFigures {
        violations: found["violations"].as_array().cloned().unwrap_or_default(),
        passes: found["passes"].as_u64().unwrap_or(0) as usize,
        incomplete: found["incomplete"].as_u64().unwrap_or(0) as usize,
    }
}

fn describe(violations: &[Value]) -> String {
    let mut out = String::new();
    for v in violations {
        out.push_str(&format!(
            "  - {} ({}): {} <{}>\n",
            v["id"].as_str().unwrap_or("?"),
            v["impact"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or("?"),
            v["helpUrl"].as_str().unwrap_or(""),
        ));
        for node in v["nodes"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "      {}  {}\n        {}\n",
                node["target"],
                node["html"].as_str().unwrap_or(""),
                node["summary"]
                    .as_str()
                    .unwrap_or("")
                    .replace('\n', "\n        "),
            ));
        }
    }
    out
}

/// axe-core at the desktop and the phone size: asserts no WCAG 2.2 AA violation at either and
/// prints the figures (`AXE <step> <size>: 0 violations, N passes, M needing review`).
pub async fn axe(
    client: &Client,
    axe_source: &str,
    page_scripts_off: bool,
    step: &str,
) -> Vec<AxeFigures> {
    let mut all = Vec::new();
    let mut failures = String::new();
    for size in Size::ALL {
        set_size(client, size).await;
        let figures = axe_figures(client, axe_source, page_scripts_off).await;
        println!(
            "AXE {step} {}: {} violations, {} passes, {} needing review",
            size.name(),
            figures.violations.len(),
            figures.passes,
            figures.incomplete
        );
        if !figures.violations.is_empty() {
            failures.push_str(&format!(
                "{step} at the {} size:\n{}",
                size.name(),
                describe(&figures.violations)
            ));
        }
        all.push(figures);
    }
    set_size(client, Size::Desktop).await;
    assert!(
        failures.is_empty(),
        "axe-core violations (WCAG 2.2 AA):\n{failures}"
    );
    all
}

/// axe-core for a page that is not ours (Swagger UI): prints the violations, fails on none.
pub async fn axe_report(client: &Client, axe_source: &str, step: &str) -> AxeFigures {
    let figures = axe_figures(client, axe_source, false).await;
    println!(
        "AXE (report only) {step} desktop: {} violations, {} passes, {} needing review\n{}",
        figures.violations.len(),
        figures.passes,
        figures.incomplete,
        describe(&figures.violations)
    );
    figures
}

/// What a step's page weighs: the HTML and every subresource it loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weight {
    /// Requests: the document and its subresources.
    pub requests: usize,
    /// Bytes of the HTML as sent (compressed if it was), without headers.
    pub html: u64,
    /// Bytes of the subresources as sent, whether or not they came from the cache this time.
    pub subresources: u64,
    /// Bytes that crossed the network for this step, headers included (cached ones count 0).
    pub transferred: u64,
}

const RESOURCES: &str = r#"
const nav = performance.getEntriesByType('navigation')[0];
const pick = e => ({url: e.name, transfer: e.transferSize || 0, encoded: e.encodedBodySize || 0, decoded: e.decodedBodySize || 0});
return {
  document: nav ? pick(nav) : {url: location.href, transfer: 0, encoded: 0, decoded: 0},
  resources: performance.getEntriesByType('resource').map(pick),
};
"#;

/// Weighs the page as it is now (needs WebDriver's scripts; the page's own may be off), prints
/// `WEIGHT <step>: …`, and asserts that every request went to `origin` (the test server): no
/// external request at all.
pub async fn weigh(client: &Client, origin: &str, step: &str) -> Weight {
    let found = client
        .execute(RESOURCES, vec![])
        .await
        .expect("performance entries");
    let resources = found["resources"].as_array().cloned().unwrap_or_default();
    let foreign: Vec<&str> = std::iter::once(&found["document"])
        .chain(resources.iter())
        .filter_map(|r| r["url"].as_str())
        .filter(|url| !(url.starts_with(&format!("{origin}/")) || *url == origin))
        .collect();
    assert!(
        foreign.is_empty(),
        "{step}: requests off the test server's origin {origin}: {foreign:?}"
    );
    let sum = |key: &str| -> u64 { resources.iter().map(|r| r[key].as_u64().unwrap_or(0)).sum() };
    let weight = Weight {
        requests: 1 + resources.len(),
        html: found["document"]["encoded"].as_u64().unwrap_or(0),
        subresources: sum("encoded"),
        transferred: found["document"]["transfer"].as_u64().unwrap_or(0) + sum("transfer"),
    };
    let names: Vec<String> = resources
        .iter()
        .map(|r| {
            let url = r["url"].as_str().unwrap_or("");
            format!(
                "{} {} B",
                url.strip_prefix(origin).unwrap_or(url),
                r["encoded"]
            )
        })
        .collect();
    println!(
        "WEIGHT {step}: {} B total = HTML {} B + {} subresource(s) {} B; {} B over the network{}{}",
        weight.html + weight.subresources,
        weight.html,
        resources.len(),
        weight.subresources,
        weight.transferred,
        if names.is_empty() { "" } else { "; " },
        names.join(", ")
    );
    weight
}

/// Marks the current document, so that [`wait_for_new_page`] can tell when another replaced it.
pub async fn mark_page(client: &Client) {
    client
        .execute("window.__popiaOldPage = true; return true;", vec![])
        .await
        .expect("page marked");
}

/// Waits until a document other than the one [`mark_page`] marked has loaded.
pub async fn wait_for_new_page(client: &Client) {
    until("a new page", || async {
        let state = client
            .execute(
                "return window.__popiaOldPage === true ? 'old' : document.readyState;",
                vec![],
            )
            .await
            .ok()?;
        (state == "complete").then_some(())
    })
    .await;
}

/// Submits the form `form_css` through its submit button and waits for the answer's page.
pub async fn submit(client: &Client, form_css: &str) {
    let button = wait_for(client, &format!("{form_css} [type=submit]")).await;
    mark_page(client).await;
    button.click().await.expect("submit clicked");
    wait_for_new_page(client).await;
}

/// Follows the link (or presses the button) `css` and waits for the next page.
pub async fn follow(client: &Client, css: &str) {
    let element = wait_for(client, css).await;
    mark_page(client).await;
    element.click().await.expect("clicked");
    wait_for_new_page(client).await;
}

/// The parsed JSON of a value, for messages.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| json!(null).to_string())
}
