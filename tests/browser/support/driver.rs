//! Debian's chromedriver on a free port of 127.0.0.1, and headless Chromium sessions through it.
//!
//! Nothing here downloads a driver or a browser: it runs `/usr/bin/chromedriver` and
//! `/usr/bin/chromium` (Debian's `chromium` and `chromium-driver` packages) or skips (see the
//! crate's doc comment for `POPIA_BROWSER_TESTS=required`).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Map, Value};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The two window sizes every step is looked at in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Desktop,
    Phone,
}

impl Size {
    pub const ALL: [Size; 2] = [Size::Desktop, Size::Phone];

    pub fn name(self) -> &'static str {
        match self {
            Size::Desktop => "desktop",
            Size::Phone => "phone",
        }
    }

    /// The viewport, CSS pixels.
    pub fn viewport(self) -> (u32, u32) {
        match self {
            Size::Desktop => (1280, 900),
            Size::Phone => (390, 844),
        }
    }
}

/// What a session is opened with.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// JavaScript off for the page (`profile.managed_default_content_settings.javascript` 2).
    /// WebDriver's own scripts still run.
    pub no_javascript: bool,
    /// The browser's language (`--lang` and `intl.accept_languages`), e.g. "af".
    pub language: Option<&'static str>,
}

/// The repository's target directory, where axe-core and the screenshots live.
pub fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target")
}

pub fn axe_path() -> PathBuf {
    target_dir().join("axe/node_modules/axe-core/axe.min.js")
}

/// A running chromedriver (and, below it, every Chromium it started), killed as a process group
/// when dropped, so a failed test leaves no browser behind.
pub struct Browser {
    child: Child,
    pub url: String,
    /// axe-core's source, injected into pages by `axe`.
    pub axe_source: std::sync::Arc<String>,
    profiles: Vec<tempfile::TempDir>,
}

/// Starts chromedriver, or says why the browser tests cannot run: `None` after printing a
/// SKIPPED line, or a panic when `POPIA_BROWSER_TESTS=required`.
pub async fn browser() -> Option<Browser> {
    let missing: Vec<String> = [Path::new(CHROMEDRIVER), Path::new(CHROMIUM)]
        .into_iter()
        .map(Path::to_path_buf)
        .chain([axe_path()])
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        let how = "install chromium chromium-driver (apt-get install -y chromium chromium-driver) \
                   and run npm install --prefix target/axe --no-save --no-audit --no-fund axe-core@4";
        if std::env::var("POPIA_BROWSER_TESTS").as_deref() == Ok("required") {
            panic!(
                "POPIA_BROWSER_TESTS=required, but {} missing: {how}",
                missing.join(", ")
            );
        }
        println!("SKIPPED: {how} (missing: {})", missing.join(", "));
        return None;
    }
    let axe_source = std::fs::read_to_string(axe_path()).expect("axe.min.js readable");
    Some(Browser::start(std::sync::Arc::new(axe_source)).await)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// chromedriver's `GET /status`, over a plain socket (no HTTP client, no TLS set-up needed).
fn status(port: u16) -> Option<Value> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(
            format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())?;
            if body.len() >= length {
                return serde_json::from_str(&body[..length]).ok();
            }
        }
    }
}

impl Browser {
    async fn start(axe_source: std::sync::Arc<String>) -> Browser {
        // A port picked free may be taken before chromedriver binds it: then it exits, and
        // another port is tried.
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group: the browsers it starts are killed with it.
                .process_group(0)
                .spawn()
                .expect("chromedriver starts");
            // Owned at once, so that a panic below still kills it.
            let mut browser = Browser {
                child,
                url: format!("http://127.0.0.1:{port}"),
                axe_source: axe_source.clone(),
                profiles: Vec::new(),
            };
            // Ready, or exited (the port was taken): whichever comes first within 20 s.
            let ready = super::poll_until(Duration::from_secs(20), || {
                let exited = matches!(browser.child.try_wait(), Ok(Some(_)));
                let ready =
                    !exited && status(port).is_some_and(|body| body["value"]["ready"] == true);
                async move { (exited || ready, (exited, ready)) }
            })
            .await;
            match ready {
                (_, true) => return browser,
                (true, _) => continue,
                _ => panic!("chromedriver on port {port} did not answer /status within 20 s"),
            }
        }
        panic!("chromedriver exited five times at start (ports taken?)");
    }

    /// A new headless Chromium session with a fresh profile, its window at the desktop size.
    pub async fn session(&mut self, options: Options) -> Client {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            // Without these, Chromium reaches for Google's services at start, which this
            // machine's closed network refuses.
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut prefs = Map::new();
        if options.no_javascript {
            prefs.insert(
                "profile.managed_default_content_settings.javascript".into(),
                json!(2),
            );
        }
        if let Some(language) = options.language {
            args.push(format!("--lang={language}"));
            prefs.insert("intl.accept_languages".into(), json!(language));
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args, "prefs": prefs},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session");
        self.profiles.push(profile);
        set_size(&client, Size::Desktop).await;
        client
    }
}

/// Sets the window so that the page's viewport is `size` (the window frame, if any, added).
pub async fn set_size(client: &Client, size: Size) {
    let (width, height) = size.viewport();
    client
        .set_window_size(width, height)
        .await
        .expect("window resized");
    // Headless windows have no frame, but should one appear, grow the window by its size.
    let inner = client
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await
        .ok()
        .and_then(|v| Some((v[0].as_u64()? as u32, v[1].as_u64()? as u32)));
    if let Some((w, h)) = inner {
        if (w, h) != (width, height) && w <= width && h <= height {
            client
                .set_window_size(2 * width - w, 2 * height - h)
                .await
                .expect("window resized");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium process under it.
        let group = self.child.id() as libc::pid_t;
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}
