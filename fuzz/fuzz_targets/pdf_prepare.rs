//! The PDF reading that signing does, on arbitrary bytes: `pdf::inspect`,
//! then `pdf::prepare` as a dry run (the revision is laid out and hashed and
//! written to memory, never to a file), visible and invisible. A success
//! must be an incremental update: the output starts with the input, byte
//! for byte, and the input file is left as it was.
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use mohor::pdf::{self, PdfSignOptions};
use mohor::sign::DigestAlgorithm;

fn options(visible: bool) -> PdfSignOptions {
    let mut o = PdfSignOptions::new("Asha Verma", "Test Class 3 CA 2026");
    o.signing_time = time::OffsetDateTime::UNIX_EPOCH;
    o.contents_capacity = 64;
    o.visible_auto = visible;
    o.reason = Some("fuzz".into());
    o
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = tempfile::Builder::new()
        .prefix("mohor-fuzz-")
        .suffix(".pdf")
        .tempfile()
    else {
        return;
    };
    if file.write_all(data).and_then(|()| file.flush()).is_err() {
        return;
    }
    let path = file.path().to_path_buf();
    let _ = pdf::inspect(&path);
    for visible in [true, false] {
        let Ok(prepared) = pdf::prepare(&path, &options(visible)) else {
            continue;
        };
        let _ = prepared.field_name();
        let _ = prepared.byte_range();
        let _ = prepared.digest(DigestAlgorithm::Sha256);
        let mut out = Vec::new();
        if prepared
            .write_to(&[0x30, 0x03, 0x02, 0x01, 0x01], &mut out)
            .is_ok()
        {
            assert!(out.len() > data.len(), "a signed revision adds bytes");
            assert_eq!(
                &out[..data.len()],
                data,
                "the input is a prefix of the output"
            );
        }
    }
    let after = std::fs::read(&path).unwrap_or_default();
    assert_eq!(after, data, "the input file was changed");
});
