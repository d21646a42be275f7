//! End-to-end tests of the sim: each test makes its own SoftHSM token store and sim
//! directory, then runs PKCS#11 work in child processes (this same test binary, re-run with
//! `MOHOR_SIM_TEST_CHILD` naming a scenario). Children give every scenario a fresh process,
//! which is what cryptoki needs (one `C_Initialize` per load), what environment variables
//! need (`SOFTHSM2_CONF` and `MOHOR_SIM_DIR` are per process), and what the shared counter is
//! for (several `mohor` processes in a row).
//!
//! Children load the sim exactly as Mohor loads a token driver: `Pkcs11::new(path)`.

use std::collections::BTreeSet;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use mohor_token_sim::harness::{self, SimDir, SoftHsm};
use mohor_token_sim::shared::DIR_ENV;
use serde_json::{json, Value};
use tempfile::TempDir;

const CHILD_ENV: &str = "MOHOR_SIM_TEST_CHILD";
const ARG_ENV: &str = "MOHOR_SIM_TEST_ARG";
const RESULT_PREFIX: &str = "SIMRESULT ";

const PIN: &str = "1234";
/// Wrong, and of a different length, so `pin_len` in the log tells the two apart.
const WRONG: &str = "987654";

// ---------------------------------------------------------------------------------------
// Parent side.

/// A token store and a sim directory of the test's own.
struct Fixture {
    _tmp: TempDir,
    hsm: SoftHsm,
    sim: SimDir,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let hsm = SoftHsm::create(tmp.path().join("hsm"), PIN);
        let sim = SimDir::create(tmp.path().join("sim"));
        Fixture {
            _tmp: tmp,
            hsm,
            sim,
        }
    }

    fn with_rsa_key() -> Fixture {
        let f = Fixture::new();
        f.hsm.generate_rsa_key("01", "k");
        f
    }

    fn command(&self, scenario: &str, arg: &Value) -> Command {
        let mut cmd = Command::new(std::env::current_exe().expect("current_exe"));
        cmd.args(["child", "--exact", "--nocapture", "--test-threads=1", "-q"])
            .envs(self.hsm.env())
            .envs(self.sim.env())
            .env(CHILD_ENV, scenario)
            .env(ARG_ENV, arg.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs `scenario` in a new process and returns what it reported.
    fn child(&self, scenario: &str, arg: Value) -> Vec<Value> {
        let out = self.command(scenario, &arg).output().expect("spawn child");
        results(scenario, out)
    }

    fn spawn(&self, scenario: &str, arg: Value) -> Child {
        self.command(scenario, &arg).spawn().expect("spawn child")
    }
}

fn results(scenario: &str, out: Output) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child scenario {scenario} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Vec<Value> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix(RESULT_PREFIX))
        .map(|l| serde_json::from_str(l).expect("child result"))
        .collect();
    assert!(
        !found.is_empty(),
        "child scenario {scenario} never ran:\n{stdout}"
    );
    found
}

/// The `result` of each login a `logins` child reported.
fn login_results(reports: &[Value]) -> Vec<String> {
    reports
        .iter()
        .filter_map(|r| r.get("result"))
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

fn pins(wrong: usize, then: &[&str]) -> Value {
    let mut pins = vec![WRONG; wrong];
    pins.extend_from_slice(then);
    json!({ "pins": pins })
}

// ---------------------------------------------------------------------------------------
// Tests.

#[test]
fn eight_wrong_pins_lock_the_token_and_logins_are_recorded_without_pins() {
    let f = Fixture::new();
    let reports = f.child("logins", pins(9, &[PIN]));
    let mut expected = vec!["PinIncorrect"; 8];
    expected.extend(["PinLocked", "PinLocked"]);
    assert_eq!(login_results(&reports), expected);

    let serial = reports[0]["serial"].as_str().unwrap().to_owned();
    assert_eq!(f.sim.failures(&serial), 8);

    let logins = f.sim.logins();
    assert_eq!(logins.len(), 10, "one record per C_Login: {logins:#?}");
    let keys: BTreeSet<&str> = ["pid", "serial", "user_type", "pin_len", "result", "time_ms"]
        .into_iter()
        .collect();
    for (i, record) in logins.iter().enumerate() {
        let record_keys: BTreeSet<&str> = record
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(record_keys, keys, "record {i}: {record}");
        assert_eq!(record["serial"], serial.as_str());
        assert_eq!(record["user_type"], "user");
        assert_eq!(record["pid"], reports[0]["pid"]);
        let pin = if i < 9 { WRONG } else { PIN };
        assert_eq!(record["pin_len"], pin.len());
        for value in record.as_object().unwrap().values() {
            assert_ne!(value.as_str(), Some(pin), "PIN leaked into {record}");
        }
    }
    let results: Vec<&str> = logins
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    let mut expected = vec!["CKR_PIN_INCORRECT"; 8];
    expected.extend(["CKR_PIN_LOCKED", "CKR_PIN_LOCKED"]);
    assert_eq!(results, expected);
    let text = std::fs::read_to_string(f.sim.path().join("logins.jsonl")).unwrap();
    assert!(!text.contains(WRONG), "PIN leaked into logins.jsonl");

    // The harness reset unlocks it.
    f.sim.reset_counters();
    assert_eq!(login_results(&f.child("logins", pins(0, &[PIN]))), ["OK"]);
}

#[test]
fn a_good_login_resets_the_counter() {
    let f = Fixture::new();
    let reports = f.child(
        "logins",
        pins(
            7,
            &[PIN, WRONG, WRONG, WRONG, WRONG, WRONG, WRONG, WRONG, PIN],
        ),
    );
    let mut expected = vec!["PinIncorrect"; 7];
    expected.push("OK");
    expected.extend(vec!["PinIncorrect"; 7]);
    expected.push("OK");
    assert_eq!(login_results(&reports), expected);
}

#[test]
fn the_counter_is_shared_by_processes_in_a_row() {
    let f = Fixture::new();
    let mut pids = BTreeSet::new();
    for _ in 0..4 {
        let reports = f.child("logins", pins(2, &[]));
        assert_eq!(login_results(&reports), ["PinIncorrect", "PinIncorrect"]);
        pids.insert(reports[0]["pid"].as_u64().unwrap());
    }
    let reports = f.child("logins", pins(0, &[PIN]));
    pids.insert(reports[0]["pid"].as_u64().unwrap());
    assert_eq!(
        login_results(&reports),
        ["PinLocked"],
        "fifth process sees the lock"
    );
    assert_eq!(pids.len(), 5, "five distinct processes");

    // reset_counter in control.json is consumed by the next call.
    f.sim.update_control(&json!({ "reset_counter": true }));
    assert_eq!(login_results(&f.child("logins", pins(0, &[PIN]))), ["OK"]);
    assert!(
        !f.sim.control().contains_key("reset_counter"),
        "one-shot field consumed"
    );

    // So is deleting the state file.
    f.sim.update_control(&json!({ "retry_limit": 2 }));
    assert_eq!(
        login_results(&f.child("logins", pins(2, &[PIN]))),
        ["PinIncorrect", "PinIncorrect", "PinLocked"]
    );
    std::fs::remove_file(f.sim.path().join("state.json")).unwrap();
    assert_eq!(login_results(&f.child("logins", pins(0, &[PIN]))), ["OK"]);
}

#[test]
fn the_so_unblocks_the_user_pin() {
    let f = Fixture::new();
    f.sim.update_control(&json!({ "retry_limit": 1 }));
    assert_eq!(
        login_results(&f.child("logins", pins(1, &[PIN]))),
        ["PinIncorrect", "PinLocked"]
    );
    assert_eq!(f.child("unblock", json!({}))[0]["result"], "OK");
    let user_types: Vec<Value> = f
        .sim
        .logins()
        .iter()
        .map(|l| l["user_type"].clone())
        .collect();
    assert_eq!(user_types, ["user", "user", "so", "user"]);
}

#[test]
fn concurrent_processes_count_every_wrong_pin_once() {
    let f = Fixture::new();
    let children: Vec<Child> = (0..3).map(|_| f.spawn("logins", pins(3, &[]))).collect();
    let mut all = Vec::new();
    for child in children {
        all.extend(login_results(&results(
            "logins",
            child.wait_with_output().unwrap(),
        )));
    }
    all.sort();
    let mut expected = vec!["PinIncorrect".to_owned(); 8];
    expected.push("PinLocked".to_owned());
    expected.sort();
    assert_eq!(all, expected);
}

#[test]
fn pin_flags_in_each_mode() {
    // [count_low, final_try, locked] after each login, retry limit 3.
    const NONE: [bool; 3] = [false, false, false];
    const LOW: [bool; 3] = [true, false, false];
    const FINAL: [bool; 3] = [true, true, false];
    const LOCKED: [bool; 3] = [true, false, true];
    let sequence = [WRONG, WRONG, PIN, WRONG, WRONG, WRONG, PIN];
    let results = [
        "PinIncorrect",
        "PinIncorrect",
        "OK",
        "PinIncorrect",
        "PinIncorrect",
        "PinIncorrect",
        "PinLocked",
    ];
    let cases = [
        ("spec", [LOW, FINAL, NONE, LOW, FINAL, LOCKED, LOCKED]),
        ("never", [NONE; 7]),
        // One wrong PIN behind: the flags lag the counter.
        ("late", [NONE, LOW, NONE, NONE, LOW, FINAL, LOCKED]),
    ];
    let f = Fixture::new();
    for (mode, flags) in cases {
        f.sim.update_control(&json!({
            "retry_limit": 3, "flags_mode": mode, "reset_counter": true
        }));
        let reports = f.child("logins", json!({ "pins": sequence, "flags": true }));
        let initial = &reports[0];
        assert_eq!(initial["flags"], json!(NONE), "{mode}: before any login");
        let logins = &reports[1..];
        assert_eq!(login_results(logins), results, "{mode}");
        let got: Vec<&Value> = logins.iter().map(|r| &r["flags"]).collect();
        let want: Vec<Value> = flags.iter().map(|f| json!(f)).collect();
        assert_eq!(
            got,
            want.iter().collect::<Vec<_>>(),
            "{mode}: flags after each login"
        );
    }
}

#[test]
fn removal_during_sign_and_reinsertion() {
    let f = Fixture::with_rsa_key();
    f.child("removal", json!({}));

    let signs = f.sim.signs();
    let summary: Vec<(bool, &str)> = signs
        .iter()
        .map(|s| {
            (
                s["size_query"].as_bool().unwrap(),
                s["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (true, "CKR_OK"),
            (false, "CKR_OK"),
            (true, "CKR_DEVICE_REMOVED"),
            (true, "CKR_OK"),
            (false, "CKR_OK"),
        ],
        "{signs:#?}"
    );
    for s in &signs {
        assert_eq!(s["function"], "C_Sign");
        assert_eq!(s["mechanism"], "CKM_SHA256_RSA_PKCS");
    }
    assert_eq!(signs[1]["signature_len"], 256);
    assert_eq!(f.sim.control().get("removed"), Some(&json!(false)));

    // Another process sees the token go and come back.
    f.sim.set_removed(true);
    assert_eq!(
        f.child("slots", json!({}))[0],
        json!({ "with_token": 0, "all": 2 })
    );
    f.sim.set_removed(false);
    // SoftHSM's spare slot holds an uninitialised token, so two slots have one.
    assert_eq!(
        f.child("slots", json!({}))[0],
        json!({ "with_token": 2, "all": 2 })
    );
}

#[test]
fn remove_on_login_is_not_a_wrong_pin() {
    let f = Fixture::new();
    f.sim.update_control(&json!({ "remove_on": "C_Login" }));
    let reports = f.child("logins", pins(1, &[PIN]));
    assert_eq!(login_results(&reports), ["DeviceRemoved", "DeviceRemoved"]);
    let control = f.sim.control();
    assert_eq!(control.get("removed"), Some(&json!(true)));
    assert!(
        !control.contains_key("remove_on"),
        "remove_on is consumed: {control:?}"
    );
    let logged: Vec<Value> = f.sim.logins().iter().map(|l| l["result"].clone()).collect();
    assert_eq!(
        logged,
        [json!("CKR_DEVICE_REMOVED"), json!("CKR_DEVICE_REMOVED")]
    );

    f.sim.update_control(&json!({ "removed": false }));
    let reports = f.child("logins", pins(0, &[PIN]));
    assert_eq!(login_results(&reports), ["OK"]);
    assert_eq!(f.sim.failures(reports[0]["serial"].as_str().unwrap()), 0);
}

#[test]
fn hidden_mechanisms_are_hidden() {
    let f = Fixture::with_rsa_key();
    f.sim.update_control(&json!({
        "hide_mechanisms": ["CKM_SHA256_RSA_PKCS", "CKM_RSA_PKCS_PSS", "0x43"]
    }));
    f.child("mechanisms", json!({}));
}

#[test]
fn latency_is_added() {
    let f = Fixture::new();
    f.sim.update_control(&json!({
        "latency_ms": 40,
        "latency_ms_per_function": { "C_GetTokenInfo": 2000 }
    }));
    let reports = f.child("latency", json!({}));
    let ms = |key: &str| reports[0][key].as_u64().unwrap();
    assert!(ms("token_info_ms") >= 2000, "{reports:?}");
    assert!(ms("slot_info_ms") >= 40, "{reports:?}");

    // Far above what an undelayed call takes, even on a loaded machine.
    f.sim
        .update_control(&json!({ "latency_ms": null, "latency_ms_per_function": null }));
    let reports = f.child("latency", json!({}));
    assert!(
        reports[0]["token_info_ms"].as_u64().unwrap() < 2000,
        "latency removed again: {reports:?}"
    );
}

#[test]
fn token_model_and_manufacturer_are_overridden() {
    let f = Fixture::new();
    f.sim.update_control(&json!({
        "token_model": "ePass2003", "token_manufacturer": "Longmai"
    }));
    let reports = f.child("info", json!({}));
    assert_eq!(
        reports[0],
        json!({
            "model": "ePass2003",
            "manufacturer": "Longmai",
            "library": "mohor-token-sim"
        })
    );
}

#[test]
fn without_sim_dir_it_is_a_plain_pass_through() {
    let f = Fixture::new();
    let mut arg = pins(9, &[PIN]);
    arg["flags"] = json!(true);
    let mut cmd = f.command("logins", &arg);
    cmd.env_remove(DIR_ENV);
    let reports = results("logins", cmd.output().unwrap());
    let mut expected = vec!["PinIncorrect"; 9];
    expected.push("OK");
    assert_eq!(login_results(&reports), expected, "SoftHSM never locks");
    for r in &reports {
        // SoftHSM sets CKF_USER_PIN_COUNT_LOW itself; the other two never.
        assert_eq!(r["flags"][1], json!(false), "{r}");
        assert_eq!(r["flags"][2], json!(false), "{r}");
    }
    assert!(f.sim.logins().is_empty(), "nothing recorded");
}

#[test]
fn a_bad_control_file_fails_loudly() {
    let f = Fixture::new();
    std::fs::write(f.sim.path().join("control.json"), r#"{ "retry_limt": 3 }"#).unwrap();
    let reports = f.child("initialize", json!({}));
    assert_eq!(reports[0]["result"], "GeneralError");
    assert!(f.sim.errors().contains("retry_limt"), "{}", f.sim.errors());
}

// ---------------------------------------------------------------------------------------
// Child side.

/// Entry point of child processes; does nothing in an ordinary test run.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD_ENV) else {
        return;
    };
    let arg: Value = serde_json::from_str(&std::env::var(ARG_ENV).unwrap()).unwrap();
    match scenario.as_str() {
        "initialize" => child_initialize(),
        "logins" => child_logins(&Token::open(), &arg),
        "removal" => child_removal(&Token::open()),
        "slots" => child_slots(),
        "mechanisms" => child_mechanisms(&Token::open()),
        "latency" => child_latency(&Token::open()),
        "info" => child_info(&Token::open()),
        "unblock" => child_unblock(&Token::open()),
        other => panic!("unknown scenario {other}"),
    }
}

fn report(value: Value) {
    println!("{RESULT_PREFIX}{value}");
}

/// `"OK"` or the cryptoki name of the PKCS#11 error (`"PinLocked"`).
fn rv<T>(result: &Result<T, Error>) -> String {
    match result {
        Ok(_) => "OK".into(),
        Err(Error::Pkcs11(rv, _)) => format!("{rv:?}"),
        Err(other) => format!("{other}"),
    }
}

fn expect_rv<T: std::fmt::Debug>(result: Result<T, Error>, want: RvError, what: &str) {
    match result {
        Err(Error::Pkcs11(got, _)) if got == want => {}
        other => panic!("{what}: expected {want:?}, got {other:?}"),
    }
}

struct Token {
    pkcs11: Pkcs11,
    slot: Slot,
}

impl Token {
    fn open() -> Token {
        let pkcs11 = load();
        pkcs11
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .expect("C_Initialize");
        let slots = pkcs11.get_slots_with_initialized_token().expect("slots");
        assert_eq!(
            slots.len(),
            1,
            "exactly the one initialised token: {slots:?}"
        );
        Token {
            pkcs11,
            slot: slots[0],
        }
    }

    fn session(&self) -> Session {
        self.pkcs11
            .open_ro_session(self.slot)
            .expect("open session")
    }

    fn serial(&self) -> String {
        let info = self.pkcs11.get_token_info(self.slot).expect("token info");
        info.serial_number().to_owned()
    }

    fn flags(&self) -> [bool; 3] {
        let info = self.pkcs11.get_token_info(self.slot).expect("token info");
        [
            info.user_pin_count_low(),
            info.user_pin_final_try(),
            info.user_pin_locked(),
        ]
    }
}

fn load() -> Pkcs11 {
    let module = harness::cdylib_path();
    Pkcs11::new(&module).unwrap_or_else(|e| panic!("loading {}: {e}", module.display()))
}

fn sim_dir() -> SimDir {
    SimDir::create(std::env::var_os(DIR_ENV).expect("MOHOR_SIM_DIR"))
}

fn login(session: &Session, pin: &str) -> Result<(), Error> {
    session.login(UserType::User, Some(&AuthPin::new(pin.into())))
}

fn key(session: &Session, class: ObjectClass) -> ObjectHandle {
    let found = session
        .find_objects(&[Attribute::Class(class), Attribute::Label(b"k".to_vec())])
        .expect("find key");
    assert_eq!(found.len(), 1, "one {class:?} labelled k");
    found[0]
}

fn child_initialize() {
    let pkcs11 = load();
    let result = pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    report(json!({ "result": rv(&result) }));
}

/// Logs in with each of `pins` (logging out after a success); reports each result, and the
/// PIN flags before and after each login if `flags` is set.
fn child_logins(token: &Token, arg: &Value) {
    let session = token.session();
    let serial = token.serial();
    let pid = std::process::id();
    let with_flags = arg["flags"].as_bool().unwrap_or(false);
    if with_flags {
        report(json!({ "pid": pid, "serial": serial, "flags": token.flags() }));
    }
    for pin in arg["pins"].as_array().unwrap() {
        let result = login(&session, pin.as_str().unwrap());
        if result.is_ok() {
            session.logout().expect("logout");
        }
        let mut r = json!({ "pid": pid, "serial": serial, "result": rv(&result) });
        if with_flags {
            r["flags"] = json!(token.flags());
        }
        report(r);
    }
}

fn child_removal(token: &Token) {
    let sim = sim_dir();
    let data = b"removal test";
    let mechanism = Mechanism::Sha256RsaPkcs;

    let old = token.session();
    login(&old, PIN).expect("login");
    let private = key(&old, ObjectClass::PRIVATE_KEY);
    old.sign(&mechanism, private, data)
        .expect("sign before removal");

    // Pulled out in the middle of signing.
    sim.update_control(&json!({ "remove_on": "C_Sign" }));
    expect_rv(
        old.sign(&mechanism, private, data),
        RvError::DeviceRemoved,
        "C_Sign",
    );
    let control = sim.control();
    assert_eq!(control.get("removed"), Some(&json!(true)), "{control:?}");
    assert!(!control.contains_key("remove_on"), "{control:?}");

    // While it is out.
    let p = &token.pkcs11;
    assert!(
        p.get_slots_with_token().unwrap().is_empty(),
        "no slot has a token"
    );
    assert!(
        p.get_all_slots().unwrap().contains(&token.slot),
        "the reader stays"
    );
    assert!(!p.get_slot_info(token.slot).unwrap().token_present());
    expect_rv(
        p.get_token_info(token.slot),
        RvError::TokenNotPresent,
        "C_GetTokenInfo",
    );
    expect_rv(
        p.open_ro_session(token.slot),
        RvError::TokenNotPresent,
        "C_OpenSession",
    );
    expect_rv(
        old.get_session_info(),
        RvError::DeviceRemoved,
        "C_GetSessionInfo",
    );

    // Back in: the old session died with the token, a new one must log in again.
    sim.update_control(&json!({ "removed": false }));
    assert!(p.get_slots_with_token().unwrap().contains(&token.slot));
    assert!(p.get_slot_info(token.slot).unwrap().token_present());
    expect_rv(
        old.get_session_info(),
        RvError::SessionHandleInvalid,
        "old session",
    );
    expect_rv(
        old.sign(&mechanism, private, data),
        RvError::SessionHandleInvalid,
        "old sign",
    );

    let new = token.session();
    let private_objects = new
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
        .unwrap();
    assert!(
        private_objects.is_empty(),
        "login did not survive the removal"
    );
    login(&new, PIN).expect("login after re-insertion (not 'already logged in')");
    let private = key(&new, ObjectClass::PRIVATE_KEY);
    let public = key(&new, ObjectClass::PUBLIC_KEY);
    let signature = new
        .sign(&mechanism, private, data)
        .expect("sign after re-insertion");
    new.verify(&mechanism, public, data, &signature)
        .expect("verify");
    report(json!({ "ok": true }));
}

fn child_slots() {
    let pkcs11 = load();
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .expect("C_Initialize");
    report(json!({
        "with_token": pkcs11.get_slots_with_token().unwrap().len(),
        "all": pkcs11.get_all_slots().unwrap().len(),
    }));
}

fn child_mechanisms(token: &Token) {
    let p = &token.pkcs11;
    let hidden = [
        MechanismType::SHA256_RSA_PKCS,
        MechanismType::RSA_PKCS_PSS,
        MechanismType::SHA256_RSA_PKCS_PSS, // hidden as "0x43"
    ];
    let list = p.get_mechanism_list(token.slot).unwrap();
    for m in hidden {
        assert!(!list.contains(&m), "{m} still listed");
        expect_rv(
            p.get_mechanism_info(token.slot, m),
            RvError::MechanismInvalid,
            "info",
        );
    }
    assert!(list.contains(&MechanismType::RSA_PKCS), "the rest stays");
    assert!(
        list.contains(&MechanismType::SHA384_RSA_PKCS),
        "the rest stays"
    );
    p.get_mechanism_info(token.slot, MechanismType::RSA_PKCS)
        .expect("visible mechanism info");

    let session = token.session();
    login(&session, PIN).unwrap();
    let private = key(&session, ObjectClass::PRIVATE_KEY);
    let data = b"fallback";
    expect_rv(
        session.sign(&Mechanism::Sha256RsaPkcs, private, data),
        RvError::MechanismInvalid,
        "C_SignInit with a hidden mechanism",
    );
    session
        .sign(&Mechanism::Sha384RsaPkcs, private, data)
        .expect("fallback mechanism signs");

    // Changing control.json takes effect at the next call, in the same process.
    sim_dir().update_control(&json!({ "hide_mechanisms": null }));
    let list = p.get_mechanism_list(token.slot).unwrap();
    for m in hidden {
        assert!(list.contains(&m), "{m} back");
    }
    session
        .sign(&Mechanism::Sha256RsaPkcs, private, data)
        .expect("unhidden mechanism signs");
    report(json!({ "ok": true }));
}

fn child_latency(token: &Token) {
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        f();
        start.elapsed()
    };
    let token_info = time(&|| {
        token.pkcs11.get_token_info(token.slot).unwrap();
    });
    let slot_info = time(&|| {
        token.pkcs11.get_slot_info(token.slot).unwrap();
    });
    let ms = |d: Duration| d.as_millis() as u64;
    report(json!({ "token_info_ms": ms(token_info), "slot_info_ms": ms(slot_info) }));
}

fn child_info(token: &Token) {
    let info = token.pkcs11.get_token_info(token.slot).unwrap();
    let library = token.pkcs11.get_library_info().unwrap();
    report(json!({
        "model": info.model(),
        "manufacturer": info.manufacturer_id(),
        "library": library.library_description(),
    }));
}

/// The SO sets a new user PIN; then the user logs in with it.
fn child_unblock(token: &Token) {
    let session = token
        .pkcs11
        .open_rw_session(token.slot)
        .expect("rw session");
    let so_pin = AuthPin::new(harness::SO_PIN.into());
    session
        .login(UserType::So, Some(&so_pin))
        .expect("SO login");
    session
        .init_pin(&AuthPin::new(PIN.into()))
        .expect("C_InitPIN");
    session.logout().expect("SO logout");
    report(json!({ "result": rv(&login(&session, PIN)) }));
}
