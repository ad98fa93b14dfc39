//! The CSV export's memory, measured in a test binary of its own so that no other test's
//! allocations share the process (the server runs in this process).

#[allow(dead_code, unused_imports)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;

use helpers::*;

/// The resident memory of this process, in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

struct Download {
    rows: usize,
    bytes: usize,
    seconds: f64,
    /// Resident memory right before the request, and its peak during the download.
    before: u64,
    peak: u64,
}

/// Downloads the whole email list as CSV, reading it a record at a time, and reads the
/// process's resident memory at every chunk that arrives (the server is mid-stream then).
async fn download(app: &TestApp) -> Download {
    let before = resident_bytes();
    let mut peak = before;
    let started = Instant::now();
    let response = app
        .client
        .get(format!("{}{EMAILS}", app.address))
        .bearer_auth(operator())
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let today = chrono::Utc::now().date_naive();
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"abc-motors-blacklist-emails-{today}.csv\"").as_str()
    );
    let mut stream = response.bytes_stream();
    let (mut bytes, mut rows, mut partial) = (0usize, 0usize, Vec::new());
    let mut previous: Option<(String, String)> = None;
    let mut header = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        peak = peak.max(resident_bytes());
        bytes += chunk.len();
        partial.extend_from_slice(&chunk);
        let complete = partial
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&partial[..complete]);
        for record in reader.records() {
            let record = record.unwrap();
            if header.is_none() {
                header = Some(record.iter().map(str::to_owned).collect::<Vec<_>>());
                continue;
            }
            let key = (record[1].to_owned(), record[0].to_owned());
            assert!(
                previous.as_ref().is_none_or(|p| p < &key),
                "out of order at row {rows}"
            );
            previous = Some(key);
            rows += 1;
        }
        partial.drain(..complete);
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(header.unwrap(), ["value", "added_on"]);
    Download {
        rows,
        bytes,
        seconds,
        before,
        peak,
    }
}

/// The csv export streams in flat memory.
#[tokio::test]
async fn the_csv_export_streams_in_flat_memory() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    seed_emails_from(&app, 0, 100_000);
    // A warm-up read, so that pools and caches have grown before the first measurement.
    let warm = app.get(&format!("{EMAILS}?limit=1000"), &operator()).await;
    assert_eq!(warm.status, StatusCode::OK);

    let small = download(&app).await;
    assert_eq!(small.rows, 100_000);
    seed_emails_from(&app, 100_000, 300_000);
    let large = download(&app).await;
    assert_eq!(large.rows, 300_000);

    let growth = |d: &Download| d.peak.saturating_sub(d.before) as f64 / 1e6;
    for d in [&small, &large] {
        println!(
            "CSV export: {} entries, {:.1} MB in {:.2} s; server resident memory growth {:.1} MB",
            d.rows,
            d.bytes as f64 / 1e6,
            d.seconds,
            growth(d)
        );
    }
    // Three times the entries, and the memory does not follow: it holds a batch, not the list.
    assert!(
        growth(&large) < growth(&small) + 3.0,
        "memory grew with the list: {:.1} MB then {:.1} MB",
        growth(&small),
        growth(&large)
    );
    assert!(growth(&large) < (large.bytes as f64 / 1e6) / 3.0);

    // Each pull is logged with its count once its stream has ended.
    let counts = poll_until(Duration::from_secs(2), || async {
        let pulls = app
            .get(
                "/v1/dealers/abc-motors/blacklist/pulls",
                &dealer("abc-motors"),
            )
            .await
            .body;
        let counts = pulls["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["format"] == "csv")
            .map(|p| p["items"].clone())
            .collect::<Vec<Value>>();
        (counts.len() == 2, counts)
    })
    .await;
    assert_eq!(counts, [100_000, 300_000]);
}
