//! The signature kinds the Indian PKI produces, in PDFs signed outside
//! Mohor (openssl makes the CMS): adbe.pkcs7.sha1 (GSTN), adbe.pkcs7.detached
//! in BER with indefinite lengths (MCA filings), and document timestamps
//! (ETSI.RFC3161). Mohor's verdicts equal pyHanko's; pdfsig agrees on intact.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod verify_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use mohor::pdf;
use verify_util::*;

fn root() -> Vec<PathBuf> {
    vec![fixture().root.clone()]
}

/// A prepared signature with an empty /Contents, the dictionary rewritten
/// by `patch`; returns the file and the signed bytes (both ranges).
fn placeholder(
    dir: &Path,
    patch: impl Fn(&mut Vec<u8>, usize, usize),
) -> (Vec<u8>, [u64; 4], Vec<u8>) {
    placeholder_of(&corpus("pyhanko-minimal.pdf"), dir, patch)
}

fn placeholder_of(
    input: &Path,
    dir: &Path,
    patch: impl Fn(&mut Vec<u8>, usize, usize),
) -> (Vec<u8>, [u64; 4], Vec<u8>) {
    let mut o = verify_util::pdf_util::opts("rsa2048");
    // Room in the dictionary for entries a test writes instead.
    o.reason = Some("x".repeat(200));
    o.signing_time = time::OffsetDateTime::now_utc();
    o.contents_capacity = 16 * 1024;
    let prepared = pdf::prepare(input, &o).unwrap();
    let r = prepared.byte_range();
    let mut bytes = Vec::new();
    prepared.write_to(&[], &mut bytes).unwrap();
    // The signature dictionary's entries run from its `<<` to /ByteRange.
    let br = find(&bytes[r[1] as usize - 600..], b"/ByteRange").unwrap() + r[1] as usize - 600;
    let start = bytes[..br].windows(2).rposition(|w| w == b"<<").unwrap() + 2;
    patch(&mut bytes, start, br);
    let mut signed = bytes[..r[1] as usize].to_vec();
    signed.extend_from_slice(&bytes[r[2] as usize..]);
    std::fs::write(dir.join("placeholder.pdf"), &bytes).unwrap();
    (bytes, r, signed)
}

/// Replace the entries between `start` and `end` with `entries`, space padded.
fn entries(bytes: &mut [u8], start: usize, end: usize, entries: &str) {
    assert!(entries.len() <= end - start, "entries too long");
    let padded = format!("{entries:<width$}", width = end - start);
    bytes[start..end].copy_from_slice(padded.as_bytes());
}

fn insert(mut bytes: Vec<u8>, r: [u64; 4], cms: &[u8]) -> Vec<u8> {
    let hex_text = hex::encode_upper(cms);
    let (from, to) = (r[1] as usize + 1, r[2] as usize - 1);
    assert!(
        hex_text.len() <= to - from,
        "CMS too large for the placeholder"
    );
    bytes[from..from + hex_text.len()].copy_from_slice(hex_text.as_bytes());
    bytes
}

fn openssl(args: &[&str], paths: &[(&str, &Path)]) {
    let mut cmd = Command::new("openssl");
    cmd.args(args);
    for (flag, p) in paths {
        cmd.arg(flag).arg(p);
    }
    let o = run(&mut cmd);
    assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
}

fn signer_files() -> (PathBuf, PathBuf, PathBuf) {
    let c = fixture().cert("rsa2048");
    (c.cert, c.key, fixture().dir.join("pki/subca.pem"))
}

/// Mohor = pyHanko on every field; pdfsig agrees on intact.
fn judged(file: &Path) -> serde_json::Value {
    let (report, code, t) = mohor_report(file, &root(), None);
    let mohor = mohor_verdicts(&report);
    let (hanko, ht) = hanko_verdicts(file, &root());
    assert_eq!(mohor.len(), 1, "{t}");
    for (field, m) in &mohor {
        let h = hanko
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no pyHanko verdict\n{ht}"));
        assert_eq!(m, h, "field {field}: mohor vs pyHanko\n{t}\n{ht}");
        if let Some((_, ok)) = pdfsig_intact(file).iter().find(|(f, _)| f == field) {
            assert_eq!(m.intact, *ok, "pdfsig disagrees\n{t}");
        }
        let ok = m.intact && m.trusted && m.modifications != "illegal";
        assert_eq!(code, if ok { 0 } else { 1 }, "{t}");
    }
    report
}

#[test]
fn adbe_pkcs7_sha1_signatures_verify_and_a_changed_byte_is_caught() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_kind_sha1");
    let (bytes, r, signed) = placeholder(&dir, |b, s, e| {
        let text = String::from_utf8_lossy(&b[s..e])
            .replace("/ETSI.CAdES.detached", "/adbe.pkcs7.sha1    ");
        entries(b, s, e, &text);
    });
    let data = dir.join("digest.bin");
    let ranges = dir.join("ranges.bin");
    std::fs::write(&ranges, &signed).unwrap();
    let d = run(Command::new("openssl")
        .args(["dgst", "-sha1", "-binary"])
        .arg(&ranges));
    std::fs::write(&data, &d.stdout).unwrap();
    let (cert, key, subca) = signer_files();
    let cms = dir.join("sha1.der");
    openssl(
        // SHA-1 throughout, as GSTN's signer does (poppler expects that too).
        &[
            "cms",
            "-sign",
            "-nodetach",
            "-binary",
            "-md",
            "sha1",
            "-outform",
            "DER",
        ],
        &[
            ("-in", &data),
            ("-signer", &cert),
            ("-inkey", &key),
            ("-certfile", &subca),
            ("-out", &cms),
        ],
    );
    let file = dir.join("sha1.pdf");
    let pdf_bytes = insert(bytes, r, &std::fs::read(&cms).unwrap());
    std::fs::write(&file, &pdf_bytes).unwrap();
    // pyHanko ignores this sub-filter ("unsupported SubFilter"): pdfsig judges.
    let (report, code, t) = mohor_report(&file, &root(), None);
    let s = &report["signatures"][0];
    assert_eq!(s["sub_filter"], "adbe.pkcs7.sha1");
    assert_eq!(
        (s["intact"].clone(), s["trusted"].clone(), code),
        (true.into(), true.into(), 0),
        "{t}"
    );
    assert_eq!(pdfsig_intact(&file), [("Signature1".to_string(), true)]);

    let mut bad = pdf_bytes.clone();
    let at = find(&bad, b"%PDF-").unwrap() + 7;
    bad[at] = if bad[at] == b'7' { b'6' } else { b'7' };
    let file = dir.join("sha1-changed.pdf");
    std::fs::write(&file, &bad).unwrap();
    let (report, code, t) = mohor_report(&file, &root(), None);
    assert_eq!(report["signatures"][0]["intact"], false, "{t}");
    assert_eq!(code, 1);
    assert_eq!(pdfsig_intact(&file), [("Signature1".to_string(), false)]);
}

#[test]
fn ber_cms_in_a_pdf_verifies() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_kind_ber");
    let (bytes, r, signed) = placeholder(&dir, |b, s, e| {
        let text = String::from_utf8_lossy(&b[s..e])
            .replace("/ETSI.CAdES.detached", "/adbe.pkcs7.detached");
        entries(b, s, e, &text);
    });
    let ranges = dir.join("ranges.bin");
    std::fs::write(&ranges, &signed).unwrap();
    let (cert, key, subca) = signer_files();
    let cms = dir.join("ber.der");
    openssl(
        &[
            "cms", "-sign", "-binary", "-stream", "-md", "sha256", "-outform", "DER",
        ],
        &[
            ("-in", &ranges),
            ("-signer", &cert),
            ("-inkey", &key),
            ("-certfile", &subca),
            ("-out", &cms),
        ],
    );
    // openssl's streaming signer encapsulates the content: cut it out.
    let detached = dir.join("ber-detached.der");
    let o = run(
        Command::new(pdf_util::common::repo().join(".venv/bin/python"))
            .arg(pdf_util::common::repo().join("tests/verify_util/detach_ber.py"))
            .arg(&cms)
            .arg(&detached),
    );
    assert!(o.status.success(), "{}", text(&o));
    let cms_bytes = std::fs::read(&detached).unwrap();
    assert_eq!(cms_bytes[1], 0x80, "not BER");
    let file = dir.join("ber.pdf");
    std::fs::write(&file, insert(bytes, r, &cms_bytes)).unwrap();
    let report = judged(&file);
    assert_eq!(report["signatures"][0]["trusted"], true, "{report}");
}

#[test]
fn a_document_timestamp_verifies_as_the_authoritys_signature() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_kind_doc_ts");
    let pki = fixture().dir.join("pki");
    // A time-stamping authority under the test root.
    let (tsa_key, tsa_csr, tsa_cert, ext) = (
        dir.join("tsa.key"),
        dir.join("tsa.csr"),
        dir.join("tsa.pem"),
        dir.join("tsa.ext"),
    );
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/C=IN/O=Test/CN=Test TSA",
        ],
        &[("-keyout", &tsa_key), ("-out", &tsa_csr)],
    );
    openssl(
        &[
            "x509",
            "-req",
            "-days",
            "30",
            "-sha256",
            "-set_serial",
            "77",
        ],
        &[
            ("-in", &tsa_csr),
            ("-CA", &pki.join("root.pem")),
            ("-CAkey", &pki.join("root.key.pem")),
            ("-extfile", &ext),
            ("-out", &tsa_cert),
        ],
    );
    std::fs::write(dir.join("tsaserial"), "01\n").unwrap();
    let conf = dir.join("ts.cnf");
    std::fs::write(
        &conf,
        format!(
            "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = {}\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\nordering = no\ness_cert_id_alg = sha256\n",
            dir.join("tsaserial").display()
        ),
    )
    .unwrap();

    let (bytes, r, signed) = placeholder(&dir, |b, s, e| {
        entries(
            b,
            s,
            e,
            "/Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161",
        );
    });
    let ranges = dir.join("ranges.bin");
    std::fs::write(&ranges, &signed).unwrap();
    let query = dir.join("q.tsq");
    let token = dir.join("token.der");
    openssl(
        &["ts", "-query", "-sha256", "-cert", "-no_nonce"],
        &[("-data", &ranges), ("-out", &query)],
    );
    openssl(
        &["ts", "-reply", "-token_out"],
        &[
            ("-config", &conf),
            ("-queryfile", &query),
            ("-signer", &tsa_cert),
            ("-inkey", &tsa_key),
            ("-chain", &pki.join("root.pem")),
            ("-out", &token),
        ],
    );
    let file = dir.join("doc-ts.pdf");
    std::fs::write(&file, insert(bytes, r, &std::fs::read(&token).unwrap())).unwrap();
    // pyHanko's CLI skips document timestamps outside LTA mode: ask its library.
    let o = run(
        Command::new(pdf_util::common::repo().join(".venv/bin/python"))
            .arg(pdf_util::common::repo().join("tests/verify_util/validate_doc_ts.py"))
            .arg(&fixture().root)
            .arg(&file),
    );
    assert_eq!(
        text(&o).trim(),
        "Signature1:INTACT:TRUSTED",
        "pyHanko: {}",
        text(&o)
    );
    let (report, code, t) = mohor_report(&file, &root(), None);
    assert_eq!(code, 0, "{t}");
    let s = &report["signatures"][0];
    assert_eq!(s["sub_filter"], "ETSI.RFC3161", "{report}");
    assert_eq!(s["signer"], "Test TSA", "{report}");
    assert_eq!(s["signing_time_source"], "timestamp", "{report}");
    assert_eq!(s["trusted"], true, "{report}");
}

/// FieldMDP: a signature that locks field checkOff makes ticking it later
/// illegal, while ticking checkOn stays form filling. pyHanko judges both.
#[test]
fn a_fieldmdp_lock_makes_filling_the_locked_field_illegal() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_kind_fieldmdp");
    let input = corpus("pyhanko-simple-acroform-states.pdf");
    let (bytes, r, signed) = placeholder_of(&input, &dir, |b, s, e| {
        entries(
            b,
            s,
            e,
            "/Type/Sig/Filter/Adobe.PPKLite/SubFilter/adbe.pkcs7.detached/Reference[<</Type/SigRef\
             /TransformMethod/FieldMDP/TransformParams<</Type/TransformParams/Action/Include\
             /Fields[(checkOff)]/V/1.2>>>>]",
        );
    });
    let ranges = dir.join("ranges.bin");
    std::fs::write(&ranges, &signed).unwrap();
    let (cert, key, subca) = signer_files();
    let cms = dir.join("locked.der");
    openssl(
        &[
            "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER",
        ],
        &[
            ("-in", &ranges),
            ("-signer", &cert),
            ("-inkey", &key),
            ("-certfile", &subca),
            ("-out", &cms),
        ],
    );
    let locked = dir.join("locked.pdf");
    std::fs::write(&locked, insert(bytes, r, &std::fs::read(&cms).unwrap())).unwrap();
    let report = judged(&locked);
    assert_eq!(report["signatures"][0]["trusted"], true, "{report}");

    for (num, name, verdict) in [(8, "checkOff", "illegal"), (11, "checkOn", "acceptable")] {
        let field = qpdf_object(&locked, num);
        let (from, to) = if name == "checkOff" {
            ("/Off", "/Yes")
        } else {
            ("/Yes", "/Off")
        };
        let changed = field
            .replace(&format!("/V {from}"), &format!("/V {to}"))
            .replace(&format!("/AS {from}"), &format!("/AS {to}"));
        assert_ne!(changed, field, "{field}");
        let file = dir.join(format!("{name}.pdf"));
        std::fs::write(
            &file,
            append_revision(&std::fs::read(&locked).unwrap(), &[(num, changed)]),
        )
        .unwrap();
        let report = judged(&file);
        assert_eq!(
            report["signatures"][0]["modifications"], verdict,
            "{name}: {report}"
        );
    }
}

/// `input` signed by pyHanko into `signed`, then Mohor's report of it: the
/// signature holds for Mohor, pyHanko and pdfsig alike (a warning is not a
/// failed signature). Returns the report's `warnings`.
fn warnings_once_signed_elsewhere(input: &Path, signed: &Path) -> Vec<String> {
    pdf_util::pyhanko_addsig(input, signed, "Approval", "ec256").unwrap();
    let (report, code, t) = mohor_report(signed, &root(), None);
    assert_eq!(code, 0, "{}:\n{t}", input.display());
    let (hanko, ht) = hanko_verdicts(signed, &root());
    assert_eq!(mohor_verdicts(&report), hanko, "{t}\n{ht}");
    assert_eq!(pdfsig_intact(signed), [("Approval".to_string(), true)]);
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

/// A dynamic XFA form signed elsewhere (pyHanko signs what it is given):
/// the signature holds, and the report says what no viewer shows — the form
/// a person read is drawn from XML, not the page the signature sits on. A
/// hybrid form, whose PDF pages are the form, gets no such warning.
#[test]
fn a_dynamic_xfa_form_signed_elsewhere_verifies_with_a_warning_about_what_was_seen() {
    if !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_kind_dynamic_xfa");
    for dynamic in [true, false] {
        let form = dir.join(format!("form-{dynamic}.pdf"));
        pdf_util::xfa::xfa_form(&form, false, dynamic);
        let signed = dir.join(format!("signed-{dynamic}.pdf"));
        let warnings = warnings_once_signed_elsewhere(&form, &signed);
        if dynamic {
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(
                warnings[0].starts_with("the PDF is a dynamic XFA form"),
                "{warnings:?}"
            );
            let human = run(Command::new(env!("CARGO_BIN_EXE_mohor"))
                .env("MOHOR_HOME", &dir)
                .args(["verify", "--trust-replace", "--trust"])
                .arg(&root()[0])
                .arg(&signed));
            let human = text(&human);
            assert!(human.contains("! the PDF is a dynamic XFA form"), "{human}");
        } else {
            assert!(warnings.is_empty(), "{warnings:?}");
        }
    }
}

/// One-page documents whose catalog holds `catalog_extra`, with `more`
/// objects from number 4 on (3 is the page, `page_extra` in it).
fn one_page(path: &Path, catalog_extra: &str, page_extra: &str, more: &[&str]) {
    let mut objects = vec![
        format!("<< /Type /Catalog /Pages 2 0 R{catalog_extra} >>"),
        "<< /Type /Pages /Count 1 /Kids [3 0 R] >>".to_string(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]{page_extra} >>"),
    ];
    objects.extend(more.iter().map(|o| o.to_string()));
    let id = pdf_util::FIXED_ID;
    std::fs::write(
        path,
        pdf_util::common::classic_pdf(b"%PDF-1.7\n", &objects, id),
    )
    .unwrap();
}

/// Scripts that run when a document opens (or closes, saves, prints) can
/// show something other than what the signer saw while every signature
/// stays intact: the report says so. Field scripts (number formats) are
/// on most government forms and get no warning; a looping action chain
/// ends. pyHanko signs; Mohor's verdicts equal pyHanko's; pdfsig agrees;
/// poppler's `pdfinfo -js` shows the scripts it lists.
#[test]
fn document_level_javascript_gets_a_warning_and_field_scripts_do_not() {
    if !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_kind_javascript");
    let field = "<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /P 3 0 R \
                 /Rect [36 700 300 720] /AA << /F << /S /JavaScript \
                 /JS (AFNumber_Format\\(2,0,0,0,\"\",true\\);) >> >> >>";
    let cases: [(&str, &str, &str, &[&str], bool); 6] = [
        (
            "open-action",
            " /OpenAction << /S /JavaScript /JS (app.alert\\('opened'\\);) >>",
            "",
            &[],
            true,
        ),
        (
            "named",
            " /Names << /JavaScript 4 0 R >>",
            "",
            &["<< /Names [(init) << /S /JavaScript /JS (this.dirty = false;) >>] >>"],
            true,
        ),
        (
            "chained",
            " /OpenAction << /S /GoTo /D [3 0 R /Fit] /Next [4 0 R] >>",
            "",
            &["<< /S /JavaScript /JS (1;) >>"],
            true,
        ),
        (
            "before-print",
            " /AA << /WP 4 0 R >>",
            "",
            &["<< /S /JavaScript /JS (this.print;) >>"],
            true,
        ),
        (
            "field-only",
            " /OpenAction [3 0 R /Fit] /AcroForm << /Fields [4 0 R] >>",
            " /Annots [4 0 R]",
            &[field],
            false,
        ),
        (
            "looping-chain",
            " /OpenAction 4 0 R",
            "",
            &["<< /S /GoTo /D [3 0 R /Fit] /Next 4 0 R >>"],
            false,
        ),
    ];
    for (name, catalog, page, more, warned) in cases {
        let input = dir.join(format!("{name}.pdf"));
        one_page(&input, catalog, page, more);
        let signed = dir.join(format!("{name}-signed.pdf"));
        let warnings = warnings_once_signed_elsewhere(&input, &signed);
        let scripts_warned = warnings
            .iter()
            .any(|w| w.contains("document-level JavaScript"));
        assert_eq!(scripts_warned, warned, "{name}: {warnings:?}");
    }
    // What poppler lists: the named script, and the field's format script
    // (which Mohor leaves alone on purpose).
    let js = |name: &str| {
        text(&run(Command::new("pdfinfo")
            .arg("-js")
            .arg(dir.join(format!("{name}-signed.pdf")))))
    };
    assert!(
        js("named").contains("this.dirty = false;"),
        "{}",
        js("named")
    );
    assert!(
        js("field-only").contains("AFNumber_Format"),
        "{}",
        js("field-only")
    );
}

/// An unsigned PDF is not "verified": `verify` exits non-zero, says the file
/// has no signature and what to give instead, and still lists what it saw
/// about the document (here its open-action script). pdfsig and pyHanko
/// find no signature either.
#[test]
fn an_unsigned_pdf_is_refused_saying_to_give_the_signed_copy() {
    if !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_kind_unsigned");
    let input = dir.join("unsigned.pdf");
    one_page(
        &input,
        " /OpenAction << /S /JavaScript /JS (app.alert\\('opened'\\);) >>",
        "",
        &[],
    );
    let (report, code, t) = mohor_report(&input, &root(), None);
    assert_ne!(code, 0, "{t}");
    assert_eq!(report["signatures"], serde_json::json!([]), "{t}");
    assert!(
        report["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("document-level JavaScript")),
        "{t}"
    );
    assert!(t.contains("unsigned.pdf has no signature"), "{t}");
    assert!(t.contains("give the signed copy"), "{t}");
    assert!(t.contains("(DOCUMENT_REFUSED)"), "{t}");
    let poppler = text(&run(Command::new("pdfsig").arg(&input)));
    assert!(
        poppler.contains("does not contain any signatures"),
        "{poppler}"
    );
    assert!(pdf_util::pyhanko_statuses(&input).is_empty());
}

/// A PDF signature whose CMS holds two SignerInfos (openssl's `-resign`
/// adds one): ISO 32000-1 allows exactly one. Before, Mohor reported the
/// first signer as intact and trusted (exit 0) even when the other
/// signer's signature was broken; openssl fails on the broken one, and
/// pyHanko refuses any signature with more than one signer. Now such a
/// signature is never trusted, and not intact when another signer fails.
#[test]
fn a_pdf_signature_with_two_signers_is_not_trusted() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_kind_two_signers");
    let (bytes, r, signed) = placeholder(&dir, |_, _, _| {});
    let ranges = dir.join("ranges.bin");
    std::fs::write(&ranges, &signed).unwrap();
    let (cert, key, subca) = signer_files();
    let one = dir.join("one.der");
    openssl(
        &[
            "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER",
        ],
        &[
            ("-in", &ranges),
            ("-signer", &cert),
            ("-inkey", &key),
            ("-certfile", &subca),
            ("-out", &one),
        ],
    );
    let second = fixture().cert("ec256");
    let two = dir.join("two.der");
    openssl(
        &[
            "cms", "-resign", "-binary", "-md", "sha256", "-inform", "DER", "-outform", "DER",
        ],
        &[
            ("-in", &one),
            ("-content", &ranges),
            ("-signer", &second.cert),
            ("-inkey", &second.key),
            ("-out", &two),
        ],
    );
    let both = std::fs::read(&two).unwrap();
    // The last bytes are the last SignerInfo's signature value.
    let mut broken = both.clone();
    let at = broken.len() - 3;
    broken[at] ^= 1;
    let broken_der = dir.join("broken.der");
    std::fs::write(&broken_der, &broken).unwrap();

    for (name, cms, der, intact) in [
        ("two", &both, &two, true),
        ("broken", &broken, &broken_der, false),
    ] {
        let o = run(Command::new("openssl")
            .args([
                "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
            ])
            .arg("-in")
            .arg(der)
            .arg("-content")
            .arg(&ranges)
            .arg("-CAfile")
            .arg(&fixture().root)
            .args(["-out", "/dev/null"]));
        assert_eq!(o.status.success(), intact, "{name}: openssl: {}", text(&o));
        let file = dir.join(format!("{name}.pdf"));
        std::fs::write(&file, insert(bytes.clone(), r, cms)).unwrap();
        let (report, code, t) = mohor_report(&file, &root(), None);
        let s = &report["signatures"][0];
        assert_eq!(
            (s["intact"].clone(), s["trusted"].clone(), code),
            (intact.into(), false.into(), 1),
            "{name}: {t}"
        );
        assert!(
            s["problems"].to_string().contains("holds 2 signers"),
            "{name}: {t}"
        );
        let (hanko, ht) = hanko_verdicts(&file, &root());
        assert!(
            hanko.is_empty() && ht.contains("Error"),
            "{name}: pyHanko gave a verdict: {ht}"
        );
    }
}
