//! Chunked transfer of documents larger than one frame (pure parts).
//!
//! Upload (page → Mohor):
//! 1. `upload.begin {size, sha256}` → `{uploadId, chunkSize}`
//! 2. `upload.chunk {uploadId, offset, data}` → `{received, complete}`, in
//!    order, each `data` at most `chunkSize` bytes before base64;
//! 3. a binary field of a later request names it: `"document": {"upload": uploadId}`.
//!    The SHA-256 is checked when the last byte arrives; an upload is used once.
//!
//! Download (Mohor → page): when an answer's JSON text is larger than one
//! frame, the response's `result` is only `{"$download": {downloadId, size}}`;
//! the page pulls the answer's JSON text with `download.read {downloadId,
//! offset}` → `{text, next, done}` until `done`, then parses the concatenated
//! text as the real `result`. The download is forgotten once `done` was sent
//! (or on `download.discard`, or when the connection closes).

use serde_json::{json, Value};

/// The key of a result that must be fetched with `download.read`.
pub const DOWNLOAD_MARKER: &str = "$download";

/// The stub result sent instead of a too-large one.
pub fn download_stub(download_id: &str, size: u64) -> Value {
    json!({ DOWNLOAD_MARKER: { "downloadId": download_id, "size": size } })
}

/// Length of the longest prefix of `bytes` that ends on a UTF-8 character
/// boundary, given that `bytes` is a window into valid UTF-8 text starting on
/// a boundary. At most 3 bytes are held back.
pub fn utf8_prefix_len(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) => e.valid_up_to(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_boundary_never_splits_a_character() {
        let text = "ab\u{0939}\u{093f}"; // "ab" + two 3-byte Devanagari characters
        let bytes = text.as_bytes();
        assert_eq!(utf8_prefix_len(&bytes[..2]), 2);
        assert_eq!(utf8_prefix_len(&bytes[..3]), 2);
        assert_eq!(utf8_prefix_len(&bytes[..4]), 2);
        assert_eq!(utf8_prefix_len(&bytes[..5]), 5);
        assert_eq!(utf8_prefix_len(bytes), bytes.len());
    }

    #[test]
    fn the_download_stub_names_the_download_and_its_size() {
        assert_eq!(
            download_stub("d1", 99),
            json!({"$download": {"downloadId": "d1", "size": 99}})
        );
    }
}
