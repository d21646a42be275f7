//! End-to-end PAdES signing: Mohor signs, qpdf/pyHanko/pdfsig judge.
#![cfg(feature = "software-signer")]

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
