//! `mohor verify` on every signed file of the third-party corpus: per
//! signature, intact / trusted / modifications agree with pyHanko's
//! validator under the same trust roots, and intact agrees with pdfsig.
// The shared PDF test helpers need the software signer.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod verify_util;

use std::path::PathBuf;

use verify_util::*;

fn signed_corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(pdf_util::corpus_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .filter(|p| find(&std::fs::read(p).unwrap(), b"/ByteRange").is_some())
        .collect();
    files.sort();
    files
}

/// Compare Mohor with pyHanko (and pdfsig) on one file under `roots`.
/// Returns one line per signature for the log.
fn compare(file: &std::path::Path, roots: &[PathBuf], label: &str) -> Vec<String> {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let (report, code, mohor_text) = mohor_report(file, roots, None);
    let (hanko, hanko_text) = hanko_verdicts(file, roots);
    let mut lines = Vec::new();
    if report.is_null() {
        // Refused: only allowed for encryption Mohor's reader cannot open yet.
        assert!(
            name.contains("restricted") || name.contains("enc") || name.contains("aes"),
            "{name}: mohor refused:\n{mohor_text}"
        );
        assert_eq!(code, 1, "{mohor_text}");
        assert!(mohor_text.contains("encrypted"), "{mohor_text}");
        lines.push(format!(
            "{name} [{label}]: refused (encryption not readable): {}",
            mohor_text.lines().next().unwrap_or("")
        ));
        return lines;
    }
    let mohor = mohor_verdicts(&report);
    assert!(
        !mohor.is_empty(),
        "{name}: no signature found\n{mohor_text}"
    );
    let pdfsig = pdfsig_intact(file);
    for (field, m) in &mohor {
        let h = hanko
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.clone());
        match h {
            Some(h) => assert_eq!(
                m, &h,
                "{name} [{label}] field {field}: mohor {m:?} vs pyHanko {h:?}\n{mohor_text}\n{hanko_text}"
            ),
            None => {
                // pyHanko aborted before reaching this field (it stops at the
                // first signature it cannot parse): that one must be broken.
                assert!(
                    !m.intact && hanko_text.contains("Error"),
                    "{name} [{label}] field {field}: pyHanko gave no verdict, mohor {m:?}\n{hanko_text}"
                );
            }
        }
        if let Some((_, ok)) = pdfsig.iter().find(|(f, _)| f == field) {
            assert_eq!(
                m.intact, *ok,
                "{name} field {field}: pdfsig disagrees on intact\n{mohor_text}"
            );
        }
        lines.push(format!("{name} [{label}] {field}: mohor = pyHanko = {m:?}"));
    }
    let all_ok = mohor
        .iter()
        .all(|(_, v)| v.intact && v.trusted && v.modifications != "illegal");
    assert_eq!(
        code,
        if all_ok { 0 } else { 1 },
        "{name}: exit code\n{mohor_text}"
    );
    lines
}

#[test]
fn every_signed_corpus_file_gets_pyhankos_verdict_under_the_same_roots() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let files = signed_corpus_files();
    assert!(
        files.len() >= 5,
        "expected the corpus' signed files, found {files:?}"
    );
    let dir = test_dir("verify_corpus");
    let mut log = Vec::new();
    for file in &files {
        // 1. Trusting only the test PKI's root: nothing in the corpus chains to it.
        log.extend(compare(file, &[fixture().root.clone()], "test root"));
        // 2. Trusting the roots the file itself carries.
        let sub = dir.join(file.file_stem().unwrap());
        std::fs::create_dir_all(&sub).unwrap();
        let roots = embedded_roots(file, &sub);
        if !roots.is_empty() {
            log.extend(compare(file, &roots, "its own roots"));
        }
    }
    eprintln!("{}", log.join("\n"));
}

#[test]
fn without_trust_options_the_cca_roots_are_the_anchors_and_corpus_signers_are_untrusted() {
    if !corpus_available() {
        return;
    }
    let file = corpus("pyhanko-minimal-two-fields-signed-twice.pdf");
    let (report, code, t) = mohor_report(&file, &[], None);
    assert_eq!(code, 1, "{t}");
    for s in report["signatures"].as_array().unwrap() {
        assert_eq!(s["intact"], true, "{t}");
        assert_eq!(s["trusted"], false, "{t}");
        assert!(
            s["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p.as_str().unwrap().contains("not in the trust list")),
            "{t}"
        );
    }
}

/// Every corpus file (unsigned, damaged, encrypted) and hundreds of
/// mutations of signed ones: a report or a clear error, never a panic, and
/// never exit 0 for a file whose signature was damaged.
#[test]
fn hostile_and_unsigned_files_get_a_report_or_a_clear_error_never_a_panic() {
    if !corpus_available() {
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(pdf_util::corpus_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    files.sort();
    for f in &files {
        let (report, code, t) = mohor_report(f, &[fixture().root.clone()], None);
        assert!(code == 0 || code == 1, "{}: exit {code}\n{t}", f.display());
        if report.is_null() {
            assert!(t.contains("mohor: "), "{}: no message\n{t}", f.display());
        } else if report["signatures"].as_array().unwrap().is_empty() {
            assert_eq!(code, 1, "{}: no signature but exit 0", f.display());
        }
    }
    // Mutations: bytes overwritten at spread positions of signed files.
    let dir = test_dir("verify_mutations");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for f in signed_corpus_files() {
        let bytes = std::fs::read(&f).unwrap();
        for i in 0..20 {
            let mut m = bytes.clone();
            let at = (next() % m.len() as u64) as usize;
            let len = 1 + (next() % 16) as usize;
            for b in m.iter_mut().skip(at).take(len) {
                *b = (next() & 0xff) as u8;
            }
            let file = dir.join(format!(
                "{}-{i}.pdf",
                f.file_stem().unwrap().to_string_lossy()
            ));
            std::fs::write(&file, &m).unwrap();
            let (_, code, t) = mohor_report(&file, &[fixture().root.clone()], None);
            assert!(
                code == 0 || code == 1,
                "{}: exit {code}\n{t}",
                file.display()
            );
        }
    }
}

/// Mohor's signature, then pyHanko's (which adds its field and raises the
/// catalog's /Version) or Mohor's again, on corpus files of each structure
/// (classic and stream cross-references, hybrid, incremental, linearized,
/// forms): Mohor judges both signatures as pyHanko does (and pdfsig on
/// intact), and the first stays trusted with acceptable changes.
#[test]
fn a_mohor_signature_co_signed_by_pyhanko_or_mohor_is_judged_as_pyhanko_judges_it() {
    if !corpus_available() || !pdf_util::judges_available() {
        return;
    }
    let dir = test_dir("verify_corpus_cosigned");
    let root = [fixture().root.clone()];
    let mut log = Vec::new();
    for name in [
        "pdfjs-tracemonkey.pdf",
        "qpdf-compress-objstm-xref.pdf",
        "qpdf-hybrid-xref.pdf",
        "qpdf-incremental-1.pdf",
        "qpdf-lin0.pdf",
        "qpdf-form-fields-and-annotations.pdf",
        "pyhanko-minimal-two-fields.pdf",
    ] {
        let ours = dir.join(format!("{name}.mohor.pdf"));
        let mut opts = pdf_util::opts("rsa2048");
        opts.signing_time = time::OffsetDateTime::now_utc();
        mohor::pdf::sign_file(
            &corpus(name),
            &ours,
            &mut pdf_util::signer("rsa2048"),
            &opts,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs = dir.join(format!("{name}.pyhanko.pdf"));
        pdf_util::pyhanko_addsig(&ours, &theirs, "Theirs", "ec256").unwrap();
        let twice = dir.join(format!("{name}.twice.pdf"));
        mohor::pdf::sign_file(&ours, &twice, &mut pdf_util::signer("ec256"), &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (both, label) in [(&theirs, "mohor, then pyHanko"), (&twice, "mohor twice")] {
            log.extend(compare(both, &root, label));
            let (report, _, text) = mohor_report(both, &root, None);
            let first = report["signatures"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["field"] == "Signature1")
                .unwrap_or_else(|| panic!("{name} [{label}]: {text}"))
                .clone();
            assert_eq!(first["intact"], true, "{name} [{label}]: {text}");
            assert_eq!(first["trusted"], true, "{name} [{label}]: {text}");
            assert_eq!(
                first["modifications"], "acceptable",
                "{name} [{label}]: {text}"
            );
        }
    }
    eprintln!("{}", log.join("\n"));
}
