//! A client written from `docs/PROTOCOL.md` alone (`tests/protocol_client/client.py`,
//! Python + `websockets`) talks to a real `mohor serve`: hello, certificates.list,
//! sign.pdf (a small PDF inline, and one larger than a WebSocket message through
//! chunked upload and download), sign.data and sign.hash. The outputs are judged
//! by tools nobody here wrote: pyHanko and qpdf for the PDFs, `openssl cms -verify`
//! for the detached signatures.
#![cfg(feature = "scripted-prompts")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, MODULE};

/// The origin the client sends and the agent is told to allow.
const ORIGIN: &str = "http://127.0.0.1:8765";
/// PROTOCOL.md, "Limits": one message is at most 16 MiB.
const MESSAGE_LIMIT: u64 = 16 * 1024 * 1024;

/// `mohor serve` with scripted dialogs, killed when the test ends.
struct Server {
    /// Kills the agent when the test ends.
    _served: common::Served,
    port: u16,
    stderr: PathBuf,
}

impl Server {
    fn start(home: &Path, softhsm_conf: &Path, prompts: &Path, dir: &Path) -> Server {
        let stderr = dir.join("serve.stderr");
        let served = common::spawn_serve(
            common::mohor(home, softhsm_conf)
                .arg("--module")
                .arg(MODULE)
                .arg("--prompts")
                .arg(prompts)
                .args(["serve", "--port", "0", "--allow-origin", ORIGIN])
                .stderr(std::fs::File::create(&stderr).expect("create serve.stderr")),
            &stderr,
        );
        Server {
            port: served.port,
            _served: served,
            stderr,
        }
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

fn venv_python() -> Option<PathBuf> {
    let python = common::repo().join(".venv/bin/python");
    let ok = python.exists()
        && Command::new(&python)
            .args(["-c", "import websockets"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
    if ok {
        Some(python)
    } else if std::env::var_os("CI").is_some() {
        panic!("the venv's python with `websockets` is missing (run tests/setup.sh)");
    } else {
        eprintln!(
            "SKIPPED: {} with the `websockets` package is missing \
             (run tests/setup.sh, or .venv/bin/pip install websockets)",
            python.display()
        );
        None
    }
}

/// Run `cmd` with its output in files, killing it after `limit`.
fn run_with_deadline(
    cmd: &mut Command,
    dir: &Path,
    name: &str,
    limit: Duration,
) -> (bool, String, String) {
    let out_path = dir.join(format!("{name}.stdout"));
    let err_path = dir.join(format!("{name}.stderr"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("create stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("create stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the client") {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    match status {
        Some(s) => (s.success(), stdout, stderr),
        None => (false, stdout, format!("{stderr}\nKILLED after {limit:?}")),
    }
}

fn pyhanko_validate(pyhanko: &Path, pdf: &Path, root: &Path, cert_id: &str) {
    let out = common::run(
        Command::new(pyhanko)
            .args(["sign", "validate", "--trust"])
            .arg(root)
            .args(["--trust-replace", "--no-revocation-check"])
            .arg(pdf),
    );
    let text = common::text(&out);
    assert!(
        out.status.success(),
        "pyHanko rejects {}:\n{text}",
        pdf.display()
    );
    // `FIELD:FINGERPRINT:INTACT:TRUSTED,...`, and the certificate id is the
    // first 16 hex digits of the SHA-256 fingerprint.
    let line = text
        .lines()
        .find(|l| l.contains(":INTACT:"))
        .unwrap_or_else(|| panic!("pyHanko: {} not INTACT:\n{text}", pdf.display()));
    assert!(
        line.contains(":TRUSTED"),
        "pyHanko: {} not TRUSTED:\n{text}",
        pdf.display()
    );
    assert!(
        line.contains(&format!(":{cert_id}")),
        "pyHanko: {} signed by another certificate than {cert_id}:\n{text}",
        pdf.display()
    );
}

fn qpdf_check(pdf: &Path) {
    let out = common::run(Command::new("qpdf").arg("--check").arg(pdf));
    assert!(
        out.status.success(),
        "qpdf --check {}:\n{}",
        pdf.display(),
        common::text(&out)
    );
}

fn str_at<'a>(v: &'a serde_json::Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(|x| x.as_str())
        .unwrap_or_else(|| panic!("summary has no string at {pointer}:\n{v:#}"))
}

#[test]
fn client_written_from_the_protocol_reference_signs_everything() {
    if !common::have_tool("openssl") || !common::have_tool("qpdf") {
        return;
    }
    let Some(pyhanko) = common::pyhanko() else {
        return;
    };
    let Some(python) = venv_python() else {
        return;
    };
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048");
    let dir = common::test_dir("protocol_client");
    let softhsm_conf = fx.private_tokens(&dir);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("create MOHOR_HOME");

    // Four signing requests, each with its consent window and its PIN window.
    let prompts = dir.join("prompts.jsonl");
    std::fs::write(&prompts, common::approvals(&fx.user_pin, 4)).expect("write prompts");

    // Inputs: a small PDF, a PDF larger than one message, a text, bytes to hash.
    let client_dir = common::repo().join("tests/protocol_client");
    let small = dir.join("small.pdf");
    let big = dir.join("big.pdf");
    for (pdf, min_size) in [(&small, 0), (&big, MESSAGE_LIMIT + 1024 * 1024)] {
        let out = common::run(
            Command::new(&python)
                .arg(client_dir.join("make_pdf.py"))
                .arg(pdf)
                .arg(min_size.to_string()),
        );
        assert!(out.status.success(), "make_pdf.py: {}", common::text(&out));
        qpdf_check(pdf);
    }
    let big_size = std::fs::metadata(&big).expect("big.pdf").len();
    assert!(big_size > MESSAGE_LIMIT, "big.pdf is only {big_size} bytes");
    let text = "I approve order 12 for payment. मोहर";
    let hash_input = dir.join("hash-input.bin");
    let hash_bytes: Vec<u8> = b"bill 2026-114, computed by the portal\n"
        .iter()
        .copied()
        .chain((0..=255u8).cycle().take(5000))
        .collect();
    std::fs::write(&hash_input, &hash_bytes).expect("write hash input");

    let server = Server::start(&home, &softhsm_conf, &prompts, &dir);
    let out_dir = dir.join("out");
    let (ok, stdout, stderr) = run_with_deadline(
        Command::new(&python)
            .arg(client_dir.join("client.py"))
            .arg(server.port.to_string())
            .arg(&out_dir)
            .args(["--origin", ORIGIN, "--cert", &cert.id])
            .arg("--pdf")
            .arg(&small)
            .arg("--pdf")
            .arg(&big)
            .args(["--text", text])
            .arg("--hash-input")
            .arg(&hash_input),
        &dir,
        "client",
        Duration::from_secs(15 * 60),
    );
    let asked = std::fs::read_to_string(dir.join("prompts.jsonl.asked.jsonl")).unwrap_or_default();
    let context = || {
        format!(
            "client stdout:\n{stdout}\nclient stderr:\n{stderr}\ndialogs asked:\n{asked}\n\
             mohor serve stderr (tail):\n{}",
            server.stderr_tail()
        )
    };
    assert!(ok, "client.py failed\n{}", context());
    let summary: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("client summary is not JSON ({e})\n{}", context()));

    // hello and certificates.list
    assert_eq!(str_at(&summary, "/hello/product"), "Mohor", "{summary:#}");
    assert_eq!(summary.pointer("/hello/protocol"), Some(&1.into()));
    assert_eq!(str_at(&summary, "/certificate/id"), cert.id);
    let listed = summary["certificates"]
        .as_array()
        .unwrap_or_else(|| panic!("no certificates in the summary:\n{summary:#}"));
    assert!(
        listed
            .iter()
            .any(|c| c["id"] == cert.id.as_str() && c["usable"] == true),
        "certificates.list lacks the usable {} certificate:\n{summary:#}",
        cert.id
    );

    // Every answer names the proposed certificate and its holder.
    for pointer in ["/pdfs/0", "/pdfs/1", "/text", "/hash"] {
        assert_eq!(
            str_at(&summary, &format!("{pointer}/certificateId")),
            cert.id,
            "{pointer}"
        );
        assert!(
            str_at(&summary, &format!("{pointer}/signer")).eq_ignore_ascii_case(&cert.cn),
            "{pointer}: signer is not {}:\n{summary:#}",
            cert.cn
        );
        let stages = summary
            .pointer(&format!("{pointer}/progress"))
            .and_then(|s| s.as_array())
            .unwrap_or_else(|| panic!("{pointer}: no progress list"));
        assert_eq!(
            stages.last(),
            Some(&"done".into()),
            "{pointer}: progress did not end with done:\n{summary:#}"
        );
    }

    // The small PDF travelled inline, the big one in chunks both ways.
    assert_eq!(summary.pointer("/pdfs/0/uploaded"), Some(&false.into()));
    assert_eq!(summary.pointer("/pdfs/0/downloaded"), Some(&false.into()));
    assert_eq!(summary.pointer("/pdfs/1/uploaded"), Some(&true.into()));
    assert_eq!(summary.pointer("/pdfs/1/downloaded"), Some(&true.into()));
    let chunks = summary
        .pointer("/transfers/uploads/0/chunks")
        .and_then(|c| c.as_u64())
        .unwrap_or(0);
    assert!(
        chunks >= 2,
        "the big PDF went up in {chunks} chunk(s):\n{summary:#}"
    );

    // The PDFs: incremental updates that pyHanko and qpdf accept.
    for (input, pointer) in [(&small, "/pdfs/0"), (&big, "/pdfs/1")] {
        let signed = PathBuf::from(str_at(&summary, &format!("{pointer}/output")));
        let original = std::fs::read(input).expect("read input PDF");
        let signed_bytes = std::fs::read(&signed).expect("read signed PDF");
        assert!(
            signed_bytes.len() > original.len() && signed_bytes.starts_with(&original),
            "{} is not an incremental update of {}",
            signed.display(),
            input.display()
        );
        qpdf_check(&signed);
        pyhanko_validate(&pyhanko, &signed, &fx.root, &cert.id);
    }

    // sign.data: a detached CMS over exactly the text's UTF-8 bytes.
    let text_file = PathBuf::from(str_at(&summary, "/text/data"));
    assert_eq!(
        std::fs::read(&text_file).expect("read text.txt"),
        text.as_bytes()
    );
    let p7s = PathBuf::from(str_at(&summary, "/text/signature"));
    let out = common::openssl_verify_detached(&p7s, &text_file, &fx.root);
    assert!(
        out.status.success(),
        "openssl rejects the sign.data signature:\n{}",
        common::text(&out)
    );

    // sign.hash: a detached CMS whose messageDigest is SHA-256(hash_bytes), so
    // openssl verifies it against the original bytes...
    assert_eq!(
        str_at(&summary, "/hash/sha256"),
        common::hex_sha256(&hash_bytes)
    );
    let hash_p7s = PathBuf::from(str_at(&summary, "/hash/signature"));
    let out = common::openssl_verify_detached(&hash_p7s, &hash_input, &fx.root);
    assert!(
        out.status.success(),
        "openssl rejects the sign.hash signature:\n{}",
        common::text(&out)
    );
    // ...and, so that this judge is known to judge, not against other bytes.
    let tampered = dir.join("hash-input.tampered.bin");
    let mut other = hash_bytes.clone();
    other[0] ^= 1;
    std::fs::write(&tampered, &other).expect("write tampered input");
    let out = common::openssl_verify_detached(&hash_p7s, &tampered, &fx.root);
    assert!(
        !out.status.success(),
        "openssl accepted the sign.hash signature for other bytes:\n{}",
        common::text(&out)
    );

    // The refusals the reference documents, each with data.reason and data.hint.
    for (probe, code) in [
        ("wrong_digest_length", -32602),
        ("unknown_method", -32601),
        ("pin_field", -32600),
    ] {
        let p = &summary["probes"][probe];
        assert_eq!(p["code"], code, "probe {probe}:\n{summary:#}");
        assert_eq!(
            p["reason"], "INVALID_REQUEST",
            "probe {probe}:\n{summary:#}"
        );
        assert!(
            p["hint"].is_string(),
            "probe {probe}: no hint:\n{summary:#}"
        );
    }

    // Mohor asked for consent once per signature, naming the site.
    let consents = asked.lines().filter(|l| l.contains("\"consent\"")).count();
    assert_eq!(consents, 4, "consent dialogs:\n{asked}");
    assert!(
        asked.contains(ORIGIN),
        "the consent never named {ORIGIN}:\n{asked}"
    );
}

#[path = "desktop_agent/ws.rs"]
#[allow(dead_code)]
mod ws;

/// A private token store and a real `mohor serve` whose dialogs approve once
/// and type the right PIN once: `(test dir, MOHOR_HOME, server)`.
fn approving_server(name: &str) -> (PathBuf, PathBuf, Server) {
    let common::Approving {
        dir,
        softhsm_conf,
        home,
        prompts,
    } = common::approving(name);
    let server = Server::start(&home, &softhsm_conf, &prompts, &dir);
    (dir, home, server)
}

/// `sign.batch`: one consent and one PIN for every item, and items may name
/// the same certificate by different prefixes of its id; two different
/// certificates in one batch are refused before anyone is asked.
#[test]
fn a_batch_asks_once_and_items_may_name_one_certificate_by_any_prefix() {
    use base64::Engine as _;
    if !common::have_tool("openssl") {
        return;
    }
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let fx = Fixture::shared();
    let (dir, _home, server) = approving_server("protocol_batch");
    let mut c = ws::Connection::open(server.port, ORIGIN).expect("connect");
    let id = fx.cert("rsa2048").id;
    let first = b"Batch item one: sanction order 12/2026".to_vec();
    let second = b"Batch item two: hashed by the portal".to_vec();
    let digest = mohor::sign::DigestAlgorithm::Sha256.digest(&second);
    let reply = c.call(
        serde_json::json!(1),
        "sign.batch",
        Some(serde_json::json!({"items": [
            {"method": "sign.data", "params": {"data": b64(&first), "certificateId": &id[..8]}},
            {"method": "sign.hash", "params": {"digest": b64(&digest), "digestAlgorithm": "sha256", "certificateId": id}},
        ]})),
    );
    let results = reply.result()["results"]
        .as_array()
        .expect("results")
        .clone();
    assert_eq!(results.len(), 2, "{:#}", reply.answer);
    assert_eq!(reply.result()["certificateId"], id.as_str());
    for (i, (result, content)) in results.iter().zip([&first, &second]).enumerate() {
        let sig = base64::engine::general_purpose::STANDARD
            .decode(result["signature"].as_str().expect("signature"))
            .expect("base64");
        let (p7s, data) = (dir.join(format!("{i}.p7s")), dir.join(format!("{i}.txt")));
        std::fs::write(&p7s, sig).unwrap();
        std::fs::write(&data, content).unwrap();
        let v = common::openssl_verify_detached(&p7s, &data, &fx.root);
        assert!(v.status.success(), "item {i}: {}", common::text(&v));
    }
    let asked =
        || std::fs::read_to_string(dir.join("prompts.jsonl.asked.jsonl")).unwrap_or_default();
    let dialogs: Vec<String> = asked().lines().map(str::to_owned).collect();
    assert_eq!(
        dialogs.len(),
        2,
        "one consent and one PIN for the whole batch: {dialogs:#?}"
    );
    assert!(
        dialogs[0].contains("\"dialog\":\"consent\"") && dialogs[1].contains("\"dialog\":\"pin\"")
    );

    let other = fx.cert("ec256").id;
    let reply = c.call(
        serde_json::json!(2),
        "sign.batch",
        Some(serde_json::json!({"items": [
            {"method": "sign.data", "params": {"data": b64(&first), "certificateId": id}},
            {"method": "sign.data", "params": {"data": b64(&second), "certificateId": other}},
        ]})),
    );
    assert_eq!(reply.reason(), "INVALID_REQUEST", "{:#}", reply.answer);
    assert_eq!(
        asked().lines().count(),
        2,
        "a refused batch showed a dialog"
    );
    drop(server);
}

/// A batch with a damaged PDF among good items: the good ones are signed, the
/// bad one answers its own error, the consent listed it as "will not be
/// signed", and the audit log has every item.
#[test]
fn a_batch_answers_per_item_and_a_damaged_document_costs_the_others_nothing() {
    use base64::Engine as _;
    if !common::have_tool("openssl") {
        return;
    }
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let fx = Fixture::shared();
    let (dir, home, server) = approving_server("protocol_batch_per_item");
    let mut c = ws::Connection::open(server.port, ORIGIN).expect("connect");
    let id = fx.cert("rsa2048").id;
    let text = b"Sanction order 12/2026".to_vec();
    let reply = c.call(
        serde_json::json!(1),
        "sign.batch",
        Some(serde_json::json!({"items": [
            {"method": "sign.data", "params": {"data": b64(&text), "certificateId": id}},
            {"method": "sign.pdf", "params": {"document": b64(b"%PDF-1.7\n%%EOF\n"), "fileName": "broken.pdf"}},
            {"method": "sign.hash", "params": {"digest": b64(&[9u8; 48]), "digestAlgorithm": "sha384"}},
        ]})),
    );
    let results = reply.result()["results"]
        .as_array()
        .expect("results")
        .clone();
    assert_eq!(results.len(), 3, "{:#}", reply.answer);
    let sig = base64::engine::general_purpose::STANDARD
        .decode(results[0]["signature"].as_str().expect("signature"))
        .expect("base64");
    let (p7s, data) = (dir.join("0.p7s"), dir.join("0.txt"));
    std::fs::write(&p7s, sig).unwrap();
    std::fs::write(&data, &text).unwrap();
    let v = common::openssl_verify_detached(&p7s, &data, &fx.root);
    assert!(v.status.success(), "{}", common::text(&v));
    assert_eq!(results[1]["error"]["data"]["reason"], "DOCUMENT_REFUSED");
    assert_eq!(results[2]["error"]["data"]["reason"], "INVALID_REQUEST");
    assert!(results[1].get("document").is_none());

    let asked = std::fs::read_to_string(dir.join("prompts.jsonl.asked.jsonl")).unwrap();
    let consent: serde_json::Value =
        serde_json::from_str(asked.lines().next().expect("consent asked")).unwrap();
    let docs = consent["request"]["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 3);
    assert!(docs[1]["refused"].is_string() && docs[2]["refused"].is_string());

    let audit = std::fs::read_to_string(home.join("state/audit.jsonl")).unwrap();
    let outcomes: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["result"].to_string())
        .collect();
    assert_eq!(
        outcomes,
        ["\"ok\"", "\"DOCUMENT_REFUSED\"", "\"INVALID_REQUEST\""]
    );
    drop(server);
}
