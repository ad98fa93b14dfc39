//! What the page keeps in the browser: the signed-in session, a verification in progress, and
//! the CSRF token. Values are sealed (encrypted and authenticated with a key derived from the
//! service's secret), so a cookie can be neither read nor forged, and every cookie is
//! `HttpOnly; SameSite=Strict`, `Secure` when the public URL is https.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::auth::KeyedHasher;

/// The subject token of a signed-in person, for one dealer's pages.
pub const SESSION: &str = "pi_session";
/// A code on its way: which verification, to what.
pub const PENDING: &str = "pi_pending";
/// The double-submit CSRF token (the same value is in every form).
pub const CSRF: &str = "pi_csrf";

/// How the page's cookies are issued.
#[derive(Clone, Debug, Default)]
pub struct CookiePolicy {
    /// The public URL is https: cookies are `Secure`.
    pub secure: bool,
}

impl CookiePolicy {
    /// A cookie for `path` that lives `seconds`.
    pub fn make(
        &self,
        name: &'static str,
        value: String,
        path: &str,
        seconds: i64,
    ) -> Cookie<'static> {
        Cookie::build(name, value)
            .path(path.to_owned())
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .max_age(CookieDuration::seconds(seconds))
            .finish()
    }

    /// A cookie that tells the browser to forget `name` at `path`.
    pub fn expire(&self, name: &'static str, path: &str) -> Cookie<'static> {
        let mut cookie = self.make(name, String::new(), path, 0);
        cookie.make_removal();
        cookie
    }
}

/// Seals `value` for the cookie `name` of `dealer`: a cookie of one dealer's page, or under
/// another name, does not open as this one.
pub fn seal<T: Serialize>(hasher: &KeyedHasher, name: &str, dealer: &str, value: &T) -> String {
    let plain = serde_json::to_vec(value).unwrap_or_default();
    let sealed = hasher
        .cursor_key()
        .seal(&[b"pi-page", name.as_bytes(), dealer.as_bytes()], &plain);
    URL_SAFE_NO_PAD.encode(sealed)
}

/// The value of the cookie `name` of `dealer`, if it is there and opens.
pub fn open<T: DeserializeOwned>(
    hasher: &KeyedHasher,
    req: &HttpRequest,
    name: &str,
    dealer: &str,
) -> Option<T> {
    let cookie = req.cookie(name)?;
    let sealed = URL_SAFE_NO_PAD.decode(cookie.value()).ok()?;
    let plain = hasher
        .cursor_key()
        .open(&[b"pi-page", name.as_bytes(), dealer.as_bytes()], &sealed)?;
    serde_json::from_slice(&plain).ok()
}

/// The CSRF token of this browser: the one its cookie holds when that is genuine, else a new
/// one, which the response must set (`true`).
pub fn csrf_token(hasher: &KeyedHasher, req: &HttpRequest) -> (String, bool) {
    match req.cookie(CSRF) {
        Some(c) if csrf_genuine(hasher, c.value()) => (c.value().to_owned(), false),
        _ => {
            let mut nonce = [0u8; 18];
            rand::rng().fill_bytes(&mut nonce);
            let nonce = URL_SAFE_NO_PAD.encode(nonce);
            let tag = csrf_tag(hasher, &nonce);
            (format!("{nonce}.{tag}"), true)
        }
    }
}

/// A token is ours when its tag is the keyed hash of its nonce: a value made up elsewhere is
/// refused, not merely compared (the signed double-submit pattern). A genuine token fetched by
/// someone else and planted from a sibling domain would pass this; the Origin check stops that
/// form.
fn csrf_genuine(hasher: &KeyedHasher, token: &str) -> bool {
    token
        .split_once('.')
        .is_some_and(|(nonce, tag)| nonce.len() == 24 && csrf_tag(hasher, nonce) == tag)
}

fn csrf_tag(hasher: &KeyedHasher, nonce: &str) -> String {
    hasher.request(&[b"pi-csrf", nonce.as_bytes()])[..32].to_owned()
}

/// A form's token matches its cookie's, and the cookie is genuine.
pub fn csrf_matches(hasher: &KeyedHasher, req: &HttpRequest, submitted: Option<&str>) -> bool {
    let (Some(cookie), Some(submitted)) = (req.cookie(CSRF), submitted) else {
        return false;
    };
    // Compared through their keyed hashes: no early exit reveals how much matched.
    csrf_genuine(hasher, cookie.value())
        && hasher.request(&[cookie.value().as_bytes()]) == hasher.request(&[submitted.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_is_genuine_only_with_its_own_tag() {
        let hasher = KeyedHasher::derive(b"0123456789abcdef0123456789abcdef");
        let req = actix_web::test::TestRequest::default().to_http_request();
        let (token, fresh) = csrf_token(&hasher, &req);
        assert!(fresh);
        assert!(csrf_genuine(&hasher, &token));
        let (nonce, _) = token.split_once('.').unwrap();
        assert!(!csrf_genuine(
            &hasher,
            &format!("{nonce}.{}", "0".repeat(32))
        ));
        let other = KeyedHasher::derive(b"another secret of thirty-two bytes!");
        assert!(!csrf_genuine(&other, &token));
    }

    #[test]
    fn a_sealed_cookie_opens_only_for_its_name_and_dealer() {
        let hasher = KeyedHasher::derive(b"0123456789abcdef0123456789abcdef");
        let value = seal(&hasher, SESSION, "sea-motors", &"token".to_owned());
        let cookie = |name: &'static str| {
            actix_web::test::TestRequest::default()
                .cookie(Cookie::new(name, value.clone()))
                .to_http_request()
        };
        let opened: Option<String> = open(&hasher, &cookie(SESSION), SESSION, "sea-motors");
        assert_eq!(opened.as_deref(), Some("token"));
        assert!(open::<String>(&hasher, &cookie(SESSION), SESSION, "other-dealer").is_none());
        assert!(open::<String>(&hasher, &cookie(PENDING), PENDING, "sea-motors").is_none());
    }
}
