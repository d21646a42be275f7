//! The signing flow: [`prepare`] lays out the new revision, [`PreparedPdf`]
//! hashes and writes it, [`sign_file`] runs the chain with a signer;
//! [`dry_run`] lays it out only to learn whether it can be signed.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::SystemTime;

use super::error::PdfError;
use super::fields::{self, DocMdp, Form};
use super::object::Dict;
use super::options::{PdfPassword, PdfSignOptions, SignedPdf};
use super::plan::plan;
use super::reader::Document;
use super::revision::Appended;
use super::update::build_revision;

use crate::atomic::AtomicFile;
use crate::positioned::{read_exact_at, write_all_at};
use crate::sign::cms::{self, CmsError, CmsProfile};
use crate::sign::{DigestAlgorithm, Signer};

/// A document with its new revision laid out and the space for the
/// signature reserved. The input file stays open (so a file swapped in at
/// the same path is noticed rather than signed).
pub struct PreparedPdf {
    file: Mutex<File>,
    path: PathBuf,
    /// The whole input file's length, bytes before `%PDF-` included.
    input_len: u64,
    /// The input as it was laid out (`None`: its metadata could not be read).
    stamp: Option<FileStamp>,
    appended: Appended,
    field_name: String,
    capacity: usize,
    certified: bool,
}

/// What a dry run learns about a PDF that can be signed as asked: the facts
/// the consent dialog shows. Signing itself needs neither.
#[derive(Debug, Clone, Copy)]
pub struct DryRun {
    pub pages: u32,
    /// The PDF runs JavaScript of its own (when opened, saved or printed).
    pub document_javascript: bool,
    /// Signature fields that already hold a signature.
    pub signed_fields: usize,
    /// The signature draws a stamp, which shows the signer's and the
    /// issuer's names (known only once a certificate is chosen: see
    /// [`super::check_stamp_names`]).
    pub stamped: bool,
}

/// Chunk size for streaming the input through the hash and to the output.
const COPY_CHUNK: usize = 1 << 20;

impl PreparedPdf {
    /// The name of the field the signature goes into.
    pub fn field_name(&self) -> &str {
        &self.field_name
    }

    /// The `/ByteRange` of the signature.
    pub fn byte_range(&self) -> [u64; 4] {
        self.appended.byte_range
    }

    /// Digest of the signed byte ranges: the whole input (bytes before
    /// `%PDF-` included), then the new revision except the `/Contents`
    /// hex string.
    pub fn digest(&self, alg: DigestAlgorithm) -> Result<Vec<u8>, PdfError> {
        self.digests(alg).map(|(digest, _)| digest)
    }

    /// [`digest`](Self::digest), and in the same read the SHA-256 of the
    /// input alone: the signed ranges start with the whole input, so with
    /// SHA-256 it is the hasher's state at the input's end.
    fn digests(&self, alg: DigestAlgorithm) -> Result<(Vec<u8>, Vec<u8>), PdfError> {
        let mut h = alg.hasher();
        let mut input_only =
            (alg != DigestAlgorithm::Sha256).then(|| DigestAlgorithm::Sha256.hasher());
        self.stream_input(|chunk| {
            h.update(chunk);
            if let Some(s) = input_only.as_mut() {
                s.update(chunk);
            }
            Ok(())
        })?;
        let input_sha256 = input_only.unwrap_or_else(|| h.clone()).finish();
        let a = &self.appended;
        h.update(&a.bytes[..a.contents_at]);
        h.update(&a.bytes[a.contents_at + a.contents_len..]);
        Ok((h.finish(), input_sha256))
    }

    /// Write the signed PDF: the input bytes, then the new revision with
    /// `cms_der` hex-encoded into `/Contents`.
    pub fn write_to(&self, cms_der: &[u8], out: &mut dyn Write) -> Result<(), PdfError> {
        let revision = self.revision(cms_der)?;
        let werr = |source| PdfError::Write {
            path: PathBuf::from("output"),
            source,
        };
        self.stream_input(|chunk| out.write_all(chunk).map_err(werr))?;
        out.write_all(&revision).map_err(werr)
    }

    /// The new revision with `cms_der` hex-encoded into its `/Contents`
    /// placeholder.
    fn revision(&self, cms_der: &[u8]) -> Result<Vec<u8>, PdfError> {
        if cms_der.len() > self.capacity {
            return Err(PdfError::ContentsTooLarge {
                need: cms_der.len(),
                capacity: self.capacity,
            });
        }
        let a = &self.appended;
        let mut bytes = a.bytes.clone();
        let contents = &mut bytes[a.contents_at..a.contents_at + a.contents_len];
        contents.fill(b'0');
        contents[0] = b'<';
        contents[a.contents_len - 1] = b'>';
        let hex = hex::encode_upper(cms_der);
        contents[1..1 + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(bytes)
    }

    /// The input's bytes, in chunks, checking it has not changed since
    /// `prepare`. Reads at positions, leaving the file offset alone (a
    /// copy of the same file may be using it).
    fn stream_input(
        &self,
        mut sink: impl FnMut(&[u8]) -> Result<(), PdfError>,
    ) -> Result<(), PdfError> {
        let rerr = |source| PdfError::Read {
            path: self.path.clone(),
            source,
        };
        let file = self.lock_file()?;
        self.check_unchanged(&file)?;
        let mut at = 0u64;
        let mut buf = vec![0u8; COPY_CHUNK];
        while at < self.input_len {
            let n = ((self.input_len - at).min(COPY_CHUNK as u64)) as usize;
            read_exact_at(&file, &mut buf[..n], at).map_err(rerr)?;
            sink(&buf[..n])?;
            at += n as u64;
        }
        self.check_unchanged(&file)
    }

    fn lock_file(&self) -> Result<MutexGuard<'_, File>, PdfError> {
        self.file
            .lock()
            .map_err(|_| PdfError::Internal("the input file lock is poisoned".into()))
    }

    fn check_unchanged_now(&self) -> Result<(), PdfError> {
        let file = self.lock_file()?;
        self.check_unchanged(&file)
    }

    fn check_unchanged(&self, file: &File) -> Result<(), PdfError> {
        let meta = file.metadata().map_err(|source| PdfError::Read {
            path: self.path.clone(),
            source,
        })?;
        if meta.len() != self.input_len || Some(FileStamp::of(&meta)) != self.stamp {
            return Err(PdfError::InputChanged);
        }
        Ok(())
    }
}

/// Besides its length (`input_len`), what tells that a file still holds
/// the bytes read before: its modification time, and on Unix its
/// status-change time, which no program can set (a rewrite in place that
/// puts the modification time back still moves it). Both move at the
/// kernel's clock tick: a write in the same few milliseconds as the last
/// change stays unseen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    #[cfg(unix)]
    changed: (i64, i64),
}

impl FileStamp {
    fn of(meta: &std::fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            modified: meta.modified().ok(),
            #[cfg(unix)]
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// Lay out the new revision for signing `input` as `opts` asks.
pub fn prepare(input: &Path, opts: &PdfSignOptions) -> Result<PreparedPdf, PdfError> {
    let (doc, _, laid_out) = lay_out(input, opts)?;
    let path = doc.path().to_path_buf();
    let file = doc.into_source().into_file();
    let stamp = file.metadata().ok().map(|m| FileStamp::of(&m));
    Ok(PreparedPdf {
        file: Mutex::new(file),
        path,
        input_len: laid_out.input_len,
        stamp,
        appended: laid_out.appended,
        field_name: laid_out.field_name,
        capacity: opts.contents_capacity,
        certified: opts.certify,
    })
}

/// Lay out the new revision as [`prepare`] does, only to check that it can
/// be (nothing is kept), and read what the consent dialog shows.
pub fn dry_run(input: &Path, opts: &PdfSignOptions) -> Result<DryRun, PdfError> {
    let (mut doc, catalog, laid_out) = lay_out(input, opts)?;
    Ok(DryRun {
        pages: laid_out.pages,
        document_javascript: super::actions::has_document_javascript(&mut doc, &catalog),
        signed_fields: laid_out.signed_fields,
        stamped: laid_out.stamped,
    })
}

/// The new revision of an opened document, laid out.
struct LaidOut {
    /// The whole input file's length, bytes before `%PDF-` included.
    input_len: u64,
    appended: Appended,
    field_name: String,
    pages: u32,
    signed_fields: usize,
    stamped: bool,
}

fn lay_out(input: &Path, opts: &PdfSignOptions) -> Result<(Document, Dict, LaidOut), PdfError> {
    let mut doc = Document::open(input)?;
    // Mohor reads such an object as null, as the standard says; qpdf and
    // poppler call the file damaged and show what a scan finds. A
    // signature on it would cover a document the readers show apart.
    if let Some(num) = doc.xref.undefined_types.first() {
        return Err(PdfError::damaged(format!(
            "a cross-reference stream gives object {num} an entry type the standard does not \
             define, so PDF readers disagree on what the file holds"
        )));
    }
    let password = opts.password.as_ref().map(PdfPassword::as_bytes);
    if let Err(e) = doc.unlock(password) {
        // Numbers and names are not encrypted, so a certification that
        // forbids all changes can still be seen and named as the reason.
        if matches!(e, PdfError::Encrypted) {
            let p1 = doc
                .catalog()
                .and_then(|c| fields::docmdp(&mut doc, &c, &[]))
                .ok()
                .flatten();
            if p1 == Some(DocMdp::NoChanges) {
                return Err(PdfError::NoChangesPermitted);
            }
        }
        return Err(e);
    }
    // Offsets in the file count from `%PDF-`; its length from byte 0.
    let input_len = doc.source_mut().header_offset() + doc.len();
    let catalog = doc.catalog()?;
    // A dynamic XFA form: what a person reads is drawn from its XML.
    if fields::is_dynamic_xfa(&mut doc, &catalog)? {
        return Err(PdfError::DynamicXfa);
    }
    let form = Form::read(&mut doc, &catalog)?;
    // A certification that forbids every change is the more basic reason.
    if form.docmdp != Some(DocMdp::NoChanges) && doc.crypt().is_some_and(|c| !c.permits_signing()) {
        return Err(PdfError::SigningNotPermitted);
    }
    let plan = plan(&mut doc, &form, opts)?;
    let stamped = plan.stamp.is_some()
        || matches!(&plan.target, super::plan::Target::Existing(_, stamps) if !stamps.is_empty());
    let appended = build_revision(&mut doc, &catalog, &form, &plan, opts)?;
    // Read in every layout, so a page tree whose root has no valid /Count
    // is refused whether or not the count is wanted.
    let pages = doc.page_count()?;
    Ok((
        doc,
        catalog,
        LaidOut {
            input_len,
            appended,
            field_name: plan.field_name,
            pages,
            signed_fields: form
                .fields
                .iter()
                .filter(|f| f.is_signature() && f.signed)
                .count(),
            stamped,
        },
    ))
}

/// Prepare, digest, build the CMS with `signer`, and write `output`
/// atomically (nothing is left behind on failure; `input` is never touched).
pub fn sign_file(
    input: &Path,
    output: &Path,
    signer: &mut dyn Signer,
    opts: &PdfSignOptions,
) -> Result<SignedPdf, PdfError> {
    sign_file_with(input, output, signer, opts, &mut |der| Ok(der))
}

/// [`sign_file`], with `finish` turning the CMS into what goes into
/// `/Contents` (a signature time-stamp is added there). `opts` must then
/// reserve room for what `finish` adds.
pub fn sign_file_with<E: From<PdfError>>(
    input: &Path,
    output: &Path,
    signer: &mut dyn Signer,
    opts: &PdfSignOptions,
    finish: &mut dyn FnMut(Vec<u8>) -> Result<Vec<u8>, E>,
) -> Result<SignedPdf, E> {
    let mut opts = opts.clone();
    if opts.contents_capacity == 0 {
        opts.contents_capacity = cms::max_encoded_len(signer);
    }
    let staged = stage(
        input,
        output,
        &opts,
        signer.algorithm().digest(),
        Staging::Alone,
    )?;
    let der = finish(sign_digest(&staged, signer)?)?;
    Ok(staged.finish(&der)?)
}

/// Write `prepared` with `der` in `/Contents` to `output`, atomically (a
/// document time-stamp, whose token comes from the network, not a signer).
pub fn write_signed(
    prepared: &PreparedPdf,
    der: &[u8],
    output: &Path,
) -> Result<SignedPdf, PdfError> {
    let werr = |source| PdfError::Write {
        path: output.to_path_buf(),
        source,
    };
    let mut out = crate::atomic::AtomicFile::create(output).map_err(werr)?;
    let mut buffered = std::io::BufWriter::with_capacity(COPY_CHUNK, &mut out);
    prepared.write_to(der, &mut buffered).map_err(|e| match e {
        PdfError::Write { source, .. } => werr(source),
        other => other,
    })?;
    buffered.flush().map_err(werr)?;
    drop(buffered);
    out.commit().map_err(werr)?;
    Ok(SignedPdf {
        field_name: prepared.field_name.clone(),
        certified: prepared.certified,
        output_len: prepared.input_len + prepared.appended.bytes.len() as u64,
        input_sha256: None,
    })
}

/// The CMS for a staged document (the only step that needs the signer).
pub fn sign_digest(staged: &StagedPdf, signer: &mut dyn Signer) -> Result<Vec<u8>, PdfError> {
    cms::sign_digest(signer, staged.digest(), &CmsProfile::pades()).map_err(|e| match e {
        CmsError::Sign(s) => PdfError::Sign(s),
        other => PdfError::Cms(other),
    })
}

/// A document on its way to `output`: its revision laid out, its digest
/// taken, and its unchanged bytes being copied into the temporary output
/// (by the kernel where it can) while the signature is made.
pub struct StagedPdf {
    prepared: PreparedPdf,
    digest: Vec<u8>,
    input_sha256: Vec<u8>,
    output: PathBuf,
    out: Option<AtomicFile>,
    prefix: Prefix,
    staging: Staging,
}

/// Where the input's unchanged bytes stand in the temporary output.
enum Prefix {
    /// Being copied on their own thread, then followed by the new revision
    /// with an empty `/Contents` and flushed ([`Staging::Alone`] on Unix).
    Writing(JoinHandle<io::Result<()>>),
    /// Copied, the revision with an empty `/Contents` after them, on disk.
    OnDisk,
    /// Still to copy, in `finish` ([`Staging::InBatch`], and every document
    /// where positioned reads cannot run beside a copy).
    Later { src: File, dst: File, len: u64 },
}

/// How a staged document reaches its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staging {
    /// A document on its own: a thread copies the input while the digest
    /// is taken, appends the revision with an empty `/Contents` and flushes
    /// it all to disk while the PIN is checked and the token signs; `finish`
    /// writes the signature into its place and makes the output durable,
    /// folder entry and all (its flush has a few pages left to write).
    Alone,
    /// One of a batch, which already overlaps one document's writing with
    /// the next one's digest and signature: `finish` copies on the writer's
    /// thread (no thread per document; past the page cache on Linux,
    /// [`crate::uncached_copy`]), and the caller syncs the output folders
    /// once, after the last document ([`crate::atomic::sync_folders`]).
    InBatch,
}

/// Prepare `input`, start copying it to a temporary file next to `output`,
/// and hash it in the same pass (one streaming read that overlaps the
/// copy). Needs no signer: `opts.contents_capacity` must be set. A batch
/// stages the next document while the token signs the current one.
pub fn stage(
    input: &Path,
    output: &Path,
    opts: &PdfSignOptions,
    alg: DigestAlgorithm,
    staging: Staging,
) -> Result<StagedPdf, PdfError> {
    if crate::atomic::same_file(input, output) {
        return Err(PdfError::SameFile);
    }
    let prepared = prepare(input, opts)?;
    let werr = |source| PdfError::Write {
        path: output.to_path_buf(),
        source,
    };
    let out = AtomicFile::create(output).map_err(werr)?;
    let rerr = |source| PdfError::Read {
        path: prepared.path.clone(),
        source,
    };
    let (src, mut dst) = {
        let file = prepared.lock_file()?;
        (
            file.try_clone().map_err(rerr)?,
            out.file().try_clone().map_err(werr)?,
        )
    };
    let len = prepared.input_len;
    let prefix = if staging == Staging::Alone && cfg!(unix) {
        // The hash reads at positions (`pread`), so the copy may move the
        // shared file offset at the same time.
        let placeholder = prepared.revision(&[])?;
        Prefix::Writing(std::thread::spawn(move || {
            copy_prefix(src, &mut dst, len)?;
            dst.write_all(&placeholder)?;
            dst.sync_data()
        }))
    } else {
        Prefix::Later { src, dst, len }
    };
    let mut staged = StagedPdf {
        prepared,
        digest: Vec::new(),
        input_sha256: Vec::new(),
        output: output.to_path_buf(),
        out: Some(out),
        prefix,
        staging,
    };
    (staged.digest, staged.input_sha256) = staged.prepared.digests(alg)?;
    Ok(staged)
}

/// Copy the first `len` bytes of `src` to `dst`. `std::io::copy` between
/// two files uses `copy_file_range` on Linux (a reflink where the
/// filesystem shares extents, an in-kernel copy otherwise) and falls back
/// to a read/write loop elsewhere.
fn copy_prefix(mut src: File, dst: &mut File, len: u64) -> io::Result<u64> {
    src.seek(SeekFrom::Start(0))?;
    let copied = io::copy(&mut (&mut src).take(len), dst)?;
    if copied != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the input ended early",
        ));
    }
    Ok(copied)
}

impl StagedPdf {
    /// The digest of the signed byte ranges, for the CMS.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Wait for the copy thread, if there is one: then the prefix and the
    /// revision are [`Prefix::OnDisk`].
    fn wait_for_copy(&mut self) -> Result<(), PdfError> {
        let copy = match std::mem::replace(&mut self.prefix, Prefix::OnDisk) {
            Prefix::Writing(copy) => copy,
            other => {
                self.prefix = other;
                return Ok(());
            }
        };
        copy.join()
            .map_err(|_| PdfError::Internal("the copy thread failed".into()))?
            .map_err(|source| PdfError::Write {
                path: self.output.clone(),
                source,
            })
    }

    /// The name of the field the signature goes into.
    pub fn field_name(&self) -> &str {
        &self.prepared.field_name
    }

    /// Put `cms_der` in `/Contents` (appending the new revision unless it
    /// is on disk already), `fsync` and rename into place.
    pub fn finish(mut self, cms_der: &[u8]) -> Result<SignedPdf, PdfError> {
        let revision = self.prepared.revision(cms_der)?;
        self.wait_for_copy()?;
        let output = self.output.clone();
        let werr = |source| PdfError::Write {
            path: output.clone(),
            source,
        };
        let revision_on_disk = match std::mem::replace(&mut self.prefix, Prefix::OnDisk) {
            Prefix::OnDisk => true,
            Prefix::Later { src, mut dst, len } => {
                // Past the page cache where the file system allows: a batch's
                // copies are a fifth of its CPU through the cache.
                #[cfg(target_os = "linux")]
                let done = crate::uncached_copy::copy_prefix(&src, &dst, len).map_err(werr)?;
                #[cfg(not(target_os = "linux"))]
                let done = false;
                if !done {
                    copy_prefix(src, &mut dst, len).map_err(werr)?;
                }
                false
            }
            Prefix::Writing(_) => {
                return Err(PdfError::Internal("the copy was not awaited".into()));
            }
        };
        self.prepared.check_unchanged_now()?;
        let mut out = self
            .out
            .take()
            .ok_or_else(|| PdfError::Internal("the output is already finished".into()))?;
        if revision_on_disk {
            // Only `/Contents` differs from the revision on disk.
            let a = &self.prepared.appended;
            let contents = &revision[a.contents_at..a.contents_at + a.contents_len];
            let at = self.prepared.input_len + a.contents_at as u64;
            write_all_at(out.file(), contents, at).map_err(werr)?;
        } else {
            out.write_all(&revision).map_err(werr)?;
        }
        match self.staging {
            Staging::Alone => out.commit().map_err(werr)?,
            Staging::InBatch => {
                out.commit_leaving_folder().map_err(werr)?;
            }
        }
        Ok(SignedPdf {
            field_name: self.prepared.field_name.clone(),
            certified: self.prepared.certified,
            output_len: self.prepared.input_len + revision.len() as u64,
            input_sha256: Some(std::mem::take(&mut self.input_sha256)),
        })
    }
}

impl Drop for StagedPdf {
    /// A staged document that is not finished leaves nothing behind: wait
    /// for the copy, then the temporary file goes with `out`.
    fn drop(&mut self) {
        if let Prefix::Writing(copy) = std::mem::replace(&mut self.prefix, Prefix::OnDisk) {
            let _ = copy.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/pdf")
            .join(name)
    }

    fn options() -> PdfSignOptions {
        let mut opts = PdfSignOptions::new("Asha Verma", "Test CA");
        opts.contents_capacity = 4096;
        opts
    }

    /// `input` staged on its own for `output`, with room for 4 KB of CMS.
    fn stage_alone(input: &Path, output: &Path) -> StagedPdf {
        stage(
            input,
            output,
            &options(),
            DigestAlgorithm::Sha256,
            Staging::Alone,
        )
        .unwrap()
    }

    #[test]
    fn the_one_pass_digest_is_the_digest_of_the_written_byte_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let input = corpus("pdfjs-tracemonkey.pdf");
        let before = std::fs::read(&input).unwrap();
        let output = dir.path().join("signed.pdf");
        let staged = stage_alone(&input, &output);
        let digest = staged.digest().to_vec();
        let range = staged.prepared.byte_range();
        let written = staged.finish(&[0x30, 0x03, 0x02, 0x01, 0x07]).unwrap();

        let out = std::fs::read(&output).unwrap();
        assert_eq!(out.len() as u64, written.output_len);
        assert_eq!(&out[..before.len()], &before[..], "the input is the prefix");
        assert_eq!(
            std::fs::read(&input).unwrap(),
            before,
            "the input is untouched"
        );
        let [a, b, c, d] = range.map(|v| v as usize);
        let mut signed = out[a..a + b].to_vec();
        signed.extend_from_slice(&out[c..c + d]);
        assert_eq!(DigestAlgorithm::Sha256.digest(&signed), digest);
        let hex = &out[a + b..c];
        assert!(hex.starts_with(b"<3003020107000") && hex.ends_with(b"0>"));
    }

    #[test]
    fn a_document_on_its_own_is_written_before_its_signature_which_fills_only_contents() {
        let dir = tempfile::tempdir().unwrap();
        let input = corpus("pdfjs-tracemonkey.pdf");
        let before = std::fs::read(&input).unwrap();
        let output = dir.path().join("signed.pdf");
        let mut staged = stage_alone(&input, &output);
        staged.wait_for_copy().unwrap();
        assert!(matches!(staged.prefix, Prefix::OnDisk));
        let temp: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(temp.len(), 1, "only the temporary output");
        let early = std::fs::read(temp[0].as_ref().unwrap().path()).unwrap();
        let [a, b, c, _] = staged.prepared.byte_range().map(|v| v as usize);
        assert_eq!(&early[..before.len()], &before[..]);
        let slot = &early[a + b..c];
        assert!(
            slot[0] == b'<' && slot[slot.len() - 1] == b'>',
            "the /Contents string"
        );
        assert!(
            slot[1..slot.len() - 1].iter().all(|&x| x == b'0'),
            "and nothing in it yet"
        );

        let cms = [0x30, 0x03, 0x02, 0x01, 0x07];
        let written = staged.finish(&cms).unwrap();
        let out = std::fs::read(&output).unwrap();
        assert_eq!(out.len(), early.len(), "nothing appended twice");
        assert_eq!(out.len() as u64, written.output_len);
        assert_eq!(&out[..a + b], &early[..a + b]);
        assert_eq!(&out[c..], &early[c..]);
        assert!(out[a + b..c].starts_with(b"<3003020107000"));
    }

    #[test]
    fn a_staged_document_that_is_never_signed_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("signed.pdf");
        let staged = stage_alone(&corpus("pdfjs-tracemonkey.pdf"), &output);
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_signature_larger_than_its_space_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("signed.pdf");
        let staged = stage_alone(&corpus("pdfjs-tracemonkey.pdf"), &output);
        let err = staged.finish(&vec![0u8; 5000]).unwrap_err();
        assert!(matches!(err, PdfError::ContentsTooLarge { .. }), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    #[cfg(unix)]
    fn an_input_rewritten_in_place_with_its_time_put_back_is_noticed_before_the_rename() {
        for staging in [Staging::Alone, Staging::InBatch] {
            let dir = tempfile::tempdir().unwrap();
            let input = dir.path().join("in.pdf");
            std::fs::copy(corpus("pdfjs-tracemonkey.pdf"), &input).unwrap();
            let output = dir.path().join("signed.pdf");
            let staged = stage(
                &input,
                &output,
                &options(),
                DigestAlgorithm::Sha256,
                staging,
            )
            .unwrap();
            // Same length, modification time set back: only the status
            // change time tells. It moves at the kernel's clock tick (a
            // few ms): let one pass since the file was laid out.
            std::thread::sleep(std::time::Duration::from_millis(30));
            let file = File::options().write(true).open(&input).unwrap();
            let mtime = file.metadata().unwrap().modified().unwrap();
            write_all_at(&file, b"%CHANGED", 100).unwrap();
            file.set_modified(mtime).unwrap();
            drop(file);
            let err = staged.finish(&[0x30, 0x03, 0x02, 0x01, 0x07]).unwrap_err();
            assert!(matches!(err, PdfError::InputChanged), "{staging:?}: {err}");
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(left, ["in.pdf"], "{staging:?}: nothing but the input");
        }
    }
}
