//! Structures readers accept that Mohor used to refuse or sign wrongly:
//! inline page-tree kids, signature fields whose widget is a kid, FieldMDP
//! locks, bytes before `%PDF-`, XFA forms (hybrid ones signed so that
//! every viewer shows the signature, dynamic ones refused), and names with
//! a `#` that is no escape. Each signed file is judged by qpdf, pyHanko and
//! pdfsig.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use std::path::{Path, PathBuf};

use common::objstm::{with_object_streams, ObjectStream};
use mohor::pdf::{self, PdfError};
use pdf_util::xfa::{poppler_form_kind, xfa_form};
use pdf_util::*;

/// A classic-xref PDF from its objects (numbered from 1, catalog first).
fn write_pdf(path: &Path, objects: &[&str]) {
    let pdf = common::classic_pdf(b"%PDF-1.7\n", objects, FIXED_ID);
    std::fs::write(path, pdf).expect("write test PDF");
}

/// Every judge on the new signature; `input` decides which qpdf verdict
/// is acceptable (qpdf warns about some structures readers accept).
fn judged(file: &Path, field: &str, input: &Path) {
    if let Err(e) = judge_new_signature(file, field, qpdf_check(input).0) {
        panic!("{}: {e}", file.display());
    }
}

fn ready(name: &str) -> Option<PathBuf> {
    (judges_available()).then(|| test_dir(&format!("pdf_compat/{name}")))
}

/// Page 1 inline in /Kids, page 2 an object of its own.
const INLINE_KID: &[&str] = &[
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Count 2 /Kids [<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> 3 0 R] >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
];

#[test]
fn a_page_tree_with_an_inline_kid_signs_invisibly_on_a_page_object() {
    let Some(dir) = ready("inline-kid") else {
        return;
    };
    let input = dir.join("in.pdf");
    write_pdf(&input, INLINE_KID);
    let a = dir.join("a.pdf");
    let b = dir.join("b.pdf");
    let signed = pdf::sign_file(&input, &a, &mut signer("rsa2048"), &opts("rsa2048"))
        .expect("an invisible signature does not need the inline page");
    judged(&a, &signed.field_name, &input);
    // The last page is an object: a stamp there is fine too.
    let mut o = opts("ec256");
    o.visible_auto = true;
    let second = pdf::sign_file(&a, &b, &mut signer("ec256"), &o).expect("stamp on page 2");
    judged(&b, &second.field_name, &input);
    assert_eq!(pdf::inspect(&b).expect("inspect").page_count, 2);
}

#[test]
fn a_stamp_on_an_inline_page_is_refused_saying_why() {
    let Some(dir) = ready("inline-kid-stamp") else {
        return;
    };
    let input = dir.join("in.pdf");
    write_pdf(&input, INLINE_KID);
    let mut o = opts("rsa2048");
    o.visible = stamp(1, 36.0, 36.0, 200.0, 60.0);
    let out = dir.join("out.pdf");
    match pdf::sign_file(&input, &out, &mut signer("rsa2048"), &o) {
        Err(e @ PdfError::CannotStamp(_)) => {
            assert!(
                e.to_string()
                    .contains("page 1 is written inside its parent"),
                "{e}"
            );
            assert_eq!(mohor::Error::from(e).reason, mohor::Reason::DocumentRefused);
        }
        other => panic!("expected CannotStamp, got {other:?}"),
    }
    assert!(!out.exists());
}

/// A signature field "Approval" whose widget is a kid with its own box,
/// and "Second" locked by Approval's /Lock.
const KID_WIDGET_AND_LOCK: &[&str] = &[
    "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R 6 0 R] >> >>",
    "<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [5 0 R 7 0 R] >>",
    "<< /FT /Sig /T (Approval) /Kids [5 0 R] /Lock 8 0 R >>",
    "<< /Type /Annot /Subtype /Widget /Parent 4 0 R /P 3 0 R /Rect [36 700 256 760] /F 4 >>",
    "<< /FT /Sig /T (Second) /Kids [7 0 R] >>",
    "<< /Type /Annot /Subtype /Widget /Parent 6 0 R /P 3 0 R /Rect [300 700 520 760] /F 4 >>",
    "<< /Type /SigFieldLock /Action /Include /Fields [(Second)] >>",
];

#[test]
fn a_field_whose_widget_is_a_kid_gets_its_stamp_and_its_lock() {
    let Some(dir) = ready("kid-widget") else {
        return;
    };
    let input = dir.join("in.pdf");
    write_pdf(&input, KID_WIDGET_AND_LOCK);
    let a = dir.join("a.pdf");
    let mut o = opts("rsa2048");
    o.field = Some("Approval".into());
    let signed = pdf::sign_file(&input, &a, &mut signer("rsa2048"), &o).expect("signs Approval");
    assert_eq!(signed.field_name, "Approval");
    // pdfsig reports a field whose widget is a kid as "not signed" whoever
    // signs it (pyHanko's own signature there gets the same), so here
    // qpdf and pyHanko judge.
    assert_eq!(qpdf_check(&a).0, 0, "{}", qpdf_check(&a).1);
    let hanko = pyhanko_validate(&a, "Approval");
    assert!(hanko.valid(), "{}", hanko.output);
    let revision = std::fs::read(&a).expect("read")
        [std::fs::metadata(&input).expect("len").len() as usize..]
        .to_vec();
    let revision = String::from_utf8_lossy(&revision);
    // The kid widget (object 5) is rewritten with an appearance.
    let widget = revision
        .split("\n5 0 obj")
        .nth(1)
        .expect("widget 5 rewritten");
    assert!(
        widget.split("endobj").next().unwrap_or("").contains("/AP"),
        "{revision}"
    );
    // The lock became the signature's FieldMDP transform.
    assert!(
        revision.contains("/TransformMethod /FieldMDP"),
        "{revision}"
    );
    assert!(
        revision.contains("/Action /Include") && revision.contains("/Fields [(Second)]"),
        "{revision}"
    );
    // pyHanko reads the same lock from the signature.
    let fieldmdp = common::run(
        std::process::Command::new(common::repo().join(".venv/bin/python"))
            .arg("-c")
            .arg(
                "import sys\n\
                 from pyhanko.pdf_utils.reader import PdfFileReader\n\
                 r = PdfFileReader(open(sys.argv[1], 'rb'))\n\
                 print(r.embedded_signatures[0].fieldmdp)",
            )
            .arg(&a),
    );
    let fieldmdp = text(&fieldmdp);
    assert!(
        fieldmdp.contains("INCLUDE") && fieldmdp.contains("['Second']"),
        "{fieldmdp}"
    );

    // Now Second is locked by Approval's signature: filling it is refused.
    let mut o = opts("ec256");
    o.field = Some("Second".into());
    let b = dir.join("b.pdf");
    match pdf::sign_file(&a, &b, &mut signer("ec256"), &o) {
        Err(PdfError::FieldLocked { field, by }) => {
            assert_eq!((field.as_str(), by.as_str()), ("Second", "Approval"));
        }
        other => panic!("expected FieldLocked, got {other:?}"),
    }
    assert!(!b.exists());
    // A new field is not locked.
    let b = dir.join("b2.pdf");
    let second = pdf::sign_file(&a, &b, &mut signer("ec256"), &opts("ec256")).expect("new field");
    judged(&b, &second.field_name, &input);
    let hanko = pyhanko_validate(&b, "Approval");
    assert!(hanko.valid(), "{}", hanko.output);
}

#[test]
fn bytes_before_the_header_are_kept_and_signed_over() {
    let Some(dir) = ready("junk") else { return };
    if !corpus_available() {
        return;
    }
    let mut bytes = b"Received: from gateway\r\n".repeat(30);
    bytes.extend(std::fs::read(corpus("pyhanko-minimal.pdf")).expect("corpus file"));
    let input = dir.join("in.pdf");
    std::fs::write(&input, &bytes).expect("write");
    let a = dir.join("a.pdf");
    let b = dir.join("b.pdf");
    pdf::sign_file(&input, &a, &mut signer("rsa2048"), &opts("rsa2048")).expect("first");
    pdf::sign_file(&a, &b, &mut signer("ec256"), &opts("ec256")).expect("second");
    let out = std::fs::read(&b).expect("read");
    assert!(
        out.starts_with(&bytes),
        "the prepended bytes are kept as they were"
    );
    assert_eq!(qpdf_check(&b).0, 0, "{}", qpdf_check(&b).1);
    let report = pdfsig(&b);
    assert_eq!(report.signatures.len(), 2, "{}", report.output);
    for s in &report.signatures {
        assert!(
            s.valid() && s.certificate.contains("Trusted"),
            "{}",
            report.output
        );
    }
    // The last signature covers the whole file, prepended bytes included.
    assert!(report.signatures[1].whole_file, "{}", report.output);
}

#[test]
fn the_first_signature_on_a_hybrid_xfa_form_drops_the_xfa_so_every_viewer_shows_it() {
    let Some(dir) = ready("xfa-hybrid") else {
        return;
    };
    for in_catalog in [false, true] {
        let input = dir.join(format!("hybrid-{in_catalog}.pdf"));
        xfa_form(&input, in_catalog, false);
        assert_eq!(poppler_form_kind(&input), "XFA");
        let before = std::fs::read(&input).unwrap();

        let first = dir.join(format!("first-{in_catalog}.pdf"));
        let mut o = opts("rsa2048");
        o.visible_auto = true;
        let signed = pdf::sign_file(&input, &first, &mut signer("rsa2048"), &o).unwrap();
        judged(&first, &signed.field_name, &input);
        assert_eq!(
            poppler_form_kind(&first),
            "AcroForm",
            "the XFA is still read"
        );
        assert_eq!(std::fs::read(&input).unwrap(), before, "the input changed");

        // A co-signature changes nothing more: the XFA is gone already.
        let second = dir.join(format!("second-{in_catalog}.pdf"));
        let co = pdf::sign_file(&first, &second, &mut signer("ec256"), &opts("ec256")).unwrap();
        judged(&second, &co.field_name, &input);
        all_signatures_acceptable(&second, None, 2).unwrap();
    }
}

#[test]
fn a_hybrid_xfa_form_signed_before_keeps_its_xfa() {
    let Some(dir) = ready("xfa-signed-before") else {
        return;
    };
    let input = dir.join("hybrid.pdf");
    xfa_form(&input, false, false);
    // Another signer went first and left the XFA; taking it away now would
    // change what that signature covers.
    let theirs = dir.join("theirs.pdf");
    pyhanko_addsig(&input, &theirs, "Theirs", "ec256").unwrap();
    assert_eq!(poppler_form_kind(&theirs), "XFA");
    let ours = dir.join("ours.pdf");
    let signed = pdf::sign_file(&theirs, &ours, &mut signer("rsa2048"), &opts("rsa2048")).unwrap();
    judged(&ours, &signed.field_name, &input);
    assert_eq!(poppler_form_kind(&ours), "XFA");
    all_signatures_acceptable(&ours, None, 2).unwrap();
}

#[test]
fn a_dynamic_xfa_form_is_refused_saying_why_and_nothing_is_written() {
    let Some(dir) = ready("xfa-dynamic") else {
        return;
    };
    let input = dir.join("dynamic.pdf");
    xfa_form(&input, false, true);
    assert_eq!(poppler_form_kind(&input), "XFA");
    let out = dir.join("out.pdf");
    // `prepare` is also preflight's dry run: refused before any PIN.
    match pdf::sign_file(&input, &out, &mut signer("rsa2048"), &opts("rsa2048")) {
        Err(e @ PdfError::DynamicXfa) => {
            let e = mohor::Error::from(e);
            assert_eq!(e.reason, mohor::Reason::DocumentRefused);
            assert!(e.to_string().contains("dynamic XFA form"), "{e}");
        }
        other => panic!("expected DynamicXfa, got {other:?}"),
    }
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "a temporary file was left"
    );
}

/// Three pages sharing one /Annots array object that holds a link.
const SHARED_ANNOTS: &[&str] = &[
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Count 3 /Kids [3 0 R 4 0 R 5 0 R] >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots 6 0 R >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots 6 0 R >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots 6 0 R >>",
    "[7 0 R]",
    "<< /Type /Annot /Subtype /Link /Rect [36 800 200 820] /Border [0 0 0] \
     /A << /S /URI /URI (https://example.gov.in/) >> >>",
];

#[test]
fn a_stamp_on_a_page_sharing_its_annotations_array_shows_on_that_page_alone() {
    let Some(dir) = ready("shared-annots") else {
        return;
    };
    let input = dir.join("in.pdf");
    write_pdf(&input, SHARED_ANNOTS);
    let out = dir.join("signed.pdf");
    let mut o = opts("rsa2048");
    o.visible = stamp(2, 36.0, 36.0, 300.0, 118.0);
    let signed = pdf::sign_file(&input, &out, &mut signer("rsa2048"), &o).unwrap();
    judged(&out, &signed.field_name, &input);
    for page in 1..=3 {
        let stamped = pdftotext(&out, Some(page)).contains("Digitally signed by");
        assert_eq!(stamped, page == 2, "page {page}: stamped {stamped}");
    }
    // The other pages keep their link: the shared array is unchanged.
    let json = common::run(
        std::process::Command::new("qpdf")
            .args(["--json=2", "--json-key=qpdf"])
            .arg(&out),
    );
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let objects = &doc["qpdf"][1];
    let value = |r: &str| objects[format!("obj:{r}")]["value"].clone();
    let counts: Vec<usize> = ["3 0 R", "4 0 R", "5 0 R"]
        .iter()
        .map(|page| match &value(page)["/Annots"] {
            serde_json::Value::String(r) => value(r).as_array().map_or(0, Vec::len),
            a => a.as_array().map_or(0, Vec::len),
        })
        .collect();
    assert_eq!(counts, [1, 2, 1], "annotations per page");
}

/// A form whose /Fields names the same text field twice: qpdf finds it
/// clean and pyHanko signs it, so Mohor reads the field once instead of
/// refusing "a loop" (found by a review); the new signature field is added
/// once, and the judges agree. A kid that leads back to its ancestor is a
/// real loop, which pyHanko refuses to read: still refused.
#[test]
fn a_field_listed_twice_is_read_once_and_a_real_loop_is_refused() {
    let Some(dir) = ready("field-twice") else {
        return;
    };
    let twice: &[&str] = &[
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R 4 0 R] >> >>",
        "<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>",
        "<< /FT /Tx /T (file_no) /V (42/2026) /Type /Annot /Subtype /Widget /Rect [50 700 250 720] /P 3 0 R >>",
    ];
    let looped: &[&str] = &[
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >>",
        "<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        "<< /T (office) /Kids [5 0 R] >>",
        "<< /T (desk) /Parent 4 0 R /Kids [4 0 R] >>",
    ];
    let input = dir.join("twice.pdf");
    write_pdf(&input, twice);
    let (code, out) = qpdf_check(&input);
    assert_eq!(code, 0, "qpdf on the input: {out}");
    let signed_path = dir.join("twice-signed.pdf");
    let signed = pdf::sign_file(
        &input,
        &signed_path,
        &mut signer("rsa2048"),
        &opts("rsa2048"),
    )
    .expect("a field listed twice is read once");
    judged(&signed_path, &signed.field_name, &input);
    let text = String::from_utf8_lossy(&std::fs::read(&signed_path).unwrap()).into_owned();
    let fields = text.rsplit("/Fields").next().unwrap_or_default();
    let listed = fields.split(']').next().unwrap_or_default();
    assert_eq!(
        listed.matches(" 0 R").count(),
        3,
        "the new field is added once: {listed}"
    );

    let input = dir.join("looped.pdf");
    write_pdf(&input, looped);
    let out = dir.join("looped-signed.pdf");
    let err = pdf::sign_file(&input, &out, &mut signer("rsa2048"), &opts("rsa2048"))
        .expect_err("a loop in the field tree");
    assert!(err.to_string().contains("loop"), "{err}");
    assert!(!out.exists());
}

/// A page whose font is named `/F#+1`: `#` not followed by two hex digits.
const HASH_IN_FONT_NAME: &[&str] = &[
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
     /Resources << /Font << /F#+1 5 0 R >> >> >>",
    "<< /Length 44 >>stream\nBT /F#+1 24 Tf 72 700 Td (Hello there) Tj ET\nendstream",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
];

/// qpdf, poppler and pdf.js read a `#` without two hex digits after it as
/// a plain `#`. Mohor read `#+1` as the byte 0x01 and wrote the rewritten
/// page's font back as `/F#01`, which no longer matched the content
/// stream's `/F#+1`: poppler found no font and the page's text was gone.
#[test]
fn a_name_with_a_hash_that_is_no_escape_keeps_its_font() {
    let Some(dir) = ready("hash-name") else {
        return;
    };
    let input = dir.join("in.pdf");
    write_pdf(&input, HASH_IN_FONT_NAME);
    assert!(pdftotext(&input, None).contains("Hello there"));
    let out = dir.join("signed.pdf");
    let mut o = opts("rsa2048");
    o.visible = stamp(1, 36.0, 36.0, 200.0, 60.0);
    let signed = pdf::sign_file(&input, &out, &mut signer("rsa2048"), &o).unwrap();
    judged(&out, &signed.field_name, &input);
    let text = pdftotext(&out, None);
    assert!(text.contains("Hello there"), "{text}");
    assert!(text.contains("Digitally signed by"), "{text}");
}

/// A page turned a quarter and 300 x 400 points, with an empty signature
/// field "Approval": its /Rotate and /MediaBox are `page` (on the page) and
/// `root` (on the page tree root, two levels up). Objects 5 and 7 hold the
/// rotation and the box for those that refer to them.
fn rotated_page(page: &str, root: &str) -> Vec<String> {
    vec![
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] >> >>".into(),
        format!("<< /Type /Pages /Kids [3 0 R] /Count 1 {root} >>"),
        "<< /Type /Pages /Parent 2 0 R /Kids [4 0 R] /Count 1 >>".into(),
        format!("<< /Type /Page /Parent 3 0 R {page} /Annots [6 0 R] >>"),
        "90".into(),
        "<< /FT /Sig /T (Approval) /Type /Annot /Subtype /Widget /P 4 0 R \
         /Rect [200 36 260 236] /F 4 >>"
            .into(),
        "[0 0 300 400]".into(),
    ]
}

/// The /Rect of the signature widget for `field` and its appearance's
/// /Matrix, as qpdf reads them.
fn stamp_geometry(file: &Path, field: &str) -> (serde_json::Value, serde_json::Value) {
    let json = common::run(
        std::process::Command::new("qpdf")
            .args(["--json=2", "--json-key=qpdf"])
            .arg(file),
    );
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let objects = doc["qpdf"][1].as_object().unwrap();
    let widget = objects
        .values()
        .map(|o| &o["value"])
        .find(|v| v["/FT"] == "/Sig" && v["/T"] == format!("u:{field}"))
        .unwrap_or_else(|| panic!("no widget for {field}"));
    let ap = widget["/AP"]["/N"].as_str().unwrap();
    let matrix = objects[&format!("obj:{ap}")]["stream"]["dict"]["/Matrix"].clone();
    (widget["/Rect"].clone(), matrix)
}

/// /Rotate and /MediaBox may be indirect objects, and are inherited from
/// any ancestor in the page tree. Mohor read them only when direct, and a
/// widget's page's /Rotate only from the page or its parent: a stamp on
/// such a page was drawn sideways, or placed for a 612 x 792 page.
#[test]
fn an_indirect_or_inherited_rotation_and_media_box_turn_the_stamp_alike() {
    let Some(dir) = ready("indirect-rotate") else {
        return;
    };
    let variants = [
        ("direct", "/Rotate 90 /MediaBox [0 0 300 400]", ""),
        ("indirect", "/Rotate 5 0 R /MediaBox 7 0 R", ""),
        ("inherited", "", "/Rotate 5 0 R /MediaBox 7 0 R"),
    ];
    let mut seen = Vec::new();
    for (name, page, root) in variants {
        let input = dir.join(format!("{name}.pdf"));
        write_pdf(
            &input,
            &rotated_page(page, root)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        // A new field, placed on its own, and the existing field filled.
        let new = dir.join(format!("{name}-new.pdf"));
        let mut o = opts("rsa2048");
        o.visible_auto = true;
        let signed = pdf::sign_file(&input, &new, &mut signer("rsa2048"), &o).unwrap();
        judged(&new, &signed.field_name, &input);
        let filled = dir.join(format!("{name}-filled.pdf"));
        let mut o = opts("rsa2048");
        o.field = Some("Approval".into());
        pdf::sign_file(&input, &filled, &mut signer("rsa2048"), &o).unwrap();
        judged(&filled, "Approval", &input);
        seen.push((
            name,
            stamp_geometry(&new, &signed.field_name),
            stamp_geometry(&filled, "Approval"),
        ));
    }
    let (_, new, filled) = &seen[0];
    // The reference is turned: the appearance's matrix is a quarter turn.
    for (rect, matrix) in [new, filled] {
        assert_eq!(matrix[0], 0, "{rect} {matrix}");
        assert_eq!(matrix[1], 1, "{rect} {matrix}");
    }
    for (name, n, f) in &seen[1..] {
        assert_eq!(n, new, "{name}: the new field's stamp");
        assert_eq!(f, filled, "{name}: the filled field's stamp");
    }
}

/// A one-page file whose cross-reference table lists the catalog twice:
/// first the real one, then one with /Lang (second). `hybrid`: the page
/// tree sits in an object stream that only the table's /XRefStm locates.
fn catalog_listed_twice(hybrid: bool) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n".to_vec();
    let put = |out: &mut Vec<u8>, num: u32, body: &[u8]| {
        let at = out.len();
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
        at
    };
    let pages = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
    let page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>";
    // Offsets in the table, by object; 0: free.
    let mut table = [0usize; 7];
    table[1] = put(&mut out, 1, b"<< /Type /Catalog /Pages 2 0 R >>");
    let mut xref_stm = String::new();
    if hybrid {
        let head = format!("2 0 3 {} ", pages.len() + 1);
        let data = format!("{head}{pages}\n{page}\n");
        let objstm = format!(
            "<< /Type /ObjStm /N 2 /First {} /Length {} >>stream\n{data}\nendstream",
            head.len(),
            data.len()
        );
        table[5] = put(&mut out, 5, objstm.as_bytes());
        // Objects 2 and 3: type 2, in object stream 5, at index 0 and 1.
        let rows = [2u8, 0, 0, 0, 5, 0, 0, 2, 0, 0, 0, 5, 0, 1];
        let mut stm =
            b"<< /Type /XRef /Size 7 /W [1 4 2] /Index [2 2] /Length 14 >>stream\n".to_vec();
        stm.extend_from_slice(&rows);
        stm.extend_from_slice(b"\nendstream");
        table[6] = put(&mut out, 6, &stm);
        xref_stm = format!(" /XRefStm {}", table[6]);
    } else {
        table[2] = put(&mut out, 2, pages.as_bytes());
        table[3] = put(&mut out, 3, page.as_bytes());
    }
    let second = put(
        &mut out,
        1,
        b"<< /Type /Catalog /Pages 2 0 R /Lang (second) >>",
    );
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 7\n0000000000 65535 f \n");
    for at in &table[1..] {
        let line = match at {
            0 => "0000000000 00000 f \n".to_string(),
            at => format!("{at:010} 00000 n \n"),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(format!("1 1\n{second:010} 00000 n \n").as_bytes());
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size 7 /Root 1 0 R{xref_stm}{FIXED_ID} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

/// A table that lists an object twice: qpdf takes the first entry, and so
/// did Mohor for a plain table; but for a hybrid file (/XRefStm) it merged
/// the table into a map entry by entry, so the last one won and the signed
/// file carried the other catalog. Now every section keeps its first.
#[test]
fn a_table_listing_an_object_twice_counts_the_first_hybrid_or_not() {
    let Some(dir) = ready("dup-entry") else {
        return;
    };
    for hybrid in [false, true] {
        let input = dir.join(format!("hybrid-{hybrid}.pdf"));
        std::fs::write(&input, catalog_listed_twice(hybrid)).unwrap();
        let catalog = |file: &Path| {
            text(&common::run(
                std::process::Command::new("qpdf")
                    .arg("--show-object=1")
                    .arg(file),
            ))
        };
        assert!(!catalog(&input).contains("second"), "{}", catalog(&input));
        let out = dir.join(format!("signed-{hybrid}.pdf"));
        let signed =
            pdf::sign_file(&input, &out, &mut signer("rsa2048"), &opts("rsa2048")).unwrap();
        judged(&out, &signed.field_name, &input);
        let after = catalog(&out);
        assert!(after.contains("/AcroForm"), "hybrid {hybrid}: {after}");
        assert!(!after.contains("second"), "hybrid {hybrid}: {after}");
    }
}

/// A classic-table update of `base` (whose newest section is the xref
/// stream at `stm`) that adds document information; its trailer names
/// `stm` as /XRefStm, and as /Prev too, or its own table when `self_loop`.
fn hybrid_update(base: &[u8], stm: usize, self_loop: bool) -> Vec<u8> {
    let mut out = base.to_vec();
    let size = common::objstm::next_object(base);
    let info = out.len();
    out.extend_from_slice(format!("{size} 0 obj\n<< /Producer (update) >>\nendobj\n").as_bytes());
    let table = out.len();
    let prev = if self_loop { table } else { stm };
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n{size} 1\n{info:010} 00000 n \n\
             trailer\n<< /Size {} /Root 1 0 R /Info {size} 0 R /Prev {prev} /XRefStm {stm}{FIXED_ID} >>\n\
             startxref\n{table}\n%%EOF\n",
            size + 1
        )
        .as_bytes(),
    );
    out
}

/// A hybrid update whose /Prev and /XRefStm name the same xref stream, the
/// previous revision's: qpdf, poppler and pyHanko read it (two revisions),
/// Mohor refused it as a loop. Now the stream is read once and the file
/// signs. A /Prev naming its own section is still refused as a loop.
#[test]
fn a_stream_that_is_both_xrefstm_and_prev_is_read_once_and_a_real_loop_is_refused() {
    let Some(dir) = ready("xrefstm-is-prev") else {
        return;
    };
    let base = with_object_streams(vec![ObjectStream::default()]);
    let stm = common::objstm::startxref(&base);
    let bytes = hybrid_update(&base, stm, false);
    let input = dir.join("in.pdf");
    std::fs::write(&input, &bytes).unwrap();
    assert_eq!(qpdf_check(&input).0, 0, "{}", qpdf_check(&input).1);
    assert_eq!(pdf::inspect(&input).expect("inspect").revisions, 2);
    let out = dir.join("signed.pdf");
    let signed = pdf::sign_file(&input, &out, &mut signer("rsa2048"), &opts("rsa2048"))
        .expect("the stream named twice is read");
    judged(&out, &signed.field_name, &input);

    let looped = dir.join("loop.pdf");
    std::fs::write(&looped, hybrid_update(&bytes, stm, true)).unwrap();
    let e = pdf::sign_file(
        &looped,
        &dir.join("no.pdf"),
        &mut signer("rsa2048"),
        &opts("rsa2048"),
    )
    .expect_err("a real loop");
    assert!(e.to_string().contains("loops"), "{e}");
    assert_eq!(mohor::Error::from(e).reason, mohor::Reason::DocumentRefused);
    assert!(!dir.join("no.pdf").exists());
}

/// One page whose catalog has the XMP `packet` as its /Metadata (plain).
fn with_metadata(packet: &str) -> Vec<String> {
    vec![
        "<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>".into(),
        "<< /Type /Pages /Count 1 /Kids [3 0 R] >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".into(),
        format!(
            "<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n{packet}\nendstream",
            packet.len()
        ),
    ]
}

/// The packet Ghostscript 10.0 writes into PDF 2.0 (`pdf:Producer=` without
/// quotes), with a bare `&` in the title as other writers leave it.
const UNQUOTED_XMP: &str = "<?xpacket begin='\u{feff}' id='W5M0MpCehiHzreSzNTczkc9d'?>\n\
<x:xmpmeta xmlns:x='adobe:ns:meta/' x:xmptk='XMP toolkit 2.9.1-13, framework 1.6'>\n\
<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n\
<rdf:Description rdf:about=\"\" xmlns:pdf='http://ns.adobe.com/pdf/1.3/' pdf:Producer=UnknownProducer/>\n\
<rdf:Description rdf:about=\"\" xmlns:dc='http://purl.org/dc/elements/1.1/' dc:format='application/pdf'>\
<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Bill & Voucher</rdf:li></rdf:Alt></dc:title></rdf:Description>\n\
</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end='w'?>";

/// Metadata no XML parser reads (Ghostscript 10.0's encrypted files carry
/// their packet garbled like this).
const GARBLED_XMP: &str =
    "\u{dc}\u{be}\u{1}\u{9c}}`51 \u{cd}L\u{f3}T\u{c6}\u{7f} <x:xmpmeta & \u{2}";

#[test]
fn metadata_no_parser_reads_is_mended_so_the_first_signature_survives_the_second() {
    let Some(dir) = ready("bad-xmp") else {
        return;
    };
    for (name, packet, kept) in [
        (
            "unquoted",
            UNQUOTED_XMP,
            Some("pdf:Producer=\"UnknownProducer\""),
        ),
        ("garbled", GARBLED_XMP, None),
    ] {
        let input = dir.join(format!("{name}.pdf"));
        let objects = with_metadata(packet);
        write_pdf(
            &input,
            &objects.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let original = std::fs::read(&input).unwrap();
        let first = dir.join(format!("{name}-signed.pdf"));
        let one = pdf::sign_file(&input, &first, &mut signer("rsa2048"), &opts("rsa2048"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        judged(&first, &one.field_name, &input);
        let second = dir.join(format!("{name}-cosigned.pdf"));
        let two = pdf::sign_file(&first, &second, &mut signer("ec256"), &opts("ec256"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        judged(&second, &two.field_name, &input);
        // The first signature: only permitted changes since (pyHanko called
        // the second revision illegal while the metadata was unreadable).
        all_signatures_acceptable(&second, None, 2).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            std::fs::read(&input).unwrap(),
            original,
            "{name}: input changed"
        );
        let signed = std::fs::read(&first).unwrap();
        assert!(signed.starts_with(&original));
        if let Some(kept) = kept {
            let tail = String::from_utf8_lossy(&signed[original.len()..]).into_owned();
            assert!(
                tail.contains(kept) && tail.contains("Bill &amp; Voucher"),
                "{tail}"
            );
        }
    }
}

/// A page whose /Annots holds a link written inline (`annots` is the
/// page's /Annots value; object 4, when used, is an array of its own).
fn inline_annotations(annots: &str) -> Vec<String> {
    let link = "<< /Type /Annot /Subtype /Link /Rect [72 700 200 720] /Border [0 0 0] \
                /A << /S /URI /URI (https://example.gov.in/bill) >> >>";
    vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Count 1 /Kids [3 0 R] >>".into(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots {} >>",
            annots.replace("LINK", link)
        ),
        format!("[{link}]"),
    ]
}

#[test]
fn inline_annotations_become_objects_so_the_first_signature_survives_the_second() {
    let Some(dir) = ready("inline-annots") else {
        return;
    };
    for (name, annots, visible) in [
        ("inline", "[LINK]", false),
        ("inline-array-object", "4 0 R", false),
        ("inline-stamped", "[LINK]", true),
    ] {
        let input = dir.join(format!("{name}.pdf"));
        let objects = inline_annotations(annots);
        write_pdf(
            &input,
            &objects.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let first = dir.join(format!("{name}-signed.pdf"));
        let mut o = opts("rsa2048");
        if visible {
            o.visible = stamp(1, 300.0, 40.0, 200.0, 70.0);
        }
        let one = pdf::sign_file(&input, &first, &mut signer("rsa2048"), &o)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        judged(&first, &one.field_name, &input);
        let second = dir.join(format!("{name}-cosigned.pdf"));
        let mut o = opts("ec256");
        if visible {
            o.visible = stamp(1, 40.0, 40.0, 200.0, 70.0);
        }
        let two = pdf::sign_file(&first, &second, &mut signer("ec256"), &o)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        judged(&second, &two.field_name, &input);
        // pyHanko called the second revision illegal ("Array contains
        // direct objects") while the link stayed inline.
        all_signatures_acceptable(&second, None, 2).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The link is still on the page, once, beside the two widgets, and
        // every entry of the page's /Annots is a reference.
        let show = |what: &str| {
            let out = common::run(
                std::process::Command::new("qpdf")
                    .arg(format!("--show-object={what}"))
                    .arg(&second),
            );
            assert!(out.status.success(), "{}", text(&out));
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let page = show("3");
        let annots = page
            .split("/Annots [")
            .nth(1)
            .and_then(|a| a.split(']').next())
            .unwrap_or_else(|| panic!("{name}: no /Annots array: {page}"))
            .to_string();
        assert!(!annots.contains("<<"), "{name}: {page}");
        let refs: Vec<String> = annots
            .split(" R")
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| r.replace(" 0", ",0"))
            .collect();
        assert_eq!(refs.len(), 3, "{name}: {page}");
        let links = refs
            .iter()
            .filter(|r| show(r.trim_end_matches(",0")).contains("/Subtype /Link"))
            .count();
        assert_eq!(links, 1, "{name}: {page}");
    }
}

#[test]
fn inline_annotations_signed_over_by_another_stay_inline() {
    let Some(dir) = ready("inline-annots-signed") else {
        return;
    };
    let input = dir.join("in.pdf");
    let objects = inline_annotations("[LINK]");
    write_pdf(
        &input,
        &objects.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let theirs = dir.join("pyhanko.pdf");
    pyhanko_addsig(&input, &theirs, "Theirs", "rsa2048").unwrap();
    let ours = dir.join("cosigned.pdf");
    let signed = pdf::sign_file(&theirs, &ours, &mut signer("ec256"), &opts("ec256")).unwrap();
    judged(&ours, &signed.field_name, &input);
    // Taking the link out of the array now would read as an annotation
    // removed under pyHanko's signature: it stays where its signer saw it.
    let revision = std::fs::read(&ours).unwrap()
        [std::fs::metadata(&theirs).unwrap().len() as usize..]
        .to_vec();
    let revision = String::from_utf8_lossy(&revision);
    assert!(
        revision.contains("/Annots [<<") || revision.contains("/Annots [ <<"),
        "{revision}"
    );
}

/// `input` encrypted by qpdf (AES-256, empty user password), its /Encrypt
/// dictionary then written inline in the trailer, as PyMuPDF writes it.
fn with_inline_encrypt(input: &Path, out: &Path) {
    let object = out.with_extension("indirect.pdf");
    let o = common::run(
        std::process::Command::new("qpdf")
            .args([
                "--object-streams=disable",
                "--encrypt",
                "",
                "owner",
                "256",
                "--",
            ])
            .arg(input)
            .arg(&object),
    );
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(&object).unwrap();
    let at = bytes
        .windows(9)
        .rposition(|w| w == b"/Encrypt ")
        .expect("trailer /Encrypt");
    let num: String = bytes[at + 9..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .map(|&c| char::from(c))
        .collect();
    let reference = format!("/Encrypt {num} 0 R");
    assert!(bytes[at..].starts_with(reference.as_bytes()));
    let header = format!("\n{num} 0 obj\n");
    let start = find(&bytes, header.as_bytes()).expect("encrypt object") + header.len();
    let end = start + find(&bytes[start..], b"\nendobj").expect("endobj");
    // The trailer follows the table: offsets before it stay true.
    let mut inline = bytes[..at].to_vec();
    inline.extend_from_slice(b"/Encrypt ");
    inline.extend_from_slice(&bytes[start..end]);
    inline.extend_from_slice(&bytes[at + reference.len()..]);
    std::fs::write(out, inline).unwrap();
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn an_encrypt_dictionary_inline_in_the_trailer_becomes_an_object_every_judge_reads() {
    let Some(dir) = ready("inline-encrypt") else {
        return;
    };
    let plain = dir.join("plain.pdf");
    let objects = inline_annotations("[]");
    write_pdf(
        &plain,
        &objects.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let input = dir.join("in.pdf");
    with_inline_encrypt(&plain, &input);
    assert_eq!(qpdf_check(&input).0, 0, "{}", qpdf_check(&input).1);
    let original = std::fs::read(&input).unwrap();
    let first = dir.join("signed.pdf");
    let one = pdf::sign_file(&input, &first, &mut signer("rsa2048"), &opts("rsa2048")).unwrap();
    // pyHanko's strict reader refused the input, and so every signature
    // in it ("Encryption settings must be an indirect reference").
    judged(&first, &one.field_name, &input);
    let second = dir.join("cosigned.pdf");
    let two = pdf::sign_file(&first, &second, &mut signer("ec256"), &opts("ec256")).unwrap();
    judged(&second, &two.field_name, &input);
    all_signatures_acceptable(&second, None, 2).unwrap();
    assert_eq!(std::fs::read(&input).unwrap(), original);
    assert!(std::fs::read(&first).unwrap().starts_with(&original));
}
