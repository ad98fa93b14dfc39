use crate::helpers::*;

async fn start_error(adjust: impl FnOnce(&mut popia_api::Config)) -> String {
    match try_spawn_app_with(adjust).await {
        Ok(_) => panic!("the application started"),
        Err(error) => format!("{error:#}"),
    }
}

/// It refuses to start with a clear reason.
#[tokio::test]
async fn it_refuses_to_start_with_a_clear_reason() {
    let unsupported = start_error(|c| c.database_url = "mysql://root@127.0.0.1/popia".into()).await;
    assert!(
        unsupported.contains("unsupported database URL scheme `mysql://`"),
        "{unsupported}"
    );

    let refused =
        start_error(|c| c.database_url = "postgres://postgres@127.0.0.1:1/popia".into()).await;
    assert!(
        refused.contains("cannot connect to the database"),
        "{refused}"
    );
    assert!(refused.to_lowercase().contains("refused"), "{refused}");

    let short = start_error(|c| c.jwt.secret = b"short".to_vec()).await;
    assert!(short.contains("at least 32 bytes"), "{short}");

    let bad_pem = start_error(|c| {
        c.jwt.public_key_pem =
            Some(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/README.md").into())
    })
    .await;
    assert!(
        bad_pem.contains("is not an RSA or EC P-256 public key"),
        "{bad_pem}"
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = busy.local_addr().unwrap().to_string();
    let taken = start_error(|c| c.bind = address).await;
    assert!(taken.contains("cannot listen on"), "{taken}");
}

/// The libpq compiled into the binary speaks TLS: a managed database that requires
/// `sslmode=require` still answers (PostgreSQL only; the server here has TLS on).
#[test]
fn postgres_connections_can_require_tls() {
    use diesel::{Connection, RunQueryDsl};
    let Ok(url) = std::env::var("POPIA_TEST_DATABASE_URL") else {
        println!("skipped: TLS to PostgreSQL is checked when POPIA_TEST_DATABASE_URL is set");
        return;
    };
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let mut conn = diesel::PgConnection::establish(&format!("{url}{separator}sslmode=require"))
        .expect("a TLS connection to PostgreSQL");
    let rows: Vec<Ssl> =
        diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .load(&mut conn)
            .unwrap();
    assert!(rows[0].ssl, "the connection is encrypted");
}
