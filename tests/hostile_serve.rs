//! Hostile and broken input over a real `mohor serve` (SoftHSM fixture token,
//! scripted dialogs that approve nothing): malformed, oversized and deeply
//! nested JSON, invalid base64, unknown methods, every message out of order
//! (upload chunks before begin, download before any result, cancel of
//! unknown ids …), and every damaged, truncated and bit-flipped corpus PDF
//! sent for signing. Each gets a typed error within a bound, no panic, no
//! dialog for what cannot be signed, the agent keeps serving, and nothing is
//! left in its spool folder.
#![cfg(feature = "scripted-prompts")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
mod harden;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Fixture, MODULE};
use harden::{b64, figures, Answer, Client, Rng, Serve, ORIGIN};
use serde_json::{json, Value};

const BOUND: Duration = Duration::from_secs(20);

struct Agent {
    serve: Serve,
    home: PathBuf,
    prompts: PathBuf,
}

/// An agent whose dialogs answer nothing (every consent is declined).
fn agent(name: &str) -> Agent {
    let fx = Fixture::shared();
    let dir = common::test_dir(name);
    let conf = fx.private_tokens(&dir);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let prompts = dir.join("prompts.jsonl");
    std::fs::write(&prompts, "").unwrap();
    let serve = Serve::start(&home, &conf, Path::new(MODULE), &prompts, &[]);
    Agent {
        serve,
        home,
        prompts,
    }
}

impl Agent {
    fn asked(&self) -> Vec<Value> {
        common::asked(&self.prompts)
    }

    /// Documents left in the spool: files below it, but not the running
    /// agent's own (empty) run folder and its lock.
    fn spool(&self) -> Vec<String> {
        fn files(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    files(&path, out);
                } else if entry.file_name() != ".lock" {
                    out.push(path.display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        files(&self.home.join("state/spool"), &mut out);
        out
    }

    /// The agent is alive, never panicked, and serves a fresh client.
    fn still_serving(&mut self) {
        assert!(
            self.serve.alive(),
            "mohor serve died:\n{}",
            self.serve.stderr_text()
        );
        let mut c = Client::open(self.serve.port, ORIGIN).expect("connect");
        assert!(c.hello_ok(), "a fresh client is not served");
        c.close();
        assert!(
            !self.serve.stderr_text().contains("panicked"),
            "{}",
            self.serve.stderr_text()
        );
    }
}

fn rpc(id: i64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// (what, frame): every one must be refused with an error answer.
fn hostile_frames() -> Vec<(&'static str, String)> {
    let sha = "ab".repeat(32);
    let deep_params = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"hello\",\"params\":{{\"a\":{}}}}}",
        nested(200)
    );
    vec![
        ("not JSON", "hello, agent".into()),
        ("truncated JSON", "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth".into()),
        ("100,000 nested arrays", nested(100_000)),
        ("200 nested arrays in params", deep_params),
        ("a JSON-RPC batch array", format!("[{}]", rpc(1, "hello", json!({})))),
        ("a bare string", "\"hello\"".into()),
        ("unknown method", rpc(1, "sign.everything", json!({}))),
        ("method is a number", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}".into()),
        ("id is an object", "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"hello\"}".into()),
        ("no id", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\"}".into()),
        ("JSON-RPC 1.0", "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"hello\"}".into()),
        ("params is an array", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":[1]}".into()),
        ("an extra member", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"x\":1}".into()),
        ("an id of 10,000 characters", format!("{{\"jsonrpc\":\"2.0\",\"id\":\"{}\",\"method\":\"hello\"}}", "i".repeat(10_000))),
        ("a PIN field", rpc(1, "sign.data", json!({"data": "AA==", "pin": "123456"}))),
        ("a nested userPin", rpc(1, "sign.data", json!({"data": "AA==", "options": {"userPin": "1"}}))),
        ("invalid base64 data", rpc(1, "sign.data", json!({"data": "@@@not base64@@@"}))),
        ("base64 with bad padding", rpc(1, "sign.data", json!({"data": "QUJD="}))),
        ("data is a number", rpc(1, "sign.data", json!({"data": 12}))),
        ("invalid base64 digest", rpc(1, "sign.hash", json!({"digest": "%%%", "digestAlgorithm": "sha256"}))),
        ("a digest of the wrong length", rpc(1, "sign.hash", json!({"digest": b64(&[1; 7]), "digestAlgorithm": "sha256"}))),
        ("an unknown digest algorithm", rpc(1, "sign.hash", json!({"digest": b64(&[1; 32]), "digestAlgorithm": "md5"}))),
        ("invalid base64 document", rpc(1, "sign.pdf", json!({"document": "!!", "fileName": "a.pdf"}))),
        ("a document that is not a PDF", rpc(1, "sign.pdf", json!({"document": b64(b"hello"), "fileName": "a.pdf"}))),
        ("a file name with nothing visible", rpc(1, "sign.pdf", json!({"document": b64(b"%PDF-1.7"), "fileName": "\u{200b}"}))),
        ("a file name of a megabyte", rpc(1, "sign.pdf", json!({"document": b64(b"%PDF-1.7"), "fileName": "a".repeat(1 << 20)}))),
        ("a lone surrogate", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sign.pdf\",\"params\":{\"document\":\"JVBERg==\",\"fileName\":\"\\ud800.pdf\"}}".into()),
        ("a stamp on page 0", rpc(1, "sign.pdf", json!({"document": b64(b"%PDF-1.7"), "fileName": "a.pdf", "appearance": {"page": 0, "x": 1, "y": 1, "width": 1, "height": 1}}))),
        ("a stamp of NaN size", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sign.pdf\",\"params\":{\"document\":\"JVBERg==\",\"fileName\":\"a.pdf\",\"appearance\":{\"page\":1,\"x\":1e400,\"y\":1,\"width\":1,\"height\":1}}}".into()),
        ("an empty batch", rpc(1, "sign.batch", json!({"items": []}))),
        ("a batch of 2,000 items with bad base64", rpc(1, "sign.batch", json!({"items": vec![json!({"data": "*"}); 2000]}))),
        ("a certificate filter of the wrong type", rpc(1, "certificates.list", json!({"filter": {"class": "three"}}))),
        ("upload.chunk before upload.begin", rpc(1, "upload.chunk", json!({"uploadId": "u1", "offset": 0, "data": "AA=="}))),
        ("upload.begin of size 0", rpc(1, "upload.begin", json!({"size": 0, "sha256": sha}))),
        ("upload.begin of a petabyte", rpc(1, "upload.begin", json!({"size": 1u64 << 50, "sha256": sha}))),
        ("upload.begin with a short sha256", rpc(1, "upload.begin", json!({"size": 4, "sha256": "abcd"}))),
        ("upload.begin with a negative size", rpc(1, "upload.begin", json!({"size": -1, "sha256": sha}))),
        ("upload.cancel of an unknown upload", rpc(1, "upload.cancel", json!({"uploadId": "u999"}))),
        ("sign.pdf naming an unknown upload", rpc(1, "sign.pdf", json!({"document": {"upload": "u42"}, "fileName": "a.pdf"}))),
        ("sign.pdf naming an upload of another type", rpc(1, "sign.pdf", json!({"document": {"upload": 42}, "fileName": "a.pdf"}))),
        ("sign.batch naming an unknown upload", rpc(1, "sign.batch", json!({"items": [{"method": "sign.pdf", "params": {"document": {"upload": "u9"}, "fileName": "a.pdf"}}]}))),
        ("download.read before any result", rpc(1, "download.read", json!({"downloadId": "d1", "offset": 0}))),
        ("download.read at a huge offset", rpc(1, "download.read", json!({"downloadId": "d1", "offset": u64::MAX}))),
        ("download.discard of an unknown download", rpc(1, "download.discard", json!({"downloadId": "d7"}))),
        ("cancel without an id", rpc(1, "cancel", json!({}))),
        // Two million values in a 14 MB frame: built as JSON values it took
        // 1.6 GB on the agent's only async thread.
        ("an array of two million objects", format!("[{}0]", "{\"\":0},".repeat(2_000_000))),
        ("hello with a million numbers in params", format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{{\"x\":[{}0]}}}}", "0,".repeat(1_000_000))),
        ("a progress notification sent to the agent", "{\"jsonrpc\":\"2.0\",\"method\":\"progress\",\"params\":{\"id\":1,\"stage\":\"done\"}}".into()),
    ]
}

fn id_of(frame: &str) -> Value {
    serde_json::from_str::<Value>(frame)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .filter(|id| id.is_i64() || id.as_str().is_some_and(|s| s.len() < 100))
        .unwrap_or(Value::Null)
}

#[test]
fn hostile_messages_get_typed_errors_and_the_agent_keeps_serving() {
    let mut a = agent("hostile_messages");
    let mut c = Client::open(a.serve.port, ORIGIN).unwrap();
    let start = Instant::now();
    let mut tried = 0;
    for (what, frame) in hostile_frames() {
        let t = Instant::now();
        let answer = c.raw(id_of(&frame), frame, BOUND);
        let reason = answer
            .error()
            .unwrap_or_else(|| panic!("{what}: no error: {:#}", answer.json()));
        assert!(
            answer.json()["error"]["message"].is_string(),
            "{what}: {reason}"
        );
        assert!(t.elapsed() < BOUND, "{what} took {:?}", t.elapsed());
        assert!(c.hello_ok(), "{what}: the connection stopped serving");
        tried += 1;
    }

    // Out of order on one connection: a chunk past the end, at the wrong
    // offset, after the upload was used; cancel of an id never sent.
    let doc = b"%PDF-1.7 not really".to_vec();
    let id = c.upload(&doc[..10], BOUND); // declared and sent: 10 bytes, complete
    let order = [
        (
            "a chunk after the upload completed",
            "upload.chunk",
            json!({"uploadId": id, "offset": 10, "data": b64(b"x")}),
        ),
        (
            "a chunk at offset 0 again",
            "upload.chunk",
            json!({"uploadId": id, "offset": 0, "data": b64(b"x")}),
        ),
        (
            "cancel of a request never sent",
            "cancel",
            json!({"id": 987654}),
        ),
    ];
    for (what, method, params) in order {
        let answer = c.call(json!(50), method, params, BOUND);
        // cancel of an unknown id may be acknowledged; it must be answered.
        if method != "cancel" {
            assert!(answer.error().is_some(), "{what}: {:#}", answer.json());
        }
        tried += 1;
    }
    let used = c.call(
        json!(51),
        "sign.pdf",
        json!({"document": {"upload": id}, "fileName": "a.pdf"}),
        BOUND,
    );
    assert!(used.error().is_some(), "{:#}", used.json());
    let again = c.call(
        json!(52),
        "sign.pdf",
        json!({"document": {"upload": id}, "fileName": "a.pdf"}),
        BOUND,
    );
    assert!(
        again.error().is_some(),
        "an upload was used twice: {:#}",
        again.json()
    );
    tried += 2;

    // Over the message limit (16 MiB): close 1009, and the agent serves on.
    let big = rpc(60, "sign.data", json!({"data": "A".repeat(17 << 20)}));
    match c.raw(json!(60), big, BOUND) {
        Answer::Closed(code) => assert!(matches!(code, Some(1009) | None), "{code:?}"),
        Answer::Json(v) => panic!("an oversized message was answered: {v:#}"),
    }
    tried += 1;
    a.still_serving();
    let peak = a.serve.peak_rss_mib();
    assert!(peak < 256, "the agent's peak memory was {peak} MiB");
    let asked = a.asked();
    assert!(asked.is_empty(), "dialogs were shown: {asked:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(a.spool().is_empty(), "left in the spool: {:?}", a.spool());
    figures(
        "hostile_messages",
        &format!(
            "inputs tried={tried}, typed errors={tried}, panics=0, hangs=0, dialogs shown=0, spool files left=0 ({:.1}s)",
            start.elapsed().as_secs_f64()
        ),
    );
}

fn corpus_files(limit: u64) -> Vec<PathBuf> {
    let dir = common::repo().join("../shared/corpus/pdf");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| {
        p.extension().is_some_and(|e| e == "pdf")
            && std::fs::metadata(p).is_ok_and(|m| m.len() < limit)
    });
    v.sort();
    v
}

/// Deterministic damage: truncations and bit flips (the structural tail is
/// hit more often), named for the failure message.
pub fn variants(bytes: &[u8], rng: &mut Rng, flips: usize) -> Vec<(String, Vec<u8>)> {
    let n = bytes.len();
    let mut v = Vec::new();
    for (name, cut) in [
        ("1/3", n / 3),
        ("2/3", 2 * n / 3),
        ("n-7", n.saturating_sub(7)),
    ] {
        v.push((format!("truncated at {name}"), bytes[..cut].to_vec()));
    }
    v.extend(harden::bit_flips(bytes, rng, flips));
    v
}

#[test]
fn every_damaged_and_mutated_corpus_pdf_is_refused_with_a_reason_over_the_wire() {
    let files = corpus_files(3 << 20);
    if files.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the PDF corpus is missing"
        );
        eprintln!("SKIPPED: ../shared/corpus/pdf is missing");
        return;
    }
    let mut a = agent("hostile_corpus_wire");
    let mut c = Client::open(a.serve.port, ORIGIN).unwrap();
    let mut rng = Rng(0x5EED_0FC0_FFEE);
    let start = Instant::now();
    let (mut tried, mut refused, mut declined) = (0, 0, 0);
    let mut id = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let mut all = vec![("as it is".to_string(), bytes.clone())];
        all.extend(variants(&bytes, &mut rng, 2));
        for (what, doc) in all {
            id += 1;
            let t = Instant::now();
            let answer = c.call(
                json!(id),
                "sign.pdf",
                json!({"document": b64(&doc), "fileName": "corpus.pdf"}),
                BOUND,
            );
            let name = f.file_name().unwrap().to_string_lossy();
            let reason = answer.error().unwrap_or_else(|| {
                panic!("{name} {what}: signed without consent: {:#}", answer.json())
            });
            assert!(
                answer.json().get("result").is_none(),
                "{name} {what}: partial output"
            );
            match reason.as_str() {
                // Readable: the person was asked, and (scripted) declined.
                "USER_CANCELLED" => declined += 1,
                "DOCUMENT_REFUSED" | "INVALID_REQUEST" => refused += 1,
                other => panic!(
                    "{name} {what}: unexpected reason {other}: {:#}",
                    answer.json()
                ),
            }
            assert!(t.elapsed() < BOUND, "{name} {what}: {:?}", t.elapsed());
            tried += 1;
        }
        assert!(c.hello_ok(), "{} broke the connection", f.display());
    }
    a.still_serving();
    // Nothing that cannot be signed ever reached a dialog, and no PIN was asked.
    let asked = a.asked();
    assert_eq!(asked.len(), declined, "one consent per readable document");
    assert!(asked.iter().all(|e| e["dialog"] == "consent"), "{asked:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(a.spool().is_empty(), "left in the spool: {:?}", a.spool());
    figures(
        "hostile_corpus_wire",
        &format!(
            "files={}, inputs tried={tried}, refused with a reason={refused}, readable and declined={declined}, panics=0, hangs=0, partial outputs=0 ({:.1}s)",
            files.len(),
            start.elapsed().as_secs_f64()
        ),
    );
}
