//! The demo's SoftHSM token (`installer/demo-token.sh`, called by
//! `installer/run-demo.sh`): made when missing, left alone when whole, and
//! made again when SoftHSM's store lost a token — which happens when any
//! PKCS#11 client is killed inside `C_Login`, where SoftHSM rewrites the
//! token's `token.object` in place. The judges are OpenSC's `pkcs11-tool`
//! (which tokens the store holds) and `openssl cms -verify` (the remade
//! token signs under the remade root).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn demo_token(dir: &Path) -> Output {
    run(Command::new("bash")
        .arg(repo().join("installer/demo-token.sh"))
        .arg(dir)
        .arg(env!("CARGO_BIN_EXE_mohor")))
}

/// The token labels OpenSC's `pkcs11-tool -L` lists in the store.
fn labels_listed(dir: &Path) -> Vec<String> {
    let out = run(Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", dir.join("softhsm2.conf"))
        .args(["--module", MODULE, "-L"]));
    assert!(out.status.success(), "pkcs11-tool -L: {}", text(&out));
    let mut labels: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("token label"))
        .map(|l| l.trim_start_matches([' ', ':']).trim().to_string())
        .collect();
    labels.sort();
    labels
}

#[test]
fn the_demo_token_is_made_kept_while_whole_and_made_again_when_softhsm_lost_it() {
    if !have_tool("pkcs11-tool") || !have_tool("openssl") {
        return;
    }
    let dir = test_dir("installer_demo_token").join("demo-token");
    let both = vec!["ASHA-EPASS".to_string(), "RAHUL-PROXKEY".to_string()];

    let made = demo_token(&dir);
    assert!(made.status.success(), "first run: {}", text(&made));
    assert_eq!(
        labels_listed(&dir),
        both,
        "the demo store after the first run"
    );
    let root = std::fs::read(dir.join("pki/root.pem")).unwrap();

    // Whole: nothing is made again (the demo home's config trusts this root,
    // and the person's consent history names these certificates).
    let again = demo_token(&dir);
    assert!(again.status.success(), "second run: {}", text(&again));
    assert_eq!(std::fs::read(dir.join("pki/root.pem")).unwrap(), root);
    assert!(
        text(&again).is_empty(),
        "a whole token is not reported: {}",
        text(&again)
    );

    // What a PKCS#11 client killed inside SoftHSM's C_Login leaves behind.
    let asha = std::fs::read_dir(dir.join("tokens"))
        .unwrap()
        .map(|e| e.unwrap().path().join("token.object"))
        .find(|p| std::fs::read(p).is_ok_and(|b| b.windows(10).any(|w| w == b"ASHA-EPASS")))
        .expect("ASHA-EPASS's token.object");
    std::fs::write(&asha, b"").unwrap();
    assert_eq!(
        labels_listed(&dir),
        vec!["RAHUL-PROXKEY".to_string()],
        "the damage is real"
    );
    assert!(
        dir.join("fixture.json").exists(),
        "the old check (the file) would pass"
    );

    let repaired = demo_token(&dir);
    assert!(repaired.status.success(), "repair: {}", text(&repaired));
    assert!(
        text(&repaired).contains("damaged; making it again"),
        "the person is told: {}",
        text(&repaired)
    );
    assert_eq!(labels_listed(&dir), both, "the demo store after the repair");

    // The remade token signs, and the signature verifies under the remade root.
    let fx = Fixture::load(&dir);
    let home = dir.with_file_name("home");
    let data = dir.with_file_name("note.txt");
    let p7s = dir.with_file_name("note.p7s");
    std::fs::write(&data, b"green note 42\n").unwrap();
    let cert = fx.cert("rsa2048").id;
    let signed = sign_detached_softhsm(&home, &fx.softhsm2_conf, &cert, &data, &p7s, &fx.user_pin);
    assert!(signed.status.success(), "sign: {}", text(&signed));
    let verified = openssl_verify_detached(&p7s, &data, &fx.root);
    assert!(
        verified.status.success(),
        "openssl cms -verify: {}",
        text(&verified)
    );
}
