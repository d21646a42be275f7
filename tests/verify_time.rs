//! Validity at the signing time: a signature made while its certificate and
//! root were valid stays trusted after both expired (as with CCA India 2014),
//! and one claimed after expiry is not. Judge: pyHanko validating at the
//! time the signer claims. A signature timestamp moves the signing time
//! only when a trusted authority made it (judges: pyHanko on the token's
//! trust, pdfsig on intact).
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod verify_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use time::macros::datetime;
use verify_util::*;

fn openssl(dir: &Path, args: &[&str]) {
    let o = run(Command::new("openssl").current_dir(dir).args(args));
    assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
}

/// A root valid 2014–2024 and a signer valid 2019–2023, both long expired.
fn expired_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "1000\n").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = c\n[c]\ndir = .\ndatabase = ./index.txt\nnew_certs_dir = .\nserial = ./serial\n\
         default_md = sha256\npolicy = p\nunique_subject = no\ncopy_extensions = none\n[p]\ncommonName = supplied\n\
         [root_ext]\nbasicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n\
         [leaf_ext]\nbasicConstraints = CA:false\nkeyUsage = critical, digitalSignature, nonRepudiation\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n\
         [tsa_ext]\nbasicConstraints = CA:false\nkeyUsage = critical, digitalSignature\n\
         extendedKeyUsage = critical, timeStamping\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.csr",
            "-subj",
            "/CN=Old Root 2014",
        ],
    );
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-selfsign",
            "-keyfile",
            "root.key",
            "-in",
            "root.csr",
            "-out",
            "root.pem",
            "-startdate",
            "140101000000Z",
            "-enddate",
            "240101000000Z",
            "-extensions",
            "root_ext",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=Old Signer",
        ],
    );
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key",
            "-in",
            "leaf.csr",
            "-out",
            "leaf.pem",
            "-startdate",
            "190101000000Z",
            "-enddate",
            "230101000000Z",
            "-extensions",
            "leaf_ext",
        ],
    );
    (
        dir.join("leaf.key"),
        dir.join("leaf.pem"),
        dir.join("root.pem"),
    )
}

#[test]
fn expired_root_and_signer_still_validate_what_was_signed_while_they_were_valid() {
    if !corpus_available() || pyhanko().is_none() {
        return;
    }
    let dir = test_dir("verify_time");
    let (key, cert, root) = expired_pki(&dir);
    for (name, when, trusted) in [
        ("in-time", datetime!(2021-06-01 10:00:00 UTC), true),
        ("after-expiry", datetime!(2023-06-01 10:00:00 UTC), false),
    ] {
        let mut signer =
            mohor::sign::software::SoftwareSigner::from_files(&key, &cert, &root).unwrap();
        let mut o = verify_util::pdf_util::opts("rsa2048");
        o.signer_name = "Old Signer".into();
        o.signing_time = when;
        let file = dir.join(format!("{name}.pdf"));
        mohor::pdf::sign_file(&corpus("pyhanko-minimal.pdf"), &file, &mut signer, &o).unwrap();
        let (r, code, t) = mohor_report(&file, std::slice::from_ref(&root), None);
        let s = &r["signatures"][0];
        assert_eq!(s["intact"], true, "{t}");
        assert_eq!(s["trusted"], trusted, "{name}: {t}");
        assert_eq!(s["valid_at_signing_time"], trusted, "{name}: {t}");
        assert_eq!(s["signing_time_source"], "claimed by the signer");
        assert_eq!(code, if trusted { 0 } else { 1 });
        let (h, ht) = hanko_verdicts(&file, std::slice::from_ref(&root));
        assert_eq!(h.len(), 1, "{ht}");
        assert_eq!(h[0].1.trusted, trusted, "{name}: pyHanko\n{ht}");
    }
}

/// A signature made in 2026 with a certificate that expired in 2023,
/// carrying a signature timestamp of 2021 from an authority nobody trusts:
/// before, Mohor took the timestamp's time over the signer's own claim and
/// trusted it (exit 0); pyHanko calls the token and the signer untrusted.
/// The same time from a TSA under the trusted root does move the time.
#[test]
fn only_a_trusted_timestamp_proves_when_a_signature_was_made() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_time_tsa");
    let (key, cert, root) = expired_pki(&dir);
    openssl(
        &dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-subj",
            "/CN=Old TSA",
        ],
    );
    openssl(
        &dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key",
            "-in",
            "tsa.csr",
            "-out",
            "tsa.pem",
            "-startdate",
            "190101000000Z",
            "-enddate",
            "240101000000Z",
            "-extensions",
            "tsa_ext",
        ],
    );
    rogue_tsa(&dir);
    let repo = pdf_util::common::repo();
    // A signer's own certificate (no time-stamping EKU, under the trusted
    // root, valid in 2021) makes no timestamp either: before, its token was
    // "trusted" and moved the time; pyHanko's policy requires the EKU.
    for (tsa, authority, trusted) in [
        ("rogue-tsa", "Rogue TSA", false),
        ("leaf", "Old Signer", false),
        ("tsa", "Old TSA", true),
    ] {
        let file = dir.join(format!("{tsa}.pdf"));
        let out = run(Command::new(repo.join(".venv/bin/python"))
            .arg(repo.join("tests/verify_util/timestamped_signature.py"))
            .args([&key, &cert, &root])
            .arg(dir.join(format!("{tsa}.key")))
            .arg(dir.join(format!("{tsa}.pem")))
            .arg("2021-06-01T10:00:00+00:00")
            .arg(corpus("pyhanko-minimal.pdf"))
            .arg(&file));
        assert!(out.status.success(), "{}", text(&out));
        let (r, code, t) = mohor_report(&file, std::slice::from_ref(&root), None);
        let s = &r["signatures"][0];
        assert_eq!(s["intact"], true, "{tsa}: {t}");
        assert_eq!(s["timestamp"]["intact"], true, "{tsa}: {t}");
        assert_eq!(s["timestamp"]["trusted"], trusted, "{tsa}: {t}");
        assert_eq!(s["trusted"], trusted, "{tsa}: {t}");
        assert_eq!(s["valid_at_signing_time"], trusted, "{tsa}: {t}");
        assert_eq!(code, if trusted { 0 } else { 1 }, "{tsa}: {t}");
        if trusted {
            assert_eq!(s["signing_time"], "2021-06-01T10:00:00Z", "{t}");
            assert_eq!(s["signing_time_source"], "timestamp", "{t}");
        } else {
            assert_eq!(s["signing_time_source"], "claimed by the signer", "{t}");
            // The reason first: the certificate had expired at the claimed time.
            assert!(
                s["problems"][0]
                    .as_str()
                    .is_some_and(|p| p.contains("Old Signer was not valid at")),
                "{t}"
            );
            assert_ne!(s["signing_time"], "2021-06-01T10:00:00Z", "{t}");
            assert!(
                s["problems"].to_string().contains(&format!(
                    "timestamp by {authority} is not trusted, so it proves no signing time"
                )),
                "{t}"
            );
        }
        assert_eq!(pdfsig_intact(&file), [("Signature1".to_string(), true)]);
        if trusted {
            // pyHanko checks a token's authority at the current time (this
            // one's certificate and root expired in 2024): no judge here.
            continue;
        }
        // pyHanko: the rogue token untrusted, and the signer too.
        let (h, ht) = hanko_verdicts(&file, std::slice::from_ref(&root));
        assert_eq!(h.len(), 1, "{ht}");
        assert!(
            ht.contains("TIMESTAMP_TOKEN<INTACT:UNTRUSTED>"),
            "pyHanko\n{ht}"
        );
        assert!(!h[0].1.trusted, "pyHanko trusted it\n{ht}");
    }
}

/// openssl's time format for `ca -startdate`/`-enddate`: YYMMDDHHMMSSZ.
fn ca_date(t: time::OffsetDateTime) -> String {
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        t.year() % 100,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A self-signed time-stamping authority nobody trusts (`rogue-tsa.key`,
/// `rogue-tsa.pem` in `dir`): a timestamp it makes proves no time.
fn rogue_tsa(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-keyout",
            "rogue-tsa.key",
            "-out",
            "rogue-tsa.pem",
            "-subj",
            "/CN=Rogue TSA",
            "-addext",
            "extendedKeyUsage=critical,timeStamping",
            "-addext",
            "keyUsage=critical,digitalSignature",
        ],
    );
}

/// A root, a signer and a TSA valid from three days ago for a year, under
/// an `openssl ca` that revokes and issues v2 CRLs.
fn revocable_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let now = time::OffsetDateTime::now_utc();
    let (start, end) = (
        ca_date(now - time::Duration::days(3)),
        ca_date(now + time::Duration::days(365)),
    );
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "1000\n").unwrap();
    std::fs::write(dir.join("crlnumber"), "1000\n").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = c\n[c]\ndir = .\ndatabase = ./index.txt\nnew_certs_dir = .\nserial = ./serial\n\
         crlnumber = ./crlnumber\ncrl_extensions = crl_ext\ndefault_crl_days = 30\n\
         default_md = sha256\npolicy = p\nunique_subject = no\ncopy_extensions = none\n[p]\ncommonName = supplied\n\
         [crl_ext]\nauthorityKeyIdentifier = keyid:always\n\
         [root_ext]\nbasicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n\
         [leaf_ext]\nbasicConstraints = CA:false\nkeyUsage = critical, digitalSignature, nonRepudiation\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n\
         [tsa_ext]\nbasicConstraints = CA:false\nkeyUsage = critical, digitalSignature\n\
         extendedKeyUsage = critical, timeStamping\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    let newkey = |name: &str, cn: &str| {
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={cn}"),
            ],
        )
    };
    newkey("root", "Revocation Test Root");
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-selfsign",
            "-keyfile",
            "root.key",
            "-in",
            "root.csr",
            "-out",
            "root.pem",
            "-startdate",
            &start,
            "-enddate",
            &end,
            "-extensions",
            "root_ext",
        ],
    );
    for (name, cn) in [
        ("leaf", "Later Revoked Signer"),
        ("tsa", "Revocation Test TSA"),
    ] {
        newkey(name, cn);
        openssl(
            dir,
            &[
                "ca",
                "-batch",
                "-notext",
                "-config",
                "ca.cnf",
                "-cert",
                "root.pem",
                "-keyfile",
                "root.key",
                "-in",
                &format!("{name}.csr"),
                "-out",
                &format!("{name}.pem"),
                "-startdate",
                &start,
                "-enddate",
                &end,
                "-extensions",
                &format!("{name}_ext"),
            ],
        );
    }
    (
        dir.join("leaf.key"),
        dir.join("leaf.pem"),
        dir.join("root.pem"),
    )
}

/// A signer whose certificate was revoked after a trusted timestamp proved
/// the signature older: before, Mohor called it REVOKED and untrusted. PAdES
/// (ETSI EN 319 102-1, validation at the time the timestamp proves) and
/// pyHanko's validator at that time call it valid, and so does Mohor now —
/// with the revocation date in the report. A revocation before the
/// timestamp's time, or one the signer's own claim alone would put after
/// the signature (a timestamp nobody trusts), stays REVOKED. Judge: pyHanko's
/// validator with the CRL alone, offline, at the timestamp's time when its
/// authority is trusted, else now; openssl reads the CRL's revocation date.
#[test]
fn a_revocation_after_a_trusted_timestamp_leaves_the_signature_valid() {
    if !corpus_available() || pyhanko().is_none() {
        return;
    }
    let dir = test_dir("verify_time_revoked_later");
    let (key, cert, root) = revocable_pki(&dir);
    rogue_tsa(&dir);
    let repo = pdf_util::common::repo();
    let python = repo.join(".venv/bin/python");
    let script = repo.join("tests/verify_util/crl_after_timestamp.py");
    let rfc3339 = |t: time::OffsetDateTime| {
        t.replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let sign = |tsa: &str, when: time::OffsetDateTime, out: &Path| {
        let o = run(Command::new(&python)
            .arg(repo.join("tests/verify_util/timestamped_signature.py"))
            .args([&key, &cert, &root])
            .arg(dir.join(format!("{tsa}.key")))
            .arg(dir.join(format!("{tsa}.pem")))
            .arg(rfc3339(when).replace('Z', "+00:00"))
            .arg(corpus("pyhanko-minimal.pdf"))
            .arg(out));
        assert!(o.status.success(), "{}", text(&o));
    };
    let now = time::OffsetDateTime::now_utc();
    let day_before = now - time::Duration::days(1);
    sign("tsa", day_before, &dir.join("before.pdf"));
    sign("rogue-tsa", day_before, &dir.join("rogue.pdf"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    openssl(
        &dir,
        &[
            "ca", "-config", "ca.cnf", "-cert", "root.pem", "-keyfile", "root.key", "-revoke",
            "leaf.pem",
        ],
    );
    openssl(
        &dir,
        &[
            "ca", "-gencrl", "-config", "ca.cnf", "-cert", "root.pem", "-keyfile", "root.key",
            "-out", "crl.pem",
        ],
    );
    openssl(
        &dir,
        &[
            "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
        ],
    );
    let crl_text = run(Command::new("openssl")
        .args(["crl", "-noout", "-text", "-in"])
        .arg(dir.join("crl.pem")));
    assert!(
        text(&crl_text).contains("Revocation Date"),
        "{}",
        text(&crl_text)
    );
    // A timestamp (trusted) made after the revocation.
    sign(
        "tsa",
        time::OffsetDateTime::now_utc() + time::Duration::minutes(1),
        &dir.join("after.pdf"),
    );

    for (name, trusted, tsa_trusted) in [
        ("before", true, true),
        ("after", false, true),
        ("rogue", false, false),
    ] {
        let file = dir.join(format!("{name}-crl.pdf"));
        let o = run(Command::new(&python)
            .arg(&script)
            .arg("add")
            .arg(dir.join(format!("{name}.pdf")))
            .arg(&file)
            .arg(dir.join("crl.der")));
        assert!(o.status.success(), "{}", text(&o));
        let judge = run(Command::new(&python)
            .arg(&script)
            .arg("judge")
            .arg(&file)
            .arg(&root)
            .arg(dir.join("crl.der")));
        let jt = text(&judge);
        assert_eq!(judge.status.success(), trusted, "{name}: pyHanko\n{jt}");
        assert_eq!(
            jt.contains("revoked: True"),
            !trusted,
            "{name}: pyHanko\n{jt}"
        );

        let (r, code, t) = mohor_report(&file, std::slice::from_ref(&root), None);
        let s = &r["signatures"][0];
        assert_eq!(s["intact"], true, "{name}: {t}");
        assert_eq!(s["timestamp"]["trusted"], tsa_trusted, "{name}: {t}");
        assert_eq!(s["trusted"], trusted, "{name}: {t}");
        assert_eq!(code, if trusted { 0 } else { 1 }, "{name}: {t}");
        let revocation = &s["revocation"];
        assert_eq!(revocation["embedded_crls"], 1, "{name}: {t}");
        if trusted {
            assert_eq!(revocation["status"], "valid", "{name}: {t}");
            let later = &revocation["revoked_after_signing"];
            assert_eq!(later[0]["certificate"], "Later Revoked Signer", "{t}");
            let at = later[0]["revoked_at"].as_str().unwrap();
            let at =
                time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                    .unwrap();
            assert!(
                at > day_before && at <= time::OffsetDateTime::now_utc(),
                "{t}"
            );
            // The person reading the text sees it too.
            let home = tempfile::tempdir().unwrap();
            let human = run(Command::new(env!("CARGO_BIN_EXE_mohor"))
                .env("MOHOR_HOME", home.path())
                .args(["verify", "--trust-replace", "--trust"])
                .arg(&root)
                .arg(&file));
            let ht = text(&human);
            assert!(human.status.success(), "{ht}");
            assert!(
                ht.contains("revoked at ") && ht.contains("after the trusted timestamp"),
                "{ht}"
            );
        } else {
            assert_eq!(revocation["status"], "revoked", "{name}: {t}");
            assert!(revocation.get("revoked_after_signing").is_none(), "{t}");
        }
    }
}

/// A signature timestamp whose authority's certificate the document's own
/// revocation data shows revoked proves no time: before, Mohor judged only
/// the TSA's chain and dates, so the timestamp stayed "trusted" and set the
/// signing time. Now, as pyHanko's validator (which judges the TSA's
/// certificate with the same evidence and calls the timestamp untrusted),
/// it is not trusted — revoked before the time it states, or after it (a
/// key revoked, perhaps compromised, can write any time; RFC 3161's
/// security considerations) — and the signer is judged at the time it claims. Judges: pyHanko's validator
/// with the CRL alone, offline; openssl reads the TSA's revocation date.
#[test]
fn a_timestamp_by_a_revoked_authority_proves_no_time() {
    if !corpus_available() || pyhanko().is_none() {
        return;
    }
    let dir = test_dir("verify_time_revoked_tsa");
    let (key, cert, root) = revocable_pki(&dir);
    let repo = pdf_util::common::repo();
    let python = repo.join(".venv/bin/python");
    let script = repo.join("tests/verify_util/crl_after_timestamp.py");
    let rfc3339 = |t: time::OffsetDateTime| {
        t.replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let sign = |when: time::OffsetDateTime, out: &Path| {
        let o = run(Command::new(&python)
            .arg(repo.join("tests/verify_util/timestamped_signature.py"))
            .args([&key, &cert, &root])
            .arg(dir.join("tsa.key"))
            .arg(dir.join("tsa.pem"))
            .arg(rfc3339(when).replace('Z', "+00:00"))
            .arg(corpus("pyhanko-minimal.pdf"))
            .arg(out));
        assert!(o.status.success(), "{}", text(&o));
    };
    let now = time::OffsetDateTime::now_utc();
    // Stamped a day before the revocation, and (as a stolen key could)
    // ten minutes after it.
    sign(now - time::Duration::days(1), &dir.join("earlier.pdf"));
    sign(now + time::Duration::minutes(10), &dir.join("later.pdf"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for args in [
        &[
            "ca", "-config", "ca.cnf", "-cert", "root.pem", "-keyfile", "root.key", "-revoke",
            "tsa.pem",
        ][..],
        &[
            "ca", "-gencrl", "-config", "ca.cnf", "-cert", "root.pem", "-keyfile", "root.key",
            "-out", "crl.pem",
        ],
        &[
            "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
        ],
    ] {
        openssl(&dir, args);
    }
    let crl_text = text(&run(Command::new("openssl")
        .args(["crl", "-noout", "-text", "-in"])
        .arg(dir.join("crl.pem"))));
    assert_eq!(crl_text.matches("Revocation Date").count(), 1, "{crl_text}");

    for name in ["earlier", "later"] {
        let file = dir.join(format!("{name}-crl.pdf"));
        let o = run(Command::new(&python)
            .arg(&script)
            .arg("add")
            .arg(dir.join(format!("{name}.pdf")))
            .arg(&file)
            .arg(dir.join("crl.der")));
        assert!(o.status.success(), "{}", text(&o));
        // pyHanko: the timestamp is not trusted, its authority revoked;
        // the signer, judged now with the CRL, is trusted. (pyHanko's bottom
        // line then calls the whole signature invalid, as it does for any
        // untrusted timestamp; Mohor judges the signer at its claimed time,
        // as for a timestamp of an unknown authority: DECISIONS.)
        let judge = run(Command::new(&python)
            .arg(&script)
            .arg("judge")
            .arg(&file)
            .arg(&root)
            .arg(dir.join("crl.der")));
        let jt = text(&judge);
        assert!(jt.contains("trusted: False"), "{name}: pyHanko\n{jt}");
        assert!(jt.contains("validation time: now"), "{name}: pyHanko\n{jt}");
        assert!(
            jt.contains("[cert context: Common Name: Revocation Test TSA]: CRL indicates the end-entity certificate was revoked"),
            "{name}: pyHanko\n{jt}"
        );
        assert!(
            jt.contains("The signer's certificate is trusted."),
            "{name}: pyHanko\n{jt}"
        );
        assert!(jt.contains("revoked: False"), "{name}: pyHanko\n{jt}");

        let (r, code, t) = mohor_report(&file, std::slice::from_ref(&root), None);
        let s = &r["signatures"][0];
        assert_eq!(s["intact"], true, "{name}: {t}");
        assert_eq!(s["timestamp"]["intact"], true, "{name}: {t}");
        assert_eq!(s["timestamp"]["trusted"], false, "{name}: {t}");
        assert_eq!(
            s["signing_time_source"], "claimed by the signer",
            "{name}: {t}"
        );
        let problems = s["problems"].to_string();
        assert!(
            problems.contains(
                "the certificate of the time-stamping authority Revocation Test TSA was revoked at"
            ),
            "{name}: {t}"
        );
        // The signer itself is not revoked, and the CRL shows it.
        assert_eq!(s["revocation"]["status"], "valid", "{name}: {t}");
        assert_eq!(s["trusted"], true, "{name}: {t}");
        assert_eq!(code, 0, "{name}: {t}");
    }
}

/// A signature timestamp whose token is signed with SHA-1 is still trusted
/// (openssl and poppler accept SHA-1), but, like SHA-1 in the signature
/// itself, it gets a warning: before, nothing was said. A SHA-256 token gets
/// none. Judge: pyHanko's validator refuses the SHA-1 token (a disallowed
/// algorithm) and accepts the other.
#[test]
fn a_sha1_timestamp_token_is_trusted_with_a_warning() {
    if !corpus_available() || pyhanko().is_none() {
        return;
    }
    let dir = test_dir("verify_time_sha1_token");
    let (key, cert, root) = revocable_pki(&dir);
    let repo = pdf_util::common::repo();
    let python = repo.join(".venv/bin/python");
    let an_hour_ago = (time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .replace('Z', "+00:00");
    for (name, md) in [("sha1", "sha1"), ("sha256", "sha256")] {
        let file = dir.join(format!("{name}.pdf"));
        let o = run(Command::new(&python)
            .arg(repo.join("tests/verify_util/timestamped_signature.py"))
            .args([&key, &cert, &root])
            .arg(dir.join("tsa.key"))
            .arg(dir.join("tsa.pem"))
            .arg(&an_hour_ago)
            .arg(corpus("pyhanko-minimal.pdf"))
            .arg(&file)
            .arg(md));
        assert!(o.status.success(), "{}", text(&o));
        let judge = run(Command::new(pyhanko().unwrap())
            .args([
                "sign",
                "validate",
                "--no-revocation-check",
                "--trust-replace",
                "--pretty-print",
                "--trust",
            ])
            .arg(&root)
            .arg(&file));
        let jt = text(&judge);

        let (r, code, t) = mohor_report(&file, std::slice::from_ref(&root), None);
        let s = &r["signatures"][0];
        assert_eq!(s["timestamp"]["trusted"], true, "{name}: {t}");
        assert_eq!(s["signing_time_source"], "timestamp", "{name}: {t}");
        assert_eq!(s["trusted"], true, "{name}: {t}");
        assert_eq!(code, 0, "{name}: {t}");
        let warnings = s["warnings"].as_array().unwrap();
        if name == "sha1" {
            assert_eq!(warnings.len(), 1, "{t}");
            assert!(
                warnings[0]
                    .as_str()
                    .unwrap()
                    .starts_with("the signature timestamp by Revocation Test TSA uses SHA-1"),
                "{t}"
            );
            assert!(!judge.status.success(), "pyHanko accepted it:\n{jt}");
            assert!(
                jt.contains("The timestamp token is not cryptographically sound")
                    || jt.contains("disallowed algorithm"),
                "pyHanko:\n{jt}"
            );
        } else {
            assert!(warnings.is_empty(), "{t}");
            assert!(judge.status.success(), "pyHanko:\n{jt}");
        }
    }
}

/// A version 1 CRL (no version field, no extensions: what `openssl ca
/// -gencrl` writes without `crl_extensions`, and what old CAs publish).
/// Before, x509-cert could not read one, so it proved nothing either way:
/// a v1 CRL listing the signer left the signature "incomplete" — and
/// trusted. Now it is read like a v2 CRL (its signature checked over its
/// own bytes): one that does not list the signer covers it, one that does
/// revokes the signature (or, after a trusted timestamp's time, is reported
/// with its date). Judges: openssl reads each CRL as version 1 and `openssl
/// verify -crl_check` says revoked or not; pyHanko's validator, offline,
/// with the CRL alone, agrees on each signature.
#[test]
fn a_version_1_crl_is_evidence_both_ways() {
    if !corpus_available() || pyhanko().is_none() {
        return;
    }
    let dir = test_dir("verify_time_crl_v1");
    let (key, cert, root) = revocable_pki(&dir);
    // The same CA without CRL extensions or numbers: version 1 CRLs.
    let cnf = std::fs::read_to_string(dir.join("ca.cnf")).unwrap();
    std::fs::write(
        dir.join("ca-v1.cnf"),
        cnf.replace("crlnumber = ./crlnumber\ncrl_extensions = crl_ext\n", ""),
    )
    .unwrap();
    rogue_tsa(&dir);
    let repo = pdf_util::common::repo();
    let python = repo.join(".venv/bin/python");
    let script = repo.join("tests/verify_util/crl_after_timestamp.py");
    let hour_ago = (time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .replace('Z', "+00:00");
    for tsa in ["tsa", "rogue-tsa"] {
        let o = run(Command::new(&python)
            .arg(repo.join("tests/verify_util/timestamped_signature.py"))
            .args([&key, &cert, &root])
            .arg(dir.join(format!("{tsa}.key")))
            .arg(dir.join(format!("{tsa}.pem")))
            .arg(&hour_ago)
            .arg(corpus("pyhanko-minimal.pdf"))
            .arg(dir.join(format!("signed-{tsa}.pdf"))));
        assert!(o.status.success(), "{}", text(&o));
    }
    let v1_crl = |name: &str| {
        openssl(
            &dir,
            &[
                "ca",
                "-gencrl",
                "-config",
                "ca-v1.cnf",
                "-cert",
                "root.pem",
                "-keyfile",
                "root.key",
                "-out",
                &format!("{name}.pem"),
            ],
        );
        openssl(
            &dir,
            &[
                "crl",
                "-in",
                &format!("{name}.pem"),
                "-outform",
                "DER",
                "-out",
                &format!("{name}.der"),
            ],
        );
        let t = text(&run(Command::new("openssl")
            .args(["crl", "-noout", "-text", "-in"])
            .arg(dir.join(format!("{name}.pem")))));
        assert!(t.contains("Version 1 (0x0)"), "{t}");
        assert!(!t.contains("CRL extensions"), "{t}");
        let o = run(Command::new("openssl")
            .args(["verify", "-crl_check", "-CAfile"])
            .arg(&root)
            .arg("-CRLfile")
            .arg(dir.join(format!("{name}.pem")))
            .arg(&cert));
        (dir.join(format!("{name}.der")), o)
    };
    let (clean, o) = v1_crl("clean");
    assert!(o.status.success(), "openssl: {}", text(&o));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    openssl(
        &dir,
        &[
            "ca",
            "-config",
            "ca-v1.cnf",
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key",
            "-revoke",
            "leaf.pem",
        ],
    );
    let (listing, o) = v1_crl("listing");
    assert!(
        !o.status.success() && text(&o).contains("certificate revoked"),
        "openssl: {}",
        text(&o)
    );

    // (CRL, signed by, revocation status, trusted)
    for (crl, tsa, status, trusted) in [
        (&clean, "tsa", "valid", true),
        (&listing, "tsa", "valid", true),
        (&listing, "rogue-tsa", "revoked", false),
    ] {
        let name = format!("{}-{tsa}", crl.file_stem().unwrap().to_string_lossy());
        let file = dir.join(format!("{name}.pdf"));
        let o = run(Command::new(&python)
            .arg(&script)
            .arg("add")
            .arg(dir.join(format!("signed-{tsa}.pdf")))
            .arg(&file)
            .arg(crl));
        assert!(o.status.success(), "{}", text(&o));
        let judge = run(Command::new(&python)
            .arg(&script)
            .arg("judge")
            .arg(&file)
            .arg(&root)
            .arg(crl));
        let jt = text(&judge);
        assert_eq!(
            jt.contains("revoked: True"),
            status == "revoked",
            "{name}: pyHanko\n{jt}"
        );
        // pyHanko judges a signer without a trusted timestamp now.
        assert_eq!(
            judge.status.success(),
            status != "revoked",
            "{name}: pyHanko\n{jt}"
        );

        let (r, code, t) = mohor_report(&file, std::slice::from_ref(&root), None);
        let s = &r["signatures"][0];
        let revocation = &s["revocation"];
        assert_eq!(revocation["embedded_crls"], 1, "{name}: {t}");
        assert_eq!(revocation["status"], status, "{name}: {t}");
        assert_eq!(s["trusted"], trusted, "{name}: {t}");
        assert_eq!(code, if trusted { 0 } else { 1 }, "{name}: {t}");
        if status == "valid" {
            assert_eq!(
                revocation["covered"],
                serde_json::json!(["Later Revoked Signer"]),
                "{name}: {t}"
            );
        }
        let revoked_later = revocation.get("revoked_after_signing").is_some();
        assert_eq!(revoked_later, crl == &listing && trusted, "{name}: {t}");
    }
}
