//! PDFs as offices make them, not as test suites do: a bill printed to PDF
//! from Chromium (Skia), a scanned page made searchable by Tesseract (an
//! image with an invisible text layer), a report re-drawn by cairo
//! (`pdftocairo`), and a PDF/A-2b, a PDF 2.0 and an owner-password
//! encrypted file from Ghostscript's `pdfwrite` (the path of "print to PDF"
//! printer drivers). Each is made here, at test time, by
//! the producer itself; then one official signs it with a visible stamp and
//! a second co-signs. qpdf, pdfsig and pyHanko judge both signatures, the
//! producer's bytes stay the files' first revision, and pdftotext copies
//! both stamps out. (The automatic place is the bottom of the last page,
//! whatever is drawn there: on the scan the stamps cover part of the page,
//! as docs/PROTOCOL.md says of `"auto"`.) Last, a PDF signed by poppler
//! (NSS), a third PAdES writer, takes Mohor's co-signature.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use mohor::pdf;
use pdf_util::*;

/// A page of an office bill: Devanagari and Bengali, a table, a rupee
/// amount, a second page and a link.
const BILL_HTML: &str = r#"<!doctype html><html><head><meta charset="utf-8">
<style>body{font-family:sans-serif} td{border:1px solid #000;padding:4px}</style></head>
<body><h1>Bill No. 123/2026 Treasury</h1>
<p lang="hi">यह प्रमाणित किया जाता है कि उपरोक्त राशि सही है।</p>
<p lang="bn">প্রত্যয়ন করা হইল যে উপরোক্ত তথ্য সঠিক।</p>
<table><tr><td>Head</td><td>Amount</td></tr><tr><td>2054-00-095</td><td>₹ 12,345.00</td></tr></table>
<div style="page-break-after:always"></div><h2>Annexure</h2><p>Second page.</p>
<a href="https://example.gov.in/bill/123">Details</a></body></html>"#;

fn tools() -> bool {
    judges_available()
        & have_tool("chromium")
        & have_tool("tesseract")
        & have_tool("pdftoppm")
        & have_tool("pdftocairo")
        & have_tool("pdftotext")
        & have_tool("gs")
        & have_tool("timeout")
}

/// Run a producer; it must succeed and leave `out` behind.
fn produce(cmd: &mut Command, out: &Path) -> PathBuf {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success() && out.is_file(),
        "{cmd:?} did not make {}:\n{}",
        out.display(),
        text(&o)
    );
    out.to_path_buf()
}

fn chromium(dir: &Path) -> PathBuf {
    let html = dir.join("bill.html");
    std::fs::write(&html, BILL_HTML).unwrap();
    let out = dir.join("chromium.pdf");
    produce(
        Command::new("timeout")
            .args(["120", "chromium", "--headless=new", "--no-sandbox"])
            .args(["--disable-gpu", "--no-pdf-header-footer"])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(format!("--print-to-pdf={}", out.display()))
            .arg(&html),
        &out,
    )
}

/// Page 1 of a paper, rasterised at 150 dpi like a scanner would, and made
/// searchable by Tesseract.
fn tesseract_scan(dir: &Path) -> PathBuf {
    let prefix = dir.join("scan");
    let png = produce(
        Command::new("pdftoppm")
            .args(["-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile"])
            .arg(corpus("pdfjs-tracemonkey.pdf"))
            .arg(&prefix),
        &prefix.with_extension("png"),
    );
    produce(
        Command::new("tesseract").arg(&png).arg(&prefix).arg("pdf"),
        &prefix.with_extension("pdf"),
    )
}

fn cairo(dir: &Path) -> PathBuf {
    let out = dir.join("cairo.pdf");
    produce(
        Command::new("pdftocairo")
            .arg("-pdf")
            .arg(corpus("pdfjs-tracemonkey.pdf"))
            .arg(&out),
        &out,
    )
}

fn ghostscript_pdfa(dir: &Path, input: &Path) -> PathBuf {
    let out = dir.join("ghostscript-pdfa.pdf");
    produce(
        Command::new("gs")
            .args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite"])
            .args(["-dPDFA=2", "-dPDFACompatibilityPolicy=1"])
            .arg("-sColorConversionStrategy=RGB")
            .arg(format!("-sOutputFile={}", out.display()))
            .arg(input),
        &out,
    )
}

/// Asha Verma stamps `input`, Meera Nair co-signs below her; both
/// signatures hold for every judge and no word of the document is lost.
fn sign_twice_and_judge(input: &Path, dir: &Path) {
    let name = input.file_stem().unwrap().to_string_lossy().into_owned();
    let (code, report) = qpdf_check(input);
    assert!(
        code == 0 || code == 3,
        "the producer's own {name} fails qpdf --check:\n{report}"
    );
    let original = std::fs::read(input).unwrap();
    let first = dir.join(format!("{name}-signed.pdf"));
    let mut o = opts("rsa2048");
    o.visible_auto = true;
    let one = pdf::sign_file(input, &first, &mut signer("rsa2048"), &o)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    judge_new_signature(&first, &one.field_name, code).unwrap_or_else(|e| panic!("{name}: {e}"));

    let second = dir.join(format!("{name}-cosigned.pdf"));
    let mut o = opts("ec256");
    o.reason = Some("Countersigned".into());
    o.visible_auto = true;
    let two = pdf::sign_file(&first, &second, &mut signer("ec256"), &o)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_ne!(one.field_name, two.field_name);
    judge_new_signature(&second, &two.field_name, code).unwrap_or_else(|e| panic!("{name}: {e}"));
    all_signatures_acceptable(&second, None, 2).unwrap_or_else(|e| panic!("{name}: {e}"));
    let statuses = pdfsig(&second);
    assert!(
        statuses.signatures.len() == 2 && statuses.signatures.iter().all(|s| s.valid()),
        "{name}: pdfsig on both signatures:\n{}",
        statuses.output
    );

    assert_eq!(
        std::fs::read(input).unwrap(),
        original,
        "{name}: the input changed"
    );
    // Incremental updates: the producer's bytes open both signed files, and
    // both stamps copy out as text.
    for signed in [&first, &second] {
        assert!(
            std::fs::read(signed).unwrap().starts_with(&original),
            "{name}: {} does not begin with the input's bytes",
            signed.display()
        );
    }
    // (On the scan the copied stamp text may have the text layer's words
    // under it mixed in: look for the names, not for whole lines.)
    let copied = pdftotext(&second, None);
    for w in ["Asha", "Verma", "Meera", "Nair", "Countersigned"] {
        assert!(copied.contains(w), "{name}: pdftotext did not copy out {w}");
    }
}

#[test]
fn a_bill_printed_to_pdf_by_chromium() {
    if tools() {
        let dir = test_dir("producer_chromium");
        sign_twice_and_judge(&chromium(&dir), &dir);
    }
}

#[test]
fn the_same_bill_as_pdf_a_from_ghostscript() {
    if tools() {
        let dir = test_dir("producer_ghostscript");
        let pdfa = ghostscript_pdfa(&dir, &chromium(&dir));
        sign_twice_and_judge(&pdfa, &dir);
    }
}

/// Ghostscript's `pdfwrite` with extra arguments, from the cairo copy of
/// the paper (a text PDF with fonts to carry over).
fn ghostscript(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let input = cairo(dir);
    let out = dir.join(format!("{name}.pdf"));
    produce(
        Command::new("gs")
            .args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite"])
            .args(args)
            .arg(format!("-sOutputFile={}", out.display()))
            .arg(input),
        &out,
    )
}

/// PDF 2.0 from Ghostscript (10.0 writes its XMP packet with an unquoted
/// attribute value, which pyHanko's difference analysis cannot parse).
#[test]
fn the_paper_as_pdf_2_0_from_ghostscript() {
    if tools() {
        let dir = test_dir("producer_ghostscript_pdf20");
        let pdf20 = ghostscript(&dir, "ghostscript-pdf20", &["-dCompatibilityLevel=2.0"]);
        sign_twice_and_judge(&pdf20, &dir);
    }
}

/// Encrypted by Ghostscript with an owner password only (10.0 garbles the
/// XMP packet of such files).
#[test]
fn the_paper_encrypted_by_ghostscript_with_an_owner_password() {
    if tools() {
        let dir = test_dir("producer_ghostscript_encrypted");
        let enc = ghostscript(
            &dir,
            "ghostscript-encrypted",
            &["-sOwnerPassword=owner", "-sUserPassword="],
        );
        sign_twice_and_judge(&enc, &dir);
    }
}

#[test]
fn a_scanned_page_made_searchable_by_tesseract() {
    if tools() {
        let dir = test_dir("producer_tesseract");
        sign_twice_and_judge(&tesseract_scan(&dir), &dir);
    }
}

#[test]
fn a_paper_redrawn_by_cairo() {
    if tools() {
        let dir = test_dir("producer_cairo");
        sign_twice_and_judge(&cairo(&dir), &dir);
    }
}

/// An NSS database holding Asha Verma's RSA key and chain, for poppler to
/// sign with. (Not an EC key: poppler 22 sizes its placeholder from one
/// ECDSA signature and fails, "unable update signature", about half the
/// time when the real one comes out a byte longer.)
fn nss_signer_db(dir: &Path) -> PathBuf {
    let db = dir.join("nss");
    std::fs::create_dir_all(&db).unwrap();
    let sql = format!("sql:{}", db.display());
    let c = fixture().cert("rsa2048");
    let p12 = dir.join("asha.p12");
    for cmd in [
        Command::new("certutil").args(["-N", "-d", &sql, "--empty-password"]),
        Command::new("openssl")
            .args(["pkcs12", "-export", "-name", "asha", "-passout", "pass:"])
            .arg("-inkey")
            .arg(&c.key)
            .arg("-in")
            .arg(&c.cert)
            .arg("-certfile")
            .arg(&fixture().chain)
            .arg("-out")
            .arg(&p12),
        Command::new("pk12util")
            .args(["-d", &sql, "-W", ""])
            .arg("-i")
            .arg(&p12),
    ] {
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{cmd:?}:\n{}", text(&o));
    }
    db
}

#[test]
fn a_pdf_signed_by_poppler_takes_a_co_signature() {
    if !(tools() & have_tool("pk12util") & have_tool("certutil")) {
        return;
    }
    let dir = test_dir("producer_poppler_signed");
    let db = nss_signer_db(&dir);
    let theirs = produce(
        Command::new("pdfsig")
            .arg("-add-signature")
            .arg("-nssdir")
            .arg(format!("sql:{}", db.display()))
            .args(["-nick", "asha", "-reason", "Verified"])
            .arg(corpus("pdfjs-tracemonkey.pdf"))
            .arg(dir.join("poppler-signed.pdf")),
        &dir.join("poppler-signed.pdf"),
    );
    let ours = dir.join("cosigned.pdf");
    let mut o = opts("ec256");
    o.visible = stamp(1, 300.0, 40.0, 250.0, 90.0);
    let signed = pdf::sign_file(&theirs, &ours, &mut signer("ec256"), &o).unwrap();

    let (code, report) = qpdf_check(&ours);
    assert_eq!(code, 0, "{report}");
    let sigs = pdfsig(&ours);
    assert!(
        sigs.signatures.len() == 2
            && sigs
                .signatures
                .iter()
                .all(|s| s.valid() && s.certificate.contains("Trusted")),
        "{}",
        sigs.output
    );
    // poppler writes a generation its own xref never freed, which pyHanko's
    // strict parser refuses in poppler's file already: ask it leniently.
    let py = pyhanko().unwrap();
    let out = common::run(
        Command::new(py)
            .args([
                "sign",
                "validate",
                "--no-strict-syntax",
                "--no-revocation-check",
            ])
            .args(["--trust-replace", "--trust"])
            .arg(&fixture().root)
            .arg(&ours),
    );
    let verdicts = text(&out);
    let line = |field: &str| {
        verdicts
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line(&signed.field_name).ends_with("INTACT:TRUSTED,UNTOUCHED"),
        "{verdicts}"
    );
    let first = &sigs.signatures[0].field;
    assert!(
        line(first).contains("INTACT:TRUSTED") && line(first).contains("ACCEPTABLE_MODIFICATIONS"),
        "{verdicts}"
    );
}
