//! What every end-to-end test uses, by concern: starting a server (`app`), capturing its logs
//! (`logs`), tokens (`tokens`), responses and their asserts (`reply`), the mailbox and the
//! verification flow (`mailbox`), seeded data and readers (`seed`), and
//! waiting on the running service's background work (`wait`). Re-exported here, so
//! `use crate::helpers::*;` brings all of it.

#[path = "support/app.rs"]
mod app;
#[path = "support/logs.rs"]
mod logs;
#[path = "support/mailbox.rs"]
mod mailbox;
#[path = "support/reply.rs"]
mod reply;
#[path = "support/seed.rs"]
mod seed;
#[path = "support/tokens.rs"]
mod tokens;
#[path = "support/wait.rs"]
mod wait;

pub use app::*;
pub use logs::*;
pub use mailbox::*;
pub use reply::*;
pub use seed::*;
pub use tokens::*;
pub use wait::*;
