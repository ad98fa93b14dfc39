//! Per-dealer branding for the hosted /pi page: a display name, a button colour (refused when
//! white text on it is hard to read) and a logo the gateway fetches once, over real HTTP from a
//! loopback server here, and keeps. A logo that cannot be used fails the whole request.

use popia_api::domain::DealerId;
use popia_api::service::dealers::{self as service, PageBranding};
use reqwest::StatusCode;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const ABC: &str = "/v1/dealers/abc-motors";

/// A 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0dIDAT\x78\x9c\x63\x90\xf5\xbb\xf1\x1f\x00\x04\x12\x02\x43\xe9\x1f\x09\xb8\x00\x00\x00\x00IEND\xae\x42\x60\x82";
/// The first bytes of a GIF, enough for the check.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00;";

/// A loopback web server with the logos (and the wrong answers) the tests ask for.
async fn logo_server() -> MockServer {
    let server = MockServer::start().await;
    let serve = |at: &str, template: ResponseTemplate| {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(template)
    };
    serve(
        "/logo.png",
        ResponseTemplate::new(200).set_body_raw(PNG, "image/png"),
    )
    .mount(&server)
    .await;
    serve(
        "/logo.gif",
        ResponseTemplate::new(200).set_body_raw(GIF, "image/gif"),
    )
    .mount(&server)
    .await;
    serve(
        "/page.html",
        ResponseTemplate::new(200).set_body_raw("<html><body>hi</body></html>", "text/html"),
    )
    .mount(&server)
    .await;
    let mut big = PNG.to_vec();
    big.resize(700 * 1024, 0);
    serve(
        "/big.png",
        ResponseTemplate::new(200).set_body_raw(big, "image/png"),
    )
    .mount(&server)
    .await;
    serve(
        "/moved.png",
        ResponseTemplate::new(302).insert_header("location", "/logo.png"),
    )
    .mount(&server)
    .await;
    serve(
        "/logo.svg",
        ResponseTemplate::new(200).set_body_raw(
            "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
            "image/svg+xml",
        ),
    )
    .mount(&server)
    .await;
    serve(
        "/fake.png",
        ResponseTemplate::new(200).set_body_raw("<html>not a png</html>", "image/png"),
    )
    .mount(&server)
    .await;
    // Anything else: 404 (wiremock's answer to a request no mock matches).
    server
}

fn abc() -> DealerId {
    DealerId::parse("abc-motors").unwrap()
}

/// The stored logo, read behind the API.
fn stored_logo(app: &TestApp) -> Option<(String, Vec<u8>)> {
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    service::logo(&mut conn, &abc()).unwrap()
}

fn page_branding(app: &TestApp) -> PageBranding {
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    service::page_branding(&mut conn, &abc()).unwrap()
}

/// The one refused field's message, after checking it is `field`.
fn refusal(reply: &Reply, field: &str) -> String {
    reply.assert_field_refused(field);
    let errors = reply.body["errors"].as_array().unwrap();
    errors
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["message"].as_str())
        .unwrap()
        .to_owned()
}

fn create_body(branding: Value) -> Value {
    json!({
        "id": "abc-motors", "name": "ABC Motors (Pty) Ltd", "website": "https://www.abcmotors.co.za:8443/home",
        "key_contacts": [{"name": "Thandi Nkosi", "email": "thandi@abcmotors.co.za"}],
        "branding": branding,
    })
}

/// All three set on creation, answered and read back; the logo's bytes stored as served.
#[tokio::test]
async fn branding_is_set_on_creation_read_back_and_the_logo_stored() {
    let app = spawn_app().await;
    let logos = logo_server().await;
    let logo_url = format!("{}/logo.png", logos.uri());

    let created = app
        .post(
            "/v1/dealers",
            &admin(),
            create_body(json!({
                "display_name": "  ABC Motors Sandton ",
                "logo_url": logo_url,
                "primary_colour": "#1D4ED8",
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let expected = json!({
        "display_name": "ABC Motors Sandton",
        "logo_url": logo_url,
        "primary_colour": "#1d4ed8",
    });
    assert_eq!(created.body["branding"], expected);

    let read = app.get(ABC, &dealer("abc-motors")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["branding"], expected);

    assert_eq!(
        stored_logo(&app),
        Some(("image/png".to_owned(), PNG.to_vec()))
    );
    assert_eq!(
        page_branding(&app),
        PageBranding {
            name: "ABC Motors Sandton".into(),
            primary_colour: Some("#1d4ed8".into()),
            has_logo: true,
            website_origin: Some("https://www.abcmotors.co.za:8443".into()),
        }
    );
    assert_eq!(logos.received_requests().await.unwrap().len(), 1);

    // A dealer without branding answers it too, every field null.
    let plain = app.create_dealer("xyz-cars").await;
    assert_eq!(
        plain["branding"],
        json!({"display_name": null, "logo_url": null, "primary_colour": null})
    );
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let xyz = DealerId::parse("xyz-cars").unwrap();
    let page = service::page_branding(&mut conn, &xyz).unwrap();
    assert_eq!(page.name, "xyz-cars name");
    assert_eq!(page.primary_colour, None);
    assert!(!page.has_logo);
    assert_eq!(
        page.website_origin.as_deref(),
        Some("https://xyz-cars.co.za")
    );
    assert_eq!(service::logo(&mut conn, &xyz).unwrap(), None);
    let nobody = DealerId::parse("nobody-here").unwrap();
    assert!(matches!(
        service::page_branding(&mut conn, &nobody),
        Err(popia_api::error::ApiError::NotFound(_))
    ));
}

/// A PATCH changes the branding fields it gives and no others; `null` clears one; a new logo
/// replaces the stored one.
#[tokio::test]
async fn a_patch_changes_only_the_branding_fields_given_and_null_clears_one() {
    let app = spawn_app().await;
    let logos = logo_server().await;
    app.create_dealer("abc-motors").await;

    let set = app
        .patch(
            ABC,
            &admin(),
            json!({"branding": {"display_name": "ABC Sandton", "primary_colour": "#0F766E", "logo_url": format!("{}/logo.png", logos.uri())}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["branding"]["primary_colour"], "#0f766e");

    let colour_only = app
        .patch(
            ABC,
            &admin(),
            json!({"name": "ABC Motors", "branding": {"primary_colour": null}}),
        )
        .await;
    assert_eq!(colour_only.status, StatusCode::OK, "{}", colour_only.body);
    assert_eq!(colour_only.body["name"], "ABC Motors");
    assert_eq!(
        colour_only.body["branding"],
        json!({"display_name": "ABC Sandton", "logo_url": format!("{}/logo.png", logos.uri()), "primary_colour": null})
    );

    let gif_url = format!("{}/logo.gif", logos.uri());
    let new_logo = app
        .patch(ABC, &admin(), json!({"branding": {"logo_url": gif_url}}))
        .await;
    assert_eq!(new_logo.status, StatusCode::OK, "{}", new_logo.body);
    assert_eq!(new_logo.body["branding"]["logo_url"], gif_url);
    assert_eq!(new_logo.body["branding"]["display_name"], "ABC Sandton");
    assert_eq!(
        stored_logo(&app),
        Some(("image/gif".to_owned(), GIF.to_vec()))
    );

    let no_name = app
        .patch(ABC, &admin(), json!({"branding": {"display_name": null}}))
        .await;
    assert_eq!(no_name.status, StatusCode::OK, "{}", no_name.body);
    assert_eq!(no_name.body["branding"]["display_name"], Value::Null);
    assert_eq!(page_branding(&app).name, "ABC Motors");

    // An empty branding, or none, changes nothing.
    let unchanged = app.patch(ABC, &admin(), json!({"branding": {}})).await;
    assert_eq!(unchanged.body["branding"], no_name.body["branding"]);
}

/// Clearing `logo_url` removes the stored logo.
#[tokio::test]
async fn clearing_the_logo_url_removes_the_stored_logo() {
    let app = spawn_app().await;
    let logos = logo_server().await;
    app.create_dealer("abc-motors").await;
    app.patch(
        ABC,
        &admin(),
        json!({"branding": {"logo_url": format!("{}/logo.png", logos.uri()), "display_name": "ABC"}}),
    )
    .await;
    assert!(stored_logo(&app).is_some());
    assert!(page_branding(&app).has_logo);

    let cleared = app
        .patch(ABC, &admin(), json!({"branding": {"logo_url": null}}))
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.body["branding"]["logo_url"], Value::Null);
    assert_eq!(cleared.body["branding"]["display_name"], "ABC");
    assert_eq!(stored_logo(&app), None);
    assert!(!page_branding(&app).has_logo);
}

/// A logo that cannot be fetched or is not an image we take fails the PATCH with a reason
/// naming `branding.logo_url`, and nothing of the PATCH is saved (not the display name beside
/// it): the previous logo and branding stay.
#[tokio::test]
async fn a_logo_that_cannot_be_used_is_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let logos = logo_server().await;
    app.create_dealer("abc-motors").await;
    let good = format!("{}/logo.png", logos.uri());
    let before = app
        .patch(
            ABC,
            &admin(),
            json!({"branding": {"logo_url": good, "display_name": "Before"}}),
        )
        .await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);

    let cases = [
        ("/missing.png", "the logo could not be fetched: HTTP 404"),
        (
            "/page.html",
            "the logo is text/html; give a PNG, JPEG, WebP or GIF",
        ),
        ("/big.png", "the logo is 700 KiB; the limit is 512 KiB"),
        ("/moved.png", "the logo could not be fetched: HTTP 302"),
        (
            "/logo.svg",
            "the logo is image/svg+xml; give a PNG, JPEG, WebP or GIF",
        ),
        ("/fake.png", "is not a PNG image"),
    ];
    for (at, reason) in cases {
        let refused = app
            .patch(
                ABC,
                &admin(),
                json!({"name": "Changed", "branding": {"display_name": "After", "logo_url": format!("{}{at}", logos.uri())}}),
            )
            .await;
        let message = refusal(&refused, "branding.logo_url");
        assert!(message.contains(reason), "{at}: {message}");

        let read = app.get(ABC, &admin()).await;
        assert_eq!(read.body["name"], "abc-motors name", "{at}");
        assert_eq!(read.body["branding"], before.body["branding"], "{at}");
        assert_eq!(read.body["updated_at"], before.body["updated_at"], "{at}");
        assert_eq!(
            stored_logo(&app),
            Some(("image/png".to_owned(), PNG.to_vec())),
            "{at}"
        );
    }
    // The redirect was not followed: /logo.png was asked for once, by the first PATCH.
    let asked: Vec<String> = logos
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        asked.iter().filter(|p| *p == "/logo.png").count(),
        1,
        "{asked:?}"
    );
}

/// A logo sent without a length (chunked) is read in chunks and given up past 512 KiB.
#[tokio::test]
async fn an_endless_logo_is_cut_off_at_the_limit() {
    use std::io::{BufRead, BufReader, Write};
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let mut stream = stream;
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut chunk = PNG.to_vec();
        chunk.resize(16 * 1024, 0);
        let mut sent = 0;
        let mut write = || -> std::io::Result<()> {
            stream.write_all(head.as_bytes())?;
            // 8 MiB, unless the reader hangs up first.
            for _ in 0..512 {
                stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                stream.write_all(&chunk)?;
                stream.write_all(b"\r\n")?;
                sent += chunk.len();
            }
            stream.write_all(b"0\r\n\r\n")
        };
        let _ = write();
        sent
    });

    let refused = app
        .patch(
            ABC,
            &admin(),
            json!({"branding": {"logo_url": format!("http://127.0.0.1:{port}/logo.png")}}),
        )
        .await;
    assert_eq!(
        refusal(&refused, "branding.logo_url"),
        "the logo is over 512 KiB; the limit is 512 KiB"
    );
    let sent = server.join().unwrap();
    assert!(sent < 8 * 1024 * 1024, "the whole body was read: {sent}");
    assert_eq!(stored_logo(&app), None);
}

/// A refused logo on creation creates nothing.
#[tokio::test]
async fn a_refused_logo_on_creation_creates_nothing() {
    let app = spawn_app().await;
    let logos = logo_server().await;
    let refused = app
        .post(
            "/v1/dealers",
            &admin(),
            create_body(
                json!({"display_name": "ABC", "logo_url": format!("{}/missing.png", logos.uri())}),
            ),
        )
        .await;
    refusal(&refused, "branding.logo_url");
    app.get(ABC, &admin())
        .await
        .assert_problem(StatusCode::NOT_FOUND);
}

/// Without `POPIA_WEBHOOK_ALLOW_PRIVATE`, a logo on a private, loopback or link-local address
/// is refused through the webhooks' address guard (an address as written, or the addresses a
/// name resolves to), nothing is asked of it, and plain http is refused.
#[tokio::test]
async fn a_logo_on_a_private_address_is_refused_unless_allowed() {
    let app = spawn_app_with(|c| c.notify.webhook_allow_private = false).await;
    let logos = logo_server().await;
    let port = logos.address().port();
    app.create_dealer("abc-motors").await;

    for url in [
        format!("https://127.0.0.1:{port}/logo.png"),
        format!("https://localhost:{port}/logo.png"),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://[::1]/logo.png".to_owned(),
    ] {
        let refused = app
            .patch(
                ABC,
                &admin(),
                json!({"branding": {"display_name": "After", "logo_url": url}}),
            )
            .await;
        let message = refusal(&refused, "branding.logo_url");
        assert!(
            message.contains("private, loopback or link-local"),
            "{url}: {message}"
        );
    }
    let http = app
        .patch(
            ABC,
            &admin(),
            json!({"branding": {"logo_url": format!("http://127.0.0.1:{port}/logo.png")}}),
        )
        .await;
    assert_eq!(refusal(&http, "branding.logo_url"), "must be an https URL");

    assert!(logos.received_requests().await.unwrap().is_empty());
    let read = app.get(ABC, &admin()).await;
    assert_eq!(read.body["branding"]["display_name"], Value::Null);
    assert_eq!(stored_logo(&app), None);
}

/// A colour white text is hard to read on is refused with its contrast ratio; a dark one is
/// stored lower-case; a malformed one is refused as such.
#[tokio::test]
async fn a_low_contrast_colour_is_refused_with_its_ratio() {
    let app = spawn_app().await;
    let logos = logo_server().await;
    app.create_dealer("abc-motors").await;

    let grey = app
        .patch(
            ABC,
            &admin(),
            json!({"branding": {"primary_colour": "#777777", "display_name": "After", "logo_url": format!("{}/logo.png", logos.uri())}}),
        )
        .await;
    assert_eq!(
        refusal(&grey, "branding.primary_colour"),
        "contrast with white text is 4.48:1; WCAG AA needs 4.5:1"
    );
    // Refused before any fetch, and nothing saved.
    assert!(logos.received_requests().await.unwrap().is_empty());
    let read = app.get(ABC, &admin()).await;
    assert_eq!(
        read.body["branding"],
        json!({"display_name": null, "logo_url": null, "primary_colour": null})
    );

    let white = app
        .post(
            "/v1/dealers",
            &admin(),
            create_body(json!({"primary_colour": "#FFFFFF"})),
        )
        .await;
    assert!(refusal(&white, "branding.primary_colour").contains("is 1:1"));

    for bad in ["1d4ed8", "#1d4ed", "#12345g", "blue"] {
        let reply = app
            .patch(ABC, &admin(), json!({"branding": {"primary_colour": bad}}))
            .await;
        assert!(
            refusal(&reply, "branding.primary_colour").contains("#rrggbb"),
            "{bad}"
        );
    }
    for (bad, field) in [
        (json!({"display_name": " "}), "branding.display_name"),
        (
            json!({"display_name": "x".repeat(101)}),
            "branding.display_name",
        ),
        (json!({"display_name": "ABC\u{7}"}), "branding.display_name"),
        (
            json!({"logo_url": "ftp://abc.co.za/logo.png"}),
            "branding.logo_url",
        ),
        (json!({"colour": "#1d4ed8"}), "branding.colour"),
    ] {
        app.patch(ABC, &admin(), json!({ "branding": bad }))
            .await
            .assert_field_refused(field);
    }

    let dark = app
        .patch(
            ABC,
            &admin(),
            json!({"branding": {"primary_colour": "#1D4ED8"}}),
        )
        .await;
    assert_eq!(dark.status, StatusCode::OK, "{}", dark.body);
    assert_eq!(dark.body["branding"]["primary_colour"], "#1d4ed8");
}

/// Branding changes go through the dealers' access rules: a dealer's token, its own or
/// another's, cannot change branding (403: dealers are an admin's to change), another dealer's
/// token cannot read it (404, as for a dealer that does not exist), and an admin's change of a
/// dealer that does not exist is 404 without fetching anything.
#[tokio::test]
async fn branding_changes_follow_the_dealer_scoping() {
    let app = spawn_app().await;
    let logos = logo_server().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-cars").await;
    let body = json!({"branding": {"display_name": "Mine now", "logo_url": format!("{}/logo.png", logos.uri())}});

    app.patch(ABC, &dealer("xyz-cars"), body.clone())
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    app.patch(ABC, &dealer("abc-motors"), body.clone())
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    app.get(ABC, &dealer("xyz-cars"))
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    app.patch("/v1/dealers/nobody-here", &admin(), body.clone())
        .await
        .assert_problem(StatusCode::NOT_FOUND);

    assert!(logos.received_requests().await.unwrap().is_empty());
    let read = app.get(ABC, &dealer("abc-motors")).await;
    assert_eq!(read.body["branding"]["display_name"], Value::Null);
    assert_eq!(stored_logo(&app), None);
}
