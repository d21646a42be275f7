//! Documents in transit through a real `mohor serve` (SoftHSM token, scripted
//! dialogs), started under umask 022: no file below MOHOR_HOME is readable by
//! group or others while a request waits at its consent dialog or after it;
//! SIGTERM removes the files of a request in flight; what a killed agent left
//! is gone after a restart; and `MOHOR_LOG=trace` never writes the document.
//!
//! The tray start (`mohor` with no command, on a private Xvfb display) stops
//! the same way on SIGTERM, with a request waiting at its real consent window,
//! and, stopped while its token poll is inside the driver, ends only after
//! the call has returned and the driver is finalized (pkcs11-spy's log).
//! A call that outlives the stop's wait ends the process without exit
//! handlers, never with them running under the call (token-sim's report).
//!
//! A dialog is held open by making the scripted prompter's question log
//! (`prompts.jsonl.asked.jsonl`) a FIFO: the prompter blocks opening it until
//! the test reads it.
#![cfg(all(unix, feature = "scripted-prompts"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "ws_support.rs"]
mod support;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Fixture, MODULE};
use serde_json::{json, Value};
use sha2::Digest as _;
use support::{connect, recv, recv_answer, rpc, send, Ws};

const ORIGIN: &str = "http://127.0.0.1:8765";
/// In the page text of the test PDF; must never reach the log.
const MARKER: &str = "MOHOR-SECRET-MARKER-5b1e9c";

type R<T> = Result<T, Box<dyn std::error::Error>>;

/// A one-page PDF showing `MARKER`, padded with comment lines in its content
/// stream to at least `min_bytes` (deterministic).
fn marker_pdf(min_bytes: usize) -> Vec<u8> {
    let mut content = format!("BT /F1 18 Tf 72 720 Td ({MARKER}) Tj ET\n").into_bytes();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while content.len() < min_bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        content.extend_from_slice(format!("% {x:016x}{:016x}\n", x.rotate_left(29)).as_bytes());
    }
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
    ];
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(&content);
    stream.extend_from_slice(b"\nendstream");
    objects.push(stream);
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec());
    common::classic_pdf(b"%PDF-1.7\n", &objects, "")
}

/// The marker as it appears in the base64 of a document, at each of the
/// three alignments it can have.
fn marker_forms() -> Vec<String> {
    let b = MARKER.as_bytes();
    let mut forms = vec![MARKER.to_string()];
    for k in 0..3 {
        let rest = &b[k..];
        let whole = rest.len() / 3 * 3;
        forms.push(base64::engine::general_purpose::STANDARD.encode(&rest[..whole]));
    }
    forms
}

/// `mohor serve` started under umask 022, killed when the test ends.
/// `mohor serve` under umask 022, killed when dropped.
type Agent = common::Served;

struct Setup {
    dir: PathBuf,
    home: PathBuf,
    softhsm_conf: PathBuf,
    prompts: PathBuf,
    log: PathBuf,
    fx: &'static Fixture,
}

impl Setup {
    /// A fresh home; the prompts approve `signings` requests; the question
    /// log is a FIFO so the first dialog waits until [`release_dialogs`].
    fn new(name: &str, signings: usize) -> Setup {
        let fx = Fixture::shared();
        let dir = common::test_dir(name);
        let softhsm_conf = fx.private_tokens(&dir);
        let home = dir.join("home");
        std::fs::create_dir_all(&home).expect("create MOHOR_HOME");
        let prompts = dir.join("prompts.jsonl");
        std::fs::write(&prompts, common::approvals(&fx.user_pin, signings)).expect("write prompts");
        let fifo = dir.join("prompts.jsonl.asked.jsonl");
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success(), "mkfifo failed");
        Setup {
            log: dir.join("serve.log"),
            dir,
            home,
            softhsm_conf,
            prompts,
            fx,
        }
    }

    fn start(&self) -> Agent {
        self.start_on(Path::new(MODULE), &[])
    }

    /// `mohor serve` with the token's driver at `module` and `env` added.
    fn start_on(&self, module: &Path, env: &[(&str, std::ffi::OsString)]) -> Agent {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open serve.log");
        common::spawn_serve(
            Command::new("sh")
                .arg("-c")
                .arg("umask 022 && exec \"$0\" \"$@\"")
                .arg(env!("CARGO_BIN_EXE_mohor"))
                .arg("--module")
                .arg(module)
                .arg("--prompts")
                .arg(&self.prompts)
                .args(["serve", "--port", "0", "--allow-origin", ORIGIN])
                .env("MOHOR_HOME", &self.home)
                .env("SOFTHSM2_CONF", &self.softhsm_conf)
                .env("MOHOR_LOG", "trace")
                .env_remove("MOHOR_SIM_DIR")
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stderr(log),
            &self.log,
        )
    }

    /// Lets every dialog, now and later, go on (reads the FIFO forever).
    fn release_dialogs(&self) {
        let fifo = self.dir.join("prompts.jsonl.asked.jsonl");
        std::thread::spawn(move || loop {
            let Ok(mut f) = std::fs::File::open(&fifo) else {
                return;
            };
            let mut sink = Vec::new();
            let _ = f.read_to_end(&mut sink);
        });
    }

    fn state(&self) -> PathBuf {
        self.home.join("state")
    }
}

/// Every file and folder below `root` (not `root` itself).
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// Paths below `root` that group or others may read (or enter).
fn readable_by_others(root: &Path) -> Vec<String> {
    walk(root)
        .into_iter()
        .filter_map(|p| {
            let mode = std::fs::symlink_metadata(&p).ok()?.permissions().mode();
            (mode & 0o077 != 0).then(|| format!("{:o} {}", mode & 0o777, p.display()))
        })
        .collect()
}

/// Regular files below `root` except run locks.
fn documents_below(root: &Path) -> Vec<PathBuf> {
    walk(root)
        .into_iter()
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".lock"))
        .collect()
}

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(agent: &Agent, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(agent.child.id().to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} failed");
}

fn wait_exit(agent: &mut Agent, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = agent.child.try_wait() {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "the agent did not stop within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Uploads a 5 MB document in chunks (spooled to a file) and asks to sign a
/// small one sent inline (written to the request's folder; its answer comes
/// later). Returns the upload's id. (One signing at a time: the scripted
/// answers are consumed in order.)
async fn upload_and_sign_small(ws: &mut Ws, big: &[u8], small: &[u8]) -> R<String> {
    let sha = hex::encode(sha2::Sha256::digest(big));
    let r = rpc(
        ws,
        json!("ub"),
        "upload.begin",
        json!({"size": big.len(), "sha256": sha}),
    )
    .await?;
    let id = r["result"]["uploadId"]
        .as_str()
        .ok_or(format!("{r}"))?
        .to_string();
    let chunk = r["result"]["chunkSize"].as_u64().ok_or("chunkSize")? as usize;
    let mut offset = 0;
    for part in big.chunks(chunk) {
        let data = base64::engine::general_purpose::STANDARD.encode(part);
        let r = rpc(
            ws,
            json!("uc"),
            "upload.chunk",
            json!({"uploadId": id, "offset": offset, "data": data}),
        )
        .await?;
        offset = r["result"]["received"].as_u64().ok_or(format!("{r}"))?;
    }
    let inline = base64::engine::general_purpose::STANDARD.encode(small);
    send(
        ws,
        json!({"jsonrpc":"2.0","id":"small","method":"sign.pdf",
               "params":{"document": inline,"fileName":"small.pdf"}}),
    )
    .await?;
    Ok(id)
}

/// Both documents are on disk: the upload in the spool, the inline one in a
/// request folder.
fn wait_for_documents_in_transit(state: &Path) {
    wait_for("the documents in transit", Duration::from_secs(60), || {
        let spooled = !documents_below(&state.join("spool")).is_empty();
        let inline = documents_below(&state.join("tmp"))
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "pdf"));
        spooled && inline
    });
}

/// The answer to `id`, downloading it when it came as a `$download` stub.
async fn answer_of(ws: &mut Ws, id: &str) -> R<Value> {
    let r = recv_answer(ws).await?;
    if r["id"] != json!(id) {
        return Err(format!("expected the answer to {id}, got {r}").into());
    }
    let Some(stub) = r["result"].get("$download") else {
        return Ok(r["result"].clone());
    };
    let mut text = String::new();
    let mut offset = 0u64;
    loop {
        let d = rpc(
            ws,
            json!("d"),
            "download.read",
            json!({"downloadId": stub["downloadId"], "offset": offset}),
        )
        .await?;
        text.push_str(d["result"]["text"].as_str().ok_or(format!("{d}"))?);
        offset = d["result"]["next"].as_u64().ok_or("next")?;
        if d["result"]["done"] == json!(true) {
            return Ok(serde_json::from_str(&text)?);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_in_transit_are_private_during_and_after_a_request_and_never_logged() -> R<()> {
    let s = Setup::new("ws_agent_files_private", 2);
    let mut agent = s.start();
    let big = marker_pdf(5 << 20);
    let small = marker_pdf(2000);
    let mut ws = connect(agent.port, Some(ORIGIN)).await?;
    let upload = upload_and_sign_small(&mut ws, &big, &small).await?;
    wait_for_documents_in_transit(&s.state());

    let exposed = readable_by_others(&s.home);
    assert!(
        exposed.is_empty(),
        "readable by others while a dialog waits:\n{}",
        exposed.join("\n")
    );

    s.release_dialogs();
    let small_answer = answer_of(&mut ws, "small").await?;
    send(
        &mut ws,
        json!({"jsonrpc":"2.0","id":"big","method":"sign.pdf",
               "params":{"document":{"upload": upload},"fileName":"big.pdf"}}),
    )
    .await?;
    let big_answer = answer_of(&mut ws, "big").await?;
    for ((id, result), input) in [("big", big_answer), ("small", small_answer)]
        .iter()
        .zip([&big, &small])
    {
        let doc = result["document"]
            .as_str()
            .ok_or(format!("{id}: {result}"))?;
        let signed = base64::engine::general_purpose::STANDARD.decode(doc)?;
        assert!(
            signed.len() > input.len() && signed.starts_with(input),
            "{id}: not an incremental update of the input"
        );
        let path = s.dir.join(format!("{id}.signed.pdf"));
        std::fs::write(&path, &signed)?;
        if let Some(pyhanko) = common::pyhanko() {
            let out = common::run(
                Command::new(pyhanko)
                    .args(["sign", "validate", "--trust"])
                    .arg(&s.fx.root)
                    .args(["--trust-replace", "--no-revocation-check"])
                    .arg(&path),
            );
            let text = common::text(&out);
            assert!(
                out.status.success() && text.contains(":INTACT:"),
                "{id}: pyHanko:\n{text}"
            );
        }
    }
    wait_for("the request folders to go", Duration::from_secs(10), || {
        documents_below(&s.state().join("tmp")).is_empty()
            && documents_below(&s.state().join("spool")).is_empty()
    });
    let exposed = readable_by_others(&s.home);
    assert!(
        exposed.is_empty(),
        "readable by others after the requests:\n{}",
        exposed.join("\n")
    );

    drop(ws);
    signal(&agent, "TERM");
    wait_exit(&mut agent, Duration::from_secs(20));
    let log = std::fs::read_to_string(&s.log)?;
    assert!(
        log.contains("connection opened"),
        "MOHOR_LOG=trace logged nothing:\n{log}"
    );
    for form in marker_forms() {
        assert!(
            !log.contains(&form),
            "the log holds document content ({form})"
        );
    }
    let pin = &s.fx.user_pin;
    assert!(
        !log.lines()
            .any(|l| l.to_lowercase().contains("pin") && l.contains(pin.as_str())),
        "the log holds the PIN"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_removes_the_files_of_a_request_in_flight() -> R<()> {
    let s = Setup::new("ws_agent_files_sigterm", 2);
    let mut agent = s.start();
    let mut ws = connect(agent.port, Some(ORIGIN)).await?;
    upload_and_sign_small(&mut ws, &marker_pdf(5 << 20), &marker_pdf(2000)).await?;
    wait_for_documents_in_transit(&s.state());

    signal(&agent, "TERM");
    // The page is told Mohor is going away (close 1001).
    let closed = loop {
        match recv(&mut ws).await {
            Ok(v) if v["method"] == json!("progress") => continue,
            other => break other,
        }
    };
    assert!(
        closed
            .as_ref()
            .is_err_and(|e| e.to_string().contains("Away")),
        "{closed:?}"
    );
    let status = wait_exit(&mut agent, Duration::from_secs(20));
    assert!(status.success(), "mohor serve exited with {status}");
    let left = documents_below(&s.state().join("tmp"))
        .into_iter()
        .chain(documents_below(&s.state().join("spool")))
        .collect::<Vec<_>>();
    assert!(left.is_empty(), "left after SIGTERM: {left:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agents_leftovers_are_gone_after_a_restart() -> R<()> {
    let s = Setup::new("ws_agent_files_kill", 2);
    let mut agent = s.start();
    let mut ws = connect(agent.port, Some(ORIGIN)).await?;
    upload_and_sign_small(&mut ws, &marker_pdf(5 << 20), &marker_pdf(2000)).await?;
    wait_for_documents_in_transit(&s.state());
    let before: Vec<PathBuf> = documents_below(&s.state());
    signal(&agent, "KILL");
    wait_exit(&mut agent, Duration::from_secs(20));
    drop(ws);
    assert!(
        before
            .iter()
            .filter(
                |p| p.starts_with(s.state().join("tmp")) || p.starts_with(s.state().join("spool"))
            )
            .all(|p| p.exists()),
        "a killed agent removed nothing (that is why the restart must)"
    );

    let mut second = s.start();
    let left: Vec<&PathBuf> = before
        .iter()
        .filter(|p| p.starts_with(s.state().join("tmp")) || p.starts_with(s.state().join("spool")))
        .filter(|p| p.exists())
        .collect();
    assert!(left.is_empty(), "leftovers survived the restart: {left:?}");
    let exposed = readable_by_others(&s.home);
    assert!(
        exposed.is_empty(),
        "readable by others after the restart:\n{}",
        exposed.join("\n")
    );
    signal(&second, "TERM");
    wait_exit(&mut second, Duration::from_secs(20));
    Ok(())
}

/// `mohor` with no command (the tray start) on `display`, with the token's
/// driver at `module` and `env` added; answers once it listens.
async fn start_tray(
    s: &Setup,
    display: &xvfb::Display,
    module: &Path,
    env: &[(&str, std::ffi::OsString)],
) -> R<(Agent, Ws)> {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port();
    std::fs::write(
        s.home.join("config.toml"),
        format!("allowed_origins = [\"{ORIGIN}\"]\nport = {port}\n"),
    )?;
    let child = Command::new(env!("CARGO_BIN_EXE_mohor"))
        .arg("--module")
        .arg(module)
        .env("MOHOR_HOME", &s.home)
        .env("SOFTHSM2_CONF", &s.softhsm_conf)
        .env("DISPLAY", &display.name)
        .env_remove("WAYLAND_DISPLAY")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", s.dir.join("no-session-bus").display()),
        )
        .env("GDK_BACKEND", "x11")
        .env("NO_AT_BRIDGE", "1")
        .env_remove("MOHOR_SIM_DIR")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&s.log)?)
        .spawn()?;
    let agent = Agent { child, port };
    for _ in 0..600 {
        if let Ok(ws) = connect(agent.port, Some(ORIGIN)).await {
            return Ok((agent, ws));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!(
        "the tray agent never listened; its log:\n{}",
        std::fs::read_to_string(&s.log).unwrap_or_default()
    )
    .into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_agent_stops_on_sigterm_and_removes_the_files_of_a_request_in_flight() -> R<()> {
    let Some(display) = xvfb::start_display() else {
        return Ok(());
    };
    let s = Setup::new("ws_agent_files_tray", 1);
    let (mut agent, mut ws) = start_tray(&s, &display, Path::new(MODULE), &[]).await?;
    let data = base64::engine::general_purpose::STANDARD.encode(MARKER.repeat(1000));
    send(
        &mut ws,
        json!({"jsonrpc":"2.0","id":1,"method":"sign.data","params":{"data": data}}),
    )
    .await?;
    // The consent window is open; the data waits in its request folder.
    wait_for("the request's file", Duration::from_secs(60), || {
        !documents_below(&s.state().join("tmp")).is_empty()
    });
    signal(&agent, "TERM");
    let status = wait_exit(&mut agent, Duration::from_secs(30));
    assert!(status.success(), "the tray agent exited with {status}");
    let left: Vec<PathBuf> = documents_below(&s.state().join("tmp"))
        .into_iter()
        .chain(documents_below(&s.state().join("spool")))
        .collect();
    assert!(left.is_empty(), "left after SIGTERM: {left:?}");
    Ok(())
}

/// OpenSC's logging PKCS#11 module: it logs each call on entry and its
/// return value when the call returns.
const SPY: &str = "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so";

/// Calls into the driver that pkcs11-spy saw start, and those it saw return.
fn spy_calls(log: &str) -> (Vec<&str>, usize) {
    let started = log
        .lines()
        .filter_map(|l| {
            let (number, name) = l.split_once(": ")?;
            (number.bytes().all(|b| b.is_ascii_digit()) && name.starts_with("C_")).then_some(name)
        })
        .collect();
    let returned = log.lines().filter(|l| l.starts_with("Returned:")).count();
    (started, returned)
}

/// The tray polls the token every few seconds from a thread of its own. A
/// stop that comes while that poll is inside the token's driver waits for
/// the call to return and closes the driver before the process ends: ending
/// the process under the call ran the driver's exit handlers beneath it
/// (SIGSEGV on SIGTERM, seen in CI under load). Here token-sim makes every
/// `C_FindObjects` take 0.3 s (a scan has six, well under the stop's 4 s
/// limit), so the stop lands inside one; pkcs11-spy, between the agent and
/// token-sim, logs each call as it returns, and at exit those that never did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_agent_stops_only_after_the_tokens_driver_has_returned() -> R<()> {
    let Some(display) = xvfb::start_display() else {
        return Ok(());
    };
    if !Path::new(SPY).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{SPY} is missing (Debian package opensc)"
        );
        eprintln!("SKIPPED: {SPY} is missing (Debian package opensc)");
        return Ok(());
    }
    let s = Setup::new("ws_agent_files_tray_driver", 0);
    let sim = mohor_token_sim::harness::SimDir::create(s.dir.join("sim"));
    sim.update_control(&json!({"latency_ms_per_function": {"C_FindObjects": 300}}));
    let spy_log = s.dir.join("spy.log");
    let mut env = sim.env();
    env.push((
        "PKCS11SPY",
        mohor_token_sim::harness::cdylib_path().into_os_string(),
    ));
    env.push(("PKCS11SPY_OUTPUT", spy_log.clone().into_os_string()));
    let (mut agent, _ws) = start_tray(&s, &display, Path::new(SPY), &env).await?;

    // Listening: the stop signal is handled. pkcs11-spy writes a call out
    // when it returns, so a search begun (C_FindObjectsInit) is the sign that
    // the tray's poll is now inside its slow C_FindObjects.
    wait_for(
        "the tray's poll to search the token",
        Duration::from_secs(60),
        || {
            let log = std::fs::read_to_string(&spy_log).unwrap_or_default();
            spy_calls(&log).0.last() == Some(&"C_FindObjectsInit")
        },
    );
    signal(&agent, "TERM");
    let status = wait_exit(&mut agent, Duration::from_secs(30));
    let log = std::fs::read_to_string(&spy_log)?;
    let (started, returned) = spy_calls(&log);
    let tail: String = log
        .lines()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        status.success(),
        "the tray agent exited with {status}; spy log ends:\n{tail}"
    );
    assert_eq!(
        started.len(),
        returned,
        "the process ended inside a call to the token's driver; spy log ends:\n{tail}"
    );
    assert_eq!(
        started.last(),
        Some(&"C_Finalize"),
        "the driver was not closed before the process ended; spy log ends:\n{tail}"
    );
    Ok(())
}

/// A call into the token's driver that does not return within the stop's
/// wait (a hung driver): the agent warns and ends without running exit
/// handlers, so the driver's static state is never destroyed under the call.
/// token-sim sleeps 20 s in the request's `C_FindObjectsInit` and reports a
/// process that runs its exit handlers while a call is inside (SoftHSM
/// itself would crash only now and then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_call_that_outlives_the_stop_never_has_exit_handlers_run_under_it() -> R<()> {
    let s = Setup::new("ws_agent_files_hung_driver", 0);
    let sim = mohor_token_sim::harness::SimDir::create(s.dir.join("sim"));
    let mut agent = s.start_on(&mohor_token_sim::harness::cdylib_path(), &sim.env());
    let mut ws = connect(agent.port, Some(ORIGIN)).await?;
    sim.update_control(&json!({"latency_ms_per_function": {"C_FindObjectsInit": 20_000}}));
    send(
        &mut ws,
        json!({"jsonrpc":"2.0","id":1,"method":"certificates.list","params":{}}),
    )
    .await?;
    // The request is now asleep inside the driver, for far longer than the
    // stop waits (1 s grace + 4 s). 3 s leaves a loaded machine time to get
    // the request that far.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let stopped_at = Instant::now();
    signal(&agent, "TERM");
    let status = wait_exit(&mut agent, Duration::from_secs(30));
    let waited = stopped_at.elapsed();
    let log = std::fs::read_to_string(&s.log)?;
    assert!(
        status.success(),
        "mohor serve exited with {status}; log:\n{log}"
    );
    assert!(
        log.contains("the token's driver was still in use"),
        "the agent did not say why it ended under a call; log:\n{log}"
    );
    assert!(
        waited < Duration::from_millis(12_000),
        "the agent waited for the hung call ({waited:?}) instead of ending"
    );
    assert_eq!(sim.exit_handlers_under_a_call(), None);
    Ok(())
}
