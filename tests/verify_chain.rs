//! Complete chains when signing: a token that holds only the person's own
//! certificate still yields a signature that chains to the root, because
//! Mohor adds the issuing CA from its store (here: the config's
//! `ca_certificates`) – matched by subject and key, never by name alone.
//! Judges: pyHanko trusting only the test root, and openssl's certificate list.
// The shared PDF test helpers need the software signer.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod verify_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use verify_util::pdf_util::common::{assert_no_panic, run_with_stdin, SimSetup};
use verify_util::*;

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A private token store whose tokens hold no CA certificate.
fn leaf_only_tokens(name: &str) -> SimSetup {
    let s = SimSetup::new(name, json!({}));
    for token in ["ASHA-EPASS", "RAHUL-PROXKEY"] {
        let out = run(Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &s.conf)
            .args([
                "--module",
                SOFTHSM,
                "--token-label",
                token,
                "--login",
                "--pin",
            ])
            .arg(&fixture().user_pin)
            .args([
                "--delete-object",
                "--type",
                "cert",
                "--label",
                "Test Class 3 CA 2026",
            ]));
        assert!(out.status.success(), "{}", text(&out));
    }
    s
}

fn sign(s: &SimSetup, output: &Path) {
    let mut c = s.mohor(&[
        "--pin-stdin",
        "sign",
        "--cert",
        &fixture().cert("rsa2048").id,
    ]);
    c.arg(corpus("pyhanko-minimal.pdf")).arg("-o").arg(output);
    let o = run_with_stdin(&mut c, &format!("{}\n", fixture().user_pin));
    assert_no_panic(&o);
    assert!(o.status.success(), "{}", text(&o));
}

/// Subject CNs of the certificates the signature carries (openssl's reading).
fn carried(pdf: &Path, dir: &Path) -> Vec<String> {
    let cms = cms_blobs(&std::fs::read(pdf).unwrap()).pop().unwrap();
    let der = dir.join("carried.der");
    std::fs::write(&der, cms).unwrap();
    let out = run(Command::new("openssl")
        .args(["pkcs7", "-inform", "DER", "-print_certs", "-in"])
        .arg(&der));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("subject="))
        .map(|s| s.rsplit("CN = ").next().unwrap_or_default().to_string())
        .collect()
}

fn trusted_by_pyhanko(pdf: &Path) -> bool {
    let (v, t) = hanko_verdicts(pdf, &[fixture().root.clone()]);
    assert_eq!(v.len(), 1, "{t}");
    v[0].1.intact && v[0].1.trusted
}

fn mohor_trusts(pdf: &Path) -> (bool, serde_json::Value) {
    let (r, _, _) = mohor_report(pdf, &[fixture().root.clone()], None);
    (r["signatures"][0]["trusted"] == true, r)
}

fn write_config(s: &SimSetup, cas: &[PathBuf]) {
    let list: Vec<String> = cas
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    std::fs::write(
        s.home.join("config.toml"),
        format!("ca_certificates = [{}]\n", list.join(", ")),
    )
    .unwrap();
}

#[test]
fn a_leaf_only_token_signs_with_the_ca_from_the_store_and_pyhanko_trusts_it() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    // Without the CA anywhere: the chain is incomplete, and both judges say so.
    let s = leaf_only_tokens("verify_chain_leaf_only");
    let bare = s.dir.join("bare.pdf");
    sign(&s, &bare);
    assert_eq!(carried(&bare, &s.dir), ["Asha Verma"]);
    assert!(!trusted_by_pyhanko(&bare));
    let (trusted, r) = mohor_trusts(&bare);
    assert!(!trusted, "{r}");
    assert_eq!(r["signatures"][0]["chain_complete"], false, "{r}");

    // Verifying it with the intermediate in the store completes the chain
    // (pyHanko given the same certificate as --other-certs agrees).
    write_config(&s, &[subca()]);
    let out = run(verify_util::pdf_util::common::mohor(&s.home, &s.conf)
        .args(["verify", "--json", "--trust-replace", "--trust"])
        .arg(&fixture().root)
        .arg(&bare));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["signatures"][0]["trusted"], true, "{}", text(&out));
    assert_eq!(r["signatures"][0]["chain_complete"], true, "{r}");
    let hanko = run(Command::new(pyhanko().unwrap())
        .args([
            "sign",
            "validate",
            "--no-revocation-check",
            "--validation-time",
            "claimed",
            "--trust-replace",
            "--trust",
        ])
        .arg(&fixture().root)
        .arg("--other-certs")
        .arg(subca())
        .arg(&bare));
    assert!(text(&hanko).contains(":INTACT:TRUSTED"), "{}", text(&hanko));

    // With the test intermediate in the store: completed, and trusted by both.
    write_config(&s, &[subca()]);
    let full = s.dir.join("completed.pdf");
    sign(&s, &full);
    let names = carried(&full, &s.dir);
    assert!(
        names.contains(&"Test Class 3 CA 2026".to_string()),
        "{names:?}"
    );
    assert!(trusted_by_pyhanko(&full));
    let (trusted, r) = mohor_trusts(&full);
    assert!(trusted, "{r}");
}

fn subca() -> PathBuf {
    fixture().dir.join("pki/subca.pem")
}

#[test]
fn a_ca_with_the_right_name_but_another_key_is_never_added() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let s = leaf_only_tokens("verify_chain_impostor");
    let key = s.dir.join("impostor.key.pem");
    let cert = s.dir.join("impostor.pem");
    let out = run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-subj",
            "/C=IN/O=Test Certifying Authority/CN=Test Class 3 CA 2026",
            "-addext",
            "basicConstraints=critical,CA:true",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]));
    assert!(out.status.success(), "{}", text(&out));
    write_config(&s, &[cert]);
    let file = s.dir.join("impostor.pdf");
    sign(&s, &file);
    assert_eq!(
        carried(&file, &s.dir),
        ["Asha Verma"],
        "the look-alike CA was embedded"
    );
    assert!(!trusted_by_pyhanko(&file));
}

/// The helper above reads a signature out of its zero-padded placeholder by
/// the DER length; a signature whose last byte is 0x00 (one in 256) stays whole.
#[test]
fn a_carried_signature_ending_in_a_zero_byte_is_read_whole() {
    // A SEQUENCE of 256 bytes holding an OCTET STRING of 253 whose last is 0.
    let mut cms = vec![0x30, 0x82, 0x01, 0x00, 0x04, 0x81, 0xfd];
    cms.extend(std::iter::repeat_n(0xab, 252));
    cms.push(0x00);
    let mut padded = cms.clone();
    padded.resize(800, 0);
    let pdf = format!("/Contents <{}>", hex::encode(&padded));
    assert_eq!(cms_blobs(pdf.as_bytes()), [cms]);
    // BER's indefinite length states none: the blob stays as it was placed
    // (its end-of-contents zeros and the padding after them).
    let mut ber = vec![0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00];
    ber.resize(400, 0);
    let pdf = format!("/Contents <{}>", hex::encode(&ber));
    assert_eq!(cms_blobs(pdf.as_bytes()), [ber]);
}
