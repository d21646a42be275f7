//! Shared by the `ws_*` server tests (included with `#[path]`): a fake
//! backend answering from fixed data, a real loopback server on an ephemeral
//! port, and small WebSocket / raw-HTTP clients.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use mohor::protocol::{BatchItem, Request};
use mohor::server::{
    Answer, Backend, Call, Limits, Server, ServerConfig, ShutdownHandle, TrustAnswer,
};
use mohor::{Error, Reason};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub const GOOD_ORIGIN: &str = "https://eoffice.gov.in";

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_default()
}

/// Answers from fixed data. `sign.data` content steers it:
/// - `slow` (and anything after it): waits (reporting progress) until cancelled, then `USER_CANCELLED`;
/// - `BIG:<n>`: answers a signature of `n` base64 characters;
/// - `fail:<REASON>`: fails with that reason;
/// - anything else: the "signature" is `sig(` + data + `)`.
#[derive(Default)]
pub struct FakeBackend {
    pub trusted: Mutex<HashSet<String>>,
    pub asked: Mutex<Vec<String>>,
    /// `ask_trust_site` answers this (and remembers a yes).
    pub allow_when_asked: AtomicBool,
    pub saw_cancel: AtomicUsize,
    pub handled: AtomicUsize,
    /// Whether the last sign.pdf document arrived spooled to a temp file.
    pub last_pdf_spooled: AtomicBool,
    /// How long the person takes to answer "trust this site?" (default 200 ms).
    pub ask_delay_ms: AtomicU64,
    /// How many of the next "trust this site?" questions the backend's own
    /// limiter keeps off the screen (answered `NotAsked`, not recorded).
    pub not_shown: AtomicUsize,
}

impl FakeBackend {
    pub fn sign_data(&self, call: &Call, data: &[u8]) -> mohor::Result<Value> {
        call.progress("waiting-for-consent");
        if data.starts_with(b"slow") {
            for _ in 0..3000 {
                if call.is_cancelled() {
                    self.saw_cancel.fetch_add(1, Ordering::SeqCst);
                    return Err(Error::new(Reason::UserCancelled, "cancelled"));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            return Err(Error::internal("never cancelled"));
        }
        let text = String::from_utf8_lossy(data).to_string();
        if let Some(n) = text.strip_prefix("BIG:") {
            let n: usize = n.parse().unwrap_or(0);
            return Ok(json!({ "signature": "A".repeat(n) }));
        }
        if let Some(reason) = text.strip_prefix("fail:") {
            let reason: Reason = serde_json::from_value(json!(reason)).unwrap_or(Reason::Internal);
            return Err(Error::new(reason, format!("failing with {reason}")).with_hint("a hint"));
        }
        call.progress("waiting-for-pin");
        call.progress("signing");
        call.progress("done");
        Ok(json!({ "signature": b64(format!("sig({text})").as_bytes()) }))
    }
}

impl Backend for FakeBackend {
    fn handle(&self, call: &Call, request: Request) -> mohor::Result<Answer> {
        self.handled.fetch_add(1, Ordering::SeqCst);
        if let Request::SignPdf(p) = &request {
            if p.file_name.starts_with("FILE:") {
                return self.answer_from_file(p);
            }
        }
        self.answer(call, request).map(Answer::from)
    }

    fn is_trusted_site(&self, origin: &str) -> bool {
        self.trusted
            .lock()
            .map(|t| t.contains(origin))
            .unwrap_or(false)
    }

    fn ask_trust_site(&self, origin: &str) -> TrustAnswer {
        let held_back = self
            .not_shown
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if held_back {
            return TrustAnswer::NotAsked;
        }
        if self.ask_trust_site_impl(origin) {
            TrustAnswer::Trusted
        } else {
            TrustAnswer::Declined
        }
    }
}

impl FakeBackend {
    /// `sign.pdf` with `fileName` `FILE:…`: answers the document (written to
    /// a temp file) as an attached file, like the real backend does.
    fn answer_from_file(&self, p: &mohor::protocol::SignPdf) -> mohor::Result<Answer> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", &e))?;
        let path = dir.path().join("signed.pdf");
        let mut reader = p.document.reader()?;
        let mut f = std::fs::File::create(&path).map_err(|e| Error::io("create", &e))?;
        std::io::copy(&mut reader, &mut f).map_err(|e| Error::io("copy", &e))?;
        let mut answer = Answer::new();
        let document = answer.attach_base64(&path)?;
        answer.set_result(json!({ "document": document, "signer": "ASHA \"VERMA\" मोहर" }));
        answer.keep_alive(dir);
        Ok(answer)
    }

    fn answer(&self, call: &Call, request: Request) -> mohor::Result<Value> {
        match request {
            Request::CertificatesList(filter) => Ok(json!({
                "certificates": [{"id": "c1", "subject": "ASHA VERMA", "issuer": "Test Sub-CA", "filterClass": filter.class}]
            })),
            Request::SignData(d) => self.sign_data(call, &d.data.to_vec()?),
            Request::SignHash(h) => {
                let mut sig = h.digest.clone();
                sig.reverse();
                Ok(json!({ "signature": b64(&sig) }))
            }
            Request::SignPdf(p) => {
                self.last_pdf_spooled
                    .store(p.document.path().is_some(), Ordering::SeqCst);
                let doc = p.document.to_vec()?;
                use sha2::Digest as _;
                // (hashing 200 MB in a debug build takes long; big ones report only their length)
                let digest = if doc.len() <= 50 << 20 {
                    hex::encode(sha2::Sha256::digest(&doc))
                } else {
                    String::new()
                };
                Ok(json!({
                    "document": if doc.len() < 1024 { b64(&doc) } else { String::new() },
                    "length": doc.len(),
                    "sha256": digest,
                    "signer": "ASHA VERMA",
                    "field": "Signature1",
                    "origin": call.origin,
                }))
            }
            Request::SignBatch(items) => Ok(json!({
                "results": items.iter().map(|i| match i {
                    BatchItem::Pdf(_) => json!("pdf"),
                    BatchItem::Data(_) => json!("data"),
                    BatchItem::Hash(_) => json!("hash"),
                }).collect::<Vec<_>>()
            })),
            Request::Verify(_) => Ok(json!({ "signatures": [] })),
        }
    }

    fn ask_trust_site_impl(&self, origin: &str) -> bool {
        if let Ok(mut a) = self.asked.lock() {
            a.push(origin.to_string());
        }
        let delay = match self.ask_delay_ms.load(Ordering::SeqCst) {
            0 => 200,
            ms => ms,
        };
        std::thread::sleep(Duration::from_millis(delay)); // a person reading the dialog
        let yes = self.allow_when_asked.load(Ordering::SeqCst);
        if yes {
            if let Ok(mut t) = self.trusted.lock() {
                t.insert(origin.to_string());
            }
        }
        yes
    }
}

pub struct TestServer {
    pub port: u16,
    pub backend: Arc<FakeBackend>,
    shutdown: ShutdownHandle,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}

pub fn test_config(limits: Limits) -> ServerConfig {
    ServerConfig {
        port: Some(0),
        allowed_origins: vec![
            GOOD_ORIGIN.into(),
            "https://*.example.gov.in".into(),
            "https://portal.example.gov.in:8443".into(),
            "http://127.0.0.1:8765".into(),
        ],
        ask_unknown_sites: true,
        spool_dir: None,
        limits,
    }
}

pub async fn start(limits: Limits) -> Result<TestServer, Box<dyn std::error::Error>> {
    start_with(test_config(limits), Arc::new(FakeBackend::default())).await
}

pub async fn start_with(
    config: ServerConfig,
    backend: Arc<FakeBackend>,
) -> Result<TestServer, Box<dyn std::error::Error>> {
    let dyn_backend: Arc<dyn Backend> = backend.clone();
    let bound = Server::bind(config, dyn_backend).await?;
    let port = bound.port();
    let shutdown = bound.shutdown_handle();
    tokio::spawn(bound.run());
    Ok(TestServer {
        port,
        backend,
        shutdown,
    })
}

/// A WebSocket client with the given `Origin` (none when `None`).
pub async fn connect(port: u16, origin: Option<&str>) -> Result<Ws, Box<dyn std::error::Error>> {
    let mut req = format!("ws://127.0.0.1:{port}/").into_client_request()?;
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o)?);
    }
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let (ws, _) = tokio_tungstenite::client_async(req, stream).await?;
    Ok(ws)
}

pub async fn send(ws: &mut Ws, v: Value) -> TestResult {
    ws.send(Message::text(v.to_string())).await?;
    Ok(())
}

/// A `sign.data` request with id `id` that the fake backend holds at
/// "waiting-for-consent" (reporting progress) until it is cancelled.
pub async fn send_slow(ws: &mut Ws, id: u64) -> TestResult {
    let data = b64(b"slow");
    let request = json!({"jsonrpc":"2.0","id":id,"method":"sign.data","params":{"data": data}});
    send(ws, request).await
}

pub async fn send_text(ws: &mut Ws, text: &str) -> TestResult {
    ws.send(Message::text(text.to_string())).await?;
    Ok(())
}

/// The next JSON text message (ignoring pings), within 60 s.
pub async fn recv(ws: &mut Ws) -> Result<Value, Box<dyn std::error::Error>> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await?
            .ok_or("connection ended")??;
        match msg {
            Message::Text(t) => return Ok(serde_json::from_str(t.as_str())?),
            Message::Close(f) => return Err(format!("closed: {f:?}").into()),
            _ => continue,
        }
    }
}

/// The next message that is not a progress notification.
pub async fn recv_answer(ws: &mut Ws) -> Result<Value, Box<dyn std::error::Error>> {
    loop {
        let v = recv(ws).await?;
        if v["method"] != json!("progress") {
            return Ok(v);
        }
    }
}

pub async fn rpc(
    ws: &mut Ws,
    id: Value,
    method: &str,
    params: Value,
) -> Result<Value, Box<dyn std::error::Error>> {
    send(
        ws,
        json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}),
    )
    .await?;
    recv_answer(ws).await
}

pub async fn hello_ok(ws: &mut Ws) -> TestResult {
    let r = rpc(ws, json!("h"), "hello", json!({})).await?;
    if r["result"]["product"] != json!("Mohor") {
        return Err(format!("bad hello answer: {r}").into());
    }
    Ok(())
}

/// The close frame the server sends next (skipping other messages).
pub async fn expect_close(ws: &mut Ws) -> Result<u16, Box<dyn std::error::Error>> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await?;
        match msg {
            Some(Ok(Message::Close(Some(f)))) => return Ok(u16::from(f.code)),
            Some(Ok(Message::Close(None))) => return Ok(1005),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("error instead of a close frame: {e}").into()),
            None => return Err("ended without a close frame".into()),
        }
    }
}

/// A raw HTTP upgrade request; returns the status code and the whole response.
pub async fn raw_handshake(
    port: u16,
    host: Option<&str>,
    origin: Option<&str>,
) -> Result<(u16, String), Box<dyn std::error::Error>> {
    let mut req = String::from("GET / HTTP/1.1\r\n");
    if let Some(h) = host {
        req.push_str(&format!("Host: {h}\r\n"));
    }
    if let Some(o) = origin {
        req.push_str(&format!("Origin: {o}\r\n"));
    }
    req.push_str("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    raw_request(port, &req).await
}

/// `req` sent as it is; returns the status code and the whole response
/// (the head of a 101, everything of a refusal).
pub async fn raw_request(
    port: u16,
    req: &str,
) -> Result<(u16, String), Box<dyn std::error::Error>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read the head; a 101 leaves the connection open, a refusal closes it.
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk)).await??;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            if buf.starts_with(b"HTTP/1.1 101") {
                break;
            }
            // Refusals: read to EOF to see that nothing follows the head.
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
            buf.extend_from_slice(&rest);
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    Ok((status, text))
}

/// Waits up to 10 s for `cond`.
pub async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

pub fn limits() -> Limits {
    Limits::default()
}
