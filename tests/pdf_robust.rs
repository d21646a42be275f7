//! Hostile and broken input: the reader must answer with an error (or a
//! valid result), never panic, hang or allocate without bound.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mohor::pdf::{self, PdfSignOptions};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pdf")
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("pdf_robust")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn options() -> PdfSignOptions {
    let mut o = PdfSignOptions::new("Asha Verma", "Test Class 3 CA 2026");
    o.contents_capacity = 8192;
    o.visible_auto = true;
    o
}

/// Run every entry point on `file`; only panics (caught by the harness) fail.
fn exercise(file: &Path) {
    let _ = pdf::inspect(file);
    if let Ok(p) = pdf::prepare(file, &options()) {
        let _ = p.digest(mohor::sign::DigestAlgorithm::Sha256);
        let mut sink = Vec::new();
        let _ = p.write_to(&[0x30, 0x00], &mut sink);
    }
    let mut invisible = options();
    invisible.visible_auto = false;
    let _ = pdf::prepare(file, &invisible);
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn truncated_and_corrupted_corpus_files_never_panic() {
    if !corpus_dir().is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the test corpus is missing"
        );
        eprintln!(
            "SKIPPED: the test corpus {} is missing",
            corpus_dir().display()
        );
        return;
    }
    let dir = scratch("mutations");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = Instant::now();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("../shared/corpus/pdf")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        // The big ones add time, not new structure.
        .filter(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() < 200_000)
                .unwrap_or(false)
        })
        .collect();
    files.sort();
    let target = dir.join("mutant.pdf");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let n = bytes.len();
        let mut variants: Vec<Vec<u8>> = Vec::new();
        // Truncations: throughout, and the last bytes (the trailer) one by one.
        for i in 1..12 {
            variants.push(bytes[..n * i / 12].to_vec());
        }
        for cut in 1..40.min(n) {
            variants.push(bytes[..n - cut].to_vec());
        }
        // Single-byte corruptions, biased towards the structural tail.
        for _ in 0..60 {
            let mut v = bytes.clone();
            let pos = if rng.next() & 1 == 0 {
                (rng.next() as usize) % n
            } else {
                n - 1 - (rng.next() as usize) % n.min(400)
            };
            v[pos] = b"0 9<>[]()/R\n %xref"[(rng.next() % 18) as usize];
            variants.push(v);
        }
        for v in variants {
            std::fs::write(&target, &v).unwrap();
            let r = std::panic::catch_unwind(|| exercise(&target));
            assert!(r.is_ok(), "panic on a mutation of {}", f.display());
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(600),
        "mutation run took {:?}",
        start.elapsed()
    );
}

fn minimal_with(objects: &[&str], trailer: &str) -> Vec<u8> {
    common::pdf_with_trailer(b"%PDF-1.7\n", objects, trailer)
}

#[test]
fn hostile_structures_are_refused_quickly() {
    let dir = scratch("hostile");
    let page_tree_self = minimal_with(
        &[
            "<</Type/Catalog/Pages 2 0 R>>",
            "<</Type/Pages/Kids[2 0 R]/Count 1000000>>",
        ],
        "<</Size 3/Root 1 0 R>>",
    );
    let deep = minimal_with(
        &[
            &format!("<</Type/Catalog/Pages 2 0 R/X {}>>", "[".repeat(5000)),
            "<</Type/Pages/Kids[]/Count 0>>",
        ],
        "<</Size 3/Root 1 0 R>>",
    );
    let prev_loop = {
        let mut v = minimal_with(
            &[
                "<</Type/Catalog/Pages 2 0 R>>",
                "<</Type/Pages/Kids[]/Count 0>>",
            ],
            "<</Size 3/Root 1 0 R/Prev PREV>>",
        );
        let xref = String::from_utf8_lossy(&v).rfind("xref\n0 3").unwrap();
        let s = String::from_utf8_lossy(&v).replace("PREV", &format!("{xref:04}"));
        v = s.into_bytes();
        v
    };
    let huge_objstm = minimal_with(
        &[
            "<</Type/Catalog/Pages 2 0 R>>",
            "<</Type/Pages/Kids[]/Count 0>>",
            "<</Type/ObjStm/N 999999999/First 5/Length 5>>stream\n1 0 2\nendstream",
        ],
        "<</Size 4/Root 1 0 R>>",
    );
    let root_is_stream = minimal_with(
        &[
            "<</Length 3>>stream\nabc\nendstream",
            "<</Type/Pages/Kids[]/Count 0>>",
        ],
        "<</Size 3/Root 1 0 R>>",
    );
    let no_root = minimal_with(&["<</Type/Catalog>>"], "<</Size 2>>");
    let xref_stream_bomb = {
        let mut out = b"%PDF-1.7\n".to_vec();
        let at = out.len();
        out.extend_from_slice(
            b"1 0 obj\n<</Type/XRef/Size 8388607/W[8 8 8]/Index[0 8388607]/Length 0>>stream\n\nendstream\nendobj\n",
        );
        out.extend_from_slice(format!("startxref\n{at}\n%%EOF\n").as_bytes());
        out
    };
    for (name, bytes) in [
        ("page-tree-self", page_tree_self),
        ("deep", deep),
        ("prev-loop", prev_loop),
        ("huge-objstm", huge_objstm),
        ("root-is-stream", root_is_stream),
        ("no-root", no_root),
        ("xref-stream-bomb", xref_stream_bomb),
    ] {
        let f = dir.join(format!("{name}.pdf"));
        std::fs::write(&f, bytes).unwrap();
        let t = Instant::now();
        let err = pdf::prepare(&f, &options());
        assert!(err.is_err(), "{name}: accepted");
        let e: mohor::Error = err.err().unwrap().into();
        assert_eq!(
            e.reason,
            mohor::Reason::DocumentRefused,
            "{name}: {}",
            e.message
        );
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{name}: took {:?}",
            t.elapsed()
        );
        exercise(&f);
    }
}
