//! Where the agent keeps documents in transit: private folders owned by one
//! running agent, and swept when that agent is gone.
//!
//! ```text
//! STATE/            0700
//!   tmp/            0700
//!     run-XXXX/     0700  one per running agent; `.lock` held while it runs
//!       request-…/  0700  one per request: input.pdf, signed.pdf (0600)
//!   spool/          0700
//!     run-XXXX/     0700  that agent's uploads (0600)
//! ```
//!
//! A stopped agent removes its own run folders; one that was killed leaves
//! them behind, and the next agent to start removes every run folder whose
//! lock nobody holds (and anything else it finds there). Two agents may run
//! at once (the tray and `mohor serve --port N`): each keeps its own.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

const RUN_PREFIX: &str = "run-";
const LOCK_FILE: &str = ".lock";

/// Creates `dir` (and its parents) and makes it owner-only, whatever the umask.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates `path` for writing, owner-only (0600) whatever the umask.
pub fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// This agent's private folders under the state directory.
#[derive(Debug)]
pub struct RunDirs {
    tmp: PathBuf,
    spool: PathBuf,
    /// Held (locked) for as long as the agent runs.
    _lock: File,
}

impl RunDirs {
    /// Makes the state folders private, removes what dead agents left, and
    /// creates this agent's run folders.
    pub fn claim(state_dir: &Path) -> Result<RunDirs> {
        let io = |what: &str, path: &Path, e: io::Error| {
            Error::io(format!("cannot {what} {}", path.display()), &e)
        };
        let tmp_base = state_dir.join("tmp");
        let spool_base = state_dir.join("spool");
        for d in [state_dir, &tmp_base, &spool_base] {
            private_dir(d).map_err(|e| io("create", d, e))?;
        }
        sweep(&tmp_base, &spool_base);
        let run = tempfile::Builder::new()
            .prefix(RUN_PREFIX)
            .rand_bytes(10)
            .tempdir_in(&tmp_base)
            .map_err(|e| io("create a folder in", &tmp_base, e))?
            .keep();
        private_dir(&run).map_err(|e| io("create", &run, e))?;
        let lock_path = run.join(LOCK_FILE);
        let lock = private_file(&lock_path).map_err(|e| io("create", &lock_path, e))?;
        lock.try_lock()
            .map_err(|e| io("lock", &lock_path, io::Error::other(e.to_string())))?;
        let name = run.file_name().map(PathBuf::from).unwrap_or_default();
        let spool = spool_base.join(name);
        private_dir(&spool).map_err(|e| io("create", &spool, e))?;
        Ok(RunDirs {
            tmp: run,
            spool,
            _lock: lock,
        })
    }

    /// Per-request scratch folders go here.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// Uploads are spooled here.
    pub fn spool(&self) -> &Path {
        &self.spool
    }

    /// Removes both run folders with whatever is still in them (requests in
    /// flight included: their open files vanish with the folder's entries).
    pub fn remove(self) {
        let _ = fs::remove_dir_all(&self.spool);
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

/// Whether the agent that created run folder `run` is gone.
fn abandoned(run: &Path) -> bool {
    match File::open(run.join(LOCK_FILE)) {
        Ok(f) => f.try_lock().is_ok(),
        // No lock file: killed before it took the lock, or not ours at all.
        Err(_) => true,
    }
}

/// Removes leftovers: run folders of dead agents, and anything that is not a
/// run folder (older versions spooled straight into these folders).
fn sweep(tmp_base: &Path, spool_base: &Path) {
    let mut alive = Vec::new();
    for base in [tmp_base, spool_base] {
        let Ok(entries) = fs::read_dir(base) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let is_run = name.to_string_lossy().starts_with(RUN_PREFIX);
            let keep = is_run
                && if base == tmp_base {
                    let live = !abandoned(&entry.path());
                    if live {
                        alive.push(name.clone());
                    }
                    live
                } else {
                    alive.contains(&name)
                };
            if !keep {
                let path = entry.path();
                let r = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                if let Err(e) = r {
                    tracing::warn!("could not remove the leftover {}: {e}", path.display());
                }
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[test]
    fn run_folders_are_private_and_leftovers_of_dead_agents_are_swept() -> io::Result<()> {
        let home = tempfile::tempdir()?;
        let state = home.path().join("state");
        // What a killed agent (and an older version) left behind.
        let dead = state.join("tmp/run-dead/request-1");
        fs::create_dir_all(&dead)?;
        fs::write(dead.join("input.pdf"), b"%PDF secret")?;
        fs::write(state.join("tmp/run-dead/.lock"), b"")?;
        fs::create_dir_all(state.join("spool/run-dead"))?;
        fs::write(state.join("spool/run-dead/mohor-spool-1"), b"secret")?;
        fs::write(state.join("spool/mohor-spool-old"), b"secret")?;

        let live = RunDirs::claim(&state).map_err(|e| io::Error::other(e.to_string()))?;
        for d in [
            &state,
            &state.join("tmp"),
            &state.join("spool"),
            &live.tmp().to_path_buf(),
            &live.spool().to_path_buf(),
        ] {
            assert_eq!(mode(d), 0o700, "{}", d.display());
        }
        assert!(!state.join("tmp/run-dead").exists());
        assert!(!state.join("spool/run-dead").exists());
        assert!(!state.join("spool/mohor-spool-old").exists());

        // A second agent starting now keeps the first one's folders.
        let second = RunDirs::claim(&state).map_err(|e| io::Error::other(e.to_string()))?;
        assert!(live.tmp().exists() && live.spool().exists());
        let (tmp, spool) = (second.tmp().to_path_buf(), second.spool().to_path_buf());
        second.remove();
        assert!(!tmp.exists() && !spool.exists());
        drop(live);
        Ok(())
    }

    #[test]
    fn private_files_are_owner_only() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("input.pdf");
        drop(private_file(&p)?);
        assert_eq!(mode(&p), 0o600);
        Ok(())
    }
}
