//! One upgraded connection: read requests, run backend calls on blocking
//! threads, send each answer back on this connection only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::answer::{Answer, AnswerText};
use super::backend::Call;
use super::budget::Reservation;
use super::transfer::Transfers;
use super::Shared;
use crate::protocol::jsonrpc::{failure, progress, success};
use crate::protocol::transfer::{download_stub, UploadChunkText};
use crate::protocol::{self, Envelope, Incoming, Method, Request, RpcError};
use crate::Reason;

type Ws = WebSocketStream<TcpStream>;

/// How long a single send may take before the peer is considered gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to keep reading (and discarding) after closing, so the close
/// frame reaches the peer instead of a TCP reset.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest interval between two looks for idle uploads.
const SHORTEST_SWEEP: Duration = Duration::from_millis(20);

enum Event {
    Progress {
        seq: u64,
        stage: String,
    },
    Finished {
        seq: u64,
        outcome: Result<Payload, RpcError>,
    },
}

/// A backend answer, rendered on the blocking thread.
enum Payload {
    /// The `result` member as JSON text.
    Inline(String),
    /// Too large for one frame: the `result` JSON text, read as it is downloaded.
    Download(AnswerText),
}

struct Flight {
    seq: u64,
    id: Value,
    cancel: Arc<AtomicBool>,
    /// Signing requests report progress, ending with `done`; listing does not.
    reports_progress: bool,
}

enum End {
    Gone,
    TooLarge,
    Unsupported,
    /// A text frame that is not UTF-8 (close 1007).
    NotUtf8,
    /// A frame RFC 6455 forbids: unmasked, reserved bits, a fragmented or
    /// oversized control frame, an unknown opcode (close 1002).
    ProtocolViolation,
    Idle,
    Shutdown,
    Broken,
}

struct Conn {
    shared: Arc<Shared>,
    origin: String,
    /// Requests waiting for the backend, by the JSON text of their id.
    in_flight: HashMap<String, Flight>,
    /// Blocking threads still running for this connection (cancelled ones
    /// included, until the backend returns).
    running: Arc<AtomicUsize>,
    transfers: Transfers,
    next_seq: u64,
    events: mpsc::UnboundedSender<Event>,
}

pub(crate) async fn run(
    mut ws: Ws,
    origin: String,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (events, mut event_rx) = mpsc::unbounded_channel();
    let limits = shared.limits.clone();
    let mut conn = Conn {
        transfers: Transfers::new(
            limits.clone(),
            shared.spool_dir.clone(),
            Arc::clone(&shared.spool_budget),
            origin.clone(),
        ),
        shared,
        origin,
        in_flight: HashMap::new(),
        running: Arc::new(AtomicUsize::new(0)),
        next_seq: 0,
        events,
    };
    let idle = tokio::time::sleep(limits.idle_timeout);
    tokio::pin!(idle);
    // Uploads are looked at a few times per `upload_idle_timeout`, so one
    // is discarded at most a quarter of that late.
    let mut sweep = tokio::time::interval((limits.upload_idle_timeout / 4).max(SHORTEST_SWEEP));
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = loop {
        tokio::select! {
            incoming = ws.next() => {
                let text = match incoming {
                    None => break End::Gone,
                    Some(Err(WsError::Capacity(_))) => break End::TooLarge,
                    Some(Err(WsError::Utf8(_))) => break End::NotUtf8,
                    Some(Err(WsError::Protocol(p))) if is_peer_fault(&p) => {
                        break End::ProtocolViolation
                    }
                    Some(Err(_)) => break End::Gone,
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => break End::Unsupported,
                    Some(Ok(_)) => {
                        idle.as_mut().reset(tokio::time::Instant::now() + limits.idle_timeout);
                        continue;
                    }
                };
                idle.as_mut().reset(tokio::time::Instant::now() + limits.idle_timeout);
                let replies = conn.on_text(text.as_str()).await;
                if !send_all(&mut ws, replies).await {
                    break End::Broken;
                }
            }
            Some(event) = event_rx.recv() => {
                let replies = conn.on_event(event);
                if !send_all(&mut ws, replies).await {
                    break End::Broken;
                }
            }
            () = &mut idle => {
                if conn.in_flight.is_empty() {
                    break End::Idle;
                }
                idle.as_mut().reset(tokio::time::Instant::now() + limits.idle_timeout);
            }
            _ = sweep.tick() => conn.transfers.expire_idle_uploads(std::time::Instant::now()),
            _ = shutdown.changed() => break End::Shutdown,
        }
    };
    // Whatever ended the connection, its requests are abandoned (see `Drop for Conn`).
    drop(conn);
    match end {
        End::Gone | End::Broken => {}
        End::TooLarge => {
            let reason = format!(
                "message too large (max {} bytes); send large documents with upload.begin/upload.chunk",
                limits.max_message_bytes
            );
            close_and_drain(ws, CloseCode::Size, &reason).await
        }
        End::Unsupported => {
            close_and_drain(
                ws,
                CloseCode::Unsupported,
                "binary frames are not supported; send JSON text",
            )
            .await
        }
        End::NotUtf8 => close_and_drain(ws, CloseCode::Invalid, "text frames must be UTF-8").await,
        End::ProtocolViolation => {
            close_and_drain(
                ws,
                CloseCode::Protocol,
                "frame not allowed by RFC 6455 (client frames are masked, no reserved bits)",
            )
            .await
        }
        End::Idle => close_and_drain(ws, CloseCode::Normal, "idle").await,
        End::Shutdown => close_and_drain(ws, CloseCode::Away, "Mohor is shutting down").await,
    }
}

/// A frame the peer sent that RFC 6455 forbids, as opposed to the
/// connection simply ending (reset, EOF), which gets no close frame.
fn is_peer_fault(p: &ProtocolError) -> bool {
    !matches!(
        p,
        ProtocolError::ResetWithoutClosingHandshake
            | ProtocolError::SendAfterClosing
            | ProtocolError::ReceivedAfterClosing
    )
}

async fn send_all(ws: &mut Ws, texts: Vec<String>) -> bool {
    for text in texts {
        match tokio::time::timeout(WRITE_TIMEOUT, ws.send(Message::text(text))).await {
            Ok(Ok(())) => {}
            _ => return false,
        }
    }
    true
}

/// Sends a close frame, shuts down our writing side and discards whatever the
/// peer still sends until it closes: tungstenite stops reading after a
/// capacity error, and without the drain the peer would see a reset (1006)
/// instead of our close code.
async fn close_and_drain(mut ws: Ws, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.to_string().into(),
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, ws.send(Message::Close(Some(frame)))).await;
    let stream = ws.get_mut();
    let _ = stream.shutdown().await;
    let mut buf = vec![0u8; 64 * 1024];
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

fn key(id: &Value) -> String {
    id.to_string()
}

fn text(v: Value) -> String {
    v.to_string()
}

impl Conn {
    async fn on_text(&mut self, message: &str) -> Vec<String> {
        let env = match Envelope::parse(message) {
            Ok(env) => env,
            Err(r) => return vec![text(failure(&r.id, &r.error))],
        };
        let id = env.id.clone();
        let Some(method) = Method::from_name(&env.method) else {
            return vec![text(failure(&id, &RpcError::method_not_found(&env.method)))];
        };
        if method.goes_to_backend() {
            if self.in_flight.contains_key(&key(&id)) {
                return vec![text(failure(
                    &id,
                    &RpcError::invalid_request(
                        "a request with this id is still in flight on this connection",
                    ),
                ))];
            }
            if self.running.load(Ordering::SeqCst)
                >= self.shared.limits.max_in_flight_per_connection
            {
                let e = RpcError::application(
                    Reason::Busy,
                    "Mohor is still working on this page's earlier requests",
                )
                .with_hint("wait for them to finish (or cancel them) and try again");
                return vec![text(failure(&id, &e))];
            }
        }
        if method == Method::UploadChunk {
            // Decoded straight into the upload's file, not into memory first.
            let answer = match UploadChunkText::parse(env.params) {
                Ok(c) => self.transfers.chunk(c).await,
                Err(e) => Err(e),
            };
            return vec![text(match answer {
                Ok(result) => success(&id, result),
                Err(e) => failure(&id, &e),
            })];
        }
        let parsed = if method.goes_to_backend() {
            self.parse_off_thread(method, env.params).await
        } else {
            Incoming::parse(method, env.params, &mut self.transfers)
        };
        let call = match parsed {
            Ok(c) => c,
            Err(e) => return vec![text(failure(&id, &e))],
        };
        let answer = match call {
            Incoming::Hello => Ok(protocol::hello_result()),
            Incoming::Cancel { id: target } => return self.cancel(&id, &target),
            Incoming::UploadBegin(b) => self.transfers.begin(b),
            Incoming::UploadChunk(_) => Err(RpcError::application(
                Reason::Internal,
                "upload.chunk is answered before typed parsing",
            )),
            Incoming::UploadCancel { upload_id } => self.transfers.cancel_upload(&upload_id),
            Incoming::DownloadRead(r) => {
                return vec![match self.transfers.read(r, &id).await {
                    Ok(message) => message,
                    Err(e) => text(failure(&id, &e)),
                }]
            }
            Incoming::DownloadDiscard { download_id } => {
                self.transfers.discard_download(&download_id)
            }
            Incoming::Backend(request) => {
                // An inline document is held in memory and copied to the
                // request's folder until the answer: both count against the
                // budget every page shares, as uploads do.
                let held = request.inline_bytes().saturating_mul(2);
                let Some(reservation) = self.shared.spool_budget.try_reserve(held) else {
                    let e = RpcError::application(
                        Reason::TooLarge,
                        "Mohor holds as many documents for pages as it may right now",
                    )
                    .with_hint("wait for the requests under way to finish and try again");
                    return vec![text(failure(&id, &e))];
                };
                self.start(id, request, reservation);
                return Vec::new();
            }
        };
        vec![text(match answer {
            Ok(result) => success(&id, result),
            Err(e) => failure(&id, &e),
        })]
    }

    /// Types a request for the backend on a blocking thread, as its work
    /// runs there later: checking it costs real CPU per item (fitting a
    /// batch's hundred QR payloads to a symbol, base64 of inline documents),
    /// and this thread serves every page. The connection's transfers go
    /// along for the uploads the request names and always come back; this
    /// connection reads no frame meanwhile, as before.
    async fn parse_off_thread(
        &mut self,
        method: Method,
        params: Value,
    ) -> Result<Incoming, RpcError> {
        let shared = &self.shared;
        let empty = Transfers::new(
            shared.limits.clone(),
            shared.spool_dir.clone(),
            Arc::clone(&shared.spool_budget),
            self.origin.clone(),
        );
        let mut transfers = std::mem::replace(&mut self.transfers, empty);
        let joined = tokio::task::spawn_blocking(move || {
            let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Incoming::parse(method, params, &mut transfers)
            }));
            (transfers, parsed)
        })
        .await;
        let failed = || {
            RpcError::application(
                Reason::Internal,
                "the request could not be read inside Mohor",
            )
            .with_hint("try again; if it keeps failing, report it with Mohor's log")
        };
        match joined {
            Ok((transfers, parsed)) => {
                self.transfers = transfers;
                parsed.unwrap_or_else(|_| Err(failed()))
            }
            // The task never ran (the runtime is stopping): the
            // transfers went with it, as they go with the connection.
            Err(_) => Err(failed()),
        }
    }

    fn cancel(&mut self, id: &Value, target: &Value) -> Vec<String> {
        match self.in_flight.remove(&key(target)) {
            None => vec![text(success(id, json!({ "cancelled": false })))],
            Some(flight) => {
                flight.cancel.store(true, Ordering::SeqCst);
                let e =
                    RpcError::application(Reason::UserCancelled, "the page cancelled this request");
                vec![
                    text(failure(&flight.id, &e)),
                    text(success(id, json!({ "cancelled": true }))),
                ]
            }
        }
    }

    fn start(&mut self, id: Value, request: Request, held: Reservation) {
        self.next_seq += 1;
        let seq = self.next_seq;
        let cancel = Arc::new(AtomicBool::new(false));
        let reports_progress = matches!(
            request,
            Request::SignPdf(_)
                | Request::SignData(_)
                | Request::SignHash(_)
                | Request::SignBatch(_)
        );
        self.in_flight.insert(
            key(&id),
            Flight {
                seq,
                id: id.clone(),
                cancel: Arc::clone(&cancel),
                reports_progress,
            },
        );
        let progress_tx = self.events.clone();
        let call = Call::new(self.origin.clone(), id, move |stage: &str| {
            let _ = progress_tx.send(Event::Progress {
                seq,
                stage: stage.to_string(),
            });
        })
        .with_cancel_flag(Arc::clone(&cancel));
        let backend = Arc::clone(&self.shared.backend);
        let running = Arc::clone(&self.running);
        let max_inline = self.shared.limits.max_message_bytes.saturating_sub(1024);
        running.fetch_add(1, Ordering::SeqCst);
        let handle = tokio::task::spawn_blocking(move || {
            let _running = RunningGuard(running);
            let _held = held;
            let result = backend.handle(&call, request);
            render(result, max_inline)
        });
        let events = self.events.clone();
        let timeout = self.shared.limits.request_timeout;
        tokio::spawn(async move {
            let outcome = match tokio::time::timeout(timeout, handle).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => Err(RpcError::application(
                    Reason::Internal,
                    "the request failed unexpectedly inside Mohor",
                )
                .with_hint("try again; if it keeps failing, report it with Mohor's log")),
                Err(_) => {
                    cancel.store(true, Ordering::SeqCst);
                    Err(RpcError::application(
                        Reason::Timeout,
                        "the request took too long and was abandoned",
                    )
                    .with_hint("try again, and answer Mohor's dialogs when they appear"))
                }
            };
            let _ = events.send(Event::Finished { seq, outcome });
        });
    }

    fn take_flight(&mut self, seq: u64) -> Option<Flight> {
        let k = self
            .in_flight
            .iter()
            .find(|(_, f)| f.seq == seq)
            .map(|(k, _)| k.clone())?;
        self.in_flight.remove(&k)
    }

    fn on_event(&mut self, event: Event) -> Vec<String> {
        match event {
            Event::Progress { seq, stage } => {
                if stage == protocol::stage::DONE {
                    return Vec::new(); // sent by the server itself, right before the answer
                }
                match self.in_flight.values().find(|f| f.seq == seq) {
                    Some(f) => vec![text(progress(&f.id, &stage))],
                    None => Vec::new(),
                }
            }
            Event::Finished { seq, outcome } => {
                let Some(flight) = self.take_flight(seq) else {
                    return Vec::new(); // already answered (cancelled)
                };
                let id = flight.id;
                let mut out = Vec::new();
                let answer = match outcome {
                    Err(e) => return vec![text(failure(&id, &e))],
                    Ok(Payload::Inline(result)) => {
                        format!(r#"{{"jsonrpc":"2.0","id":{},"result":{}}}"#, id, result)
                    }
                    Ok(Payload::Download(t)) => {
                        let size = t.len();
                        match self.transfers.add_download(t) {
                            Ok(download_id) => {
                                text(success(&id, download_stub(&download_id, size)))
                            }
                            Err(e) => return vec![text(failure(&id, &e))],
                        }
                    }
                };
                if flight.reports_progress {
                    out.push(text(progress(&id, protocol::stage::DONE)));
                }
                out.push(answer);
                out
            }
        }
    }
}

/// Cancels every request still in flight, however the connection ends: a
/// close, an error, or the task being dropped when the runtime shuts down.
impl Drop for Conn {
    fn drop(&mut self) {
        for flight in self.in_flight.values() {
            flight.cancel.store(true, Ordering::SeqCst);
        }
    }
}

struct RunningGuard(Arc<AtomicUsize>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Turns the backend's answer into the text to send (on the blocking
/// thread): whole when it fits in one frame, else left in its files for
/// `download.read`. Attached files are base64-encoded as they are read.
fn render(result: crate::Result<Answer>, max_inline: usize) -> Result<Payload, RpcError> {
    let text = result.and_then(Answer::into_text).map_err(RpcError::from)?;
    if text.len() <= max_inline as u64 {
        text.read_to_string().map(Payload::Inline).map_err(|e| {
            RpcError::application(Reason::IoError, format!("could not read the answer: {e}"))
        })
    } else {
        Ok(Payload::Download(text))
    }
}
