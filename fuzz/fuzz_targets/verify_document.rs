//! The verifier on arbitrary bytes, as a page's `verify` request or `mohor
//! verify` hands it over: a PDF (signed fields, byte ranges, CMS, what later
//! revisions changed) or, when the first byte is odd, a CMS signature and
//! its detached data, split where the next two bytes (big-endian) say.
//! Besides "no panic, no hang":
//! a signature reported trusted is intact, and every report's byte range
//! lies inside the document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mohor::verify::{verify_bytes, TrustStore};

fuzz_target!(|data: &[u8]| {
    let store = TrustStore::shipped();
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let (document, detached) = match data {
        [mode, hi, lo, rest @ ..] if mode % 2 == 1 => {
            let at = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
            (&rest[..at], Some(&rest[at..]))
        }
        _ => (data, None),
    };
    let Ok(report) = verify_bytes(document, detached, &store, now) else {
        return;
    };
    for s in &report.signatures {
        assert!(!s.trusted || s.intact, "trusted but not intact: {s:?}");
        if let Some([a, b, c, d]) = s.byte_range {
            assert!(a <= b && b <= c, "byte range out of order: {s:?}");
            assert!(c + d <= document.len() as u64, "byte range past the end: {s:?}");
        }
    }
});
