//! Validity at the signing time: a signature made while its certificate and
//! root were valid stays trusted after both expired (as with CCA India 2014),
//! and one claimed after expiry is not. Judge: pyHanko validating at the
//! time the signer claims.
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
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
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
