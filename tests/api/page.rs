//! The hosted /pi page over plain HTTP: its security (CSRF token, Origin, cookies, headers),
//! its languages, and the flow a browser without JavaScript follows. The same flow in a real
//! browser, with axe-core, is in tests/browser.

use std::collections::HashMap;

use reqwest::header::{HeaderMap, ACCEPT_LANGUAGE, CONTENT_SECURITY_POLICY, LOCATION, ORIGIN};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A browser without JavaScript: it keeps cookies, follows nothing by itself, and sends the
/// `Origin` a browser sends on a form post.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: HashMap<String, String>,
    /// Every `Set-Cookie` seen, by cookie name: the attributes are asserted.
    set_cookies: HashMap<String, String>,
    origin: String,
    language: Option<&'static str>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    bytes: Vec<u8>,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of the hidden `csrf` field of the page's forms.
    fn csrf(&self) -> String {
        let start = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + "name=\"csrf\" value=\"".len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }

    /// The value of the hidden field `name`, HTML entities of quotes undone.
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).expect("the hidden field") + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].replace("&#34;", "\"")
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            set_cookies: HashMap::new(),
            origin: app.address.clone(),
            language: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let mut request = request.header("Cookie", self.cookie_header());
        if let Some(language) = self.language {
            request = request.header(ACCEPT_LANGUAGE, language);
        }
        let response = request.send().await.expect("request sent");
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap().to_owned();
            let (pair, _) = value.split_once(';').unwrap_or((&value, ""));
            let (name, cookie) = pair.split_once('=').unwrap();
            if value.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), cookie.to_owned());
            }
            self.set_cookies.insert(name.to_owned(), value);
        }
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.bytes().await.unwrap().to_vec();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let url = format!("{}{path}", self.app.address);
        let request = self.client.get(url);
        self.send(request).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.app.address);
        let request = self
            .client
            .post(url)
            .header(ORIGIN, self.origin.clone())
            .form(fields);
        self.send(request).await
    }

    /// Proves `identifier` (an email, or a mobile with `by_mobile`) and lands on the records.
    async fn sign_in(&mut self, dealer: &str, field: &str, value: &str, recipient: &str) -> Page {
        let start = self.get(&format!("/pi/{dealer}")).await;
        let csrf = start.csrf();
        let sent = self
            .post(
                &format!("/pi/{dealer}/code"),
                &[("csrf", &csrf), (field, value)],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        assert_eq!(sent.location(), format!("/pi/{dealer}/code"));
        let code = latest_code(self.app, recipient).await;
        let confirmed = self
            .post(
                &format!("/pi/{dealer}/code/confirm"),
                &[("csrf", &csrf), ("code", &code)],
            )
            .await;
        assert_eq!(
            confirmed.status,
            StatusCode::SEE_OTHER,
            "{}",
            confirmed.body
        );
        assert_eq!(confirmed.location(), format!("/pi/{dealer}/records"));
        self.get(&format!("/pi/{dealer}/records")).await
    }
}

async fn app_with_fred() -> (TestApp, i64) {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (id, _) = fred_with_leads(&app).await;
    (app, id)
}

/// The page is HTML under a CSP that allows only this origin and no script, may be framed
/// only by the dealer's website, is never cached, and sets a CSRF cookie that scripts cannot
/// read and other sites cannot send.
#[tokio::test]
async fn the_page_is_html_under_a_strict_policy_with_a_csrf_cookie() {
    let (app, _) = app_with_fred().await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/pi/abc-motors").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = page.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'none'",
        "form-action 'self'",
        "frame-ancestors 'self' https://abc-motors.co.za",
    ] {
        assert!(csp.contains(part), "{csp} lacks {part}");
    }
    assert_eq!(page.headers["cache-control"], "no-store");
    // `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null` on a
    // form post, which the Origin check must refuse.
    assert_eq!(page.headers["referrer-policy"], "same-origin");
    let csrf = &browser.set_cookies["pi_csrf"];
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict") && csrf.contains("Path=/pi"),
        "{csrf}"
    );
    assert!(!csrf.contains("Secure"), "no https public URL: {csrf}");
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("autocomplete=\"email\""));
    // Nothing on the page comes from another host.
    for attribute in ["src=\"http", "href=\"http"] {
        assert!(!page.body.contains(attribute), "{}", page.body);
    }
}

/// Without its CSRF token, with a wrong one, or with the token but not the cookie, a form is
/// refused with 403 and nothing is done: no code is sent.
#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_does_nothing() {
    let (app, _) = app_with_fred().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/pi/abc-motors").await.csrf();
    let email = ("email", "fred@sea.com");
    let forged = format!("{}x", &csrf[..csrf.len() - 1]);
    for fields in [vec![email], vec![("csrf", forged.as_str()), email]] {
        let refused = browser.post("/pi/abc-motors/code", &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(
            refused.body.contains("id=\"forbidden-text\""),
            "{}",
            refused.body
        );
    }
    // The right token, but a browser that does not hold its cookie (another site's form).
    let mut stranger = Browser::new(&app);
    let refused = stranger
        .post("/pi/abc-motors/code", &[("csrf", &csrf), email])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.deliver_pending().await, 0, "no code may be sent");
    assert_eq!(codes_received(&app, "fred@sea.com"), 0);
}

/// A form posted from another origin is refused even with the token, as is an opaque `null`
/// origin; the page's own origin is accepted.
#[tokio::test]
async fn a_form_from_another_origin_is_refused() {
    let (app, _) = app_with_fred().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/pi/abc-motors").await.csrf();
    let fields = [("csrf", csrf.as_str()), ("email", "fred@sea.com")];
    for origin in ["https://evil.example", "null", "https://abc-motors.co.za"] {
        browser.origin = origin.to_owned();
        let refused = browser.post("/pi/abc-motors/code", &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{origin}");
    }
    assert_eq!(codes_received(&app, "fred@sea.com"), 0);
    browser.origin = app.address.clone();
    let accepted = browser.post("/pi/abc-motors/code", &fields).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
}

/// With an https public URL the cookies are `Secure`, and forms may come from that origin as
/// well as from the address the request was sent to (the page served under a dealer's own
/// domain); any other origin is still refused.
#[tokio::test]
async fn an_https_public_url_makes_cookies_secure_and_is_an_accepted_origin() {
    let app =
        spawn_app_with(|c| c.public_url = Some("https://privacy.abc.test".parse().unwrap())).await;
    app.create_dealer("abc-motors").await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/pi/abc-motors").await.csrf();
    assert!(browser.set_cookies["pi_csrf"].contains("Secure"));
    let fields = [("csrf", csrf.as_str()), ("email", "fred@sea.com")];
    browser.origin = "https://privacy.abc.test.evil.example".into();
    let refused = browser.post("/pi/abc-motors/code", &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    for origin in ["https://privacy.abc.test".to_owned(), app.address.clone()] {
        browser.origin = origin.clone();
        let accepted = browser.post("/pi/abc-motors/code", &fields).await;
        assert_eq!(
            accepted.status,
            StatusCode::SEE_OTHER,
            "{origin}: {}",
            accepted.body
        );
    }
    assert!(browser.set_cookies["pi_pending"].contains("Secure"));
}

/// The whole flow without JavaScript: sign in, see the record and its leads (salesperson by
/// first name), correct a name, withdraw; the API then shows the record de-identified, and the
/// spent session cannot be used again.
#[tokio::test]
async fn the_flow_signs_in_corrects_and_withdraws_with_plain_forms() {
    let (app, id) = app_with_fred().await;
    let mut browser = Browser::new(&app);
    let records = browser
        .sign_in("abc-motors", "email", " Fred@Sea.com ", "fred@sea.com")
        .await;
    assert_eq!(records.status, StatusCode::OK);
    let session = browser.set_cookies["pi_session"].clone();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/pi/abc-motors",
        "Max-Age=",
    ] {
        assert!(session.contains(attribute), "{session}");
    }
    let max_age: i64 = session.split("Max-Age=").nth(1).unwrap()[..3]
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap();
    assert!((850..=900).contains(&max_age), "{session}");
    assert!(!session.contains("fred"), "the cookie is sealed: {session}");
    assert!(records.body.contains(&format!("data-customer-id=\"{id}\"")));
    assert!(records.body.contains("Basset") && records.body.contains("Ashveer"));
    assert!(
        !records.body.contains("ashveer@"),
        "salespeople by first name only"
    );

    let edit = browser
        .get(&format!("/pi/abc-motors/records/{id}/edit"))
        .await;
    let (csrf, etag) = (edit.csrf(), edit.hidden("etag"));
    let saved = browser
        .post(
            &format!("/pi/abc-motors/records/{id}"),
            &[
                ("csrf", &csrf),
                ("etag", &etag),
                ("first_name", "Frederick"),
                ("last_name", "Basset"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), "/pi/abc-motors/records?done=saved");
    let customer = app
        .get(
            &format!("/v1/dealers/abc-motors/customers/{id}"),
            &dealer("abc-motors"),
        )
        .await;
    assert_eq!(customer.body["first_name"], "Frederick");
    assert_eq!(
        customer.body["consent_market"], false,
        "the box was not ticked"
    );

    let confirm = browser.get("/pi/abc-motors/withdraw").await;
    assert!(confirm.body.contains("id=\"confirm-withdraw\""));
    let withdrawn = browser
        .post("/pi/abc-motors/withdraw", &[("csrf", &confirm.csrf())])
        .await;
    assert_eq!(withdrawn.location(), "/pi/abc-motors/done?what=withdrawn");
    assert!(browser.set_cookies["pi_session"].contains("Max-Age=0"));
    let customer = app
        .get(
            &format!("/v1/dealers/abc-motors/customers/{id}"),
            &dealer("abc-motors"),
        )
        .await;
    assert_eq!(
        customer.body["email"],
        serde_json::Value::Null,
        "{}",
        customer.body
    );
    assert_eq!(customer.body["first_name"], serde_json::Value::Null);
    assert_eq!(customer.body["consent_process"], false);

    // The spent session, replayed: sent back to the start, never shown anything.
    let replay_value = session
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1;
    browser
        .cookies
        .insert("pi_session".into(), replay_value.to_owned());
    let replay = browser.get("/pi/abc-motors/records").await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER);
    assert_eq!(replay.location(), "/pi/abc-motors?ended=1");
}

/// A wrong code is tied to its field and says how many tries are left; a record changed by
/// staff while the person edits it is shown again as it is now (412), not overwritten.
#[tokio::test]
async fn a_wrong_code_and_a_stale_edit_are_explained_on_the_page() {
    let (app, id) = app_with_fred().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/pi/abc-motors").await.csrf();
    browser
        .post(
            "/pi/abc-motors/code",
            &[("csrf", &csrf), ("email", "fred@sea.com")],
        )
        .await;
    let right = latest_code(&app, "fred@sea.com").await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = browser
        .post(
            "/pi/abc-motors/code/confirm",
            &[("csrf", &csrf), ("code", wrong)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .body
        .contains("aria-describedby=\"code-hint code-error\""));
    assert!(refused.body.contains("aria-invalid=\"true\""));
    assert!(
        refused.body.contains("You have 4 more tries."),
        "{}",
        refused.body
    );
    let spaced = format!("{} {}", &right[..3], &right[3..]);
    let accepted = browser
        .post(
            "/pi/abc-motors/code/confirm",
            &[("csrf", &csrf), ("code", &spaced)],
        )
        .await;
    assert_eq!(
        accepted.status,
        StatusCode::SEE_OTHER,
        "a pasted code with a space"
    );

    let edit = browser
        .get(&format!("/pi/abc-motors/records/{id}/edit"))
        .await;
    let staff = app
        .patch(
            &format!("/v1/dealers/abc-motors/customers/{id}"),
            &dealer("abc-motors"),
            json!({"last_name": "Hound"}),
        )
        .await;
    assert_eq!(staff.status, StatusCode::OK);
    let stale = browser
        .post(
            &format!("/pi/abc-motors/records/{id}"),
            &[
                ("csrf", &edit.csrf()),
                ("etag", &edit.hidden("etag")),
                ("first_name", "Fred"),
                ("last_name", "Basset"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert!(stale.body.contains("id=\"form-error\""));
    assert!(stale.body.contains("value=\"Hound\""), "shown as it is now");
}

/// Too many codes: the page answers 429 with `Retry-After` and says how long to wait.
#[tokio::test]
async fn too_many_codes_show_the_wait() {
    let (app, _) = app_with_fred().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/pi/abc-motors").await.csrf();
    let mut last = None;
    for _ in 0..20 {
        let page = browser
            .post(
                "/pi/abc-motors/code",
                &[("csrf", &csrf), ("email", "fred@sea.com")],
            )
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            last = Some(page);
            break;
        }
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }
    let page = last.expect("the send limit answers 429 within 20 sends");
    let wait: u64 = page.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0);
    assert!(page.body.contains("id=\"form-error\""), "{}", page.body);
    let minutes = wait.div_ceil(60);
    let expected = if minutes > 120 {
        format!("Try again in {} hours.", minutes.div_ceil(60))
    } else if minutes == 1 {
        "Try again in 1 minute.".to_owned()
    } else {
        format!("Try again in {minutes} minutes.")
    };
    assert!(page.body.contains(&expected), "{expected} in {}", page.body);
}

/// An unknown dealer, or a path that is no step, is an HTML 404 page, not JSON.
#[tokio::test]
async fn an_unknown_dealer_gets_an_html_page() {
    let (app, _) = app_with_fred().await;
    let mut browser = Browser::new(&app);
    for path in [
        "/pi/no-such-dealer",
        "/pi/abc-motors/nonsense",
        "/pi/Bad%20Id",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(
            page.body.contains("<h1>Page not found</h1>"),
            "{path}: {}",
            page.body
        );
    }
}

/// `Accept-Language: af` gives Afrikaans; the switch gives English back and is remembered.
#[tokio::test]
async fn afrikaans_by_accept_language_and_english_by_the_switch() {
    let (app, _) = app_with_fred().await;
    let mut browser = Browser::new(&app);
    browser.language = Some("af-ZA,af;q=0.9,en;q=0.5");
    let page = browser.get("/pi/abc-motors").await;
    assert!(page.body.contains("<html lang=\"af\">"));
    assert!(
        page.body.contains("Stuur vir my 'n kode")
            || page.body.contains("Stuur vir my &#39;n kode")
    );
    assert!(page.body.contains("hreflang=\"en\""));
    let english = browser.get("/pi/abc-motors?lang=en").await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(browser.set_cookies["pi_lang"].contains("en"));
    let again = browser.get("/pi/abc-motors").await;
    assert!(
        again.body.contains("Send me a code"),
        "the choice is remembered"
    );
}

/// A session of one dealer's page does not open another dealer's page.
#[tokio::test]
async fn one_dealers_session_does_not_open_another_dealers_page() {
    let (app, _) = app_with_fred().await;
    app.create_dealer("xyz-motors").await;
    app.create_customer("xyz-motors", fred()).await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("abc-motors", "email", "fred@sea.com", "fred@sea.com")
        .await;
    let page = browser.get("/pi/xyz-motors/records").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/pi/xyz-motors?ended=1");
}

/// With `POPIA_PUBLIC_URL` set, the NOT FOUND email links the dealer's page.
#[tokio::test]
async fn the_not_found_email_links_the_page() {
    let app =
        spawn_app_with(|c| c.public_url = Some("https://privacy.abc.test/".parse().unwrap())).await;
    app.create_dealer("abc-motors").await;
    let token = verify(
        &app,
        "abc-motors",
        json!({"email": "nobody@sea.com"}),
        "nobody@sea.com",
    )
    .await;
    let lookup = app.get("/v1/dealers/abc-motors/pi/records", &token).await;
    assert_eq!(lookup.body["found"], false);
    app.deliver_pending().await;
    let bytes = std::fs::read(delivered_file(&app, "lookup_not_found.eml").await).unwrap();
    let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    let text = message.body_text(0).unwrap();
    assert!(
        text.contains("https://privacy.abc.test/pi/abc-motors"),
        "{text}"
    );
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains("href=\"https://privacy.abc.test/pi/abc-motors\""),
        "{html}"
    );
}

/// A dealer's branding reaches the page from this origin only: its name, its logo (served by
/// the gateway with the bytes fetched when it was set) and its colour (a stylesheet).
#[tokio::test]
async fn the_page_shows_the_dealers_branding_from_its_own_origin() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00;";
    let logos = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/logo.gif"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(GIF, "image/gif"))
        .expect(1)
        .mount(&logos)
        .await;
    let (app, _) = app_with_fred().await;
    let set = app
        .patch(
            "/v1/dealers/abc-motors",
            &admin(),
            json!({"branding": {"display_name": "ABC Motors Rosebank",
                                "logo_url": format!("{}/logo.gif", logos.uri()),
                                "primary_colour": "#0B5D1E"}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let mut browser = Browser::new(&app);
    let page = browser.get("/pi/abc-motors").await;
    assert!(
        page.body.contains("alt=\"ABC Motors Rosebank\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("src=\"/pi/abc-motors/logo\""));
    assert!(page.body.contains("href=\"/pi/abc-motors/theme.css\""));
    assert!(
        !page.body.contains(&logos.uri()),
        "the logo's own host is never linked"
    );
    let theme = browser.get("/pi/abc-motors/theme.css").await;
    assert!(theme.body.contains("--brand: #0b5d1e"), "{}", theme.body);
    for _ in 0..2 {
        let logo = browser.get("/pi/abc-motors/logo").await;
        assert_eq!(logo.status, StatusCode::OK);
        assert_eq!(logo.headers["content-type"], "image/gif");
        assert_eq!(logo.bytes, GIF);
    }
    // Fetched once, when it was set: the page's views never reach the logo's host.
    logos.verify().await;
}

/// A mobile the service will not text (another country) is refused at its field with a page,
/// never a 500; the language switch on a page shown again after a post leads to a page that
/// answers, not to a path that takes only POST.
#[tokio::test]
async fn a_foreign_mobile_is_refused_at_its_field_and_the_switch_still_works() {
    let (app, _) = app_with_fred().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.get("/pi/abc-motors?by=mobile").await.csrf();
    let refused = browser
        .post(
            "/pi/abc-motors/code",
            &[("csrf", &csrf), ("mobile", "+44 7911 123456")],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("id=\"mobile-error\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"+44 7911 123456\""));
    let start = refused.body.find("hreflang=\"af\"").unwrap();
    let link_start = refused.body[..start].rfind("href=\"").unwrap() + "href=\"".len();
    let link_end = refused.body[link_start..].find('"').unwrap() + link_start;
    let link = refused.body[link_start..link_end].replace("&#38;", "&");
    assert!(link.starts_with("/pi/abc-motors?"), "{link}");
    let switched = browser.get(&link).await;
    assert_eq!(switched.status, StatusCode::OK, "{link}");
    assert!(switched.body.contains("<html lang=\"af\">"));
}

/// A signed-in person cannot open, correct or re-address a record not held under the
/// identifier they proved, even by typing its id.
#[tokio::test]
async fn another_customers_record_is_not_found_on_the_page() {
    let (app, fred_id) = app_with_fred().await;
    let other = app
        .create_customer(
            "abc-motors",
            json!({"first_name": "Daphne", "last_name": "Other", "email": "daphne@sea.com",
                   "consent_process": true, "consent_market": true}),
        )
        .await;
    let other_id = other["id"].as_i64().unwrap();
    let mut browser = Browser::new(&app);
    let records = browser
        .sign_in("abc-motors", "email", "fred@sea.com", "fred@sea.com")
        .await;
    assert!(!records.body.contains("Daphne"));
    let edit = browser
        .get(&format!("/pi/abc-motors/records/{other_id}/edit"))
        .await;
    assert_eq!(edit.status, StatusCode::NOT_FOUND);
    let csrf = records.csrf();
    let save = browser
        .post(
            &format!("/pi/abc-motors/records/{other_id}"),
            &[
                ("csrf", &csrf),
                ("etag", "*"),
                ("first_name", "X"),
                ("last_name", "Y"),
            ],
        )
        .await;
    assert_eq!(save.status, StatusCode::NOT_FOUND);
    let readdress = browser
        .post(
            &format!("/pi/abc-motors/records/{other_id}/identifier"),
            &[("csrf", &csrf), ("email", "evil@sea.com")],
        )
        .await;
    assert_eq!(readdress.status, StatusCode::NOT_FOUND);
    let daphne = app
        .get(
            &format!("/v1/dealers/abc-motors/customers/{other_id}"),
            &dealer("abc-motors"),
        )
        .await;
    assert_eq!(daphne.body["first_name"], "Daphne");
    assert_eq!(daphne.body["email"], "daphne@sea.com");
    assert_eq!(codes_received(&app, "evil@sea.com"), 0);
    // Fred's own record still opens.
    let own = browser
        .get(&format!("/pi/abc-motors/records/{fred_id}/edit"))
        .await;
    assert_eq!(own.status, StatusCode::OK);
}
