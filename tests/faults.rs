//! Faults while signing, with real `mohor` processes: the token pulled out
//! (token-sim `remove_on`) during login, during signing and between the
//! items of a batch; a full disk and a read-only output folder; `kill -9`
//! at random moments while a large signed PDF is written, and while the
//! state (wrong-PIN counters, audit log) is being updated. Afterwards the
//! complete signed file or none exists under the output name, the input is
//! unchanged, and the counters and the audit log are intact and never
//! count fewer wrong PINs than the token did.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
mod harden;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use harden::{big_pdf, figures, listing, Rng};
use serde_json::{json, Value};
use sha2::Digest as _;

const WRONG: &str = "000000";

fn tiny_pdf(dir: &Path) -> PathBuf {
    let p = dir.join("note.pdf");
    std::fs::write(&p, big_pdf(1, 200)).unwrap();
    p
}

fn sha(p: &Path) -> Vec<u8> {
    sha2::Sha256::digest(std::fs::read(p).unwrap()).to_vec()
}

/// `mohor sign` with the PIN on stdin; killed (and the test failed) if it
/// takes longer than two minutes.
fn sign_pdf(s: &SimSetup, input: &Path, output: &Path, pin: &str) -> std::process::Output {
    let cert = Fixture::shared().cert("rsa2048").id;
    let mut c = s.mohor(&["--pin-stdin", "sign", "--cert", &cert]);
    c.arg(input)
        .arg("-o")
        .arg(output)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(format!("{pin}\n").as_bytes());
    }
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mohor sign hung for two minutes");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = child.wait_with_output().unwrap();
    assert_no_panic(&o);
    o
}

fn reason_of(o: &std::process::Output) -> String {
    let e = stderr(o);
    for r in [
        "TOKEN_REMOVED",
        "TOKEN_NOT_PRESENT",
        "IO_ERROR",
        "MODULE_ERROR",
        "PIN_INCORRECT",
        "PIN_GUARD_LOCKED",
    ] {
        if e.contains(r) {
            return r.to_string();
        }
    }
    format!("no known reason in: {e}")
}

/// Pulled out in `function`: a typed error, no output, input unchanged,
/// no wrong PIN counted; back in, the same command signs.
fn pulled_out_during(function: &str, name: &str) -> String {
    let s = SimSetup::new(name, json!({"retry_limit": 8, "remove_on": function}));
    let input = tiny_pdf(&s.dir);
    let before = sha(&input);
    let out_dir = s.dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let output = out_dir.join("signed.pdf");
    let o = sign_pdf(&s, &input, &output, &Fixture::shared().user_pin);
    assert!(
        !o.status.success(),
        "signed with the token out: {}",
        text(&o)
    );
    let reason = reason_of(&o);
    assert!(
        reason == "TOKEN_REMOVED" || reason == "TOKEN_NOT_PRESENT",
        "{function}: {reason}"
    );
    assert!(listing(&out_dir).is_empty(), "{:?}", listing(&out_dir));
    assert_eq!(sha(&input), before, "the input changed");
    assert_eq!(
        s.sim.control()["removed"],
        true,
        "the sim never pulled it out"
    );
    let serial = s.asha_status()["serial"].as_str().unwrap().to_string();
    assert_eq!(s.sim.failures(&serial), 0);
    s.sim.set_removed(false);
    let o = sign_pdf(&s, &input, &output, &Fixture::shared().user_pin);
    assert!(o.status.success(), "after re-insertion: {}", text(&o));
    if have_tool("pdfsig") {
        let report = text(&run(Command::new("pdfsig").arg(&output)));
        assert!(report.contains("Signature is Valid."), "{report}");
    }
    assert_eq!(
        s.asha_status()["wrong_pins"],
        0,
        "a removal counted as a wrong PIN"
    );
    reason
}

#[test]
fn the_token_pulled_out_during_login_or_signing_leaves_no_output_and_no_wrong_pin() {
    let login = pulled_out_during("C_Login", "fault_pull_login");
    let sign = pulled_out_during("C_Sign", "fault_pull_sign");
    figures(
        "fault_token_removed",
        &format!("faults injected=2 (C_Login: {login}, C_Sign: {sign}), outputs left=0, wrong PINs counted=0, signs after re-insertion=2"),
    );
}

/// A batch of three over `mohor serve`: the token goes after the first
/// item is signed. The first comes back complete and valid, the others
/// with a reason, and the agent keeps serving.
#[cfg(feature = "scripted-prompts")]
#[test]
fn the_token_pulled_out_between_batch_items() {
    use harden::{b64, unb64, Client, Serve, ORIGIN};
    let fx = Fixture::shared();
    let s = SimSetup::new(
        "fault_pull_batch",
        json!({"retry_limit": 8, "latency_ms_per_function": {"C_Sign": 700}}),
    );
    let prompts = s.dir.join("prompts.jsonl");
    std::fs::write(&prompts, common::approvals(&fx.user_pin, 1)).unwrap();
    let serve = Serve::start(&s.home, &s.conf, &s.module, &prompts, &s.sim.env());
    let doc = big_pdf(1, 300);
    let cert = fx.cert("rsa2048").id;
    let items: Vec<Value> = (0..3)
        .map(|i| {
            json!({"method": "sign.pdf", "params": {
                "document": b64(&doc), "fileName": format!("order-{i}.pdf"), "certificateId": cert,
            }})
        })
        .collect();
    // Pull the token out as soon as the first real signature is made.
    let sim = mohor_token_sim::harness::SimDir::create(s.dir.join("sim"));
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = answered.clone();
    let watcher = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline && !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let done = sim
                .signs()
                .iter()
                .any(|r| r["size_query"] == false && r["result"] == "CKR_OK");
            if done {
                sim.set_removed(true);
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    });
    let mut c = Client::open(serve.port, ORIGIN).unwrap();
    let answer = c.call(
        json!(1),
        "sign.batch",
        json!({ "items": items }),
        Duration::from_secs(180),
    );
    answered.store(true, std::sync::atomic::Ordering::SeqCst);
    let v = answer.json().clone();
    assert!(watcher.join().unwrap(), "no signature was ever made: {v:#}");
    let results = v["result"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{v:#}"));
    let first = results[0]["document"]
        .as_str()
        .unwrap_or_else(|| panic!("{v:#}"));
    let out = s.dir.join("first.pdf");
    std::fs::write(&out, unb64(first)).unwrap();
    if have_tool("pdfsig") {
        let report = text(&run(Command::new("pdfsig").arg(&out)));
        assert!(report.contains("Signature is Valid."), "{report}");
    }
    let mut failed = 0;
    for r in &results[1..] {
        assert!(
            r.get("document").is_none(),
            "signed with the token out: {v:#}"
        );
        let reason = r
            .pointer("/error/data/reason")
            .or(r.pointer("/error/reason"));
        assert!(reason.is_some(), "an item without a reason: {v:#}");
        failed += 1;
    }
    assert!(c.hello_ok(), "the agent stopped serving");
    figures(
        "fault_token_removed_in_batch",
        &format!("batch of 3, token pulled after item 1: signed and valid=1, refused with a reason={failed}, agent serving"),
    );
}

/// Runs `f` with a tiny file system mounted at `at` (root only). `None`
/// when mounting is not allowed here.
fn with_tmpfs<T>(at: &Path, options: &str, f: impl FnOnce() -> T) -> Option<T> {
    std::fs::create_dir_all(at).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(at)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(at);
    Some(f())
}

#[test]
fn a_full_disk_and_a_read_only_folder_give_io_error_and_leave_nothing() {
    let fx = Fixture::shared();
    let s = SimSetup::new("fault_disk", json!({"retry_limit": 8}));
    // 2 MB of PDF into a 512 KiB file system.
    let input = s.dir.join("big.pdf");
    std::fs::write(&input, big_pdf(20, 100_000)).unwrap();
    let before = sha(&input);
    let full = s.dir.join("full");
    let full_result = with_tmpfs(&full, "size=512k", || {
        let out = full.join("signed.pdf");
        let o = sign_pdf(&s, &input, &out, &fx.user_pin);
        assert!(!stderr(&o).contains("DOCUMENT_REFUSED"), "{}", stderr(&o));
        (o.status.success(), reason_of(&o), listing(&full))
    });
    let ro = s.dir.join("ro");
    let ro_result = with_tmpfs(&ro, "ro,size=1m", || {
        let out = ro.join("signed.pdf");
        let o = sign_pdf(&s, &input, &out, &fx.user_pin);
        assert!(!stderr(&o).contains("DOCUMENT_REFUSED"), "{}", stderr(&o));
        (o.status.success(), reason_of(&o), listing(&ro))
    });
    let (Some(full_result), Some(ro_result)) = (full_result, ro_result) else {
        eprintln!("SKIPPED: mounting a tmpfs needs root (CAP_SYS_ADMIN)");
        return;
    };
    for (what, (ok, reason, left)) in [("full disk", &full_result), ("read-only", &ro_result)] {
        assert!(!ok, "{what}: reported success");
        assert_eq!(reason, "IO_ERROR", "{what}");
        assert!(left.is_empty(), "{what}: left {left:?}");
    }
    assert_eq!(sha(&input), before, "the input changed");
    // The failures cost no PIN try and the token still signs.
    assert_eq!(s.asha_status()["wrong_pins"], 0);
    figures(
        "fault_disk",
        "faults injected=2 (512 KiB tmpfs full, read-only tmpfs): IO_ERROR each, files left=0, input changed=0",
    );
}

/// A full disk under the agent: a page asking it to keep a document learns
/// that storing it failed (`IO_ERROR`), and not where: the error's own
/// message names the spool file under the person's home (their user name,
/// the folder layout), which is for the log. Reported by a review with
/// `MOHOR_HOME` on a small tmpfs; the agent goes on serving.
#[test]
fn a_full_disk_under_the_agent_tells_the_page_io_error_without_a_local_path() {
    let fx = Fixture::shared();
    let dir = test_dir("fault_disk_agent");
    let conf = fx.private_tokens(&dir);
    let home = dir.join("home");
    // The agent's state (spool and temporary folders) on a small file
    // system; its log stays outside, to be read afterwards.
    let state = home.join("state");
    let result = with_tmpfs(&state, "size=4m", || {
        let prompts = dir.join("prompts.jsonl");
        std::fs::write(&prompts, "").unwrap();
        let mut serve = harden::Serve::start(&home, &conf, Path::new(MODULE), &prompts, &[]);
        // Fill what is left of the file system.
        let mut filler = std::fs::File::create(state.join("filler")).unwrap();
        while filler.write_all(&[0u8; 64 << 10]).is_ok() {}
        let mut c = harden::Client::open(serve.port, harden::ORIGIN).unwrap();
        let limit = Duration::from_secs(30);
        let doc = vec![b'%'; 1 << 20];
        let inline = c.call(
            json!(1),
            "verify",
            json!({"document": harden::b64(&doc)}),
            limit,
        );
        // An upload large enough to be spooled to a file, chunk by chunk
        // until the disk refuses one.
        let big = vec![b'%'; 8 << 20];
        let sha = hex::encode(sha2::Sha256::digest(&big));
        let begun = c.call(
            json!(2),
            "upload.begin",
            json!({"size": big.len(), "sha256": sha}),
            limit,
        );
        let result = &begun.json()["result"];
        let id = result["uploadId"].as_str().unwrap_or_default().to_string();
        let size = result["chunkSize"].as_u64().unwrap_or(1 << 20) as usize;
        let mut chunk = Value::Null;
        for (i, piece) in big.chunks(size).enumerate() {
            let params = json!({"uploadId": id, "offset": i * size, "data": harden::b64(piece)});
            chunk = c
                .call(json!(3 + i), "upload.chunk", params, limit)
                .json()
                .clone();
            if chunk.get("error").is_some() {
                break;
            }
        }
        let answers = [inline.json().clone(), chunk];
        let serving = c.hello_ok() && serve.alive();
        (answers, serving, serve.stderr_text())
    });
    let Some((answers, serving, log)) = result else {
        eprintln!("SKIPPED: mounting a tmpfs needs root (CAP_SYS_ADMIN)");
        return;
    };
    let home_text = home.display().to_string();
    for answer in &answers {
        assert_eq!(answer["error"]["data"]["reason"], "IO_ERROR", "{answer:#}");
        assert!(
            !answer.to_string().contains(&home_text),
            "a local path told to the page: {answer:#}"
        );
        assert_eq!(
            answer["error"]["message"],
            mohor::protocol::jsonrpc::IO_FAILURE_FOR_PAGES,
            "{answer:#}"
        );
    }
    assert!(serving, "the agent stopped serving");
    assert!(log.contains(&home_text), "the log keeps the detail: {log}");
}

/// `mohor sign` of a large PDF, killed with SIGKILL after `delay`.
/// Returns whether it finished by itself; what it said is in `home/stderr.txt`.
fn sign_and_kill(home: &Path, conf: &Path, input: &Path, output: &Path, delay: Duration) -> bool {
    let fx = Fixture::shared();
    std::fs::create_dir_all(home).unwrap();
    let said = std::fs::File::create(home.join("stderr.txt")).unwrap();
    let mut child = mohor(home, conf)
        .arg("--module")
        .arg(MODULE)
        .args(["--pin-stdin", "sign", "--cert", &fx.cert("rsa2048").id])
        .arg(input)
        .arg("-o")
        .arg(output)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(said)
        .spawn()
        .unwrap();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(format!("{}\n", fx.user_pin).as_bytes());
    }
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        if start.elapsed() >= delay {
            child.kill().unwrap(); // SIGKILL
            let _ = child.wait();
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn kill_9_while_writing_a_large_signed_pdf_leaves_the_whole_file_or_none() {
    let fx = Fixture::shared();
    let dir = test_dir("fault_kill_output");
    let conf = fx.private_tokens(&dir);
    let input = dir.join("large.pdf");
    std::fs::write(&input, big_pdf(300, 100_000)).unwrap(); // ~30 MB
    let input_bytes = std::fs::read(&input).unwrap();
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let output = out_dir.join("signed.pdf");

    // One undisturbed run: how long it takes and what it writes.
    let home = dir.join("home-ref");
    let t = Instant::now();
    assert!(sign_and_kill(
        &home,
        &conf,
        &input,
        &output,
        Duration::from_secs(600)
    ));
    let full = t.elapsed();
    let reference_len = std::fs::metadata(&output).unwrap().len();
    std::fs::remove_file(&output).unwrap();
    // And of a one-page file: what comes before the writing (start, scan,
    // login, signature), so the kills land in the writing.
    let small = dir.join("small.pdf");
    std::fs::write(&small, big_pdf(1, 1000)).unwrap();
    let t = Instant::now();
    assert!(sign_and_kill(
        &dir.join("home-small"),
        &conf,
        &small,
        &dir.join("small-signed.pdf"),
        Duration::from_secs(600)
    ));
    let before_writing = t.elapsed().min(full / 2);

    let runs: usize = std::env::var("MOHOR_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut rng = Rng(0x4B11_1900);
    let (mut whole, mut none, mut stale) = (0, 0, 0);
    let mut aged: Vec<String> = Vec::new();
    for i in 0..runs {
        // Killing spreads over the writing and a little past the end.
        let delay = before_writing
            + (full - before_writing).mul_f64(1.05 * (rng.below(1000) as f64 / 1000.0));
        let home = dir.join(format!("home-{i}")); // a fresh state: kills in C_Login book tries
                                                  // And a token store of its own: a kill on a loaded machine may still
                                                  // land in C_Login, where SoftHSM rewrites its token.object in place
                                                  // (the PIN-count flags); a kill there empties the file and the token
                                                  // is gone. That is SoftHSM's file store, not a USB token, and not
                                                  // what this test is about.
        let conf = fx.private_tokens(&dir.join(format!("token-{i}")));
        let finished = sign_and_kill(&home, &conf, &input, &output, delay);
        match std::fs::read(&output) {
            Ok(bytes) => {
                assert_eq!(bytes.len() as u64, reference_len, "run {i}: a torn file");
                assert!(
                    bytes.starts_with(&input_bytes),
                    "run {i}: not input + revision"
                );
                assert!(
                    bytes.ends_with(b"%%EOF\n") || bytes.ends_with(b"%%EOF"),
                    "run {i}"
                );
                if whole == 0 && have_tool("pdfsig") {
                    let report = text(&run(Command::new("pdfsig").arg(&output)));
                    assert!(report.contains("Signature is Valid."), "run {i}: {report}");
                }
                whole += 1;
                std::fs::remove_file(&output).unwrap();
            }
            Err(_) => {
                assert!(!finished, "run {i}: success without a file");
                none += 1;
            }
        }
        // A kill -9 cannot clean up: the hidden temp file may stay, never
        // under the output's name. Count it, and let it age (as it would
        // before anybody signs into this folder again).
        for name in listing(&out_dir) {
            assert!(
                name.starts_with(".signed.pdf.") && name.ends_with(".partial"),
                "run {i}: unexpected {name}"
            );
            if !aged.contains(&name) {
                stale += 1;
                let f = std::fs::File::options()
                    .write(true)
                    .open(out_dir.join(&name))
                    .unwrap();
                f.set_modified(SystemTime::now() - Duration::from_secs(60))
                    .unwrap();
                aged.push(name);
            }
        }
    }
    // The next signing into the folder sweeps what the kills left.
    let home = dir.join("home-after");
    assert!(
        sign_and_kill(&home, &conf, &input, &output, Duration::from_secs(600)),
        "the signing after the kills failed: {}",
        std::fs::read_to_string(home.join("stderr.txt")).unwrap_or_default()
    );
    assert_eq!(listing(&out_dir), ["signed.pdf"], "kill litter is left");
    assert_eq!(
        std::fs::read(&input).unwrap(),
        input_bytes,
        "the input changed"
    );
    figures(
        "fault_kill_output",
        &format!(
            "kill -9 runs={runs} on a {} MB PDF, between {:.2}s and {:.2}s (a one-page run, the full run): whole signed file={whole}, no file={none}, torn files=0, files lost=0, hidden .partial temp files left by the kill={stale} (all swept by the next signing)",
            input_bytes.len() >> 20,
            before_writing.as_secs_f64(),
            full.as_secs_f64()
        ),
    );
}

/// Every line of the audit log is a JSON record, or the start of one that
/// a kill cut off (a write that spans pages can stop at a page boundary when
/// SIGKILL arrives), ended by the next append so that no later record is
/// glued onto it. The count of whole records.
fn audit_lines(home: &Path) -> usize {
    let text = std::fs::read_to_string(home.join("state/audit.jsonl")).unwrap_or_default();
    let mut whole = 0;
    for (n, line) in text.lines().enumerate() {
        match serde_json::from_str::<Value>(line) {
            Ok(_) => whole += 1,
            // Cut off: the line ends before its JSON does.
            Err(e) if e.is_eof() && line.starts_with('{') => {}
            Err(e) => panic!("audit line {} is damaged ({e}): {line}", n + 1),
        }
    }
    whole
}

#[test]
fn kill_9_during_a_loop_of_signings_keeps_counters_and_audit_log_intact() {
    let fx = Fixture::shared();
    let s = SimSetup::new("fault_kill_state", json!({"retry_limit": 100}));
    let data = s.dir.join("note.txt");
    std::fs::write(&data, b"Sanction order 44/2026.\n").unwrap();
    let cert = fx.cert("rsa2048").id;
    let serial = s.asha_status()["serial"].as_str().unwrap().to_string();
    let rounds: usize = std::env::var("MOHOR_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
        * 3;
    // How long one signing takes here, so that kills land inside it.
    let t = Instant::now();
    let o = s.sign_detached(&data, &s.dir.join("o.p7s"), &cert, &fx.user_pin);
    assert!(o.status.success(), "{}", text(&o));
    let one = t.elapsed().as_millis() as u64;
    let mut rng = Rng(0x57A7E);
    let (mut killed, mut lost) = (0, 0u32);
    let start = Instant::now();
    for i in 0..rounds {
        let pin = if i.is_multiple_of(2) {
            WRONG
        } else {
            fx.user_pin.as_str()
        };
        let mut c = s.mohor(&["--pin-stdin", "sign", "--detached", "--cert", &cert]);
        c.arg(&data)
            .arg("-o")
            .arg(s.dir.join("o.p7s"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(format!("{pin}\n").as_bytes());
        }
        let delay = Duration::from_millis(5 + rng.below(one));
        let t = Instant::now();
        let mut done = false;
        while t.elapsed() < delay {
            if child.try_wait().unwrap().is_some() {
                done = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if !done {
            child.kill().unwrap();
            killed += 1;
        }
        let _ = child.wait();
        // Intact: the counter file is JSON, `pin status` reads it, the audit log parses.
        let counters: Value = std::fs::read(s.home.join("state/pin-counters.json"))
            .map(|b| serde_json::from_slice(&b).expect("pin-counters.json is damaged"))
            .unwrap_or(Value::Null);
        let row = s.asha_status();
        audit_lines(&s.home);
        // Never fewer wrong PINs than the token counted: Mohor's count is its
        // settled wrong PINs, those carried over an unlock, and the tries
        // still booked (a process killed in between leaves its booking).
        let mohor_count: u32 = counters
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|r| r["serial"] == serial.as_str())
            .map(|r| {
                r["wrong"].as_u64().unwrap_or(0) as u32
                    + r["carried"].as_u64().unwrap_or(0) as u32
                    + r["in_flight"].as_array().map_or(0, |a| a.len() as u32)
            })
            .sum();
        let token_count = s.sim.failures(&serial);
        lost += token_count.saturating_sub(mohor_count);
        if row["state"] == "soft-locked" {
            // The provider's reset first: before it Mohor refuses to unlock.
            s.sim.reset_counters();
            let o = run(&mut s.mohor(&["pin", "unlock", "--token", &serial]));
            assert!(o.status.success(), "{}", text(&o));
        }
    }
    assert_eq!(lost, 0, "wrong PINs the token counted were lost by Mohor");
    let lines = audit_lines(&s.home);
    figures(
        "fault_kill_state",
        &format!(
            "signings={rounds} (every other one with a wrong PIN), killed -9 at random={killed}, whole audit records={lines} (a record cut off by a kill is ended by the next append, none glued to it), counters parseable after every kill, counters lost=0 ({:.1}s)",
            start.elapsed().as_secs_f64()
        ),
    );
}
