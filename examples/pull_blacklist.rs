//! An operator downloads a dealer's two blacklists in full, then only the changes since a day,
//! to CSV files, with a progress bar.
//!
//! ```sh
//! cargo run --example pull_blacklist -- --url http://127.0.0.1:8080 --dealer demo-motors \
//!     --token "$(cargo run -q -p popia-api -- token --role operator --dealer demo-motors --sub callcentre)" \
//!     --since 2026-11-01 --out ./blacklists
//! ```

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use popia_sdk::List;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, env = "POPIA_TOKEN")]
    token: String,
    #[arg(long)]
    dealer: String,
    /// Also fetch the changes (additions and removals) since this day, YYYY-MM-DD.
    #[arg(long)]
    since: Option<NaiveDate>,
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = popia_sdk::ClientBuilder::new(&args.url)
        .token(&args.token)
        .build()?;
    std::fs::create_dir_all(&args.out)?;
    let mut downloads = vec![(List::Emails, None), (List::Mobiles, None)];
    if let Some(since) = args.since {
        downloads.extend([(List::Emails, Some(since)), (List::Mobiles, Some(since))]);
    }
    for (list, since) in downloads {
        let name = match since {
            None => format!("{}-{}.csv", args.dealer, list.as_str()),
            Some(day) => format!("{}-{}-changes-since-{day}.csv", args.dealer, list.as_str()),
        };
        let path = args.out.join(&name);
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template(
            "{spinner} {msg} {pos} rows ({bytes}) {elapsed}",
        )?);
        bar.set_message(name.clone());
        let done =
            popia_sdk::download_blacklist(&client, &args.dealer, list, since, file, |progress| {
                bar.set_position(progress.rows);
                bar.set_length(progress.rows.max(1));
            })
            .await?;
        bar.finish_with_message(format!("{} ({} bytes)", path.display(), done.bytes));
        println!("{}: {} rows", path.display(), done.rows);
    }
    Ok(())
}
