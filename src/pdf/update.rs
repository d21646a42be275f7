//! The new revision's objects: the signature dictionary, its field and
//! widget, the stamp, and whatever else must change to reach them
//! (page /Annots, /AcroForm, the catalog, /Perms).

use time::macros::{format_description, offset};
use time::OffsetDateTime;

use super::appearance::{self, StampText};
use super::error::PdfError;
use super::fields::{Form, Place};
use super::metadata;
use super::object::{text_string, Dict, ObjRef, Object};
use super::options::PdfSignOptions;
use super::pages::Page;
use super::plan::{Plan, Target};
use super::qr;
use super::reader::Document;
use super::revision::{Appended, RevisionWriter, TrailerInfo};
use super::uin::{self, CertificateStamp};

use crate::sign::DigestAlgorithm;

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

pub(super) fn build_revision(
    doc: &mut Document,
    catalog: &Dict,
    form: &Form,
    plan: &Plan,
    opts: &PdfSignOptions,
) -> Result<Appended, PdfError> {
    let Update {
        mut w,
        trailer,
        prev_size,
        input_len,
    } = Update::begin(doc)?;

    let sig_ref = w.alloc();
    let sig = signature_dict(doc, plan, opts, doc.root_ref()?)?;
    w.signature(sig_ref, &sig, opts.contents_capacity);

    let certificate =
        CertificateStamp::check(opts.uin.as_deref(), opts.qr.as_deref(), opts.qr_version)
            .map_err(PdfError::CannotStamp)?;
    if let Some(u) = &certificate.uin {
        u.check_year(ist(opts.signing_time).year())
            .map_err(PdfError::invalid)?;
    }
    let text = StampText {
        signer: opts.signer_name.clone(),
        when: stamp_date(opts.signing_time),
        reason: opts.reason.clone(),
        location: opts.location.clone(),
        issuer: opts.issuer_name.clone(),
        uin: certificate.uin.as_ref().map(|u| u.to_string()),
        qr: certificate
            .payload
            .as_deref()
            .map(|p| qr::encode(p, opts.qr_version))
            .transpose()
            .map_err(PdfError::CannotStamp)?,
        verify_url: certificate.payload.as_deref().and_then(uin::verify_url),
    };
    let stamp = |w: &mut RevisionWriter, sw: f64, sh: f64, rotate: i64, unit: f64| {
        appearance::write_stamp(w, sw, sh, rotate, unit, &text)
    };
    let ap_ref = match plan.stamp {
        Some((_, sw, sh, rotate, unit)) => Some(stamp(&mut w, sw, sh, rotate, unit)?),
        None => None,
    };
    let with_ap =
        |d: Dict, ap: ObjRef| d.with("AP", Object::Dict(Dict::new().with("N", Object::Ref(ap))));
    let ap = |d: Dict| match ap_ref {
        Some(a) => with_ap(d, a),
        None => d,
    };

    // The catalog is rewritten only when something in it must change.
    let mut new_catalog = catalog.clone();
    let mut catalog_changed = false;
    let set_sig_flags = !form.has_signatures();

    match &plan.target {
        Target::Existing(f, stamps) => {
            // The field gets the value; each widget with a box its stamp
            // (the field itself when the two are merged).
            let mut field = f.dict.clone().with("V", Object::Ref(sig_ref));
            for s in stamps {
                let a = stamp(&mut w, s.w, s.h, s.rotate, s.unit)?;
                if s.r == f.r {
                    field = with_ap(field, a);
                } else {
                    w.object(s.r, &Object::Dict(with_ap(s.dict.clone(), a)));
                }
            }
            w.object(f.r, &Object::Dict(field));
            if set_sig_flags {
                update_acroform(&mut w, form, &mut new_catalog, &mut catalog_changed, None)?;
            }
        }
        Target::New(page_ref, page) => {
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
                .with("P", Object::Ref(*page_ref)));
            w.object(widget_ref, &Object::Dict(widget));
            add_annotation(doc, &mut w, *page_ref, page, widget_ref, set_sig_flags)?;
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
    rewrap_metadata(doc, &mut w, catalog)?;
    let root = doc.root_ref()?;
    if catalog_changed {
        w.object(root, &Object::Dict(new_catalog));
    }

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

    let mut info = trailer_info(doc, &trailer, prev_size, root, id_second);
    encrypt_as_object(&mut w, &mut info);
    Ok(w.finish(doc.xref.kind, &info))
}

/// An /Encrypt dictionary written inline in the trailer becomes an object
/// of its own (never encrypted, ISO 32000-1 7.6.1), which the new trailer
/// refers to. PyMuPDF writes it inline; pyHanko's strict reader refuses
/// such a file ("Encryption settings must be an indirect reference"), so
/// it could not judge a signature Mohor put there.
pub(super) fn encrypt_as_object(w: &mut RevisionWriter, info: &mut TrailerInfo) {
    for (k, v) in info.extra.iter_mut() {
        if k.as_slice() == b"Encrypt" && matches!(v, Object::Dict(_)) {
            let r = w.alloc();
            w.plain_object(r, v);
            *v = Object::Ref(r);
        }
    }
}

/// An incremental update of a document, begun: the writer (new objects
/// numbered after every existing one, encrypted as the file is) and what
/// the new trailer needs from the old one.
pub(super) struct Update {
    pub w: RevisionWriter,
    pub trailer: Dict,
    pub prev_size: u32,
    /// The document's length from `%PDF-` (the offset the update starts at).
    pub input_len: u64,
}

impl Update {
    pub fn begin(doc: &mut Document) -> Result<Update, PdfError> {
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
        w.header_offset(doc.source_mut().header_offset());
        Ok(Update {
            w,
            trailer,
            prev_size,
            input_len,
        })
    }
}

/// The trailer of an update: the same root, info and first /ID, a new
/// second /ID, and the previous trailer's other entries carried forward.
pub(super) fn trailer_info(
    doc: &Document,
    trailer: &Dict,
    prev_size: u32,
    root: ObjRef,
    id_second: Vec<u8>,
) -> TrailerInfo {
    let id_first = match trailer.get("ID") {
        Some(Object::Array(a)) => a.first().and_then(Object::as_str).map(<[u8]>::to_vec),
        _ => None,
    };
    // RC4/AES-128 keys are made from the first /ID; an encrypted file
    // without one was keyed with the empty string, which an empty first
    // element keeps (a new identifier would change every reader's key).
    let id_first = id_first.or_else(|| doc.crypt().map(|_| Vec::new()));
    TrailerInfo {
        root,
        info: trailer.get("Info").cloned(),
        id_first,
        id_second,
        prev: doc.xref.newest_offset,
        prev_size,
        extra: carried_trailer_entries(doc, trailer),
    }
}

/// The signature dictionary: who, when, why, and the transforms that say
/// what the signature locks (DocMDP when certifying, FieldMDP when the
/// field's /Lock asks for it).
fn signature_dict(
    doc: &mut Document,
    plan: &Plan,
    opts: &PdfSignOptions,
    root: ObjRef,
) -> Result<Dict, PdfError> {
    if opts.doc_timestamp {
        // ISO 32000-2 12.8.5: who and when are in the token itself.
        return Ok(Dict::new()
            .with("Type", Object::name("DocTimeStamp"))
            .with("Filter", Object::name("Adobe.PPKLite"))
            .with("SubFilter", Object::name("ETSI.RFC3161")));
    }
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
    let sigref = |method: &str, params: Dict| {
        Object::Dict(
            Dict::new()
                .with("Type", Object::name("SigRef"))
                .with("TransformMethod", Object::name(method))
                .with(
                    "TransformParams",
                    Object::Dict(
                        params
                            .with("Type", Object::name("TransformParams"))
                            .with("V", Object::name("1.2")),
                    ),
                ),
        )
    };
    let mut references = Vec::new();
    if opts.certify {
        references.push(sigref("DocMDP", Dict::new().with("P", Object::Int(2))));
    }
    if let Target::Existing(f, _) = &plan.target {
        if let Some(lock) = doc.resolve_dict(f.dict.get("Lock"), "the field's /Lock")? {
            // The lock dictionary's /Action and /Fields become the
            // transform's parameters (ISO 32000-1 12.7.4.5, 12.8.2.4).
            let mut params = Dict::new();
            for key in ["Action", "Fields"] {
                if let Some(v) = lock.get(key) {
                    params.set(key, doc.resolve(v)?);
                }
            }
            if !params.contains("Action") {
                params.set("Action", Object::name("All"));
            }
            let Object::Dict(mut r) = sigref("FieldMDP", params) else {
                return Err(PdfError::Internal(
                    "a signature reference is not a dictionary".into(),
                ));
            };
            r.set("Data", Object::Ref(root));
            references.push(Object::Dict(r));
        }
    }
    if !references.is_empty() {
        sig.set("Reference", Object::Array(references));
    }
    Ok(sig)
}

/// Metadata that is not well-formed XMP (its root not `x:xmpmeta`, or not
/// well-formed XML) is written again, wrapped or mended, in its own object
/// (see [`metadata`]); any other metadata is left alone.
fn rewrap_metadata(
    doc: &mut Document,
    w: &mut RevisionWriter,
    catalog: &Dict,
) -> Result<(), PdfError> {
    let Some(r) = catalog.get("Metadata").and_then(Object::as_ref) else {
        return Ok(());
    };
    let encrypted = doc.crypt().is_none_or(|c| c.encrypts_metadata());
    // Unreadable metadata is not this signature's business: leave it.
    let Ok(Some((dict, xml))) = doc.stream(r, encrypted) else {
        return Ok(());
    };
    let Some(xml) = metadata::fixed(&xml) else {
        return Ok(());
    };
    const ENCODING: &[&str] = &["Length", "Filter", "DecodeParms", "DL"];
    let dict = Dict(
        dict.0
            .into_iter()
            .filter(|(k, _)| !ENCODING.iter().any(|e| e.as_bytes() == k.as_slice()))
            .collect(),
    );
    if encrypted {
        w.stream(r, dict, &xml);
    } else {
        w.plain_stream(r, dict, &xml);
    }
    Ok(())
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

/// Add the widget to the page's /Annots, in a page dictionary written
/// anew. An /Annots array that is an object of its own is copied, not
/// changed: producers share one (often empty) array among many pages, and
/// appending to it would put the stamp on every one of them. Annotations
/// written inline in the array are written as objects of their own by the
/// document's first signature.
fn add_annotation(
    doc: &mut Document,
    w: &mut RevisionWriter,
    page_ref: ObjRef,
    page: &Page,
    widget: ObjRef,
    first_signature: bool,
) -> Result<(), PdfError> {
    let mut annots = match page.dict.get("Annots") {
        None => Vec::new(),
        Some(a) => match doc.resolve(a)? {
            Object::Array(a) => a,
            Object::Null => Vec::new(),
            _ => return Err(PdfError::damaged("a page's /Annots is not an array")),
        },
    };
    // Annotations written inline in the array (ISO 32000 wants indirect
    // references there) become objects of their own: pyHanko refuses any
    // later change to an /Annots array holding a direct dictionary, so the
    // next signatory's widget would make this signature "illegally
    // modified". Only in the first signature's revision: after another
    // signature that would read as its annotation taken away and another
    // put in its place.
    for a in annots.iter_mut().filter(|_| first_signature) {
        if let Object::Dict(d) = a {
            let r = w.alloc();
            w.object(r, &Object::Dict(std::mem::take(d)));
            *a = Object::Ref(r);
        }
    }
    annots.push(Object::Ref(widget));
    let updated = page.dict.clone().with("Annots", Object::Array(annots));
    w.object(page_ref, &Object::Dict(updated));
    Ok(())
}

/// Register a new field in /AcroForm /Fields (creating /AcroForm if
/// needed) and, when the document has no signature yet, set /SigFlags 3
/// and drop a hybrid form's /XFA (later, validators treat any other change
/// to /AcroForm as suspect, so only the first signature does either).
///
/// Why /XFA goes: Adobe's viewers draw a form that carries XFA from its
/// XML template, which knows nothing of the new signature field; without
/// it every viewer shows the AcroForm — the same pages and fields, and the
/// signature. (A form that is XFA only was refused in `prepare`.)
fn update_acroform(
    w: &mut RevisionWriter,
    form: &Form,
    catalog: &mut Dict,
    catalog_changed: &mut bool,
    new_field: Option<ObjRef>,
) -> Result<(), PdfError> {
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
    // The form dictionary as this revision leaves it, or nothing when that
    // is what it already says.
    let first_signature = !form.has_signatures();
    let rewritten = |d: &Dict| {
        let mut new = d.clone();
        if first_signature {
            new.set("SigFlags", Object::Int(3));
            // An `/XFA null` is no XFA: left as it is, it changes nothing.
            if new.contains("XFA") {
                new.remove("XFA");
            }
        }
        if let Some(f) = &fields_inline {
            new.set("Fields", Object::Array(f.clone()));
        }
        (new != *d).then_some(new)
    };
    match &form.acroform {
        Place::Absent => {
            let Some(fields) = fields_inline.clone() else {
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
            if let Some(d) = rewritten(d) {
                catalog.set("AcroForm", Object::Dict(d));
                *catalog_changed = true;
            }
        }
        Place::Indirect(r, d) => {
            if let Some(d) = rewritten(d) {
                w.object(*r, &Object::Dict(d));
            }
        }
    }
    Ok(())
}
