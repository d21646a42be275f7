//! Everything the sim keeps on disk under `MOHOR_SIM_DIR`, shared by every process that loads it.
//!
//! * `control.json` — written by tests, read at every PKCS#11 call. The sim itself rewrites it
//!   only to consume one-shot fields (`remove_on` → `removed: true`, `reset_counter`).
//! * `state.json` — owned by the sim: retry counters per token serial, removal generation.
//! * `logins.jsonl`, `signs.jsonl` — append-only call records.
//! * `errors.log` — why the sim refused to work (bad control.json, missing module, …).
//! * `.lock` — `flock(2)` target; every read-modify-write of the files above holds it.
//!
//! Whole-file writes go to a temporary file that is then renamed over the old one, so a reader
//! never sees half a file even without the lock.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Environment variable naming the shared directory. Unset: the sim is a plain pass-through.
pub const DIR_ENV: &str = "MOHOR_SIM_DIR";
/// Environment variable naming the real PKCS#11 module.
pub const MODULE_ENV: &str = "MOHOR_SIM_MODULE";
/// Real module used when `MOHOR_SIM_MODULE` is unset.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

pub const CONTROL_FILE: &str = "control.json";
pub const STATE_FILE: &str = "state.json";
pub const LOGINS_FILE: &str = "logins.jsonl";
pub const SIGNS_FILE: &str = "signs.jsonl";
pub const ERRORS_FILE: &str = "errors.log";
const LOCK_FILE: &str = ".lock";

/// How `C_GetTokenInfo` reports the user-PIN flags (`CKF_USER_PIN_COUNT_LOW`,
/// `CKF_USER_PIN_FINAL_TRY`, `CKF_USER_PIN_LOCKED`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagsMode {
    /// As PKCS#11 describes them, from the current counter.
    #[default]
    Spec,
    /// Never set (some ePass2003 drivers).
    Never,
    /// As they were before the most recent wrong PIN (stale flags).
    Late,
}

/// `control.json`. Every field is optional; unknown fields are an error so that a typo in a
/// test fails loudly instead of silently testing nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Control {
    /// Wrong user PINs before the token locks.
    pub retry_limit: u32,
    pub flags_mode: FlagsMode,
    /// The token is out of the reader.
    pub removed: bool,
    /// Name of a PKCS#11 function; its next call pulls the token out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_on: Option<String>,
    /// Delay added to every call…
    pub latency_ms: u64,
    /// …unless the function has its own entry here (which replaces `latency_ms`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub latency_ms_per_function: BTreeMap<String, u64>,
    /// Mechanism names (`"CKM_SHA256_RSA_PKCS"`) or numbers (`"0x40"`) the token pretends
    /// not to support.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hide_mechanisms: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_manufacturer: Option<String>,
    /// One-shot: forget every retry counter (consumed by the next call).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reset_counter: bool,
    /// A key with a PIN of its own: every context-specific login (the one a
    /// CKA_ALWAYS_AUTHENTICATE key wants before each signature) is answered
    /// CKR_PIN_INCORRECT and counted as a wrong PIN, without reaching the
    /// real module.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refuse_context_login: bool,
    /// A driver's own word for a wrong user PIN: the real module's
    /// CKR_PIN_INCORRECT is returned as this code (`"CKR_FUNCTION_FAILED"`),
    /// still counted as a wrong PIN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrong_pin_answer: Option<String>,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            retry_limit: 8,
            flags_mode: FlagsMode::Spec,
            removed: false,
            remove_on: None,
            latency_ms: 0,
            latency_ms_per_function: BTreeMap::new(),
            hide_mechanisms: Vec::new(),
            token_model: None,
            token_manufacturer: None,
            reset_counter: false,
            refuse_context_login: false,
            wrong_pin_answer: None,
        }
    }
}

impl Control {
    /// Checks what serde cannot: names must be real, the limit must be usable.
    pub fn validate(&self) -> Result<(), String> {
        if self.retry_limit == 0 {
            return Err("retry_limit must be at least 1".into());
        }
        if let Some(name) = &self.remove_on {
            if !crate::FUNCTION_NAMES.contains(&name.as_str()) {
                return Err(format!("remove_on: unknown PKCS#11 function {name:?}"));
            }
            if NEVER_INTERCEPTED.contains(&name.as_str()) {
                return Err(format!("remove_on: {name} is never intercepted"));
            }
        }
        for name in self.latency_ms_per_function.keys() {
            if !crate::FUNCTION_NAMES.contains(&name.as_str()) {
                return Err(format!(
                    "latency_ms_per_function: unknown PKCS#11 function {name:?}"
                ));
            }
        }
        if let Some(name) = &self.wrong_pin_answer {
            crate::rv_from_name(name)
                .ok_or_else(|| format!("wrong_pin_answer: unknown return value {name:?}"))?;
        }
        for name in &self.hide_mechanisms {
            crate::mechanism_from_name(name)
                .ok_or_else(|| format!("hide_mechanisms: unknown mechanism {name:?}"))?;
        }
        Ok(())
    }

    /// Delay to add to a call of `function`.
    pub fn latency_for(&self, function: &str) -> Duration {
        let ms = self
            .latency_ms_per_function
            .get(function)
            .copied()
            .unwrap_or(self.latency_ms);
        Duration::from_millis(ms)
    }
}

/// Functions `remove_on` may not name: pulling the token out cannot make them fail on a real
/// token, and refusing them would leave the real module half initialised.
pub const NEVER_INTERCEPTED: &[&str] = &["C_GetFunctionList", "C_Initialize", "C_Finalize"];

/// `state.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Bumped each time a removal is first seen; sessions opened under an older generation
    /// are dead.
    pub generation: u64,
    /// `control.removed` as last seen, to spot the false → true edge.
    pub removed_seen: bool,
    /// Retry counters by token serial number (trimmed).
    pub tokens: BTreeMap<String, TokenState>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenState {
    /// Consecutive wrong user PINs.
    pub failures: u32,
    /// `failures` just before the most recent failed login (what `flags_mode: "late"` shows).
    pub failures_before_last: u32,
}

/// An exclusive `flock(2)` on `<dir>/.lock`, released when dropped (the descriptor closes).
///
/// Each acquisition opens its own descriptor, so the lock also serialises threads of one
/// process, not just processes.
pub struct DirLock {
    _file: File,
}

impl DirLock {
    pub fn acquire(dir: &Path) -> io::Result<DirLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        loop {
            // SAFETY: flock only reads the descriptor number, which `file` keeps open.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(DirLock { _file: file });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

/// Replaces `path` with `bytes` via a temporary file and `rename(2)`. Call with the lock held.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// `control.json` as raw JSON (so the sim can rewrite it without reordering a test's file)
/// plus its parsed, validated form. A missing file is an empty object.
pub fn read_control(dir: &Path) -> Result<(Map<String, Value>, Control), String> {
    let path = dir.join(CONTROL_FILE);
    let raw = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok((Map::new(), Control::default()))
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let map: Map<String, Value> =
        serde_json::from_slice(&raw).map_err(|e| format!("{}: {e}", path.display()))?;
    let control: Control = serde_json::from_value(Value::Object(map.clone()))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    control
        .validate()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((map, control))
}

pub fn write_control(dir: &Path, map: &Map<String, Value>) -> Result<(), String> {
    let mut bytes = serde_json::to_vec_pretty(map).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    let path = dir.join(CONTROL_FILE);
    write_atomic(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn read_state(dir: &Path) -> Result<State, String> {
    let path = dir.join(STATE_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

pub fn write_state(dir: &Path, state: &State) -> Result<(), String> {
    let mut bytes = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    let path = dir.join(STATE_FILE);
    write_atomic(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Appends one JSON line to `<dir>/<file>`. Call with the lock held so lines never interleave.
pub fn append_jsonl(dir: &Path, file: &str, record: &Value) -> Result<(), String> {
    let path = dir.join(file);
    let mut line = serde_json::to_vec(record).map_err(|e| e.to_string())?;
    line.push(b'\n');
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(&line))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
