//! A private Xvfb display and what a person does on it: find a window, press
//! keys, type, click, take a screenshot. The same approach as
//! `tests/desktop/harness.rs`, but for windows of any process (here the
//! desktop agent itself), with screenshots named by the caller.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a dialog may take to appear (cold GTK start on a busy machine).
pub const APPEAR: Duration = Duration::from_secs(60);

pub use crate::xvfb::{start_display, Display};

impl Display {
    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.name)
            .output()
            .expect("run xdotool");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn visible(&self, title: &str) -> Vec<String> {
        let pattern = format!("^{}$", regex_escape(title));
        let found = self.xdotool(&["search", "--onlyvisible", "--name", &pattern]);
        found.split_whitespace().map(str::to_owned).collect()
    }

    /// The visible window titled exactly `title`, waiting up to `within`.
    /// `None` if it did not appear; `diagnose` is called on every wait so
    /// the caller can give up early (e.g. when the agent died).
    pub fn wait_window(
        &self,
        title: &str,
        within: Duration,
        mut diagnose: impl FnMut(),
    ) -> Option<Window> {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Some(id) = self.visible(title).into_iter().next() {
                let window = Window {
                    id,
                    display: self.name.clone(),
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

    /// True once no visible window titled `title` is left.
    pub fn window_gone(&self, title: &str, within: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < within {
            if self.visible(title).is_empty() {
                return true;
            }
            sleep(Duration::from_millis(200));
        }
        false
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
