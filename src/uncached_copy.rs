//! Copying a file's bytes into a new file past the page cache (Linux).
//!
//! A batch copies every input into its signed output. Through the page cache
//! that is a copy into freshly allocated cache pages and, at `fsync`, the
//! write-back of each of them: a fifth of a 100 x 1 MB batch's CPU on two
//! cores. Direct I/O (`O_DIRECT`) hands the device the reader's buffer
//! instead. It needs buffers, offsets and lengths aligned as the file system
//! says (`statx` `STATX_DIOALIGN`), so the aligned part goes direct and the
//! few bytes left over go through the cache; anything unsupported answers
//! "not done" with nothing written, and the caller copies the ordinary way.
//! A reflink (`FICLONE`, on file systems that share extents) is tried first:
//! it copies nothing at all.
//!
//! Only a file whose file system reports its direct-I/O alignment takes
//! this path: the local ones (ext4, XFS, f2fs; btrfs on recent kernels). One
//! that reports none — tmpfs, FUSE, and the network file systems as far as we
//! know, where a direct write would wait for the server — gets the ordinary
//! copy, as does a kernel older than 6.1 (Debian 12 ships 6.1).
//!
//! Durability is unchanged: the caller still `fsync`s the file (direct
//! writes may sit in the device's cache until then).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes read and written per system call.
const CHUNK: usize = 1 << 20;
/// Alignments beyond this are not worth a buffer of their own.
const MAX_ALIGN: u32 = 64 << 10;
/// Below this the page cache costs too little to be worth the set-up.
const MIN_DIRECT: u64 = 64 << 10;

/// Copy the first `len` bytes of `src` into the empty file `dst` at the same
/// offsets, leaving `dst`'s file offset at `len`. `Ok(false)`: the file
/// system offers neither reflinks nor direct I/O here (or `len` is too short
/// to gain anything) and nothing was written.
pub fn copy_prefix(src: &File, dst: &File, len: u64) -> io::Result<bool> {
    use std::io::{Seek, SeekFrom};
    let whole_file = src.metadata()?.len() == len;
    let done =
        (whole_file && rustix::fs::ioctl_ficlone(dst, src).is_ok()) || copy_direct(src, dst, len)?;
    if done {
        // The caller appends after the copy through a handle that shares
        // this one's offset; positioned writes left it at 0.
        (&*dst).seek(SeekFrom::Start(len))?;
    }
    Ok(done)
}

/// The alignment direct I/O on `file` needs, if it is supported at all.
fn direct_alignment(file: &File) -> Option<usize> {
    use rustix::fs::{statx, AtFlags, StatxFlags};
    let st = statx(file, "", AtFlags::EMPTY_PATH, StatxFlags::DIOALIGN).ok()?;
    if st.stx_mask & StatxFlags::DIOALIGN.bits() == 0 {
        return None;
    }
    let align = st.stx_dio_mem_align.max(st.stx_dio_offset_align);
    (align != 0 && align.is_power_of_two() && align <= MAX_ALIGN).then_some(align as usize)
}

fn copy_direct(src: &File, dst: &File, len: u64) -> io::Result<bool> {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    let Some(align) = direct_alignment(dst) else {
        return Ok(false);
    };
    let direct_len = len - len % align as u64;
    if direct_len < MIN_DIRECT {
        return Ok(false);
    }
    let chunk = (direct_len as usize).min(CHUNK);
    let mut raw = vec![0u8; chunk + align];
    let skip = raw.as_ptr().align_offset(align);
    let Some(buf) = raw.get_mut(skip..skip + chunk) else {
        return Ok(false);
    };
    let flags = fcntl_getfl(dst)?;
    if fcntl_setfl(dst, flags | OFlags::DIRECT).is_err() {
        return Ok(false);
    }
    let mut at = 0u64;
    let mut copied = Ok(());
    while at < direct_len {
        let n = (direct_len - at).min(chunk as u64) as usize;
        copied = src
            .read_exact_at(&mut buf[..n], at)
            .and_then(|()| dst.write_all_at(&buf[..n], at));
        if copied.is_err() {
            break;
        }
        at += n as u64;
    }
    // The handle is shared with the writer that appends next: never leave
    // it direct.
    fcntl_setfl(dst, flags)?;
    if copied.is_err() {
        // Refused part-way (an alignment the file system did not announce):
        // start again the ordinary way.
        dst.set_len(0)?;
        return Ok(false);
    }
    let tail = (len - direct_len) as usize;
    src.read_exact_at(&mut buf[..tail], direct_len)?;
    dst.write_all_at(&buf[..tail], direct_len)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    /// Deterministic bytes that differ at every offset a copy could shift.
    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 4096) as u8).collect()
    }

    /// Copy `len` bytes of a file of that length in `dir` (this one,
    /// the ordinary copy's fallback included), append like `finish` does,
    /// and read the result back.
    fn copy_then_append(dir: &std::path::Path, len: usize) -> (bool, Vec<u8>) {
        let src_path = dir.join(format!("in-{len}"));
        std::fs::write(&src_path, content(len)).unwrap();
        let src = File::open(&src_path).unwrap();
        let dst_path = dir.join(format!("out-{len}"));
        let dst = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&dst_path)
            .unwrap();
        let mut writer = dst.try_clone().unwrap();
        let done = copy_prefix(&src, &dst, len as u64).unwrap();
        if !done {
            let mut s = &src;
            s.seek(SeekFrom::Start(0)).unwrap();
            io::copy(&mut s, &mut writer).unwrap();
        }
        writer.write_all(b"APPENDED").unwrap();
        drop((writer, dst));
        (done, std::fs::read(&dst_path).unwrap())
    }

    #[test]
    fn every_length_around_the_alignment_is_copied_exactly_and_appended_after() {
        // A folder of the build tree: the file system the tests run on.
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp");
        std::fs::create_dir_all(&base).unwrap();
        let dir = tempfile::tempdir_in(&base).unwrap();
        let probe = File::create(dir.path().join("probe")).unwrap();
        let direct = direct_alignment(&probe).is_some();
        for len in [
            0,
            1,
            4095,
            4096,
            4097,
            (64 << 10) - 1,
            64 << 10,
            (64 << 10) + 1,
            (1 << 20) + 4097,
            (3 << 20) + 5,
        ] {
            let (done, out) = copy_then_append(dir.path(), len);
            let mut want = content(len);
            want.extend_from_slice(b"APPENDED");
            assert!(out == want, "length {len}: the copy differs");
            if direct && len >= (64 << 10) + 4096 {
                assert!(
                    done,
                    "length {len}: direct I/O is offered here but was not used"
                );
            }
        }
    }

    #[test]
    fn a_file_system_without_direct_io_is_answered_not_done_with_nothing_written() {
        // tmpfs: no reflinks; direct I/O depends on the kernel. Either way
        // the bytes must come out right, and "not done" must mean untouched.
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let len = (2 << 20) + 123;
        let src_path = dir.path().join("in");
        std::fs::write(&src_path, content(len)).unwrap();
        let dst = tempfile::tempfile_in(dir.path()).unwrap();
        let done = copy_prefix(&File::open(&src_path).unwrap(), &dst, len as u64).unwrap();
        let written = dst.metadata().unwrap().len();
        if done {
            assert_eq!(written, len as u64);
        } else {
            assert_eq!(written, 0, "not done, yet something was written");
        }
        let (_, out) = copy_then_append(dir.path(), len);
        assert_eq!(out.len(), len + 8);
        assert!(out[..len] == content(len)[..]);
    }
}
