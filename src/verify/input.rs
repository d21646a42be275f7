//! The file under verification, read at positions and in chunks, never
//! whole: a 200 MB scanned annexure is checked in a few MiB of memory.
//!
//! Opening it reads it once, for the SHA-256 the audit log keeps and for
//! where each revision ends (`%%EOF`); each signature's byte ranges are
//! hashed by reading them again (from the page cache).

use std::fs::File;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use super::cms::SignedContent;
use super::crypto::Hash;
use super::VerifyError;
use crate::pdf::lexer::is_whitespace;
use crate::positioned::read_exact_at;

/// Read size for hashing and scanning.
const CHUNK: usize = 1 << 20;
/// `%%EOF` and the longest end-of-line after it.
const MARKER: &[u8] = b"%%EOF";

/// The most a pipe may carry into a verification (it is spooled to disk).
const MAX_SPOOLED: u64 = 4 << 30;

pub struct Input {
    file: File,
    path: PathBuf,
    len: u64,
    sha256: Vec<u8>,
    ends: Vec<u64>,
    /// See [`Input::content_end`]; found once, when the file is opened.
    content_end: u64,
    pdf: bool,
    /// A pipe's content, copied to a private temporary file (removed with
    /// the input): the checks read at positions.
    _spooled: Option<tempfile::NamedTempFile>,
}

impl Input {
    /// Open `path` and read it through once. A pipe (`mohor verify
    /// /dev/stdin`, a shell's `<(...)`) is first copied to a private
    /// temporary file.
    pub fn open(path: &Path) -> Result<Input, VerifyError> {
        let io_err = |e: io::Error| VerifyError::Io(format!("{}: {e}", path.display()));
        let mut file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if meta.is_dir() {
            return Err(VerifyError::Io(format!("{}: is a folder", path.display())));
        }
        let mut spooled = None;
        if !meta.is_file() {
            let mut temp = tempfile::NamedTempFile::new().map_err(io_err)?;
            let copied =
                io::copy(&mut (&mut file).take(MAX_SPOOLED + 1), &mut temp).map_err(io_err)?;
            if copied > MAX_SPOOLED {
                return Err(VerifyError::Unreadable(format!(
                    "{}: more than {} GiB from a pipe",
                    path.display(),
                    MAX_SPOOLED >> 30
                )));
            }
            file = temp.reopen().map_err(io_err)?;
            spooled = Some(temp);
        }
        let len = file.metadata().map_err(io_err)?.len();
        let mut input = Input {
            file,
            path: spooled
                .as_ref()
                .map_or_else(|| path.to_path_buf(), |t| t.path().to_path_buf()),
            len,
            sha256: Vec::new(),
            ends: Vec::new(),
            content_end: len,
            pdf: false,
            _spooled: spooled,
        };
        input.scan().map_err(io_err)?;
        input.content_end = input.find_content_end();
        Ok(input)
    }

    /// Bytes in memory (a signature a page sent, a fuzzer's input), held in
    /// a private temporary file as a pipe's content is: the checks read
    /// at positions.
    pub fn from_bytes(bytes: &[u8]) -> Result<Input, VerifyError> {
        use std::io::Write as _;
        let io_err = |e: io::Error| VerifyError::Io(format!("a temporary file: {e}"));
        let mut temp = tempfile::NamedTempFile::new().map_err(io_err)?;
        temp.write_all(bytes).map_err(io_err)?;
        let mut input = Input::open(temp.path())?;
        input._spooled = Some(temp);
        Ok(input)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file's SHA-256 (for the audit log).
    pub fn sha256(&self) -> &[u8] {
        &self.sha256
    }

    /// Where each revision ends: after every `%%EOF` and its end-of-line.
    pub fn revision_ends(&self) -> &[u64] {
        &self.ends
    }

    /// Where the document ends as a reader sees it: after the last `%%EOF`
    /// when nothing but padding follows it (whitespace, NULs, comments),
    /// else at the end of the file. Readers take the last `startxref` in
    /// the file whether or not a `%%EOF` follows it, so an update appended
    /// without its `%%EOF` is an update all the same; and bytes of any
    /// other kind after the last `%%EOF` were not there when it was written.
    pub fn content_end(&self) -> u64 {
        self.content_end
    }

    /// [`content_end`](Self::content_end), reading the tail after the last
    /// `%%EOF` (nothing in the usual file, whose last bytes are its marker).
    fn find_content_end(&self) -> u64 {
        let Some(&last) = self.ends.last() else {
            return self.len;
        };
        let tail_len = self.len - last;
        if tail_len == 0 {
            return last;
        }
        if tail_len > MAX_PADDING {
            return self.len;
        }
        match self.read(last, tail_len as usize) {
            Ok(tail) if only_padding(&tail) => last,
            _ => self.len,
        }
    }

    /// Whether `%PDF-` appears in the first KiB (as readers look for it).
    pub fn is_pdf(&self) -> bool {
        self.pdf
    }

    /// `n` bytes at `at`, all of them or an error.
    pub fn read(&self, at: u64, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        read_exact_at(&self.file, &mut buf, at)?;
        Ok(buf)
    }

    /// The whole file, for the small ones that are read whole anyway (a
    /// CMS signature file).
    pub fn read_all(&self, limit: u64) -> Result<Vec<u8>, VerifyError> {
        if self.len > limit {
            return Err(VerifyError::Unreadable(format!(
                "{} is {} bytes, more than a signature file can be ({limit})",
                self.path.display(),
                self.len
            )));
        }
        self.read(0, self.len as usize)
            .map_err(|e| VerifyError::Io(format!("{}: {e}", self.path.display())))
    }

    /// These byte ranges (`(start, length)`), as signed content.
    pub fn ranges(&self, ranges: Vec<(u64, u64)>) -> Ranges<'_> {
        Ranges {
            input: self,
            ranges,
        }
    }

    /// One pass: the SHA-256, the revision ends, the PDF header.
    fn scan(&mut self) -> io::Result<()> {
        let finder = memchr::memmem::Finder::new(MARKER);
        let mut sha = Hash::Sha256.hasher();
        let mut buf = vec![0u8; CHUNK];
        // The previous chunk's last bytes: a marker split between two
        // chunks is found in them joined to the next chunk's first bytes.
        let mut tail: Vec<u8> = Vec::new();
        let mut at = 0u64;
        while at < self.len {
            let n = ((self.len - at).min(CHUNK as u64)) as usize;
            read_exact_at(&self.file, &mut buf[..n], at)?;
            let chunk = &buf[..n];
            sha.update(chunk);
            if at == 0 {
                let head = &chunk[..n.min(1024)];
                self.pdf = head.windows(5).any(|w| w == b"%PDF-");
            }
            let mut seam = tail.clone();
            seam.extend_from_slice(&chunk[..n.min(MARKER.len() - 1)]);
            let seam_at = at - tail.len() as u64;
            for p in finder.find_iter(&seam) {
                let end = seam_at + (p + MARKER.len()) as u64;
                let eol = self.line_end_at(end, &[])?;
                self.ends.push(end + eol);
            }
            for p in finder.find_iter(chunk) {
                let after = p + MARKER.len();
                let end = at + after as u64;
                let eol = self.line_end_at(end, &chunk[after..])?;
                self.ends.push(end + eol);
            }
            tail = chunk[n.saturating_sub(MARKER.len() - 1)..].to_vec();
            at += n as u64;
        }
        self.sha256 = sha.finish();
        Ok(())
    }

    /// The length of the end-of-line (`\r`, `\n`, `\r\n` or none) at file
    /// offset `end`; `following` is what the caller's chunk holds from
    /// there (read from the file when it is shorter than two bytes).
    fn line_end_at(&self, end: u64, following: &[u8]) -> io::Result<u64> {
        let next2 = match following.get(..2) {
            Some(b) => b.to_vec(),
            None => {
                let n = (self.len.saturating_sub(end)).min(2) as usize;
                self.read(end, n)?
            }
        };
        let mut eol = 0;
        if next2.first() == Some(&b'\r') {
            eol += 1;
        }
        if next2.get(eol) == Some(&b'\n') {
            eol += 1;
        }
        Ok(eol as u64)
    }
}

/// Padding after the last `%%EOF` longer than this is taken for content.
const MAX_PADDING: u64 = 1 << 20;

/// Whether `tail` changes nothing a reader sees: PDF whitespace (NUL
/// included) and comments only, and no `startxref` anywhere, not even in a
/// comment (readers search for the keyword, not for a parsed token).
fn only_padding(tail: &[u8]) -> bool {
    if memchr::memmem::find(tail, b"startxref").is_some() {
        return false;
    }
    let mut in_comment = false;
    for &b in tail {
        match (in_comment, b) {
            (true, b'\r' | b'\n') => in_comment = false,
            (true, _) => {}
            (false, b'%') => in_comment = true,
            (false, c) if is_whitespace(c) => {}
            (false, _) => return false,
        }
    }
    true
}

/// Byte ranges of an [`Input`], hashed by reading them in chunks.
pub struct Ranges<'a> {
    input: &'a Input,
    ranges: Vec<(u64, u64)>,
}

impl SignedContent for Ranges<'_> {
    fn digest(&self, hash: Hash) -> Result<Vec<u8>, String> {
        let mut h = hash.hasher();
        let mut buf = vec![0u8; CHUNK];
        for &(start, len) in &self.ranges {
            let mut done = 0u64;
            while done < len {
                let n = ((len - done).min(CHUNK as u64)) as usize;
                read_exact_at(&self.input.file, &mut buf[..n], start + done)
                    .map_err(|e| format!("cannot read the document: {e}"))?;
                h.update(&buf[..n]);
                done += n as u64;
            }
        }
        Ok(h.finish())
    }

    fn is_empty(&self) -> bool {
        self.ranges.iter().all(|(_, len)| *len == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The revision ends of `bytes` as the whole-file scan finds them, the
    /// way the chunked scan must find them too.
    fn ends_in_memory(bytes: &[u8]) -> Vec<u64> {
        let mut ends = Vec::new();
        let mut i = 0;
        while let Some(p) = bytes
            .get(i..)
            .and_then(|b| b.windows(5).position(|w| w == MARKER))
        {
            let mut end = i + p + 5;
            if bytes.get(end) == Some(&b'\r') {
                end += 1;
            }
            if bytes.get(end) == Some(&b'\n') {
                end += 1;
            }
            ends.push(end as u64);
            i = end;
        }
        ends
    }

    fn input_of(bytes: &[u8]) -> (tempfile::TempDir, Input) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.pdf");
        std::fs::write(&path, bytes).unwrap();
        let input = Input::open(&path).unwrap();
        (dir, input)
    }

    #[test]
    fn revisions_end_after_each_eof_marker() {
        let (_dir, input) = input_of(b"%PDF-1.7\n...%%EOF\n more %%EOF\r\n");
        assert_eq!(input.revision_ends(), [18, 31]);
    }

    #[test]
    fn the_document_ends_after_its_last_eof_only_when_padding_alone_follows() {
        let doc = b"%PDF-1.7\n1 0 obj 1 endobj\n%%EOF\n";
        let eof = doc.len() as u64;
        let with = |tail: &[u8]| {
            let mut bytes = doc.to_vec();
            bytes.extend_from_slice(tail);
            let (_dir, input) = input_of(&bytes);
            (input.content_end(), bytes.len() as u64)
        };
        for padding in [
            &b""[..],
            b"\r\n\0\0\0\0",
            b"% a comment left by a tool\n",
            b"\n\x0c\t % two\r% comments\n",
        ] {
            assert_eq!(with(padding).0, eof, "{padding:?}");
        }
        for content in [
            // An update with no %%EOF of its own: readers follow it.
            &b"2 0 obj 2 endobj\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< >>\nstartxref\n27\n"[..],
            // A startxref in a comment is found by readers' searches too.
            b"% startxref 9\n",
            b"garbage",
        ] {
            let (end, len) = with(content);
            assert_eq!(end, len, "{:?}", String::from_utf8_lossy(content));
        }
        let (_dir, no_marker) = input_of(b"%PDF-1.7\nno marker at all");
        assert_eq!(no_marker.content_end(), no_marker.len());
    }

    #[test]
    fn markers_across_chunk_boundaries_are_found_with_their_line_ends() {
        // A marker, and its end-of-line, at every offset around the first
        // chunk boundary.
        for shift in 0..12 {
            let mut bytes = b"%PDF-1.7\n".to_vec();
            bytes.resize(CHUNK - 8 + shift, b'x');
            bytes.extend_from_slice(b"%%EOF\r\n");
            bytes.resize(2 * CHUNK + 3, b'y');
            bytes.extend_from_slice(b"%%EOF\n");
            bytes.extend_from_slice(b"%%EOF");
            let (_dir, input) = input_of(&bytes);
            assert_eq!(
                input.revision_ends(),
                ends_in_memory(&bytes),
                "shift {shift}"
            );
            assert_eq!(input.sha256(), Hash::Sha256.digest(&bytes).as_slice());
            assert!(input.is_pdf());
        }
    }

    #[test]
    fn ranges_hash_like_the_bytes_they_name() {
        let bytes: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let (_dir, input) = input_of(&bytes);
        let ranges = input.ranges(vec![(0, 1000), (CHUNK as u64 + 5, 2 * CHUNK as u64)]);
        let mut expected = bytes[..1000].to_vec();
        expected.extend_from_slice(&bytes[CHUNK + 5..3 * CHUNK + 5]);
        assert_eq!(
            ranges.digest(Hash::Sha384).unwrap(),
            Hash::Sha384.digest(&expected)
        );
        assert!(!input.is_pdf());
        let past_the_end = input.ranges(vec![(bytes.len() as u64 - 1, 10)]);
        assert!(past_the_end.digest(Hash::Sha256).is_err());
    }
}
