//! Helpers for tests that drive the sim: this crate's own tests and Mohor's.
//!
//! They are test helpers, so they panic with a clear message on I/O errors instead of
//! returning them.
//!
//! ```no_run
//! use mohor_token_sim::harness::{self, SimDir, SoftHsm};
//! use serde_json::json;
//!
//! let tmp = std::env::temp_dir().join("example");
//! let hsm = SoftHsm::create(tmp.join("hsm"), "1234");
//! hsm.generate_rsa_key("01", "k");
//! let sim = SimDir::create(tmp.join("sim"));
//! sim.update_control(&json!({ "retry_limit": 3, "token_model": "ePass2003" }));
//! let module = harness::cdylib_path();
//! // Run the code under test with `hsm.env()` and `sim.env()` and `module` as the driver.
//! ```

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

use crate::shared::{self, Control, DirLock};

/// Environment variable that overrides [`cdylib_path`].
pub const LIB_ENV: &str = "MOHOR_SIM_LIB";

/// Where the built `libmohor_token_sim.so` is, for a test binary of the same workspace.
///
/// `$MOHOR_SIM_LIB` if set; otherwise next to the running test executable: cargo puts test
/// binaries in `target/<profile>/deps/` and the library in `target/<profile>/` (and a copy in
/// `deps/`). Panics with instructions if it is not there: `cargo test -p mohor-token-sim` and
/// `cargo build -p mohor-token-sim` build it; a crate that only dev-depends on this one may
/// not get the `cdylib`, see README.
pub fn cdylib_path() -> PathBuf {
    if let Some(path) = std::env::var_os(LIB_ENV) {
        return PathBuf::from(path);
    }
    let name = format!(
        "{}mohor_token_sim{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let exe = std::env::current_exe().expect("current_exe");
    let mut tried = Vec::new();
    for dir in exe.ancestors().skip(1).take(2) {
        let candidate = dir.join(&name);
        if candidate.is_file() {
            return candidate;
        }
        tried.push(candidate);
    }
    panic!(
        "mohor-token-sim module not found (looked at {tried:?}); build it with \
         `cargo build -p mohor-token-sim` (same profile and CARGO_TARGET_DIR as the tests) \
         or point {LIB_ENV} at it"
    );
}

/// A shared sim directory (`MOHOR_SIM_DIR`).
#[derive(Clone, Debug)]
pub struct SimDir {
    dir: PathBuf,
}

impl SimDir {
    /// Creates the directory if needed.
    pub fn create(dir: impl Into<PathBuf>) -> SimDir {
        let dir = dir.into();
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        SimDir { dir }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Environment for a process that should use this directory.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![(shared::DIR_ENV, self.dir.clone().into_os_string())]
    }

    /// Current `control.json` (empty object if none).
    pub fn control(&self) -> Map<String, Value> {
        let _lock = self.lock();
        shared::read_control(&self.dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    }

    /// Merges `patch` (a JSON object) into `control.json`; a `null` value deletes the key.
    /// Panics if the result is not a valid control file, so typos fail at the test.
    pub fn update_control(&self, patch: &Value) {
        let Value::Object(patch) = patch else {
            panic!("control patch must be a JSON object, got {patch}");
        };
        let _lock = self.lock();
        let (mut map, _) = shared::read_control(&self.dir).unwrap_or_else(|e| panic!("{e}"));
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                map.insert(key.clone(), value.clone());
            }
        }
        let control: Control = serde_json::from_value(Value::Object(map.clone()))
            .unwrap_or_else(|e| panic!("invalid control {patch:?}: {e}"));
        control
            .validate()
            .unwrap_or_else(|e| panic!("invalid control {patch:?}: {e}"));
        shared::write_control(&self.dir, &map).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Pulls the token out (`true`) or puts it back. Unlike writing `removed` yourself, this
    /// also records the removal in the shared state at once, so sessions die even if no
    /// PKCS#11 call happened while the token was out.
    pub fn set_removed(&self, removed: bool) {
        self.update_control(&serde_json::json!({ "removed": removed }));
        let _lock = self.lock();
        let mut state = shared::read_state(&self.dir).unwrap_or_else(|e| panic!("{e}"));
        if removed && !state.removed_seen {
            state.generation += 1;
        }
        state.removed_seen = removed;
        shared::write_state(&self.dir, &state).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Forgets every retry counter now (unlocks every token).
    pub fn reset_counters(&self) {
        let _lock = self.lock();
        let mut state = shared::read_state(&self.dir).unwrap_or_else(|e| panic!("{e}"));
        state.tokens.clear();
        shared::write_state(&self.dir, &state).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Consecutive wrong user PINs recorded for the token with this serial number.
    pub fn failures(&self, serial: &str) -> u32 {
        let state = shared::read_state(&self.dir).unwrap_or_else(|e| panic!("{e}"));
        state.tokens.get(serial).map_or(0, |t| t.failures)
    }

    /// Every `logins.jsonl` record so far.
    pub fn logins(&self) -> Vec<Value> {
        self.jsonl(shared::LOGINS_FILE)
    }

    /// Every `signs.jsonl` record so far.
    pub fn signs(&self) -> Vec<Value> {
        self.jsonl(shared::SIGNS_FILE)
    }

    /// `errors.log`: why the sim refused to work, if it did.
    pub fn errors(&self) -> String {
        fs::read_to_string(self.dir.join(shared::ERRORS_FILE)).unwrap_or_default()
    }

    /// The sim's report that a process ran its exit handlers while one of its calls was
    /// still inside the module (see `README.md`), if it did.
    pub fn exit_handlers_under_a_call(&self) -> Option<String> {
        self.errors()
            .lines()
            .find(|l| l.contains(crate::exit_watch::REPORT))
            .map(str::to_owned)
    }

    fn jsonl(&self, file: &str) -> Vec<Value> {
        let path = self.dir.join(file);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("{}: {e}", path.display()),
        };
        text.lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}: bad line {line:?}: {e}", path.display()))
            })
            .collect()
    }

    fn lock(&self) -> DirLock {
        DirLock::acquire(&self.dir).unwrap_or_else(|e| panic!("{}: {e}", self.dir.display()))
    }
}

/// SO PIN used by [`SoftHsm::create`].
pub const SO_PIN: &str = "12345678";

/// A private SoftHSM2 token store with one initialised token labelled `sim`.
#[derive(Clone, Debug)]
pub struct SoftHsm {
    conf: PathBuf,
    module: PathBuf,
    user_pin: String,
}

impl SoftHsm {
    /// Writes `<dir>/softhsm2.conf` and `<dir>/tokens/`, then initialises a token with the
    /// given user PIN (SO PIN [`SO_PIN`]) using `softhsm2-util`.
    pub fn create(dir: impl Into<PathBuf>, user_pin: &str) -> SoftHsm {
        let dir = dir.into();
        let tokens = dir.join("tokens");
        fs::create_dir_all(&tokens).unwrap_or_else(|e| panic!("{}: {e}", tokens.display()));
        let conf = dir.join("softhsm2.conf");
        fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", conf.display()));
        let hsm = SoftHsm {
            conf,
            module: PathBuf::from(shared::DEFAULT_MODULE),
            user_pin: user_pin.to_owned(),
        };
        hsm.run(Command::new("softhsm2-util").args([
            "--init-token",
            "--free",
            "--label",
            "sim",
            "--so-pin",
            SO_PIN,
            "--pin",
            user_pin,
        ]));
        hsm
    }

    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// Environment for a process that should see this token store.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![("SOFTHSM2_CONF", self.conf.clone().into_os_string())]
    }

    /// RSA key pair on the token, via `pkcs11-tool` against SoftHSM directly.
    pub fn generate_rsa_key(&self, id: &str, label: &str) {
        self.keypairgen("rsa:2048", id, label);
    }

    /// EC P-256 key pair on the token.
    pub fn generate_ec_key(&self, id: &str, label: &str) {
        self.keypairgen("EC:prime256v1", id, label);
    }

    fn keypairgen(&self, key_type: &str, id: &str, label: &str) {
        let mut cmd = Command::new("pkcs11-tool");
        cmd.arg("--module")
            .arg(&self.module)
            .args(["--login", "--pin", &self.user_pin, "--keypairgen"])
            .args(["--key-type", key_type, "--id", id, "--label", label]);
        self.run(&mut cmd);
    }

    fn run(&self, cmd: &mut Command) {
        let out = cmd
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
