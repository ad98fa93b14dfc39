//! One request to the page: the dealer and its branding, the language, the CSRF token and the
//! signed-in subject; and every answer's headers (CSP, no caching, no referrer) and cookies.

use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;

use super::cookies::{self, CookiePolicy};
use super::i18n::{Words, LANGUAGES, LANGUAGE_COOKIE};
use super::views::{Chrome, LanguageLink, MessagePage, RenderPage};
use crate::auth::{KeyedHasher, Keys, Principal};
use crate::db::Pool;
use crate::domain::DealerId;
use crate::error::ApiError;
use crate::http::blocking;
use crate::notify::Branding;
use crate::service;
use crate::service::pi::{Sender, Subject};

/// How the page is served, from the configuration.
#[derive(Clone, Debug, Default)]
pub struct PageSettings {
    pub cookies: CookiePolicy,
    /// The origin every form must come from (`POPIA_PUBLIC_URL`'s); unset, the request's own.
    pub origin: Option<String>,
}

impl PageSettings {
    pub fn new(public_url: Option<&url::Url>) -> PageSettings {
        PageSettings {
            cookies: CookiePolicy {
                secure: public_url.is_some_and(|u| u.scheme() == "https"),
            },
            origin: public_url.map(|u| u.origin().ascii_serialization()),
        }
    }
}

/// A request to one dealer's page, with what its handler needs.
pub struct Visit {
    pub req: HttpRequest,
    pub dealer: DealerId,
    pub chrome: Chrome,
    pub pool: web::Data<Pool>,
    pub hasher: web::Data<KeyedHasher>,
    pub keys: web::Data<Keys>,
    pub sender: web::Data<Sender>,
    pub branding: web::Data<Branding>,
    pub settings: web::Data<PageSettings>,
    /// The dealer's button colour, `#rrggbb`, when it set one.
    pub primary_colour: Option<String>,
    /// The dealer's website origin: the one other site that may frame the page.
    frame_origin: Option<String>,
    set_csrf: bool,
    cookies: Vec<Cookie<'static>>,
}

impl FromRequest for Visit {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Visit, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Visit::start(req)
                .await
                .map_err(|answer| InternalError::from_response("page", answer).into())
        })
    }
}

fn data<T: 'static>(req: &HttpRequest) -> web::Data<T> {
    req.app_data::<web::Data<T>>()
        .cloned()
        .expect("the page's shared state is registered in startup")
}

impl Visit {
    async fn start(req: HttpRequest) -> Result<Visit, HttpResponse> {
        let (pool, hasher, branding) = (
            data::<Pool>(&req),
            data::<KeyedHasher>(&req),
            data::<Branding>(&req),
        );
        let settings = data::<PageSettings>(&req);
        let words = Words::for_request(&req);
        let (csrf, set_csrf) = cookies::csrf_token(&hasher, &req);
        let raw = req
            .match_info()
            .get("dealer")
            .unwrap_or_default()
            .to_owned();
        let mut chrome = Chrome::new(words, &branding.brand, csrf);
        chrome.languages = language_links(&req, chrome.t.code);
        let Ok(dealer) = DealerId::parse(&raw) else {
            return Err(message(
                &chrome,
                StatusCode::NOT_FOUND,
                "not-found-title",
                "not-found-dealer",
            ));
        };
        let looked_up = {
            let dealer = dealer.clone();
            blocking::run(&pool, move |conn| {
                service::dealers::page_branding(conn, &dealer)
            })
            .await
        };
        let brand = match looked_up {
            Ok(brand) => brand,
            Err(ApiError::NotFound(_)) => {
                return Err(message(
                    &chrome,
                    StatusCode::NOT_FOUND,
                    "not-found-title",
                    "not-found-dealer",
                ))
            }
            Err(e) => return Err(failure(&chrome, &e)),
        };
        chrome.dealer = dealer.as_str().to_owned();
        chrome.name = brand.name;
        chrome.has_logo = brand.has_logo;
        chrome.has_theme = brand.primary_colour.is_some();
        chrome.signed_in = req.cookie(cookies::SESSION).is_some();
        Ok(Visit {
            keys: data::<Keys>(&req),
            sender: data::<Sender>(&req),
            req,
            dealer,
            chrome,
            pool,
            hasher,
            branding,
            settings,
            primary_colour: brand.primary_colour,
            frame_origin: brand.website_origin,
            set_csrf,
            cookies: Vec::new(),
        })
    }

    /// A parameter of the page's address (`?by=mobile`).
    pub fn query(&self, name: &str) -> Option<String> {
        query_param(&self.req, name)
    }

    /// `/pi/{dealer}` followed by `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/pi/{}{rest}", self.dealer.as_str())
    }

    /// Cookies of this dealer's page live under its path.
    pub fn cookie_path(&self) -> String {
        self.path("")
    }

    pub fn set_cookie(&mut self, mut cookie: Cookie<'static>) {
        // Served over https without a public URL (behind a proxy that says so): still `Secure`.
        if self.req.connection_info().scheme() == "https" {
            cookie.set_secure(true);
        }
        self.cookies.push(cookie);
    }

    /// A page.
    pub fn page(&mut self, status: StatusCode, html: askama::Result<String>) -> HttpResponse {
        match html {
            Ok(html) => {
                let mut answer = HttpResponse::build(status);
                answer.content_type("text/html; charset=utf-8");
                self.finish(&mut answer);
                answer.body(html)
            }
            Err(e) => {
                let e = ApiError::internal(e);
                self.failure(&e)
            }
        }
    }

    /// After a form: on to the page that shows its result (303, so a reload does not post again).
    pub fn redirect(&mut self, to: &str) -> HttpResponse {
        let mut answer = HttpResponse::SeeOther();
        answer.insert_header((header::LOCATION, to.to_owned()));
        self.finish(&mut answer);
        answer.finish()
    }

    /// A short page with a title and a sentence.
    pub fn message(&mut self, status: StatusCode, title: &str, text: &'static str) -> HttpResponse {
        let html = MessagePage {
            chrome: &self.chrome,
            title: self.chrome.t(title),
            text: self.chrome.t(text),
            text_id: text,
        }
        .render_page();
        self.page(status, html)
    }

    /// An error no form field explains: the session ended (sign in again), the database is away
    /// (try again), or a fault (logged, never shown).
    pub fn failure(&mut self, error: &ApiError) -> HttpResponse {
        if let ApiError::Unauthorized(_) = error {
            return self.session_ended();
        }
        let mut answer = failure(&self.chrome, error);
        for cookie in self.cookies.drain(..) {
            let _ = answer.add_cookie(&cookie);
        }
        answer
    }

    /// Back to the first step, saying why; the session cookie is forgotten.
    pub fn session_ended(&mut self) -> HttpResponse {
        let path = self.cookie_path();
        self.set_cookie(self.settings.cookies.expire(cookies::SESSION, &path));
        let to = self.path("?ended=1");
        self.redirect(&to)
    }

    /// The signed-in subject of this dealer's page, from the session cookie.
    pub fn subject(&mut self) -> Result<Subject, HttpResponse> {
        let token: Option<String> = cookies::open(
            &self.hasher,
            &self.req,
            cookies::SESSION,
            self.dealer.as_str(),
        );
        let signed_in = token
            .ok_or_else(|| ApiError::Unauthorized("no session".into()))
            .and_then(|token| Principal::from_token(&self.keys, &token))
            .and_then(|principal| Subject::signed_in(&principal, self.dealer.as_str()));
        match signed_in {
            Ok((_, subject)) => Ok(subject),
            Err(_) => Err(self.session_ended()),
        }
    }

    /// A posted form, accepted only with this browser's CSRF token and from our own origin.
    pub fn accept(&mut self, body: &[u8]) -> Result<Form, HttpResponse> {
        let form = Form(serde_urlencoded::from_bytes(body).unwrap_or_default());
        let token_ok = cookies::csrf_matches(&self.hasher, &self.req, form.get("csrf"));
        if token_ok && self.same_origin() {
            Ok(form)
        } else {
            tracing::info!(token_ok, "a /pi page form was refused by its CSRF check");
            Err(self.message(StatusCode::FORBIDDEN, "forbidden-title", "forbidden-text"))
        }
    }

    /// The form came from a page of ours: its `Origin` (sent by browsers on every POST) is this
    /// service's public origin (`POPIA_PUBLIC_URL`) or the origin the request was sent to (the
    /// page served under a dealer's own domain). A browser that sends none is held to the CSRF
    /// token alone; `null` (a sandboxed or privacy-stripped origin) is refused.
    fn same_origin(&self) -> bool {
        let Some(origin) = self.req.headers().get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let info = self.req.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        origin.eq_ignore_ascii_case(&own)
            || self
                .settings
                .origin
                .as_deref()
                .is_some_and(|public| origin.eq_ignore_ascii_case(public))
    }

    fn finish(&mut self, answer: &mut actix_web::HttpResponseBuilder) {
        secure_headers(answer, self.frame_origin.as_deref());
        if self.set_csrf {
            self.set_csrf = false;
            let token = self.chrome.csrf.clone();
            self.cookies.push(
                self.settings
                    .cookies
                    .make(cookies::CSRF, token, "/pi", 86_400),
            );
        }
        if self.chrome.t.chosen_now {
            let code = self.chrome.t.code.to_owned();
            self.cookies.push(self.settings.cookies.make(
                LANGUAGE_COOKIE,
                code,
                "/pi",
                365 * 86_400,
            ));
        }
        for cookie in self.cookies.drain(..) {
            answer.cookie(cookie);
        }
    }
}

/// A parameter of a request's address.
pub fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// A page answering a limit (429) with the `Retry-After` the API would send.
pub fn with_retry_after(mut answer: HttpResponse, seconds: u64) -> HttpResponse {
    answer
        .headers_mut()
        .insert(header::RETRY_AFTER, seconds.into());
    answer
}

/// A posted form's fields.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field's value, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    /// A ticked checkbox.
    pub fn ticked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Every page answer: nothing but our own origin's resources, no script, frames only on the
/// dealer's own website, nothing cached (the pages show personal information), and a referrer
/// for our own origin only (`no-referrer` would make Chromium send `Origin: null` on every form
/// post, which the Origin check refuses).
fn secure_headers(answer: &mut actix_web::HttpResponseBuilder, frame_origin: Option<&str>) {
    let ancestors = match frame_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    answer
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
                 form-action 'self'; frame-ancestors {ancestors}"
            ),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
}

fn message(chrome: &Chrome, status: StatusCode, title: &str, text: &'static str) -> HttpResponse {
    let html = MessagePage {
        chrome,
        title: chrome.t(title),
        text: chrome.t(text),
        text_id: text,
    }
    .render_page()
    .unwrap_or_else(|_| chrome.t(title));
    let mut answer = HttpResponse::build(status);
    answer.content_type("text/html; charset=utf-8");
    secure_headers(&mut answer, None);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        answer.insert_header((header::RETRY_AFTER, "5"));
    }
    answer.body(html)
}

fn failure(chrome: &Chrome, error: &ApiError) -> HttpResponse {
    match error {
        ApiError::Unavailable => message(
            chrome,
            StatusCode::SERVICE_UNAVAILABLE,
            "error-summary-title",
            "error-unavailable",
        ),
        ApiError::NotFound(_) => message(
            chrome,
            StatusCode::NOT_FOUND,
            "not-found-title",
            "not-found-text",
        ),
        // The record was withdrawn meanwhile (another tab, staff).
        ApiError::Gone(_) => message(
            chrome,
            StatusCode::GONE,
            "error-summary-title",
            "error-gone",
        ),
        ApiError::Validation(_) | ApiError::Conflict(_) => message(
            chrome,
            StatusCode::UNPROCESSABLE_ENTITY,
            "error-summary-title",
            "error-refused",
        ),
        other => {
            if let ApiError::Internal(cause) = other {
                tracing::error!(error = %crate::observability::redact_error(cause), "internal error on the /pi page");
            }
            message(
                chrome,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-summary-title",
                "error-generic",
            )
        }
    }
}

/// Links to this page in each other language (`?lang=`, other parameters kept).
fn language_links(req: &HttpRequest, current: &str) -> Vec<LanguageLink> {
    let kept: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "lang" && k != "ended")
            .collect();
    LANGUAGES
        .iter()
        .filter(|(code, _)| *code != current)
        .map(|(code, name)| {
            let mut query = kept.clone();
            query.push(("lang".into(), (*code).into()));
            let query = serde_urlencoded::to_string(&query).unwrap_or_default();
            LanguageLink {
                code,
                name,
                href: format!("{}?{query}", page_of(req)),
            }
        })
        .collect()
}

/// The GET page a request shows: itself, or for a form post shown again (an error), the page
/// the form was on, so that the language switch never leads to a path that only takes POST.
fn page_of(req: &HttpRequest) -> String {
    let path = req.path();
    if req.method() == actix_web::http::Method::GET {
        return path.to_owned();
    }
    let (base, last) = path.rsplit_once('/').unwrap_or((path, ""));
    match last {
        "confirm" | "resend" => base.to_owned(),
        "identifier" => format!("{base}/edit"),
        // The first step's form posts to `/code`.
        "code" => base.to_owned(),
        "sign-out" => format!("{base}/done"),
        "withdraw" => path.to_owned(),
        // `/records/{id}`: the edit form.
        _ if base.ends_with("/records") => format!("{path}/edit"),
        _ => path.to_owned(),
    }
}

/// Any path under `/pi/{dealer}` that is not a step: the page's own 404, in HTML.
pub async fn not_found(visit: Visit) -> HttpResponse {
    let mut visit = visit;
    visit.message(StatusCode::NOT_FOUND, "not-found-title", "not-found-text")
}
