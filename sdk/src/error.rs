//! One error type for every SDK call, carrying the server's Problem when there is one.

use crate::types::Problem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a Problem (`status`, `title`, `detail`, field `errors`).
    #[error("{} {}: {}", .problem.status, .problem.title, .problem.detail)]
    Api { status: u16, problem: Box<Problem> },
    /// The server answered with something that is not the documented response.
    #[error("unexpected response {status}: {body}")]
    UnexpectedResponse { status: u16, body: String },
    /// The request could not be built (a bad argument).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// TLS could not be set up when the client was built (no CA certificates in the
    /// platform's trust store, or a crypto provider without the default protocol versions).
    #[error("TLS: {0}")]
    Tls(String),
    /// Connecting, sending or reading failed (after the retries).
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::UnexpectedResponse { status, .. } => Some(*status),
            Error::Transport(error) => error.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The Problem the server sent, if any.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Api { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

impl From<progenitor_client::Error<Problem>> for Error {
    fn from(error: progenitor_client::Error<Problem>) -> Self {
        use progenitor_client::Error as E;
        match error {
            E::ErrorResponse(response) => {
                let status = response.status().as_u16();
                Error::Api {
                    status,
                    problem: Box::new(response.into_inner()),
                }
            }
            E::CommunicationError(error) | E::ResponseBodyError(error) => Error::Transport(error),
            E::InvalidRequest(message) => Error::InvalidRequest(message),
            E::InvalidResponsePayload(bytes, error) => Error::UnexpectedResponse {
                status: 0,
                body: format!("{error}: {}", String::from_utf8_lossy(&bytes)),
            },
            E::UnexpectedResponse(response) => Error::UnexpectedResponse {
                status: response.status().as_u16(),
                body: String::new(),
            },
            other => Error::InvalidRequest(other.to_string()),
        }
    }
}

/// The SDK's result.
pub type Result<T> = std::result::Result<T, Error>;
