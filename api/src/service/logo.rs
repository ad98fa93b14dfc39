//! A dealer's logo for the hosted /pi page, fetched once from the URL the dealer gives (when it
//! sets `branding.logo_url`) and then served from the database: the page never makes a data
//! subject's browser call the dealer's site.
//!
//! The URL is the dealer's to choose, so the fetch is fenced as webhook deliveries are: only to
//! addresses the webhook address guard allows (its resolver, so the address connected to is the
//! address checked), 10 s at most, redirects not followed, no proxy, at most 512 KiB read (in
//! chunks, stopping past the limit), and only PNG, JPEG, WebP or GIF whose bytes start as the
//! declared type does. SVG is refused: it can carry script.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use url::Url;

use crate::domain::Invalid;
use crate::notify::address_guard::{self, GuardedResolver, Refused};

/// The largest logo taken, in bytes.
pub const MAX_BYTES: usize = 512 * 1024;
/// Longest wait for the whole logo (connect, answer and body).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest URL taken.
pub const MAX_URL_LENGTH: usize = 2000;

/// The image types taken, with the bytes each starts with.
const TYPES: [(&str, &str); 4] = [
    ("image/png", "PNG"),
    ("image/jpeg", "JPEG"),
    ("image/webp", "WebP"),
    ("image/gif", "GIF"),
];

const WANTED: &str = "give a PNG, JPEG, WebP or GIF";

/// A logo as fetched and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedLogo {
    /// One of image/png, image/jpeg, image/webp, image/gif.
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The URL it was fetched from (as stored in `logo_url`).
    pub source_url: String,
}

/// Parses a logo URL: https, or http too when private addresses are allowed (tests, a
/// development machine); with a host and without credentials. The fragment is dropped.
pub fn parse_url(raw: &str, allow_private: bool) -> Result<Url, Invalid> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_URL_LENGTH {
        return Err(Invalid::new(format!(
            "must be at most {MAX_URL_LENGTH} characters"
        )));
    }
    let must_be = || {
        Invalid::new(if allow_private {
            "must be an https or http URL"
        } else {
            "must be an https URL"
        })
    };
    let mut url = Url::parse(trimmed).map_err(|_| must_be())?;
    let scheme_ok = url.scheme() == "https" || (allow_private && url.scheme() == "http");
    if !scheme_ok {
        return Err(must_be());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Invalid::new("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Invalid::new("must not hold a user name or password"));
    }
    url.set_fragment(None);
    Ok(url)
}

/// Fetches the logo at `url` once and checks it; the reason it was refused otherwise, worded
/// for the dealer.
pub async fn fetch(url: &Url, allow_private: bool) -> Result<FetchedLogo, Invalid> {
    let unfetched = |why: String| Invalid::new(format!("the logo could not be fetched: {why}"));
    address_guard::check_literal(url, allow_private)
        .map_err(|refused| Invalid::new(format!("the logo is refused: {refused}")))?;
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would connect for us, to addresses the guard never saw.
        .no_proxy()
        .dns_resolver(GuardedResolver { allow_private })
        .user_agent(concat!("popia-gateway-logos/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| unfetched(e.to_string()))?;
    let mut response = client
        .get(url.clone())
        .header(ACCEPT, "image/png, image/jpeg, image/webp, image/gif")
        .send()
        .await
        .map_err(|e| refused_or(&e, unfetched))?;

    let status = response.status();
    if status.is_redirection() {
        return Err(unfetched(format!(
            "HTTP {} (a redirect, which is not followed: give the logo's own URL)",
            status.as_u16()
        )));
    }
    if !status.is_success() {
        return Err(unfetched(format!("HTTP {}", status.as_u16())));
    }

    let declared = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let Some(&(content_type, kind)) = TYPES.iter().find(|(t, _)| *t == declared) else {
        return Err(Invalid::new(if declared.is_empty() {
            format!("the logo has no Content-Type; {WANTED}")
        } else {
            format!("the logo is {declared}; {WANTED}")
        }));
    };

    let length = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = length.filter(|l| *l > MAX_BYTES as u64) {
        return Err(too_large(Some(length)));
    }
    let mut bytes = Vec::with_capacity(length.map_or(64 * 1024, |l| l as usize));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| refused_or(&e, unfetched))?
    {
        if bytes.len() + chunk.len() > MAX_BYTES {
            return Err(too_large(None));
        }
        bytes.extend_from_slice(&chunk);
    }

    if !starts_as(content_type, &bytes) {
        return Err(Invalid::new(format!(
            "the logo is served as {content_type} but is not a {kind} image"
        )));
    }
    Ok(FetchedLogo {
        content_type: content_type.to_owned(),
        bytes,
        source_url: url.to_string(),
    })
}

/// Too big, by the declared length when there is one (else it was found reading).
fn too_large(length: Option<u64>) -> Invalid {
    let limit = MAX_BYTES / 1024;
    Invalid::new(match length {
        Some(length) => format!(
            "the logo is {} KiB; the limit is {limit} KiB",
            length.div_ceil(1024)
        ),
        None => format!("the logo is over {limit} KiB; the limit is {limit} KiB"),
    })
}

/// Whether `bytes` start with the magic number of `content_type`.
fn starts_as(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => bytes.starts_with(&[0xff, 0xd8, 0xff]),
        "image/gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        "image/webp" => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        _ => false,
    }
}

/// The guard's refusal when that is why the request failed; else `otherwise`, with the cause.
fn refused_or(error: &reqwest::Error, otherwise: impl Fn(String) -> Invalid) -> Invalid {
    let mut source = std::error::Error::source(error);
    let mut innermost = error.to_string();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Invalid::new(format!("the logo is refused: {refused}"));
        }
        innermost = cause.to_string();
        source = cause.source();
    }
    if error.is_timeout() {
        return otherwise(format!("no answer within {} s", TIMEOUT.as_secs()));
    }
    otherwise(innermost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_unless_private_addresses_are_allowed() {
        assert_eq!(
            parse_url(" https://abcmotors.co.za/logo.png#top ", false)
                .unwrap()
                .as_str(),
            "https://abcmotors.co.za/logo.png"
        );
        assert!(parse_url("http://abcmotors.co.za/logo.png", false).is_err());
        assert!(parse_url("http://127.0.0.1:8080/logo.png", true).is_ok());
        for bad in [
            "",
            "abcmotors.co.za/logo.png",
            "ftp://abcmotors.co.za/logo.png",
            "data:image/png;base64,AAAA",
            "https://user:pass@abcmotors.co.za/logo.png",
            &format!("https://a.co/{}", "x".repeat(MAX_URL_LENGTH)),
        ] {
            assert!(parse_url(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn magic_numbers_match_the_type() {
        assert!(starts_as("image/png", b"\x89PNG\r\n\x1a\n...."));
        assert!(starts_as("image/jpeg", &[0xff, 0xd8, 0xff, 0xe0]));
        assert!(starts_as("image/gif", b"GIF89a..."));
        assert!(starts_as("image/webp", b"RIFF\x10\0\0\0WEBPVP8 "));
        assert!(!starts_as("image/png", b"<html>"));
        assert!(!starts_as("image/png", b""));
        assert!(!starts_as("image/webp", b"RIFF\x10\0\0\0WAVE"));
        assert!(!starts_as("image/svg+xml", b"<svg"));
    }

    #[test]
    fn sizes_are_told_in_kib() {
        assert_eq!(
            too_large(Some(700 * 1024)).0,
            "the logo is 700 KiB; the limit is 512 KiB"
        );
    }

    #[tokio::test]
    async fn private_literal_addresses_are_refused_before_any_request() {
        let url = parse_url("https://127.0.0.1:9/logo.png", false).unwrap();
        let refused = fetch(&url, false).await.unwrap_err();
        assert!(
            refused.0.starts_with("the logo is refused: 127.0.0.1"),
            "{}",
            refused.0
        );
    }
}
