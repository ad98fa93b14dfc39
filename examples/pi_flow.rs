//! A dealer website's back end runs the /pi flow for a visitor: send a code, confirm it, look
//! up what is held, correct it, and withdraw consent. Without an SMTP server the service writes
//! the code to its mailbox folder; this example reads it from there (`--mailbox`), or asks.
//!
//! ```sh
//! cargo run -p popia-api -- serve --demo &
//! cargo run --example pi_flow -- --dealer demo-motors --email fred@sea.example --mailbox ./data/mailbox
//! ```

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use popia_sdk::types;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long)]
    dealer: String,
    /// The visitor's email.
    #[arg(long)]
    email: String,
    /// The service's mailbox folder, to read the code from (else the code is asked for).
    #[arg(long)]
    mailbox: Option<PathBuf>,
    /// Withdraw consent at the end (de-identifies the records for good).
    #[arg(long)]
    withdraw: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The website's back end calls the public verification endpoints without a token.
    let website = popia_sdk::ClientBuilder::new(&args.url).build()?;
    let started = website
        .start_verification()
        .dealer(&args.dealer)
        .body(types::StartVerification::builder().email(Some(args.email.parse()?)))
        .send()
        .await?
        .into_inner();
    println!(
        "a code is on its way by {:?}; it expires at {}",
        started.channel, started.expires_at
    );

    let code = match &args.mailbox {
        Some(folder) => code_from_mailbox(folder, &args.email).await?,
        None => {
            println!("enter the code:");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim().to_owned()
        }
    };
    let token = website
        .confirm_verification()
        .dealer(&args.dealer)
        .verification_id(started.verification_id)
        .body_map(|b| b.code(code.as_str()))
        .send()
        .await?
        .into_inner();
    println!("verified; subject token valid until {}", token.expires_at);

    // From here on the visitor's own token.
    let visitor = popia_sdk::ClientBuilder::new(&args.url)
        .token(&token.token)
        .build()?;
    let records = visitor
        .pi_lookup()
        .dealer(&args.dealer)
        .send()
        .await?
        .into_inner();
    if !records.found {
        println!(
            "the dealer holds nothing under {} (its key contacts were told)",
            args.email
        );
        return Ok(());
    }
    for customer in &records.customers {
        println!(
            "held: customer {} {:?} {:?}, marketing consent {}, {} lead(s)",
            customer.id,
            customer.first_name,
            customer.last_name,
            customer.consent_market,
            customer.leads.len()
        );
    }
    // Who has had the dealer's data (POPIA s23(1)(b)), latest first.
    for party in &records.third_parties {
        let accessed: Vec<String> = party.accessed.iter().map(ToString::to_string).collect();
        println!(
            "accessed by {} ({}): {}, last {}",
            party.name,
            party.category,
            accessed.join(" and "),
            party.last_access_at
        );
    }
    let first = &records.customers[0];
    let amended = visitor
        .pi_amend()
        .dealer(&args.dealer)
        .customer_id(first.id)
        .body(types::PiAmendCustomer::builder().consent_market(Some(false)))
        .send()
        .await?
        .into_inner();
    println!("marketing consent is now {}", amended.consent_market);

    if args.withdraw {
        let withdrawal = visitor
            .pi_withdraw_consent()
            .dealer(&args.dealer)
            .body(types::WithdrawConsent::builder())
            .send()
            .await?
            .into_inner();
        println!(
            "withdrawn: customers {:?} de-identified, leads {:?} lost",
            withdrawal.customer_ids, withdrawal.lead_ids_lost
        );
    } else {
        println!("(run with --withdraw to withdraw consent and de-identify the records)");
    }
    Ok(())
}

/// The newest code sent to `email`, from the service's mailbox folder.
async fn code_from_mailbox(folder: &std::path::Path, email: &str) -> anyhow::Result<String> {
    for _ in 0..100 {
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with("-one_time_code.eml"))
            .collect();
        files.sort();
        for file in files.iter().rev() {
            let text = std::fs::read_to_string(file)?;
            if !text.contains(email) {
                continue;
            }
            if let Some(code) = text
                .split_whitespace()
                .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            {
                return Ok(code.to_owned());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("no code for {email} arrived in {}", folder.display())
}
