//! The tray an official lives with, under Xvfb with a real tray host
//! (Debian's `trayer`, an XEmbed system tray): `mohor` with no command, the
//! SoftHSM fixture token, and a WebSocket client in the role of a web page.
//!
//! 1. The icon appears in the tray and shows "ready" (green badge).
//! 2. While a request waits at the consent window the icon shows "signing"
//!    (blue badge). Answered in Mohor's own consent and PIN windows
//!    (xdotool) with a wrong PIN it is refused `PIN_INCORRECT` and the icon
//!    turns to "attention" (yellow warning): the guard's warning. A second
//!    wrong PIN soft-locks the token (the config stops at 2): a desktop
//!    notification goes out (seen on a private session bus), and the menu's
//!    "Unlock token" asks with the `pin unlock` warning and clears the lock.
//! 3. A request with the right PIN is signed (openssl verifies it),
//!    the icon is "ready" again, and the menu lists it under "Recent
//!    signatures" (time, site, document, outcome) next to the trusted site.
//! 4. A second `mohor` start exits 0, leaves one agent, and the first shows
//!    its status window.
//!
//! Screenshots for a person to look at, in `target/test-artifacts/`:
//! `tray-icon-ready.png`, `tray-icon-signing.png`, `tray-icon-attention.png`,
//! `tray-icon-starting.png`, `tray-menu-starting.png`,
//! `tray-menu-locked.png`, `tray-unlock.png`, `tray-menu.png`, `tray-menu-site.png`,
//! `tray-menu-autostart-on.png`, `tray-doctor.png`, `tray-about.png`,
//! `tray-status.png`. Skipped (loudly) only when Xvfb/xdotool/ImageMagick/
//! trayer are missing and `CI` is unset.
#![cfg(feature = "desktop")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "desktop_agent/ws.rs"]
mod ws;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;

use common::{Fixture, MODULE};
use ws::Connection;
use xvfb::{Display, APPEAR};

const ORIGIN: &str = "http://127.0.0.1:8765";
const TRUSTED: &str = "https://eoffice.gov.in";
const CONSENT_TITLE: &str = "Signature request";
const PIN_TITLE: &str = "Enter token PIN";
const REACT: Duration = Duration::from_secs(20);
/// The tray polls every 3 s; a loaded machine takes longer.
const TRAY_UPDATE: Duration = Duration::from_secs(45);

/// A child process killed by its pid when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn x(display: &Display, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", &display.name)
        .output()
        .expect("run xdotool");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tray host's panel window: (x, y, width, height).
fn panel(display: &Display) -> Option<(i64, i64, i64, i64)> {
    let id = x(display, &["search", "--name", "^panel$"]);
    let id = id.split_whitespace().last()?.to_string();
    let text = x(display, &["getwindowgeometry", "--shell", &id]);
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    Some((get("X")?, get("Y")?, get("WIDTH")?, get("HEIGHT")?))
}

/// The tray icon in `panel`, with a little of the panel and screen around it.
fn around_the_icon(panel: (i64, i64, i64, i64)) -> (i64, i64, i64, i64) {
    let (px, py, pw, ph) = panel;
    ((px - 60).max(0), py, pw + 60, ph + 8)
}

/// Screenshot of the whole screen, cropped (and enlarged `zoom` times, so a
/// person can see a 22-pixel icon).
fn shoot(display: &Display, name: &str, crop: (i64, i64, i64, i64), zoom: u32) -> PathBuf {
    std::fs::create_dir_all(artifacts()).expect("artifacts dir");
    let path = artifacts().join(format!("{name}.png"));
    let (cx, cy, w, h) = crop;
    let out = Command::new("import")
        .args([
            "-window",
            "root",
            "-crop",
            &format!("{w}x{h}+{cx}+{cy}"),
            "+repage",
        ])
        .arg(&path)
        .env("DISPLAY", &display.name)
        .output()
        .expect("run import");
    assert!(out.status.success(), "import: {}", common::text(&out));
    if zoom > 1 {
        let out = Command::new("convert")
            .arg(&path)
            .args(["-scale", &format!("{}%", zoom * 100)])
            .arg(&path)
            .output()
            .expect("run convert");
        assert!(out.status.success(), "convert: {}", common::text(&out));
    }
    path
}

/// A screenshot of `crop` once more than 10 of its pixels are like `rgb`
/// (or the last one taken when that never happens within `REACT`), with
/// how many are: the tray host repaints a changed icon when it gets to it,
/// which a loaded machine delays.
fn shoot_showing(
    display: &Display,
    name: &str,
    crop: (i64, i64, i64, i64),
    zoom: u32,
    rgb: (u8, u8, u8),
) -> (PathBuf, usize) {
    let started = Instant::now();
    loop {
        let shot = shoot(display, name, crop, zoom);
        let like = pixels_like(&shot, rgb);
        if like > 10 || started.elapsed() > REACT {
            return (shot, like);
        }
        sleep(Duration::from_millis(300));
    }
}

/// How many pixels of `png` are within a small distance of `rgb`.
fn pixels_like(png: &Path, rgb: (u8, u8, u8)) -> usize {
    let out = Command::new("convert")
        .arg(png)
        .args(["-depth", "8", "txt:-"])
        .output()
        .expect("run convert");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| {
            let hex = l.split('#').nth(1)?.get(0..6)?;
            let v = u32::from_str_radix(hex, 16).ok()?;
            Some(((v >> 16) as u8, (v >> 8) as u8, v as u8))
        })
        .filter(|(r, g, b)| {
            r.abs_diff(rgb.0) < 40 && g.abs_diff(rgb.1) < 40 && b.abs_diff(rgb.2) < 40
        })
        .count()
}

struct Agent {
    proc: Proc,
    stderr: PathBuf,
}

impl Agent {
    /// Starts `command` with its stderr in `dir/agent.stderr`.
    fn start(command: &mut Command, dir: &Path) -> Agent {
        let stderr = dir.join("agent.stderr");
        let child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("agent.stderr"))
            .spawn()
            .expect("start the agent");
        Agent {
            proc: Proc(child),
            stderr,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn assert_running(&mut self, when: &str) {
        if let Ok(Some(status)) = self.proc.0.try_wait() {
            panic!("the agent exited ({status}) {when}:\n{}", self.tail());
        }
    }

    /// Waits until the log has a line containing every one of `needles`
    /// after position `from`; returns the position after it.
    fn wait_log(&mut self, from: usize, needles: &[&str], within: Duration) -> usize {
        let started = Instant::now();
        while started.elapsed() < within {
            self.assert_running("while its log was awaited");
            let log = self.log();
            let mut pos = from.min(log.len());
            for line in log[pos..].split_inclusive('\n') {
                pos += line.len();
                if needles.iter().all(|n| line.contains(n)) {
                    return pos;
                }
            }
            sleep(Duration::from_millis(300));
        }
        panic!(
            "no log line with {needles:?} within {within:?}:\n{}",
            self.tail()
        );
    }

    fn window(&mut self, display: &Display, title: &str) -> xvfb::Window {
        let pid = self.proc.0.id();
        let w = display
            .wait_window(title, APPEAR, || {
                self.assert_running("while a window was awaited")
            })
            .unwrap_or_else(|| panic!("no {title:?} window:\n{}", self.tail()));
        assert_eq!(w.pid(), Some(pid), "{title:?} is not the agent's window");
        w
    }
}

fn mohor(home: &Path, softhsm_conf: &Path, display: &Display, dir: &Path) -> Command {
    mohor_on(Path::new(MODULE), home, softhsm_conf, display, dir)
}

/// [`mohor`] with the token's driver at `module`.
fn mohor_on(
    module: &Path,
    home: &Path,
    softhsm_conf: &Path,
    display: &Display,
    dir: &Path,
) -> Command {
    let mut c = common::mohor(home, softhsm_conf);
    c.arg("--module")
        .arg(module)
        .env("DISPLAY", &display.name)
        .env_remove("WAYLAND_DISPLAY")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", dir.join("no-session-bus").display()),
        )
        // "Start at login" must not touch the real user's autostart folder.
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env("XDG_CONFIG_DIRS", dir.join("xdg-system"))
        .env("GDK_BACKEND", "x11")
        .env("GTK_CSD", "1")
        .env("GTK_THEME", "Adwaita")
        .env("NO_AT_BRIDGE", "1")
        .env("MOHOR_LOG", "info,mohor::ui::desktop::tray=debug");
    c
}

fn sign_data(data: &[u8], cert: &str) -> serde_json::Value {
    json!({"data": base64::engine::general_purpose::STANDARD.encode(data), "certificateId": cert})
}

/// Consent → Sign, then `pin` typed into the PIN window.
fn approve(agent: &mut Agent, display: &Display, pin: &str) {
    let consent = agent.window(display, CONSENT_TITLE);
    consent.click_from_bottom_right(55, 32); // "Sign"
    assert!(
        display.window_gone(CONSENT_TITLE, REACT),
        "consent stayed open"
    );
    let pin_window = agent.window(display, PIN_TITLE);
    pin_window.type_text(pin);
    pin_window.key("Return");
    assert!(
        display.window_gone(PIN_TITLE, REACT),
        "PIN window stayed open"
    );
}

#[test]
fn tray_shows_its_state_and_lists_the_signature_just_made() {
    if !common::have_tool("openssl") {
        return;
    }
    let Some((display, _trayer)) = display_with_a_tray_host() else {
        return;
    };
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048");
    let (dir, softhsm_conf, home) = private_setup("desktop_tray");
    let port = free_port();
    std::fs::write(
        home.join("config.toml"),
        // Mohor stops after two wrong PINs: the guard's warning after one, the
        // soft lock, its notice and the tray's "Unlock" after two.
        format!("allowed_origins = [\"{ORIGIN}\"]\nport = {port}\n[pin]\nsoft_limit = 2\n"),
    )
    .expect("write config.toml");
    // A site the person allowed earlier (as the "trust this site?" prompt records it).
    let state = mohor::state::StateStore::open(&home.join("state")).expect("state");
    state
        .add_trusted_site(
            TRUSTED,
            time::OffsetDateTime::now_utc(),
            time::Duration::days(90),
        )
        .expect("trust a site");

    // A private session bus, and a monitor that records what is sent to the
    // notification service.
    let (_bus, bus_address) = session_bus(&dir);
    let notices = dir.join("notices.txt");
    let _monitor = Proc(
        Command::new("dbus-monitor")
            .args(["--address", &bus_address])
            .arg("interface='org.freedesktop.Notifications'")
            .stdout(std::fs::File::create(&notices).expect("notices.txt"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-monitor"),
    );
    sleep(Duration::from_millis(500));

    let mut agent = Agent::start(
        mohor(&home, &softhsm_conf, &display, &dir).env("DBUS_SESSION_BUS_ADDRESS", &bus_address),
        &dir,
    );
    let started = Instant::now();
    while TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_err()
    {
        agent.assert_running("before it listened");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not listening:\n{}",
            agent.tail()
        );
        sleep(Duration::from_millis(200));
    }
    // Says where it is and how to stop it (a desktop without a tray shows no icon).
    let pid = agent.proc.0.id().to_string();
    agent.wait_log(
        0,
        &["listening on ws://127.0.0.1:", &format!("kill {pid}")],
        REACT,
    );

    // ---- 1. Ready.
    let mut pos = agent.wait_log(0, &["tray icon: Ready"], TRAY_UPDATE);
    sleep(Duration::from_secs(1));
    let (px, py, pw, ph) = panel(&display).expect("trayer's panel window");
    assert!(pw >= 16 && ph >= 16, "the tray panel is empty: {pw}x{ph}");
    let icon_area = around_the_icon((px, py, pw, ph));
    let (shot, badge) = shoot_showing(
        &display,
        "tray-icon-ready",
        icon_area,
        4,
        (0x26, 0xa2, 0x69),
    );
    assert!(badge > 10, "no green badge in {}", shot.display());
    assert!(
        pixels_like(&shot, (0x9e, 0x1b, 0x1b)) > 50,
        "no red seal in {}",
        shot.display()
    );

    // ---- 2. A wrong PIN: refused, and the icon asks for attention.
    let connection = Connection::open(port, ORIGIN).expect("connect");
    let mut pending = connection.start(
        json!(1),
        "sign.data",
        sign_data(b"wrong PIN first", &cert.id),
    );
    // While the consent window waits for the person, the icon says so.
    agent.window(&display, CONSENT_TITLE);
    assert!(!pending.answered(), "answered before the person decided");
    assert_eq!(pending.stages(1, REACT), ["waiting-for-consent"]);
    pos = agent.wait_log(pos, &["tray icon: Signing"], TRAY_UPDATE);
    let (shot, badge) = shoot_showing(
        &display,
        "tray-icon-signing",
        icon_area,
        4,
        (0x1c, 0x71, 0xd8),
    );
    assert!(badge > 10, "no blue badge in {}", shot.display());
    approve(&mut agent, &display, "999999");
    let (connection, reply) = pending.finish();
    assert_eq!(reply.reason(), "PIN_INCORRECT", "{:#}", reply.answer);
    pos = agent.wait_log(pos, &["tray icon: Attention"], TRAY_UPDATE);
    let (shot, badge) = shoot_showing(
        &display,
        "tray-icon-attention",
        icon_area,
        4,
        (0xf6, 0xd3, 0x2d),
    );
    assert!(badge > 10, "no yellow warning in {}", shot.display());
    assert_eq!(
        pixels_like(&shot, (0x26, 0xa2, 0x69)),
        0,
        "still the green badge"
    );
    // A second wrong PIN: Mohor stops asking (soft lock).
    let pending = connection.start(
        json!("1b"),
        "sign.data",
        sign_data(b"wrong PIN again", &cert.id),
    );
    approve(&mut agent, &display, "999998");
    let (connection, reply) = pending.finish();
    assert_eq!(reply.reason(), "PIN_INCORRECT", "{:#}", reply.answer);
    // The person is told without a page open: a desktop notification.
    let started = Instant::now();
    loop {
        let seen = std::fs::read_to_string(&notices).unwrap_or_default();
        if seen.contains("member=Notify") && seen.contains("Token locked by Mohor") {
            break;
        }
        assert!(
            started.elapsed() < TRAY_UPDATE,
            "no soft-lock notification on the session bus:\n{seen}\n{}",
            agent.tail()
        );
        sleep(Duration::from_millis(300));
    }

    // The provider resets the PIN (the token stops reporting wrong PINs;
    // before that Mohor refuses to unlock), then "Unlock token …" in the
    // menu: the same warning as `mohor pin unlock`.
    fx.provider_resets_the_pin(&softhsm_conf, Path::new(MODULE), &cert.token);
    open_menu(&display, (px, py, pw, ph));
    shoot(&display, "tray-menu-locked", (0, 0, 1280, 800), 1);
    x(&display, &["key", "Down", "Down", "Return"]);
    let unlock = agent.window(&display, "Unlock token");
    unlock.screenshot(&artifacts(), "tray-unlock");
    unlock.click_from_bottom_right(40, 25); // "Unlock"
    let done = agent.window(&display, "Mohor");
    done.key("Return");
    let status = Command::new(env!("CARGO_BIN_EXE_mohor"))
        .env("MOHOR_HOME", &home)
        .env("SOFTHSM2_CONF", &softhsm_conf)
        .args(["--module", MODULE, "pin", "status", "--json"])
        .output()
        .expect("mohor pin status");
    let rows = common::json_out(&status);
    assert!(
        rows["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["state"] != "soft-locked"),
        "still soft-locked after Unlock: {rows:#}"
    );

    // ---- 3. The right PIN: signed, ready again, listed in the menu.
    let data = b"Order 12/2026: pay 4,500 rupees.\n";
    let pending = connection.start(json!(2), "sign.data", sign_data(data, &cert.id));
    approve(&mut agent, &display, &fx.user_pin);
    let (connection, reply) = pending.finish();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(reply.result()["signature"].as_str().expect("signature"))
        .expect("base64");
    std::fs::write(dir.join("data.bin"), data).expect("write");
    std::fs::write(dir.join("data.p7s"), &signature).expect("write");
    let out =
        common::openssl_verify_detached(&dir.join("data.p7s"), &dir.join("data.bin"), &fx.root);
    assert!(out.status.success(), "openssl: {}", common::text(&out));
    let mut connection = connection;
    let hello = connection.call(json!(3), "hello", None);
    assert_eq!(hello.result()["product"], "Mohor", "{:#}", hello.answer);
    connection.close();
    agent.wait_log(pos, &["tray icon: Ready"], TRAY_UPDATE);
    agent.wait_log(
        0,
        &[
            "tray menu:",
            &format!("· {ORIGIN} · "),
            "· signed",
            "failed: PIN_INCORRECT",
            &format!("{TRUSTED} (until "),
            "Asha Verma — issued by",
        ],
        TRAY_UPDATE,
    );
    // Open the menu as a person would (right click on the icon) and keep a picture.
    x(
        &display,
        &[
            "mousemove",
            &(px + pw / 2).to_string(),
            &(py + ph / 2).to_string(),
            "click",
            "3",
        ],
    );
    sleep(Duration::from_secs(2));
    let shot = shoot(&display, "tray-menu", (0, 0, 1280, 800), 1);
    assert!(
        pixels_like(&shot, (0xff, 0xff, 0xff)) > 20_000,
        "no menu drawn in {}",
        shot.display()
    );
    x(&display, &["key", "Escape"]);
    sleep(Duration::from_millis(500));

    // The trusted site's submenu (keyboard: the first item one can choose).
    open_menu(&display, (px, py, pw, ph));
    x(&display, &["key", "Down", "Right"]);
    sleep(Duration::from_secs(1));
    shoot(&display, "tray-menu-site", (0, 0, 1280, 800), 1);
    x(&display, &["key", "Escape", "Escape"]);
    sleep(Duration::from_millis(500));

    // "Check setup (doctor)…": the report in a window of the agent.
    open_menu(&display, (px, py, pw, ph));
    x(&display, &["key", "Down", "Down", "Return"]);
    let doctor = agent.window(&display, "Mohor setup check");
    doctor.screenshot(&artifacts(), "tray-doctor");
    doctor.destroy();
    assert!(
        display.window_gone("Mohor setup check", REACT),
        "doctor window stayed"
    );

    // "About Mohor": version, licence, where the config is.
    open_menu(&display, (px, py, pw, ph));
    x(
        &display,
        &["key", "Down", "Down", "Down", "Down", "Down", "Return"],
    );
    let about = agent.window(&display, "About Mohor");
    about.screenshot(&artifacts(), "tray-about");
    about.key("Return");
    assert!(
        display.window_gone("About Mohor", REACT),
        "about window stayed"
    );

    // "Start at login": on writes the XDG autostart entry, off removes it.
    let entry = dir.join("xdg-config/autostart/mohor.desktop");
    open_menu(&display, (px, py, pw, ph));
    x(&display, &["key", "Down", "Down", "Down", "Down", "Return"]);
    let started = Instant::now();
    while !entry.is_file() {
        assert!(
            started.elapsed() < REACT,
            "no autostart entry:\n{}",
            agent.tail()
        );
        sleep(Duration::from_millis(200));
    }
    let text = std::fs::read_to_string(&entry).expect("read the autostart entry");
    assert!(
        text.contains("Exec=") && !text.contains("Hidden=true"),
        "{text}"
    );
    sleep(Duration::from_secs(1));
    open_menu(&display, (px, py, pw, ph));
    shoot(&display, "tray-menu-autostart-on", (0, 0, 1280, 800), 1);
    x(&display, &["key", "Down", "Down", "Down", "Down", "Return"]);
    let started = Instant::now();
    while entry.exists() {
        assert!(
            started.elapsed() < REACT,
            "the autostart entry stayed:\n{}",
            agent.tail()
        );
        sleep(Duration::from_millis(200));
    }

    // "Remove this site": the site is no longer trusted, in the state file too.
    open_menu(&display, (px, py, pw, ph));
    x(&display, &["key", "Down", "Right", "Return"]);
    let removed = agent.window(&display, "Mohor");
    removed.key("Return");
    let ttl = time::Duration::days(90);
    let still = state
        .trusted_sites(time::OffsetDateTime::now_utc(), ttl)
        .expect("read trusted sites");
    assert!(still.is_empty(), "the site is still trusted: {still:?}");
    agent.wait_log(0, &["tray menu:", "Trusted sites |     none"], TRAY_UPDATE);

    // The log folder the menu opens holds the agent's log.
    let log = std::fs::read_to_string(home.join("logs/mohor.log")).unwrap_or_default();
    assert!(log.contains("tray icon: Ready"), "logs/mohor.log: {log}");

    // ---- 4. A second start: exit 0, one agent, the first shows its status.
    let second = mohor(&home, &softhsm_conf, &display, &dir)
        .output()
        .expect("run a second mohor");
    assert!(
        second.status.success(),
        "second start: {}",
        common::text(&second)
    );
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("already running"),
        "{}",
        common::text(&second)
    );
    let status = agent.window(&display, "Mohor status");
    status.screenshot(&artifacts(), "tray-status");
    status.key("Return");
    agent.assert_running("after the second start");
    let listeners = (0..4)
        .map(|i| 21760 + i)
        .chain([port])
        .filter(|p| mohor_listens_on(*p, agent.proc.0.id()))
        .count();
    assert_eq!(
        listeners, 1,
        "the agent must listen on exactly its one port"
    );

    drop(agent);
    drop(display);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh test folder `name-PID` with the fixture's tokens and an empty
/// MOHOR_HOME: (folder, SOFTHSM2_CONF, home).
fn private_setup(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = common::test_dir(&format!("{name}-{}", std::process::id()));
    let softhsm_conf = Fixture::shared().private_tokens(&dir);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("create MOHOR_HOME");
    (dir, softhsm_conf, home)
}

/// A private display with Debian's `trayer` as its tray host; `None` (and a
/// loud skip) only without the tools and outside CI.
fn display_with_a_tray_host() -> Option<(Display, Proc)> {
    if !["trayer", "dbus-daemon", "dbus-monitor"]
        .into_iter()
        .all(common::have_tool)
    {
        return None;
    }
    let display = xvfb::start_display()?;
    let trayer = Proc(
        Command::new("trayer")
            .args([
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "request",
            ])
            .args([
                "--height",
                "40",
                "--transparent",
                "false",
                "--tint",
                "0xd0d0d0",
            ])
            .args(["--SetDockType", "true"])
            .env("DISPLAY", &display.name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start trayer"),
    );
    Some((display, trayer))
}

/// A private D-Bus session bus (no service activation), stopped when dropped.
fn session_bus(dir: &Path) -> (Proc, String) {
    let socket = dir.join("session-bus");
    let config = dir.join("session-bus.conf");
    std::fs::write(
        &config,
        format!(
            "<busconfig><type>session</type><listen>unix:path={}</listen>\
             <auth>EXTERNAL</auth><policy context=\"default\"><allow send_destination=\"*\" \
             eavesdrop=\"true\"/><allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>",
            socket.display()
        ),
    )
    .expect("write the bus config");
    let child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--nopidfile"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dbus-daemon");
    let started = Instant::now();
    while !socket.exists() {
        assert!(started.elapsed() < REACT, "dbus-daemon did not start");
        sleep(Duration::from_millis(100));
    }
    (Proc(child), format!("unix:path={}", socket.display()))
}

/// Right click on the middle of the tray panel (where the one icon is).
fn open_menu(display: &Display, (px, py, pw, ph): (i64, i64, i64, i64)) {
    let (cx, cy) = ((px + pw / 2).to_string(), (py + ph / 2).to_string());
    x(display, &["mousemove", &cx, &cy, "click", "3"]);
    sleep(Duration::from_secs(2));
    // Park the pointer outside the menu so no item is highlighted by hover.
    x(display, &["mousemove", "5", "790"]);
    sleep(Duration::from_millis(300));
}

/// Whether process `pid` has a listening socket on `port` (Linux /proc).
fn mohor_listens_on(port: u16, pid: u32) -> bool {
    let want = format!(":{port:04X} ");
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|t| std::fs::read_to_string(t).ok())
        .flat_map(|text| {
            text.lines()
                .filter(|l| l.contains(&want) && l.split_whitespace().nth(3) == Some("0A"))
                .filter_map(|l| l.split_whitespace().nth(9).map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|l| {
            inodes
                .iter()
                .any(|i| l.to_string_lossy() == format!("socket:[{i}]"))
        })
}

/// A desktop without a tray host (no XEmbed tray, no StatusNotifier watcher
/// on the session bus): no icon can appear, so Mohor says where it listens
/// and how to stop it, and serves. Without any display it serves too, asking
/// in its terminal.
#[test]
fn without_a_tray_host_or_a_display_it_still_serves_and_says_how_to_stop() {
    let Some(display) = xvfb::start_display() else {
        return;
    };
    let (dir, softhsm_conf, home) = private_setup("desktop_tray_nohost");
    let port = free_port();
    std::fs::write(home.join("config.toml"), format!("port = {port}\n")).expect("config");

    // A display, no tray host.
    let mut agent = Agent::start(&mut mohor(&home, &softhsm_conf, &display, &dir), &dir);
    let pid = agent.proc.0.id().to_string();
    agent.wait_log(
        0,
        &[
            &format!("listening on ws://127.0.0.1:{port}"),
            &format!("kill {pid}"),
        ],
        Duration::from_secs(120),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_ok());
    // The server behind it answers: an origin nobody allowed is refused.
    assert!(
        Connection::open(port, "http://127.0.0.1:1").is_err(),
        "an unknown origin was accepted"
    );
    agent.assert_running("without a tray host");
    drop(agent);

    // No display at all: serves in the terminal's stead, never panics.
    let mut c = common::mohor(&home, &softhsm_conf);
    c.arg("--module")
        .arg(MODULE)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("headless.stdout")).expect("stdout"))
        .stderr(std::fs::File::create(dir.join("headless.stderr")).expect("stderr"));
    let mut headless = Proc(c.spawn().expect("start mohor without a display"));
    let started = Instant::now();
    loop {
        let out = std::fs::read_to_string(dir.join("headless.stdout")).unwrap_or_default();
        let err = std::fs::read_to_string(dir.join("headless.stderr")).unwrap_or_default();
        if out.contains(&format!("Mohor is listening on ws://127.0.0.1:{port}")) {
            assert!(err.contains("serving without windows"), "{err}");
            assert!(!err.contains("panicked"), "{err}");
            break;
        }
        if let Ok(Some(status)) = headless.0.try_wait() {
            panic!("mohor without a display exited ({status}):\n{out}\n{err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not serving without a display:\n{out}\n{err}"
        );
        sleep(Duration::from_millis(200));
    }
    drop(headless);
    drop(display);
    let _ = std::fs::remove_dir_all(&dir);
}

/// "Quit Mohor" from the tray menu while the token's driver is still in its
/// `C_Initialize` (token-sim holds it 90 s; real drivers have taken seconds
/// with many readers). Meanwhile the icon and the menu say Mohor is
/// looking for tokens.
/// On Quit the tray closes at once, the agent waits its limit
/// for the server thread, then ends without exit handlers — never running
/// the driver's static destructors under the call (token-sim reports that).
#[test]
fn quit_while_the_tokens_driver_starts_never_runs_exit_handlers_under_it() {
    let Some((display, _trayer)) = display_with_a_tray_host() else {
        return;
    };
    let (dir, softhsm_conf, home) = private_setup("desktop_tray_quit");
    std::fs::write(
        home.join("config.toml"),
        format!("port = {}\n", free_port()),
    )
    .expect("write config.toml");
    let sim = mohor_token_sim::harness::SimDir::create(dir.join("sim"));
    // Far longer than docking, the menu and Quit take on a loaded machine;
    // it costs nothing, as the agent ends without waiting for the call.
    sim.update_control(&json!({"latency_ms_per_function": {"C_Initialize": 90_000}}));
    let mut agent = Agent::start(
        mohor_on(
            &mohor_token_sim::harness::cdylib_path(),
            &home,
            &softhsm_conf,
            &display,
            &dir,
        )
        .envs(sim.env()),
        &dir,
    );
    // The icon docks in the panel while the driver still starts.
    let started = Instant::now();
    let area = loop {
        agent.assert_running("before its icon appeared");
        match panel(&display) {
            Some(area) if area.2 >= 16 && area.3 >= 16 => break area,
            _ => {}
        }
        assert!(
            started.elapsed() < TRAY_UPDATE,
            "no icon:\n{}",
            agent.tail()
        );
        sleep(Duration::from_millis(300));
    };
    sleep(Duration::from_secs(1));
    assert!(
        !agent.log().contains("listening on"),
        "the driver started too soon for this test:\n{}",
        agent.tail()
    );
    // The icon says it too: the grey seal with a purple magnifier (the
    // "no token" icon has no purple).
    let (shot, badge) = shoot_showing(
        &display,
        "tray-icon-starting",
        around_the_icon(area),
        4,
        (0x81, 0x3d, 0x9c),
    );
    assert!(
        badge > 10,
        "no purple 'looking for tokens' badge in {}",
        shot.display()
    );
    open_menu(&display, area);
    // What the person sees meanwhile: that Mohor is still looking, not
    // that no token is inserted (Tesseract reads the open menu).
    let seen = xvfb::ocr_menu(&shoot(
        &display,
        "tray-menu-starting",
        (960, 0, 320, 440),
        1,
    ));
    assert!(seen.contains("Looking for tokens"), "the menu read: {seen}");
    assert!(!seen.contains("No token inserted"), "the menu read: {seen}");
    // From no selection, Up selects the last item: "Quit Mohor".
    x(&display, &["key", "Up", "Return"]);
    let quit_at = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = agent.proc.0.try_wait() {
            break status;
        }
        assert!(
            quit_at.elapsed() < Duration::from_secs(40),
            "the agent did not end after Quit:\n{}",
            agent.tail()
        );
        sleep(Duration::from_millis(100));
    };
    let waited = quit_at.elapsed();
    assert!(
        status.success(),
        "the agent exited with {status}:\n{}",
        agent.tail()
    );
    assert!(
        agent.log().contains("the agent had not stopped"),
        "the agent did not say why it ended under a call:\n{}",
        agent.tail()
    );
    assert!(
        waited < Duration::from_secs(15),
        "the agent waited for the driver ({waited:?}) instead of ending"
    );
    assert_eq!(sim.exit_handlers_under_a_call(), None);
    drop(agent);
    drop(display);
    let _ = std::fs::remove_dir_all(&dir);
}
