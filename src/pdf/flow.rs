//! The signing flow: [`prepare`] lays out the new revision, [`PreparedPdf`]
//! hashes and writes it, [`sign_file`] runs the chain with a signer.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use super::error::PdfError;
use super::fields::{self, DocMdp, Form};
use super::options::{PdfPassword, PdfSignOptions, SignedPdf};
use super::plan::plan;
use super::reader::Document;
use super::revision::Appended;
use super::update::build_revision;

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
    modified: Option<SystemTime>,
    appended: Appended,
    field_name: String,
    capacity: usize,
    certified: bool,
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
        let mut h = alg.hasher();
        self.stream_input(|chunk| {
            h.update(chunk);
            Ok(())
        })?;
        let a = &self.appended;
        h.update(&a.bytes[..a.contents_at]);
        h.update(&a.bytes[a.contents_at + a.contents_len..]);
        Ok(h.finish())
    }

    /// Write the signed PDF: the input bytes, then the new revision with
    /// `cms_der` hex-encoded into `/Contents`.
    pub fn write_to(&self, cms_der: &[u8], out: &mut dyn Write) -> Result<(), PdfError> {
        if cms_der.len() > self.capacity {
            return Err(PdfError::ContentsTooLarge {
                need: cms_der.len(),
                capacity: self.capacity,
            });
        }
        let werr = |source| PdfError::Write {
            path: PathBuf::from("output"),
            source,
        };
        self.stream_input(|chunk| out.write_all(chunk).map_err(werr))?;
        let a = &self.appended;
        let mut contents = Vec::with_capacity(a.contents_len);
        contents.push(b'<');
        contents.extend_from_slice(hex::encode_upper(cms_der).as_bytes());
        contents.resize(a.contents_len - 1, b'0');
        contents.push(b'>');
        out.write_all(&a.bytes[..a.contents_at]).map_err(werr)?;
        out.write_all(&contents).map_err(werr)?;
        out.write_all(&a.bytes[a.contents_at + a.contents_len..])
            .map_err(werr)?;
        Ok(())
    }

    /// The input's bytes, in chunks, checking it has not changed since
    /// `prepare`.
    fn stream_input(
        &self,
        mut sink: impl FnMut(&[u8]) -> Result<(), PdfError>,
    ) -> Result<(), PdfError> {
        let rerr = |source| PdfError::Read {
            path: self.path.clone(),
            source,
        };
        let mut file = self
            .file
            .lock()
            .map_err(|_| PdfError::Internal("the input file lock is poisoned".into()))?;
        self.check_unchanged(&file)?;
        file.seek(SeekFrom::Start(0)).map_err(rerr)?;
        let mut remaining = self.input_len;
        let mut buf = vec![0u8; COPY_CHUNK];
        while remaining > 0 {
            let n = (remaining.min(COPY_CHUNK as u64)) as usize;
            file.read_exact(&mut buf[..n]).map_err(rerr)?;
            sink(&buf[..n])?;
            remaining -= n as u64;
        }
        self.check_unchanged(&file)
    }

    fn check_unchanged(&self, file: &File) -> Result<(), PdfError> {
        let meta = file.metadata().map_err(|source| PdfError::Read {
            path: self.path.clone(),
            source,
        })?;
        if meta.len() != self.input_len || meta.modified().ok() != self.modified {
            return Err(PdfError::InputChanged);
        }
        Ok(())
    }
}

/// Lay out the new revision for signing `input` as `opts` asks.
pub fn prepare(input: &Path, opts: &PdfSignOptions) -> Result<PreparedPdf, PdfError> {
    let mut doc = Document::open(input)?;
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
    let form = Form::read(&mut doc, &catalog)?;
    // A certification that forbids every change is the more basic reason.
    if form.docmdp != Some(DocMdp::NoChanges) && doc.crypt().is_some_and(|c| !c.permits_signing()) {
        return Err(PdfError::SigningNotPermitted);
    }
    let plan = plan(&mut doc, &form, opts)?;
    let appended = build_revision(&mut doc, &catalog, &form, &plan, opts)?;

    let path = doc.path().to_path_buf();
    let file = doc.into_source().into_file();
    let modified = file.metadata().ok().and_then(|m| m.modified().ok());
    Ok(PreparedPdf {
        file: Mutex::new(file),
        path,
        input_len,
        modified,
        appended,
        field_name: plan.field_name,
        capacity: opts.contents_capacity,
        certified: opts.certify,
    })
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
    if crate::atomic::same_file(input, output) {
        return Err(PdfError::SameFile.into());
    }
    let mut opts = opts.clone();
    if opts.contents_capacity == 0 {
        opts.contents_capacity = cms::max_encoded_len(signer);
    }
    let prepared = prepare(input, &opts)?;
    let digest = prepared.digest(signer.algorithm().digest())?;
    let der = cms::sign_digest(signer, &digest, &CmsProfile::pades()).map_err(|e| match e {
        CmsError::Sign(s) => PdfError::Sign(s),
        other => PdfError::Cms(other),
    })?;
    let der = finish(der)?;
    Ok(write_signed(&prepared, &der, output)?)
}

/// Write `prepared` with `der` in `/Contents` to `output`, atomically.
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
    })
}
