//! `mohor sign --detached` on SoftHSM tokens, judged by openssl and pyHanko.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use serde_json::json;

#[test]
fn rsa2048_rsa4096_and_p256_on_the_token_verify_and_one_changed_byte_fails() {
    if !have_tool("openssl") {
        return;
    }
    let fx = Fixture::shared();
    let s = SimSetup::new("detached_keys", json!({}));
    let data = s.dir.join("tender.txt");
    std::fs::write(&data, b"Tender 7/2026, bid of M/s Example: Rs 4,50,000.\n").unwrap();
    let before = hex_sha256(&std::fs::read(&data).unwrap());
    for name in ["rsa2048", "rsa4096", "ec256"] {
        let out = s.dir.join(format!("{name}.p7s"));
        let o = s.sign_detached(&data, &out, &fx.cert(name).id, &fx.user_pin);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let v = openssl_verify_detached(&out, &data, &fx.root);
        assert!(v.status.success(), "{name}: {}", text(&v));
        if let Some((ok, t)) = pyhanko_detached(&out, &data, &fx.root) {
            assert!(ok, "{name}: {t}");
        }
        let changed = s.dir.join(format!("{name}-changed.txt"));
        let mut bytes = std::fs::read(&data).unwrap();
        bytes[10] ^= 0x20;
        std::fs::write(&changed, bytes).unwrap();
        assert!(
            !openssl_verify_detached(&out, &changed, &fx.root)
                .status
                .success(),
            "{name}"
        );
        if let Some((ok, t)) = pyhanko_detached(&out, &changed, &fx.root) {
            assert!(!ok, "{name}: pyHanko accepted changed data: {t}");
        }
    }
    assert_eq!(
        hex_sha256(&std::fs::read(&data).unwrap()),
        before,
        "input changed"
    );
}

#[test]
fn three_signatories_cosign_and_keep_earlier_signer_infos_byte_identical() {
    if !have_tool("openssl") {
        return;
    }
    let fx = Fixture::shared();
    let s = SimSetup::new("detached_cosign", json!({}));
    s.trust_the_test_root();
    let data = s.dir.join("minutes.txt");
    std::fs::write(&data, b"Minutes of the purchase committee, 23 Nov 2026").unwrap();
    let (a, b, c) = (
        s.dir.join("a.p7s"),
        s.dir.join("ab.p7s"),
        s.dir.join("abc.p7s"),
    );
    assert!(s
        .sign_detached(&data, &a, &fx.cert("rsa2048").id, &fx.user_pin)
        .status
        .success());
    for (old, new, name) in [(&a, &b, "ec256"), (&b, &c, "rsa4096")] {
        let o = s.cosign_detached(old, &data, new, &fx.cert(name).id, &fx.user_pin);
        assert!(o.status.success(), "{name}: {}", text(&o));
        // Each co-signer is told first whom they sign after, and that it holds.
        let mut told = vec![
            "minutes.txt: already signed",
            "  Already signed by (as Mohor checked it):",
            "  - Asha Verma: valid (intact, from a trusted authority, no forbidden change since)",
        ];
        if name == "rsa4096" {
            told.push(
                "  - Meera Nair: valid (intact, from a trusted authority, no forbidden change since)",
            );
        }
        let said = stderr(&o);
        assert!(said.starts_with(&(told.join("\n") + "\nSigned ")), "{said}");
    }
    let v = openssl_verify_detached(&c, &data, &fx.root);
    assert!(v.status.success(), "{}", text(&v));
    let infos = |p: &std::path::Path| {
        mohor::sign::cms::raw_signer_infos(&std::fs::read(p).unwrap()).unwrap()
    };
    let (ia, ib, ic) = (infos(&a), infos(&b), infos(&c));
    assert_eq!((ia.len(), ib.len(), ic.len()), (1, 2, 3));
    assert_eq!(ic[0], ia[0]);
    assert_eq!(ic[..2], ib[..]);
    // openssl names all three signers.
    assert_eq!(
        openssl_signer_count(&c, &data, &s.dir.join("signers.pem")),
        3
    );

    // Co-signing a different file is refused before the PIN and leaves nothing behind.
    let logins_before = s.sim.logins().len();
    let other = s.dir.join("other.txt");
    std::fs::write(&other, b"something else").unwrap();
    let bad = s.dir.join("bad.p7s");
    let o = s.cosign_detached(&c, &other, &bad, &fx.cert("pan").id, &fx.user_pin);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("DOCUMENT_REFUSED"), "{}", text(&o));
    assert!(!bad.exists());
    assert_eq!(
        s.sim.logins().len(),
        logins_before,
        "a PIN was spent on a refused co-signature"
    );
}

#[test]
fn expired_and_encryption_only_certificates_are_refused_before_any_pin() {
    let fx = Fixture::shared();
    let s = SimSetup::new("detached_refused", json!({}));
    let data = s.dir.join("d.txt");
    std::fs::write(&data, b"d").unwrap();
    for (name, why) in [
        ("expired", "it has expired"),
        ("enc", "does not allow signing"),
    ] {
        let out = s.dir.join("o.p7s");
        let o = s.sign_detached(&data, &out, &fx.cert(name).id, &fx.user_pin);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("CERTIFICATE_NOT_USABLE"),
            "{name}: {}",
            text(&o)
        );
        assert!(stderr(&o).contains(why), "{name}: {}", text(&o));
        assert!(!out.exists());
    }
    assert_eq!(s.sim.logins().len(), 0, "a PIN reached the token");
}

#[test]
fn without_the_combined_mechanisms_mohor_hashes_itself_and_still_verifies() {
    if !have_tool("openssl") {
        return;
    }
    let fx = Fixture::shared();
    let s = SimSetup::new(
        "detached_fallback",
        json!({"hide_mechanisms": ["CKM_SHA256_RSA_PKCS", "CKM_ECDSA_SHA256"]}),
    );
    let data = s.dir.join("d.txt");
    std::fs::write(&data, b"fallback").unwrap();
    for name in ["rsa2048", "ec256"] {
        let out = s.dir.join(format!("{name}.p7s"));
        let o = s.sign_detached(&data, &out, &fx.cert(name).id, &fx.user_pin);
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert!(
            openssl_verify_detached(&out, &data, &fx.root)
                .status
                .success(),
            "{name}"
        );
    }
    assert!(s.sim.errors().is_empty(), "{}", s.sim.errors());
}

#[test]
fn output_over_the_input_or_several_candidate_certificates_are_clear_errors() {
    let fx = Fixture::shared();
    let s = SimSetup::new("detached_misuse", json!({}));
    let data = s.dir.join("d.txt");
    std::fs::write(&data, b"keep me").unwrap();
    let mut c = s.mohor(&["--pin-stdin", "sign", "--detached"]);
    c.arg(&data).arg("-o").arg(&data);
    let o = run_with_stdin(&mut c, "123456\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the output file is the input file"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(&data).unwrap(), b"keep me");

    // A batch into the inputs' own folder (a PDF's output is named like its
    // input), or two inputs of one name: refused before any PIN.
    let pdf = s.dir.join("note.pdf");
    std::fs::write(&pdf, b"%PDF-1.7 keep me").unwrap();
    let other = s.dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("note.pdf"), b"%PDF-1.7 me too").unwrap();
    for (inputs, words) in [
        (vec![pdf.clone()], "the output file is the input file"),
        (
            vec![pdf.clone(), other.join("note.pdf")],
            "two inputs would be written to",
        ),
    ] {
        let mut c = s.mohor(&["--pin-stdin", "sign", "--out-dir"]);
        c.arg(&s.dir).args(&inputs);
        let o = run_with_stdin(&mut c, "123456\n");
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(stderr(&o).contains(words), "{}", text(&o));
    }
    assert_eq!(std::fs::read(&pdf).unwrap(), b"%PDF-1.7 keep me");
    assert_eq!(
        std::fs::read(other.join("note.pdf")).unwrap(),
        b"%PDF-1.7 me too"
    );

    // An output into a missing folder, or onto a folder, is said before the
    // PIN (it was found after the signature, a login spent for nothing).
    for out in [s.dir.join("no-such-folder/o.p7s"), s.dir.clone()] {
        let mut c = s.mohor(&["--pin-stdin", "sign", "--detached"]);
        c.args(["--cert", &fx.cert("rsa2048").id]);
        c.arg(&data).arg("-o").arg(&out);
        let o = run_with_stdin(&mut c, &format!("{}\n", fx.user_pin));
        assert_no_panic(&o);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert_eq!(s.sim.logins().len(), 0, "a PIN was spent: {}", text(&o));
        let e = stderr(&o);
        assert!(
            e.contains("(IO_ERROR)") && e.contains("what to do: "),
            "{e}"
        );
    }
    assert!(!s.dir.join("no-such-folder").exists());

    let mut c = s.mohor(&["--pin-stdin", "sign", "--detached"]);
    c.arg(&data).arg("-o").arg(s.dir.join("o.p7s"));
    let o = run_with_stdin(&mut c, "123456\n");
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("NO_MATCHING_CERTIFICATE") && e.contains("--cert"),
        "{e}"
    );
    assert!(e.contains(&fx.cert("rsa4096").id), "{e}");
    assert_eq!(s.sim.logins().len(), 0);

    // Nor over the earlier signature a co-signature adds to: refused before
    // any PIN, and the old .p7s is left as it was.
    let old = s.dir.join("old.p7s");
    let o = s.sign_detached(&data, &old, &fx.cert("rsa2048").id, &fx.user_pin);
    assert!(o.status.success(), "{}", text(&o));
    let signed = std::fs::read(&old).unwrap();
    let logins = s.sim.logins().len();
    let o = s.cosign_detached(&old, &data, &old, &fx.cert("rsa4096").id, &fx.user_pin);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("the output file is the earlier signature"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(&old).unwrap(), signed);
    assert_eq!(
        s.sim.logins().len(),
        logins,
        "a PIN was spent on a refused co-signature"
    );
}

/// A signature that cannot be written is not "ok" in the audit log: the
/// pipeline writes each detached signature before it audits it. Here one
/// output name is taken by a folder, so its rename fails after the token
/// signed; the other lands and `openssl cms -verify` accepts it.
#[test]
fn a_signature_that_cannot_be_written_is_logged_as_failed_not_signed() {
    if !have_tool("openssl") {
        return;
    }
    let fx = Fixture::shared();
    let s = SimSetup::new("detached_unwritable", json!({}));
    let out = s.dir.join("signed");
    std::fs::create_dir_all(out.join("b.txt.p7s")).unwrap();
    let (a, b) = (s.dir.join("a.txt"), s.dir.join("b.txt"));
    std::fs::write(&a, b"Sanction order A.\n").unwrap();
    std::fs::write(&b, b"Sanction order B.\n").unwrap();
    let err = sign_batch_expecting_a_failure(&s, fx, &[&a, &b], &out);
    assert!(err.contains("Not signed") && err.contains("b.txt"), "{err}");
    let v = openssl_verify_detached(&out.join("a.txt.p7s"), &a, &fx.root);
    assert!(v.status.success(), "{}", text(&v));
    assert!(out.join("b.txt.p7s").is_dir());

    let h = json_out(&run_with_stdin(&mut s.mohor(&["history", "--json"]), ""));
    let rows: Vec<(&str, &str)> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["document"].as_str().unwrap(),
                e["result"].as_str().unwrap(),
            )
        })
        .collect();
    // Newest first.
    assert_eq!(rows.len(), 2, "{h:#}");
    assert_eq!(rows[1], ("a.txt", "ok"), "{h:#}");
    assert_eq!(rows[0].0, "b.txt", "{h:#}");
    assert_ne!(rows[0].1, "ok", "{h:#}");
}

/// A batch item that is missing is that item's failure, on its own line: the
/// other files are still signed, with one PIN (it stopped the whole batch).
#[test]
fn a_missing_file_in_a_batch_fails_alone() {
    if !have_tool("openssl") {
        return;
    }
    let fx = Fixture::shared();
    let s = SimSetup::new("detached_batch_missing", json!({}));
    let out = s.dir.join("signed");
    std::fs::create_dir_all(&out).unwrap();
    let (a, gone) = (s.dir.join("a.txt"), s.dir.join("gone.txt"));
    std::fs::write(&a, b"Sanction order A.\n").unwrap();
    let err = sign_batch_expecting_a_failure(&s, fx, &[&gone, &a], &out);
    assert!(
        err.contains("Not signed") && err.contains("gone.txt") && err.contains("IO_ERROR"),
        "{err}"
    );
    assert!(err.contains("1 of 2 files were not signed"), "{err}");
    let v = openssl_verify_detached(&out.join("a.txt.p7s"), &a, &fx.root);
    assert!(v.status.success(), "{}", text(&v));
    assert!(!out.join("gone.txt.p7s").exists());
    assert_eq!(s.sim.logins().len(), 1);
}

/// Signs `inputs` detached into `out` with one PIN, expects exit 1 (some
/// item failed) and gives back stderr, where the per-item lines are.
fn sign_batch_expecting_a_failure(
    s: &SimSetup,
    fx: &Fixture,
    inputs: &[&std::path::Path],
    out: &std::path::Path,
) -> String {
    let mut c = s.mohor(&["--pin-stdin", "sign", "--detached"]);
    c.args(["--cert", &fx.cert("rsa2048").id])
        .args(inputs)
        .arg("--out-dir")
        .arg(out);
    let o = run_with_stdin(&mut c, &format!("{}\n", fx.user_pin));
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    stderr(&o)
}
