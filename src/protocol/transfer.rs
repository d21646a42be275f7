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

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::RpcError;

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

/// `upload.chunk` params with `data` still in base64: the server decodes it
/// piece by piece straight into the upload's file (a 4 MiB chunk is never
/// held decoded as a whole).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UploadChunkText {
    pub upload_id: String,
    pub offset: u64,
    pub data: String,
}

impl UploadChunkText {
    pub fn parse(params: Value) -> Result<UploadChunkText, RpcError> {
        let params = match params {
            Value::Null => Value::Object(Default::default()),
            p => p,
        };
        serde_json::from_value(params)
            .map_err(|e| RpcError::invalid_params(format!("upload.chunk: {e}")))
    }
}

/// Base64 characters decoded at a time (a multiple of 4).
const BASE64_PIECE: usize = 64 * 1024;

/// Why [`for_each_decoded`] stopped.
#[derive(Debug)]
pub enum PieceError<E> {
    /// The text is not standard padded base64.
    Base64(String),
    /// The sink refused a piece.
    Sink(E),
}

/// Decodes standard padded base64 in pieces of at most 48 KiB, giving each
/// to `sink` in order. Accepts exactly what a whole-text decode accepts
/// (padding only at the very end). Run it once with a counting sink to
/// validate before writing anything.
pub fn for_each_decoded<E>(
    text: &str,
    buf: &mut Vec<u8>,
    mut sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), PieceError<E>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(PieceError::Base64(
            "the length is not a multiple of 4 (standard base64 is padded)".into(),
        ));
    }
    if let Some(pad) = bytes.iter().position(|b| *b == b'=') {
        if pad + 2 < bytes.len() {
            return Err(PieceError::Base64(format!(
                "padding before the end at {pad}"
            )));
        }
    }
    for piece in bytes.chunks(BASE64_PIECE) {
        buf.resize(piece.len() / 4 * 3, 0);
        let n = base64::engine::general_purpose::STANDARD
            .decode_slice(piece, buf)
            .map_err(|e| PieceError::Base64(e.to_string()))?;
        sink(&buf[..n]).map_err(PieceError::Sink)?;
    }
    Ok(())
}

/// The decoded length of `text`, validating all of it.
pub fn decoded_len(text: &str) -> Result<u64, String> {
    let mut len = 0u64;
    let mut buf = Vec::new();
    for_each_decoded(text, &mut buf, |p| {
        len += p.len() as u64;
        Ok::<(), ()>(())
    })
    .map_err(|e| match e {
        PieceError::Base64(m) => m,
        PieceError::Sink(()) => String::new(),
    })?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piecewise_decoding_accepts_and_refuses_what_a_whole_decode_does() {
        let std = base64::engine::general_purpose::STANDARD;
        for len in [0usize, 1, 2, 3, 49_151, 49_152, 49_153, 200_001] {
            let raw: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let text = std.encode(&raw);
            let mut out = Vec::new();
            let mut buf = Vec::new();
            let r = for_each_decoded(&text, &mut buf, |p| {
                out.extend_from_slice(p);
                Ok::<(), ()>(())
            });
            assert!(r.is_ok(), "{len}");
            assert_eq!(out, raw, "{len}");
            assert_eq!(decoded_len(&text), Ok(len as u64));
        }
        // Valid pieces joined are not valid base64: padding mid-text.
        let joined = format!("QQ=={}", "QUJD".repeat(20_000));
        for bad in [
            "QQ=",
            "QQ",
            "Q===",
            "QUJD!!!!",
            "QQ==QUJD",
            joined.as_str(),
            "QR==",
        ] {
            assert!(std.decode(bad).is_err(), "{bad}");
            assert!(decoded_len(bad).is_err(), "{bad}");
        }
    }

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
