//! PDF signing (PAdES): lazy reader, incremental writer, fields, appearance.
//!
//! A signature is added as an incremental update: the input's bytes are
//! copied unchanged and a new revision is appended holding the signature
//! dictionary, its field and widget, the objects that had to change (page
//! /Annots, /AcroForm, the catalog) and a cross-reference section of the
//! same kind as the file's. Earlier signatures therefore stay valid.
//!
//! ```text
//! prepare(input, opts) ──► PreparedPdf ──digest(alg)──► CMS over the digest
//!                              │                              │
//!                              └──────── write_to(cms, out) ◄─┘
//! ```
//!
//! [`sign_file`] runs the whole chain for the CLI and the server.

mod appearance;
mod crypt;
mod error;
mod fields;
mod filters;
mod font;
mod lexer;
mod object;
mod reader;
mod revision;
mod source;
mod xref;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use time::macros::{format_description, offset};
use time::OffsetDateTime;

pub use error::PdfError;
pub use fields::DocMdp;

/// Read-only access to a PDF's objects, for signature verification
/// (`crate::verify`), which inspects revisions without writing anything.
pub mod read {
    pub use super::object::{decode_text, Dict, ObjRef, Object};
    pub use super::reader::{Document, Loaded, MAX_DEPTH};
    pub use super::xref::Entry;
}

use appearance::{Rect, StampText};
use fields::{Field, Form, Place};
use object::{text_string, Dict, ObjRef, Object};
use reader::{Document, Page};
use revision::{Appended, RevisionWriter, TrailerInfo};

use crate::sign::cms::{self, CmsError, CmsProfile};
use crate::sign::{DigestAlgorithm, Signer};

/// Where to draw a visible signature: page (1-based) and a box in PDF user
/// units (points) in the page's default coordinate system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VisibleStamp {
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// What to sign and how.
#[derive(Debug, Clone)]
pub struct PdfSignOptions {
    /// Sign into this field: an existing empty signature field, or a new
    /// field created with this name. `None` creates `Signature1`, `Signature2`...
    pub field: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// Shown on the stamp and in /Name.
    pub signer_name: String,
    /// The certificate issuer's common name, shown on the stamp.
    pub issuer_name: String,
    /// Goes into /M (PAdES B-B carries no signingTime attribute) and the stamp.
    pub signing_time: OffsetDateTime,
    /// Draw a stamp in this box.
    pub visible: Option<VisibleStamp>,
    /// Draw a stamp at the bottom of the last page, beside earlier ones.
    pub visible_auto: bool,
    /// Certify (DocMDP P=2: later form filling and signing allowed). Only
    /// for the document's first signature.
    pub certify: bool,
    /// Bytes reserved for the CMS (DER). [`sign_file`] uses
    /// `cms::max_encoded_len` of the signer when this is 0.
    pub contents_capacity: usize,
    /// The password (user or owner) of an encrypted PDF; ignored for a
    /// plain one.
    pub password: Option<PdfPassword>,
}

/// A PDF password: zeroed when dropped, never printed.
#[derive(Clone)]
pub struct PdfPassword(zeroize::Zeroizing<Vec<u8>>);

impl PdfPassword {
    pub fn new(bytes: Vec<u8>) -> Self {
        PdfPassword(zeroize::Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for PdfPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PdfPassword(..)")
    }
}

impl PdfSignOptions {
    pub fn new(signer_name: impl Into<String>, issuer_name: impl Into<String>) -> Self {
        PdfSignOptions {
            field: None,
            reason: None,
            location: None,
            signer_name: signer_name.into(),
            issuer_name: issuer_name.into(),
            signing_time: OffsetDateTime::now_utc(),
            visible: None,
            visible_auto: false,
            certify: false,
            contents_capacity: 0,
            password: None,
        }
    }
}

/// A signature field found in a document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignatureFieldInfo {
    pub name: String,
    pub signed: bool,
    /// Has a widget with a non-empty rectangle.
    pub visible: bool,
}

/// What [`inspect`] reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PdfInfo {
    pub page_count: u32,
    pub signature_fields: Vec<SignatureFieldInfo>,
    /// DocMDP level of a certification signature (1, 2 or 3), if certified.
    pub docmdp: Option<u8>,
    pub encrypted: bool,
    /// Revisions (cross-reference sections) in the file.
    pub revisions: usize,
    /// The version in the file header (`1.7`).
    pub pdf_version: String,
}

/// The result of [`sign_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPdf {
    pub field_name: String,
    pub certified: bool,
    pub output_len: u64,
}

/// Page count, signature fields, certification and encryption of a PDF.
pub fn inspect(input: &Path) -> Result<PdfInfo, PdfError> {
    inspect_with_password(input, None)
}

/// [`inspect`], opening an encrypted PDF with `password` (so its fields
/// can be read). A wrong password is an error; no password gives what can
/// be seen without one.
pub fn inspect_with_password(
    input: &Path,
    password: Option<&PdfPassword>,
) -> Result<PdfInfo, PdfError> {
    let mut doc = Document::open(input)?;
    let encrypted = doc.is_encrypted();
    if encrypted && password.is_some() {
        doc.unlock(password.map(PdfPassword::as_bytes))?;
    }
    if encrypted && password.is_none() {
        // Field names are encrypted strings, but numbers and names are not:
        // the page count and a certification level can still be read.
        let docmdp = doc
            .catalog()
            .and_then(|c| fields::docmdp(&mut doc, &c, &[]))
            .ok()
            .flatten();
        return Ok(PdfInfo {
            page_count: doc.page_count().unwrap_or(0),
            signature_fields: Vec::new(),
            docmdp: docmdp.map(DocMdp::level),
            encrypted: true,
            revisions: doc.xref.sections,
            pdf_version: doc.version.clone().unwrap_or_default(),
        });
    }
    let catalog = doc.catalog()?;
    let form = Form::read(&mut doc, &catalog)?;
    Ok(PdfInfo {
        page_count: doc.page_count()?,
        signature_fields: form
            .fields
            .iter()
            .filter(|f| f.is_signature())
            .map(|f| SignatureFieldInfo {
                name: f.name.clone(),
                signed: f.signed,
                visible: f
                    .widgets
                    .iter()
                    .any(|(_, d)| fields::visible_rect(d).is_some()),
            })
            .collect(),
        docmdp: form.docmdp.map(DocMdp::level),
        encrypted,
        revisions: doc.xref.sections,
        pdf_version: doc.version.clone().unwrap_or_default(),
    })
}

/// A document with its new revision laid out and the space for the
/// signature reserved. The input file stays open (so a file swapped in at
/// the same path is noticed rather than signed).
pub struct PreparedPdf {
    file: Mutex<File>,
    path: PathBuf,
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

    /// Digest of the signed byte ranges: the whole input, then the new
    /// revision except the `/Contents` hex string.
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

    /// The input's bytes, in chunks, checking it has not changed since `prepare`.
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
    if doc.is_encrypted() && password.is_none() {
        // Numbers and names are not encrypted, so a certification that
        // forbids all changes can still be seen and named as the reason.
        let p1 = doc
            .catalog()
            .and_then(|c| fields::docmdp(&mut doc, &c, &[]))
            .ok()
            .flatten();
        if p1 == Some(DocMdp::NoChanges) {
            return Err(PdfError::NoChangesPermitted);
        }
        return Err(PdfError::Encrypted);
    }
    doc.unlock(password)?;
    let input_len = doc.len();
    let catalog = doc.catalog()?;
    let form = Form::read(&mut doc, &catalog)?;
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
    if same_file(input, output) {
        return Err(PdfError::SameFile);
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
    let werr = |source| PdfError::Write {
        path: output.to_path_buf(),
        source,
    };
    let mut out = crate::atomic::AtomicFile::create(output).map_err(werr)?;
    let mut buffered = std::io::BufWriter::with_capacity(COPY_CHUNK, &mut out);
    prepared
        .write_to(&der, &mut buffered)
        .map_err(|e| match e {
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

fn same_file(a: &Path, b: &Path) -> bool {
    // A hard link is the same file under another name.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            if x.dev() == y.dev() && x.ino() == y.ino() {
                return true;
            }
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

/// Where the signature goes, decided before anything is written.
struct Plan {
    field_name: String,
    target: Target,
    /// The stamp: its user-space rectangle, visual size and page rotation.
    stamp: Option<(Rect, f64, f64, i64)>,
}

enum Target {
    /// Fill this existing empty signature field (merged field/widget when
    /// `widget_is_field`).
    Existing(Field),
    /// Create a field on this page.
    New(Page),
}

fn plan(doc: &mut Document, form: &Form, opts: &PdfSignOptions) -> Result<Plan, PdfError> {
    if form.docmdp == Some(DocMdp::NoChanges) {
        return Err(PdfError::NoChangesPermitted);
    }
    let certified = form.docmdp.is_some();
    if opts.certify && (certified || form.has_signatures()) {
        return Err(PdfError::CannotCertify);
    }
    if opts.contents_capacity == 0 || opts.contents_capacity > 1 << 20 {
        return Err(PdfError::invalid(
            "the space reserved for the signature must be between 1 byte and 1 MiB",
        ));
    }
    if opts.visible.is_some() && opts.visible_auto {
        return Err(PdfError::invalid(
            "ask for either a stamp box or an automatic stamp, not both",
        ));
    }

    let existing = match &opts.field {
        Some(name) => form.find(name).cloned(),
        None => None,
    };
    if let Some(f) = existing {
        if !f.is_signature() {
            return Err(PdfError::NotASignatureField(f.name));
        }
        if f.signed {
            return Err(PdfError::FieldAlreadySigned(f.name));
        }
        if opts.visible.is_some() || opts.visible_auto {
            return Err(PdfError::invalid(format!(
                "the signature field \"{}\" already has its place in the document; do not also ask for a stamp position",
                f.name
            )));
        }
        // Draw into the field's own box when it has one; the page's
        // rotation is looked up only then.
        let stamp = match f.widgets.as_slice() {
            [(_, wd)] if f.widgets[0].0 == f.r => match fields::visible_rect(wd) {
                Some(rect) => {
                    let rotate = widget_page_rotation(doc, wd)?;
                    let (w, h) = if rotate == 90 || rotate == 270 {
                        (rect[3] - rect[1], rect[2] - rect[0])
                    } else {
                        (rect[2] - rect[0], rect[3] - rect[1])
                    };
                    Some((rect, w, h, rotate))
                }
                None => None,
            },
            _ => None,
        };
        return Ok(Plan {
            field_name: f.name.clone(),
            target: Target::Existing(f),
            stamp,
        });
    }

    let field_name = match &opts.field {
        Some(name) => {
            validate_field_name(name)?;
            if form
                .fields
                .iter()
                .any(|f| f.name.starts_with(&format!("{name}.")))
            {
                return Err(PdfError::invalid(format!(
                    "\"{name}\" is a group of form fields, not a field that can be signed"
                )));
            }
            name.clone()
        }
        None => form.unique_name(),
    };
    let visible = opts.visible.is_some() || opts.visible_auto;
    if certified && visible {
        return Err(PdfError::CertificationForbids(
            "the document is certified: a new visible signature would count as a forbidden change; \
             sign into one of its empty signature fields, or sign without a visible stamp"
                .into(),
        ));
    }
    let count = doc.page_count()?;
    if count == 0 {
        return Err(PdfError::damaged("the document has no pages"));
    }
    let (page, stamp) = if let Some(v) = opts.visible {
        if v.page == 0 || v.page > count {
            return Err(PdfError::invalid(format!(
                "page {} does not exist; the document has {count} page{}",
                v.page,
                if count == 1 { "" } else { "s" }
            )));
        }
        let vals = [v.x, v.y, v.w, v.h];
        if vals.iter().any(|x| !x.is_finite()) || v.w < 10.0 || v.h < 5.0 {
            return Err(PdfError::invalid(
                "the stamp box must be at least 10 x 5 points",
            ));
        }
        let page = doc.page(v.page - 1)?;
        let rect = [v.x, v.y, v.x + v.w, v.y + v.h];
        let vb = page.view_box;
        if rect[0] < vb[0] - 0.5
            || rect[1] < vb[1] - 0.5
            || rect[2] > vb[2] + 0.5
            || rect[3] > vb[3] + 0.5
        {
            return Err(PdfError::invalid(format!(
                "the stamp box lies outside page {} ({} x {} points, from {} {})",
                v.page,
                object::format_real(vb[2] - vb[0]),
                object::format_real(vb[3] - vb[1]),
                object::format_real(vb[0]),
                object::format_real(vb[1]),
            )));
        }
        // A stamp over another signature's stamp would hide it from the
        // people reading the page.
        if let Some(r) = signature_rects(doc, &page, form)?
            .iter()
            .find(|r| appearance::overlaps(&rect, r))
        {
            return Err(PdfError::invalid(format!(
                "the stamp box overlaps the signature field at {} {} {} {} on page {}; choose a free area",
                object::format_real(r[0]),
                object::format_real(r[1]),
                object::format_real(r[2]),
                object::format_real(r[3]),
                v.page
            )));
        }
        let (w, h) = if page.rotate == 90 || page.rotate == 270 {
            (v.h, v.w)
        } else {
            (v.w, v.h)
        };
        let rotate = page.rotate;
        (page, Some((rect, w, h, rotate)))
    } else if opts.visible_auto {
        let page = doc.page(count - 1)?;
        let taken = signature_rects(doc, &page, form)?;
        let Some((rect, w, h)) = appearance::auto_place(&page.view_box, page.rotate, &taken) else {
            return Err(PdfError::invalid(
                "there is no free space left for another stamp at the bottom of the last page; give a stamp box",
            ));
        };
        let rotate = page.rotate;
        (page, Some((rect, w, h, rotate)))
    } else {
        (doc.page(0)?, None)
    };
    Ok(Plan {
        field_name,
        target: Target::New(page),
        stamp,
    })
}

fn validate_field_name(name: &str) -> Result<(), PdfError> {
    if name.is_empty()
        || name.len() > 200
        || name.contains('.')
        || name.chars().any(char::is_control)
    {
        return Err(PdfError::invalid(format!(
            "\"{name}\" is not a usable field name (1 to 200 characters, no dots or control characters)"
        )));
    }
    Ok(())
}

fn widget_page_rotation(doc: &mut Document, widget: &Dict) -> Result<i64, PdfError> {
    let Some(p) = widget.get("P").and_then(Object::as_ref) else {
        return Ok(0);
    };
    let Some(page) = doc.resolve_dict(Some(&Object::Ref(p)), "a widget's page")? else {
        return Ok(0);
    };
    // /Rotate is inheritable; on a page that does not set it, look one
    // level up (deeper inheritance is rare enough to not chase here).
    let direct = page.get("Rotate").and_then(Object::as_int);
    let rot = match direct {
        Some(r) => r,
        None => doc
            .resolve_dict(page.get("Parent"), "a page's parent")?
            .and_then(|d| d.get("Rotate").and_then(Object::as_int))
            .unwrap_or(0),
    };
    Ok((rot.rem_euclid(360) / 90) * 90)
}

/// Rectangles of signature widgets already on `page` (to keep stamps apart).
fn signature_rects(doc: &mut Document, page: &Page, form: &Form) -> Result<Vec<Rect>, PdfError> {
    let mut out = Vec::new();
    let annots = match page.dict.get("Annots") {
        Some(a) => doc.resolve(a)?,
        None => Object::Null,
    };
    let sig_widgets: std::collections::HashSet<ObjRef> = form
        .fields
        .iter()
        .filter(|f| f.is_signature())
        .flat_map(|f| f.widgets.iter().map(|(r, _)| *r))
        .collect();
    for a in annots.as_array().unwrap_or(&[]) {
        let Some(r) = a.as_ref() else { continue };
        if !sig_widgets.contains(&r) {
            continue;
        }
        if let Some(d) = doc.resolve_dict(Some(a), "an annotation")? {
            if let Some(rect) = fields::visible_rect(&d) {
                out.push(rect);
            }
        }
    }
    // Widgets that name this page but are missing from its /Annots.
    for f in form.fields.iter().filter(|f| f.is_signature()) {
        for (_, d) in &f.widgets {
            if d.get("P").and_then(Object::as_ref) == Some(page.r) {
                if let Some(rect) = fields::visible_rect(d) {
                    out.push(rect);
                }
            }
        }
    }
    Ok(out)
}

fn ist(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(offset!(+5:30))
}

/// `D:YYYYMMDDHHmmSS+05'30'` (ISO 32000-1 7.9.4), in Indian Standard Time.
fn pdf_date(t: OffsetDateTime) -> String {
    let t = ist(t);
    let fmt = format_description!("[year][month][day][hour][minute][second]");
    format!("D:{}+05'30'", t.format(&fmt).unwrap_or_default())
}

/// `2026-11-23 15:20:11 +05:30`, for people.
fn stamp_date(t: OffsetDateTime) -> String {
    let t = ist(t);
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    format!("{} +05:30", t.format(&fmt).unwrap_or_default())
}

fn build_revision(
    doc: &mut Document,
    catalog: &Dict,
    form: &Form,
    plan: &Plan,
    opts: &PdfSignOptions,
) -> Result<Appended, PdfError> {
    let input_len = doc.len();
    let last = doc.source_mut().read_at(input_len.saturating_sub(1), 1)?;
    let newline = !matches!(last.first(), Some(b'\n') | Some(b'\r'));
    let trailer = doc.trailer().clone();
    let prev_size = trailer
        .get("Size")
        .and_then(Object::as_int)
        .and_then(|s| u32::try_from(s).ok())
        .unwrap_or(0);
    let first_free = prev_size.max(doc.xref.max_num.saturating_add(1));
    let mut w = RevisionWriter::new(input_len, newline, first_free);
    w.encrypt_with(doc.crypt().cloned());

    let sig_ref = w.alloc();
    let mut sig = Dict::new()
        .with("Type", Object::name("Sig"))
        .with("Filter", Object::name("Adobe.PPKLite"))
        .with("SubFilter", Object::name("ETSI.CAdES.detached"))
        .with("M", Object::Str(pdf_date(opts.signing_time).into_bytes()));
    if !opts.signer_name.trim().is_empty() {
        sig.set("Name", text_string(&opts.signer_name));
    }
    if let Some(r) = opts.reason.as_deref().filter(|s| !s.trim().is_empty()) {
        sig.set("Reason", text_string(r));
    }
    if let Some(l) = opts.location.as_deref().filter(|s| !s.trim().is_empty()) {
        sig.set("Location", text_string(l));
    }
    if opts.certify {
        sig.set(
            "Reference",
            Object::Array(vec![Object::Dict(
                Dict::new()
                    .with("Type", Object::name("SigRef"))
                    .with("TransformMethod", Object::name("DocMDP"))
                    .with(
                        "TransformParams",
                        Object::Dict(
                            Dict::new()
                                .with("Type", Object::name("TransformParams"))
                                .with("P", Object::Int(2))
                                .with("V", Object::name("1.2")),
                        ),
                    ),
            )]),
        );
    }
    w.signature(sig_ref, &sig, opts.contents_capacity);

    let ap_ref = match plan.stamp {
        Some((_, sw, sh, rotate)) => {
            let font = font::Font::dejavu_sans()
                .ok_or_else(|| PdfError::Internal("the built-in font is unreadable".into()))?;
            let text = StampText {
                signer: opts.signer_name.clone(),
                when: stamp_date(opts.signing_time),
                reason: opts.reason.clone(),
                location: opts.location.clone(),
                issuer: opts.issuer_name.clone(),
            };
            Some(appearance::write_stamp(
                &mut w, &font, sw, sh, rotate, &text,
            ))
        }
        None => None,
    };
    let ap = |d: Dict| match ap_ref {
        Some(a) => d.with("AP", Object::Dict(Dict::new().with("N", Object::Ref(a)))),
        None => d,
    };

    // The catalog is rewritten only when something in it must change.
    let mut new_catalog = catalog.clone();
    let mut catalog_changed = false;
    let set_sig_flags = !form.has_signatures();

    match &plan.target {
        Target::Existing(f) => {
            let updated = ap(f.dict.clone()).with("V", Object::Ref(sig_ref));
            w.object(f.r, &Object::Dict(updated));
            if set_sig_flags {
                update_acroform(&mut w, form, &mut new_catalog, &mut catalog_changed, None)?;
            }
        }
        Target::New(page) => {
            let widget_ref = w.alloc();
            let rect = plan.stamp.map(|s| s.0).unwrap_or([0.0; 4]);
            let widget = ap(Dict::new()
                .with("Type", Object::name("Annot"))
                .with("Subtype", Object::name("Widget"))
                .with("FT", Object::name("Sig"))
                .with("T", text_string(&plan.field_name))
                .with("V", Object::Ref(sig_ref))
                .with("F", Object::Int(132))
                .with(
                    "Rect",
                    Object::Array(rect.iter().map(|v| Object::real(*v)).collect()),
                )
                .with("P", Object::Ref(page.r)));
            w.object(widget_ref, &Object::Dict(widget));
            add_annotation(doc, &mut w, page, widget_ref)?;
            update_acroform(
                &mut w,
                form,
                &mut new_catalog,
                &mut catalog_changed,
                Some(widget_ref),
            )?;
        }
    }

    if opts.certify {
        let docmdp = Object::Dict(Dict::new().with("DocMDP", Object::Ref(sig_ref)));
        match catalog.get("Perms") {
            Some(Object::Ref(pr)) => {
                let pr = *pr;
                let mut perms = doc
                    .resolve_dict(Some(&Object::Ref(pr)), "/Perms")?
                    .unwrap_or_default();
                perms.set("DocMDP", Object::Ref(sig_ref));
                w.object(pr, &Object::Dict(perms));
            }
            Some(Object::Dict(p)) => {
                let mut perms = p.clone();
                perms.set("DocMDP", Object::Ref(sig_ref));
                new_catalog.set("Perms", Object::Dict(perms));
                catalog_changed = true;
            }
            _ => {
                new_catalog.set("Perms", docmdp);
                catalog_changed = true;
            }
        }
    }
    let root = doc.root_ref()?;
    if catalog_changed {
        w.object(root, &Object::Dict(new_catalog));
    }

    let id_first = match trailer.get("ID") {
        Some(Object::Array(a)) => a.first().and_then(Object::as_str).map(<[u8]>::to_vec),
        _ => None,
    };
    let id_second = {
        let mut h = DigestAlgorithm::Sha256.hasher();
        h.update(&input_len.to_be_bytes());
        h.update(pdf_date(opts.signing_time).as_bytes());
        h.update(plan.field_name.as_bytes());
        h.update(opts.signer_name.as_bytes());
        h.finish()[..16].to_vec()
    };
    // Hybrid files: objects only the /XRefStm locates are written out
    // plainly, so readers that ignore /XRefStm (and validators that
    // mis-parse those object streams) see the whole document.
    if doc.xref.hybrid_compressed.len() <= MAX_HYBRID_REWRITE {
        for num in doc.xref.hybrid_compressed.clone() {
            let r = ObjRef::new(num, 0);
            if !w.has(r) {
                let obj = doc.get(r)?;
                w.object(r, &obj);
            }
        }
    }

    let extra = carried_trailer_entries(doc, &trailer);
    let info = TrailerInfo {
        root,
        info: trailer.get("Info").cloned(),
        id_first,
        id_second,
        prev: doc.xref.newest_offset,
        prev_size,
        extra,
    };
    Ok(w.finish(doc.xref.kind, &info))
}

/// Above this many objects a hybrid file's compressed objects are left
/// where they are (the rewrite is a courtesy, not a requirement).
const MAX_HYBRID_REWRITE: usize = 5000;

/// Previous trailer entries that are not about the cross-reference data
/// itself. References to objects that no longer exist become `null` (which
/// is what they mean) so strict readers do not stumble over them.
/// /Encrypt is carried too: the update is encrypted with the same key, and
/// a trailer without it would make readers take the new strings as plain.
fn carried_trailer_entries(doc: &Document, trailer: &Dict) -> Vec<(Vec<u8>, Object)> {
    const OWN: &[&[u8]] = &[
        b"Size",
        b"Root",
        b"Info",
        b"ID",
        b"Prev",
        b"XRefStm",
        b"Type",
        b"W",
        b"Index",
        b"Filter",
        b"DecodeParms",
        b"Length",
    ];
    trailer
        .0
        .iter()
        .filter(|(k, _)| !OWN.contains(&k.as_slice()))
        .map(|(k, v)| {
            let v = match v {
                Object::Ref(r) if !doc.exists(*r) => Object::Null,
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// Add the widget to the page's /Annots: rewrite the /Annots array object
/// when it is indirect, the page otherwise.
fn add_annotation(
    doc: &mut Document,
    w: &mut RevisionWriter,
    page: &Page,
    widget: ObjRef,
) -> Result<(), PdfError> {
    match page.dict.get("Annots") {
        Some(Object::Ref(ar)) => {
            let ar = *ar;
            match doc.get(ar)? {
                Object::Array(mut a) => {
                    a.push(Object::Ref(widget));
                    w.object(ar, &Object::Array(a));
                    return Ok(());
                }
                Object::Null => {}
                _ => return Err(PdfError::damaged("a page's /Annots is not an array")),
            }
            let updated = page
                .dict
                .clone()
                .with("Annots", Object::Array(vec![Object::Ref(widget)]));
            w.object(page.r, &Object::Dict(updated));
        }
        Some(Object::Array(a)) => {
            let mut a = a.clone();
            a.push(Object::Ref(widget));
            let updated = page.dict.clone().with("Annots", Object::Array(a));
            w.object(page.r, &Object::Dict(updated));
        }
        Some(_) => return Err(PdfError::damaged("a page's /Annots is not an array")),
        None => {
            let updated = page
                .dict
                .clone()
                .with("Annots", Object::Array(vec![Object::Ref(widget)]));
            w.object(page.r, &Object::Dict(updated));
        }
    }
    Ok(())
}

/// Register a new field in /AcroForm /Fields (creating /AcroForm if
/// needed) and set /SigFlags 3 when the document has no signature yet
/// (later, validators treat any other change to /AcroForm as suspect).
fn update_acroform(
    w: &mut RevisionWriter,
    form: &Form,
    catalog: &mut Dict,
    catalog_changed: &mut bool,
    new_field: Option<ObjRef>,
) -> Result<(), PdfError> {
    let set_flags = !form.has_signatures();
    let flags_ok = |d: &Dict| !set_flags || d.get("SigFlags").and_then(Object::as_int) == Some(3);
    let with_flags = |mut d: Dict| {
        if set_flags {
            d.set("SigFlags", Object::Int(3));
        }
        d
    };
    // The /Fields array, if it must change and lives in its own object, is
    // rewritten there; otherwise the dictionary holding it changes.
    let mut fields_inline: Option<Vec<Object>> = None;
    if let Some(fr) = new_field {
        match &form.fields_array {
            Place::Indirect(ar, a) => {
                let mut a = a.clone();
                a.push(Object::Ref(fr));
                w.object(*ar, &Object::Array(a));
            }
            Place::Direct(a) => {
                let mut a = a.clone();
                a.push(Object::Ref(fr));
                fields_inline = Some(a);
            }
            Place::Absent => fields_inline = Some(vec![Object::Ref(fr)]),
        }
    }
    match &form.acroform {
        Place::Absent => {
            let Some(fields) = fields_inline else {
                return Ok(());
            };
            let af = w.alloc();
            let d = Dict::new()
                .with("Fields", Object::Array(fields))
                .with("SigFlags", Object::Int(3));
            w.object(af, &Object::Dict(d));
            catalog.set("AcroForm", Object::Ref(af));
            *catalog_changed = true;
        }
        Place::Direct(d) => {
            if fields_inline.is_some() || !flags_ok(d) {
                let mut d = with_flags(d.clone());
                if let Some(f) = fields_inline {
                    d.set("Fields", Object::Array(f));
                }
                catalog.set("AcroForm", Object::Dict(d));
                *catalog_changed = true;
            }
        }
        Place::Indirect(r, d) => {
            if fields_inline.is_some() || !flags_ok(d) {
                let mut d = with_flags(d.clone());
                if let Some(f) = fields_inline {
                    d.set("Fields", Object::Array(f));
                }
                w.object(*r, &Object::Dict(d));
            }
        }
    }
    Ok(())
}
