//! A small blocking WebSocket client for the agent (tungstenite, which the
//! crate already depends on through tokio-tungstenite), written from
//! `docs/PROTOCOL.md`: JSON-RPC 2.0 in text frames, progress notifications
//! naming the request, the browser's `Origin` header.
//!
//! A signing request waits for a person, so [`Connection::start`] runs it on
//! a thread of its own: the test drives the dialogs meanwhile and can see
//! whether an answer came too early.

use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// No single read waits longer than this (a dialog waits 2 minutes at most).
const READ_LIMIT: Duration = Duration::from_secs(300);

pub struct Connection {
    ws: WebSocket<TcpStream>,
}

/// What one request brought back: its answer and the progress stages sent
/// for it, in order.
#[derive(Debug)]
pub struct Reply {
    pub answer: Value,
    pub stages: Vec<String>,
}

impl Reply {
    /// The `result`, or a panic that shows the whole answer.
    pub fn result(&self) -> &Value {
        match self.answer.get("result") {
            Some(r) => r,
            None => panic!("expected a result, got {:#}", self.answer),
        }
    }

    /// `error.data.reason`, or a panic that shows the whole answer.
    pub fn reason(&self) -> &str {
        match self
            .answer
            .pointer("/error/data/reason")
            .and_then(Value::as_str)
        {
            Some(r) => r,
            None => panic!("expected an error with data.reason, got {:#}", self.answer),
        }
    }
}

/// A request running on its own thread.
pub struct Pending {
    thread: JoinHandle<Result<(Connection, Reply), String>>,
    stages: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Pending {
    pub fn answered(&self) -> bool {
        self.thread.is_finished()
    }

    /// The progress stages seen so far, waiting up to `within` until there
    /// are at least `n` (a notification may still be on its way).
    pub fn stages(&mut self, n: usize, within: Duration) -> &[String] {
        let deadline = Instant::now() + within;
        while let Ok(stage) = self.stages.try_recv() {
            self.seen.push(stage);
        }
        while self.seen.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stages.recv_timeout(left) {
                Ok(stage) => self.seen.push(stage),
                Err(_) => break,
            }
        }
        &self.seen
    }

    /// Waits for the answer; gives the connection back for the next request.
    pub fn finish(self) -> (Connection, Reply) {
        let Pending {
            thread,
            stages,
            mut seen,
        } = self;
        let (connection, mut reply) = match thread.join() {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => panic!("the request failed on the wire: {e}"),
            Err(_) => panic!("the client thread panicked"),
        };
        seen.extend(stages.try_iter());
        reply.stages = seen;
        (connection, reply)
    }
}

impl Connection {
    /// Opens `ws://127.0.0.1:PORT/` as a page from `origin` would.
    pub fn open(port: u16, origin: &str) -> Result<Connection, String> {
        let mut request = format!("ws://127.0.0.1:{port}/")
            .into_client_request()
            .map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            "Origin",
            HeaderValue::from_str(origin).map_err(|e| e.to_string())?,
        );
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(READ_LIMIT))
            .map_err(|e| e.to_string())?;
        let (ws, _) = tungstenite::client(request, stream).map_err(|e| e.to_string())?;
        Ok(Connection { ws })
    }

    /// Sends a request without waiting for its answer (a page that leaves
    /// before it comes: [`Connection::close`] next).
    pub fn send(&mut self, id: &Value, method: &str, params: Option<Value>) -> Result<(), String> {
        let mut request = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if let Some(params) = params {
            request["params"] = params;
        }
        self.ws
            .send(Message::text(request.to_string()))
            .map_err(|e| format!("send {method}: {e}"))
    }

    /// Reads until the answer to `id`; progress for `id` goes to `stages`.
    fn read_answer(&mut self, id: &Value, stages: &mpsc::Sender<String>) -> Result<Value, String> {
        loop {
            let message = self.ws.read().map_err(|e| format!("read: {e}"))?;
            let text = match message {
                Message::Text(text) => text,
                Message::Close(frame) => return Err(format!("the agent closed: {frame:?}")),
                _ => continue,
            };
            let value: Value = serde_json::from_str(text.as_str())
                .map_err(|e| format!("not JSON ({e}): {}", text.as_str()))?;
            if value["method"] == "progress" {
                if value["params"]["id"] == *id {
                    let stage = value["params"]["stage"].as_str().unwrap_or("?");
                    let _ = stages.send(stage.to_owned());
                }
                continue;
            }
            if value["id"] == *id {
                return Ok(value);
            }
            return Err(format!("an answer to another request: {value}"));
        }
    }

    /// One request, answered before this returns.
    pub fn call(&mut self, id: Value, method: &str, params: Option<Value>) -> Reply {
        let (tx, rx) = mpsc::channel();
        self.send(&id, method, params)
            .unwrap_or_else(|e| panic!("{e}"));
        let answer = self
            .read_answer(&id, &tx)
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        Reply {
            answer,
            stages: rx.try_iter().collect(),
        }
    }

    /// Sends a request and waits for its answer on a thread of its own.
    pub fn start(mut self, id: Value, method: &'static str, params: Value) -> Pending {
        let (tx, stages) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            self.send(&id, method, Some(params))?;
            let answer = self.read_answer(&id, &tx)?;
            Ok((
                self,
                Reply {
                    answer,
                    stages: vec![],
                },
            ))
        });
        Pending {
            thread,
            stages,
            seen: vec![],
        }
    }

    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}
