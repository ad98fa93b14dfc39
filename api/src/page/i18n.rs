//! The page's words, one Fluent file per language under `api/locales/<lang>/pi.ftl`, compiled
//! into the binary. Adding isiZulu or isiXhosa is a folder with one file, plus its code in
//! [`LANGUAGES`].

use std::borrow::Cow;
use std::collections::HashMap;

use actix_web::http::header;
use actix_web::HttpRequest;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Plain text around values: no Unicode isolation marks in the HTML.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages the page speaks: code and the language's own name, for the switch.
pub const LANGUAGES: &[(&str, &str)] = &[("en", "English"), ("af", "Afrikaans")];

/// The cookie that remembers a language chosen with the switch.
pub const LANGUAGE_COOKIE: &str = "pi_lang";

/// The page's language for one request, and the words in it.
#[derive(Clone)]
pub struct Words {
    pub code: &'static str,
    id: LanguageIdentifier,
    /// The language was chosen with `?lang=` on this request: remember it in a cookie.
    pub chosen_now: bool,
}

impl Words {
    /// `?lang=` first (the switch), then the remembered choice, then `Accept-Language`, then
    /// English.
    pub fn for_request(req: &HttpRequest) -> Words {
        let from_query = super::visit::query_param(req, "lang").and_then(|code| supported(&code));
        if let Some(code) = from_query {
            return Words::new(code, true);
        }
        let remembered = req
            .cookie(LANGUAGE_COOKIE)
            .and_then(|c| supported(c.value()));
        let negotiated = || {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(from_accept_language)
        };
        Words::new(remembered.or_else(negotiated).unwrap_or("en"), false)
    }

    pub fn new(code: &'static str, chosen_now: bool) -> Words {
        Words {
            code,
            id: code.parse().expect("a listed language code parses"),
            chosen_now,
        }
    }

    /// The text of `id` with values put in (`{ $name }` in the file). Numbers go in as numbers,
    /// so that plurals follow the language's rules.
    pub fn text(&self, id: &str, args: &[(&'static str, FluentValue)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), value.clone()))
            .collect();
        LOCALES.lookup_with_args(&self.id, id, &args)
    }

    /// A wait of `seconds`, in whole minutes (hours past two hours), rounded up.
    pub fn wait(&self, seconds: u64) -> String {
        let minutes = seconds.div_ceil(60).max(1);
        if minutes > 120 {
            self.text("wait-hours", &[("hours", minutes.div_ceil(60).into())])
        } else {
            self.text("wait-minutes", &[("minutes", minutes.into())])
        }
    }
}

fn supported(code: &str) -> Option<&'static str> {
    let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    LANGUAGES.iter().map(|(c, _)| *c).find(|c| *c == primary)
}

/// The supported language the browser prefers most (`af-ZA;q=0.9, en;q=0.8` → `af`).
fn from_accept_language(value: &str) -> Option<&'static str> {
    let mut ranked: Vec<(f32, &'static str)> = value
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let code = supported(pieces.next()?)?;
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (quality > 0.0).then_some((quality, code))
        })
        .collect();
    // Stable: among equal weights the first named wins.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.first().map(|(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_most_wanted_supported_language() {
        assert_eq!(from_accept_language("af-ZA,af;q=0.9,en;q=0.8"), Some("af"));
        assert_eq!(from_accept_language("en-ZA, af;q=0.5"), Some("en"));
        assert_eq!(from_accept_language("zu, af;q=0.7, en;q=0.6"), Some("af"));
        assert_eq!(from_accept_language("de, fr"), None);
        assert_eq!(from_accept_language("af;q=0"), None);
    }

    #[test]
    fn every_language_has_every_message_of_english() {
        let english = include_str!("../../locales/en/pi.ftl");
        let ids: Vec<&str> = english
            .lines()
            .filter(|l| !l.starts_with([' ', '#', '\t']) && l.contains(" ="))
            .filter_map(|l| l.split(" =").next())
            .collect();
        assert!(ids.len() > 40, "{ids:?}");
        // Every value a message may name, so that a lookup fails only for a missing message.
        let args: HashMap<&str, FluentValue> = [
            "dealer",
            "identifier",
            "id",
            "wait",
            "left",
            "minutes",
            "hours",
        ]
        .into_iter()
        .map(|name| (name, FluentValue::from(1)))
        .collect();
        for (code, _) in LANGUAGES {
            let id: LanguageIdentifier = code.parse().unwrap();
            for key in &ids {
                assert!(
                    LOCALES
                        .lookup_single_language(&id, key, Some(&args))
                        .is_ok(),
                    "{code} lacks {key}"
                );
            }
        }
    }

    #[test]
    fn waits_read_in_minutes_or_hours() {
        let en = Words::new("en", false);
        assert_eq!(en.wait(30), "1 minute");
        assert_eq!(en.wait(600), "10 minutes");
        assert_eq!(en.wait(86_400), "24 hours");
        let af = Words::new("af", false);
        assert_eq!(af.wait(600), "10 minute");
    }
}
