//! Linearized files (`qpdf --linearize`): Mohor's signature and pyHanko's,
//! in either order and twice, all stay ACCEPTABLE in pyHanko's difference
//! analysis, and pdfsig and qpdf agree.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use mohor::pdf;
use pdf_util::*;

/// Files to linearize: XMP metadata with and without the `x:xmpmeta`
/// wrapper (what pyHanko's metadata rule looks at), a minimal file, a form.
const FILES: &[&str] = &[
    BARE_RDF,
    "pdf20-Simple_PDF_2.0_file.pdf",
    "pyhanko-minimal.pdf",
    "pyhanko-minimal-with-field.pdf",
];

/// Stands for the old files whose XMP has no `x:xmpmeta` wrapper (a bare
/// `rdf:RDF`, as XMP allows), which pyHanko's difference analysis refuses
/// to look past unless the metadata is rewritten.
const BARE_RDF: &str = "bare-rdf-metadata";

/// A one-page PDF whose /Metadata root is `rdf:RDF`.
fn bare_rdf_pdf(path: &Path) {
    let xmp = "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
        <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
        <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
        <dc:format>application/pdf</dc:format></rdf:Description></rdf:RDF>\n\
        <?xpacket end=\"w\"?>";
    let content = "BT /Helvetica 12 Tf 72 720 Td (Old file) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /Metadata 5 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        format!(
            "<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n{xmp}\nendstream",
            xmp.len()
        ),
    ];
    let pdf = common::classic_pdf(b"%PDF-1.4\n", &objects, FIXED_ID);
    std::fs::write(path, pdf).expect("write the bare-RDF PDF");
}

fn linearized(name: &str, dir: &Path) -> PathBuf {
    let out = dir.join("linearized.pdf");
    let input = if name == BARE_RDF {
        let p = dir.join("bare-rdf.pdf");
        bare_rdf_pdf(&p);
        p
    } else {
        corpus(name)
    };
    let st = common::run(
        Command::new("qpdf")
            .arg("--linearize")
            .arg(&input)
            .arg(&out),
    );
    assert!(
        matches!(st.status.code(), Some(0) | Some(3)),
        "qpdf --linearize {name}: {}",
        text(&st)
    );
    out
}

fn mohor_sign(input: &Path, output: &Path, who: &str) -> String {
    let mut s = signer(who);
    let signed = pdf::sign_file(input, output, &mut s, &opts(who))
        .unwrap_or_else(|e| panic!("Mohor signs {}: {e}", input.display()));
    signed.field_name
}

fn judge_all(file: &Path, signatures: usize) {
    if let Err(e) = all_signatures_acceptable(file, None, signatures) {
        panic!("{e}");
    }
    let (code, out) = qpdf_check(file);
    assert_eq!(code, 0, "qpdf --check {}:\n{out}", file.display());
    let report = pdfsig(file);
    // pdfsig lists empty signature fields too, without a validation line.
    let signed: Vec<_> = report
        .signatures
        .iter()
        .filter(|s| !s.validation.is_empty())
        .collect();
    assert_eq!(signed.len(), signatures, "{}", report.output);
    for s in signed {
        assert!(
            s.valid() && s.certificate.contains("Trusted"),
            "pdfsig on {}:\n{}",
            file.display(),
            report.output
        );
    }
}

fn setup(name: &str, case: &str) -> Option<(PathBuf, PathBuf)> {
    if !corpus_available() || !judges_available() {
        return None;
    }
    let dir = test_dir(&format!("linearized/{case}/{name}"));
    let lin = linearized(name, &dir);
    Some((dir, lin))
}

#[test]
fn mohor_twice_on_a_linearized_file_keeps_both_signatures_acceptable() {
    for name in FILES {
        let Some((dir, lin)) = setup(name, "mohor-mohor") else {
            return;
        };
        let a = dir.join("a.pdf");
        let b = dir.join("b.pdf");
        mohor_sign(&lin, &a, "rsa2048");
        judge_all(&a, 1);
        mohor_sign(&a, &b, "ec256");
        judge_all(&b, 2);
    }
}

#[test]
fn mohor_then_pyhanko_on_a_linearized_file_keeps_both_acceptable() {
    for name in FILES {
        let Some((dir, lin)) = setup(name, "mohor-pyhanko") else {
            return;
        };
        let a = dir.join("a.pdf");
        let b = dir.join("b.pdf");
        mohor_sign(&lin, &a, "rsa2048");
        pyhanko_addsig(&a, &b, "HankoSig", "ec256").unwrap_or_else(|e| panic!("{e}"));
        judge_all(&b, 2);
    }
}

#[test]
fn pyhanko_then_mohor_on_a_linearized_file_keeps_both_acceptable() {
    for name in FILES {
        let Some((dir, lin)) = setup(name, "pyhanko-mohor") else {
            return;
        };
        let a = dir.join("a.pdf");
        let b = dir.join("b.pdf");
        pyhanko_addsig(&lin, &a, "HankoSig", "rsa2048").unwrap_or_else(|e| panic!("{e}"));
        mohor_sign(&a, &b, "ec256");
        judge_all(&b, 2);
    }
}
