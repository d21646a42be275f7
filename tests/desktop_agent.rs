//! The desktop agent end to end: `mohor` with no command (tray, native GTK
//! dialogs, loopback WebSocket server) on a private Xvfb display, the
//! SoftHSM fixture token behind it, and a WebSocket client in the role of a
//! web page.
//!
//! 1. A page asks for `sign.data`. Nothing is signed and nothing is answered
//!    until the person approves Mohor's own consent window (a window of the
//!    agent process, showing the requesting origin and the document) and types
//!    the PIN into Mohor's own PIN window. The answer is a detached CMS that
//!    `openssl cms -verify` accepts against the fixture root, for exactly the
//!    bytes sent.
//! 2. A second request that the person cancels (Escape in the consent window)
//!    is answered `USER_CANCELLED`, without a PIN window.
//! 3. The agent keeps serving: `certificates.list` on the same connection and
//!    `hello` on a new one are answered.
//!
//! Screenshots: `target/test-artifacts/agent-consent.png` (read back by
//! Tesseract: the origin and the data's text), `agent-pin.png`.
//! Skipped (loudly) only when Xvfb/xdotool/ImageMagick are missing and `CI`
//! is unset.
#![cfg(feature = "desktop")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "desktop_agent/ws.rs"]
mod ws;
#[path = "desktop_agent/x11.rs"]
mod x11;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use common::{Fixture, MODULE};
use ws::Connection;
use x11::{Display, Window, APPEAR};

/// The origin the client sends; the agent's config allows it.
const ORIGIN: &str = "http://127.0.0.1:8765";
const CONSENT_TITLE: &str = "Signature request";
const PIN_TITLE: &str = "Enter token PIN";
/// How long a window may take to go away, or an answer to come, after a click.
const REACT: Duration = Duration::from_secs(20);

/// The running `mohor` tray agent; killed by its pid when dropped.
struct Agent {
    child: Child,
    stderr: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        // `Child::kill` signals exactly this process id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    fn start(display: &Display, home: &Path, softhsm_conf: &Path, dir: &Path) -> Agent {
        let stderr = dir.join("agent.stderr");
        let child = common::mohor(home, softhsm_conf)
            .arg("--module")
            .arg(MODULE)
            .env("DISPLAY", &display.name)
            .env_remove("WAYLAND_DISPLAY")
            // Never reach the session bus (and tray) of whoever runs the test.
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", dir.join("no-session-bus").display()),
            )
            // As in tests/desktop: X11, GTK-drawn title bars, one theme.
            .env("GDK_BACKEND", "x11")
            .env("GTK_CSD", "1")
            .env("GTK_THEME", "Adwaita")
            .env("NO_AT_BRIDGE", "1")
            .env("MOHOR_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("create agent.stderr"))
            .spawn()
            .expect("start the mohor desktop agent");
        Agent { child, stderr }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Panics, with the agent's log, if the agent has exited.
    fn assert_running(&mut self, when: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "the agent exited ({status}) {when}; its stderr:\n{}",
                self.log()
            );
        }
    }

    /// Waits until the agent accepts TCP connections on `port`.
    fn wait_listening(&mut self, port: u16) {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            self.assert_running("before it listened");
            if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
                return;
            }
            sleep(Duration::from_millis(200));
        }
        panic!(
            "the agent did not listen on port {port} within 120 s; its stderr:\n{}",
            self.log()
        );
    }

    /// The window titled `title`, which must belong to the agent process.
    fn window(&mut self, display: &Display, title: &str) -> Window {
        let window = display
            .wait_window(title, APPEAR, || {
                self.assert_running("while a window was awaited")
            })
            .unwrap_or_else(|| {
                panic!(
                    "no window titled {title:?} appeared within {APPEAR:?}; agent stderr:\n{}",
                    self.log()
                )
            });
        assert_eq!(
            window.pid(),
            Some(self.pid()),
            "the {title:?} window is not the agent's own"
        );
        window
    }
}

/// A port nobody listens on now (the kernel's pick), for `port = N`.
fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts")
}

use common::b64;

fn sign_data_params(data: &[u8], certificate_id: &str) -> Value {
    json!({"data": b64(data), "certificateId": certificate_id})
}

/// A screenshot that is a picture of something: not one flat colour.
fn assert_not_blank(png: &Path) {
    let out = common::run(
        std::process::Command::new("identify")
            .args(["-format", "%k"])
            .arg(png),
    );
    let colours: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(
        colours > 50,
        "{} has only {colours} colours: no dialog drawn?",
        png.display()
    );
}

#[test]
fn desktop_agent_asks_in_its_own_windows_then_signs_with_the_token() {
    if !common::have_tool("openssl") {
        return;
    }
    let Some(display) = x11::start_display() else {
        return;
    };
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048");
    // Its own directory per run: two runs at once (two people in one checkout)
    // must not share a token copy.
    let dir = common::test_dir(&format!("desktop_agent-{}", std::process::id()));
    let softhsm_conf = fx.private_tokens(&dir);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("create MOHOR_HOME");
    // A port of its own (not 21760-21763), so parallel runs never meet.
    let port = free_port();
    std::fs::write(
        home.join("config.toml"),
        format!("allowed_origins = [\"{ORIGIN}\"]\nport = {port}\n"),
    )
    .expect("write config.toml");

    let mut agent = Agent::start(&display, &home, &softhsm_conf, &dir);
    agent.wait_listening(port);

    // ---- 1. Approved in Mohor's windows, signed by the token.
    let data = "Order 12/2026: pay 4,500 rupees to the contractor. मोहर\n".as_bytes();
    let connection = Connection::open(port, ORIGIN)
        .unwrap_or_else(|e| panic!("connect as {ORIGIN}: {e}\n{}", agent.log()));
    let mut pending = connection.start(json!(1), "sign.data", sign_data_params(data, &cert.id));

    let consent = agent.window(&display, CONSENT_TITLE);
    let shot = consent.screenshot(&artifacts(), "agent-consent");
    assert_not_blank(&shot);
    // The person reads the requesting site and what the data says.
    let seen = x11::ocr_screen(&shot);
    for words in [
        "127.0.0.1:8765",
        "Order 12/2026: pay 4,500 rupees",
        "all of it",
    ] {
        assert!(seen.contains(words), "{words:?} not seen in:\n{seen}");
    }
    assert!(
        !pending.answered(),
        "the agent answered before the person approved the consent window"
    );
    assert_eq!(pending.stages(1, REACT), ["waiting-for-consent"]);
    consent.click_from_bottom_right(55, 32); // "Sign"
    assert!(
        display.window_gone(CONSENT_TITLE, REACT),
        "the consent window stayed open after Sign"
    );

    let pin = agent.window(&display, PIN_TITLE);
    let shot = pin.screenshot(&artifacts(), "agent-pin");
    assert_not_blank(&shot);
    assert!(
        !pending.answered(),
        "the agent answered before the PIN was typed"
    );
    assert_eq!(
        pending.stages(2, REACT),
        ["waiting-for-consent", "waiting-for-pin"]
    );
    pin.type_text(&fx.user_pin);
    pin.key("Return");
    assert!(
        display.window_gone(PIN_TITLE, REACT),
        "the PIN window stayed open after Enter"
    );

    let (connection, reply) = pending.finish();
    let result = reply.result();
    assert_eq!(result["certificateId"], cert.id.as_str(), "{result:#}");
    assert!(
        result["signer"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(&cert.cn)),
        "signer is not {}: {result:#}",
        cert.cn
    );
    assert_eq!(
        reply.stages,
        ["waiting-for-consent", "waiting-for-pin", "signing", "done"]
    );
    let signature = base64::engine::general_purpose::STANDARD
        .decode(result["signature"].as_str().expect("a base64 signature"))
        .expect("the signature is base64");
    let data_file = dir.join("data.bin");
    let p7s = dir.join("data.bin.p7s");
    std::fs::write(&data_file, data).expect("write data.bin");
    std::fs::write(&p7s, &signature).expect("write data.bin.p7s");
    let out = common::openssl_verify_detached(&p7s, &data_file, &fx.root);
    assert!(
        out.status.success(),
        "openssl rejects the signature:\n{}",
        common::text(&out)
    );
    // ...and the judge judges: the same signature over other bytes fails.
    let other = dir.join("other.bin");
    std::fs::write(&other, b"Order 12/2026: pay 45,000 rupees").expect("write other.bin");
    let out = common::openssl_verify_detached(&p7s, &other, &fx.root);
    assert!(
        !out.status.success(),
        "openssl accepted the signature for other bytes"
    );

    // ---- 2. Cancelled in the consent window: USER_CANCELLED, no PIN window.
    let mut pending = connection.start(
        json!("second"),
        "sign.data",
        sign_data_params(b"a second document", &cert.id),
    );
    let consent = agent.window(&display, CONSENT_TITLE);
    assert!(!pending.answered(), "answered before the person decided");
    assert_eq!(pending.stages(1, REACT), ["waiting-for-consent"]);
    consent.key("Escape");
    assert!(
        display.window_gone(CONSENT_TITLE, REACT),
        "Escape did not close the consent window"
    );
    let (mut connection, reply) = pending.finish();
    assert_eq!(reply.answer["error"]["code"], -32000, "{:#}", reply.answer);
    assert_eq!(reply.reason(), "USER_CANCELLED", "{:#}", reply.answer);
    assert!(reply.answer.get("result").is_none(), "{:#}", reply.answer);
    assert!(
        !reply.stages.iter().any(|s| s == "waiting-for-pin"),
        "a PIN was asked for after the person cancelled: {:?}",
        reply.stages
    );
    assert!(
        display.window_gone(PIN_TITLE, Duration::from_secs(1)),
        "a PIN window is open after the person cancelled"
    );

    // ---- 3. The agent keeps serving.
    agent.assert_running("after the cancelled request");
    let listed = connection.call(json!(3), "certificates.list", None);
    let certificates = listed.result()["certificates"]
        .as_array()
        .unwrap_or_else(|| panic!("no certificates array: {:#}", listed.answer));
    assert!(
        certificates
            .iter()
            .any(|c| c["id"] == cert.id.as_str() && c["usable"] == true),
        "certificates.list lacks the usable {} certificate: {:#}",
        cert.id,
        listed.answer
    );
    connection.close();
    let mut fresh = Connection::open(port, ORIGIN)
        .unwrap_or_else(|e| panic!("a new connection after the cancel: {e}\n{}", agent.log()));
    let hello = fresh.call(json!("h"), "hello", None);
    assert_eq!(hello.result()["product"], "Mohor", "{:#}", hello.answer);
    assert_eq!(hello.result()["protocol"], 1, "{:#}", hello.answer);
    fresh.close();

    agent.assert_running("at the end");
    drop(agent); // killed by its pid
    drop(display);
    // Passed: nothing left to inspect (a failure keeps the directory).
    let _ = std::fs::remove_dir_all(&dir);
}
