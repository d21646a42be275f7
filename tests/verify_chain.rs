//! Complete chains when signing: a token that holds only the person's own
//! certificate still yields a signature that chains to the root, because
//! Mohor adds the issuing CA from its store (here: the config's
//! `ca_certificates`) – matched by subject and key, never by name alone.
//! Judges: pyHanko trusting only the test root, and openssl's certificate list.
//!
//! And what a path may be when verifying: no longer than its CAs allow
//! (pathLenConstraint), ending at a signer whose certificate is meant for
//! signing documents (key usage and extended key usage). Judges:
//! `openssl cms -verify`, pyHanko and pdfsig.
// The shared PDF test helpers need the software signer.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod verify_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use verify_util::pdf_util::common::{
    assert_no_panic, openssl_verify_detached, openssl_verify_detached_for, pyhanko_detached,
    run_with_stdin, SimSetup,
};
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

/// Mohor's verdict on a detached signature: (intact, trusted, chain
/// complete, valid at signing time, exit code), and the problems as text.
fn detached_verdict(p7s: &Path, data: &Path) -> ((bool, bool, bool, bool, i32), String) {
    let (r, code, t) = mohor_report(p7s, &[fixture().root.clone()], Some(data));
    let s = &r["signatures"][0];
    let flag = |k: &str| s[k] == true;
    (
        (
            flag("intact"),
            flag("trusted"),
            flag("chain_complete"),
            flag("valid_at_signing_time"),
            code,
        ),
        format!("{}\n{t}", s["problems"]),
    )
}

/// The test sub-CA has pathlen 0 (as India's sub-CAs for individual DSCs
/// do): a CA it issues anyway may not issue signers. Before, Mohor trusted
/// such a signer; openssl, pyHanko and poppler do not.
#[test]
fn a_signer_below_a_ca_its_issuer_may_not_delegate_to_is_not_trusted() {
    if !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_chain_path_length");
    let (subca_cert, subca_key) = test_subca();
    let data = dir.join("tender.txt");
    std::fs::write(&data, b"Tender 2026/17: bid of Rs 4,20,000").unwrap();

    // Control: a signer issued by the sub-CA itself is trusted by all.
    let direct = issue_cert(
        &dir,
        "direct",
        "/CN=Direct Signer",
        SIGNING_EXTENSIONS,
        (&subca_cert, &subca_key),
    );
    let p7s = dir.join("direct.p7s");
    openssl_sign_detached(&data, &p7s, (&direct.0, &direct.1), &subca_cert);
    let (v, t) = detached_verdict(&p7s, &data);
    assert_eq!(v, (true, true, true, true, 0), "{t}");
    let o = openssl_verify_detached(&p7s, &data, &fixture().root);
    assert!(o.status.success(), "{}", text(&o));
    let (ok, ht) = pyhanko_detached(&p7s, &data, &fixture().root).unwrap();
    assert!(ok, "{ht}");

    // A CA under the sub-CA, and a signer under that CA.
    let deeper = issue_cert(
        &dir,
        "deeper-ca",
        "/CN=Deeper CA",
        CA_EXTENSIONS,
        (&subca_cert, &subca_key),
    );
    let signer = issue_cert(
        &dir,
        "deep",
        "/CN=Deep Signer",
        SIGNING_EXTENSIONS,
        (&deeper.1, &deeper.0),
    );
    let carried = dir.join("carried.pem");
    let both = [subca_cert.clone(), deeper.1.clone()]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    std::fs::write(&carried, both).unwrap();
    let p7s = dir.join("deep.p7s");
    openssl_sign_detached(&data, &p7s, (&signer.0, &signer.1), &carried);
    let (v, t) = detached_verdict(&p7s, &data);
    // Intact, a path to the root, every certificate in time: only the path
    // is longer than the sub-CA allows.
    assert_eq!(v, (true, false, true, true, 1), "{t}");
    assert!(
        t.contains("Test Class 3 CA 2026 may have at most 0 CA certificate(s) below it"),
        "{t}"
    );
    let o = openssl_verify_detached(&p7s, &data, &fixture().root);
    assert!(
        !o.status.success() && text(&o).contains("path length constraint exceeded"),
        "{}",
        text(&o)
    );
    let (ok, ht) = pyhanko_detached(&p7s, &data, &fixture().root).unwrap();
    assert!(!ok, "pyHanko trusted it: {ht}");
}

/// A signer certificate whose extended key usage names other purposes only
/// (a TLS server, a time-stamping authority) signs no documents. Before,
/// Mohor checked the key usage alone and trusted both; openssl (S/MIME
/// signing) and poppler refuse them. S/MIME and document-signing ones stay
/// trusted.
#[test]
fn a_certificate_restricted_to_other_purposes_signs_no_document() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_chain_eku");
    let (subca_cert, subca_key) = test_subca();
    let data = dir.join("order.txt");
    std::fs::write(&data, b"Work order 88/2026").unwrap();
    for (name, eku, fit) in [
        ("tls-server", "serverAuth", false),
        ("tsa", "critical, timeStamping", false),
        ("smime", "emailProtection, clientAuth", true),
        // RFC 9336 document signing: Mohor (as Acrobat) accepts it; openssl's
        // S/MIME check and poppler's know only e-mail protection.
        ("document-signing", "1.3.6.1.5.5.7.3.36", true),
    ] {
        let extensions = format!("{SIGNING_EXTENSIONS}extendedKeyUsage = {eku}\n");
        let (key, cert) = issue_cert(
            &dir,
            name,
            &format!("/CN=EKU {name}"),
            &extensions,
            (&subca_cert, &subca_key),
        );
        let p7s = dir.join(format!("{name}.p7s"));
        openssl_sign_detached(&data, &p7s, (&key, &cert), &subca_cert);
        let (v, t) = detached_verdict(&p7s, &data);
        assert_eq!(
            v,
            (true, fit, true, true, if fit { 0 } else { 1 }),
            "{name}: {t}"
        );
        assert_eq!(
            t.contains("is not meant for signing documents (extended key usage"),
            !fit,
            "{name}: {t}"
        );

        let mut signer =
            mohor::sign::software::SoftwareSigner::from_files(&key, &cert, &subca_cert).unwrap();
        let mut o = verify_util::pdf_util::opts("rsa2048");
        o.signer_name = format!("EKU {name}");
        o.signing_time = time::OffsetDateTime::now_utc();
        let pdf = dir.join(format!("{name}.pdf"));
        mohor::pdf::sign_file(&corpus("pyhanko-minimal.pdf"), &pdf, &mut signer, &o).unwrap();
        let (r, code, t) = mohor_report(&pdf, &[fixture().root.clone()], None);
        assert_eq!(r["signatures"][0]["trusted"], fit, "{name}: {t}");
        assert_eq!(code, if fit { 0 } else { 1 }, "{name}: {t}");

        if name == "document-signing" {
            continue;
        }
        let o = openssl_verify_detached_for(&p7s, &data, &fixture().root, "smimesign");
        assert_eq!(o.status.success(), fit, "{name}: openssl: {}", text(&o));
        let sig = pdfsig(&pdf);
        assert!(sig.signatures[0].valid(), "{}", sig.output);
        assert_eq!(
            sig.signatures[0].certificate == "Certificate is Trusted.",
            fit,
            "{name}: pdfsig: {}",
            sig.output
        );
    }
}

/// A signer's certificate used as a CA (CA:false): no signer below it is
/// trusted. Before, the refusal was filed as "not valid at signing time"
/// (valid_at_signing_time false with every certificate in its validity);
/// now the path grants no trust and the time check holds. openssl
/// ("invalid CA certificate") and pyHanko refuse it.
#[test]
fn a_certificate_that_is_no_ca_issues_nothing_trusted() {
    if pyhanko().is_none() {
        return;
    }
    let dir = test_dir("verify_chain_not_a_ca");
    let (subca_cert, subca_key) = test_subca();
    let data = dir.join("receipt.txt");
    std::fs::write(&data, b"Receipt 5521: Rs 12,500 received").unwrap();
    let person = issue_cert(
        &dir,
        "person",
        "/CN=Ordinary Signer",
        SIGNING_EXTENSIONS,
        (&subca_cert, &subca_key),
    );
    let below = issue_cert(
        &dir,
        "below",
        "/CN=Signer Below A Signer",
        SIGNING_EXTENSIONS,
        (&person.1, &person.0),
    );
    let carried = dir.join("carried.pem");
    let both = [subca_cert.clone(), person.1.clone()]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    std::fs::write(&carried, both).unwrap();
    let p7s = dir.join("below.p7s");
    openssl_sign_detached(&data, &p7s, (&below.0, &below.1), &carried);
    let (v, t) = detached_verdict(&p7s, &data);
    assert_eq!(v, (true, false, true, true, 1), "{t}");
    assert!(
        t.contains("Ordinary Signer is not allowed to issue certificates"),
        "{t}"
    );
    let o = openssl_verify_detached(&p7s, &data, &fixture().root);
    assert!(
        !o.status.success() && text(&o).contains("invalid CA certificate"),
        "{}",
        text(&o)
    );
    let (ok, ht) = pyhanko_detached(&p7s, &data, &fixture().root).unwrap();
    assert!(!ok, "pyHanko trusted it: {ht}");
}
