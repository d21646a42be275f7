//! The Document Security Store (PAdES B-LT, ISO 32000-2 12.8.4.3): the
//! certificates, OCSP responses and CRLs a validator needs years later,
//! added in an incremental update of their own so every earlier signature
//! stays intact. An existing DSS is kept and extended.

use std::path::Path;

use sha1::Digest as _;

use super::error::PdfError;
use super::fields::Form;
use super::filters;
use super::object::{Dict, ObjRef, Object};
use super::reader::Document;
use super::update::{encrypt_as_object, trailer_info, Update};
use crate::sign::DigestAlgorithm;

/// What to add to the DSS.
#[derive(Debug, Default, Clone)]
pub struct Dss {
    pub certs: Vec<Vec<u8>>,
    pub ocsps: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    /// The `/Contents` of the signatures this evidence is about: each gets
    /// a /VRI entry naming all of it.
    pub signatures: Vec<Vec<u8>>,
}

/// What a document's security store holds (certificates, OCSP responses,
/// CRLs, decoded); empty when there is none. Unreadable entries are left out.
pub fn read_dss(doc: &mut Document) -> Dss {
    let Ok(catalog) = doc.catalog() else {
        return Dss::default();
    };
    let Ok(Some(dss)) = doc.resolve_dict(catalog.get("DSS"), "the document security store") else {
        return Dss::default();
    };
    let mut list = |key: &str| match dss.get(key).map(|o| doc.resolve(o)) {
        Some(Ok(Object::Array(a))) => stream_items(doc, &a),
        _ => Vec::new(),
    };
    Dss {
        certs: list("Certs"),
        ocsps: list("OCSPs"),
        crls: list("CRLs"),
        signatures: Vec::new(),
    }
}

/// The decoded data of the streams an array refers to.
fn stream_items(doc: &mut Document, array: &[Object]) -> Vec<Vec<u8>> {
    array
        .iter()
        .filter_map(Object::as_ref)
        .filter_map(|r| doc.stream(r, true).ok().flatten())
        .map(|(_, data)| data)
        .collect()
}

/// A signature or document time-stamp found in a file.
#[derive(Debug, Clone)]
pub struct SignatureContents {
    /// The field's fully qualified name.
    pub field_name: String,
    /// The `/Contents` string (the CMS, with the placeholder's zero padding).
    pub contents: Vec<u8>,
    pub doc_timestamp: bool,
}

/// Every signed signature field's `/Contents`, in the order of the form's
/// field list — not the order of signing: an official may sign an empty
/// field listed before one already signed. `password`
/// opens an encrypted document (user or owner; `None` tries the empty one).
pub fn signature_contents(
    input: &Path,
    password: Option<&[u8]>,
) -> Result<Vec<SignatureContents>, PdfError> {
    let mut doc = Document::open(input)?;
    doc.unlock(password)?;
    let catalog = doc.catalog()?;
    let form = Form::read(&mut doc, &catalog)?;
    let mut out = Vec::new();
    for f in form.fields.iter().filter(|f| f.is_signature() && f.signed) {
        let Some(v) = doc.resolve_dict(f.dict.get("V"), "a signature value")? else {
            continue;
        };
        let Some(contents) = v.get("Contents").and_then(Object::as_str) else {
            continue;
        };
        out.push(SignatureContents {
            field_name: f.name.clone(),
            contents: contents.to_vec(),
            doc_timestamp: v.get("Type").is_some_and(|t| t.is_name("DocTimeStamp"))
                || v.get("SubFilter")
                    .is_some_and(|t| t.is_name("ETSI.RFC3161")),
        });
    }
    Ok(out)
}

/// Copy `input` to `out` with an update adding `dss` to the document's DSS
/// (an encrypted document's new streams are encrypted with its key).
pub fn append_dss(
    input: &Path,
    password: Option<&[u8]>,
    dss: &Dss,
    out: &mut dyn std::io::Write,
) -> Result<(), PdfError> {
    let mut doc = Document::open(input)?;
    doc.unlock(password)?;
    let header = doc.source_mut().header_offset();
    let Update {
        mut w,
        trailer,
        prev_size,
        input_len,
    } = Update::begin(&mut doc)?;

    let mut catalog = doc.catalog()?;
    let old = doc
        .resolve_dict(catalog.get("DSS"), "the document security store")?
        .unwrap_or_default();
    let mut arrays = Vec::new();
    for (key, items) in [
        ("Certs", &dss.certs),
        ("OCSPs", &dss.ocsps),
        ("CRLs", &dss.crls),
    ] {
        let mut array = match old.get(key) {
            Some(o) => match doc.resolve(o)? {
                Object::Array(a) => a,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        // What the DSS already holds is not written twice (a B-LTA's second
        // DSS meets the same CRL again). Unreadable entries are kept as they are.
        let held = stream_items(&mut doc, &array);
        let mut added = Vec::new();
        for item in items.iter().filter(|i| !held.contains(i)) {
            let r = w.alloc();
            let dict = Dict::new().with("Filter", Object::name("FlateDecode"));
            w.stream(r, dict, &filters::deflate(item));
            array.push(Object::Ref(r));
            added.push(Object::Ref(r));
        }
        arrays.push((key, array, added));
    }
    let mut vri = match old.get("VRI") {
        Some(o) => doc.resolve(o)?.as_dict().cloned().unwrap_or_default(),
        None => Dict::new(),
    };
    for sig in &dss.signatures {
        let key = hex::encode_upper(sha1::Sha1::digest(sig));
        let mut entry = Dict::new().with("Type", Object::name("VRI"));
        for ((_, _, added), vri_key) in arrays.iter().zip(["Cert", "OCSP", "CRL"]) {
            if !added.is_empty() {
                entry.set(vri_key, Object::Array(added.clone()));
            }
        }
        vri.set(&key, Object::Dict(entry));
    }
    let mut new_dss = Dict::new().with("Type", Object::name("DSS"));
    for (key, array, _) in arrays {
        if !array.is_empty() {
            new_dss.set(key, Object::Array(array));
        }
    }
    if !vri.0.is_empty() {
        new_dss.set("VRI", Object::Dict(vri));
    }
    let dss_ref: ObjRef = w.alloc();
    w.object(dss_ref, &Object::Dict(new_dss));
    catalog.set("DSS", Object::Ref(dss_ref));
    let root = doc.root_ref()?;
    w.object(root, &Object::Dict(catalog));

    let id_second = {
        let mut h = DigestAlgorithm::Sha256.hasher();
        h.update(&input_len.to_be_bytes());
        h.update(b"DSS");
        h.finish()[..16].to_vec()
    };
    let mut info = trailer_info(&doc, &trailer, prev_size, root, id_second);
    encrypt_as_object(&mut w, &mut info);
    let appended = w.finish(doc.xref.kind, &info);

    let werr = |source| PdfError::Write {
        path: std::path::PathBuf::from("output"),
        source,
    };
    let mut file = doc.into_source().into_file();
    use std::io::{Read as _, Seek as _};
    file.seek(std::io::SeekFrom::Start(0))
        .map_err(|source| PdfError::Read {
            path: input.to_path_buf(),
            source,
        })?;
    let copied = std::io::copy(&mut (&mut file).take(header + input_len), out).map_err(werr)?;
    if copied != header + input_len {
        return Err(PdfError::InputChanged);
    }
    out.write_all(&appended.bytes).map_err(werr)?;
    Ok(())
}
