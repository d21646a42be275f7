//! A private Xvfb display for the desktop tests (dialogs and the tray agent).
//! Xvfb picks the display number itself (`-displayfd`), so parallel test
//! processes never race for one, and it reports the number only once it
//! accepts clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant};

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
        Some(n) => Some(Display {
            name: format!(":{n}"),
            xvfb,
        }),
        None => {
            let _ = xvfb.kill();
            let _ = xvfb.wait();
            panic!("Xvfb did not report a display number within 30 s");
        }
    }
}
