//! Output that appears whole or not at all.
//!
//! Every file Mohor writes (signed documents, state) goes to a temporary file
//! in the destination's own directory, is flushed to disk, and is then renamed
//! over the destination. A crash or power loss leaves either the old file or
//! the new one, never a torn one, and a failed operation leaves nothing behind.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being written; becomes visible at `path` only on [`AtomicFile::commit`].
/// Dropping it without committing removes the temporary file.
pub struct AtomicFile {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
}

/// Who may read the finished file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// A document the person will share: rw-r--r-- (minus the umask's effect
    /// on later copies; like any file they save) — but owner-only when its
    /// folder is owner-only (a document in transit in Mohor's state folder
    /// must not become readable when it is moved or copied out).
    Document,
    /// Mohor's own state (counters, trusted sites, audit log): owner only.
    Private,
}

impl AtomicFile {
    /// A signed document: readable like any file the person saves.
    pub fn create(target: &Path) -> io::Result<Self> {
        Self::create_with(target, Visibility::Document)
    }

    pub fn create_with(target: &Path, visibility: Visibility) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let prefix = format!(".{file_name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = match visibility {
                Visibility::Document if !in_private_dir(&dir) => 0o644,
                Visibility::Document | Visibility::Private => 0o600,
            };
            builder.permissions(fs::Permissions::from_mode(mode));
        }
        #[cfg(not(unix))]
        let _ = visibility;
        #[cfg(unix)]
        stale::sweep_once(&dir);
        let temp = builder.tempfile_in(&dir)?;
        // Held while the file is open: the mark of a live writer, which
        // the sweep of another process (or this one) leaves alone.
        #[cfg(unix)]
        let _ = temp.as_file().try_lock();
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
        })
    }

    /// The temporary file (to copy into it by the kernel).
    pub fn file(&self) -> &fs::File {
        self.temp.as_file()
    }

    /// Flush to disk, rename into place, and sync the directory entry.
    pub fn commit(self) -> io::Result<()> {
        let target = self.commit_leaving_folder()?;
        sync_parent_dir(&target);
        Ok(())
    }

    /// [`AtomicFile::commit`] for one of many files: the file is on disk
    /// and in place, but its folder's entry is durable only once the caller
    /// has passed its path to [`sync_folders`] — once per folder, not once
    /// per file (a batch writes a hundred files into one folder).
    pub fn commit_leaving_folder(mut self) -> io::Result<PathBuf> {
        self.temp.as_file_mut().flush()?;
        self.temp.as_file().sync_all()?;
        let target = self.target.clone();
        self.temp.persist(&target).map_err(|e| e.error)?;
        Ok(target)
    }
}

/// Make the folder entries of `paths` durable, each folder once: the end
/// of [`AtomicFile::commit_leaving_folder`].
pub fn sync_folders<'a>(paths: impl IntoIterator<Item = &'a Path>) {
    let mut done = std::collections::HashSet::new();
    for path in paths {
        if done.insert(path.parent()) {
            sync_parent_dir(path);
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.as_file_mut().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp.as_file_mut().flush()
    }
}

/// Temporary files a killed writer left behind (`kill -9`, a power cut):
/// hidden, never under the output's name, but litter. The first write into a
/// folder removes the ones nobody holds.
#[cfg(unix)]
mod stale {
    use std::collections::HashSet;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, OnceLock};
    use std::time::Duration;

    /// A writer locks its file right after creating it; the age covers that
    /// instant (and file systems whose locks are advisory at best).
    const STALE_AFTER: Duration = Duration::from_secs(10);

    /// Folders remembered as swept. The agent writes into a new request
    /// folder every time; past this many the memory is dropped (a folder
    /// swept twice costs one more listing).
    const REMEMBERED: usize = 256;

    /// Sweep `dir` once in this process: a batch writes a hundred files
    /// into one folder, and listing it a hundred times would cost more
    /// than the litter.
    pub fn sweep_once(dir: &Path) {
        static SWEPT: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
        let first = SWEPT
            .get_or_init(Default::default)
            .lock()
            .map(|mut swept| {
                if swept.len() >= REMEMBERED {
                    swept.clear();
                }
                swept.insert(dir.to_path_buf())
            })
            .unwrap_or(false);
        if first {
            sweep(dir);
        }
    }

    /// Remove this folder's stale temporary files: Mohor's name pattern, a
    /// regular file, older than [`STALE_AFTER`], and not locked by anyone.
    pub fn sweep(dir: &Path) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name.to_str().is_some_and(is_temp_name) {
                continue;
            }
            let old_file = entry.metadata().is_ok_and(|m| {
                m.file_type().is_file()
                    && m.modified()
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age >= STALE_AFTER)
            });
            if !old_file {
                continue;
            }
            let path = entry.path();
            let Ok(file) = fs::File::open(&path) else {
                continue;
            };
            if file.try_lock().is_ok() {
                let _ = fs::remove_file(&path);
            }
        }
    }

    /// `.NAME.XXXXXX.partial`, as [`super::AtomicFile`] names its files.
    pub fn is_temp_name(name: &str) -> bool {
        let Some(stem) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".partial"))
        else {
            return false;
        };
        match stem.rsplit_once('.') {
            Some((target, random)) => {
                !target.is_empty()
                    && random.len() == 6
                    && random.bytes().all(|b| b.is_ascii_alphanumeric())
            }
            None => false,
        }
    }
}

/// Write a document to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_as(path, bytes, Visibility::Document)
}

/// Write `bytes` to `path` atomically with the given visibility.
pub fn write_atomic_as(path: &Path, bytes: &[u8], visibility: Visibility) -> io::Result<()> {
    let mut f = AtomicFile::create_with(path, visibility)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Whether only the owner may enter `dir` (mode `rwx------` or stricter).
#[cfg(unix)]
fn in_private_dir(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
}

#[cfg(unix)]
fn sync_parent_dir(path: &Path) {
    // Best effort: the rename is already atomic; syncing the directory makes
    // it durable across power loss on filesystems that need it.
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

#[cfg(not(unix))]
fn sync_parent_dir(_path: &Path) {}

/// Would writing `b` replace `a`? The same path, a path to it through links
/// or `..`, or a hard link to the same file. The one check for "the output
/// is the input", used by every writer of signed output.
pub fn same_file(a: &Path, b: &Path) -> bool {
    // On Unix a file is its device and inode, whatever the path (links,
    // `..`, a hard link under another name), and a name that does not exist
    // is no path to an existing file: no path needs resolving (a batch asks
    // this for every document).
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => return x.dev() == y.dev() && x.ino() == y.ino(),
            (Ok(_), Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return false,
            // Unreadable: compare what the paths resolve to.
            _ => {}
        }
    }
    let canon = |p: &Path| -> Option<PathBuf> {
        if let Ok(c) = p.canonicalize() {
            return Some(c);
        }
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.canonicalize().ok()?,
            _ => std::env::current_dir().ok()?,
        };
        Some(parent.join(p.file_name()?))
    };
    match (canon(a), canon(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_file_is_found_by_path_by_dot_dot_and_by_hard_link() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.pdf");
        std::fs::write(&a, b"x").unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(same_file(&a, &a));
        assert!(same_file(&a, &sub.join("../a.pdf")));
        let link = dir.path().join("link.pdf");
        std::fs::hard_link(&a, &link).unwrap();
        assert!(same_file(&a, &link));
        #[cfg(unix)]
        {
            let symlink = dir.path().join("symlink.pdf");
            std::os::unix::fs::symlink(&a, &symlink).unwrap();
            assert!(same_file(&a, &symlink));
            assert!(same_file(&symlink, &a));
            // A link to nothing would create a new file, not replace `a`.
            let dangling = dir.path().join("dangling.pdf");
            std::os::unix::fs::symlink(dir.path().join("gone.pdf"), &dangling).unwrap();
            assert!(!same_file(&a, &dangling));
        }
        // A file that does not exist yet is another file.
        assert!(!same_file(&a, &dir.path().join("b.pdf")));
        std::fs::write(dir.path().join("b.pdf"), b"x").unwrap();
        assert!(!same_file(&a, &dir.path().join("b.pdf")));
    }

    /// What a `kill -9` leaves is swept by the next write into the folder;
    /// what a live writer holds, a fresh file and files not named like
    /// Mohor's are left alone.
    #[cfg(unix)]
    #[test]
    fn stale_temporary_files_are_swept_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let put = |name: &str, old: bool| {
            let f = fs::File::create(at(name)).unwrap();
            if old {
                f.set_modified(minute_ago).unwrap();
            }
            f
        };
        drop(put(".bill.pdf.Ab12Cd.partial", true)); // a killed writer's
        drop(put(".notes.txt.x7Yz90.partial", true)); // another name, killed too
        let held = put(".order.pdf.Qq11Ww.partial", true);
        held.try_lock().unwrap(); // a live writer, stuck for a minute
        drop(put(".fresh.pdf.Zz99Yy.partial", false)); // created this instant
        drop(put(".mine.partial", true)); // not Mohor's pattern
        drop(put("bill.pdf", true));

        write_atomic(&at("signed.pdf"), b"%PDF").unwrap();

        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".fresh.pdf.Zz99Yy.partial",
                ".mine.partial",
                ".order.pdf.Qq11Ww.partial",
                "bill.pdf",
                "signed.pdf"
            ]
        );
        drop(held);
    }

    #[cfg(unix)]
    #[test]
    fn a_writer_holds_its_temporary_file_locked() {
        let dir = tempfile::tempdir().unwrap();
        let f = AtomicFile::create(&dir.path().join("out.pdf")).unwrap();
        let temp = fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap();
        assert!(stale::is_temp_name(temp.file_name().to_str().unwrap()));
        let other = fs::File::open(temp.path()).unwrap();
        assert!(other.try_lock().is_err(), "the writer's lock is missing");
        drop(f);
    }

    #[test]
    fn uncommitted_output_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.pdf");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn documents_are_readable_by_others_and_state_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("signed.pdf");
        let state = dir.path().join("pin-counters.json");
        write_atomic(&doc, b"%PDF").unwrap();
        write_atomic_as(&state, b"{}", Visibility::Private).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&doc), 0o644);
        assert_eq!(mode(&state), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_document_written_into_a_private_folder_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let doc = dir.path().join("signed.pdf");
        write_atomic(&doc, b"%PDF").unwrap();
        assert_eq!(
            fs::metadata(&doc).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn committed_output_replaces_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("state.json");
        write_atomic(&target, b"old").unwrap();
        write_atomic(&target, b"new contents").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new contents");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
