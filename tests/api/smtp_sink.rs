//! A real SMTP server on loopback, in-process: it speaks enough SMTP for lettre (EHLO, MAIL,
//! RCPT, DATA, RSET, NOOP, QUIT) and keeps every message it accepts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable message")
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_owned()
    }
}

/// What arrived of what was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub expected: usize,
    pub delivered: usize,
    pub distinct: usize,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "queued {}, delivered {}, lost {}, duplicates {}",
            self.expected,
            self.delivered,
            self.expected.saturating_sub(self.distinct),
            self.delivered - self.distinct
        )
    }
}

pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
    sessions: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    gate: Arc<Gate>,
}

/// Whether the server answers a message's data at once, or holds the answer until released.
struct Gate {
    open: tokio::sync::watch::Sender<bool>,
    /// Messages whose data arrived and whose answer is being held.
    held: AtomicUsize,
}

/// Dropping the sink is the server going away: it stops listening and cuts every open
/// connection (a pooled SMTP client would otherwise keep delivering through one).
impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
        for session in self.sessions.lock().unwrap().drain(..) {
            session.abort();
        }
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> SmtpSink {
        Self::start_with(port, true).await
    }

    /// A server that holds its answer to each message's data until [`SmtpSink::release`]: a
    /// test can stop the service while a delivery is under way.
    pub async fn start_held() -> SmtpSink {
        Self::start_with(0, false).await
    }

    /// How many messages arrived and wait for their answer.
    pub fn held(&self) -> usize {
        self.gate.held.load(Ordering::SeqCst)
    }

    /// Answers the held messages, and every later one at once.
    pub fn release(&self) {
        self.gate.open.send_replace(true);
    }

    async fn start_with(port: u16, open: bool) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let open_sessions = sessions.clone();
        let gate = Arc::new(Gate {
            open: tokio::sync::watch::Sender::new(open),
            held: AtomicUsize::new(0),
        });
        let session_gate = gate.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, gate) = (store.clone(), session_gate.clone());
                let handle = tokio::spawn(async move {
                    let _ = session(stream, store, gate).await;
                });
                open_sessions.lock().unwrap().push(handle.abort_handle());
            }
        });
        SmtpSink {
            port,
            received,
            task,
            sessions,
            gate,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits for `expected` messages, then watches half a second more for a duplicate (stopping
    /// as soon as one arrives), then counts what arrived and how many distinct Message-IDs.
    pub async fn tally(&self, expected: usize, within: Duration) -> Tally {
        self.wait_for(expected, within).await;
        self.wait_for(expected + 1, Duration::from_millis(500))
            .await;
        let received = self.messages();
        let mut ids: Vec<String> = received.iter().map(Received::message_id).collect();
        ids.sort();
        ids.dedup();
        Tally {
            expected,
            delivered: received.len(),
            distinct: ids.len(),
        }
    }

    /// Waits until at least `count` messages arrived (or the time is up) and returns them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        crate::helpers::poll_until(within, || async {
            let messages = self.messages();
            (messages.len() >= count, messages)
        })
        .await
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
    gate: Arc<Gate>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if command.starts_with("HELO") || command.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if command.starts_with("MAIL FROM") || command.starts_with("RSET") {
            recipients.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>');
            recipients.push(address.to_owned());
            b"250 OK\r\n"
        } else if command == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.extend_from_slice(unstuffed.as_bytes());
            }
            let mut open = gate.open.subscribe();
            if !*open.borrow() {
                gate.held.fetch_add(1, Ordering::SeqCst);
                let _ = open.wait_for(|open| *open).await;
                gate.held.fetch_sub(1, Ordering::SeqCst);
            }
            store.lock().unwrap().push(Received {
                recipients: std::mem::take(&mut recipients),
                data,
            });
            b"250 OK queued\r\n"
        } else if command.starts_with("QUIT") {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}
