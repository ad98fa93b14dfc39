//! The browser tests' support: the end-to-end tests' own (a real server with its own database,
//! tokens, the mailbox, seeds; tests/api/support, included under the module names those files
//! use for each other, e.g. `super::logs`), plus chromedriver and Chromium (`driver`) and what a
//! test does with a page (`page`). `use crate::support::*;` brings all of it.

#[allow(dead_code, unused_imports)]
#[path = "../../api/support/app.rs"]
mod app;
#[allow(dead_code, unused_imports)]
#[path = "../../api/support/logs.rs"]
mod logs;
#[allow(dead_code, unused_imports)]
#[path = "../../api/support/mailbox.rs"]
mod mailbox;
#[allow(dead_code, unused_imports)]
#[path = "../../api/support/reply.rs"]
mod reply;
#[allow(dead_code, unused_imports)]
#[path = "../../api/support/seed.rs"]
mod seed;
#[allow(dead_code, unused_imports)]
#[path = "../../api/support/tokens.rs"]
mod tokens;
#[allow(dead_code, unused_imports)]
#[path = "../../api/support/wait.rs"]
mod wait;

mod driver;
mod page;

#[allow(unused_imports)]
pub use app::*;
#[allow(unused_imports)]
pub use driver::*;
#[allow(unused_imports)]
pub use mailbox::*;
#[allow(unused_imports)]
pub use page::*;
#[allow(unused_imports)]
pub use seed::*;
#[allow(unused_imports)]
pub use tokens::*;
#[allow(unused_imports)]
pub use wait::*;

use std::ops::Deref;
use std::sync::Arc;

use fantoccini::Client;

/// A browser session pointed at one test server.
pub struct Tab {
    pub client: Client,
    /// The test server, `http://127.0.0.1:PORT`.
    pub origin: String,
    axe_source: Arc<String>,
    /// The session has the page's JavaScript off.
    scripts_off: bool,
}

impl Browser {
    /// A new session (fresh profile) for the server at `origin`.
    pub async fn tab(&mut self, origin: &str, options: Options) -> Tab {
        let scripts_off = options.no_javascript;
        let client = self.session(options).await;
        Tab {
            client,
            origin: origin.to_owned(),
            axe_source: self.axe_source.clone(),
            scripts_off,
        }
    }
}

/// What one step of a flow showed: axe at both sizes and the page's weight.
#[allow(dead_code)] // the figures are printed; a test may also assert on them
pub struct StepFigures {
    pub axe: Vec<AxeFigures>,
    pub weight: Weight,
}

impl Tab {
    /// Opens `path` on the test server and waits for it to load.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.origin))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
        wait_for_path(&self.client, path).await;
    }

    /// One step of a flow, looked at: screenshots at both sizes
    /// (`target/screenshots/<name>-<size>.png`), axe-core at both sizes (no violation allowed),
    /// and the page's weight (every request on the test server's origin).
    pub async fn step(&self, name: &str) -> StepFigures {
        screenshot(&self.client, name).await;
        let axe = axe(&self.client, &self.axe_source, self.scripts_off, name).await;
        let weight = weigh(&self.client, &self.origin, name).await;
        StepFigures { axe, weight }
    }

    /// The same for a page whose markup is not ours: axe only reports.
    pub async fn step_report_only(&self, name: &str) -> (AxeFigures, Weight) {
        screenshot(&self.client, name).await;
        let axe = axe_report(&self.client, &self.axe_source, name).await;
        let weight = weigh(&self.client, &self.origin, name).await;
        (axe, weight)
    }

    /// Ends the session (and its Chromium) cleanly.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

impl Deref for Tab {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}
