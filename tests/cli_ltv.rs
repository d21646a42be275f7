//! `mohor sign --level/--tsa` and `mohor extend` through a real PKCS#11
//! token (SoftHSM) holding the LTV PKI's signer, against loopback services.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
mod ltv_util;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ltv_util::Services;

const PIN: &str = "123456";
const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";

struct Setup {
    dir: PathBuf,
    home: PathBuf,
    conf: PathBuf,
    s: Services,
}

fn quiet(cmd: &mut Command) {
    let out = common::run(cmd);
    assert!(out.status.success(), "{cmd:?}: {}", common::text(&out));
}

fn setup(name: &str) -> Setup {
    let dir = common::test_dir(name);
    let s = Services::start(&dir);
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let env = |c: &mut Command| {
        c.env("SOFTHSM2_CONF", &conf);
    };
    let mut c = Command::new("softhsm2-util");
    c.args([
        "--init-token",
        "--free",
        "--label",
        "LTV-TOKEN",
        "--so-pin",
        "12345678",
        "--pin",
        PIN,
    ]);
    env(&mut c);
    quiet(&mut c);
    let mut c = Command::new("softhsm2-util");
    c.arg("--import").arg(s.file("signer.p8.pem"));
    c.args([
        "--token",
        "LTV-TOKEN",
        "--label",
        "signer",
        "--id",
        "01",
        "--pin",
        PIN,
    ]);
    env(&mut c);
    quiet(&mut c);
    let mut c = Command::new("pkcs11-tool");
    c.args([
        "--module",
        SOFTHSM,
        "--token-label",
        "LTV-TOKEN",
        "--login",
        "--pin",
        PIN,
        "--write-object",
    ]);
    c.arg(s.file("signer.cert.der"))
        .args(["--type", "cert", "--id", "01", "--label", "signer"]);
    env(&mut c);
    quiet(&mut c);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "ca_certificates = [\"{}\"]\n\n[timestamp]\nurl = \"{}\"\ntimeout_secs = 5\n",
            s.file("chain.pem").display(),
            s.tsa("tsa")
        ),
    )
    .unwrap();
    Setup { dir, home, conf, s }
}

impl Setup {
    fn mohor(&self, args: &[&str], pin: &str) -> Output {
        let mut c = common::mohor(&self.home, &self.conf);
        c.args(["--module", SOFTHSM, "--pin-stdin"]).args(args);
        let o = common::run_with_stdin(&mut c, &format!("{pin}\n"));
        common::assert_no_panic(&o);
        o
    }
}

fn input() -> PathBuf {
    common::repo().join("../shared/corpus/pdf/pyhanko-minimal.pdf")
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn sign_at_b_lta_from_the_configured_tsa_then_extend() {
    let mut t = setup("cli-ltv-lta");
    let out = t.dir.join("lta.pdf");
    let o = t.mohor(
        &["sign", "--level", "B-LTA", arg(&input()), "-o", arg(&out)],
        PIN,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let renewed = t.dir.join("renewed.pdf");
    let o = t.mohor(
        &["extend", arg(&out), "--level", "B-LTA", "-o", arg(&renewed)],
        PIN,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let root = t.s.file("root.pem");
    for f in [&out, &renewed] {
        if let Some((ok, text)) = ltv_util::pyhanko_ades(f, &root) {
            assert!(ok, "{}: {text}", f.display());
        }
    }
    t.s.stop();
    for f in [&out, &renewed] {
        let Some((ok, text)) = ltv_util::pyhanko_timestamped(f, &root) else {
            return;
        };
        assert!(ok, "{text}");
        let (ok, text) = ltv_util::pyhanko_dss(f, &root).unwrap();
        assert!(ok, "{text}");
    }
}

/// A document whose earlier signature does not carry its signer's
/// certificate (a tool that left the CMS's certificate set out): `mohor
/// extend` adds the validation data of the signatures it can and says which
/// it could not, rather than leaving that out silently (it logged it where
/// nobody looked). Judges: `openssl cms -cmsout -print` (the crafted CMS
/// really carries no certificate), `qpdf --check`, and pyHanko's DSS reader.
#[test]
fn extend_names_a_signature_whose_certificate_is_not_in_the_file() {
    let mut t = setup("cli-ltv-extend-no-cert");
    let first = t.dir.join("first.pdf");
    let o = t.mohor(
        &["sign", "--level", "B-B", arg(&input()), "-o", arg(&first)],
        PIN,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let bare = t.dir.join("bare.pdf");
    let script = common::repo().join("tests/fixtures/cms_without_certs.py");
    quiet(Command::new("python3").arg(script).arg(&first).arg(&bare));
    let cms = t.dir.join("first.p7s");
    std::fs::write(&cms, last_contents(&bare)).unwrap();
    let printed = common::run(
        Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&cms),
    );
    let lines: Vec<String> = common::text(&printed)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    assert!(
        lines.windows(2).any(|w| w == ["certificates:", "<ABSENT>"]),
        "{}",
        common::text(&printed)
    );

    let both = t.dir.join("both.pdf");
    let o = t.mohor(
        &["sign", "--level", "B-B", arg(&bare), "-o", arg(&both)],
        PIN,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let extended = t.dir.join("extended.pdf");
    let o = t.mohor(
        &[
            "extend",
            arg(&both),
            "--level",
            "B-LT",
            "-o",
            arg(&extended),
        ],
        PIN,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    assert!(
        common::stderr(&o).contains(
            "a signature in the file: its certificate is not in the file, \
             so no validation data could be added for it"
        ),
        "{}",
        common::text(&o)
    );
    t.s.stop();

    let both_bytes = std::fs::read(&both).unwrap();
    let extended_bytes = std::fs::read(&extended).unwrap();
    assert_eq!(&extended_bytes[..both_bytes.len()], &both_bytes[..]);
    quiet(Command::new("qpdf").arg("--check").arg(&extended));
    // The second signatory's chain and its revocation data are in the DSS.
    if let Some(py) = common::pyhanko() {
        let read = "import sys\n\
            from pyhanko.pdf_utils.reader import PdfFileReader\n\
            from pyhanko.sign.validation.dss import DocumentSecurityStore\n\
            d = DocumentSecurityStore.read_dss(PdfFileReader(open(sys.argv[1], 'rb')))\n\
            print(len(d.certs), len(d.ocsps) + len(d.crls))\n";
        let o = common::run(
            Command::new(py.with_file_name("python"))
                .args(["-c", read])
                .arg(&extended),
        );
        let counts: Vec<usize> = String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        assert!(
            counts.len() == 2 && counts[0] >= 2 && counts[1] >= 1,
            "{}",
            common::text(&o)
        );
    }
}

/// The bytes of the last `/Contents <hex>` in `pdf`, zero padding and all
/// (a DER reader stops at the end of the CMS).
fn last_contents(pdf: &Path) -> Vec<u8> {
    let text = String::from_utf8_lossy(&std::fs::read(pdf).unwrap()).into_owned();
    let at = text.rfind("/Contents <").unwrap() + "/Contents <".len();
    let hex_len = text[at..].find('>').unwrap();
    hex::decode(&text[at..at + hex_len]).unwrap()
}

/// An offline root publishes its CRL (about the sub-CA) every few weeks, so
/// a signature extended at once carries a root CRL older than itself.
/// `mohor verify` called every such B-LT "incomplete" — Mohor's own
/// output included — while pyHanko accepts it. Evidence for a CA's
/// certificate now counts when the signature falls inside its validity;
/// the signer's own still has to be made after the signature.
#[test]
fn a_root_crl_published_before_the_signature_still_proves_its_sub_ca() {
    let mut t = setup("cli-ltv-old-root-crl");
    t.s.backdate_root_crl(3);
    let out = t.dir.join("lt.pdf");
    let o = t.mohor(
        &["sign", "--level", "B-LT", arg(&input()), "-o", arg(&out)],
        PIN,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    t.s.stop();
    let root = t.s.file("root.pem");
    let mut c = common::mohor(&t.home, &t.conf);
    c.args(["verify", "--json", arg(&out), "--trust", arg(&root)]);
    let o = common::run(&mut c);
    common::assert_no_panic(&o);
    assert!(o.status.success(), "{}", common::text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let signature = &report["signatures"][0];
    assert_eq!(signature["level"], "B-LT", "{report:#}");
    assert_eq!(signature["revocation"]["status"], "valid", "{report:#}");
    assert_eq!(
        signature["revocation"]["covered"],
        serde_json::json!(["Kavya Rao", "Test LTV Class 3 CA"]),
        "{report:#}"
    );
    if let Some((ok, text)) = ltv_util::pyhanko_dss(&out, &root) {
        assert!(ok, "{text}");
    }
    let qpdf = common::run(Command::new("qpdf").arg("--check").arg(&out));
    assert!(qpdf.status.success(), "{}", common::text(&qpdf));
}

/// A sitting's batch at B-LT: every document carries its own OCSP answer
/// for the signer, but the root's CRL (the sub-CA's evidence) is one
/// published list — fetched once, not once per document. Each document is
/// judged on its own by pyHanko's DSS reader and qpdf, and by `mohor verify`.
#[test]
fn a_batch_at_b_lt_fetches_each_crl_once_and_every_document_carries_it() {
    let mut t = setup("cli-ltv-batch-crl");
    let inputs: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            let p = t.dir.join(format!("{n}.pdf"));
            std::fs::copy(input(), &p).unwrap();
            p
        })
        .collect();
    let out_dir = t.dir.join("signed");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut args = vec!["sign", "--level", "B-LT"];
    args.extend(inputs.iter().map(|p| arg(p)));
    args.extend(["--out-dir", arg(&out_dir)]);
    let o = t.mohor(&args, PIN);
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(
        t.s.served("root.crl"),
        1,
        "the root CRL is fetched once for the batch"
    );
    let root = t.s.file("root.pem");
    let root_crl = std::fs::read(t.s.file("root.crl")).unwrap();
    t.s.stop();
    for name in ["a.pdf", "b.pdf", "c.pdf"] {
        let out = out_dir.join(name);
        let signed = std::fs::read(&out).unwrap();
        assert!(
            signed.windows(root_crl.len()).any(|w| w == root_crl),
            "{name} carries the root CRL"
        );
        let mut c = common::mohor(&t.home, &t.conf);
        c.args(["verify", "--json", arg(&out), "--trust", arg(&root)]);
        let o = common::run(&mut c);
        assert!(o.status.success(), "{name}: {}", common::text(&o));
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(report["signatures"][0]["level"], "B-LT", "{report:#}");
        let qpdf = common::run(Command::new("qpdf").arg("--check").arg(&out));
        assert!(qpdf.status.success(), "{name}: {}", common::text(&qpdf));
        if let Some((ok, text)) = ltv_util::pyhanko_dss(&out, &root) {
            assert!(ok, "{name}: {text}");
        }
    }
}

#[test]
fn a_dead_tsa_is_reported_before_the_pin_and_nothing_is_written() {
    let t = setup("cli-ltv-dead");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/tsa", l.local_addr().unwrap().port())
    };
    let out = t.dir.join("never.pdf");
    // A wrong PIN on standard input: had it been tried, the answer would be
    // PIN_INCORRECT. The TSA is found dead first.
    for level in ["B-T", "B-LTA"] {
        let o = t.mohor(
            &[
                "sign",
                "--level",
                level,
                "--tsa",
                &dead,
                arg(&input()),
                "-o",
                arg(&out),
            ],
            "000000",
        );
        let text = common::text(&o);
        assert!(!o.status.success(), "{text}");
        assert!(text.contains("TIMESTAMP_UNAVAILABLE"), "{text}");
        assert!(!text.contains("PIN_INCORRECT"), "{text}");
        assert!(!out.exists());
    }
    // An address that is not one is said as such (not "try again later").
    let o = t.mohor(
        &[
            "sign",
            "--level",
            "B-T",
            "--tsa",
            "tsa.example.in",
            arg(&input()),
            "-o",
            arg(&out),
        ],
        "000000",
    );
    let text = common::text(&o);
    assert!(text.contains("TIMESTAMP_UNAVAILABLE"), "{text}");
    assert!(
        text.contains("what to do: give the time-stamp service's address as http"),
        "{text}"
    );
    assert!(!text.contains("PIN_INCORRECT") && !out.exists(), "{text}");
    // A detached signature goes up to B-T only.
    let data = t.dir.join("data.txt");
    std::fs::write(&data, b"x").unwrap();
    let p7s = t.dir.join("data.p7s");
    let o = t.mohor(
        &[
            "sign",
            "--detached",
            "--level",
            "B-LT",
            arg(&data),
            "-o",
            arg(&p7s),
        ],
        PIN,
    );
    assert!(!o.status.success());
    assert!(
        common::text(&o).contains("INVALID_REQUEST"),
        "{}",
        common::text(&o)
    );
    let o = t.mohor(
        &[
            "sign",
            "--detached",
            "--level",
            "B-T",
            arg(&data),
            "-o",
            arg(&p7s),
        ],
        PIN,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let printed = common::text(&common::run(
        Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&p7s),
    ));
    assert!(printed.contains("id-smime-aa-timeStampToken"), "{printed}");
}

/// `mohor verify` names the level each signature reaches, and pyHanko, judging
/// the same files with the services stopped, agrees on what each carries.
#[test]
fn verify_reports_the_level_each_signature_reaches() {
    let mut t = setup("cli-ltv-verify-level");
    let levels = ["B-B", "B-T", "B-LT", "B-LTA"];
    for level in levels {
        let out = t.dir.join(format!("{level}.pdf"));
        let o = t.mohor(
            &["sign", "--level", level, arg(&input()), "-o", arg(&out)],
            PIN,
        );
        assert!(o.status.success(), "{level}: {}", common::text(&o));
    }
    let data = t.dir.join("note.txt");
    std::fs::write(&data, b"green note 17/2026").unwrap();
    let p7s = t.dir.join("note.p7s");
    let o = t.mohor(
        &[
            "sign",
            "--detached",
            "--level",
            "B-T",
            arg(&data),
            "-o",
            arg(&p7s),
        ],
        PIN,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    // The signer's certificate revoked afterwards, and the CRL saying so put
    // into the B-T file's DSS: what it embeds now says "revoked" — a second
    // later at least than the timestamp, whose time has whole seconds (a
    // revocation in the same second counts against the signature).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    t.s.revoke_signer();
    let revoked = t.dir.join("revoked.pdf");
    // The sub-CA's CRL (listing the signer) and the root's (about the sub-CA).
    let crls = ["subca.crl", "root.crl"].map(|f| std::fs::read(t.s.file(f)).unwrap());
    let mut file = std::fs::File::create(&revoked).unwrap();
    let chain = std::fs::read(t.s.file("chain.pem")).unwrap();
    let dss = mohor::pdf::Dss {
        crls: crls.to_vec(),
        certs: mohor::pem::certificates(&chain),
        ..Default::default()
    };
    mohor::pdf::append_dss(&t.dir.join("B-T.pdf"), None, &dss, &mut file).unwrap();
    drop(file);
    t.s.stop();
    let root = t.s.file("root.pem");

    let verify = |file: &Path, extra: &[&str]| -> Output {
        let mut c = common::mohor(&t.home, &t.conf);
        c.args(["verify", arg(file), "--trust", arg(&root)])
            .args(extra);
        let o = common::run(&mut c);
        common::assert_no_panic(&o);
        o
    };
    for level in levels {
        let out = t.dir.join(format!("{level}.pdf"));
        let o = verify(&out, &["--json"]);
        assert!(o.status.success(), "{level}: {}", common::text(&o));
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let sigs = report["signatures"].as_array().unwrap();
        let signed: Vec<&str> = sigs.iter().filter_map(|s| s["level"].as_str()).collect();
        assert_eq!(signed, [level], "{report:#}");
        let doc_timestamps = sigs
            .iter()
            .filter(|s| s["sub_filter"] == "ETSI.RFC3161" && s["level"].is_null())
            .count();
        assert_eq!(doc_timestamps, usize::from(level == "B-LTA"), "{report:#}");
        let human = common::text(&verify(&out, &[]));
        assert!(
            human.contains(&format!("level: PAdES {level}\n")),
            "{human}"
        );
        // From B-LT up the embedded OCSP responses and CRL show the signer's
        // path not revoked after it signed; below, nothing is embedded.
        let signature = sigs.iter().find(|s| !s["level"].is_null()).unwrap();
        let revocation = &signature["revocation"];
        if level == "B-LT" || level == "B-LTA" {
            assert_eq!(revocation["status"], "valid", "{report:#}");
            assert_eq!(
                revocation["covered"],
                serde_json::json!(["Kavya Rao", "Test LTV Class 3 CA"]),
                "{report:#}"
            );
        } else {
            assert_eq!(revocation["status"], "absent", "{report:#}");
        }

        // pyHanko: a trusted signature timestamp exactly from B-T up, and
        // validation data in the DSS exactly from B-LT up.
        let Some((timestamped, text)) = ltv_util::pyhanko_timestamped(&out, &root) else {
            continue;
        };
        assert_eq!(timestamped, level != "B-B", "{level}: {text}");
        if level == "B-LT" || level == "B-LTA" {
            let (ok, text) = ltv_util::pyhanko_dss(&out, &root).unwrap();
            assert!(ok, "{level}: {text}");
        }
    }

    // The revoked file: revoked after the trusted timestamp proved the
    // signature older, so still trusted, with the date (DECISIONS,
    // 2026-12-04); pyHanko, judging at the timestamp's time with the same
    // CRLs, agrees, and at the present time (`pyhanko_dss`) calls it revoked.
    let o = verify(&revoked, &["--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let signature = &report["signatures"][0];
    assert_eq!(signature["revocation"]["status"], "valid", "{report:#}");
    assert_eq!(
        signature["revocation"]["revoked_after_signing"][0]["certificate"], "Kavya Rao",
        "{report:#}"
    );
    assert_eq!(signature["trusted"], true, "{report:#}");
    assert_eq!(signature["level"], "B-LT", "{report:#}");
    let warnings = signature["warnings"].to_string();
    assert!(
        warnings.contains("Kavya Rao was revoked at")
            && warnings.contains("after the trusted timestamp"),
        "{warnings}"
    );
    if let Some(py) = common::pyhanko() {
        let judge = common::run(
            Command::new(py.with_file_name("python"))
                .arg(common::repo().join("tests/verify_util/crl_after_timestamp.py"))
                .arg("judge")
                .arg(&revoked)
                .arg(&root)
                .args(["subca.crl", "root.crl"].map(|f| t.s.file(f))),
        );
        let jt = common::text(&judge);
        assert!(jt.contains("trusted: True"), "pyHanko:\n{jt}");
        assert!(
            judge.status.success(),
            "pyHanko at the timestamp's time:\n{jt}"
        );
    }
    if let Some((ok, text)) = ltv_util::pyhanko_dss(&revoked, &root) {
        assert!(!ok, "pyHanko accepted a revoked signer now: {text}");
        assert!(
            text.contains("FAIL Signature1 signer") && text.contains("revoked"),
            "{text}"
        );
    }

    let o = verify(&p7s, &["--data", arg(&data), "--json"]);
    assert!(o.status.success(), "{}", common::text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["signatures"][0]["level"], "B-T", "{report:#}");
    assert!(report["signatures"][0]["timestamp"]["trusted"] == true);
    let human = common::text(&verify(&p7s, &["--data", arg(&data)]));
    assert!(human.contains("level: CAdES B-T\n"), "{human}");
    let openssl = common::openssl_verify_detached(&p7s, &data, &root);
    assert!(openssl.status.success(), "{}", common::text(&openssl));
}
