//! A private Xvfb display for the desktop tests (dialogs and the tray agent).
//! Xvfb picks the display number itself (`-displayfd`), so parallel test
//! processes never race for one, and it reports the number only once it
//! accepts clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a dialog may take to appear (cold GTK start on a busy machine).
pub const APPEAR: Duration = Duration::from_secs(60);

pub fn tool_exists(name: &str) -> bool {
    Command::new(name)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A private X server; stopped when dropped.
pub struct Display {
    pub name: String,
    xvfb: Child,
}

impl Drop for Display {
    fn drop(&mut self) {
        // SIGTERM (by this child's pid) first, so Xvfb removes its lock file
        // and socket; SIGKILL if it does not go.
        let _ = Command::new("kill")
            .arg(self.xvfb.id().to_string())
            .stderr(Stdio::null())
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.xvfb.try_wait() {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

/// Starts Xvfb on a display it picks itself (`-displayfd`: no race with
/// other tests choosing numbers). `None` means "skip": only when a tool is
/// missing and `CI` is unset; in CI a missing tool fails the test.
pub fn start_display() -> Option<Display> {
    let missing: Vec<&str> = ["Xvfb", "xdotool", "import"]
        .into_iter()
        .filter(|t| !tool_exists(t))
        .collect();
    if !missing.is_empty() {
        let message = format!(
            "the desktop tests need {} (apt-get install xvfb xdotool imagemagick)",
            missing.join(", ")
        );
        if std::env::var_os("CI").is_some() {
            panic!("{message}; they must run in CI");
        }
        eprintln!("\n!!!!!!!!!! SKIPPED: {message} !!!!!!!!!!\n");
        return None;
    }
    // Xvfb writes the display number to fd 1 once it accepts clients.
    let mut xvfb = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    let stdout = xvfb.stdout.take().expect("Xvfb stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let number = rx
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .and_then(|line| line.trim().parse::<u32>().ok());
    match number {
        Some(n) => {
            let display = Display {
                name: format!(":{n}"),
                xvfb,
            };
            wait_until_it_answers(&display);
            Some(display)
        }
        None => {
            let _ = xvfb.kill();
            let _ = xvfb.wait();
            panic!("Xvfb did not report a display number within 30 s");
        }
    }
}

/// A client can open the display (on a loaded machine a dialog once failed
/// to initialise GTK right after Xvfb reported its number).
fn wait_until_it_answers(display: &Display) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let answered = Command::new("xdotool")
            .arg("getdisplaygeometry")
            .env("DISPLAY", &display.name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if answered {
            return;
        }
        sleep(Duration::from_millis(100));
    }
    panic!("Xvfb {} accepted no client within 30 s", display.name);
}

/// Visible windows titled exactly `title` on the X display `display`.
fn visible(display: &str, title: &str) -> Vec<String> {
    let pattern = format!("^{}$", regex_escape(title));
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", &pattern])
        .env("DISPLAY", display)
        .output()
        .expect("run xdotool");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The visible window titled exactly `title` on `display`, waiting up to
/// `within`; `diagnose` runs on every wait so a caller can give up early.
pub fn find_window(
    display: &str,
    title: &str,
    within: Duration,
    mut diagnose: impl FnMut(),
) -> Option<Window> {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Some(id) = visible(display, title).into_iter().next() {
            let window = Window {
                id,
                display: display.to_owned(),
            };
            // Let GTK finish the first frame before anyone looks or types.
            sleep(Duration::from_millis(700));
            window.focus();
            return Some(window);
        }
        diagnose();
        sleep(Duration::from_millis(200));
    }
    None
}

/// True once no visible window titled `title` is left on `display`.
pub fn window_gone(display: &str, title: &str, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if visible(display, title).is_empty() {
            return true;
        }
        sleep(Duration::from_millis(200));
    }
    false
}

impl Display {
    /// The visible window titled exactly `title`, waiting up to `within`.
    /// `None` if it did not appear; `diagnose` is called on every wait so
    /// the caller can give up early (e.g. when the agent died).
    pub fn wait_window(
        &self,
        title: &str,
        within: Duration,
        diagnose: impl FnMut(),
    ) -> Option<Window> {
        find_window(&self.name, title, within, diagnose)
    }

    /// True once no visible window titled `title` is left.
    pub fn window_gone(&self, title: &str, within: Duration) -> bool {
        window_gone(&self.name, title, within)
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "\\^$.|?*+()[]{}".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// One X window on the display.
pub struct Window {
    pub id: String,
    display: String,
}

pub struct Geometry {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

impl Window {
    fn run(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn focus(&self) {
        self.run("xdotool", &["windowfocus", "--sync", &self.id]);
    }

    /// The process that owns the window (`_NET_WM_PID`, which GTK sets).
    pub fn pid(&self) -> Option<u32> {
        self.run("xdotool", &["getwindowpid", &self.id])
            .trim()
            .parse()
            .ok()
    }

    pub fn key(&self, keys: &str) {
        self.focus();
        self.run("xdotool", &["key", "--clearmodifiers", keys]);
        sleep(Duration::from_millis(300));
    }

    pub fn type_text(&self, text: &str) {
        self.focus();
        self.run("xdotool", &["type", "--delay", "60", text]);
        sleep(Duration::from_millis(300));
    }

    pub fn geometry(&self) -> Geometry {
        let text = self.run("xdotool", &["getwindowgeometry", "--shell", &self.id]);
        let get = |key: &str| -> i64 {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {key} in window geometry: {text}"))
        };
        Geometry {
            x: get("X"),
            y: get("Y"),
            width: get("WIDTH"),
            height: get("HEIGHT"),
        }
    }

    /// Clicks at a point measured from the window's bottom-right corner
    /// (where the dialog buttons are).
    pub fn click_from_bottom_right(&self, left: i64, up: i64) {
        let g = self.geometry();
        let (x, y) = ((g.width - left).to_string(), (g.height - up).to_string());
        self.run(
            "xdotool",
            &["mousemove", "--window", &self.id, &x, &y, "click", "1"],
        );
        sleep(Duration::from_millis(400));
    }

    /// Turns the mouse wheel down `clicks` times over the point `left`,
    /// `top` pixels into the window (a scrolled list there moves).
    pub fn scroll_down_at(&self, left: i64, top: i64, clicks: u32) {
        let (x, y, n) = (left.to_string(), top.to_string(), clicks.to_string());
        self.run(
            "xdotool",
            &[
                "mousemove",
                "--window",
                &self.id,
                &x,
                &y,
                "click",
                "--repeat",
                &n,
                "5",
            ],
        );
        sleep(Duration::from_millis(400));
    }

    /// Destroys the X window from outside the application.
    pub fn destroy(&self) {
        self.run("xdotool", &["windowclose", &self.id]);
    }

    /// Saves the screen around this window to `dir/<name>.png` and returns
    /// the path.
    pub fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        std::fs::create_dir_all(dir).expect("create the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&path);
        // Park the pointer away from the buttons so no hover shows.
        self.run("xdotool", &["mousemove", "0", "0"]);
        sleep(Duration::from_millis(300));
        let g = self.geometry();
        let margin = 12;
        let crop = format!(
            "{}x{}+{}+{}",
            g.width + 2 * margin,
            g.height + 2 * margin,
            (g.x - margin).max(0),
            (g.y - margin).max(0)
        );
        let target = path.to_string_lossy().into_owned();
        self.run(
            "import",
            &[
                "-display",
                &self.display,
                "-window",
                "root",
                "-crop",
                &crop,
                "+repage",
                &target,
            ],
        );
        assert!(path.exists(), "screenshot {target} not written");
        path
    }
}

/// The words on a screenshot, read by Tesseract (English) after scaling the
/// 96-dpi screen up three times, as OCR wants.
pub fn ocr_screen(png: &Path) -> String {
    ocr_screen_with(png, &[])
}

/// [`ocr_screen`] of a menu whose greyed (insensitive) lines count too:
/// Tesseract skips light grey text, so every pixel short of white is made
/// black first.
pub fn ocr_menu(png: &Path) -> String {
    ocr_screen_with(png, &["-colorspace", "Gray", "-threshold", "80%"])
}

fn ocr_screen_with(png: &Path, convert_args: &[&str]) -> String {
    let big = png.with_extension("x3.png");
    let scaled = Command::new("convert")
        .arg(png)
        .args(["-resize", "300%"])
        .args(convert_args)
        .arg(&big)
        .output()
        .unwrap();
    assert!(scaled.status.success(), "{scaled:?}");
    let out = Command::new("tesseract")
        .arg(&big)
        .arg("stdout")
        .args(["-l", "eng", "--psm", "4"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
