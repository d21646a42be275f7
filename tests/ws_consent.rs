//! What a page asks for is what the person sees and what the document says:
//! a real `mohor serve` (SoftHSM fixture token, scripted dialogs) gets
//! `sign.pdf` requests over WebSocket with a reason, location, certification
//! and stamp. The scripted prompter's log (what a person would have read)
//! must name each of them, filtered; the signed PDF must carry the same
//! filtered text (and `pdfsig` must find its signature valid); a file name
//! with nothing visible is refused before any window.
#![cfg(feature = "scripted-prompts")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
#[path = "desktop_agent/ws.rs"]
#[allow(dead_code)]
mod ws;

use std::path::Path;
use std::process::Stdio;

use serde_json::json;

use common::{Fixture, MODULE};

const ORIGIN: &str = "http://127.0.0.1:8765";

/// `mohor serve` with scripted dialogs, killed when the test ends.
fn serve(home: &Path, softhsm_conf: &Path, prompts: &Path) -> common::Served {
    common::spawn_serve(
        common::mohor(home, softhsm_conf)
            .arg("--module")
            .arg(MODULE)
            .arg("--prompts")
            .arg(prompts)
            .args(["serve", "--port", "0", "--allow-origin", ORIGIN])
            .stderr(Stdio::inherit()),
        Path::new("/dev/null"),
    )
}

use common::{asked, b64, tiny_pdf};

/// A test folder whose dialogs approve one request, its `mohor serve`, and a
/// connection to it from the allowed origin.
fn approving_server(name: &str) -> (common::Approving, common::Served, ws::Connection) {
    started(common::approving(name))
}

/// [`approving_server`] whose agent trusts the test PKI's root, as an
/// office's config trusts its CA.
fn trusting_server(name: &str) -> (common::Approving, common::Served, ws::Connection) {
    let setup = common::approving(name);
    std::fs::write(
        setup.home.join("config.toml"),
        format!(
            "trust_roots = [{:?}]\n",
            Fixture::shared().root.display().to_string()
        ),
    )
    .expect("write config.toml");
    started(setup)
}

/// `mohor serve` for `setup`, and a connection to it from the allowed origin.
fn started(setup: common::Approving) -> (common::Approving, common::Served, ws::Connection) {
    let server = serve(&setup.home, &setup.softhsm_conf, &setup.prompts);
    let c = ws::Connection::open(server.port, ORIGIN).expect("connect");
    (setup, server, c)
}

/// The first line of what the consent showed that contains `needle`.
fn line_with(shown: &[String], needle: &str) -> usize {
    shown
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not shown:\n{shown:#?}"))
}

/// The consent showed the SHA-256 of exactly `bytes` as the fingerprint.
fn assert_fingerprint_shown(shown: &[String], bytes: &[u8]) {
    let fingerprint = format!("    Fingerprint (SHA-256): {}", common::hex_sha256(bytes));
    assert!(shown.contains(&fingerprint), "{fingerprint}\n{shown:#?}");
}

/// The line saying `signer`'s earlier signature is valid, which must come
/// right under the "Already signed by" caption.
fn valid_earlier_signer(shown: &[String], signer: &str) -> usize {
    let caption = line_with(shown, "    Already signed by (as Mohor checked it):");
    let valid = line_with(
        shown,
        &format!("    - {signer}: valid (intact, from a trusted authority"),
    );
    assert_eq!(valid, caption + 1, "{shown:#?}");
    valid
}

/// Every item's signed bytes (`key`: "document" or "signature") from a
/// `sign.batch` answer that must hold `n` results, all signed.
fn batch_outputs(reply: &ws::Reply, key: &str, n: usize) -> Vec<Vec<u8>> {
    let results = reply.result()["results"].as_array().expect("results");
    assert_eq!(results.len(), n, "{:#}", reply.answer);
    results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            common::unb64(
                r[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("item {i} not signed: {:#}", reply.answer)),
            )
        })
        .collect()
}

#[test]
fn the_consent_names_everything_the_signature_carries_and_the_pdf_says_the_same() {
    let fx = Fixture::shared();
    let (setup, _server, mut c) = approving_server("ws_consent");
    let common::Approving {
        dir, home, prompts, ..
    } = setup;
    let cert_id = fx.cert("rsa2048").id;

    // Nothing visible in the name: refused before any window.
    let refused = c.call(
        json!(1),
        "sign.pdf",
        Some(json!({"document": b64(&tiny_pdf()), "fileName": "\u{200b}\u{3164}"})),
    );
    assert_eq!(refused.reason(), "INVALID_REQUEST", "{:#}", refused.answer);
    assert!(
        asked(&prompts).is_empty(),
        "a window was shown: {:?}",
        asked(&prompts)
    );

    let reply = c.call(
        json!(2),
        "sign.pdf",
        Some(json!({
            "document": b64(&tiny_pdf()),
            "fileName": "note\u{202e}fdp.exe.pdf",
            "certificateId": cert_id,
            "reason": "I hereby\u{2028}resign\u{200b} from my post",
            "location": "Nirman Bhawan,\u{2029}New Delhi",
            "certify": true,
            "appearance": {"page": 1, "x": 300, "y": 60, "width": 220, "height": 70},
        })),
    );
    let signed = common::unb64(reply.result()["document"].as_str().expect("document"));

    let log = asked(&prompts);
    let consent = log
        .iter()
        .find(|e| e["dialog"] == "consent")
        .expect("a consent question");
    let shown = consent["shown"].to_string();
    for fact in [
        ORIGIN,
        "note\u{fffd}fdp.exe.pdf",
        "Reason: I hereby resign from my post",
        "Location: Nirman Bhawan, New Delhi",
        "Certification: Certifies the document: later changes limited to filling in forms and adding signatures",
        "Stamp: Visible stamp on page 1, 220 × 70 pt, 300 pt from the left and 60 pt from the bottom",
    ] {
        assert!(shown.contains(fact), "{fact:?} not shown:\n{shown}");
    }
    assert!(
        !shown.contains('\u{202e}') && !shown.contains('\u{2028}'),
        "{shown}"
    );

    let out = dir.join("signed.pdf");
    std::fs::write(&out, &signed).expect("write signed.pdf");
    // The document carries what was shown, not what the page sent.
    let text = String::from_utf8_lossy(&signed);
    assert!(
        text.contains("(I hereby resign from my post)"),
        "reason in the PDF"
    );
    assert!(
        text.contains("(Nirman Bhawan, New Delhi)"),
        "location in the PDF"
    );
    assert!(text.contains("/DocMDP"), "certified");
    // And the signature over it holds, by a judge nobody here wrote.
    if common::have_tool("pdfsig") {
        let report = common::text(&common::run(std::process::Command::new("pdfsig").arg(&out)));
        assert!(report.contains("Signature is Valid."), "{report}");
    }

    let audit = std::fs::read_to_string(home.join("state/audit.jsonl")).expect("audit log");
    assert!(audit.contains("note\u{fffd}fdp.exe.pdf"), "{audit}");
    assert!(!audit.contains('\u{202e}'), "{audit}");
    c.close();
}

/// A batch of a bill that runs a script when opened and an annexure that
/// does not: the one consent says so under the bill only, both are signed
/// (the script is part of what is signed, and stays), and the judges find
/// both signatures valid.
#[test]
fn a_pdf_that_runs_its_own_scripts_is_called_out_in_the_consent_and_signs_as_usual() {
    let fx = Fixture::shared();
    let (setup, _server, mut c) = approving_server("ws_consent_scripts");
    let common::Approving { dir, prompts, .. } = setup;

    let bill = common::classic_pdf(
        b"%PDF-1.7\n",
        &[
            "<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
            // A named script: run when the file opens, and listed by `pdfinfo -js`.
            "<< /Names [(due) << /S /JavaScript /JS (app.alert\\('Amount due: 4,500'\\);) >>] >>",
        ],
        "",
    );
    let item = |pdf: &[u8], name: &str| json!({"method": "sign.pdf", "params": {"document": b64(pdf), "fileName": name}});
    let reply = c.call(
        json!(1),
        "sign.batch",
        Some(json!({"items": [
            item(&bill, "Contingent bill 412.pdf"),
            item(&tiny_pdf(), "Annexure.pdf"),
        ]})),
    );

    let shown = common::consent_shown(&prompts);
    let at = |needle: &str| line_with(&shown, needle);
    let warning = "Warning: This PDF runs its own JavaScript";
    assert!(at("Contingent bill 412.pdf") < at(warning), "{shown:#?}");
    assert!(at(warning) < at("Annexure.pdf"), "{shown:#?}");
    assert_eq!(
        shown.iter().filter(|l| l.contains("JavaScript")).count(),
        1,
        "{shown:#?}"
    );

    let signed = batch_outputs(&reply, "document", 2);
    for (name, signed) in ["bill", "annexure"].into_iter().zip(signed) {
        let out = dir.join(format!("{name}-signed.pdf"));
        std::fs::write(&out, &signed).expect("write the signed PDF");
        let report = common::text(&common::run(std::process::Command::new("pdfsig").arg(&out)));
        assert!(report.contains("Signature is Valid."), "{name}: {report}");
        if let Some((good, text)) = common::pyhanko_pdf(&out, &fx.root) {
            assert!(good, "pyHanko on {name}:\n{text}");
        }
    }
    // The script was signed with the bill, not taken out of it.
    let js = common::text(&common::run(
        std::process::Command::new("pdfinfo")
            .arg("-js")
            .arg(dir.join("bill-signed.pdf")),
    ));
    assert!(js.contains("Amount due: 4,500"), "{js}");
    c.close();
}

/// A PDF signed beforehand with the fixture's key, as another official's
/// signer would have left it (incremental update, claimed time now).
fn signed_by(fixture_cert: &str, dir: &Path) -> Vec<u8> {
    let fx = Fixture::shared();
    let input = dir.join("unsigned.pdf");
    std::fs::write(&input, tiny_pdf()).expect("write the unsigned PDF");
    let output = dir.join(format!("by-{fixture_cert}.pdf"));
    let mut opts =
        mohor::pdf::PdfSignOptions::new(fx.cert(fixture_cert).cn, "Test Class 3 CA 2026");
    opts.signing_time = time::OffsetDateTime::now_utc();
    opts.reason = Some("Put up for approval".into());
    mohor::pdf::sign_file(
        &input,
        &output,
        &mut fx.software_signer(fixture_cert),
        &opts,
    )
    .expect("the earlier signature");
    std::fs::read(&output).expect("read the earlier signature")
}

/// A co-signer sees whom they sign after, each name beside the verifier's
/// verdict, before any PIN: a good signature as valid, one whose
/// certificate had expired as not trusted (the name proves nothing), and one
/// over a page that was changed afterwards as NOT VALID, with a warning.
/// The outside judges say the same of the earlier signatures in the signed
/// copies, and hold the new signature valid in all three.
#[test]
fn earlier_signatures_are_shown_with_their_verdict_before_a_co_signer_signs() {
    let fx = Fixture::shared();
    let (setup, _server, mut c) = trusting_server("ws_consent_earlier");
    let common::Approving { dir, prompts, .. } = setup;

    let valid = signed_by("rsa2048", &dir);
    let expired = signed_by("expired", &dir);
    // The page's size changed after the first signature, bytes in place.
    let mut tampered = valid.clone();
    let at = tampered
        .windows(13)
        .position(|w| w == b"[0 0 595 842]")
        .expect("the MediaBox");
    tampered[at + 11] = b'1';
    let item = |pdf: &[u8], name: &str| json!({"method": "sign.pdf", "params": {"document": b64(pdf), "fileName": name}});
    let reply = c.call(
        json!(1),
        "sign.batch",
        Some(json!({"items": [
            item(&valid, "Green note 7.pdf"),
            item(&expired, "Green note 8.pdf"),
            item(&tampered, "Green note 9.pdf"),
        ]})),
    );

    let shown = common::consent_shown(&prompts);
    let at = |needle: &str| line_with(&shown, needle);
    let caption = "    Already signed by (as Mohor checked it):";
    let valid_line = "    - Asha Verma: valid (intact, from a trusted authority";
    let untrusted_line = "    - Asha Verma: intact, but NOT TRUSTED";
    let warning = "    Warning: A signature already on this document is not valid";
    let broken_line = "    - Asha Verma: NOT VALID (";
    // The fingerprints come from the check's read of each file: the bytes sent.
    for pdf in [&valid, &expired, &tampered] {
        assert_fingerprint_shown(&shown, pdf);
    }
    let (note7, note8, note9) = (
        at("Green note 7.pdf"),
        at("Green note 8.pdf"),
        at("Green note 9.pdf"),
    );
    assert!(
        note7 < at(valid_line) && at(valid_line) < note8,
        "{shown:#?}"
    );
    assert!(
        note8 < at(untrusted_line) && at(untrusted_line) < note9,
        "{shown:#?}"
    );
    assert!(
        shown[at(untrusted_line)].contains("(valid 2020-01-01 to 2021-01-01)"),
        "{shown:#?}"
    );
    assert!(
        note9 < at(warning) && at(warning) < at(broken_line),
        "{shown:#?}"
    );
    assert_eq!(
        shown.iter().filter(|l| l.as_str() == caption).count(),
        3,
        "{shown:#?}"
    );
    assert_eq!(
        shown.iter().filter(|l| l.contains("Warning")).count(),
        1,
        "{shown:#?}"
    );

    let signed = batch_outputs(&reply, "document", 3);
    let nss = format!("sql:{}", fx.nssdb.display());
    for (i, (name, signed)) in ["note7", "note8", "note9"]
        .into_iter()
        .zip(signed)
        .enumerate()
    {
        let out = dir.join(format!("{name}-cosigned.pdf"));
        std::fs::write(&out, &signed).expect("write the signed PDF");
        let report = common::text(&common::run(
            std::process::Command::new("pdfsig")
                .args(["-nssdir", &nss])
                .arg(&out),
        ));
        // pdfsig: the earlier signature as the consent said, the new one valid.
        let (first, second) = report
            .split_once("Signature #2:")
            .unwrap_or_else(|| panic!("{name}: two signatures expected:\n{report}"));
        assert!(second.contains("Signature is Valid."), "{name}: {report}");
        match name {
            "note7" => assert!(
                first.contains("Signature is Valid.") && first.contains("Certificate is Trusted."),
                "{report}"
            ),
            "note8" => assert!(
                first.contains("Signature is Valid.") && first.contains("Certificate has Expired"),
                "{report}"
            ),
            _ => assert!(!first.contains("Signature is Valid."), "{report}"),
        }
        // pyHanko: one summary line a field, FIELD:FINGERPRINT:VERDICT.
        if let Some(mut judge) = common::pyhanko_validate_command(&fx.root) {
            let said = common::text(&common::run(judge.arg(&out)));
            let verdict = |field: &str| {
                said.lines()
                    .find(|l| l.starts_with(&format!("{field}:")))
                    .map(|l| l.splitn(3, ':').nth(2).unwrap_or_default().to_owned())
                    .unwrap_or_else(|| panic!("pyHanko on {name}: no line for {field}:\n{said}"))
            };
            let new_field = reply.result()["results"][i]["field"]
                .as_str()
                .expect("the new field");
            assert!(
                verdict(new_field).starts_with("INTACT:TRUSTED"),
                "{name}: {said}"
            );
            let earlier = verdict("Signature1");
            match name {
                "note7" => assert!(earlier.starts_with("INTACT:TRUSTED"), "{said}"),
                "note8" => assert!(earlier.starts_with("INTACT:UNTRUSTED"), "{said}"),
                _ => assert!(!earlier.starts_with("INTACT"), "{said}"),
            }
        }
    }
    c.close();
}

/// An earlier signature pyHanko refuses as weak but Mohor accepts with
/// warnings (SHA-1, by a 1024-bit RSA key, as GSTN-era signers made them):
/// the co-signer is shown both warnings right under that signer's verdict,
/// before any PIN. openssl accepts the earlier signature and pyHanko refuses
/// exactly it; the co-signed copy's new signature is valid to pdfsig.
#[test]
fn an_earlier_signatures_warnings_are_shown_under_its_verdict() {
    let fx = Fixture::shared();
    let (setup, _server, mut c) = trusting_server("ws_consent_earlier_warnings");
    let common::Approving { dir, prompts, .. } = setup;

    let pki = fx.dir.join("pki");
    let (key, cert, csr, ext) = (
        dir.join("short.key.pem"),
        dir.join("short.pem"),
        dir.join("short.csr"),
        dir.join("short.ext"),
    );
    std::fs::write(
        &ext,
        "[ext]\nbasicConstraints = critical, CA:false\n\
         keyUsage = critical, digitalSignature, nonRepudiation\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
    )
    .expect("write the extensions");
    let ok = |what: &str, cmd: &mut std::process::Command| {
        let out = common::run(cmd);
        assert!(out.status.success(), "{what}: {}", common::text(&out));
    };
    ok(
        "openssl req",
        std::process::Command::new("openssl")
            .args(["req", "-new", "-newkey", "rsa:1024", "-nodes"])
            .args(["-subj", "/C=IN/O=GSTN Test/CN=Kavita Rao"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    ok(
        "openssl x509 -req",
        std::process::Command::new("openssl")
            .args([
                "x509",
                "-req",
                "-days",
                "365",
                "-sha256",
                "-extensions",
                "ext",
            ])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(pki.join("subca.pem"))
            .arg("-CAkey")
            .arg(pki.join("subca.key.pem"))
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&cert),
    );
    let Some(pyhanko) = common::pyhanko() else {
        return;
    };
    let unsigned = dir.join("return.pdf");
    let weak = dir.join("return-weak.pdf");
    std::fs::write(&unsigned, tiny_pdf()).expect("write the unsigned PDF");
    let python = pyhanko.with_file_name("python");
    ok(
        "pyHanko's signer",
        std::process::Command::new(&python)
            .arg(common::repo().join("tests/fixtures/sign_weak_pdf.py"))
            .arg(&unsigned)
            .arg(&weak)
            .arg(&key)
            .arg(&cert)
            .arg(pki.join("subca.pem")),
    );
    let earlier = std::fs::read(&weak).expect("read the weak PDF");
    let reply = c.call(
        json!(1),
        "sign.pdf",
        Some(json!({"document": b64(&earlier), "fileName": "GSTR-3B.pdf"})),
    );

    let shown = common::consent_shown(&prompts);
    let verdict = valid_earlier_signer(&shown, "Kavita Rao");
    assert!(
        shown[verdict + 1].starts_with("      warning: the signature uses SHA-1"),
        "{shown:#?}"
    );
    assert!(
        shown[verdict + 2].starts_with(
            "      warning: the 1024-bit RSA key of Kavita Rao is shorter than 2048 bits"
        ),
        "{shown:#?}"
    );
    assert!(
        shown[verdict + 3].starts_with("    Fingerprint"),
        "nothing else between the warnings and the facts: {shown:#?}"
    );

    // The judges: openssl's view is the verdict (trusted), pyHanko refuses
    // it as weak, the co-signature added to it is valid.
    let signed = common::unb64(reply.result()["document"].as_str().expect("document"));
    let out = dir.join("GSTR-3B-cosigned.pdf");
    std::fs::write(&out, &signed).expect("write the co-signed PDF");
    let nss = format!("sql:{}", fx.nssdb.display());
    let report = common::text(&common::run(
        std::process::Command::new("pdfsig")
            .args(["-nssdir", &nss])
            .arg(&out),
    ));
    let (first, second) = report
        .split_once("Signature #2:")
        .unwrap_or_else(|| panic!("two signatures expected:\n{report}"));
    assert!(first.contains("Signature is Valid."), "{report}");
    assert!(second.contains("Signature is Valid."), "{report}");
    if let Some(mut judge) = common::pyhanko_validate_command(&fx.root) {
        let said = common::text(&common::run(judge.arg(&out)));
        let line = |field: &str| {
            said.lines()
                .find(|l| l.starts_with(&format!("{field}:")))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("pyHanko: no line for {field}:\n{said}"))
        };
        let new_field = reply.result()["field"].as_str().expect("the new field");
        assert!(line(new_field).contains(":INTACT:TRUSTED"), "{said}");
        assert!(!line("Signature1").contains(":INTACT:TRUSTED"), "{said}");
        assert!(said.contains("disallowed algorithm"), "{said}");
    }
    c.close();
}

/// An encrypted green note (user password "view"): the earlier signature is
/// checked with the password the request brings, and shown as valid; pdfsig
/// and pyHanko, given the password, hold both signatures valid.
#[test]
fn earlier_signatures_on_an_encrypted_pdf_are_checked_with_the_requests_password() {
    let fx = Fixture::shared();
    let (setup, _server, mut c) = trusting_server("ws_consent_encrypted");
    let common::Approving { dir, prompts, .. } = setup;

    let plain = dir.join("plain.pdf");
    let locked = dir.join("locked.pdf");
    let signed = dir.join("locked-signed.pdf");
    std::fs::write(&plain, tiny_pdf()).expect("write the PDF");
    let out = common::run(
        std::process::Command::new("qpdf")
            .args(["--encrypt", "view", "master", "256", "--"])
            .arg(&plain)
            .arg(&locked),
    );
    assert!(out.status.success(), "qpdf: {}", common::text(&out));
    let mut opts = mohor::pdf::PdfSignOptions::new(fx.cert("rsa2048").cn, "Test Class 3 CA 2026");
    opts.signing_time = time::OffsetDateTime::now_utc();
    opts.password = Some(mohor::pdf::PdfPassword::new(b"view".to_vec()));
    mohor::pdf::sign_file(&locked, &signed, &mut fx.software_signer("rsa2048"), &opts)
        .expect("the earlier signature");

    let document = std::fs::read(&signed).expect("read the signed PDF");
    let reply = c.call(
        json!(1),
        "sign.pdf",
        Some(
            json!({"document": b64(&document), "fileName": "Locked note.pdf", "password": "view"}),
        ),
    );
    let shown = common::consent_shown(&prompts);
    valid_earlier_signer(&shown, "Asha Verma");
    assert_fingerprint_shown(&shown, &document);

    let cosigned = dir.join("locked-cosigned.pdf");
    std::fs::write(
        &cosigned,
        common::unb64(reply.result()["document"].as_str().expect("document")),
    )
    .expect("write the co-signed PDF");
    let nss = format!("sql:{}", fx.nssdb.display());
    let report = common::text(&common::run(
        std::process::Command::new("pdfsig")
            .args(["-nssdir", &nss, "-upw", "view"])
            .arg(&cosigned),
    ));
    assert_eq!(report.matches("Signature is Valid.").count(), 2, "{report}");
    if let Some(mut judge) = common::pyhanko_validate_command(&fx.root) {
        let said = common::text(&common::run(
            judge.args(["--password", "view"]).arg(&cosigned),
        ));
        assert_eq!(said.matches(":INTACT:TRUSTED").count(), 2, "{said}");
    }
    c.close();
}

/// `sign.data` with `cosign`: the consent names whom the co-signature
/// joins, judged by the verifier (Meera Nair signed the minutes first), and
/// `openssl cms -verify` holds both signers of the answer valid.
#[test]
fn a_detached_co_signature_shows_whom_it_joins_with_the_verdict() {
    let fx = Fixture::shared();
    let (setup, _server, mut c) = trusting_server("ws_consent_cosign");
    let common::Approving { dir, prompts, .. } = setup;

    let minutes = b"Minutes of the purchase committee, 28 November 2026: approved.\n";
    let mut first = fx.software_signer("ec256");
    let digest = mohor::sign::Signer::algorithm(&first)
        .digest()
        .digest(minutes);
    let profile = mohor::sign::cms::CmsProfile::cades(time::OffsetDateTime::now_utc());
    let earlier = mohor::sign::cms::sign_digest(&mut first, &digest, &profile).expect("sign");
    let reply = c.call(
        json!(1),
        "sign.data",
        Some(json!({"data": b64(minutes), "cosign": b64(&earlier), "certificateId": fx.cert("rsa2048").id})),
    );

    let shown = common::consent_shown(&prompts);
    let joined = valid_earlier_signer(&shown, "Meera Nair");
    assert_fingerprint_shown(&shown, minutes);
    assert!(
        joined < line_with(&shown, "Content, as text (all of it):"),
        "{shown:#?}"
    );

    let p7s = dir.join("minutes.p7s");
    let data = dir.join("minutes.txt");
    let signature = reply.result()["signature"].as_str().expect("signature");
    std::fs::write(&p7s, common::unb64(signature)).expect("write the .p7s");
    std::fs::write(&data, minutes).expect("write the data");
    let out = common::openssl_verify_detached(&p7s, &data, &fx.root);
    assert!(out.status.success(), "{}", common::text(&out));
    // pyHanko reads single-signer CMS only: it judges the signature the
    // consent called valid, as it was sent.
    let first_p7s = dir.join("minutes-first.p7s");
    std::fs::write(&first_p7s, &earlier).expect("write the first .p7s");
    if let Some((good, t)) = common::pyhanko_detached(&first_p7s, &data, &fx.root) {
        assert!(good, "pyHanko on Meera Nair's signature:\n{t}");
    }
    let signers = common::text(&common::run(
        std::process::Command::new("openssl")
            .args([
                "cms", "-cmsout", "-print", "-inform", "DER", "-noout", "-in",
            ])
            .arg(&p7s),
    ));
    assert_eq!(signers.matches("signerInfos:").count(), 1, "{signers}");
    let sids = signers.matches("d.issuerAndSerialNumber:").count()
        + signers.matches("d.subjectKeyIdentifier:").count();
    assert_eq!(sids, 2, "two signers:\n{signers}");
    c.close();
}

/// `sign.data` of a bill's JSON shows the person what it says; binary data
/// is named as such; both signatures hold for exactly those bytes
/// (`openssl cms -verify`, pyHanko).
#[test]
fn data_to_sign_is_shown_as_text_when_it_is_text() {
    let fx = Fixture::shared();
    let (setup, _server, mut c) = approving_server("ws_consent_data");
    let common::Approving { dir, prompts, .. } = setup;
    let bill = "{\n  \"bill\": \"CB-2026-412\",\n  \"payee\": \"Sharma\u{202e}sredarT\",\n  \"amount\": 45000\n}\n";
    let blob: Vec<u8> = (0..=255u8).collect();
    let item = |data: &[u8]| json!({"method": "sign.data", "params": {"data": b64(data)}});
    let reply = c.call(
        json!(1),
        "sign.batch",
        Some(json!({"items": [item(bill.as_bytes()), item(&blob)]})),
    );

    let shown = common::consent_shown(&prompts);
    let text = shown.join("\n");
    for want in [
        "    Content, as text (all of it):\n    | {\n    |   \"bill\": \"CB-2026-412\",",
        // The bidi override shows as �: the name cannot be turned round.
        "    |   \"payee\": \"Sharma\u{fffd}sredarT\",",
        "    |   \"amount\": 45000\n    | }",
        "    Content: not plain text, so Mohor cannot show it",
    ] {
        assert!(text.contains(want), "{want:?} not shown:\n{text}");
    }
    assert!(!text.contains('\u{202e}'), "{text}");

    let signatures = batch_outputs(&reply, "signature", 2);
    for (i, (data, signature)) in [bill.as_bytes(), &blob]
        .into_iter()
        .zip(signatures)
        .enumerate()
    {
        let p7s = dir.join(format!("item{i}.p7s"));
        let signed = dir.join(format!("item{i}.bin"));
        std::fs::write(&p7s, signature).expect("write the .p7s");
        std::fs::write(&signed, data).expect("write the data");
        let out = common::openssl_verify_detached(&p7s, &signed, &fx.root);
        assert!(out.status.success(), "item {i}: {}", common::text(&out));
        if let Some((good, t)) = common::pyhanko_detached(&p7s, &signed, &fx.root) {
            assert!(good, "pyHanko on item {i}:\n{t}");
        }
    }
    c.close();
}

/// `sign.pdf` with the PDF's own password over the WebSocket: a wrong one is
/// refused before any window, the right one signs, and the output is still
/// protected by the same password (qpdf and pdfsig need it to open it).
#[test]
fn an_encrypted_pdf_signs_over_the_websocket_with_its_password_and_stays_encrypted() {
    let fx = Fixture::shared();
    let input = common::repo().join("../shared/corpus/pdf/pyhanko-minimal-aes256.pdf");
    if !input.exists() {
        assert!(std::env::var_os("CI").is_none(), "corpus missing in CI");
        eprintln!("SKIPPED: the shared corpus is missing");
        return;
    }
    let (setup, _server, mut c) = approving_server("ws_pdf_password");
    let common::Approving { dir, prompts, .. } = setup;
    let document = b64(&std::fs::read(&input).expect("corpus file"));
    let params = |password: &str| {
        json!({"document": document, "fileName": "protected.pdf",
               "certificateId": fx.cert("rsa2048").id, "password": password})
    };

    let wrong = c.call(json!(1), "sign.pdf", Some(params("not-the-password")));
    assert_eq!(wrong.reason(), "DOCUMENT_REFUSED", "{:#}", wrong.answer);
    assert!(asked(&prompts).is_empty(), "{:?}", asked(&prompts));

    let reply = c.call(json!(2), "sign.pdf", Some(params("usersecret")));
    let out = dir.join("signed.pdf");
    std::fs::write(
        &out,
        common::unb64(reply.result()["document"].as_str().expect("document")),
    )
    .expect("write signed.pdf");
    if !common::have_tool("qpdf") {
        return;
    }
    let check = |args: &[&str]| {
        common::run(
            std::process::Command::new("qpdf")
                .args(args)
                .arg("--check")
                .arg(&out),
        )
    };
    let with = check(&["--password=usersecret"]);
    assert_eq!(with.status.code(), Some(0), "{}", common::text(&with));
    // Still under the same AES-256 handler (R 6) and password.
    assert!(
        common::text(&with).contains("R = 6")
            && common::text(&with).contains("Supplied password is user password"),
        "{}",
        common::text(&with)
    );
    let without = check(&[]);
    assert_ne!(without.status.code(), Some(0), "opens without the password");
    let report = common::text(&common::run(
        std::process::Command::new("pdfsig")
            .arg("-upw")
            .arg("usersecret")
            .arg(&out),
    ));
    assert!(report.contains("Signature is Valid."), "{report}");
    c.close();
}

/// `mohor serve` asking in a real terminal (`script` gives it a pty) while
/// two pages send a signing request a second apart. Only one question is on
/// the terminal at a time, its text right above it: the second page's
/// consent is printed only once the first is answered, so a line typed
/// answers the request whose text the person just read.
#[test]
fn in_a_terminal_one_request_is_asked_at_a_time() {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    const OTHER: &str = "http://127.0.0.1:8766";
    if !common::have_tool("script") {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let fx = Fixture::shared();
    let home = common::test_dir("ws_terminal_turns");
    let agent = common::mohor(&home, &fx.softhsm2_conf);
    let line = format!(
        "{} --module {MODULE} serve --port 0 --allow-origin {ORIGIN} --allow-origin {OTHER}",
        agent.get_program().to_string_lossy()
    );
    let mut script = std::process::Command::new("script");
    script.args(["-qfec", &line, "/dev/null"]);
    for (k, v) in agent.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut keys = child.stdin.take().unwrap();
    let mut pty = child.stdout.take().unwrap();
    let _child = Kill(child);
    let screen = Arc::new(Mutex::new(String::new()));
    let shown = Arc::clone(&screen);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pty.read(&mut buf) {
            if n == 0 {
                break;
            }
            shown
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let wait_for = |what: &str| {
        let start = Instant::now();
        loop {
            let text = screen.lock().unwrap().clone();
            if let Some(at) = text.find(what) {
                return (at, text);
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "never shown: {what}\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let (_, first) = wait_for("ws://");
    let port: u16 = first
        .lines()
        .find(|l| l.contains("ws://"))
        .and_then(|l| l.trim().rsplit(':').next())
        .and_then(|p| p.trim_end_matches('/').trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));

    let a = ws::Connection::open(port, ORIGIN).unwrap().start(
        json!("A"),
        "sign.data",
        json!({"data": b64(b"A: transfer Rs 10 to the pension fund\n")}),
    );
    wait_for("transfer Rs 10");
    let b = ws::Connection::open(port, OTHER).unwrap().start(
        json!("B"),
        "sign.data",
        json!({"data": b64(b"B: I hereby resign from service\n")}),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let (_, text) = wait_for("Sign? [y/N]");
    assert!(
        !text.contains("resign"),
        "a second consent was printed below the open question:\n{text}"
    );
    keys.write_all(b"n\n").unwrap();
    let (_, a_reply) = a.finish();
    assert_eq!(a_reply.reason(), "USER_CANCELLED");
    let (b_at, text) = wait_for("resign");
    let first_question = text.find("Sign? [y/N]").unwrap();
    assert!(b_at > first_question, "{text}");
    keys.write_all(b"n\n").unwrap();
    let (_, b_reply) = b.finish();
    assert_eq!(b_reply.reason(), "USER_CANCELLED");
}

/// Waits (up to a minute: the bound is only there so a defect fails
/// instead of hanging) until `ready` holds.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "never happened: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The audit log's records, in the order they were written.
fn audit_records(home: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(home.join("state/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Page A's request holds the token (token-sim makes each `C_Sign` take
/// seconds); page B's request, approved meanwhile, waits for the token; then
/// B's page goes away. B's request must give up while it waits: no PIN
/// question for a page that has left, no login and no signature for it, and
/// it is audited as cancelled before A's signature is even done.
#[test]
fn a_request_waiting_for_the_token_gives_up_when_its_page_leaves() {
    const OTHER: &str = "http://127.0.0.1:8766";
    let fx = Fixture::shared();
    let s = common::SimSetup::new(
        "ws_gone_page_waiting",
        // Long enough for B to connect, be approved and leave while A's
        // signature is made, on a loaded machine too.
        json!({"latency_ms_per_function": {"C_Sign": 8000}}),
    );
    let prompts = s.dir.join("prompts.jsonl");
    std::fs::write(&prompts, common::approvals(&fx.user_pin, 2)).unwrap();
    let _server = common::spawn_serve(
        s.mohor(&["--prompts"])
            .arg(&prompts)
            .args(["serve", "--port", "0"])
            .args(["--allow-origin", ORIGIN, "--allow-origin", OTHER])
            .stderr(Stdio::inherit()),
        Path::new("/dev/null"),
    );
    let port = _server.port;
    let cert = fx.cert("rsa2048").id;
    let params = |text: &str| json!({"data": b64(text.as_bytes()), "certificateId": cert});

    let mut a = ws::Connection::open(port, ORIGIN).unwrap().start(
        json!("A"),
        "sign.data",
        params("A: sanction order 12/2026\n"),
    );
    let stages = a.stages(3, std::time::Duration::from_secs(60)).to_vec();
    assert_eq!(
        stages.last().map(String::as_str),
        Some("signing"),
        "{stages:?}"
    );

    // A holds the token now. B is approved and goes to wait for it.
    let mut b = ws::Connection::open(port, OTHER).unwrap();
    b.send(
        &json!("B"),
        "sign.data",
        Some(params("B: I hereby resign\n")),
    )
    .unwrap();
    let consents = || {
        asked(&prompts)
            .iter()
            .filter(|q| q["dialog"] == "consent")
            .count()
    };
    wait_until("B's consent", || consents() == 2);
    b.close();

    let (_, a_reply) = a.finish();
    assert!(
        a_reply.answer.get("result").is_some(),
        "{:#}",
        a_reply.answer
    );
    wait_until("B's request audited", || audit_records(&s.home).len() == 2);

    let dialogs: Vec<_> = asked(&prompts)
        .iter()
        .map(|q| q["dialog"].as_str().unwrap_or("?").to_owned())
        .collect();
    eprintln!("dialogs asked: {dialogs:?}");
    let logins = s.sim.logins();
    let signs: Vec<_> = s
        .sim
        .signs()
        .into_iter()
        .filter(|r| r["size_query"] == false)
        .collect();
    eprintln!("C_Login: {}, signatures: {}", logins.len(), signs.len());
    let audit = audit_records(&s.home);
    assert_eq!(
        dialogs,
        ["consent", "pin", "consent"],
        "a question for a page that left"
    );
    assert_eq!(logins.len(), 1, "{logins:#?}");
    assert_eq!(signs.len(), 1, "{signs:#?}");
    let outcomes: Vec<_> = audit
        .iter()
        .map(|r| {
            (
                r["origin"].as_str().unwrap_or("?"),
                r["result"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    // B gave up while A's signature was still being made, not once the
    // token was free again.
    assert_eq!(outcomes, [(OTHER, "USER_CANCELLED"), (ORIGIN, "ok")]);
}
