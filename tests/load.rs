//! Load on a real `mohor serve` (SoftHSM fixture token, scripted dialogs):
//! 60 clients call `hello` and `certificates.list` in a loop, for a bounded
//! time, while one more uploads a 50 MB PDF, has it signed and reads the
//! signed document back. No well-behaved client sees an error, the agent's
//! peak memory is reported (and bounded), pyHanko finds the signature
//! valid, and with the connection cap (64) reached the 65th connection is
//! refused with a clean 503 while the server keeps serving. Loopback only.
//! And a page's `hello` is answered while another page's 100-item batch with
//! long QR payloads is still being checked (off the thread serving pages).
#![cfg(feature = "scripted-prompts")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod harden;
mod pdf_util;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harden::{big_pdf, figures, unb64, Client, Serve, ORIGIN};
use pdf_util::common::{self, Fixture, MODULE};
use serde_json::json;

const CLIENTS: usize = 60;
/// The loops stop by themselves after this long, whatever happens.
const MAX_LOAD: Duration = Duration::from_secs(300);
/// The agent's peak resident memory must stay under this.
const RSS_LIMIT_MIB: u64 = 1024;

#[derive(Default)]
struct Tally {
    calls: AtomicU64,
    errors: AtomicU64,
    slowest_ms: AtomicU64,
}

fn well_behaved(port: u16, stop: Arc<AtomicBool>, tally: Arc<Tally>, n: usize) {
    let deadline = Instant::now() + MAX_LOAD;
    let mut c = match Client::open(port, ORIGIN) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("client {n}: cannot connect: {e}");
            tally.errors.fetch_add(1, Ordering::SeqCst);
            return;
        }
    };
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        i += 1;
        let t = Instant::now();
        let (method, params) = if i.is_multiple_of(2) {
            ("hello", json!({}))
        } else {
            ("certificates.list", json!({}))
        };
        let a = c.call(json!(i), method, params, Duration::from_secs(120));
        let ok = match &a {
            harden::Answer::Json(v) => v.get("result").is_some(),
            harden::Answer::Closed(_) => false,
        };
        if !ok {
            eprintln!("client {n}: {method} failed: {a:?}");
            tally.errors.fetch_add(1, Ordering::SeqCst);
            return;
        }
        tally.calls.fetch_add(1, Ordering::SeqCst);
        tally
            .slowest_ms
            .fetch_max(t.elapsed().as_millis() as u64, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(20));
    }
    c.close();
}

/// The HTTP status a WebSocket handshake gets (101 when upgraded).
fn handshake_status(port: u16) -> (u16, Option<Client>) {
    match Client::open(port, ORIGIN) {
        Ok(c) => (101, Some(c)),
        Err(e) => {
            let code = e
                .split(|ch: char| !ch.is_ascii_digit())
                .find(|w| w.len() == 3)
                .and_then(|w| w.parse().ok())
                .unwrap_or(0);
            (code, None)
        }
    }
}

#[test]
fn sixty_clients_and_a_50_mb_signature_at_once() {
    let fx = Fixture::shared();
    let common::Approving {
        dir,
        softhsm_conf: conf,
        home,
        prompts,
    } = common::approving("load");
    let serve = Serve::start(&home, &conf, std::path::Path::new(MODULE), &prompts, &[]);
    let doc = big_pdf(500, 100_000);
    let start = Instant::now();

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (stop, tally, port) = (stop.clone(), tally.clone(), serve.port);
            std::thread::spawn(move || well_behaved(port, stop, tally, n))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));

    // The signer: upload, sign, read the answer back.
    let mut signer = Client::open(serve.port, ORIGIN).unwrap();
    let upload = signer.upload(&doc, Duration::from_secs(120));
    let answer = signer.call(
        json!("big"),
        "sign.pdf",
        json!({"document": {"upload": upload}, "fileName": "tender-50mb.pdf", "certificateId": fx.cert("rsa2048").id}),
        MAX_LOAD,
    );
    assert!(answer.error().is_none(), "sign.pdf: {:#}", answer.json());
    let result = signer.whole_result(answer.json(), Duration::from_secs(120));
    let signed = unb64(
        result["document"]
            .as_str()
            .unwrap_or_else(|| panic!("{result:#}")),
    );
    let field = result["field"].as_str().unwrap().to_string();
    let sign_time = start.elapsed();

    // The cap: 60 + the signer + 3 more = 64; the 65th is refused, cleanly.
    let holders: Vec<Client> = (0..3)
        .map(|_| Client::open(serve.port, ORIGIN).expect("a connection under the cap"))
        .collect();
    let (status, extra) = handshake_status(serve.port);
    assert_eq!(status, 503, "the 65th connection");
    drop(extra);
    drop(holders); // closed without a close frame: the server notices and frees slots
    let freed = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        handshake_status(serve.port).0 == 101
    });
    assert!(freed, "slots were not freed after clients went away");

    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    assert!(signer.hello_ok(), "the signer's connection stopped serving");
    let peak = serve.peak_rss_mib();
    let errors = tally.errors.load(Ordering::SeqCst);
    let calls = tally.calls.load(Ordering::SeqCst);
    assert_eq!(errors, 0, "well-behaved clients saw errors");
    assert!(peak > 0 && peak < RSS_LIMIT_MIB, "peak RSS {peak} MiB");
    drop(serve);

    let out = dir.join("signed-50mb.pdf");
    std::fs::write(&out, &signed).unwrap();
    assert!(
        signed.starts_with(&doc),
        "not an incremental update of the input"
    );
    let mut valid = "not checked (pyHanko missing)".to_string();
    if pdf_util::pyhanko().is_some() {
        let v = pdf_util::pyhanko_validate(&out, &field);
        assert!(v.valid(), "pyHanko:\n{}", v.output);
        valid = "valid (pyHanko)".into();
    }
    figures(
        "load",
        &format!(
            "clients held={CLIENTS}+1 signer (+3 to the cap of 64), calls={calls}, errors=0, slowest call={}ms, 65th connection=HTTP {status}, 50 MB PDF signed in {:.1}s, signature {valid}, agent peak RSS={peak} MiB",
            tally.slowest_ms.load(Ordering::SeqCst),
            sign_time.as_secs_f64()
        ),
    );
}

/// A QR payload of about 2,300 bytes (what a version 39–40 symbol holds
/// at error correction M): Mohor tries versions until one holds it.
fn long_qr_payload(n: usize) -> String {
    let mut rng = harden::Rng(0x5eed + n as u64);
    let mut payload = format!("UIN:AMD0152022{n:06}");
    while payload.len() < 2_300 {
        let field: String = (0..20)
            .map(|_| char::from(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[rng.below(32) as usize]))
            .collect();
        payload.push_str(&format!("|F:{field}"));
    }
    payload
}

/// Checking a 100-item `sign.batch` whose stamps carry long QR payloads is
/// real CPU work (every payload is fitted to a QR version). It must not be
/// done on the thread that serves every page: a `hello` another page sends
/// while the batch is being checked is answered before the batch's answer.
/// The batch's last payload fits no QR code, so its answer (-32602 naming
/// that item) comes as soon as the check ends.
#[test]
fn a_page_is_answered_while_a_heavy_batch_is_checked() {
    let common::Approving {
        softhsm_conf: conf,
        home,
        prompts,
        ..
    } = common::approving("load_heavy_batch");
    std::fs::write(&prompts, "").unwrap(); // nothing is approved
    let serve = Serve::start(&home, &conf, std::path::Path::new(MODULE), &prompts, &[]);
    let doc = harden::b64(&common::tiny_pdf());
    let items: Vec<_> = (0..100)
        .map(|i| {
            let qr = if i == 99 {
                "x".repeat(2_900) // bytes: more than version 40 holds at M
            } else {
                long_qr_payload(i)
            };
            json!({"method": "sign.pdf", "params": {
                "document": doc, "fileName": format!("certificate-{i}.pdf"),
                "appearance": {"page": 1, "x": 50, "y": 50, "width": 200, "height": 100, "qr": qr},
            }})
        })
        .collect();
    let batch = json!({"jsonrpc": "2.0", "id": "batch", "method": "sign.batch", "params": {"items": items}});

    let mut other = Client::open(serve.port, ORIGIN).unwrap();
    assert!(other.hello_ok());
    let mut page = Client::open(serve.port, ORIGIN).unwrap();
    page.send_text(batch.to_string()).unwrap();
    // Set-up, not a bound: the agent has read the frame and is checking it
    // (which takes far longer) when the other page's hello comes.
    std::thread::sleep(Duration::from_millis(100));
    let asked = Instant::now();
    let hello = other.call(json!("hello"), "hello", json!({}), Duration::from_secs(120));
    let hello_ms = asked.elapsed().as_millis();
    let batch_done_first = page.message_waiting();
    let refused = page.answer_for(&json!("batch"), Duration::from_secs(120));
    let batch_ms = asked.elapsed().as_millis();
    eprintln!("hello answered after {hello_ms} ms, the batch after {batch_ms} ms");

    assert_eq!(
        hello.json()["result"]["product"],
        "Mohor",
        "{:#}",
        hello.json()
    );
    assert_eq!(
        refused.json()["error"]["code"],
        -32602,
        "{:#}",
        refused.json()
    );
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("items[99]"), "{message}");
    assert!(
        !batch_done_first,
        "the hello was answered only after the batch's check ({hello_ms} ms)"
    );
}
