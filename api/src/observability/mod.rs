//! Logs, request ids and metrics. Personal information never reaches a log line in clear:
//! domain types mask themselves in `Debug`, query strings are not logged, and database errors
//! are logged by message only.

pub mod metrics;
pub mod middleware;

use tracing_subscriber::EnvFilter;

/// Sets up the log output once per process (`RUST_LOG` overrides the default level).
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// The text of an error chain fit for the log. A database error's message is kept, but not
/// its detail and hint, which can quote a row's values ("Key (email)=(…) already exists").
pub fn redact_error(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(
            |cause| match cause.downcast_ref::<diesel::result::Error>() {
                Some(diesel::result::Error::DatabaseError(kind, info)) => {
                    format!("database error {kind:?}: {}", info.message())
                }
                _ => cause.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join(": ")
}

/// Masks what looks like an email address or a phone number in free text (an SMTP server's
/// error can quote the recipient), so the text can be stored and logged.
pub fn mask_text(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let core = word.trim_matches(|c: char| "<>()[],;:'\"".contains(c));
            if core.contains('@') {
                let masked = crate::domain::Email::from_stored(core.to_lowercase()).masked();
                word.replace(core, &masked)
            } else if core.chars().filter(char::is_ascii_digit).count() >= 7 {
                word.replace(core, "[number]")
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_text_loses_addresses_and_numbers() {
        let masked = super::mask_text("550 5.1.1 <fred@sea.com>: user unknown, call +27836567788");
        assert_eq!(
            masked,
            "550 5.1.1 <f***@sea.com>: user unknown, call [number]"
        );
    }
}
