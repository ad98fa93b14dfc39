//! Browser tests: headless Chromium driven through chromedriver (WebDriver, the `fantoccini`
//! client) against a real server with its own database (the end-to-end tests' support,
//! tests/api/support), checked with axe-core (WCAG 2.2 AA) at a desktop (1280×900) and a phone
//! (390×844) size. Each step is screenshotted to `target/screenshots/<step>-<desktop|phone>.png`
//! and weighed (HTML plus subresources, every request on the test server's origin); the figures
//! are printed as `AXE …` and `WEIGHT …` lines (`cargo test --workspace --test browser --
//! --nocapture`).
//!
//! What they need, none of which they download themselves:
//! - Debian's Chromium and its driver, `/usr/bin/chromium` and `/usr/bin/chromedriver`:
//!   `apt-get install -y chromium chromium-driver`;
//! - axe-core from the npm registry in target/:
//!   `npm install --prefix target/axe --no-save --no-audit --no-fund axe-core@4`.
//!
//! `.ci/run` installs both. When either is missing, each test prints a `SKIPPED: install
//! chromium chromium-driver and run npm install …` line and passes, unless
//! `POPIA_BROWSER_TESTS=required` (as `.ci/run` sets it), when each fails saying what to install.
//!
//! Tests poll for what they wait on (`support::page::until`); none sleeps for a fixed time.

mod support;

mod pi;
mod swagger;
