//! The wrong-PIN guard from outside, as a person or script meets it: separate
//! `mohor` processes against a token that really counts and locks (the
//! fault-injecting PKCS#11 module over SoftHSM), and against plain SoftHSM.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use serde_json::json;

const WRONG: &str = "000000";

fn data(s: &SimSetup) -> std::path::PathBuf {
    let p = s.dir.join("note.txt");
    std::fs::write(&p, b"Bill 17/2026: please approve.\n").unwrap();
    p
}

#[test]
fn five_wrong_pins_then_mohor_refuses_without_calling_c_login_until_unlock() {
    let fx = Fixture::shared();
    let s = SimSetup::new(
        "guard_five",
        json!({"retry_limit": 8, "flags_mode": "spec"}),
    );
    let cert = fx.cert("rsa2048").id;
    let data = data(&s);
    let out = s.dir.join("out.p7s");

    for i in 1..=5 {
        let o = s.sign_detached(&data, &out, &cert, WRONG);
        assert_eq!(o.status.code(), Some(1), "try {i}: {}", text(&o));
        assert!(
            stderr(&o).contains("PIN_INCORRECT"),
            "try {i}: {}",
            stderr(&o)
        );
        // The prompt named both limits before this try: wrong PINs before
        // Mohor stops and before the token blocks for good.
        if i > 1 {
            let used = i - 1;
            let more = if 5 - used == 1 { "PIN" } else { "PINs" };
            let both = format!(
                "Mohor stops asking after {} more wrong {more}; the token blocks for good after {}.",
                5 - used,
                8 - used
            );
            assert!(stderr(&o).contains(&both), "try {i}: {}", stderr(&o));
            // Before the last try too (which says it its own way): who
            // helps once Mohor stops.
            let provider = "If Mohor stops asking, your DSC provider must reset the PIN";
            assert_eq!(
                stderr(&o).contains(provider),
                i < 5,
                "try {i}: {}",
                stderr(&o)
            );
            let last = "Last try: after one more wrong PIN Mohor will stop";
            assert_eq!(stderr(&o).contains(last), i == 5, "try {i}: {}", stderr(&o));
        }
        assert!(!out.exists());
        if i == 2 {
            // `pin status` names both numbers too.
            let status = s.asha_status();
            assert_eq!(status["state"], "warn");
            assert_eq!(
                status["message"],
                "A wrong PIN was entered before. Mohor stops asking after 3 more wrong PINs; \
                 the token blocks for good after 6."
            );
        }
    }
    assert!(stderr(&s.sign_detached(&data, &out, &cert, WRONG)).contains("PIN_GUARD_LOCKED"));
    let o = s.sign_detached(&data, &out, &cert, &fx.user_pin);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("PIN_GUARD_LOCKED"), "{e}");
    assert!(
        e.contains("contact your DSC provider to reset the PIN"),
        "{e}"
    );
    assert!(!out.exists());
    // Exactly the five wrong PINs reached the token; the refusals cost nothing.
    assert_eq!(s.sim.logins().len(), 5, "{:?}", s.sim.logins());

    let status = s.asha_status();
    assert_eq!(status["wrong_pins"], 5);
    assert_eq!(status["state"], "soft-locked");

    // Before the provider's reset the token still reports wrong PINs:
    // unlocking then would only hand a script the remaining tries.
    // The provider resets the PIN counter on the token; the official unlocks Mohor.
    refused_until_the_provider_resets_then_unlocked(&s);
    assert_eq!(s.asha_status()["carried_from_before_unlock"], 0);

    let o = s.sign_detached(&data, &out, &cert, &fx.user_pin);
    assert!(o.status.success(), "{}", text(&o));
    let v = openssl_verify_detached(&out, &data, &fx.root);
    assert!(v.status.success(), "{}", text(&v));
    assert_eq!(s.sim.logins().len(), 6);
    let status = s.asha_status();
    assert_eq!(status["wrong_pins"], 0);
    assert_eq!(status["carried_from_before_unlock"], 0);
    assert_eq!(status["state"], "ok");
}

/// `mohor pin unlock` while the token still reports wrong PINs is refused;
/// after the provider's reset (the sim forgets its counter and flags) the
/// token, whose flags flagged the wrong PINs Mohor counted, now flags none:
/// the reset is seen and Mohor counts from zero.
fn refused_until_the_provider_resets_then_unlocked(s: &SimSetup) {
    let serial = s.asha_status()["serial"].as_str().unwrap().to_string();
    let before = s.asha_status()["state"].clone();
    let o = run(&mut s.mohor(&["pin", "unlock", "--token", &serial]));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("has not been reset"), "{}", text(&o));
    assert!(stderr(&o).contains("PIN_GUARD_LOCKED"), "{}", text(&o));
    assert_eq!(s.asha_status()["state"], before);
    s.sim.reset_counters();
    let o = run(&mut s.mohor(&["pin", "unlock", "--token", &serial]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("counts from zero"),
        "{}",
        text(&o)
    );
}

#[test]
fn plain_softhsm_which_never_locks_gets_the_same_refusal_at_five() {
    let fx = Fixture::shared();
    let dir = test_dir("guard_plain_softhsm");
    let conf = fx.private_tokens(&dir);
    let home = dir.join("home");
    let data = dir.join("note.txt");
    std::fs::write(&data, b"x").unwrap();
    let cert = fx.cert("ec256").id;
    let out = dir.join("o.p7s");
    let sign = |pin: &str| sign_detached_softhsm(&home, &conf, &cert, &data, &out, pin);
    for _ in 0..5 {
        assert!(stderr(&sign(WRONG)).contains("PIN_INCORRECT"));
    }
    let o = sign(&fx.user_pin);
    assert_no_panic(&o);
    assert!(stderr(&o).contains("PIN_GUARD_LOCKED"), "{}", text(&o));
}

#[test]
fn a_pin_of_impossible_length_costs_no_attempt() {
    let fx = Fixture::shared();
    let s = SimSetup::new("guard_length", json!({}));
    let data = data(&s);
    let o = s.sign_detached(&data, &s.dir.join("o.p7s"), &fx.cert("rsa2048").id, "12");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no try was used"), "{}", text(&o));
    assert_eq!(s.sim.logins().len(), 0);
    assert_eq!(s.asha_status()["wrong_pins"], 0);
}

#[test]
fn token_removed_during_login_or_signing_is_reported_and_not_counted() {
    let fx = Fixture::shared();
    for during in ["C_Login", "C_Sign"] {
        let s = SimSetup::new(
            &format!("guard_removed_{during}"),
            json!({"remove_on": during}),
        );
        let data = data(&s);
        let out = s.dir.join("o.p7s");
        let o = s.sign_detached(&data, &out, &fx.cert("rsa2048").id, &fx.user_pin);
        assert_eq!(o.status.code(), Some(1), "{during}: {}", text(&o));
        assert!(
            stderr(&o).contains("TOKEN_REMOVED"),
            "{during}: {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("insert the token again"), "{during}");
        assert!(!out.exists());
        assert_eq!(
            s.asha_status()["wrong_pins"],
            0,
            "{during}: a removal is not a wrong PIN"
        );

        // While it is out, Mohor says so before asking for anything.
        let o = s.sign_detached(&data, &out, &fx.cert("rsa2048").id, &fx.user_pin);
        assert!(
            stderr(&o).contains("NO_MATCHING_CERTIFICATE")
                || stderr(&o).contains("TOKEN_NOT_PRESENT"),
            "{}",
            stderr(&o)
        );

        s.sim.set_removed(false);
        let o = s.sign_detached(&data, &out, &fx.cert("rsa2048").id, &fx.user_pin);
        assert!(
            o.status.success(),
            "{during} after re-insertion: {}",
            text(&o)
        );
        assert!(openssl_verify_detached(&out, &data, &fx.root)
            .status
            .success());
    }
}

/// `mohor --prompts NAME.jsonl sign --detached` with these dialog answers.
#[cfg(feature = "scripted-prompts")]
fn sign_scripted(
    s: &SimSetup,
    name: &str,
    answers: &str,
    cert: &str,
    data: &std::path::Path,
    out: &std::path::Path,
) -> std::process::Output {
    let prompts = s.dir.join(format!("{name}.jsonl"));
    std::fs::write(&prompts, answers).unwrap();
    let mut c = s.mohor(&[
        "--prompts",
        prompts.to_str().unwrap(),
        "sign",
        "--detached",
        "--cert",
        cert,
    ]);
    run(c.arg(data).arg("-o").arg(out))
}

#[cfg(feature = "scripted-prompts")]
#[test]
fn driving_the_token_to_lock_needs_explicit_confirmation_and_then_mohor_never_prompts_again() {
    let fx = Fixture::shared();
    // A token that reports no PIN flags (as some ePass2003 drivers), so
    // Mohor cannot see that the provider never reset it.
    let s = SimSetup::new(
        "guard_to_lock",
        json!({"retry_limit": 8, "flags_mode": "never"}),
    );
    let data = data(&s);
    let out = s.dir.join("o.p7s");
    let cert = fx.cert("rsa2048").id;
    for _ in 0..5 {
        assert!(stderr(&s.sign_detached(&data, &out, &cert, WRONG)).contains("PIN_INCORRECT"));
    }
    // The official unlocks Mohor although the provider never reset the token.
    let serial = s.asha_status()["serial"].as_str().unwrap().to_string();
    assert!(run(&mut s.mohor(&["pin", "unlock", "--token", &serial]))
        .status
        .success());
    s.sim.update_control(&json!({"flags_mode": "spec"}));
    for _ in 0..2 {
        assert!(stderr(&s.sign_detached(&data, &out, &cert, WRONG)).contains("PIN_INCORRECT"));
    }
    // From a script the last try is never used.
    let o = s.sign_detached(&data, &out, &cert, WRONG);
    assert!(stderr(&o).contains("USER_CANCELLED"), "{}", text(&o));
    assert_eq!(s.sim.logins().len(), 7);

    // A person who declines the warning sends nothing either.
    let o = sign_scripted(
        &s,
        "decline",
        "{\"confirm_last_try\":\"no\"}\n{\"pin\":\"000000\"}\n",
        &cert,
        &data,
        &out,
    );
    assert!(stderr(&o).contains("USER_CANCELLED"), "{}", text(&o));
    assert_eq!(s.sim.logins().len(), 7);

    // On purpose: confirm, and type a wrong PIN.
    let o = sign_scripted(
        &s,
        "confirm",
        "{\"confirm_last_try\":\"yes\"}\n{\"pin\":\"000000\"}\n",
        &cert,
        &data,
        &out,
    );
    assert_no_panic(&o);
    assert_eq!(s.sim.logins().len(), 8);
    let asked = std::fs::read_to_string(s.dir.join("confirm.jsonl.asked.jsonl")).unwrap();
    assert!(asked.contains("\"until_token_blocks\":1"), "{asked}");
    assert!(
        asked.contains("The token blocks for good after 1 more wrong PIN"),
        "{asked}"
    );
    assert!(asked.contains("\"warning\":\"last-try\""), "{asked}");

    // The token is locked now: Mohor says PIN_LOCKED and never asks for a PIN.
    let after = format!("{{\"pin\":\"{}\"}}\n", fx.user_pin);
    let o = sign_scripted(&s, "after", &after, &cert, &data, &out);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("PIN_LOCKED"), "{}", text(&o));
    assert!(
        !s.dir.join("after.jsonl.asked.jsonl").exists(),
        "Mohor prompted for a PIN of a locked token"
    );
    assert_eq!(s.sim.logins().len(), 8);
    assert_eq!(s.asha_status()["state"], "token-locked");

    // Blocked for good — unless the provider resets it with the SO PIN.
    // Unlocking before that is refused; after it the token reports no wrong
    // PIN (and has shown that its flags tell the truth), so Mohor counts
    // from zero again instead of refusing the token for ever.
    refused_until_the_provider_resets_then_unlocked(&s);
    let o = s.sign_detached(&data, &out, &cert, &fx.user_pin);
    assert!(o.status.success(), "{}", text(&o));
    assert!(openssl_verify_detached(&out, &data, &fx.root)
        .status
        .success());
    assert_eq!(s.asha_status()["state"], "ok");
}

#[test]
fn a_proxkey_blocks_later_so_unlock_counts_against_its_own_limit() {
    let fx = Fixture::shared();
    // ProxKey tokens allow 15 wrong PINs; Mohor still stops at 5.
    // Its driver reports no PIN flags, so the reset cannot be seen.
    let s = SimSetup::new(
        "guard_proxkey",
        json!({"retry_limit": 15, "token_model": "ProxKey", "flags_mode": "never"}),
    );
    let data = data(&s);
    let out = s.dir.join("o.p7s");
    let cert = fx.cert("rsa2048").id;
    for _ in 0..5 {
        assert!(stderr(&s.sign_detached(&data, &out, &cert, WRONG)).contains("PIN_INCORRECT"));
    }
    let status = s.asha_status();
    assert_eq!(status["hard_limit"], 15);
    assert_eq!(status["state"], "soft-locked");
    let serial = status["serial"].as_str().unwrap().to_string();
    let o = run(&mut s.mohor(&["pin", "unlock", "--token", &serial]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("only 10 wrong PIN(s) may remain"),
        "{}",
        text(&o)
    );
}

/// A state file from before counters were keyed by the token's identity:
/// one record per module path and label. Mohor folds the records of the
/// token's serial into one, adding their wrong PINs, so the soft stop comes
/// as early as the worst case says.
#[test]
fn old_per_module_records_merge_into_one_count_that_never_loses_a_wrong_pin() {
    let fx = Fixture::shared();
    let s = SimSetup::new("guard_legacy_state", json!({"retry_limit": 8}));
    let tokens = json_out(&run(&mut s.mohor(&["tokens", "--json"])));
    let serial = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "ASHA-EPASS")
        .and_then(|t| t["serial"].as_str())
        .unwrap()
        .to_string();
    let module = s.module.display().to_string();
    let state = s.home.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let old = json!({
        format!("{module}|{serial}|ASHA-EPASS"): {
            "wrong": 3, "carried": 0, "module": module, "serial": serial,
            "label": "ASHA-EPASS", "token_locked_seen": false
        },
        format!("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so|{serial}|ASHA-EPASS (User PIN)"): {
            "wrong": 1, "carried": 0, "module": "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
            "serial": serial, "label": "ASHA-EPASS (User PIN)", "token_locked_seen": false
        }
    });
    std::fs::write(state.join("pin-counters.json"), old.to_string()).unwrap();

    let status = s.asha_status();
    assert_eq!(status["wrong_pins"], 4, "{status:#}");
    assert_eq!(status["state"], "last-try");
    let rows = s.pin_status()["tokens"].as_array().unwrap().len();
    assert_eq!(rows, 2, "one row per token (ASHA-EPASS, RAHUL-PROXKEY)");

    // One more wrong PIN reaches the token, then Mohor stops.
    let data = data(&s);
    let out = s.dir.join("o.p7s");
    let cert = fx.cert("rsa2048").id;
    assert!(stderr(&s.sign_detached(&data, &out, &cert, WRONG)).contains("PIN_INCORRECT"));
    let o = s.sign_detached(&data, &out, &cert, &fx.user_pin);
    assert!(stderr(&o).contains("PIN_GUARD_LOCKED"), "{}", text(&o));
    assert_eq!(s.sim.logins().len(), 1);

    // `pin unlock` still works by serial, and the count carries.
    s.sim.reset_counters();
    let o = run(&mut s.mohor(&["pin", "unlock", "--token", &serial]));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(s.asha_status()["carried_from_before_unlock"], 5);
    let o = s.sign_detached(&data, &out, &cert, &fx.user_pin);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(s.asha_status()["carried_from_before_unlock"], 0);
}
