//! `pdf::inspect` on known corpus files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use mohor::pdf;
use pdf_util::{corpus, corpus_available};

#[test]
fn reports_pages_fields_certification_and_encryption() {
    if !corpus_available() {
        return;
    }
    let two_pages = pdf::inspect(&corpus("pyhanko-minimal-two-pages.pdf")).unwrap();
    assert_eq!(two_pages.page_count, 2);
    assert!(two_pages.signature_fields.is_empty());
    assert_eq!(two_pages.docmdp, None);
    assert!(!two_pages.encrypted);
    assert_eq!(two_pages.pdf_version, "1.7");

    let signed = pdf::inspect(&corpus("pyhanko-minimal-two-fields-signed-twice.pdf")).unwrap();
    assert_eq!(signed.signature_fields.len(), 2);
    assert!(signed.signature_fields.iter().all(|f| f.signed));
    assert!(signed.revisions >= 3, "{signed:?}");

    let empty_field = pdf::inspect(&corpus("pyhanko-minimal-with-field.pdf")).unwrap();
    assert_eq!(empty_field.signature_fields.len(), 1);
    assert!(!empty_field.signature_fields[0].signed);
    assert!(empty_field.signature_fields[0].visible);

    let certified =
        pdf::inspect(&corpus("pyhanko-certified-with-indirect-refs-in-dir.pdf")).unwrap();
    assert_eq!(certified.docmdp, Some(1));

    let encrypted = pdf::inspect(&corpus("pyhanko-minimal-aes256.pdf")).unwrap();
    assert!(encrypted.encrypted);
    let locked = pdf::inspect(&corpus("qpdf-minimal-signed-restricted.pdf")).unwrap();
    assert!(locked.encrypted);
    assert_eq!(locked.docmdp, Some(1));

    let big = pdf::inspect(&corpus("pdfjs-tracemonkey.pdf")).unwrap();
    assert_eq!(big.page_count, 14);
}

#[test]
fn garbage_is_not_a_pdf() {
    if !corpus_available() {
        return;
    }
    let e = pdf::inspect(&corpus("qpdf-bad1.pdf")).unwrap_err();
    let e: mohor::Error = e.into();
    assert_eq!(e.reason, mohor::Reason::DocumentRefused);
    let missing = pdf::inspect(&corpus("no-such-file.pdf")).unwrap_err();
    assert_eq!(mohor::Error::from(missing).reason, mohor::Reason::IoError);
}
