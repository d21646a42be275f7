//! Every corpus PDF, and deterministic truncations and bit flips of every
//! one, through the whole signing path (`pdf::sign_file` with a software
//! key) into a folder of its own. Whatever the input: no panic, the input
//! is byte-for-byte unchanged, a refusal leaves the folder empty (no
//! partial output, no temp file), and a signed output is never less valid
//! than its input by `qpdf --check` (a clean input gives a clean output).
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod harden;
mod pdf_util;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use harden::{figures, listing, Rng};
use pdf_util::*;
use sha2::Digest as _;

use pdf_util::common;

fn damaged(bytes: &[u8], rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let n = bytes.len();
    let mut v = vec![("as it is".to_string(), bytes.to_vec())];
    for (name, cut) in [
        ("1/4", n / 4),
        ("1/2", n / 2),
        ("n-1", n.saturating_sub(1)),
        ("n-20", n.saturating_sub(20)),
    ] {
        v.push((format!("truncated at {name}"), bytes[..cut].to_vec()));
    }
    v.extend(harden::bit_flips(bytes, rng, 7));
    v
}

#[test]
fn signing_damaged_pdfs_never_loses_or_leaves_a_file_and_never_makes_one_worse() {
    if !corpus_available() || !have_tool("qpdf") {
        return;
    }
    let dir = test_dir("hostile_pdf");
    let input_dir = dir.join("in");
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&input_dir).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    files.sort();
    let mut signer = signer("ec256");
    let mut rng = Rng(0xD1CE_5EED_2026);
    let start = Instant::now();
    let (mut tried, mut signed, mut refused) = (0u32, 0u32, 0u32);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for (what, bytes) in damaged(&std::fs::read(f).unwrap(), &mut rng) {
            let input = input_dir.join("input.pdf");
            std::fs::write(&input, &bytes).unwrap();
            let before = sha2::Sha256::digest(&bytes);
            let output = out_dir.join("signed.pdf");
            let t = Instant::now();
            let mut o = opts("ec256");
            o.visible_auto = tried.is_multiple_of(2);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                mohor::pdf::sign_file(&input, &output, &mut signer, &o)
            }))
            .unwrap_or_else(|_| panic!("{name} {what}: panic"));
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{name} {what}: {:?}",
                t.elapsed()
            );
            let after = sha2::Sha256::digest(std::fs::read(&input).unwrap());
            assert_eq!(before, after, "{name} {what}: the input changed");
            match result {
                Err(_) => {
                    assert!(
                        listing(&out_dir).is_empty(),
                        "{name} {what}: left {:?}",
                        listing(&out_dir)
                    );
                    refused += 1;
                }
                Ok(_) => {
                    assert_eq!(listing(&out_dir), ["signed.pdf"], "{name} {what}");
                    let out = std::fs::read(&output).unwrap();
                    assert!(
                        out.starts_with(&bytes),
                        "{name} {what}: not an incremental update"
                    );
                    let (code_in, _) = qpdf_check(&input);
                    let (code_out, report) = qpdf_check(&output);
                    // qpdf: 0 clean, 3 warnings, 2 errors.
                    let rank = |c: i32| match c {
                        0 => 0,
                        3 => 1,
                        _ => 2,
                    };
                    assert!(
                        rank(code_out) <= rank(code_in),
                        "{name} {what}: qpdf --check {code_in} before, {code_out} after:\n{report}"
                    );
                    std::fs::remove_file(&output).unwrap();
                    signed += 1;
                }
            }
            tried += 1;
        }
    }
    figures(
        "hostile_pdf",
        &format!(
            "files={}, inputs tried={tried}, signed={signed} (none worse by qpdf --check), refused={refused} (no output, no temp file), inputs changed=0 ({:.1}s)",
            files.len(),
            start.elapsed().as_secs_f64()
        ),
    );
}
