//! Positioned reads from the input file.
//!
//! The file is never loaded whole: each object is parsed from a small window
//! read at its offset, and the window grows only while the parser reports
//! that the object runs past its end. Memory therefore tracks the size of
//! the objects signing looks at, not the size of the file.
//!
//! Some files carry bytes before `%PDF-` (mail gateways and some generators
//! prepend them). Readers take every offset in such a file relative to the
//! header, so a `Source` does too: offset 0 is the `%`, and [`Source::len`]
//! counts from there. Only [`Source::header_offset`] knows the difference.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::error::PdfError;
use super::lexer::{PResult, ParseError};

/// First window read for an object; most objects fit.
const FIRST_WINDOW: usize = 4096;
/// Largest window one object's syntax (not its stream data) may need.
const MAX_WINDOW: usize = 32 << 20;
/// Readers look for `%PDF-` in the first 1024 bytes and nowhere else.
const HEADER_SEARCH: usize = 1024;

pub struct Source {
    file: File,
    path: PathBuf,
    /// Bytes before `%PDF-`: the origin of every offset in the file.
    base: u64,
    /// Length from the header on.
    len: u64,
}

impl Source {
    pub fn open(path: &Path) -> Result<Self, PdfError> {
        Self::open_prefix(path, u64::MAX)
    }

    /// The first `end` bytes of the file (counted from byte 0), as if the
    /// file ended there: an earlier revision of a document, read in place.
    pub fn open_prefix(path: &Path, end: u64) -> Result<Self, PdfError> {
        let read_err = |source| PdfError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(read_err)?;
        let meta = file.metadata().map_err(read_err)?;
        if !meta.is_file() {
            return Err(read_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let mut src = Source {
            file,
            path: path.to_path_buf(),
            base: 0,
            len: meta.len().min(end),
        };
        let head = src.read_at(0, HEADER_SEARCH)?;
        if let Some(at) = head.windows(5).position(|w| w == b"%PDF-") {
            src.base = at as u64;
            src.len -= at as u64;
        }
        Ok(src)
    }

    /// Length of the PDF from its header on (offsets run from 0 to this).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// How many bytes precede `%PDF-` in the file (0 for most files).
    pub fn header_offset(&self) -> u64 {
        self.base
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn into_file(self) -> File {
        self.file
    }

    pub fn read_err(&self, source: io::Error) -> PdfError {
        PdfError::Read {
            path: self.path.clone(),
            source,
        }
    }

    /// Up to `n` bytes at `offset` from the header (fewer at the end of the file).
    pub fn read_at(&mut self, offset: u64, n: usize) -> Result<Vec<u8>, PdfError> {
        if offset >= self.len {
            return Ok(Vec::new());
        }
        let n = n.min((self.len - offset) as usize);
        let mut buf = vec![0u8; n];
        // One `pread`, not a seek and a read: signing parses a few dozen
        // objects per document, and a batch parses every document twice.
        crate::positioned::read_exact_at(&self.file, &mut buf, self.base + offset)
            .map_err(|e| self.read_err(e))?;
        Ok(buf)
    }

    /// Run `parse` over a window at `offset`, growing the window while the
    /// parser runs out of input. `parse` gets the window and whether it
    /// reaches the end of the file.
    pub fn parse_at<T>(
        &mut self,
        offset: u64,
        mut parse: impl FnMut(&[u8], bool) -> PResult<T>,
    ) -> Result<T, PdfError> {
        let mut window = FIRST_WINDOW;
        loop {
            let mut buf = self.read_at(offset, window)?;
            let at_end = offset + buf.len() as u64 >= self.len;
            if at_end {
                // The lexer treats a token touching the window's end as
                // possibly cut off; at the end of the file it is not.
                buf.push(b'\n');
            }
            match parse(&buf, at_end) {
                Ok(v) => return Ok(v),
                Err(ParseError::Eof) if !at_end && window < MAX_WINDOW => window *= 4,
                Err(ParseError::Eof) => {
                    return Err(PdfError::damaged(format!(
                        "an object at offset {offset} is truncated"
                    )))
                }
                Err(ParseError::Syntax(pos, msg)) => {
                    return Err(PdfError::damaged(format!(
                        "{msg} at offset {}",
                        offset + pos as u64
                    )))
                }
            }
        }
    }
}
