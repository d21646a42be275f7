//! The `verify` method over WebSocket: a real `mohor serve` announces it in
//! `hello`, answers with the same report as `mohor verify --json` (the
//! schema of docs/PROTOCOL.md), and writes an audit line for it.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod verify_util;
#[path = "desktop_agent/ws.rs"]
#[allow(dead_code)]
mod ws;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use verify_util::*;

const ORIGIN: &str = "http://127.0.0.1:8765";

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn verify_over_websocket_answers_the_cli_report_and_is_audited() {
    if !corpus_available() {
        return;
    }
    let fx = fixture();
    let dir = test_dir("verify_ws");
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    // Trust only the test root, as the CLI run below does.
    std::fs::write(
        home.join("config.toml"),
        format!(
            "trust_roots = [{:?}]\ntrust_roots_replace = true\n",
            fx.root.display().to_string()
        ),
    )
    .unwrap();
    let signed = dir.join("signed.pdf");
    let mut s = fx.software_signer("rsa2048");
    let mut o = verify_util::pdf_util::opts("rsa2048");
    o.signing_time = time::OffsetDateTime::now_utc();
    mohor::pdf::sign_file(&corpus("pyhanko-minimal.pdf"), &signed, &mut s, &o).unwrap();

    let mut child = pdf_util::common::mohor(&home, &fx.softhsm2_conf)
        .args(["serve", "--port", "0", "--allow-origin", ORIGIN])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Serve(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    let first = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Some(Ok(line))) => line,
        other => panic!("mohor serve printed no first line: {other:?}"),
    };
    let port: u16 = first
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap();
    let mut c = ws::Connection::open(port, ORIGIN).unwrap();

    let hello = c.call(json!(1), "hello", None);
    assert!(hello.result()["capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("verify")));

    let reply = c.call(
        json!(2),
        "verify",
        Some(json!({"document": b64(&std::fs::read(&signed).unwrap())})),
    );
    let over_ws = reply.result().clone();
    let (cli, code, t) = mohor_report(&signed, std::slice::from_ref(&fx.root), None);
    assert_eq!(code, 0, "{t}");
    assert_eq!(over_ws, cli, "the method and the CLI disagree");
    assert_eq!(over_ws["signatures"][0]["trusted"], true);

    // Detached: data travels as `data`; a wrong one breaks the signature.
    let p7s = dir.join("d.p7s");
    let data = dir.join("d.txt");
    std::fs::write(&data, b"note").unwrap();
    let o = run(std::process::Command::new("openssl")
        .args([
            "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256", "-in",
        ])
        .arg(&data)
        .arg("-signer")
        .arg(&fx.cert("ec256").cert)
        .arg("-inkey")
        .arg(&fx.cert("ec256").key)
        .arg("-out")
        .arg(&p7s));
    assert!(o.status.success(), "{}", text(&o));
    let p7s_b64 = b64(&std::fs::read(&p7s).unwrap());
    let good = c.call(
        json!(3),
        "verify",
        Some(json!({"document": p7s_b64, "data": b64(b"note")})),
    );
    assert_eq!(
        good.result()["signatures"][0]["intact"],
        true,
        "{:#}",
        good.answer
    );
    assert_eq!(good.result()["signatures"][0]["kind"], "detached");
    let bad = c.call(
        json!(4),
        "verify",
        Some(json!({"document": p7s_b64, "data": b64(b"nope")})),
    );
    assert_eq!(
        bad.result()["signatures"][0]["intact"],
        false,
        "{:#}",
        bad.answer
    );
    let none = c.call(json!(5), "verify", Some(json!({"document": p7s_b64})));
    assert_eq!(none.reason(), "INVALID_REQUEST", "{:#}", none.answer);
    let junk = c.call(json!(6), "verify", Some(json!({"document": b64(b"hello")})));
    assert_eq!(junk.reason(), "DOCUMENT_REFUSED", "{:#}", junk.answer);
    // A PDF carries what it signs: `data` beside it is refused, not ignored
    // (before, the PDF's own report came back as if the data had been checked).
    let pdf_with_data = c.call(
        json!(7),
        "verify",
        Some(json!({"document": b64(&std::fs::read(&signed).unwrap()), "data": b64(b"note")})),
    );
    assert_eq!(
        pdf_with_data.reason(),
        "INVALID_REQUEST",
        "{:#}",
        pdf_with_data.answer
    );
    assert_eq!(
        pdf_with_data.answer.pointer("/error/code"),
        Some(&json!(-32602)),
        "{:#}",
        pdf_with_data.answer
    );
    drop(server);

    // Every request is in the audit log, with its origin.
    let out = run(pdf_util::common::mohor(&home, &fx.softhsm2_conf).args(["history", "--json"]));
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verifies: Vec<&serde_json::Value> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "verify" && e["origin"] == ORIGIN)
        .collect();
    assert_eq!(verifies.len(), 6, "{h:#}");
    assert!(
        verifies.iter().any(|e| e["result"] == "INVALID_REQUEST"),
        "{h:#}"
    );
    assert!(
        verifies
            .iter()
            .any(|e| e["result"] == "ok" && e["signer"] == "Asha Verma"),
        "{h:#}"
    );
}
