//! Certificates whose private key is invisible before login (a private
//! object, and no public-key twin beside it: some enrolment tools write
//! none). Mohor offers them ("key checked after the PIN"), finds the key after
//! login by CKA_ID and public key, and says clearly when it is really absent.
//! Tokens are made with `pkcs11-tool` on SoftHSM; signatures are judged by
//! `openssl cms -verify`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use mohor_token_sim::harness::SoftHsm;

const PIN: &str = "246810";
const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// OpenSC's logging module, put in front of the real one.
const SPY: &str = "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so";

/// `pkcs11-tool` to make keys, `openssl` to judge, OpenSC's spy to watch.
fn spy_and_tools() -> bool {
    have_tool("pkcs11-tool") && have_tool("openssl") && Path::new(SPY).exists()
}

fn tool(hsm: &SoftHsm, args: &[&str]) -> std::process::Output {
    let o = run(Command::new("pkcs11-tool")
        .args(["--module", SOFTHSM, "--login", "--pin", PIN])
        .args(args)
        .envs(hsm.env()));
    assert!(o.status.success(), "pkcs11-tool {args:?}: {}", text(&o));
    o
}

fn openssl(args: &[&str]) {
    let o = run(Command::new("openssl").args(args));
    assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
}

/// A certificate from the fixture's sub-CA for the public key in `pub_der`.
fn issue_for(dir: &Path, name: &str, cn: &str, pub_der: &Path) -> PathBuf {
    let fx = Fixture::shared();
    let pki = fx.dir.join("pki");
    let pub_pem = dir.join(format!("{name}.pub.pem"));
    let cert_pem = dir.join(format!("{name}.cert.pem"));
    let cert_der = dir.join(format!("{name}.cert.der"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    openssl(&[
        "pkey",
        "-pubin",
        "-inform",
        "DER",
        "-in",
        &s(pub_der),
        "-out",
        &s(&pub_pem),
    ]);
    openssl(&[
        "x509",
        "-new",
        "-subj",
        &format!("/C=IN/O=Government of Test/CN={cn}"),
        "-force_pubkey",
        &s(&pub_pem),
        "-CA",
        &s(&pki.join("subca.pem")),
        "-CAkey",
        &s(&pki.join("subca.key.pem")),
        "-days",
        "365",
        "-sha256",
        "-extfile",
        &s(&pki.join("openssl.cnf")),
        "-extensions",
        "v3_sign",
        "-out",
        &s(&cert_pem),
    ]);
    openssl(&[
        "x509",
        "-in",
        &s(&cert_pem),
        "-outform",
        "DER",
        "-out",
        &s(&cert_der),
    ]);
    cert_der
}

fn path_str(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// The fixture's sub-CA on the token, as on a real DSC token (signatures
/// then carry their chain).
fn put_subca(hsm: &SoftHsm) {
    let fx = Fixture::shared();
    write_cert(
        hsm,
        &fx.dir.join("pki/subca.cert.der"),
        "ca01",
        "Test Class 3 CA 2026",
    );
}

fn write_cert(hsm: &SoftHsm, der: &Path, id: &str, label: &str) {
    tool(
        hsm,
        &[
            "--write-object",
            &path_str(der),
            "--type",
            "cert",
            "--id",
            id,
            "--label",
            label,
        ],
    );
}

/// The public key object `id` as DER in `dir`.
fn read_pubkey(hsm: &SoftHsm, dir: &Path, id: &str, name: &str) -> PathBuf {
    let der = dir.join(format!("{name}.pub.der"));
    tool(
        hsm,
        &[
            "--read-object",
            "--type",
            "pubkey",
            "--id",
            id,
            "-o",
            &path_str(&der),
        ],
    );
    der
}

/// A certificate for the key pair `id` issued and written beside it.
fn certify_key(hsm: &SoftHsm, dir: &Path, id: &str, label: &str, cn: &str) {
    let pub_der = read_pubkey(hsm, dir, id, label);
    let cert = issue_for(dir, label, cn, &pub_der);
    write_cert(hsm, &cert, id, label);
}

fn certs_json(home: &Path, hsm: &SoftHsm) -> serde_json::Value {
    let o = run(mohor(home, hsm.conf()).args(["--module", SOFTHSM, "certs", "--json"]));
    assert!(o.status.success(), "{}", text(&o));
    json_out(&o)
}

fn cert_row<'a>(certs: &'a serde_json::Value, cn: &str) -> &'a serde_json::Value {
    certs["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject_cn"] == cn)
        .unwrap_or_else(|| panic!("{cn} not listed: {certs:#}"))
}

fn sign(home: &Path, hsm: &SoftHsm, cert: &str, data: &Path, out: &Path) -> std::process::Output {
    sign_detached_softhsm(home, hsm.conf(), cert, data, out, PIN)
}

#[test]
fn a_key_without_its_public_twin_signs_and_a_missing_key_is_a_clear_error() {
    if !have_tool("pkcs11-tool") || !have_tool("openssl") {
        return;
    }
    let fx = Fixture::shared();
    let dir = test_dir("hidden_key");
    let hsm = SoftHsm::create(dir.join("hsm"), PIN);
    let home = dir.join("home");
    put_subca(&hsm);

    // 1. A key pair made on the token; its certificate; then the public key
    //    object deleted: before login nothing with CKA_ID 01 is visible.
    hsm.generate_rsa_key("01", "hidden");
    certify_key(&hsm, &dir, "01", "hidden", "Kavya Hidden");
    tool(&hsm, &["--delete-object", "--type", "pubkey", "--id", "01"]);

    // The same for an EC key (SoftHSM shows no EC point on a private key:
    // only its curve can be compared).
    hsm.generate_ec_key("04", "ec-hidden");
    certify_key(&hsm, &dir, "04", "ec-hidden", "Esha Curve");
    tool(&hsm, &["--delete-object", "--type", "pubkey", "--id", "04"]);

    // 2. A certificate whose key is really absent (CKA_ID 02, no key at all).
    hsm.generate_rsa_key("09", "elsewhere");
    let other_pub = read_pubkey(&hsm, &dir, "09", "elsewhere");
    let orphan = issue_for(&dir, "orphan", "Omar Orphan", &other_pub);
    tool(
        &hsm,
        &["--delete-object", "--type", "privkey", "--id", "09"],
    );
    tool(&hsm, &["--delete-object", "--type", "pubkey", "--id", "09"]);
    write_cert(&hsm, &orphan, "02", "orphan");

    // 3. A certificate paired by CKA_ID with somebody else's key (03).
    hsm.generate_rsa_key("03", "mismatch");
    write_cert(
        &hsm,
        &fx.dir.join("pki/rsa2048.cert.der"),
        "03",
        "wrong-pair",
    );
    tool(&hsm, &["--delete-object", "--type", "pubkey", "--id", "03"]);

    // The inventory offers all of them, saying the key is checked after the PIN.
    let certs = certs_json(&home, &hsm);
    for cn in ["Kavya Hidden", "Esha Curve", "Omar Orphan", "Asha Verma"] {
        let row = cert_row(&certs, cn);
        assert_eq!(row["usable"], true, "{row:#}");
        assert_eq!(row["key_check"], "after-pin", "{row:#}");
    }
    let o = run(mohor(&home, hsm.conf()).args(["--module", SOFTHSM, "certs"]));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("key checked after the PIN"),
        "{}",
        text(&o)
    );

    // The hidden key signs; openssl accepts the signature.
    let data = dir.join("memo.txt");
    std::fs::write(&data, b"Memo 3/2026: hidden keys sign too.\n").unwrap();
    let id = |cn: &str| cert_row(&certs, cn)["id"].as_str().unwrap().to_string();
    for cn in ["Kavya Hidden", "Esha Curve"] {
        let out = dir.join(format!("{cn}.p7s"));
        let o = sign(&home, &hsm, &id(cn), &data, &out);
        assert!(o.status.success(), "{cn}: {}", text(&o));
        let v = openssl_verify_detached(&out, &data, &fx.root);
        assert!(v.status.success(), "{cn}: {}", text(&v));
    }

    // A missing key and a wrong pairing: CERTIFICATE_NOT_USABLE after the
    // PIN, with what to do, no output, and no wrong PIN counted.
    for cn in ["Omar Orphan", "Asha Verma"] {
        let out = dir.join(format!("{cn}.p7s"));
        let o = sign(&home, &hsm, &id(cn), &data, &out);
        assert_eq!(o.status.code(), Some(1), "{cn}: {}", text(&o));
        let e = stderr(&o);
        assert!(e.contains("CERTIFICATE_NOT_USABLE"), "{cn}: {e}");
        assert!(
            e.contains("no private key for this certificate"),
            "{cn}: {e}"
        );
        assert!(e.contains("choose another certificate"), "{cn}: {e}");
        assert!(!out.exists(), "{cn}");
        let status =
            run(mohor(&home, hsm.conf()).args(["--module", SOFTHSM, "pin", "status", "--json"]));
        let status = json_out(&status);
        assert_eq!(status["tokens"][0]["wrong_pins"], 0, "{cn}: {status:#}");
    }
}

/// A token whose key wants the PIN at every use (CKA_ALWAYS_AUTHENTICATE),
/// its certificate id, and three orders to sign.
fn key_wanting_the_pin_at_every_use(dir: &Path) -> (SoftHsm, String, Vec<PathBuf>) {
    let hsm = SoftHsm::create(dir.join("hsm"), PIN);
    put_subca(&hsm);
    tool(
        &hsm,
        &[
            "--keypairgen",
            "--key-type",
            "rsa:2048",
            "--id",
            "07",
            "--label",
            "every-use",
            "--always-auth",
        ],
    );
    certify_key(&hsm, dir, "07", "every-use", "Ira Everyuse");
    let certs = certs_json(&dir.join("certs-home"), &hsm);
    let id = cert_row(&certs, "Ira Everyuse")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let inputs = (1..=3)
        .map(|n| {
            let p = dir.join(format!("order-{n}.txt"));
            std::fs::write(&p, format!("Order {n}/2026: sanctioned.\n")).unwrap();
            p
        })
        .collect();
    (hsm, id, inputs)
}

/// A key that wants the PIN at every use (CKA_ALWAYS_AUTHENTICATE, as some
/// tokens set for non-repudiation keys): the one PIN the person typed serves
/// the login and each signature's context-specific login; nobody is asked
/// again. OpenSC's `pkcs11-spy` shows what the token was asked; `openssl
/// cms -verify` judges each signature.
#[test]
fn a_key_that_wants_the_pin_at_every_use_signs_a_batch_with_one_pin() {
    if !spy_and_tools() {
        return;
    }
    let fx = Fixture::shared();
    let dir = test_dir("always_authenticate");
    let (hsm, id, inputs) = key_wanting_the_pin_at_every_use(&dir);
    let home = dir.join("home");
    let out_dir = dir.join("signed");
    std::fs::create_dir_all(&out_dir).unwrap();
    let log = dir.join("spy.log");
    let o = run_with_stdin(
        mohor(&home, hsm.conf())
            .env("PKCS11SPY", SOFTHSM)
            .env("PKCS11SPY_OUTPUT", &log)
            .args(["--module", SPY, "--pin-stdin", "sign", "--detached"])
            .args(["--cert", &id])
            .args(&inputs)
            .arg("--out-dir")
            .arg(&out_dir),
        &format!("{PIN}\n"),
    );
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", text(&o));
    for input in &inputs {
        let name = input.file_name().unwrap().to_str().unwrap();
        let p7s = out_dir.join(format!("{name}.p7s"));
        let v = openssl_verify_detached(&p7s, input, &fx.root);
        assert!(v.status.success(), "{name}: {}", text(&v));
    }

    // What the token was asked: one user login, and one context-specific
    // login before each of the three signatures.
    let spy = std::fs::read_to_string(&log).unwrap();
    let calls: Vec<&str> = spy
        .lines()
        .filter_map(|l| l.split_once(": C_").map(|(_, call)| call))
        .collect();
    let logins: Vec<&str> = spy.lines().filter(|l| l.contains("userType")).collect();
    assert_eq!(
        logins.iter().filter(|l| l.contains("CKU_USER")).count(),
        1,
        "{logins:?}"
    );
    assert_eq!(
        logins
            .iter()
            .filter(|l| l.contains("CKU_CONTEXT_SPECIFIC"))
            .count(),
        3,
        "{logins:?}"
    );
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("SignInit")).count(),
        3
    );
}

/// The same key refusing the PIN at its own login (it has a signing PIN of
/// its own, which Mohor has no dialog for; token-sim answers every
/// context-specific login CKR_PIN_INCORRECT). Each such try counts towards
/// blocking the key, so Mohor sends it once: the batch stops there, the try
/// is counted, and no later request sends a PIN to the token until the
/// provider has seen to it and the person unlocks. OpenSC's `pkcs11-spy`
/// (over token-sim) shows what reached the token; `openssl cms -verify`
/// judges the signatures made after the unlock.
#[test]
fn a_key_that_refuses_the_pin_at_a_signature_is_sent_it_once() {
    if !spy_and_tools() {
        return;
    }
    let fx = Fixture::shared();
    let dir = test_dir("refused_at_signature");
    let (hsm, id, inputs) = key_wanting_the_pin_at_every_use(&dir);
    let home = dir.join("home");
    let sim = mohor_token_sim::harness::SimDir::create(dir.join("sim"));
    sim.update_control(&serde_json::json!({ "refuse_context_login": true }));
    let out_dir = dir.join("signed");
    std::fs::create_dir_all(&out_dir).unwrap();
    let log = dir.join("spy.log");
    let mohor_over_sim = |args: &[&str]| {
        let mut c = mohor(&home, hsm.conf());
        c.envs(sim.env())
            .env("PKCS11SPY", mohor_token_sim::harness::cdylib_path())
            .env("PKCS11SPY_OUTPUT", &log)
            .args(["--module", SPY])
            .args(args);
        c
    };
    let batch = |extra: &[&str]| {
        let mut c = mohor_over_sim(&["--pin-stdin", "sign", "--detached", "--cert", &id]);
        c.args(extra).args(&inputs).arg("--out-dir").arg(&out_dir);
        run_with_stdin(&mut c, &format!("{PIN}\n"))
    };
    let spy_logins = |kind: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("userType") && l.contains(kind))
            .count()
    };
    let context_logins = || {
        sim.logins()
            .iter()
            .filter(|l| l["user_type"] == "context_specific")
            .count()
    };

    // One user login, one context-specific login refused; the other two
    // documents are not signed and the key is not asked again.
    let o = batch(&[]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let said = text(&o);
    assert!(said.contains("PIN of its own"), "{said}");
    assert!(said.contains("PIN_INCORRECT"), "{said}");
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0, "{said}");
    assert_eq!(spy_logins("CKU_USER"), 1, "{said}");
    assert_eq!(spy_logins("CKU_CONTEXT_SPECIFIC"), 1, "{said}");
    assert_eq!(context_logins(), 1);

    // Counted, and said so.
    let status = run(&mut mohor_over_sim(&["pin", "status", "--json"]));
    let status = json_out(&status);
    let row = &status["tokens"][0];
    assert_eq!(row["wrong_pins"], 1, "{status:#}");
    assert_eq!(row["state"], "soft-locked", "{status:#}");
    assert!(
        row["message"].as_str().unwrap().contains("PIN of its own"),
        "{status:#}"
    );

    // The next request sends no PIN at all, not even the user login.
    let o = batch(&[]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("PIN_GUARD_LOCKED"), "{}", text(&o));
    assert_eq!(spy_logins("CKU_USER"), 1, "{}", text(&o));
    assert_eq!(sim.logins().len(), 2);

    // The provider sets the key right; the person unlocks; it signs again.
    sim.update_control(&serde_json::json!({ "refuse_context_login": null }));
    sim.reset_counters();
    let serial = row["serial"].as_str().unwrap().to_string();
    let o = run(&mut mohor_over_sim(&["pin", "unlock", "--token", &serial]));
    assert!(o.status.success(), "{}", text(&o));
    let o = batch(&[]);
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(context_logins(), 4);
    for input in &inputs {
        let name = input.file_name().unwrap().to_str().unwrap();
        let p7s = out_dir.join(format!("{name}.p7s"));
        let v = openssl_verify_detached(&p7s, input, &fx.root);
        assert!(v.status.success(), "{name}: {}", text(&v));
    }
}
