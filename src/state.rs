//! Where Mohor keeps things, and the things it keeps: wrong-PIN counters,
//! trusted sites and the audit log.
//!
//! `MOHOR_HOME=DIR` puts config, state and logs under DIR (tests use it);
//! otherwise the OS directories from `directories` are used. Every state file
//! is rewritten atomically under an exclusive lock, so the tray agent and a
//! `mohor` command running at the same time never lose a count, and a crash
//! leaves the old or the new file, never a torn one.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Reason};
use crate::token::guard::Count;

/// The directories Mohor uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub config_file: PathBuf,
    pub state_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl Dirs {
    pub fn resolve(config_override: Option<&Path>) -> Result<Dirs, Error> {
        let mut dirs = match std::env::var_os("MOHOR_HOME") {
            Some(home) if !home.is_empty() => {
                let home = PathBuf::from(home);
                Dirs {
                    config_file: home.join("config.toml"),
                    state_dir: home.join("state"),
                    log_dir: home.join("logs"),
                }
            }
            _ => {
                let p =
                    directories::ProjectDirs::from("in", "Mohor", "Mohor").ok_or_else(|| {
                        Error::new(Reason::IoError, "cannot find the home directory")
                            .with_hint("set MOHOR_HOME to a directory Mohor may use")
                    })?;
                Dirs {
                    config_file: p.config_dir().join("config.toml"),
                    state_dir: p.data_local_dir().join("state"),
                    log_dir: p.data_local_dir().join("logs"),
                }
            }
        };
        if let Some(c) = config_override {
            dirs.config_file = c.to_path_buf();
        }
        Ok(dirs)
    }
}

/// Mohor's record for one token's PIN.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PinRecord {
    #[serde(flatten)]
    pub count: Count,
    pub module: String,
    pub serial: String,
    pub label: String,
    /// The token answered CKR_PIN_LOCKED once: never prompt again until unlock.
    #[serde(default)]
    pub token_locked_seen: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_wrong: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub time: String,
    /// `cli` or the web origin.
    pub origin: String,
    pub action: String,
    pub document: String,
    pub sha256: String,
    pub certificate: String,
    /// `ok` or a reason code.
    pub result: String,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

const PIN_FILE: &str = "pin-counters.json";
const SITES_FILE: &str = "trusted-sites.json";
const AUDIT_FILE: &str = "audit.jsonl";
const LOCK_FILE: &str = "state.lock";

impl StateStore {
    pub fn open(dir: &Path) -> Result<Self, Error> {
        // Owner-only: documents in transit live below it (server::workdir).
        crate::server::workdir::private_dir(dir)
            .map_err(|e| Error::io(format!("cannot create state dir {}", dir.display()), &e))?;
        Ok(StateStore {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Run `f` holding the exclusive state lock (across processes).
    fn locked<T>(&self, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        let path = self.dir.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = options
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), &e))?;
        lock.lock()
            .map_err(|e| Error::io(format!("cannot lock {}", path.display()), &e))?;
        let result = f();
        let _ = lock.unlock();
        result
    }

    fn read_json<T: serde::de::DeserializeOwned + Default>(&self, name: &str) -> Result<T, Error> {
        let path = self.dir.join(name);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    Reason::IoError,
                    format!("state file {} is damaged: {e}", path.display()),
                )
                .with_hint("move the file away; Mohor will start a new one (wrong-PIN counts restart at zero, so type carefully)")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), &e)),
        }
    }

    fn write_json<T: serde::Serialize>(&self, name: &str, value: &T) -> Result<(), Error> {
        let path = self.dir.join(name);
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| Error::internal(format!("encode {name}: {e}")))?;
        crate::atomic::write_atomic_as(&path, &bytes, crate::atomic::Visibility::Private)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e))
    }

    pub fn pin_records(&self) -> Result<BTreeMap<String, PinRecord>, Error> {
        self.read_json(PIN_FILE)
    }

    pub fn pin_record(&self, key: &str) -> Result<PinRecord, Error> {
        Ok(self.pin_records()?.remove(key).unwrap_or_default())
    }

    /// Change one token's record atomically; returns the new record.
    pub fn update_pin(
        &self,
        key: &str,
        f: impl FnOnce(&mut PinRecord),
    ) -> Result<PinRecord, Error> {
        self.locked(|| {
            let mut all: BTreeMap<String, PinRecord> = self.read_json(PIN_FILE)?;
            let rec = all.entry(key.to_string()).or_default();
            f(rec);
            let out = rec.clone();
            self.write_json(PIN_FILE, &all)?;
            Ok(out)
        })
    }

    /// `mohor pin unlock`: clear the soft lock of every record of the token
    /// with this serial. Earlier wrong PINs move to `carried` so they still
    /// count against the hard limit until a login succeeds.
    pub fn unlock(&self, serial: &str) -> Result<Vec<PinRecord>, Error> {
        self.locked(|| {
            let mut all: BTreeMap<String, PinRecord> = self.read_json(PIN_FILE)?;
            let mut changed = Vec::new();
            for rec in all.values_mut().filter(|r| r.serial == serial) {
                rec.count.carried = rec.count.carried.saturating_add(rec.count.wrong);
                rec.count.wrong = 0;
                rec.token_locked_seen = false;
                changed.push(rec.clone());
            }
            if !changed.is_empty() {
                self.write_json(PIN_FILE, &all)?;
            }
            Ok(changed)
        })
    }

    pub fn trusted_sites(&self) -> Result<Vec<String>, Error> {
        self.read_json(SITES_FILE)
    }

    pub fn add_trusted_site(&self, origin: &str) -> Result<(), Error> {
        self.locked(|| {
            let mut sites: Vec<String> = self.read_json(SITES_FILE)?;
            if !sites.iter().any(|s| s == origin) {
                sites.push(origin.to_string());
                self.write_json(SITES_FILE, &sites)?;
            }
            Ok(())
        })
    }

    /// Append one line to the audit log. Never holds a PIN or document content.
    pub fn audit(&self, entry: &AuditEntry) -> Result<(), Error> {
        let path = self.dir.join(AUDIT_FILE);
        let mut line = serde_json::to_vec(entry)
            .map_err(|e| Error::internal(format!("encode audit entry: {e}")))?;
        line.push(b'\n');
        self.locked(|| {
            let mut options = OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f: File = options
                .open(&path)
                .map_err(|e| Error::io(format!("cannot open {}", path.display()), &e))?;
            f.write_all(&line)
                .and_then(|_| f.sync_data())
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_reopening_and_unlock_carries_them() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        for _ in 0..3 {
            s.update_pin("m|S1|L", |r| {
                r.serial = "S1".into();
                r.count.wrong += 1;
            })
            .unwrap();
        }
        let s2 = StateStore::open(dir.path()).unwrap();
        assert_eq!(
            s2.pin_record("m|S1|L").unwrap().count,
            Count {
                wrong: 3,
                carried: 0
            }
        );
        let changed = s2.unlock("S1").unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(
            s2.pin_record("m|S1|L").unwrap().count,
            Count {
                wrong: 0,
                carried: 3
            }
        );
        assert!(s2.unlock("other").unwrap().is_empty());
    }

    #[test]
    fn damaged_state_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(PIN_FILE), b"{not json").unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        let e = s.pin_records().unwrap_err();
        assert!(e.message.contains("damaged"));
        assert!(!e.hint.is_empty());
    }

    #[test]
    fn trusted_sites_are_remembered_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        s.add_trusted_site("https://eoffice.gov.in").unwrap();
        s.add_trusted_site("https://eoffice.gov.in").unwrap();
        assert_eq!(s.trusted_sites().unwrap(), vec!["https://eoffice.gov.in"]);
    }
}
