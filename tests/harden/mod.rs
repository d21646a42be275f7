//! Shared by the hardening tests (hostile input, faults, load): a real
//! `mohor serve` process, a small blocking WebSocket client that can send
//! any text and never waits without a bound, generated PDFs, and the
//! figures each test reports (printed and kept in target/hardening/).
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

pub const ORIGIN: &str = "http://127.0.0.1:8765";

#[allow(unused_imports)] // each test file uses some of the helpers
pub use crate::common::{b64, unb64};

/// `mohor serve` (through [`crate::common::spawn_serve`]), killed (by its
/// own pid) when dropped.
pub struct Serve {
    served: crate::common::Served,
    pub port: u16,
    pub stderr: PathBuf,
}

impl Serve {
    /// `mohor --module MODULE --prompts PROMPTS serve --port 0`, with `env`.
    pub fn start(
        home: &Path,
        softhsm_conf: &Path,
        module: &Path,
        prompts: &Path,
        env: &[(&str, std::ffi::OsString)],
    ) -> Serve {
        let stderr = home.join("serve.stderr");
        let mut cmd = crate::common::mohor(home, softhsm_conf);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.arg("--module")
            .arg(module)
            .arg("--prompts")
            .arg(prompts)
            .args(["serve", "--port", "0", "--allow-origin", ORIGIN])
            .stderr(std::fs::File::create(&stderr).expect("serve.stderr"));
        let served = crate::common::spawn_serve(&mut cmd, &stderr);
        Serve {
            port: served.port,
            served,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.served.child.id()
    }

    /// Still running (not crashed, not exited)?
    pub fn alive(&mut self) -> bool {
        matches!(self.served.child.try_wait(), Ok(None))
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The agent's peak resident set (VmHWM) in MiB.
    pub fn peak_rss_mib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    }
}

/// A blocking client: every read is bounded.
pub struct Client {
    ws: WebSocket<TcpStream>,
}

/// What came back for one request.
#[derive(Debug)]
pub enum Answer {
    /// The JSON-RPC answer.
    Json(Value),
    /// The server closed the connection, with this close code.
    Closed(Option<u16>),
}

impl Answer {
    pub fn json(&self) -> &Value {
        match self {
            Answer::Json(v) => v,
            Answer::Closed(c) => panic!("expected an answer, the connection closed ({c:?})"),
        }
    }

    /// `error.data.reason`, or `error.code` as text for protocol errors.
    pub fn error(&self) -> Option<String> {
        let e = self.json().get("error")?;
        Some(
            e.pointer("/data/reason")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("code {}", e["code"])),
        )
    }
}

impl Client {
    pub fn open(port: u16, origin: &str) -> Result<Client, String> {
        let mut req = format!("ws://127.0.0.1:{port}/")
            .into_client_request()
            .map_err(|e| e.to_string())?;
        req.headers_mut().insert(
            "Origin",
            HeaderValue::from_str(origin).map_err(|e| e.to_string())?,
        );
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        // The handshake gets a generous limit of its own: with the short read
        // timeout below, a 101 that a loaded agent sends after 500 ms would
        // read as an interrupted handshake, not a refusal.
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let (ws, _) = tungstenite::client::client_with_config(req, stream, None)
            .map_err(|e| e.to_string())?;
        // Short reads afterwards, so `answer_for` can check its deadline.
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(500)))
            .map_err(|e| e.to_string())?;
        Ok(Client { ws })
    }

    pub fn send_text(&mut self, text: String) -> Result<(), String> {
        self.ws
            .send(Message::Text(text.into()))
            .map_err(|e| e.to_string())
    }

    /// The next answer for `id` (progress notifications skipped), within `limit`.
    pub fn answer_for(&mut self, id: &Value, limit: Duration) -> Answer {
        let deadline = Instant::now() + limit;
        loop {
            assert!(
                Instant::now() < deadline,
                "no answer for id {id} within {limit:?}"
            );
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).expect("the agent sent JSON");
                    if v.get("method").is_some() {
                        continue;
                    }
                    if v["id"] == *id || v["id"].is_null() {
                        return Answer::Json(v);
                    }
                }
                Ok(Message::Close(frame)) => {
                    return Answer::Closed(frame.map(|f| u16::from(f.code)))
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(
                    tungstenite::Error::ConnectionClosed
                    | tungstenite::Error::AlreadyClosed
                    | tungstenite::Error::Protocol(_)
                    | tungstenite::Error::Io(_),
                ) => return Answer::Closed(None),
                Err(e) => panic!("reading from the agent: {e}"),
            }
        }
    }

    /// Sends a raw text frame and waits (bounded) for the answer to `id`.
    pub fn raw(&mut self, id: Value, text: String, limit: Duration) -> Answer {
        if self.send_text(text).is_err() {
            // The server may close first (e.g. a message over the limit):
            // what it said is still to be read.
            return self.answer_for(&id, limit);
        }
        self.answer_for(&id, limit)
    }

    pub fn call(&mut self, id: Value, method: &str, params: Value, limit: Duration) -> Answer {
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.raw(id, msg.to_string(), limit)
    }

    /// Whether the agent has already sent something this client has not
    /// read, without waiting for it (the kernel's receive queue, peeked).
    pub fn message_waiting(&mut self) -> bool {
        let stream = self.ws.get_mut();
        let _ = stream.set_nonblocking(true);
        let waiting = matches!(stream.peek(&mut [0u8; 1]), Ok(n) if n > 0);
        let _ = stream.set_nonblocking(false);
        waiting
    }

    /// `hello` answered with the product name within 10 s.
    pub fn hello_ok(&mut self) -> bool {
        match self.call(json!("hello"), "hello", json!({}), Duration::from_secs(10)) {
            Answer::Json(v) => v["result"]["product"] == "Mohor",
            Answer::Closed(_) => false,
        }
    }

    /// A result that may be spooled as a download: read it back whole.
    pub fn whole_result(&mut self, answer: &Value, limit: Duration) -> Value {
        let result = &answer["result"];
        let Some(id) = result
            .pointer("/$download/downloadId")
            .and_then(Value::as_str)
        else {
            return result.clone();
        };
        let id = id.to_string();
        let mut text = String::new();
        let mut offset = 0u64;
        let mut n = 0;
        loop {
            n += 1;
            let a = self.call(
                json!(format!("read{n}")),
                "download.read",
                json!({"downloadId": id, "offset": offset}),
                limit,
            );
            let r = &a.json()["result"];
            text.push_str(r["text"].as_str().expect("download text"));
            offset = r["next"].as_u64().expect("next");
            if r["done"] == true {
                break;
            }
        }
        serde_json::from_str(&text).expect("the download is the JSON result")
    }

    /// Uploads `doc` with upload.begin/chunk; returns the upload id.
    pub fn upload(&mut self, doc: &[u8], limit: Duration) -> String {
        use sha2::Digest as _;
        let sha = hex::encode(sha2::Sha256::digest(doc));
        let a = self.call(
            json!("ub"),
            "upload.begin",
            json!({"size": doc.len(), "sha256": sha}),
            limit,
        );
        let r = &a.json()["result"];
        let id = r["uploadId"].as_str().expect("uploadId").to_string();
        let chunk = r["chunkSize"].as_u64().expect("chunkSize") as usize;
        for (i, piece) in doc.chunks(chunk).enumerate() {
            let a = self.call(
                json!(format!("uc{i}")),
                "upload.chunk",
                json!({"uploadId": id, "offset": i * chunk, "data": b64(piece)}),
                limit,
            );
            assert!(a.json().get("result").is_some(), "{:#}", a.json());
        }
        id
    }

    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

/// A PDF of `pages` pages; each page's content stream carries `filler`
/// bytes of comment lines, so the file is about `pages * filler` bytes.
pub fn big_pdf(pages: usize, filler: usize) -> Vec<u8> {
    let mut objects: Vec<Vec<u8>> = Vec::with_capacity(2 + 2 * pages);
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 3 + 2 * i)).collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    let line = b"% Mohor load-test filler, not drawn.............................\n";
    for i in 0..pages {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents {} 0 R >>",
                4 + 2 * i
            )
            .into_bytes(),
        );
        let mut content = Vec::with_capacity(filler + 64);
        while content.len() + line.len() <= filler {
            content.extend_from_slice(line);
        }
        content.extend_from_slice(b"0 0 1 rg 50 50 100 100 re f\n");
        let mut body = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        body.extend_from_slice(&content);
        body.extend_from_slice(b"\nendstream");
        objects.push(body);
    }
    crate::common::classic_pdf(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", &objects, "")
}

/// Deterministic xorshift, so every run tries the same inputs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `count` copies of `bytes`, each with one bit flipped (half of them in
/// the last 600 bytes, where the cross-reference data and trailer are),
/// named for a failure message.
pub fn bit_flips(bytes: &[u8], rng: &mut Rng, count: usize) -> Vec<(String, Vec<u8>)> {
    let n = bytes.len();
    (0..count)
        .map(|_| {
            let mut m = bytes.to_vec();
            let pos = if rng.next() & 1 == 0 {
                rng.below(n as u64) as usize
            } else {
                n - 1 - rng.below(n.min(600) as u64) as usize
            };
            let bit = rng.below(8);
            m[pos] ^= 1 << bit;
            (format!("bit {bit} of byte {pos} flipped"), m)
        })
        .collect()
}

/// Prints a figures line and keeps it in target/hardening/NAME.txt, which
/// tests/run-all.sh prints at the end and SECURITY.md records.
pub fn figures(name: &str, line: &str) {
    let dir = crate::common::repo().join("target/hardening");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), format!("{name}: {line}\n"));
    eprintln!("FIGURES {name}: {line}");
}

/// Files in `dir` (names), sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
