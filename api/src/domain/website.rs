//! A dealer's website as dealers type it (`www.abcmotors.co.za`, `abcmotors.co.za`,
//! `https://abcmotors.co.za/`): stored as an http(s) URL, shown in emails without the scheme.

use super::Invalid;

/// Parses a website; one typed without a scheme is taken as `https://`.
pub fn parse(raw: &str) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    let with_scheme = if trimmed.starts_with("https://") || trimmed.starts_with("http://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme)
        .map_err(|_| Invalid::new("must be a website, such as abcmotors.co.za"))?;
    let host = url.host_str().unwrap_or_default();
    if with_scheme.len() > 500 || !host.contains('.') || trimmed.contains(char::is_whitespace) {
        return Err(Invalid::new("must be a website, such as abcmotors.co.za"));
    }
    Ok(with_scheme)
}

/// How a person writes it: without the scheme and a trailing slash.
pub fn display(stored: &str) -> &str {
    stored
        .strip_prefix("https://")
        .or_else(|| stored.strip_prefix("http://"))
        .unwrap_or(stored)
        .trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_forms_are_accepted_and_stored_as_urls() {
        assert_eq!(
            parse("www.abcmotors.co.za").unwrap(),
            "https://www.abcmotors.co.za"
        );
        assert_eq!(
            parse(" abcmotors.co.za ").unwrap(),
            "https://abcmotors.co.za"
        );
        assert_eq!(
            parse("http://abcmotors.co.za/").unwrap(),
            "http://abcmotors.co.za/"
        );
        for bad in ["", "abc motors", "localhost", "ftp://abc.co.za", "https://"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            display("https://www.abcmotors.co.za/"),
            "www.abcmotors.co.za"
        );
    }
}
