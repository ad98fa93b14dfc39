//! Downloading a whole blacklist (or its changes) as CSV into any writer, in constant memory,
//! with progress reported as it goes.

use std::io::Write;

use futures::StreamExt;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::ACCEPT;

use crate::error::{Error, Result};
use crate::paging::List;
use crate::Client;

/// How far a download has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes written to the writer so far.
    pub bytes: u64,
    /// CSV records written so far (the header row not counted).
    pub rows: u64,
}

/// Streams `list` (or, with `since`, its changes since that day) as CSV into `out`, calling
/// `progress` after each chunk. Returns the totals. The first request is retried like any
/// other (429, 503, connection errors); a download cut off half way is an error, and the
/// writer then holds a partial file.
pub async fn download_blacklist<W: Write>(
    client: &Client,
    dealer: &str,
    list: List,
    since: Option<chrono::NaiveDate>,
    mut out: W,
    mut progress: impl FnMut(Progress),
) -> Result<Progress> {
    let url = format!(
        "{}/v1/dealers/{dealer}/blacklist/{}",
        client.baseurl(),
        list.as_str()
    );
    let mut request = client.client().get(url).header(ACCEPT, "text/csv");
    if let Some(since) = since {
        request = request.query(&[("since", since.to_string())]);
    }
    let request = request.build()?;
    let info = OperationInfo {
        operation_id: "download_blacklist",
    };
    let response = client.exec(request, &info).await?;
    if !response.status().is_success() {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        return Err(match serde_json::from_str(&body) {
            Ok(problem) => Error::Api {
                status,
                problem: Box::new(problem),
            },
            Err(_) => Error::UnexpectedResponse { status, body },
        });
    }
    let mut done = Progress::default();
    let mut newlines = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        out.write_all(&chunk)?;
        done.bytes += chunk.len() as u64;
        newlines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        done.rows = newlines.saturating_sub(1);
        progress(done);
    }
    out.flush()?;
    Ok(done)
}
