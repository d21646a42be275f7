//! `mohor verify SIG.p7s --data DATA`: every SignerInfo of a detached CMS is
//! reported; DER from Mohor's tokens, BER with indefinite lengths from
//! openssl's streaming signer, SHA-1 digests as GSTN certificates carry, and
//! encapsulated content without --data. Judges: `openssl cms -verify` and
//! pyHanko's detached validator, trusting only the test root.
// The shared PDF test helpers need the software signer.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod verify_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use verify_util::pdf_util::common::{
    openssl_verify_detached, pyhanko_detached, run_with_stdin, SimSetup,
};
use verify_util::*;

fn root() -> Vec<PathBuf> {
    vec![fixture().root.clone()]
}

fn all(report: &serde_json::Value, key: &str) -> Vec<serde_json::Value> {
    report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[key].clone())
        .collect()
}

#[test]
fn three_cosigners_are_three_verified_signatures_and_changed_data_breaks_all() {
    let fx = fixture();
    let s = SimSetup::new("verify_detached_cosign", json!({}));
    let data = s.dir.join("bill.txt");
    std::fs::write(&data, b"Bill No. 42: Rs 1,20,000 payable to M/s Example").unwrap();
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
    }
    let (r, code, t) = mohor_report(&c, &root(), Some(&data));
    assert_eq!(code, 0, "{t}");
    assert_eq!(all(&r, "field"), [json!("#1"), json!("#2"), json!("#3")]);
    assert_eq!(
        all(&r, "signer"),
        [
            json!("Asha Verma"),
            json!("Meera Nair"),
            json!("Rahul Iyer")
        ]
    );
    assert!(all(&r, "trusted").iter().all(|v| v == true), "{r}");
    assert!(all(&r, "kind").iter().all(|v| v == "detached"), "{r}");
    assert!(openssl_verify_detached(&c, &data, &fx.root)
        .status
        .success());
    // pyHanko reads single-signer CMS only: it judges the first signature alone.
    if let Some((ok, t)) = pyhanko_detached(&a, &data, &fx.root) {
        assert!(ok, "{t}");
        let (_, code, mt) = mohor_report(&a, &root(), Some(&data));
        assert_eq!(code, 0, "{mt}");
    }

    let changed = s.dir.join("bill-changed.txt");
    std::fs::write(&changed, b"Bill No. 42: Rs 9,20,000 payable to M/s Example").unwrap();
    let (r, code, t) = mohor_report(&c, &root(), Some(&changed));
    assert_eq!(code, 1, "{t}");
    assert!(all(&r, "intact").iter().all(|v| v == false), "{r}");
    assert!(!openssl_verify_detached(&c, &changed, &fx.root)
        .status
        .success());

    // Without the data there is nothing to check: a clear error.
    let (_, code, t) = mohor_report(&c, &root(), None);
    assert_eq!(code, 1);
    assert!(t.contains("--data"), "{t}");
}

/// openssl's signer: `-stream` writes BER with indefinite lengths.
fn openssl_sign(data: &Path, out: &Path, md: &str, attached: bool) {
    let fx = fixture();
    let c = fx.cert("rsa2048");
    let mut cmd = Command::new("openssl");
    cmd.args([
        "cms", "-sign", "-binary", "-stream", "-outform", "DER", "-md", md,
    ])
    .arg("-in")
    .arg(data)
    .arg("-signer")
    .arg(&c.cert)
    .arg("-inkey")
    .arg(&c.key)
    .arg("-certfile")
    .arg(fx.dir.join("pki/subca.pem"))
    .arg("-out")
    .arg(out);
    let o = run(&mut cmd);
    assert!(o.status.success(), "{}", text(&o));
    if !attached {
        // The streaming signer always encapsulates: cut the content out.
        let full = out.with_extension("attached");
        std::fs::rename(out, &full).unwrap();
        let repo = verify_util::pdf_util::common::repo();
        let o = run(Command::new(repo.join(".venv/bin/python"))
            .arg(repo.join("tests/verify_util/detach_ber.py"))
            .arg(&full)
            .arg(out));
        assert!(o.status.success(), "{}", text(&o));
    }
}

#[test]
fn ber_cms_with_indefinite_lengths_and_sha1_digests_verify_like_openssl_says() {
    let dir = test_dir("verify_detached_ber");
    let data = dir.join("gst-certificate.txt");
    std::fs::write(&data, b"GSTIN 29ABCDE1234F1Z5 registration certificate").unwrap();
    for md in ["sha256", "sha1"] {
        let p7s = dir.join(format!("{md}.p7s"));
        openssl_sign(&data, &p7s, md, false);
        let der = std::fs::read(&p7s).unwrap();
        assert_eq!(
            der[1], 0x80,
            "openssl wrote definite lengths; the test needs BER"
        );
        let (r, code, t) = mohor_report(&p7s, &root(), Some(&data));
        let judge = openssl_verify_detached(&p7s, &data, &fixture().root);
        assert!(judge.status.success(), "openssl: {}", text(&judge));
        assert_eq!(code, 0, "{md}: {t}");
        assert_eq!(
            r["signatures"][0]["digest_algorithm"],
            if md == "sha1" { "SHA-1" } else { "SHA-256" }
        );
        assert_eq!(r["signatures"][0]["chain_complete"], true, "{r}");
        let other = dir.join("other.txt");
        std::fs::write(&other, b"GSTIN 29ABCDE1234F1Z6 registration certificate").unwrap();
        let (r, code, t) = mohor_report(&p7s, &root(), Some(&other));
        assert_eq!(
            (code, r["signatures"][0]["intact"].clone()),
            (1, false.into()),
            "{t}"
        );
        assert!(!openssl_verify_detached(&p7s, &other, &fixture().root)
            .status
            .success());
    }
    // Encapsulated content: no --data needed; a flipped content byte is caught.
    let p7m = dir.join("attached.p7m");
    openssl_sign(&data, &p7m, "sha256", true);
    let (_, code, t) = mohor_report(&p7m, &root(), None);
    assert_eq!(code, 0, "{t}");
    let mut b = std::fs::read(&p7m).unwrap();
    let at = find(&b, b"GSTIN").unwrap();
    b[at] = b'X';
    let bad = dir.join("attached-bad.p7m");
    std::fs::write(&bad, &b).unwrap();
    let (r, code, t) = mohor_report(&bad, &root(), None);
    assert_eq!(code, 1, "{t}");
    assert_eq!(r["signatures"][0]["intact"], false, "{t}");
    let judge = run(Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-binary", "-in"])
        .arg(&bad)
        .arg("-CAfile")
        .arg(&fixture().root)
        .args(["-out", "/dev/null"]));
    assert!(
        !judge.status.success(),
        "openssl accepted the changed content"
    );
}

#[test]
fn garbage_and_truncated_signatures_are_errors_not_panics() {
    let dir = test_dir("verify_detached_garbage");
    let data = dir.join("d.txt");
    std::fs::write(&data, b"x").unwrap();
    let p7s = dir.join("ok.p7s");
    openssl_sign(&data, &p7s, "sha256", false);
    let good = std::fs::read(&p7s).unwrap();
    for (i, bytes) in [
        b"not a signature at all".to_vec(),
        good[..good.len() / 2].to_vec(),
        [0x30, 0x80].repeat(5000),
        vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    ]
    .iter()
    .enumerate()
    {
        let f = dir.join(format!("bad{i}.p7s"));
        std::fs::write(&f, bytes).unwrap();
        let (_, code, t) = mohor_report(&f, &root(), Some(&data));
        assert_eq!(code, 1, "{t}");
        assert!(
            t.contains("DOCUMENT_REFUSED") || t.contains("cannot verify"),
            "{t}"
        );
    }
}

/// `mohor verify` reads what a pipe brings (`/dev/stdin`, a shell's
/// `<(...)`): the signature, or the data, copied to a private temporary
/// file first because the checks read at positions. openssl judges the same
/// files; a PDF through the pipe is judged by pdfsig too.
#[test]
fn a_signature_or_its_data_or_a_pdf_can_come_through_a_pipe() {
    use std::io::Write as _;
    use std::process::Stdio;
    let fx = fixture();
    let s = SimSetup::new("verify_pipe", json!({}));
    let data = s.dir.join("memo.txt");
    std::fs::write(&data, b"Office memorandum 12/2026: approved.\n").unwrap();
    let p7s = s.dir.join("memo.p7s");
    assert!(s
        .sign_detached(&data, &p7s, &fx.cert("rsa2048").id, &fx.user_pin)
        .status
        .success());
    assert!(openssl_verify_detached(&p7s, &data, &fx.root)
        .status
        .success());
    let pdf_in = s.dir.join("order.pdf");
    std::fs::write(&pdf_in, verify_util::pdf_util::common::tiny_pdf()).unwrap();
    let pdf = s.dir.join("order-signed.pdf");
    let mut c = s.mohor(&["--pin-stdin", "sign", "--cert", &fx.cert("rsa2048").id]);
    c.arg(&pdf_in).arg("-o").arg(&pdf);
    assert!(run_with_stdin(&mut c, &format!("{}\n", fx.user_pin))
        .status
        .success());
    assert_eq!(pdfsig_intact(&pdf), [("Signature1".to_string(), true)]);

    let verify_piped = |piped: &Path, args: &[&std::ffi::OsStr]| {
        let mut cmd = s.mohor(&["verify", "--json", "--trust-replace", "--trust"]);
        cmd.arg(&fx.root).args(args);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let bytes = std::fs::read(piped).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&bytes));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
        (out.status.code(), report)
    };
    let stdin = std::ffi::OsStr::new("/dev/stdin");
    let data_arg = data.as_os_str();
    let p7s_arg = p7s.as_os_str();
    for (piped, args) in [
        (&p7s, vec![stdin, std::ffi::OsStr::new("--data"), data_arg]),
        (&data, vec![p7s_arg, std::ffi::OsStr::new("--data"), stdin]),
        (&pdf, vec![stdin]),
    ] {
        let (code, r) = verify_piped(piped, &args);
        assert_eq!(code, Some(0), "{args:?}: {r:#}");
        assert_eq!(all(&r, "intact"), [json!(true)], "{args:?}: {r:#}");
        assert_eq!(all(&r, "trusted"), [json!(true)], "{args:?}: {r:#}");
    }
}

/// A signer key above 4096 bits (RSA-6144 here; RSA-8192 alike): before,
/// Mohor called the signature NOT INTACT ("unreadable RSA key", the rsa
/// crate's default 4096-bit bound), as if the data had been changed;
/// openssl and pyHanko verify it, and so does Mohor now.
#[test]
fn a_signer_with_an_rsa_key_above_4096_bits_verifies() {
    if pyhanko().is_none() {
        return;
    }
    let dir = test_dir("verify_detached_large_rsa");
    let (subca_cert, subca_key) = test_subca();
    let (key, cert) = issue_cert_with_key(
        &dir,
        "large",
        "/CN=Large Key Signer",
        SIGNING_EXTENSIONS,
        (&subca_cert, &subca_key),
        "rsa:6144",
    );
    let data = dir.join("deed.txt");
    std::fs::write(&data, b"Sale deed 2026/311").unwrap();
    let p7s = dir.join("large.p7s");
    openssl_sign_detached(&data, &p7s, (&key, &cert), &subca_cert);
    let (r, code, t) = mohor_report(&p7s, &root(), Some(&data));
    assert_eq!(
        (
            r["signatures"][0]["intact"].clone(),
            r["signatures"][0]["trusted"].clone(),
            code
        ),
        (true.into(), true.into(), 0),
        "{t}"
    );
    let o = openssl_verify_detached(&p7s, &data, &fixture().root);
    assert!(o.status.success(), "{}", text(&o));
    let (ok, ht) = pyhanko_detached(&p7s, &data, &fixture().root).unwrap();
    assert!(ok, "{ht}");
    // One changed byte of the data is still caught.
    std::fs::write(&data, b"Sale deed 2026/312").unwrap();
    let (r, code, t) = mohor_report(&p7s, &root(), Some(&data));
    assert_eq!(
        (r["signatures"][0]["intact"].clone(), code),
        (false.into(), 1),
        "{t}"
    );
}

/// `mohor verify X.pdf --data Y`: a PDF's signatures cover the PDF itself,
/// so DATA cannot be checked. Before, `--data` was dropped without a word
/// and the PDF's own verdict (exit 0) read as if Y had been checked too.
/// Now it is refused before any report (exit 1, `INVALID_REQUEST`, as a
/// detached signature without `--data` is); the PDF alone still verifies,
/// as pdfsig and pyHanko judge it.
#[test]
fn data_given_with_a_pdf_is_refused_not_ignored() {
    let dir = test_dir("verify_pdf_with_data");
    let pdf_in = dir.join("order.pdf");
    std::fs::write(&pdf_in, verify_util::pdf_util::common::tiny_pdf()).unwrap();
    let pdf = dir.join("order-signed.pdf");
    let mut o = verify_util::pdf_util::opts("rsa2048");
    o.signing_time = time::OffsetDateTime::now_utc();
    mohor::pdf::sign_file(
        &pdf_in,
        &pdf,
        &mut verify_util::pdf_util::signer("rsa2048"),
        &o,
    )
    .unwrap();
    assert_eq!(pdfsig_intact(&pdf), [("Signature1".to_string(), true)]);
    if pyhanko().is_some() {
        let (h, ht) = hanko_verdicts(&pdf, &root());
        assert!(h.len() == 1 && h[0].1.trusted, "pyHanko\n{ht}");
    }
    let (r, code, t) = mohor_report(&pdf, &root(), None);
    assert_eq!((all(&r, "trusted"), code), (vec![json!(true)], 0), "{t}");

    // Anything as --data: another file, the PDF itself, its source.
    let other = dir.join("bill.txt");
    std::fs::write(&other, b"Bill No. 42: Rs 1,20,000").unwrap();
    for data in [&other, &pdf, &pdf_in] {
        let (r, code, t) = mohor_report(&pdf, &root(), Some(data));
        assert_eq!(code, 1, "{}: {t}", data.display());
        assert_eq!(r, serde_json::Value::Null, "no report: {t}");
        assert!(t.contains("(INVALID_REQUEST)"), "{t}");
        assert!(t.contains("--data"), "the hint names the option: {t}");
    }
    // The same refusal for the agent's `verify` (a document and data).
    let e = mohor::verify::verify_bytes(
        &std::fs::read(&pdf).unwrap(),
        Some(b"Bill No. 42"),
        &mohor::verify::TrustStore::replaced_by(Vec::new()),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap_err();
    assert_eq!(
        mohor::error::Error::from(e).reason,
        mohor::error::Reason::InvalidRequest
    );
}

/// ECDSA on P-521 (secp521r1, which openssl, NSS and pyHanko verify):
/// before, Mohor called such a signature NOT INTACT ("unsupported elliptic
/// curve 1.3.132.0.35"), as if the data had been changed. A CMS signature
/// made by `openssl cms -sign` and a PDF signed by pyHanko, both with a
/// P-521 key under the test sub-CA, now verify as openssl, pyHanko and
/// pdfsig say; one changed byte is still caught. A digest shorter than
/// half the curve (SHA-256 on P-521, SHA-1 on P-384) is taken whole.
#[test]
fn ecdsa_p521_signatures_verify() {
    if pyhanko().is_none() {
        return;
    }
    let dir = test_dir("verify_p521");
    let params = dir.join("p521.param");
    let o = run(Command::new("openssl")
        .args(["ecparam", "-name", "secp521r1", "-out"])
        .arg(&params));
    assert!(o.status.success(), "{}", text(&o));
    let (subca_cert, subca_key) = test_subca();
    let (key, cert) = issue_cert_with_key(
        &dir,
        "p521",
        "/CN=Curve Five Twenty-One",
        SIGNING_EXTENSIONS,
        (&subca_cert, &subca_key),
        &format!("ec:{}", params.display()),
    );
    let o = run(Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert));
    assert!(text(&o).contains("NIST CURVE: P-521"), "{}", text(&o));

    // Detached CMS by openssl, SHA-256 and SHA-512.
    let data = dir.join("deed.txt");
    std::fs::write(&data, b"Sale deed 2026/521").unwrap();
    for md in ["sha256", "sha512"] {
        let p7s = dir.join(format!("p521-{md}.p7s"));
        let o = run(Command::new("openssl")
            .args(["cms", "-sign", "-binary", "-md", md, "-outform", "DER"])
            .arg("-in")
            .arg(&data)
            .arg("-signer")
            .arg(&cert)
            .arg("-inkey")
            .arg(&key)
            .arg("-certfile")
            .arg(&subca_cert)
            .arg("-out")
            .arg(&p7s));
        assert!(o.status.success(), "openssl cms -sign: {}", text(&o));
        let o = openssl_verify_detached(&p7s, &data, &fixture().root);
        assert!(o.status.success(), "{}", text(&o));
        let (ok, ht) = pyhanko_detached(&p7s, &data, &fixture().root).unwrap();
        assert!(ok, "{ht}");
        let (r, code, t) = mohor_report(&p7s, &root(), Some(&data));
        assert_eq!(
            (
                r["signatures"][0]["intact"].clone(),
                r["signatures"][0]["trusted"].clone(),
                code
            ),
            (true.into(), true.into(), 0),
            "{md}: {t}"
        );
        let changed = dir.join("deed-changed.txt");
        std::fs::write(&changed, b"Sale deed 2026/522").unwrap();
        assert!(!openssl_verify_detached(&p7s, &changed, &fixture().root)
            .status
            .success());
        let (r, code, t) = mohor_report(&p7s, &root(), Some(&changed));
        assert_eq!(
            (r["signatures"][0]["intact"].clone(), code),
            (false.into(), 1),
            "{md}: {t}"
        );
    }

    // The same short-digest rule on P-384: a SHA-1 digest (20 bytes, under
    // half the curve's 48) was refused by the ecdsa crate and the signature
    // called NOT INTACT; openssl and Mohor now verify it.
    let p384_params = dir.join("p384.param");
    let o = run(Command::new("openssl")
        .args(["ecparam", "-name", "secp384r1", "-out"])
        .arg(&p384_params));
    assert!(o.status.success(), "{}", text(&o));
    let (p384_key, p384_cert) = issue_cert_with_key(
        &dir,
        "p384",
        "/CN=Curve Three Eighty-Four",
        SIGNING_EXTENSIONS,
        (&subca_cert, &subca_key),
        &format!("ec:{}", p384_params.display()),
    );
    let p7s = dir.join("p384-sha1.p7s");
    let o = run(Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-md", "sha1", "-outform", "DER"])
        .arg("-in")
        .arg(&data)
        .arg("-signer")
        .arg(&p384_cert)
        .arg("-inkey")
        .arg(&p384_key)
        .arg("-certfile")
        .arg(&subca_cert)
        .arg("-out")
        .arg(&p7s));
    assert!(o.status.success(), "openssl cms -sign: {}", text(&o));
    let o = openssl_verify_detached(&p7s, &data, &fixture().root);
    assert!(o.status.success(), "{}", text(&o));
    let (r, code, t) = mohor_report(&p7s, &root(), Some(&data));
    assert_eq!(
        (r["signatures"][0]["intact"].clone(), code),
        (true.into(), 0),
        "P-384 SHA-1: {t}"
    );

    // A PDF signed by pyHanko with the P-521 key.
    let pdf_in = dir.join("order.pdf");
    std::fs::write(&pdf_in, verify_util::pdf_util::common::tiny_pdf()).unwrap();
    let pdf = dir.join("order-p521.pdf");
    let o = run(Command::new(pyhanko().unwrap())
        .args(["sign", "addsig", "--field", "Signature1", "pemder", "--key"])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .arg("--chain")
        .arg(&subca_cert)
        .arg("--no-pass")
        .arg(&pdf_in)
        .arg(&pdf));
    assert!(o.status.success(), "pyhanko sign addsig: {}", text(&o));
    let (h, ht) = hanko_verdicts(&pdf, &root());
    assert!(h.len() == 1 && h[0].1.trusted, "pyHanko\n{ht}");
    assert_eq!(pdfsig_intact(&pdf), [("Signature1".to_string(), true)]);
    let (r, code, t) = mohor_report(&pdf, &root(), None);
    assert_eq!(
        (
            r["signatures"][0]["intact"].clone(),
            r["signatures"][0]["trusted"].clone(),
            code
        ),
        (true.into(), true.into(), 0),
        "{t}"
    );
}

/// SHA-1 digests and RSA keys under 2048 bits stay accepted (DECISIONS:
/// GSTN's signer uses SHA-1; openssl and poppler accept both), but before
/// they passed without a word. The report now carries a warning for each
/// (`warnings` of the signature in JSON, "warning:" lines in the text)
/// while the verdict stays trusted and the exit 0, as openssl's is;
/// pyHanko, which refuses both as weak, confirms that the warning is due.
/// A SHA-256 signature by an RSA-2048 key has none.
#[test]
fn sha1_digests_and_short_rsa_keys_are_trusted_with_a_warning() {
    if pyhanko().is_none() {
        return;
    }
    let dir = test_dir("verify_weak_algorithms");
    let (subca_cert, subca_key) = test_subca();
    let (short_key, short_cert) = issue_cert_with_key(
        &dir,
        "short",
        "/CN=Short Key Signer",
        SIGNING_EXTENSIONS,
        (&subca_cert, &subca_key),
        "rsa:1024",
    );
    let (good_key, good_cert) = issue_cert(
        &dir,
        "good",
        "/CN=Strong Key Signer",
        SIGNING_EXTENSIONS,
        (&subca_cert, &subca_key),
    );
    let data = dir.join("return.txt");
    std::fs::write(&data, b"GSTR-3B for November 2026").unwrap();
    let sign = |name: &str, md: &str, (key, cert): (&Path, &Path)| {
        let p7s = dir.join(format!("{name}.p7s"));
        let o = run(Command::new("openssl")
            .args(["cms", "-sign", "-binary", "-md", md, "-outform", "DER"])
            .arg("-in")
            .arg(&data)
            .arg("-signer")
            .arg(cert)
            .arg("-inkey")
            .arg(key)
            .arg("-certfile")
            .arg(&subca_cert)
            .arg("-out")
            .arg(&p7s));
        assert!(o.status.success(), "openssl cms -sign: {}", text(&o));
        p7s
    };
    let cases = [
        (sign("sha1", "sha1", (&good_key, &good_cert)), vec!["SHA-1"]),
        (
            sign("rsa1024", "sha256", (&short_key, &short_cert)),
            vec!["1024-bit RSA key of Short Key Signer"],
        ),
        (
            sign("both", "sha1", (&short_key, &short_cert)),
            vec!["SHA-1", "1024-bit RSA key of Short Key Signer"],
        ),
        (sign("strong", "sha256", (&good_key, &good_cert)), vec![]),
    ];
    for (p7s, expected) in &cases {
        let name = p7s.file_name().unwrap().to_string_lossy().into_owned();
        // openssl accepts every one of them: the verdict stays.
        let o = openssl_verify_detached(p7s, &data, &fixture().root);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let (r, code, t) = mohor_report(p7s, &root(), Some(&data));
        let s = &r["signatures"][0];
        assert_eq!(
            (s["intact"].clone(), s["trusted"].clone(), code),
            (true.into(), true.into(), 0),
            "{name}: {t}"
        );
        let warnings: Vec<String> = s["warnings"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no warnings array: {t}"))
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect();
        assert_eq!(warnings.len(), expected.len(), "{name}: {warnings:?}");
        for (w, e) in warnings.iter().zip(expected) {
            assert!(w.contains(e), "{name}: {w:?} should name {e:?}");
        }
        // pyHanko refuses exactly the weak ones.
        let (ok, ht) = pyhanko_detached(p7s, &data, &fixture().root).unwrap();
        assert_eq!(ok, expected.is_empty(), "{name}: pyHanko\n{ht}");
        // The text report shows each warning.
        let home = tempfile::tempdir().unwrap();
        let human = run(Command::new(env!("CARGO_BIN_EXE_mohor"))
            .env("MOHOR_HOME", home.path())
            .args(["verify", "--trust-replace", "--trust"])
            .arg(&fixture().root)
            .arg(p7s)
            .arg("--data")
            .arg(&data));
        let ht = text(&human);
        assert!(human.status.success(), "{name}: {ht}");
        let first = ht.lines().next().unwrap_or_default();
        assert!(first.starts_with("✔ #1"), "{name}: {ht}");
        assert_eq!(first.contains("warning"), !expected.is_empty(), "{ht}");
        for w in &warnings {
            assert!(ht.contains(&format!("  warning: {w}")), "{name}: {ht}");
        }
        assert_eq!(ht.contains("warning:"), !expected.is_empty(), "{ht}");
    }
}
