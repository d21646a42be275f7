//! Hostile and broken input: the reader must answer with an error (or a
//! valid result), never panic, hang or allocate without bound.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::objstm::{with_object_streams, ObjectStream};
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

/// An object stream's `/Length` is an indirect object, which may itself be
/// stored in an object stream — the same one, or one whose own `/Length`
/// leads back. The reader followed that until the stack overflowed, which
/// ends the whole process (the agent with it), in signing and in verifying.
/// (qpdf and poppler warn and go on.) Now a typed refusal, as is a chain of
/// such lengths deeper than the reader follows anything; a length stored in
/// another object stream is still read.
#[test]
fn object_stream_lengths_stored_in_object_streams_are_refused_not_a_crash() {
    let dir = scratch("objstm-lengths");
    let stream = |length: Option<String>, objects: &[(u32, String)]| ObjectStream {
        length,
        objects: objects.to_vec(),
        ..ObjectStream::default()
    };
    // The sane form: stream 10's length is object 20, stored in stream 11.
    let first_len = {
        let alone = with_object_streams(vec![stream(None, &[])]);
        let t = String::from_utf8_lossy(&alone).into_owned();
        let at = t.find("/Length ").unwrap() + "/Length ".len();
        t[at..t[at..].find(">>").unwrap() + at].to_string()
    };
    let chained = with_object_streams(vec![
        stream(Some("20 0 R".into()), &[]),
        stream(None, &[(20, first_len)]),
    ]);
    let good = dir.join("chained.pdf");
    std::fs::write(&good, chained).unwrap();
    let q = common::run(std::process::Command::new("qpdf").arg("--check").arg(&good));
    assert!(
        q.status.success(),
        "qpdf on the sane form: {}",
        common::text(&q)
    );
    pdf::prepare(&good, &options()).expect("a length in another object stream is read");

    let self_length =
        with_object_streams(vec![stream(Some("20 0 R".into()), &[(20, "999".into())])]);
    let each_other = with_object_streams(vec![
        stream(Some("21 0 R".into()), &[(20, "999".into())]),
        stream(Some("20 0 R".into()), &[(21, "999".into())]),
    ]);
    // Stream i's length is object 1000 + i, stored in stream i + 1.
    let long_chain = with_object_streams(
        (0..200u32)
            .map(|i| {
                let objects = if i == 0 {
                    vec![]
                } else {
                    vec![(999 + i, "999".to_string())]
                };
                let length = (i < 199).then(|| format!("{} 0 R", 1000 + i));
                ObjectStream {
                    length,
                    objects,
                    ..ObjectStream::default()
                }
            })
            .collect(),
    );
    let store = mohor::verify::TrustStore::shipped();
    let now = time::OffsetDateTime::now_utc();
    for (name, bytes) in [
        ("self-length", self_length),
        ("each-other", each_other),
        ("long-chain", long_chain),
    ] {
        let f = dir.join(format!("{name}.pdf"));
        std::fs::write(&f, &bytes).unwrap();
        let e: mohor::Error = pdf::prepare(&f, &options())
            .err()
            .unwrap_or_else(|| panic!("{name}: signed"))
            .into();
        assert_eq!(
            e.reason,
            mohor::Reason::DocumentRefused,
            "{name}: {}",
            e.message
        );
        assert!(e.message.contains("object stream"), "{name}: {}", e.message);
        assert!(pdf::inspect(&f).is_err(), "{name}: inspected");
        // The verifier finds no signature to check (it crashed before).
        let report = mohor::verify::verify_bytes(&bytes, None, &store, now);
        assert!(
            report.map_or(true, |r| r.signatures.is_empty()),
            "{name}: a signature found"
        );
    }
}

/// An object stream's /N may claim no more members than its header (the
/// bytes before /First) can list, two numbers each. The reader reserved
/// room for /N members before reading one: a 50 kB file whose header
/// inflates to 48 MB of blanks, /N as large, had every `mohor sign` and
/// `mohor verify` ask for 768 MB at once (16 bytes a member). Linux lends
/// it untouched, but a system that counts what is asked for (Windows'
/// commit charge, a memory limit) aborts the process, the agent with it.
/// Now a typed refusal before any room is taken; the verifier runs here
/// under a 400 MB address-space limit, where the reservation aborted it.
#[test]
fn an_object_stream_cannot_claim_more_members_than_its_header_lists() {
    let dir = scratch("objstm-huge-n");
    let pad = 48_000_000;
    let claims = |n: usize| {
        with_object_streams(vec![ObjectStream {
            n: Some(n),
            header_pad: pad,
            flate: true,
            ..ObjectStream::default()
        }])
    };
    // The real count, with the header padded as much, still reads.
    let good = dir.join("padded.pdf");
    std::fs::write(&good, claims(3)).unwrap();
    pdf::prepare(&good, &options()).expect("a padded header with the real /N");

    let file = dir.join("huge-n.pdf");
    let bytes = claims(pad);
    assert!(bytes.len() < 100_000, "{} bytes", bytes.len());
    std::fs::write(&file, &bytes).unwrap();
    let e: mohor::Error = pdf::prepare(&file, &options())
        .err()
        .expect("signed")
        .into();
    assert_eq!(e.reason, mohor::Reason::DocumentRefused, "{}", e.message);
    assert!(
        e.message.contains("/N counts more objects"),
        "{}",
        e.message
    );
    assert!(pdf::inspect(&file).is_err());

    if cfg!(target_os = "linux") {
        let out = common::run(
            std::process::Command::new("sh")
                .arg("-c")
                .arg(r#"ulimit -v 400000 && exec "$0" verify "$1""#)
                .arg(env!("CARGO_BIN_EXE_mohor"))
                .arg(&file)
                .env("MOHOR_HOME", &dir),
        );
        let t = common::text(&out);
        assert!(!t.contains("memory allocation"), "{t}");
        assert_eq!(out.status.code(), Some(1), "{t}");
        assert!(t.contains("DOCUMENT_REFUSED"), "{t}");
    }
}
