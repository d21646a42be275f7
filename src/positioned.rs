//! Reads and writes at a position, leaving the file offset alone: the
//! signer hashes a file while the kernel copies it through the same open
//! file, writes a signature into a revision already on disk, and the
//! verifier reads one file from several places.

use std::fs::File;
use std::io;

/// Fill `buf` from `file` at `at`, or fail.
#[cfg(unix)]
pub fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

/// Fill `buf` from `file` at `at`, or fail. (Without `pread` the offset
/// moves: callers on these systems do not share the handle meanwhile.)
#[cfg(not(unix))]
pub fn read_exact_at(mut file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(buf)
}

/// Write all of `buf` into `file` at `at`, leaving the file offset alone.
#[cfg(unix)]
pub fn write_all_at(file: &File, buf: &[u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, at)
}

/// Write all of `buf` into `file` at `at`. (Without `pwrite` the offset
/// moves, as for [`read_exact_at`].)
#[cfg(not(unix))]
pub fn write_all_at(mut file: &File, buf: &[u8], at: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(at))?;
    file.write_all(buf)
}
