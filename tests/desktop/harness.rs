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

pub use crate::xvfb::{start_display, Display, Window, APPEAR};

/// The dialog process: this test binary, running [`CHILD_TEST`].
pub struct DialogProcess {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
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
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

fn spawn(mut command: Command, display: &str) -> DialogProcess {
    let mut child = command.spawn().expect("start the dialog process");
    let stdout = child.stdout.take().expect("child stdout");
    let stdin = child.stdin.take();
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
        stdin,
        lines,
        display: display.to_owned(),
    }
}

impl DialogProcess {
    /// Tell the dialog process to act now (withdraw the request, or quit):
    /// the scenarios that wait for the parent do so once the window is seen.
    pub fn go(&mut self) {
        use std::io::Write;
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(b"go\n").and_then(|()| stdin.flush());
        }
    }

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

    /// The id of the visible window titled exactly `title`, waiting for it.
    pub fn window(&self, title: &str) -> Window {
        // A dialog process that answered before any window appeared says why
        // (e.g. it could not open the display): fail with that, at once.
        let early = std::cell::RefCell::new(None);
        let found = crate::xvfb::find_window(&self.display, title, APPEAR, || {
            if early.borrow().is_none() {
                if let Ok(answer) = self.lines.try_recv() {
                    *early.borrow_mut() = Some(answer);
                }
            }
        });
        match (found, early.into_inner()) {
            (Some(w), _) => w,
            (None, Some(answer)) => {
                panic!("no window titled {title:?}: the dialog answered {answer:?} before one appeared")
            }
            (None, None) => panic!("no window titled {title:?} appeared within {APPEAR:?}"),
        }
    }

    /// True once no visible window titled `title` is left.
    pub fn window_gone(&self, title: &str, within: Duration) -> bool {
        crate::xvfb::window_gone(&self.display, title, within)
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

/// Where screenshots go: `target/test-artifacts/`.
pub fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts")
}
