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
use crate::token::{TokenIdentity, TokenRef};

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

/// Mohor's record for one token's PIN, keyed by the token's identity
/// ([`TokenIdentity::counter_key`]).
///
/// Records written before counters were keyed by identity have no
/// `identity` and the key `module|serial|label`; the first transaction on a
/// token of the same serial folds them into its record (see
/// [`StateStore::transact_pin`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PinRecord {
    #[serde(flatten)]
    pub count: Count,
    /// The module the token was last used through (for display).
    pub module: String,
    pub serial: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<TokenIdentity>,
    /// The token answered CKR_PIN_LOCKED once: never prompt again until unlock.
    #[serde(default)]
    pub token_locked_seen: bool,
    /// The token has reported wrong PINs through its flags (`COUNT_LOW`,
    /// `FINAL_TRY`, `LOCKED`) when Mohor knew of some: its flags can be
    /// believed, so flags cleared show that the provider reset the PIN.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reports_flags: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_wrong: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
}

impl PinRecord {
    /// The token this record is about, as far as the record knows it.
    pub fn token_ref(&self) -> TokenRef {
        let (manufacturer, model) = match &self.identity {
            Some(i) => (i.manufacturer.clone(), i.model.clone()),
            None => (String::new(), String::new()),
        };
        TokenRef {
            module: self.module.clone().into(),
            serial: self.serial.clone(),
            label: self.label.clone(),
            manufacturer,
            model,
        }
    }

    /// Remember how the token was seen last (module, label, identity).
    pub fn note_token(&mut self, token: &TokenRef) {
        self.module = token.module.display().to_string();
        self.serial = token.serial.clone();
        self.label = token.label.clone();
        self.identity = Some(token.identity());
    }

    /// Fold an older record of the same token into this one without losing
    /// a wrong PIN: counts add up, a lock seen by either stays seen.
    fn absorb(&mut self, old: &PinRecord) {
        self.count = self.count.merged_pessimistically(&old.count);
        self.token_locked_seen |= old.token_locked_seen;
        self.reports_flags |= old.reports_flags;
        if self.last_wrong < old.last_wrong {
            self.last_wrong = old.last_wrong.clone();
        }
        if self.serial.is_empty() {
            self.serial = old.serial.clone();
            self.label = old.label.clone();
            self.module = old.module.clone();
        }
    }
}

/// What `mohor pin unlock` could see of the provider's reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetSeen {
    /// The token is present and reports no wrong PIN.
    FlagsCleared,
    /// The token is absent: the person's word only.
    NotSeen,
}

/// Fold every older record of `identity`'s token into the record under its
/// key: records without an identity (keyed by module path and label) of
/// the same serial, and — when the serial alone tells the token apart —
/// records under an earlier key of the same serial (keyed by manufacturer
/// and model too, so a second driver's naming had a count of its own).
/// Returns whether anything changed.
fn adopt_legacy(all: &mut BTreeMap<String, PinRecord>, identity: &TokenIdentity) -> bool {
    let key = identity.counter_key();
    let by_serial = identity.has_telling_serial();
    let legacy: Vec<String> = all
        .iter()
        .filter(|(k, r)| {
            *k != &key
                && match &r.identity {
                    None => r.serial == identity.serial,
                    Some(i) => by_serial && i.serial == identity.serial,
                }
        })
        .map(|(k, _)| k.clone())
        .collect();
    if legacy.is_empty() {
        return false;
    }
    let mut merged = all.remove(&key).unwrap_or_default();
    for k in legacy {
        if let Some(old) = all.remove(&k) {
            merged.absorb(&old);
        }
    }
    merged.identity = Some(identity.clone());
    all.insert(key, merged);
    true
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
    /// The long-term level asked for ("B-T", "B-LT", "B-LTA"); absent for B-B.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

/// What an entry whose result is `ok` did, in a word for people: the log
/// keeps `verify` checks beside signatures, and a check that held is not a
/// signature (`history` and the tray's menu both say it).
pub fn done_word(action: &str) -> &'static str {
    if action == "verify" {
        "verified"
    } else {
        "signed"
    }
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

    /// One transaction on a token's record, under the state lock across
    /// processes: read, fold in legacy records of the same serial, let `f`
    /// change the record, write it back if anything changed. Whatever `f`
    /// decides is decided on the count as it is at this moment.
    pub fn transact_pin<T>(
        &self,
        identity: &TokenIdentity,
        f: impl FnOnce(&mut PinRecord) -> T,
    ) -> Result<T, Error> {
        self.locked(|| {
            let mut all: BTreeMap<String, PinRecord> = self.read_json(PIN_FILE)?;
            let adopted = adopt_legacy(&mut all, identity);
            let key = identity.counter_key();
            let before = all.get(&key).cloned();
            let mut rec = before.clone().unwrap_or_default();
            let out = f(&mut rec);
            let changed = match &before {
                Some(b) => *b != rec,
                None => rec != PinRecord::default(),
            };
            if changed {
                all.insert(key, rec);
            }
            if adopted || changed {
                self.write_json(PIN_FILE, &all)?;
            }
            Ok(out)
        })
    }

    /// Fold legacy records into the identity records of the tokens present
    /// (so `pin status` and `tokens` show one count per token).
    pub fn adopt_legacy_records(&self, present: &[TokenIdentity]) -> Result<(), Error> {
        self.locked(|| {
            let mut all: BTreeMap<String, PinRecord> = self.read_json(PIN_FILE)?;
            let mut changed = false;
            for identity in present {
                changed |= adopt_legacy(&mut all, identity);
            }
            if changed {
                self.write_json(PIN_FILE, &all)?;
            }
            Ok(())
        })
    }

    /// `mohor pin unlock`: clear the soft lock of every record of the token
    /// with this serial. Earlier wrong PINs move to `carried` so they still
    /// count against the hard limit until a login succeeds — unless the
    /// reset is `seen`: a token whose flags can be believed (see
    /// [`PinRecord::reports_flags`]) is present and reports no wrong PIN,
    /// so its count is zero and so is Mohor's.
    pub fn unlock(&self, serial: &str, seen: ResetSeen) -> Result<Vec<PinRecord>, Error> {
        self.locked(|| {
            let mut all: BTreeMap<String, PinRecord> = self.read_json(PIN_FILE)?;
            let mut changed = Vec::new();
            for rec in all.values_mut().filter(|r| r.serial == serial) {
                let proven = seen == ResetSeen::FlagsCleared && rec.reports_flags;
                rec.count.carried = if proven {
                    0
                } else {
                    rec.count.carried.saturating_add(rec.count.wrong)
                };
                rec.count.wrong = 0;
                if proven {
                    rec.count.unknown_tries = false;
                }
                rec.token_locked_seen = false;
                // The provider has seen to the key that wanted a PIN of its own.
                rec.count.refused_at_signature = false;
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
        self.audit_all(std::slice::from_ref(entry))
    }

    /// Append the lines of one request (a batch has one per document) in
    /// one write and one `fdatasync`: a hundred-document batch is one
    /// durable append, not a hundred.
    pub fn audit_all(&self, entries: &[AuditEntry]) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(AUDIT_FILE);
        let mut lines = Vec::new();
        for entry in entries {
            serde_json::to_writer(&mut lines, entry)
                .map_err(|e| Error::internal(format!("encode audit entry: {e}")))?;
            lines.push(b'\n');
        }
        self.locked(|| {
            let mut options = OpenOptions::new();
            options.create(true).append(true).read(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f: File = options
                .open(&path)
                .map_err(|e| Error::io(format!("cannot open {}", path.display()), &e))?;
            let werr = |e| Error::io(format!("cannot write {}", path.display()), &e);
            // A process killed in the middle of its append (a write that
            // spans pages can stop at a page when SIGKILL arrives) leaves a
            // line without its newline; ending it here keeps this append's
            // records on lines of their own. The cut-off line stays, as
            // evidence, and readers skip it.
            if ends_mid_line(&f).map_err(werr)? {
                lines.insert(0, b'\n');
            }
            f.write_all(&lines)
                .and_then(|_| f.sync_data())
                .map_err(werr)
        })
    }
}

/// Whether the last byte of `file` is not a newline (a cut-off append).
fn ends_mid_line(file: &File) -> std::io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    crate::positioned::read_exact_at(file, &mut last, len - 1)?;
    Ok(last[0] != b'\n')
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

    fn token(module: &str, label: &str) -> TokenRef {
        TokenRef {
            module: module.into(),
            serial: "S1".into(),
            label: label.into(),
            manufacturer: "Longmai".into(),
            model: "ePass2003".into(),
        }
    }

    fn one_wrong(s: &StateStore, t: &TokenRef) {
        s.transact_pin(&t.identity(), |r| {
            r.note_token(t);
            r.count.wrong += 1;
        })
        .unwrap();
    }

    #[test]
    fn counts_survive_reopening_and_unlock_carries_them() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        let t = token("/usr/lib/libcastle.so", "L");
        for _ in 0..3 {
            one_wrong(&s, &t);
        }
        let s2 = StateStore::open(dir.path()).unwrap();
        assert_eq!(
            s2.pin_record(&t.counter_key()).unwrap().count,
            Count::new(3, 0)
        );
        let changed = s2.unlock("S1", ResetSeen::NotSeen).unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(
            s2.pin_record(&t.counter_key()).unwrap().count,
            Count::new(0, 3)
        );
        assert!(s2.unlock("other", ResetSeen::NotSeen).unwrap().is_empty());
    }

    fn entry(document: &str) -> AuditEntry {
        AuditEntry {
            time: "2026-12-01T03:00:00Z".into(),
            origin: "command line".into(),
            action: "sign.pdf".into(),
            document: document.into(),
            sha256: "00".repeat(32),
            certificate: "3ffc8afb8658495c".into(),
            signer: "Asha Verma".into(),
            result: "ok".into(),
            batch: None,
            level: None,
        }
    }

    /// A process killed in the middle of its append leaves a line without
    /// its end; the next append must not glue its record onto it.
    #[test]
    fn an_append_cut_off_by_a_kill_costs_no_later_record() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        s.audit(&entry("first.pdf")).unwrap();
        let path = dir.path().join(AUDIT_FILE);
        let whole = std::fs::read(&path).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(&whole[..whole.len() / 2]);
        std::fs::write(&path, &torn).unwrap();
        s.audit_all(&[entry("second.pdf"), entry("third.pdf")])
            .unwrap();
        let names: Vec<String> = s
            .audit_tail(10)
            .unwrap()
            .into_iter()
            .map(|e| e.document)
            .collect();
        assert_eq!(names, ["first.pdf", "second.pdf", "third.pdf"]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4, "the cut-off line is kept:\n{text}");
        assert!(text.ends_with('\n'));
    }

    /// The same token through the vendor's module and OpenSC (another path,
    /// another label) is one counter.
    #[test]
    fn one_token_through_two_modules_is_one_counter() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        one_wrong(&s, &token("/usr/lib/libcastle.so", "DSC"));
        one_wrong(&s, &token("/usr/lib/opensc-pkcs11.so", "DSC (User PIN)"));
        let all = s.pin_records().unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all.values().next().unwrap().count.wrong, 2);
    }

    /// Drivers name one card differently (the vendor's module and OpenSC
    /// report other manufacturer and model strings): the serial makes it
    /// one counter, and a count kept under an earlier key of the same
    /// serial is folded in, pessimistically.
    #[test]
    fn one_token_named_differently_by_two_drivers_is_one_counter() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        let vendor = token("/usr/lib/libcastle.so", "DSC");
        let mut opensc = token("/usr/lib/opensc-pkcs11.so", "DSC (User PIN)");
        opensc.manufacturer = "EnterSafe".into();
        opensc.model = "PKCS#15 emulated".into();
        one_wrong(&s, &vendor);
        one_wrong(&s, &opensc);
        let all = s.pin_records().unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[&vendor.counter_key()].count.wrong, 2);

        // A state file from before: one count per naming of the same serial.
        let old_key = |t: &TokenRef| format!("token:{}|{}|{}", t.manufacturer, t.model, t.serial);
        let mut before = BTreeMap::new();
        for (t, wrong) in [(&vendor, 3), (&opensc, 2)] {
            let mut r = PinRecord {
                count: Count::new(wrong, 0),
                ..PinRecord::default()
            };
            r.note_token(t);
            before.insert(old_key(t), r);
        }
        fs::write(
            dir.path().join(PIN_FILE),
            serde_json::to_vec(&before).unwrap(),
        )
        .unwrap();
        let count = s
            .transact_pin(&opensc.identity(), |r| r.count.clone())
            .unwrap();
        assert_eq!(count.wrong, 5);
        assert_eq!(s.pin_records().unwrap().len(), 1);

        // Serials that say nothing keep the names apart.
        let mut blank_a = token("/usr/lib/a.so", "A");
        let mut blank_b = token("/usr/lib/b.so", "B");
        blank_a.serial = "0000000000000000".into();
        blank_b.serial = "0000000000000000".into();
        blank_b.model = "other".into();
        assert_ne!(blank_a.counter_key(), blank_b.counter_key());
    }

    #[test]
    fn a_transaction_that_changes_nothing_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        s.transact_pin(&token("m", "L").identity(), |_| ()).unwrap();
        assert!(!dir.path().join(PIN_FILE).exists());
    }

    /// State files from before identity keys: records of the same serial
    /// (one per module path and label) fold into the identity record, their
    /// wrong PINs added, at the first transaction or status.
    #[test]
    fn legacy_records_of_one_serial_merge_pessimistically() {
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{
          "/usr/lib/libcastle.so|S1|DSC": {"wrong": 2, "carried": 1, "module": "/usr/lib/libcastle.so", "serial": "S1", "label": "DSC", "token_locked_seen": false},
          "/usr/lib/opensc-pkcs11.so|S1|DSC (User PIN)": {"wrong": 1, "carried": 0, "module": "/usr/lib/opensc-pkcs11.so", "serial": "S1", "label": "DSC (User PIN)", "token_locked_seen": false},
          "/usr/lib/libcastle.so|S2|Other": {"wrong": 4, "carried": 0, "module": "/usr/lib/libcastle.so", "serial": "S2", "label": "Other", "token_locked_seen": false}
        }"#;
        fs::write(dir.path().join(PIN_FILE), old).unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        let t = token("/usr/lib/libcastle.so", "DSC");
        // Reading alone changes nothing: the status of an absent token
        // still shows its legacy record.
        assert_eq!(s.pin_records().unwrap().len(), 3);
        let count = s.transact_pin(&t.identity(), |r| r.count.clone()).unwrap();
        assert_eq!(count, Count::new(3, 1));
        let all = s.pin_records().unwrap();
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[&t.counter_key()].identity, Some(t.identity()));
        assert_eq!(all["/usr/lib/libcastle.so|S2|Other"].count.wrong, 4);
        // Unlock by serial still works on both kinds.
        assert_eq!(
            s.unlock("S1", ResetSeen::NotSeen).unwrap()[0].count,
            Count::new(0, 4)
        );
        assert_eq!(
            s.unlock("S2", ResetSeen::NotSeen).unwrap()[0].count,
            Count::new(0, 4)
        );
        // adopt_legacy_records folds the other one when its token is seen.
        let other = TokenIdentity {
            manufacturer: "Longmai".into(),
            model: "ePass2003".into(),
            serial: "S2".into(),
        };
        s.adopt_legacy_records(std::slice::from_ref(&other))
            .unwrap();
        let all = s.pin_records().unwrap();
        assert_eq!(all[&other.counter_key()].count, Count::new(0, 4));
        assert!(!all.contains_key("/usr/lib/libcastle.so|S2|Other"));
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
