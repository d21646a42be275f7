//! `mohor tokens` and `mohor certs` against SoftHSM tokens filled with
//! openssl + softhsm2-util + pkcs11-tool (not by Mohor).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use std::process::Command;

fn openssl_field(cert: &std::path::Path, flag: &str) -> String {
    let out = run(Command::new("openssl")
        .args(["x509", "-noout", flag, "-in"])
        .arg(cert));
    let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
    t.split_once('=').map(|(_, v)| v.to_string()).unwrap_or(t)
}

#[test]
fn certs_json_lists_every_certificate_with_its_facts_and_usability() {
    let fx = Fixture::shared();
    let home = test_dir("cli_certs_json");
    let out = run(mohor(&home, &fx.softhsm2_conf).args(["--module", MODULE, "certs", "--json"]));
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", text(&out));
    let v = json_out(&out);
    let certs = v["certificates"].as_array().expect("certificates array");
    // 6 signer certificates + the sub-CA stored on each of the two tokens.
    assert_eq!(certs.len(), 8, "{v:#}");

    for name in ["rsa2048", "enc", "expired", "ec256", "pan", "rsa4096"] {
        let f = fx.cert(name);
        let c = certs
            .iter()
            .find(|c| c["id"] == f.id.as_str())
            .unwrap_or_else(|| panic!("{name} ({}) not listed", f.id));
        assert_eq!(c["subject_cn"], f.cn.as_str(), "{name}");
        assert_eq!(c["issuer_cn"], "Test Class 3 CA 2026", "{name}");
        assert_eq!(c["token"]["label"], f.token.as_str(), "{name}");
        assert_eq!(
            c["serial"].as_str().unwrap(),
            openssl_field(&f.cert, "-serial"),
            "{name}"
        );
        assert_eq!(c["cca_class"], "class3", "{name}");
        assert_eq!(c["cca_class_label"], "Class 3", "{name}");
        let not_after = time::OffsetDateTime::parse(
            c["not_after"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let openssl_end = openssl_field(&f.cert, "-enddate");
        let year = not_after.year().to_string();
        assert!(
            openssl_end.contains(&year),
            "{name}: {openssl_end} vs {not_after}"
        );
        assert_eq!(c["has_key"], true, "{name}");
    }

    let by = |name: &str| {
        let id = fx.cert(name).id;
        certs
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap()
            .clone()
    };
    for name in ["rsa2048", "ec256", "pan", "rsa4096"] {
        assert_eq!(by(name)["usable"], true, "{name}: {:#}", by(name));
        assert_eq!(
            by(name)["key_usage"],
            serde_json::json!(["digitalSignature", "nonRepudiation"]),
            "{name}"
        );
    }
    let enc = by("enc");
    assert_eq!(enc["usable"], false);
    assert_eq!(enc["not_usable"], serde_json::json!(["not-for-signing"]));
    assert!(enc["not_usable_text"]
        .as_str()
        .unwrap()
        .contains("encryption"));
    let expired = by("expired");
    assert_eq!(expired["usable"], false);
    assert_eq!(expired["not_usable"], serde_json::json!(["expired"]));
    assert!(expired["not_usable_text"]
        .as_str()
        .unwrap()
        .contains("expired"));
    assert_eq!(by("pan")["pan_hash"], fx.pan_hash.as_str());
    assert!(by("rsa2048")["pan_hash"].is_null());
    assert_eq!(by("rsa4096")["key_algorithm"], "RSA-4096");
    assert_eq!(by("ec256")["key_algorithm"], "EC P-256");

    let cas: Vec<_> = certs
        .iter()
        .filter(|c| c["subject_cn"] == "Test Class 3 CA 2026")
        .collect();
    assert_eq!(cas.len(), 2);
    for ca in cas {
        assert_eq!(ca["usable"], false);
        assert_eq!(ca["has_key"], false);
        // No key is visible before login; that alone no longer refuses a
        // certificate (its key is checked after the PIN), being a CA does.
        assert_eq!(ca["key_check"], "after-pin");
        assert_eq!(ca["not_usable"], serde_json::json!(["ca-certificate"]));
    }
}

#[test]
fn certs_human_output_says_why_a_certificate_cannot_sign() {
    let fx = Fixture::shared();
    let home = test_dir("cli_certs_human");
    let out = run(mohor(&home, &fx.softhsm2_conf).args(["--module", MODULE, "certs"]));
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.contains(&format!(
            "{}  Asha Verma  [can sign]",
            fx.cert("rsa2048").id
        )),
        "{t}"
    );
    assert!(t.contains("cannot sign: it has expired"), "{t}");
    assert!(
        t.contains("cannot sign: its key usage does not allow signing"),
        "{t}"
    );
    // A CA certificate on the token is part of the chain: no key of the
    // person's is looked for behind it, so no note says one will be.
    let ca = t
        .split("\n\n")
        .find(|block| block.contains("[cannot sign: it is a CA certificate]"))
        .unwrap_or_else(|| panic!("no CA certificate listed: {t}"));
    assert!(!ca.contains("key checked after the PIN"), "{ca}");
}

#[test]
fn tokens_lists_initialised_tokens_and_skips_the_empty_slot() {
    let fx = Fixture::shared();
    let home = test_dir("cli_tokens");
    let out = run(mohor(&home, &fx.softhsm2_conf).args(["--module", MODULE, "tokens", "--json"]));
    assert!(out.status.success(), "{}", text(&out));
    let v = json_out(&out);
    let labels: Vec<&str> = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 2, "{v:#}");
    assert!(labels.contains(&"ASHA-EPASS") && labels.contains(&"RAHUL-PROXKEY"));
    let asha = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "ASHA-EPASS")
        .unwrap();
    assert_eq!(asha["certificates"], 6);
    assert_eq!(asha["pin_min_len"], 4);
    assert_eq!(asha["mohor_wrong_pins"], 0);
    let module = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == MODULE)
        .unwrap();
    assert_eq!(module["loaded"], true);
    assert_eq!(module["source"]["kind"], "command-line");
    assert_eq!(v["problems"], serde_json::json!([]));
}

#[test]
fn tokens_without_json_tells_a_person_the_same_facts() {
    let fx = Fixture::shared();
    let home = test_dir("cli_tokens_human");
    let out = run(mohor(&home, &fx.softhsm2_conf).args(["--module", MODULE, "tokens"]));
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains(&format!("module {MODULE}")), "{shown}");
    for label in ["token \"ASHA-EPASS\"", "token \"RAHUL-PROXKEY\""] {
        assert!(shown.contains(label), "{label} missing from:\n{shown}");
    }
    assert!(shown.contains("certificates: 6"), "{shown}");
    assert!(shown.contains("wrong PINs counted by Mohor: 0"), "{shown}");
}

#[test]
fn missing_or_broken_modules_are_reported_with_exit_1_and_do_not_stop_the_others() {
    let fx = Fixture::shared();
    let home = test_dir("cli_bad_module");
    let broken = home.join("not-a-driver.so");
    std::fs::write(&broken, b"this is not a shared library").unwrap();
    for bad in [
        std::path::PathBuf::from("/nonexistent/libcastle.so.1.0.0"),
        broken,
    ] {
        let out = run(mohor(&home, &fx.softhsm2_conf)
            .args(["--module", MODULE, "--module"])
            .arg(&bad)
            .args(["certs", "--json"]));
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&bad.display().to_string()), "{err}");
        assert!(err.contains("could not load PKCS#11 module"), "{err}");
        // The good module still answered.
        let v = json_out(&out);
        assert_eq!(v["certificates"].as_array().unwrap().len(), 8);
    }
    // Signing with a named module that did not load: MODULE_ERROR before
    // any PIN, and nothing written.
    let input = home.join("note.pdf");
    std::fs::write(&input, tiny_pdf()).unwrap();
    let output = home.join("note.signed.pdf");
    let mut c = mohor(&home, &fx.softhsm2_conf);
    c.args(["--module", MODULE, "--module", "/nonexistent/libcastle.so"])
        .args(["--pin-stdin", "sign", "--cert", &fx.cert("rsa2048").id])
        .arg(&input)
        .arg("-o")
        .arg(&output);
    let out = run_with_stdin(&mut c, &format!("{}\n", fx.user_pin));
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not load PKCS#11 module"), "{err}");
    assert!(err.contains("MODULE_ERROR"), "{err}");
    assert!(!output.exists());
    // No try was booked or used: the counter file was never written.
    assert!(
        !home.join("state/pin-counters.json").exists(),
        "the PIN guard was reached"
    );

    // Alone, a bad module is still a clean exit 1.
    let out = run(mohor(&home, &fx.softhsm2_conf).args(["--module", "/nonexistent.so", "tokens"]));
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("file not found"));
}

#[test]
fn usage_errors_exit_2() {
    let fx = Fixture::shared();
    let home = test_dir("cli_usage");
    let out = run(mohor(&home, &fx.softhsm2_conf).args(["sign"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = run(mohor(&home, &fx.softhsm2_conf).args(["frobnicate"]));
    assert_eq!(out.status.code(), Some(2));
    // Arguments clap accepts one by one but that make no command line
    // together, or a malformed value: usage errors too, said before anything
    // is read (the inputs need not exist).
    for (args, words) in [
        (
            &["sign", "a.pdf", "b.pdf", "-o", "out.pdf"][..],
            "several files need --out-dir",
        ),
        (
            &["sign", "a.pdf", "-o", "out.pdf", "--visible", "1,2,3"][..],
            "expected PAGE,X,Y,W,H",
        ),
        (
            &[
                "sign",
                "a.pdf",
                "-o",
                "out.pdf",
                "--visible",
                "0,10,10,200,70",
            ][..],
            "expected PAGE,X,Y,W,H",
        ),
        (&["history", "--limit", "0"][..], "1 or more"),
    ] {
        let out = run(mohor(&home, &fx.softhsm2_conf).args(args));
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(words), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("--help"), "{args:?}: {}", text(&out));
    }
}

/// A file that is not there, named in any argument, is an error that says
/// what to do (stderr names what happened, what to do, and the reason).
#[test]
fn a_missing_file_in_any_argument_says_what_to_do() {
    let fx = Fixture::shared();
    let home = test_dir("cli_missing_files");
    let gone = home.join("gone");
    let gone = gone.to_str().unwrap();
    let pdf = home.join("note.pdf");
    std::fs::write(&pdf, tiny_pdf()).unwrap();
    let pdf = pdf.to_str().unwrap();
    let out = home.join("out.pdf");
    let out = out.to_str().unwrap();
    for args in [
        &["sign", gone, "-o", out][..],
        &["sign", pdf, "-o", out, "--pdf-password-file", gone],
        &["sign", pdf, "-o", out, "--detached", "--cosign", gone],
        &["verify", gone],
        &["verify", pdf, "--trust", gone],
    ] {
        let o = run(mohor(&home, &fx.softhsm2_conf).args(args));
        assert_no_panic(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("gone") && err.contains("what to do: ") && err.contains("(IO_ERROR)"),
            "{args:?}: {err}"
        );
        assert!(!std::path::Path::new(out).exists(), "{args:?}");
    }
}
