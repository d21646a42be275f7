//! One desktop agent per user: the first `mohor` holds a lock in the state
//! directory and listens on a local socket next to it; a second start finds
//! the lock taken, asks the first to show its status, and exits 0. So a
//! second start never binds a second server on a fallback port.
//!
//! The lock (not the socket) decides who is first: the OS releases it when
//! the first agent exits, even after a crash, and a stale socket file left
//! behind is simply replaced.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

const LOCK_FILE: &str = "agent.lock";
#[cfg(unix)]
const SOCKET_FILE: &str = "agent.sock";
/// The one request a second start sends.
const SHOW: &str = "show-status";

/// How the start went.
pub enum Claim {
    /// This process is the agent; keep the guard alive while it runs.
    First(Guard),
    /// Another agent runs; it was asked to show its status (`told` is false
    /// when it could not be reached, e.g. still starting up).
    Second { told: bool },
}

/// Held by the running agent: the lock, and where its socket is.
pub struct Guard {
    _lock: File,
    #[cfg(unix)]
    socket: PathBuf,
}

/// Try to become the agent for `state_dir`.
pub fn claim(state_dir: &Path) -> Result<Claim> {
    std::fs::create_dir_all(state_dir).map_err(|e| {
        Error::io(
            format!("cannot create state dir {}", state_dir.display()),
            &e,
        )
    })?;
    let lock_path = state_dir.join(LOCK_FILE);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("cannot open {}", lock_path.display()), &e))?;
    match lock.try_lock() {
        Ok(()) => Ok(Claim::First(Guard {
            _lock: lock,
            #[cfg(unix)]
            socket: state_dir.join(SOCKET_FILE),
        })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(Claim::Second {
            told: tell_first(state_dir),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(
            format!("cannot lock {}", lock_path.display()),
            &e,
        )),
    }
}

/// Ask the running agent to show its status; retries for a few seconds in
/// case it is still starting.
#[cfg(unix)]
fn tell_first(state_dir: &Path) -> bool {
    use std::os::unix::net::UnixStream;
    let path = state_dir.join(SOCKET_FILE);
    for _ in 0..25 {
        if let Ok(mut s) = UnixStream::connect(&path) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            if writeln!(s, "{SHOW}").is_ok() {
                let mut answer = String::new();
                let _ = BufReader::new(&s).read_line(&mut answer);
                return answer.trim() == "ok";
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[cfg(not(unix))]
fn tell_first(_state_dir: &Path) -> bool {
    false
}

impl Guard {
    /// Listens for second starts on a background thread and calls
    /// `on_show` for each.
    #[cfg(unix)]
    pub fn listen(&self, on_show: impl Fn() + Send + 'static) -> Result<()> {
        use std::os::unix::net::UnixListener;
        // We hold the lock, so a socket file here is a dead agent's.
        let _ = std::fs::remove_file(&self.socket);
        let listener = UnixListener::bind(&self.socket)
            .map_err(|e| Error::io(format!("cannot listen on {}", self.socket.display()), &e))?;
        // Only this user may ask (the state folder is private too).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&self.socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(format!("cannot restrict {}", self.socket.display()), &e))?;
        std::thread::Builder::new()
            .name("mohor-single-instance".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut line = String::new();
                    if BufReader::new(&stream).read_line(&mut line).is_ok() && line.trim() == SHOW {
                        on_show();
                        let _ = (&stream).write_all(b"ok\n");
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the listener: {e}")))?;
        Ok(())
    }

    #[cfg(not(unix))]
    pub fn listen(&self, _on_show: impl Fn() + Send + 'static) -> Result<()> {
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.socket);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn the_second_claim_tells_the_first_and_a_released_lock_is_free_again() {
        let dir = tempfile::tempdir().unwrap();
        let Claim::First(guard) = claim(dir.path()).unwrap() else {
            panic!("first claim must win");
        };
        let shown = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&shown);
        guard
            .listen(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        match claim(dir.path()).unwrap() {
            Claim::Second { told } => assert!(told),
            Claim::First(_) => panic!("a second claim must not win"),
        }
        assert_eq!(shown.load(Ordering::SeqCst), 1);
        drop(guard);
        assert!(matches!(claim(dir.path()).unwrap(), Claim::First(_)));
    }
}
