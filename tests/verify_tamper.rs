//! Signatures Mohor makes verify, later signatures and certification are
//! judged like pyHanko does, and every tampering is caught: a changed byte,
//! page content added later, a /Contents from another file, overlapping,
//! short and overlong byte ranges, a swapped certificate. Judges: pyHanko
//! and pdfsig on the same files and roots.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod verify_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use mohor::pdf;
use verify_util::pdf_util::signer;
use verify_util::*;

/// Signing options dated now: the test PKI is made fresh for each run.
fn opts(who: &str) -> pdf::PdfSignOptions {
    let mut o = verify_util::pdf_util::opts(who);
    o.signing_time = time::OffsetDateTime::now_utc();
    o
}

fn root() -> Vec<PathBuf> {
    vec![fixture().root.clone()]
}

fn sign(input: &Path, output: &Path, who: &str, o: &pdf::PdfSignOptions) {
    let mut s = signer(who);
    pdf::sign_file(input, output, &mut s, o).unwrap();
}

/// Mohor's verdicts equal pyHanko's; pdfsig agrees on intact. Returns Mohor's report.
fn judged(file: &Path) -> serde_json::Value {
    let (report, code, t) = mohor_report(file, &root(), None);
    let mohor = mohor_verdicts(&report);
    let (hanko, ht) = hanko_verdicts(file, &root());
    assert!(!mohor.is_empty(), "{t}");
    for (field, m) in &mohor {
        match hanko.iter().find(|(f, _)| f == field) {
            Some((_, h)) => assert_eq!(m, h, "field {field}: mohor vs pyHanko\n{t}\n{ht}"),
            None => assert!(
                !m.intact && ht.contains("Error"),
                "field {field}: no pyHanko verdict; mohor {m:?}\n{ht}"
            ),
        }
        if let Some((_, ok)) = pdfsig_intact(file).iter().find(|(f, _)| f == field) {
            assert_eq!(
                m.intact, *ok,
                "field {field}: pdfsig disagrees on intact\n{t}"
            );
        }
    }
    let all_ok = mohor
        .iter()
        .all(|(_, v)| v.intact && v.trusted && v.modifications != "illegal");
    assert_eq!(code, if all_ok { 0 } else { 1 }, "{t}");
    report
}

fn sig<'a>(report: &'a serde_json::Value, field: &str) -> &'a serde_json::Value {
    report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["field"] == field)
        .unwrap_or_else(|| panic!("no {field} in {report}"))
}

fn problems(s: &serde_json::Value) -> String {
    format!("{} {}", s["problems"], s["changes"])
}

struct Signed {
    dir: PathBuf,
    once: PathBuf,
    twice: PathBuf,
}

fn signed(name: &str) -> Option<Signed> {
    if !corpus_available() || !pdf_util::judges_available() {
        return None;
    }
    let dir = test_dir(name);
    let once = dir.join("once.pdf");
    let twice = dir.join("twice.pdf");
    sign(
        &corpus("pyhanko-minimal.pdf"),
        &once,
        "rsa2048",
        &opts("rsa2048"),
    );
    sign(&once, &twice, "ec256", &opts("ec256"));
    Some(Signed { dir, once, twice })
}

#[test]
fn mohors_own_signatures_verify_and_a_second_signatory_is_an_acceptable_change() {
    let Some(s) = signed("verify_own") else {
        return;
    };
    let r = judged(&s.once);
    let one = sig(&r, "Signature1");
    assert_eq!(one["trusted"], true, "{r}");
    assert_eq!(
        one["chain"],
        serde_json::json!(["Asha Verma", "Test Class 3 CA 2026", "Test CCA India"]),
        "{r}"
    );
    assert_eq!(one["chain_complete"], true);
    assert_eq!(one["valid_at_signing_time"], true);
    assert_eq!(one["modifications"], "none");
    assert_eq!(one["kind"], "pdf");
    assert_eq!(r["unsigned_changes_at_end"], false);

    let r = judged(&s.twice);
    assert_eq!(sig(&r, "Signature1")["modifications"], "acceptable", "{r}");
    assert_eq!(sig(&r, "Signature2")["modifications"], "none", "{r}");
    assert_eq!(sig(&r, "Signature2")["signer"], "Meera Nair");
}

#[test]
fn a_certified_document_signed_again_stays_acceptable() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_certified");
    let cert = dir.join("certified.pdf");
    let then = dir.join("then-signed.pdf");
    let mut o = opts("rsa2048");
    o.certify = true;
    sign(&corpus("pyhanko-minimal.pdf"), &cert, "rsa2048", &o);
    sign(&cert, &then, "rsa4096", &opts("rsa4096"));
    let r = judged(&then);
    assert_eq!(sig(&r, "Signature1")["certification"], 2, "{r}");
    assert_eq!(sig(&r, "Signature1")["modifications"], "acceptable", "{r}");
}

#[test]
fn a_byte_changed_inside_a_signed_range_breaks_the_signature() {
    let Some(s) = signed("verify_byte") else {
        return;
    };
    let mut b = std::fs::read(&s.once).unwrap();
    // The producer line of the original file, inside the first range.
    let at = find(&b, b"%PDF-").unwrap() + 7;
    b[at] = if b[at] == b'7' { b'6' } else { b'7' };
    let file = s.dir.join("byte.pdf");
    std::fs::write(&file, &b).unwrap();
    let r = judged(&file);
    let one = sig(&r, "Signature1");
    assert_eq!(one["intact"], false, "{r}");
    assert!(problems(one).contains("digest does not match"), "{r}");
}

/// `signed` with a revision after it that draws "PAID TWICE" on page 1
/// (a content stream added to the page's /Contents).
fn paid_twice(signed: &Path) -> Vec<u8> {
    let page = qpdf_first_page(signed);
    let dict = qpdf_object(signed, page);
    let bytes = std::fs::read(signed).unwrap();
    let stream = next_object(&bytes);
    let contents_at = dict.find("/Contents").expect("page /Contents");
    let rest = &dict[contents_at + 9..];
    let value_end = rest.find(" R").map(|i| i + 2).expect("indirect /Contents");
    let old = rest[..value_end].trim().to_string();
    let new_dict = format!(
        "{}/Contents [ {old} {stream} 0 R ]{}",
        &dict[..contents_at],
        &rest[value_end..]
    );
    let draw = "BT /F1 24 Tf 20 20 Td (PAID TWICE) Tj ET";
    append_revision(
        &bytes,
        &[
            (page, new_dict),
            (
                stream,
                format!("<< /Length {} >>\nstream\n{draw}\nendstream", draw.len()),
            ),
        ],
    )
}

#[test]
fn page_content_added_in_a_later_revision_is_an_illegal_change() {
    let Some(s) = signed("verify_content") else {
        return;
    };
    let file = s.dir.join("content.pdf");
    std::fs::write(&file, paid_twice(&s.once)).unwrap();
    let r = judged(&file);
    let one = sig(&r, "Signature1");
    assert_eq!(one["intact"], true, "{r}");
    assert_eq!(one["modifications"], "illegal", "{r}");
    assert!(problems(one).contains("page 1"), "the change is named: {r}");
    assert_eq!(r["unsigned_changes_at_end"], true, "{r}");
}

/// Readers take the last `startxref` whether or not a `%%EOF` follows it:
/// the same added page content with its revision's `%%EOF` left off is
/// what poppler shows (`pdftotext` reads "PAID TWICE"), so it is the same
/// illegal change (qpdf reads the file as sound). Padding after a `%%EOF`
/// (NULs, a comment) changes nothing a reader shows, and verifies as before;
/// pdfsig and pyHanko agree. (pyHanko 0.38 passes the unclosed revision as
/// an acceptable change, so it is not a judge of that half; pdfsig only
/// says the document is not wholly signed, as it does for padding.)
#[test]
fn an_update_that_no_eof_closes_is_still_an_update() {
    let Some(s) = signed("verify_no_eof") else {
        return;
    };
    let mut bytes = paid_twice(&s.once);
    assert!(bytes.ends_with(b"%%EOF\n"));
    bytes.truncate(bytes.len() - b"%%EOF\n".len());
    let unclosed = s.dir.join("unclosed.pdf");
    std::fs::write(&unclosed, &bytes).unwrap();
    let shown = |f: &Path| {
        text(&run(Command::new("pdftotext")
            .args(["-layout"])
            .arg(f)
            .arg("-")))
    };
    assert!(
        shown(&unclosed).contains("PAID TWICE"),
        "{}",
        shown(&unclosed)
    );
    // qpdf reads it as a sound file too.
    let q = run(Command::new("qpdf").arg("--check").arg(&unclosed));
    assert_eq!(q.status.code(), Some(0), "{}", text(&q));
    let (r, code, t) = mohor_report(&unclosed, &root(), None);
    let one = sig(&r, "Signature1");
    assert_eq!(one["intact"], true, "{t}");
    assert_eq!(one["modifications"], "illegal", "{t}");
    assert!(problems(one).contains("page 1"), "the change is named: {t}");
    assert_eq!(r["unsigned_changes_at_end"], true, "{t}");
    assert_eq!(code, 1, "{t}");

    let mut padded = std::fs::read(&s.once).unwrap();
    padded.extend_from_slice(b"\r\n% left by an upload form\n\0\0\0\0\0\0\0\0");
    let padded_file = s.dir.join("padded.pdf");
    std::fs::write(&padded_file, &padded).unwrap();
    assert!(!shown(&padded_file).contains("PAID TWICE"));
    let (r, code, t) = mohor_report(&padded_file, &root(), None);
    assert_eq!(sig(&r, "Signature1")["modifications"], "none", "{t}");
    assert_eq!(r["unsigned_changes_at_end"], false, "{t}");
    assert_eq!(code, 0, "{t}");
    // pdfsig and pyHanko hold it intact and trusted too (pyHanko calls the
    // padding an acceptable change; Mohor, no change to what is shown).
    assert!(pdfsig_intact(&padded_file).contains(&("Signature1".into(), true)));
    let (hanko, ht) = hanko_verdicts(&padded_file, &root());
    assert!(
        hanko.iter().any(|(f, v)| f == "Signature1"
            && v.intact
            && v.trusted
            && v.modifications != "illegal"),
        "{ht}"
    );
}

#[test]
fn a_contents_taken_from_another_file_does_not_verify() {
    let Some(s) = signed("verify_swap_contents") else {
        return;
    };
    let other = s.dir.join("other.pdf");
    let mut o = opts("rsa2048");
    o.signing_time += time::Duration::seconds(1);
    sign(&corpus("pyhanko-minimal.pdf"), &other, "rsa2048", &o);
    let mut a = std::fs::read(&s.once).unwrap();
    let b = std::fs::read(&other).unwrap();
    let (_, _, ra) = last_byte_range(&a);
    let (_, _, rb) = last_byte_range(&b);
    assert_eq!(ra[1..3], rb[1..3], "same layout");
    let (from, to) = (ra[1] as usize, ra[2] as usize);
    a[from..to].copy_from_slice(&b[from..to]);
    let file = s.dir.join("swapped-contents.pdf");
    std::fs::write(&file, &a).unwrap();
    let r = judged(&file);
    assert_eq!(sig(&r, "Signature1")["intact"], false, "{r}");
}

/// Byte ranges that do not fit: each is reported, and never trusted.
#[test]
fn overlapping_short_and_overlong_byte_ranges_are_reported_and_never_trusted() {
    let Some(s) = signed("verify_ranges") else {
        return;
    };
    let bytes = std::fs::read(&s.once).unwrap();
    let (_, _, [a, b, c, d]) = last_byte_range(&bytes);
    let cases: [(&str, [u64; 4], &str); 3] = [
        ("overlap", [a, c + 10, c, d], "overlap"),
        ("short", [a, b, c, d - 10], "whole revision"),
        ("overlong", [a, b, c, d + 1000], "past the end"),
    ];
    for (name, range, says) in cases {
        let mut t = bytes.clone();
        set_byte_range(&mut t, range);
        let file = s.dir.join(format!("{name}.pdf"));
        std::fs::write(&file, &t).unwrap();
        let (report, code, text) = mohor_report(&file, &root(), None);
        let one = sig(&report, "Signature1");
        assert_eq!(one["intact"], false, "{name}: {text}");
        assert_eq!(one["trusted"], false, "{name}: {text}");
        assert!(problems(one).contains(says), "{name}: {text}");
        assert_eq!(code, 1);
        // pdfsig and pyHanko do not accept it either.
        let (hanko, ht) = hanko_verdicts(&file, &root());
        assert!(
            hanko
                .iter()
                .all(|(_, v)| !(v.intact && v.trusted && v.modifications != "illegal")),
            "{name}: pyHanko accepted it\n{ht}"
        );
        let ps = pdfsig(&file);
        assert!(
            ps.signatures.iter().all(|s| !s.valid() || !s.whole_file),
            "{name}: pdfsig accepted it\n{}",
            ps.output
        );
    }
}

#[test]
fn a_certificate_swapped_in_the_cms_does_not_verify() {
    let Some(s) = signed("verify_swap_cert") else {
        return;
    };
    let file = s.dir.join("swapped-cert.pdf");
    let out = run(
        Command::new(pdf_util::common::repo().join(".venv/bin/python"))
            .arg(pdf_util::common::repo().join("tests/verify_util/swap_cert.py"))
            .arg(&s.once)
            .arg(&fixture().cert("pan").cert)
            .arg(&file),
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = judged(&file);
    let one = sig(&r, "Signature1");
    assert_eq!(one["intact"], false, "{r}");
    assert_eq!(
        one["signer"],
        fixture().cert("pan").cn,
        "the report names the certificate found: {r}"
    );
}

/// A later revision adding a sticky note to page 1 (in the page's /Annots,
/// direct or indirect).
fn add_note(signed: &Path, out: &Path) {
    let bytes = std::fs::read(signed).unwrap();
    let page = qpdf_first_page(signed);
    let dict = qpdf_object(signed, page);
    let note = next_object(&bytes);
    let body = format!("<< /Type /Annot /Subtype /Text /Rect [ 100 100 120 120 ] /Contents (Checked) /P {page} 0 R >>");
    let at = dict.find("/Annots").expect("page /Annots");
    let rest = dict[at + 7..].trim_start();
    let mut objects = vec![(note, body)];
    if rest.starts_with('[') {
        let close = at + 7 + dict[at + 7..].find(']').unwrap();
        objects.push((
            page,
            format!("{} {note} 0 R {}", &dict[..close], &dict[close..]),
        ));
    } else {
        let array: u32 = rest.split_whitespace().next().unwrap().parse().unwrap();
        let text = qpdf_object(signed, array);
        let close = text.rfind(']').unwrap();
        objects.push((
            array,
            format!("{} {note} 0 R {}", &text[..close], &text[close..]),
        ));
    }
    std::fs::write(out, append_revision(&bytes, &objects)).unwrap();
}

/// The rule: annotations are allowed after a signature unless a
/// certification forbids them. pyHanko's standard policy whitelists no
/// annotations at all, so it judges only the certified case, where both
/// call the change illegal; the uncertified case is Mohor's rule alone.
#[test]
fn an_annotation_is_allowed_after_a_signature_but_not_after_a_form_filling_certification() {
    let Some(s) = signed("verify_annotations") else {
        return;
    };
    let noted = s.dir.join("noted.pdf");
    add_note(&s.once, &noted);
    let (r, code, t) = mohor_report(&noted, &root(), None);
    let one = sig(&r, "Signature1");
    assert_eq!(one["modifications"], "acceptable", "{t}");
    assert!(
        problems(one).contains("Text annotation added on page 1"),
        "{r}"
    );
    assert_eq!(code, 0, "{t}");
    assert_eq!(pdfsig_intact(&noted), [("Signature1".to_string(), true)]);

    let certified = s.dir.join("certified.pdf");
    let mut o = opts("rsa2048");
    o.certify = true;
    sign(&corpus("pyhanko-minimal.pdf"), &certified, "rsa2048", &o);
    let noted = s.dir.join("certified-noted.pdf");
    add_note(&certified, &noted);
    let r = judged(&noted);
    let one = sig(&r, "Signature1");
    assert_eq!(one["modifications"], "illegal", "{r}");
    assert!(
        problems(one).contains("Text annotation added on page 1"),
        "{r}"
    );
    assert!(!problems(one).contains("Resources"), "{r}");
}

/// Only a document's first signature can certify it. A later signer who
/// writes a DocMDP P=3 claim into their own signature dictionary, and lists
/// their field first, must not make an annotation acceptable after a form
/// filling certification. Before, Mohor took the certification level from
/// the first field in form order, so the note passed as "acceptable"
/// (exit 0); pyHanko reads it from the catalog's /Perms and calls it
/// illegal, and pdfsig finds both signatures intact.
#[test]
fn a_later_signature_claiming_to_certify_does_not_loosen_the_certification() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_claimed_certification");
    let certified = dir.join("certified.pdf");
    let mut o = opts("rsa2048");
    o.certify = true;
    sign(&corpus("pyhanko-minimal.pdf"), &certified, "rsa2048", &o);
    let claimed = dir.join("claimed.pdf");
    let c = fixture().cert("ec256");
    let out = run(
        Command::new(pdf_util::common::repo().join(".venv/bin/python"))
            .arg(pdf_util::common::repo().join("tests/verify_util/claim_certification.py"))
            .arg(&c.key)
            .arg(&c.cert)
            .arg(&fixture().chain)
            .arg(&certified)
            .arg(&claimed),
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = judged(&claimed);
    let certification = sig(&r, "Signature1");
    assert_eq!(certification["certification"], 2, "{r}");
    assert_eq!(certification["modifications"], "illegal", "{r}");
    assert!(
        problems(certification).contains(
            "Text annotation added on page 1 (the certification does not allow annotations)"
        ),
        "{r}"
    );
    let claimant = sig(&r, "Claimant");
    assert_eq!(claimant["certification"], serde_json::Value::Null, "{r}");
    assert!(
        problems(claimant).contains("claims to certify the document"),
        "{r}"
    );
}

#[test]
fn filling_in_a_form_after_signing_is_acceptable_and_named() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_form_filling");
    let signed = dir.join("signed.pdf");
    sign(
        &corpus("pyhanko-simple-acroform-states.pdf"),
        &signed,
        "rsa2048",
        &opts("rsa2048"),
    );
    let field = qpdf_object(&signed, 8);
    assert!(
        field.contains("/V /Off") && field.contains("/AS /Off"),
        "{field}"
    );
    let ticked = field
        .replace("/V /Off", "/V /Yes")
        .replace("/AS /Off", "/AS /Yes");
    let bytes = std::fs::read(&signed).unwrap();
    let filled = dir.join("filled.pdf");
    std::fs::write(&filled, append_revision(&bytes, &[(8, ticked)])).unwrap();
    let r = judged(&filled);
    let s = &r["signatures"][0];
    assert_eq!(s["modifications"], "acceptable", "{r}");
    assert!(problems(s).contains("form field checkOff filled in"), "{r}");
}

/// A CRL from a throwaway CA (DER), for a document security store.
fn some_crl(dir: &Path) -> Vec<u8> {
    let run_ssl = |args: &[&str]| {
        let o = run(Command::new("openssl").current_dir(dir).args(args));
        assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
    };
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = c\n[c]\ndatabase = ./index.txt\ndefault_md = sha256\ndefault_crl_days = 30\n",
    )
    .unwrap();
    run_ssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=CRL Issuer",
    ]);
    run_ssl(&[
        "ca", "-gencrl", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-out",
        "crl.pem",
    ]);
    run_ssl(&[
        "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
    ]);
    std::fs::read(dir.join("crl.der")).unwrap()
}

#[test]
fn validation_data_added_later_is_acceptable_and_counted() {
    let Some(s) = signed("verify_dss") else {
        return;
    };
    let bytes = std::fs::read(&s.once).unwrap();
    let root_num: u32 = {
        let text = String::from_utf8_lossy(&bytes);
        let at = text.rfind("/Root ").unwrap();
        text[at + 6..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let catalog = qpdf_object(&s.once, root_num);
    let (dss, crl) = (next_object(&bytes), next_object(&bytes) + 1);
    let crl_der = some_crl(&s.dir);
    let close = catalog.rfind(">>").unwrap();
    let new_catalog = format!("{} /DSS {dss} 0 R {}", &catalog[..close], &catalog[close..]);
    let mut crl_body = format!("<< /Length {} >>\nstream\n", crl_der.len()).into_bytes();
    crl_body.extend_from_slice(&crl_der);
    crl_body.extend_from_slice(b"\nendstream");
    let out = append_revision_raw(
        &bytes,
        &[
            (root_num, new_catalog.into_bytes()),
            (
                dss,
                format!("<< /Type /DSS /CRLs [ {crl} 0 R ] >>").into_bytes(),
            ),
            (crl, crl_body),
        ],
    );
    let file = s.dir.join("with-dss.pdf");
    std::fs::write(&file, &out).unwrap();
    let r = judged(&file);
    let one = sig(&r, "Signature1");
    assert_eq!(one["modifications"], "acceptable", "{r}");
    assert_eq!(one["revocation"]["embedded_crls"], 1, "{r}");
}

#[test]
fn a_certificate_for_encryption_only_is_never_trusted_for_a_signature() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_key_usage");
    let file = dir.join("enc.pdf");
    sign(&corpus("pyhanko-minimal.pdf"), &file, "enc", &opts("enc"));
    let r = judged(&file);
    let one = sig(&r, "Signature1");
    assert_eq!(one["intact"], true, "{r}");
    assert_eq!(one["trusted"], false, "{r}");
    assert!(problems(one).contains("key usage"), "{r}");
}
