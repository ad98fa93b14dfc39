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
