//! The parent side of the dialog tests: a private Xvfb display per test, the
//! dialog process (this same test binary in child mode), and xdotool/import
//! to act like a person and take screenshots.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::scenarios::{ENV_SCENARIO, ENV_TIMEOUT};

/// The name of the test function that runs in child mode.
pub const CHILD_TEST: &str = "desktop_child_entry";

/// How long a dialog may take to appear (cold GTK start on a busy machine).
const APPEAR: Duration = Duration::from_secs(60);

pub use crate::xvfb::{start_display, Display};

/// The dialog process: this test binary, running [`CHILD_TEST`].
pub struct DialogProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub display: String,
}

impl Drop for DialogProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn_dialog(display: &Display, scenario: &str, timeout_secs: u64) -> DialogProcess {
    let mut command = child_command(scenario, timeout_secs);
    command.env("DISPLAY", &display.name);
    spawn(command, &display.name)
}

/// The dialog process with no display at all (nothing to draw on).
pub fn spawn_without_display(scenario: &str) -> DialogProcess {
    let mut command = child_command(scenario, 5);
    command.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    spawn(command, "")
}

fn child_command(scenario: &str, timeout_secs: u64) -> Command {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut command = Command::new(exe);
    command
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV_SCENARIO, scenario)
        .env(ENV_TIMEOUT, timeout_secs.to_string())
        // Client-side decorations: without a window manager, GTK then draws
        // the title bar itself, so screenshots show the window title.
        .env("GTK_CSD", "1")
        .env("GDK_BACKEND", "x11")
        .env("NO_AT_BRIDGE", "1")
        .env("GTK_THEME", "Adwaita")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

fn spawn(mut command: Command, display: &str) -> DialogProcess {
    let mut child = command.spawn().expect("start the dialog process");
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may have printed "test name ... " on the same line.
            match line.find("ANSWER ").map(|at| &line[at + "ANSWER ".len()..]) {
                Some(answer) => {
                    let _ = tx.send(answer.trim().to_owned());
                }
                // The child's own test output: shown for diagnosis.
                None => eprintln!("[dialog process] {line}"),
            }
        }
    });
    DialogProcess {
        child,
        lines,
        display: display.to_owned(),
    }
}

impl DialogProcess {
    /// The answer the prompter returned, if one came within `within`.
    pub fn answer(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    /// Asserts that no answer comes within `quiet` (e.g. a disabled button).
    pub fn assert_no_answer(&self, quiet: Duration, why: &str) {
        if let Some(a) = self.answer(quiet) {
            panic!("{why}: the dialog answered {a:?}");
        }
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .expect("run xdotool");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The id of the visible window titled exactly `title`, waiting for it.
    pub fn window(&self, title: &str) -> Window {
        let pattern = format!("^{}$", regex_escape(title));
        let started = Instant::now();
        while started.elapsed() < APPEAR {
            let found = self.xdotool(&["search", "--onlyvisible", "--name", &pattern]);
            if let Some(id) = found.split_whitespace().next() {
                let window = Window {
                    id: id.to_owned(),
                    display: self.display.clone(),
                };
                // Let GTK finish the first frame before anyone looks or types.
                sleep(Duration::from_millis(700));
                window.focus();
                return window;
            }
            sleep(Duration::from_millis(200));
        }
        panic!("no window titled {title:?} appeared within {APPEAR:?}");
    }

    /// True once no visible window titled `title` is left.
    pub fn window_gone(&self, title: &str, within: Duration) -> bool {
        let pattern = format!("^{}$", regex_escape(title));
        let started = Instant::now();
        while started.elapsed() < within {
            let found = self.xdotool(&["search", "--onlyvisible", "--name", &pattern]);
            if found.trim().is_empty() {
                return true;
            }
            sleep(Duration::from_millis(200));
        }
        false
    }

    /// Ends the dialog process and checks it exited cleanly.
    pub fn finish(mut self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "dialog process failed: {status}");
                return;
            }
            sleep(Duration::from_millis(100));
        }
        panic!("dialog process did not end after answering");
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

/// One X window of the dialog process.
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
    fn run(&self, program: &str, args: &[&str]) {
        let status = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(status.success(), "{program} {args:?} failed");
    }

    pub fn focus(&self) {
        self.run("xdotool", &["windowfocus", "--sync", &self.id]);
    }

    pub fn key(&self, keys: &str) {
        self.run("xdotool", &["key", "--clearmodifiers", keys]);
        sleep(Duration::from_millis(300));
    }

    pub fn type_text(&self, text: &str) {
        self.run("xdotool", &["type", "--delay", "60", text]);
        sleep(Duration::from_millis(300));
    }

    pub fn geometry(&self) -> Geometry {
        let out = Command::new("xdotool")
            .args(["getwindowgeometry", "--shell", &self.id])
            .env("DISPLAY", &self.display)
            .output()
            .expect("xdotool getwindowgeometry");
        let text = String::from_utf8_lossy(&out.stdout);
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

    /// Destroys the X window from outside the application.
    pub fn destroy(&self) {
        self.run("xdotool", &["windowclose", &self.id]);
    }

    /// Saves the screen around this window to
    /// `target/test-artifacts/dialog-<name>.png` and returns the path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
        std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
        let path = dir.join(format!("dialog-{name}.png"));
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
