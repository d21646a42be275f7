//! Binary content of a request, in memory or spooled to a private temp file.
//!
//! Small documents arrive base64-encoded inside the request and stay in
//! memory; large ones arrive in chunks (`upload.*`) and the server spools them
//! to an unnamed-to-others temp file (mode 0600, deleted on drop) so a
//! connection's memory stays bounded. The backend reads either the same way.

use std::any::Any;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::{Error, Result};

/// Bytes a page sent: a PDF, data to sign, a CMS signature.
#[derive(Clone)]
pub struct Blob(Repr);

#[derive(Clone)]
enum Repr {
    Memory(Arc<Vec<u8>>),
    File {
        file: Arc<tempfile::NamedTempFile>,
        len: u64,
        /// Dropped with the last clone, together with the file (the
        /// server's reservation of the file's bytes against its cap).
        _held: Option<Arc<dyn Any + Send + Sync>>,
    },
}

impl Blob {
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Blob(Repr::Memory(Arc::new(bytes)))
    }

    /// A blob whose `len` bytes were written to `file` (by the server's
    /// upload spool). The file is deleted when the last clone is dropped.
    pub fn from_temp_file(file: tempfile::NamedTempFile, len: u64) -> Self {
        Blob(Repr::File {
            file: Arc::new(file),
            len,
            _held: None,
        })
    }

    /// Keeps `guard` alive exactly as long as the spooled file (no effect on
    /// a blob in memory).
    pub fn holding(self, guard: impl Any + Send + Sync) -> Self {
        match self.0 {
            Repr::File { file, len, .. } => Blob(Repr::File {
                file,
                len,
                _held: Some(Arc::new(guard)),
            }),
            memory => Blob(memory),
        }
    }

    pub fn len(&self) -> u64 {
        match &self.0 {
            Repr::Memory(bytes) => bytes.len() as u64,
            Repr::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, when they are held in memory.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Memory(bytes) => Some(bytes.as_slice()),
            Repr::File { .. } => None,
        }
    }

    /// The temp file holding the bytes, when they were spooled to disk.
    pub fn path(&self) -> Option<&Path> {
        match &self.0 {
            Repr::Memory(_) => None,
            Repr::File { file, .. } => Some(file.path()),
        }
    }

    /// A fresh reader from the first byte (independent of other readers).
    pub fn reader(&self) -> Result<Box<dyn Read + Send + '_>> {
        match &self.0 {
            Repr::Memory(bytes) => Ok(Box::new(bytes.as_slice())),
            Repr::File { file, len, .. } => {
                let f = file
                    .reopen()
                    .map_err(|e| Error::io("reading the uploaded document", &e))?;
                Ok(Box::new(f.take(*len)))
            }
        }
    }

    /// All bytes in one vector (reads the spool file when there is one).
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        match &self.0 {
            Repr::Memory(bytes) => Ok(bytes.as_ref().clone()),
            Repr::File { len, .. } => {
                let mut out = Vec::with_capacity(usize::try_from(*len).unwrap_or(0));
                self.reader()?
                    .read_to_end(&mut out)
                    .map_err(|e| Error::io("reading the uploaded document", &e))?;
                Ok(out)
            }
        }
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Memory(bytes) => write!(f, "Blob({} bytes in memory)", bytes.len()),
            Repr::File { len, .. } => write!(f, "Blob({len} bytes spooled)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_memory_blob_reads_back_its_bytes() {
        let b = Blob::from_vec(b"hello".to_vec());
        assert_eq!(b.len(), 5);
        assert_eq!(b.as_bytes(), Some(&b"hello"[..]));
        assert_eq!(b.to_vec().ok(), Some(b"hello".to_vec()));
        assert!(b.path().is_none());
    }

    #[test]
    fn a_spooled_blob_reads_back_its_bytes_and_is_deleted_when_dropped() -> std::io::Result<()> {
        let mut f = tempfile::NamedTempFile::new()?;
        f.write_all(b"spooled bytes")?;
        let b = Blob::from_temp_file(f, 13);
        let path = b.path().map(Path::to_path_buf);
        assert_eq!(b.to_vec().ok(), Some(b"spooled bytes".to_vec()));
        assert!(format!("{b:?}").contains("13 bytes"));
        drop(b);
        assert!(path.is_some_and(|p| !p.exists()));
        Ok(())
    }
}
