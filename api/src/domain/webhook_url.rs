//! A webhook endpoint's URL: http or https, with a host, without credentials (they would be
//! stored and shown in every listing). Where it may point is the address guard's rule
//! (`notify::address_guard`), which needs DNS and so runs at the HTTP boundary.

use super::Invalid;

/// The longest URL taken.
pub const MAX_LENGTH: usize = 2000;

/// Parses an endpoint URL; the fragment, never sent, is dropped.
pub fn parse(raw: &str) -> Result<url::Url, Invalid> {
    let trimmed = raw.trim();
    if trimmed.len() > MAX_LENGTH {
        return Err(Invalid::new(format!(
            "must be at most {MAX_LENGTH} characters"
        )));
    }
    let mut url =
        url::Url::parse(trimmed).map_err(|_| Invalid::new("must be an http or https URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Invalid::new("must be an http or https URL"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_host_and_no_credentials() {
        assert_eq!(
            parse(" https://dms.abcmotors.co.za/hooks#x ")
                .unwrap()
                .as_str(),
            "https://dms.abcmotors.co.za/hooks"
        );
        assert!(parse("http://127.0.0.1:8080/hook").is_ok());
        for bad in [
            "",
            "dms.abcmotors.co.za/hooks",
            "ftp://dms.abcmotors.co.za/",
            "file:///etc/passwd",
            "https://user:pass@dms.abcmotors.co.za/",
            "https://",
            &format!("https://a.co/{}", "x".repeat(MAX_LENGTH)),
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
