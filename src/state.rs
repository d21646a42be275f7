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

mod sites;
pub use sites::{normalise_origin, TrustedSite};

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

/// One line of the audit log: one item of one request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// RFC 3339.
    pub time: String,
    /// `command line` (older logs: `cli`) or the web origin.
    pub origin: String,
    /// `sign.pdf`, `sign.data` or `sign.hash`.
    pub action: String,
    /// The document's name as shown to the person.
    pub document: String,
    /// SHA-256 of the document (for `sign.hash`, the digest the site sent), hex.
    pub sha256: String,
    /// Certificate id, when one was chosen.
    pub certificate: String,
    /// Subject CN of that certificate.
    #[serde(default)]
    pub signer: String,
    /// `ok` or a reason code.
    pub result: String,
    /// Where the item stood in a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchPosition>,
}

/// Item `item` (1-based) of a batch of `of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchPosition {
    pub item: u32,
    pub of: u32,
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
        fs::create_dir_all(dir)
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
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
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

    /// The sites trusted at `now` (expired ones are left out). An old plain
    /// list of origins is migrated, and written back, on first read; `ttl`
    /// is how long a migrated site stays trusted.
    pub fn trusted_sites(
        &self,
        now: time::OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<Vec<TrustedSite>, Error> {
        let stored: sites::Stored = self.read_json(SITES_FILE)?;
        let mut records = if stored.is_old_format() {
            self.change_sites(now, ttl, |_| ())?
        } else {
            stored.into_records(now, ttl)
        };
        records.retain(|s| s.is_current(now));
        Ok(records)
    }

    pub fn is_trusted_site(
        &self,
        origin: &str,
        now: time::OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<bool, Error> {
        Ok(self
            .trusted_sites(now, ttl)?
            .iter()
            .any(|s| s.origin == origin))
    }

    /// Trust `origin` from `now` for `ttl` (renews an existing entry).
    pub fn add_trusted_site(
        &self,
        origin: &str,
        now: time::OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<TrustedSite, Error> {
        let mut added = None;
        self.change_sites(now, ttl, |list| {
            added = Some(sites::allow(list, origin, now, ttl));
        })?;
        added.ok_or_else(|| Error::internal("the trusted site was not recorded"))
    }

    /// Forget `origin`; false if it was not trusted (or had expired).
    pub fn remove_trusted_site(
        &self,
        origin: &str,
        now: time::OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<bool, Error> {
        let mut found = false;
        self.change_sites(now, ttl, |list| {
            let before = list.len();
            list.retain(|s| s.origin != origin);
            found = list.len() != before;
        })?;
        Ok(found)
    }

    /// Read (migrating), drop expired entries, apply `f`, write: under the lock.
    fn change_sites(
        &self,
        now: time::OffsetDateTime,
        ttl: time::Duration,
        f: impl FnOnce(&mut Vec<TrustedSite>),
    ) -> Result<Vec<TrustedSite>, Error> {
        self.locked(|| {
            let stored: sites::Stored = self.read_json(SITES_FILE)?;
            let mut list = stored.into_records(now, ttl);
            sites::prune(&mut list, now);
            f(&mut list);
            self.write_json(SITES_FILE, &list)?;
            Ok(list)
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

impl StateStore {
    /// The last `limit` entries of the audit log, oldest first. A damaged
    /// line (a crash in the middle of an append on a file system without
    /// atomic appends) is skipped, never fatal.
    pub fn audit_tail(&self, limit: usize) -> Result<Vec<AuditEntry>, Error> {
        use std::io::BufRead;
        let path = self.dir.join(AUDIT_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), &e)),
        };
        let mut tail = std::collections::VecDeque::with_capacity(limit.min(1024));
        for line in std::io::BufReader::new(file).lines() {
            let line =
                line.map_err(|e| Error::io(format!("cannot read {}", path.display()), &e))?;
            let Ok(entry) = serde_json::from_str::<AuditEntry>(&line) else {
                continue;
            };
            if limit == 0 {
                continue;
            }
            if tail.len() == limit {
                tail.pop_front();
            }
            tail.push_back(entry);
        }
        Ok(tail.into())
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
    fn trusted_sites_are_remembered_once_and_expire() {
        use time::macros::datetime;
        let ttl = time::Duration::days(90);
        let t0 = datetime!(2026-11-30 10:00 UTC);
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        s.add_trusted_site("https://eoffice.gov.in", t0, ttl)
            .unwrap();
        s.add_trusted_site("https://eoffice.gov.in", t0, ttl)
            .unwrap();
        let listed = s.trusted_sites(t0, ttl).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].until, t0 + ttl);
        assert!(s
            .is_trusted_site(
                "https://eoffice.gov.in",
                t0 + ttl - time::Duration::SECOND,
                ttl
            )
            .unwrap());
        assert!(!s
            .is_trusted_site("https://eoffice.gov.in", t0 + ttl, ttl)
            .unwrap());
        assert!(s.trusted_sites(t0 + ttl, ttl).unwrap().is_empty());

        assert!(s
            .remove_trusted_site("https://eoffice.gov.in", t0, ttl)
            .unwrap());
        assert!(!s
            .remove_trusted_site("https://eoffice.gov.in", t0, ttl)
            .unwrap());
        assert!(!s
            .is_trusted_site("https://eoffice.gov.in", t0, ttl)
            .unwrap());
    }

    #[test]
    fn an_old_list_of_origins_is_migrated_once() {
        use time::macros::datetime;
        let ttl = time::Duration::days(90);
        let t0 = datetime!(2026-11-30 10:00 UTC);
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(SITES_FILE),
            br#"["https://eoffice.gov.in"]"#,
        )
        .unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        let first = s.trusted_sites(t0, ttl).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].since, first[0].until), (t0, t0 + ttl));
        // Written back: a later read keeps the migration time.
        let later = s.trusted_sites(t0 + time::Duration::days(1), ttl).unwrap();
        assert_eq!(later, first);
        let text = fs::read_to_string(dir.path().join(SITES_FILE)).unwrap();
        assert!(text.contains("\"until\""), "{text}");
    }
}
