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
