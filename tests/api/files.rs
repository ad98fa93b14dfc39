//! What the service keeps on disk is private to its user (folders 0700, files 0600), whatever
//! existed before it started; the mailbox keeps messages no longer than the retention period;
//! and a blacklist exported as CSV cannot run a formula in the operator's spreadsheet.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::Parser;
use popia_api::config::{Cli, SecretSource};
use popia_api::db::backend::sqlite_file;
use popia_api::notify::transport::purge_mailbox;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The SQLite database file and its -wal and -shm beside it (none on PostgreSQL).
fn database_files(app: &TestApp) -> Vec<PathBuf> {
    let Some(database) = sqlite_file(&app.database_url) else {
        return vec![];
    };
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut name = database.clone().into_os_string();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect()
}

async fn withdraw_fred(app: &TestApp) {
    app.create_dealer("abc-motors").await;
    let id = app.create_customer("abc-motors", fred()).await["id"]
        .as_i64()
        .unwrap();
    let done = app
        .post(
            &format!("/v1/dealers/abc-motors/customers/{id}/withdraw-consent"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
}

/// A first start creates a private data folder and private files.
#[tokio::test]
async fn a_first_start_creates_a_private_data_folder_and_private_files() {
    let mut data = PathBuf::new();
    let app = spawn_app_with(|config| {
        // A data folder that does not exist yet, resolved as `popia-api serve` does: it is
        // created and a JWT secret generated in it.
        data = config.data_dir.join("fresh/data");
        let cli = Cli::parse_from(["popia-api", "--data-dir", data.to_str().unwrap()]);
        let (resolved, source) = cli.settings.resolve(&cli.serve).unwrap();
        assert!(matches!(source, SecretSource::Generated(_)));
        config.data_dir = resolved.data_dir;
        config.notify.mailbox_dir = resolved.notify.mailbox_dir;
        if config.database_url.starts_with("sqlite:") {
            config.database_url = resolved.database_url;
        }
    })
    .await;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(data.parent().unwrap()), 0o700, "created with it");
    assert_eq!(mode(&data.join("jwt-secret")), 0o600);
    for file in database_files(&app) {
        assert!(file.starts_with(&data));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    withdraw_fred(&app).await;
    assert_eq!(app.mailbox, data.join("mailbox"));
    let message = delivered_file(&app, ".eml").await;
    assert_eq!(mode(&app.mailbox), 0o700);
    assert_eq!(mode(&message), 0o600);
    for entry in std::fs::read_dir(&app.mailbox).unwrap().flatten() {
        assert_eq!(mode(&entry.path()), 0o600, "{}", entry.path().display());
    }
}

/// Loose folders and files are made private at start.
#[tokio::test]
async fn loose_folders_and_files_are_made_private_at_start() {
    let mut data = PathBuf::new();
    let mut loose = Vec::new();
    let app = spawn_app_with(|config| {
        data = config.data_dir.join("loose");
        let mailbox = data.join("mailbox");
        std::fs::create_dir_all(&mailbox).unwrap();
        let message = mailbox.join("000000000001-one_time_code.eml");
        let secret = data.join("jwt-secret");
        std::fs::write(&message, "To: fred@sea.com\n").unwrap();
        std::fs::write(&secret, SECRET).unwrap();
        std::fs::write(mailbox.join("notes.txt"), "not a message").unwrap();
        loose = vec![data.clone(), mailbox.clone(), message, secret];
        if config.database_url.starts_with("sqlite:") {
            let database = data.join("popia.db");
            std::fs::write(&database, "").unwrap();
            config.database_url = format!("sqlite://{}", database.display());
            loose.push(database);
        }
        for path in &loose {
            set_mode(path, if path.is_dir() { 0o755 } else { 0o644 });
        }
        set_mode(&mailbox.join("notes.txt"), 0o644);
        config.data_dir = data.clone();
        config.notify.mailbox_dir = mailbox;
    })
    .await;
    let logs = captured_logs();
    for path in &loose {
        let private = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(path), private, "{}", path.display());
        assert!(
            logs.lines()
                .any(|l| l.contains("made private") && l.contains(&*path.to_string_lossy())),
            "no log line names {}",
            path.display()
        );
    }
    for file in database_files(&app) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    // Not the service's file: left as it was.
    assert_eq!(mode(&data.join("mailbox/notes.txt")), 0o644);
}

/// The mailbox keeps messages no longer than the retention period.
#[tokio::test]
async fn the_mailbox_keeps_messages_no_longer_than_the_retention_period() {
    let retention = Duration::from_secs(30 * 86_400);
    let aged = |path: &Path, age: Duration| {
        std::fs::write(path, "To: fred@sea.com\n").unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    };

    // Directly, with a chosen cut-off.
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("000000000001-consent_withdrawn.eml");
    let old_sms = dir.path().join("000000000002-one_time_code.sms.txt");
    let fresh = dir.path().join("000000000003-one_time_code.sms.txt");
    let other = dir.path().join("notes.txt");
    aged(&old, retention + Duration::from_secs(60));
    aged(&old_sms, retention + Duration::from_secs(60));
    aged(&fresh, Duration::from_secs(60));
    aged(&other, retention * 2);
    let cut_off = SystemTime::now() - retention;
    assert_eq!(purge_mailbox(dir.path(), cut_off).unwrap(), 2);
    assert!(!old.exists() && !old_sms.exists());
    assert!(fresh.exists(), "a fresh message stays");
    assert!(other.exists(), "not the service's file");
    assert_eq!(
        purge_mailbox(&dir.path().join("missing"), cut_off).unwrap(),
        0
    );

    // And by the running service's maintenance task, which purges once at start.
    let mut mailbox = PathBuf::new();
    let mut fresh = PathBuf::new();
    let _app = spawn_app_with(|config| {
        config.notify.retention = retention;
        mailbox = config.notify.mailbox_dir.clone();
        std::fs::create_dir_all(&mailbox).unwrap();
        aged(
            &mailbox.join("000000000001-consent_withdrawn.eml"),
            retention + Duration::from_secs(60),
        );
        fresh = mailbox.join("000000000002-consent_withdrawn.eml");
        aged(&fresh, Duration::from_secs(60));
    })
    .await;
    let old = mailbox.join("000000000001-consent_withdrawn.eml");
    eventually(
        Duration::from_secs(15),
        "the old message purged",
        || async { (!old.exists()).then_some(()) },
    )
    .await;
    assert!(fresh.exists());
}

/// Csv cells that a spreadsheet would evaluate are neutralised.
#[tokio::test]
async fn csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let body = json!({"first_name": "Formula", "last_name": "Person", "email": "=1+1@sea.example",
                      "mobile": "083 656 7788", "consent_process": true, "consent_market": false});
    let id = app.create_customer("abc-motors", body).await["id"]
        .as_i64()
        .unwrap();
    let done = app
        .post(
            &format!("/v1/dealers/abc-motors/customers/{id}/withdraw-consent"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    let csv = |path: String| {
        let app = &app;
        async move {
            let response = app
                .client
                .get(format!("{}{path}", app.address))
                .bearer_auth(operator())
                .header("accept", "text/csv")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let text = response.text().await.unwrap();
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            reader
                .records()
                .map(|r| r.unwrap()[0].to_owned())
                .collect::<Vec<String>>()
        }
    };
    let today = chrono::Utc::now().date_naive();
    let mobiles = "/v1/dealers/abc-motors/blacklist/mobiles";
    for path in [EMAILS.to_owned(), format!("{EMAILS}?since={today}")] {
        assert_eq!(csv(path).await, ["'=1+1@sea.example"]);
    }
    for path in [mobiles.to_owned(), format!("{mobiles}?since={today}")] {
        assert_eq!(csv(path).await, ["+27836567788"], "E.164 stays as it is");
    }
    // JSON carries the value itself.
    let page = app.get(EMAILS, &operator()).await;
    assert_eq!(page.body["items"][0]["value"], "=1+1@sea.example");
}
