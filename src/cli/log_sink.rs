//! Where log lines go: standard error always, and for the desktop agent
//! also `mohor.log` in the log folder (the tray's "Open log folder"), since
//! an agent started at login has no terminal to read.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Cli, Dirs};

/// The log file of the desktop agent (`mohor` without a command), opened
/// for appending; `None` for other commands or when it cannot be opened.
pub fn agent_log_file(cli: &Cli) -> Option<Arc<Mutex<File>>> {
    if cli.command.is_some() {
        return None;
    }
    let dirs = Dirs::resolve(cli.config.as_deref()).ok()?;
    std::fs::create_dir_all(&dirs.log_dir).ok()?;
    let file = File::options()
        .create(true)
        .append(true)
        .open(dirs.log_dir.join("mohor.log"))
        .ok()?;
    Some(Arc::new(Mutex::new(file)))
}

/// One log event's writer: stderr, plus the file when there is one.
pub struct LogSink(pub Option<Arc<Mutex<File>>>);

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(f) = &self.0 {
            // A full disk must not stop the agent; the line still reaches stderr.
            let _ = f
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .write_all(buf);
        }
        std::io::stderr().write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
