//! A dealer system follows the change feed from a saved cursor and makes the same changes in
//! its own database (here it prints what it would change), saving the cursor after each event
//! so that a restart resumes exactly where it stopped.
//!
//! ```sh
//! cargo run --example sync_changes -- --url http://127.0.0.1:8080 --dealer demo-motors \
//!     --token "$(cargo run -q -p popia-api -- token --role dealer --dealer demo-motors --sub dms)"
//! ```

use std::path::PathBuf;

use clap::Parser;
use futures::StreamExt;
use popia_sdk::types::{ChangeEvent, EventKind};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, env = "POPIA_TOKEN")]
    token: String,
    #[arg(long)]
    dealer: String,
    /// Where the cursor of the last applied event is kept.
    #[arg(long, default_value = "sync_changes.cursor")]
    cursor_file: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = popia_sdk::ClientBuilder::new(&args.url)
        .token(&args.token)
        .build()?;
    let saved = std::fs::read_to_string(&args.cursor_file)
        .ok()
        .map(|c| c.trim().to_owned());
    match &saved {
        Some(_) => println!(
            "resuming after the saved cursor in {}",
            args.cursor_file.display()
        ),
        None => println!("starting from the beginning of the feed"),
    }
    let mut feed = std::pin::pin!(popia_sdk::paging::dealer_history(
        &client,
        &args.dealer,
        saved
    ));
    let mut applied = 0;
    while let Some(event) = feed.next().await {
        let event = event?;
        apply(&event);
        // Saved after each event: a crash repeats at most the event being applied.
        std::fs::write(&args.cursor_file, &event.cursor)?;
        applied += 1;
    }
    println!("applied {applied} change(s); up to date");
    Ok(())
}

/// What a dealer system would do with each event in its own database.
fn apply(event: &ChangeEvent) {
    let who = event
        .customer_id
        .map_or("-".to_owned(), |id| format!("customer {id}"));
    let changes: Vec<String> = event
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} -> {}",
                c.field,
                c.was.as_deref().unwrap_or("∅"),
                c.now.as_deref().unwrap_or("∅")
            )
        })
        .collect();
    let action = match event.kind {
        EventKind::CustomerCreated => "INSERT customer",
        EventKind::CustomerAmended => "UPDATE customer",
        EventKind::ConsentWithdrawn => "STOP processing",
        EventKind::CustomerDeidentified => "DE-IDENTIFY customer (clear name, email, mobile)",
        EventKind::LeadCreated => "INSERT lead",
        EventKind::LeadStatusChanged => "UPDATE lead status",
        EventKind::LeadReassigned => "UPDATE lead recipient",
        EventKind::LookupNotFound => "CHECK other systems for a /pi lookup",
    };
    println!(
        "#{} {} [{:?} by {} {}] {action} {who} {}",
        event.id,
        event.occurred_at.format("%F %T"),
        event.channel,
        event.actor.role,
        event.actor.sub,
        changes.join("; ")
    );
}
