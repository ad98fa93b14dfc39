use std::process::ExitCode;

use clap::Parser;
use popia_api::auth::{KeyedHasher, Keys, Role};
use popia_api::config::{Cli, Command, SecretSource, ServeArgs, Settings};
use popia_api::domain::Identifier;
use popia_api::http::openapi;
use popia_api::notify::Branding;
use popia_api::{db, observability, service, Application};

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    observability::init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("popia-api: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Openapi { json }) => {
            let document = openapi::document();
            let text = if json {
                openapi::to_json(&document)
            } else {
                openapi::to_yaml(&document)
            };
            print!("{text}");
            Ok(())
        }
        Some(Command::Token(args)) => {
            let (config, _) = cli.settings.resolve(&cli.serve)?;
            let keys = Keys::load(&config.jwt)?;
            let (token, _) = match (args.role, args.dealers.as_slice()) {
                (Role::Subject, [dealer]) => {
                    let identifier =
                        Identifier::from_parts(args.email.as_deref(), args.mobile.as_deref())
                            .map_err(|(field, e)| anyhow::anyhow!("--{field}: {e}"))?;
                    keys.issue_subject(dealer, &identifier, &args.sub, args.ttl)?
                }
                (Role::Subject, _) => anyhow::bail!("a subject token is for exactly one --dealer"),
                _ => keys.issue(args.role, args.dealers, &args.sub, args.ttl)?,
            };
            println!("{token}");
            Ok(())
        }
        Some(Command::Migrate) => {
            let (config, _) = cli.settings.resolve(&cli.serve)?;
            let pool = db::connect(&config.database_url, 1)?;
            db::migrate(&pool)?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(Command::Backup { out }) => {
            let (config, _) = cli.settings.resolve(&cli.serve)?;
            let counts = service::backup::sqlite(&config.database_url, &out)?;
            println!("backup written to {} (mode 0600): {counts}", out.display());
            Ok(())
        }
        Some(Command::Reconcile { blacklists_from }) => {
            reconcile(&cli.settings, &cli.serve, &blacklists_from)
        }
        Some(Command::Serve(serve)) => serve_with(&cli.settings, &serve).await,
        None => serve_with(&cli.settings, &cli.serve).await,
    }
}

/// Reads the source whole first (bad input changes nothing), then migrates and reconciles.
fn reconcile(settings: &Settings, serve: &ServeArgs, sources: &[String]) -> anyhow::Result<()> {
    let (config, secret) = settings.resolve(serve)?;
    if let SecretSource::Generated(path) = secret {
        // A new secret keys nothing the service stored: the withdrawal would miss what it
        // finds by keyed hash (verifications, alerts). Leave no trace of it.
        let _ = std::fs::remove_file(&path);
        anyhow::bail!(
            "no JWT secret in {}: run reconcile with the service's data folder (--data-dir) or \
             POPIA_JWT_SECRET",
            settings.data_dir.display()
        );
    }
    let source = service::reconcile::Source::read(sources)?;
    let pool = db::connect(&config.database_url, 2)?;
    db::migrate(&pool)?;
    let mut conn = pool.get()?;
    let hasher = KeyedHasher::derive(&config.jwt.secret);
    let branding = Branding::new(&config.brand, &config.notify.mail_from)
        .with_support(config.support_contact.as_deref())
        .with_public_url(config.public_url.as_ref())
        .with_follow_up_days(config.follow_up_days);
    let report = service::reconcile::run(&mut conn, &hasher, &branding, source.as_ref())?;
    println!("{report}");
    Ok(())
}

async fn serve_with(settings: &Settings, serve: &ServeArgs) -> anyhow::Result<()> {
    let (config, secret) = settings.resolve(serve)?;
    match &secret {
        SecretSource::Generated(path) => tracing::info!(
            path = %path.display(),
            "generated a JWT signing secret (mode 0600); `popia-api token` reads it too, so its tokens verify here"
        ),
        SecretSource::File(path) => {
            tracing::info!(path = %path.display(), "JWT signing secret read from the data folder")
        }
        SecretSource::Environment => tracing::info!("JWT signing secret from POPIA_JWT_SECRET"),
    }
    let backend = db::Backend::from_url(&config.database_url).map_err(anyhow::Error::msg)?;
    let app = Application::build(config.clone()).await?;
    tracing::info!(
        bind = %config.bind,
        port = app.port(),
        database = ?backend,
        "serving; Swagger UI at /docs/"
    );
    app.run_until_stopped().await?;
    Ok(())
}
