//! End-to-end PAdES signing: Mohor signs, qpdf/pyHanko/pdfsig judge.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use std::path::Path;

use mohor::pdf::{self, PdfError};
use pdf_util::*;

fn sign(
    input: &Path,
    output: &Path,
    who: &str,
    o: &pdf::PdfSignOptions,
) -> Result<pdf::SignedPdf, PdfError> {
    let mut s = signer(who);
    pdf::sign_file(input, output, &mut s, o)
}

#[test]
fn minimal_pdf_signed_twice_validates() {
    if !judges_available() {
        return;
    }
    let dir = test_dir("pdf_minimal_twice");
    let a = dir.join("a.pdf");
    let b = dir.join("b.pdf");
    let input = corpus("pyhanko-minimal.pdf");
    let first = sign(&input, &a, "rsa2048", &opts("rsa2048")).unwrap();
    assert_eq!(first.field_name, "Signature1");
    judge_new_signature(&a, "Signature1", 0).unwrap();
    let second = sign(&a, &b, "rsa4096", &opts("rsa4096")).unwrap();
    assert_eq!(second.field_name, "Signature2");
    judge_new_signature(&b, "Signature2", 0).unwrap();
    // The first signature survives the second signatory's revision.
    let v = pyhanko_validate(&b, "Signature1");
    assert!(v.valid(), "{}", v.output);
    let a_bytes = std::fs::read(&a).unwrap();
    let b_bytes = std::fs::read(&b).unwrap();
    assert_eq!(&b_bytes[..a_bytes.len()], &a_bytes[..]);
}

/// Rectangles of the signature widgets on every page, read by qpdf (JSON v2).
fn widget_rects(file: &Path) -> Vec<[f64; 4]> {
    let out = std::process::Command::new("qpdf")
        .args(["--json=2", "--json-key=pages", "--json-key=qpdf"])
        .arg(file)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let objects = &v["qpdf"][1];
    let get = |r: &str| &objects[format!("obj:{r}")]["value"];
    let mut rects = Vec::new();
    for page in v["pages"].as_array().unwrap() {
        let page_obj = get(page["object"].as_str().unwrap());
        let annots = match &page_obj["/Annots"] {
            serde_json::Value::String(r) => get(r).clone(),
            other => other.clone(),
        };
        for a in annots.as_array().cloned().unwrap_or_default() {
            let d = get(a.as_str().unwrap());
            if d["/FT"] == "/Sig" {
                let r: Vec<f64> = d["/Rect"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                rects.push([r[0], r[1], r[2], r[3]]);
            }
        }
    }
    rects
}

fn render(file: &Path, name: &str) -> std::path::PathBuf {
    let prefix = artifacts_dir().join(name);
    let st = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-singlefile"])
        .arg(file)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(st.success());
    prefix.with_extension("png")
}

#[test]
fn three_signatories_get_three_separate_readable_stamps() {
    if !judges_available() || !have_tool("pdftoppm") {
        return;
    }
    let dir = test_dir("pdf_three_stamps");
    let mut input = corpus("pyhanko-empty-a4.pdf");
    let mut fields = Vec::new();
    for (i, who) in ["rsa2048", "ec256", "rsa4096"].iter().enumerate() {
        let out = dir.join(format!("signed-{}.pdf", i + 1));
        let mut o = opts(who);
        o.visible_auto = true;
        let signed = sign(&input, &out, who, &o).unwrap();
        judge_new_signature(&out, &signed.field_name, 0).unwrap();
        fields.push(signed.field_name);
        input = out;
    }
    for f in &fields {
        let v = pyhanko_validate(&input, f);
        assert!(v.valid(), "{f}: {}", v.output);
    }
    let rects = widget_rects(&input);
    assert_eq!(rects.len(), 3, "{rects:?}");
    for i in 0..rects.len() {
        for j in i + 1..rects.len() {
            let (a, b) = (rects[i], rects[j]);
            let overlap = a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
            assert!(!overlap, "stamps {i} and {j} overlap: {a:?} {b:?}");
        }
    }
    let png = render(&input, "three-signatories");
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
}

#[test]
fn tampering_inside_a_signed_range_is_caught_by_both_validators() {
    if !judges_available() {
        return;
    }
    let dir = test_dir("pdf_tamper");
    let signed = dir.join("signed.pdf");
    sign(
        &corpus("pyhanko-minimal.pdf"),
        &signed,
        "rsa2048",
        &opts("rsa2048"),
    )
    .unwrap();
    judge_new_signature(&signed, "Signature1", 0).unwrap();
    let mut bytes = std::fs::read(&signed).unwrap();
    // "Hello World" in the page content, well inside the first signed range.
    let at = bytes.windows(5).position(|w| w == b"Hello").unwrap();
    bytes[at] = b'J';
    let tampered = dir.join("tampered.pdf");
    std::fs::write(&tampered, &bytes).unwrap();

    let v = pyhanko_validate(&tampered, "Signature1");
    assert!(
        !v.intact() && !v.valid(),
        "pyHanko accepted a tampered file:\n{}",
        v.output
    );
    let report = pdfsig(&tampered);
    let s = &report.signatures[0];
    assert!(
        !s.valid(),
        "pdfsig accepted a tampered file:\n{}",
        report.output
    );
    assert!(s.validation.contains("Mismatch"), "{}", report.output);
}

#[test]
fn certified_document_takes_invisible_and_field_signatures_only() {
    if !judges_available() {
        return;
    }
    let dir = test_dir("pdf_certify");
    // The input has an empty signature field "Sig1" (and nothing signed).
    let input = corpus("pyhanko-minimal-with-field.pdf");
    let info = pdf::inspect(&input).unwrap();
    let empty: Vec<_> = info.signature_fields.iter().filter(|f| !f.signed).collect();
    assert!(!empty.is_empty(), "{info:?}");
    let empty_name = empty[0].name.clone();

    let certified = dir.join("certified.pdf");
    let mut o = opts("rsa2048");
    o.certify = true;
    o.visible_auto = true;
    let c = sign(&input, &certified, "rsa2048", &o).unwrap();
    assert!(c.certified);
    judge_new_signature(&certified, &c.field_name, 0).unwrap();
    assert_eq!(pdf::inspect(&certified).unwrap().docmdp, Some(2));
    let v = pyhanko_validate(&certified, &c.field_name);
    assert!(v.line.contains("TRUSTED"), "{}", v.output);

    // Certifying again is refused.
    let mut again = opts("ec256");
    again.certify = true;
    let err = sign(&certified, &dir.join("x.pdf"), "ec256", &again).unwrap_err();
    assert!(matches!(err, PdfError::CannotCertify), "{err}");

    // A new visible stamp would be a forbidden change: refused, no output.
    let mut vis = opts("ec256");
    vis.visible_auto = true;
    let out = dir.join("visible.pdf");
    let err = sign(&certified, &out, "ec256", &vis).unwrap_err();
    assert!(matches!(err, PdfError::CertificationForbids(_)), "{err}");
    assert_eq!(
        mohor::Error::from(err).reason,
        mohor::Reason::DocumentRefused
    );
    assert!(!out.exists());

    // Filling the empty field is allowed and keeps the certification valid.
    let filled = dir.join("filled.pdf");
    let mut f = opts("ec256");
    f.field = Some(empty_name.clone());
    let s = sign(&certified, &filled, "ec256", &f).unwrap();
    assert_eq!(s.field_name, empty_name);
    judge_new_signature(&filled, &empty_name, 0).unwrap();
    let cert = pyhanko_validate(&filled, &c.field_name);
    assert!(cert.valid(), "{}", cert.output);

    // So is a new invisible signature (pyHanko's policy allows it at P=2).
    let invisible = dir.join("invisible.pdf");
    let s = sign(&filled, &invisible, "rsa4096", &opts("rsa4096")).unwrap();
    judge_new_signature(&invisible, &s.field_name, 0).unwrap();
    for field in [&c.field_name, &empty_name] {
        let v = pyhanko_validate(&invisible, field);
        assert!(v.valid(), "{field}: {}", v.output);
    }
}

#[test]
fn fields_are_filled_by_name_and_misuse_is_refused() {
    if !judges_available() {
        return;
    }
    let dir = test_dir("pdf_fields");
    let input = corpus("pyhanko-minimal-two-fields.pdf");
    let info = pdf::inspect(&input).unwrap();
    let names: Vec<String> = info
        .signature_fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    assert!(names.len() >= 2, "{info:?}");

    let first = dir.join("first.pdf");
    let mut o = opts("rsa2048");
    o.field = Some(names[0].clone());
    sign(&input, &first, "rsa2048", &o).unwrap();
    judge_new_signature(&first, &names[0], 0).unwrap();
    let after = pdf::inspect(&first).unwrap();
    assert!(after
        .signature_fields
        .iter()
        .any(|f| f.name == names[0] && f.signed));

    // The same field again: refused, with the field named.
    let out = dir.join("again.pdf");
    let err = sign(&first, &out, "ec256", &o).unwrap_err();
    assert!(
        matches!(&err, PdfError::FieldAlreadySigned(n) if n == &names[0]),
        "{err}"
    );
    assert!(err.to_string().contains(&names[0]));
    assert!(!out.exists());

    // The second field, then a third signature in a new field.
    let second = dir.join("second.pdf");
    let mut o2 = opts("ec256");
    o2.field = Some(names[1].clone());
    sign(&first, &second, "ec256", &o2).unwrap();
    judge_new_signature(&second, &names[1], 0).unwrap();
    let third = dir.join("third.pdf");
    let mut o3 = opts("rsa4096");
    o3.field = Some("Approver".into());
    // A box over an existing signature's stamp is refused...
    o3.visible = stamp(1, 20.0, 80.0, 150.0, 55.0);
    let err = sign(&second, &third, "rsa4096", &o3).unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");
    assert!(!third.exists());
    // ...so the third signatory signs invisibly into a new named field.
    o3.visible = None;
    let s = sign(&second, &third, "rsa4096", &o3).unwrap();
    assert_eq!(s.field_name, "Approver");
    judge_new_signature(&third, "Approver", 0).unwrap();
    for f in &names {
        let v = pyhanko_validate(&third, f);
        assert!(v.valid(), "{f}: {}", v.output);
    }

    // A text field is not a signature field.
    let form = corpus("qpdf-form-fields-and-annotations.pdf");
    let text_field = pdf::inspect(&form).unwrap();
    assert!(text_field.signature_fields.is_empty());
    let mut t = opts("rsa2048");
    t.field = Some("Text Box 1".into());
    let out = dir.join("t.pdf");
    let err = sign(&form, &out, "rsa2048", &t).unwrap_err();
    assert!(
        matches!(&err, PdfError::NotASignatureField(n) if n == "Text Box 1"),
        "{err}"
    );
    assert_eq!(
        mohor::Error::from(err).reason,
        mohor::Reason::DocumentRefused
    );
    assert!(!out.exists());
    // Dots would make a name a path into the field hierarchy.
    let mut bad = opts("rsa2048");
    bad.field = Some("a.b".into());
    let err = sign(&input, &dir.join("bad.pdf"), "rsa2048", &bad).unwrap_err();
    assert_eq!(
        mohor::Error::from(err).reason,
        mohor::Reason::InvalidRequest
    );
}

#[test]
fn refusals_leave_nothing_behind_and_say_why() {
    let dir = test_dir("pdf_refusals");
    let cases: Vec<(&str, pdf::PdfSignOptions, mohor::Reason, &str)> = vec![
        (
            "pyhanko-minimal-aes256.pdf",
            opts("rsa2048"),
            mohor::Reason::DocumentRefused,
            "encrypted",
        ),
        (
            "qpdf-minimal-signed-restricted.pdf",
            opts("rsa2048"),
            mohor::Reason::DocumentRefused,
            "no change is permitted",
        ),
        (
            "qpdf-bad1.pdf",
            opts("rsa2048"),
            mohor::Reason::DocumentRefused,
            "not a PDF",
        ),
        (
            "pyhanko-circular-page-tree.pdf",
            {
                let mut o = opts("rsa2048");
                o.visible_auto = true;
                o
            },
            mohor::Reason::DocumentRefused,
            "damaged",
        ),
        (
            "pyhanko-minimal.pdf",
            {
                let mut o = opts("rsa2048");
                o.visible = stamp(2, 10.0, 10.0, 100.0, 40.0);
                o
            },
            mohor::Reason::InvalidRequest,
            "page 2 does not exist",
        ),
        (
            "pyhanko-minimal.pdf",
            {
                let mut o = opts("rsa2048");
                o.visible = stamp(1, 250.0, 10.0, 100.0, 40.0);
                o
            },
            mohor::Reason::InvalidRequest,
            "outside",
        ),
    ];
    for (name, o, reason, words) in cases {
        let input = corpus(name);
        let before = std::fs::read(&input).unwrap();
        let out = dir.join(format!("{name}.out.pdf"));
        let err = sign(&input, &out, "rsa2048", &o).unwrap_err();
        let e: mohor::Error = err.into();
        assert_eq!(e.reason, reason, "{name}: {}", e.message);
        assert!(e.message.contains(words), "{name}: {}", e.message);
        assert!(!e.hint.is_empty(), "{name}: no hint");
        assert!(!out.exists(), "{name}: output left behind");
        assert_eq!(
            std::fs::read(&input).unwrap(),
            before,
            "{name}: input changed"
        );
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "temporary files left behind"
    );

    // Signing onto itself is refused before anything is touched.
    let copy = dir.join("same.pdf");
    std::fs::copy(corpus("pyhanko-minimal.pdf"), &copy).unwrap();
    let err = sign(&copy, &copy, "rsa2048", &opts("rsa2048")).unwrap_err();
    assert!(matches!(err, PdfError::SameFile), "{err}");
    let alias = dir.join(".").join("same.pdf");
    let err = sign(&copy, &alias, "rsa2048", &opts("rsa2048")).unwrap_err();
    assert!(matches!(err, PdfError::SameFile), "{err}");
    let link = dir.join("hardlink.pdf");
    std::fs::hard_link(&copy, &link).unwrap();
    let err = sign(&copy, &link, "rsa2048", &opts("rsa2048")).unwrap_err();
    assert!(matches!(err, PdfError::SameFile), "{err}");
}

/// A form filled in revision 1 (the /AcroForm and its field exist there
/// only); revision 2 rewrites the catalog and the page tree, and its
/// trailer's /Prev is `prev` (`None`: the real offset).
fn filled_form_updated(prev: Option<&str>) -> Vec<u8> {
    let mut pdf = common::classic_pdf(
        b"%PDF-1.7\n",
        &[
            "<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [5 0 R] >>",
            "<< /Fields [5 0 R] /DA (/Helv 0 Tf 0 g) >>",
            "<< /FT /Tx /T (name) /V (Asha) /Type /Annot /Subtype /Widget /P 3 0 R \
             /Rect [50 50 200 80] >>",
        ],
        FIXED_ID,
    );
    let first = String::from_utf8_lossy(&pdf).rfind("\nxref\n").unwrap() + 1;
    let mut offsets = Vec::new();
    for (num, body) in [
        (
            1,
            "<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R /Lang (en) >>",
        ),
        (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (
            3,
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 841] /Annots [5 0 R] >>",
        ),
    ] {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    let xref = pdf.len();
    let prev = prev.map_or(first.to_string(), |p| p.replace("{}", &first.to_string()));
    pdf.extend_from_slice(b"xref\n1 3\n");
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size 6 /Root 1 0 R /Prev {prev}{FIXED_ID} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    pdf
}

/// A /Prev that is not an integer (`/Prev 448.0`, `/Prev 448 0 R`) was
/// read as "no older revision": the /AcroForm that only revision 1 holds
/// read as absent, and Mohor wrote a new one holding its own field alone,
/// dropping the filled field (qpdf then called the output damaged). Such
/// a file is now refused as damaged, and nothing is written.
#[test]
fn a_prev_that_is_not_an_offset_is_refused_and_nothing_is_written() {
    let dir = test_dir("pdf_prev_not_an_offset");
    // The sane form signs and keeps the filled field.
    let input = dir.join("sane.pdf");
    std::fs::write(&input, filled_form_updated(None)).unwrap();
    let out = dir.join("sane-signed.pdf");
    let signed = sign(&input, &out, "rsa2048", &opts("rsa2048")).unwrap();
    if judges_available() {
        judge_new_signature(&out, &signed.field_name, qpdf_check(&input).0).unwrap();
        let json = common::run(
            std::process::Command::new("qpdf")
                .args(["--json=2", "--json-key=acroform"])
                .arg(&out),
        );
        let form: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let names: Vec<&str> = form["acroform"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["fullname"].as_str())
            .collect();
        assert!(names.contains(&"name"), "{names:?}");
    }
    for (name, prev) in [("real", "{}.0"), ("reference", "{} 0 R")] {
        let input = dir.join(format!("{name}.pdf"));
        std::fs::write(&input, filled_form_updated(Some(prev))).unwrap();
        let out = dir.join(format!("{name}-signed.pdf"));
        let err = sign(&input, &out, "rsa2048", &opts("rsa2048")).unwrap_err();
        assert!(matches!(err, PdfError::Damaged(_)), "{name}: {err}");
        let e: mohor::Error = err.into();
        assert_eq!(e.reason, mohor::Reason::DocumentRefused, "{name}");
        assert!(e.message.contains("/Prev"), "{name}: {}", e.message);
        assert!(!out.exists(), "{name}: output written");
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        4,
        "temporary files left behind"
    );
}

#[test]
fn prepared_pdf_reserves_exactly_the_capacity_asked_for() {
    let dir = test_dir("pdf_capacity");
    let mut o = opts("rsa2048");
    o.contents_capacity = 64;
    let p = pdf::prepare(&corpus("pyhanko-minimal.pdf"), &o).unwrap();
    assert_eq!(p.field_name(), "Signature1");
    let [a, b, c, d] = p.byte_range();
    assert_eq!(a, 0);
    assert_eq!(c - b, 2 * 64 + 2);
    let mut out = Vec::new();
    let err = p.write_to(&[0u8; 65], &mut out).unwrap_err();
    assert!(
        matches!(
            err,
            PdfError::ContentsTooLarge {
                need: 65,
                capacity: 64
            }
        ),
        "{err}"
    );
    p.write_to(&[0x30, 0x03, 1, 2, 3], &mut out).unwrap();
    assert_eq!(out.len() as u64, c + d);
    let hole = &out[b as usize..c as usize];
    assert!(
        hole.starts_with(b"<3003010203000"),
        "{}",
        String::from_utf8_lossy(hole)
    );
    // The digest is over everything but the hole.
    let mut covered = out[..b as usize].to_vec();
    covered.extend_from_slice(&out[c as usize..]);
    let alg = mohor::sign::DigestAlgorithm::Sha256;
    assert_eq!(p.digest(alg).unwrap(), alg.digest(&covered));
    let _ = dir;
}

#[test]
fn the_new_section_is_of_the_same_kind_as_the_file() {
    let dir = test_dir("pdf_xref_kind");
    for (name, stream) in [
        ("pyhanko-minimal.pdf", false),
        ("pyhanko-minimal-xref.pdf", true),
        ("qpdf-compress-objstm-xref.pdf", true),
    ] {
        let input = corpus(name);
        let out = dir.join(name);
        sign(&input, &out, "rsa2048", &opts("rsa2048")).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        let appended = &bytes[std::fs::metadata(&input).unwrap().len() as usize..];
        let text = String::from_utf8_lossy(appended);
        assert_eq!(text.contains("/Type /XRef"), stream, "{name}");
        assert_eq!(text.contains("\ntrailer\n"), !stream, "{name}");
    }
}

#[test]
fn stamps_read_upright_on_rotated_pages() {
    if !judges_available() || !have_tool("pdftoppm") {
        return;
    }
    let dir = test_dir("pdf_rotated");
    let rotated = dir.join("rotated.pdf");
    let st = std::process::Command::new("qpdf")
        .arg("--rotate=+90")
        .arg(corpus("pyhanko-empty-a4.pdf"))
        .arg(&rotated)
        .status()
        .unwrap();
    assert!(st.success());
    let out = dir.join("signed.pdf");
    let mut o = opts("rsa2048");
    o.visible_auto = true;
    let s = sign(&rotated, &out, "rsa2048", &o).unwrap();
    judge_new_signature(&out, &s.field_name, 0).unwrap();
    let png = render(&out, "rotated-page-stamp");
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
}
