//! A backend's answer whose large binary values stay in files.
//!
//! A signed 200 MB PDF must not be read into memory, base64-encoded into a
//! string, put into a `serde_json::Value` and serialised again (that held the
//! document four times over). Instead the backend puts a placeholder string
//! in the `result` and attaches the file; the server writes the JSON text
//! around it and base64-encodes the file on the way out, a few kilobytes at a
//! time (`AnswerText`), either into one frame (small answers) or piece by
//! piece through `download.read`.
//!
//! ```no_run
//! # fn f(signed: &std::path::Path, dir: tempfile::TempDir) -> mohor::Result<()> {
//! use mohor::server::Answer;
//! let mut answer = Answer::new();
//! let document = answer.attach_base64(signed)?;
//! answer.keep_alive(dir); // the file lives in it until the answer is sent
//! answer.set_result(serde_json::json!({ "document": document, "field": "Signature1" }));
//! # Ok(()) }
//! ```

use std::any::Any;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use crate::{Error, Result};

/// What [`crate::server::Backend::handle`] returns.
pub struct Answer {
    result: Value,
    attachments: Vec<Attachment>,
    /// Owners of the attached files (a request's temp dir), dropped with the answer.
    keep: Vec<Box<dyn Any + Send>>,
    nonce: String,
}

struct Attachment {
    placeholder: String,
    path: PathBuf,
    len: u64,
}

impl From<Value> for Answer {
    fn from(result: Value) -> Self {
        Answer {
            result,
            ..Answer::new()
        }
    }
}

impl Default for Answer {
    fn default() -> Self {
        Answer::new()
    }
}

impl Answer {
    pub fn new() -> Answer {
        let mut nonce = [0u8; 12];
        // A collision with a real value would need the page to guess 96 random
        // bits; without randomness the index alone still keeps them apart.
        let _ = getrandom::getrandom(&mut nonce);
        Answer {
            result: Value::Null,
            attachments: Vec::new(),
            keep: Vec::new(),
            nonce: hex::encode(nonce),
        }
    }

    /// Attaches `path`; returns the value to put in the result where the
    /// file's base64 belongs. The file must not change until the answer is sent.
    pub fn attach_base64(&mut self, path: &Path) -> Result<Value> {
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), &e))?
            .len();
        let placeholder = format!("$mohor-file:{}:{}", self.nonce, self.attachments.len());
        self.attachments.push(Attachment {
            placeholder: placeholder.clone(),
            path: path.to_path_buf(),
            len,
        });
        Ok(Value::String(placeholder))
    }

    /// Keeps `owner` (e.g. the `TempDir` holding the attached files) alive
    /// until the answer has been sent or dropped.
    pub fn keep_alive(&mut self, owner: impl Any + Send) {
        self.keep.push(Box::new(owner));
    }

    pub fn set_result(&mut self, result: Value) {
        self.result = result;
    }

    /// The `result` JSON text as pieces of text and files to encode.
    pub(crate) fn into_text(self) -> Result<AnswerText> {
        let json = serde_json::to_string(&self.result)
            .map_err(|e| Error::internal(format!("could not encode the answer: {e}")))?;
        let mut segments = Vec::new();
        let mut rest = json.as_str();
        let mut remaining: Vec<Attachment> = self.attachments;
        loop {
            // The earliest placeholder still in the text comes next.
            let next = remaining
                .iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    rest.find(&format!("\"{}\"", a.placeholder))
                        .map(|at| (at, i))
                })
                .min();
            let Some((at, i)) = next else { break };
            let a = remaining.swap_remove(i);
            let quoted = a.placeholder.len() + 2;
            segments.push(Segment::Text(format!("{}\"", &rest[..at]).into_bytes()));
            let file = File::open(&a.path)
                .map_err(|e| Error::io(format!("cannot read {}", a.path.display()), &e))?;
            segments.push(Segment::File(Base64File::new(file, a.len)));
            segments.push(Segment::Text(b"\"".to_vec()));
            rest = &rest[at + quoted..];
        }
        if !remaining.is_empty() {
            return Err(Error::internal(
                "an attached file is not referenced by the answer",
            ));
        }
        segments.push(Segment::Text(rest.as_bytes().to_vec()));
        let len = segments.iter().map(Segment::len).sum();
        Ok(AnswerText {
            segments: segments.into(),
            len,
            _keep: self.keep,
        })
    }
}

/// Length of the padded standard base64 of `n` bytes.
pub fn base64_len(n: u64) -> u64 {
    n.div_ceil(3) * 4
}

enum Segment {
    Text(Vec<u8>),
    File(Base64File),
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Segment::Text(t) => t.len() as u64,
            Segment::File(f) => base64_len(f.len),
        }
    }
}

/// The `result` JSON text of an answer, read front to back.
pub(crate) struct AnswerText {
    segments: std::collections::VecDeque<Segment>,
    len: u64,
    _keep: Vec<Box<dyn Any + Send>>,
}

impl AnswerText {
    /// A plain text, with nothing attached (the fuzz targets' downloads).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn plain(text: &str) -> AnswerText {
        AnswerText {
            segments: vec![Segment::Text(text.as_bytes().to_vec())].into(),
            len: text.len() as u64,
            _keep: Vec::new(),
        }
    }

    /// Total length in bytes, known before anything is read.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The whole text (for answers small enough for one frame).
    pub(crate) fn read_to_string(mut self) -> io::Result<String> {
        let mut out = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.read_to_end(&mut out)?;
        String::from_utf8(out).map_err(|_| io::Error::other("the answer is not UTF-8"))
    }
}

impl Read for AnswerText {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(front) = self.segments.front_mut() {
            let n = match front {
                Segment::Text(t) => {
                    let n = t.len().min(buf.len());
                    buf[..n].copy_from_slice(&t[..n]);
                    t.drain(..n);
                    n
                }
                Segment::File(f) => f.read(buf)?,
            };
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.segments.pop_front();
        }
        Ok(0)
    }
}

/// Raw bytes read per refill (a multiple of 3, so only the last block pads).
const RAW_BLOCK: usize = 48 * 1024;

/// Base64 of exactly `len` bytes of a file, produced as it is read.
struct Base64File {
    file: File,
    len: u64,
    /// Raw bytes not yet read from the file.
    left: u64,
    raw: Vec<u8>,
    encoded: Vec<u8>,
    pos: usize,
}

impl Base64File {
    fn new(file: File, len: u64) -> Base64File {
        Base64File {
            file,
            len,
            left: len,
            raw: Vec::new(),
            encoded: Vec::new(),
            pos: 0,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        let want = usize::try_from(self.left.min(RAW_BLOCK as u64)).unwrap_or(RAW_BLOCK);
        self.raw.resize(want, 0);
        self.file.read_exact(&mut self.raw).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::other("the signed document shrank while it was being sent")
            } else {
                e
            }
        })?;
        self.left -= want as u64;
        let encoded_len = usize::try_from(base64_len(want as u64)).unwrap_or(0);
        self.encoded.resize(encoded_len, 0);
        base64::engine::general_purpose::STANDARD
            .encode_slice(&self.raw, &mut self.encoded)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.pos = 0;
        Ok(())
    }
}

impl Read for Base64File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.encoded.len() {
            if self.left == 0 {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = (self.encoded.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.encoded[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn text_of(answer: Answer) -> (u64, String) {
        let t = answer.into_text().expect("into_text");
        let len = t.len();
        (len, t.read_to_string().expect("read"))
    }

    #[test]
    fn attached_files_become_their_base64_inside_the_json_text() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", &e))?;
        let mut expected = json!({"n": 1});
        let mut answer = Answer::new();
        let mut docs = Vec::new();
        // Sizes around the refill block and the 3-byte groups.
        for (i, size) in [0usize, 1, 2, 3, RAW_BLOCK - 1, RAW_BLOCK, RAW_BLOCK * 2 + 1]
            .into_iter()
            .enumerate()
        {
            let bytes: Vec<u8> = (0..size).map(|b| (b * 7 + i) as u8).collect();
            let path = dir.path().join(format!("{i}.bin"));
            std::fs::File::create(&path)
                .and_then(|mut f| f.write_all(&bytes))
                .map_err(|e| Error::io("write", &e))?;
            docs.push(answer.attach_base64(&path)?);
            expected[format!("d{i}")] =
                json!(base64::engine::general_purpose::STANDARD.encode(&bytes));
        }
        let mut result = json!({"n": 1});
        for (i, d) in docs.into_iter().enumerate() {
            result[format!("d{i}")] = d;
        }
        answer.set_result(result);
        answer.keep_alive(dir);
        let (len, text) = text_of(answer);
        assert_eq!(len, text.len() as u64);
        let parsed: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(parsed, expected);
        Ok(())
    }

    #[test]
    fn a_plain_value_is_its_json_text() {
        let (len, text) = text_of(Answer::from(json!({"a": "b"})));
        assert_eq!(text, r#"{"a":"b"}"#);
        assert_eq!(len, 9);
    }

    #[test]
    fn an_attachment_missing_from_the_result_is_an_internal_error() -> Result<()> {
        let f = tempfile::NamedTempFile::new().map_err(|e| Error::io("temp", &e))?;
        let mut answer = Answer::new();
        answer.attach_base64(f.path())?;
        answer.set_result(json!({}));
        assert!(answer.into_text().is_err());
        Ok(())
    }

    #[test]
    fn base64_length_is_four_per_started_group_of_three() {
        assert_eq!([0, 1, 2, 3, 4].map(base64_len), [0, 4, 4, 4, 8]);
    }
}
