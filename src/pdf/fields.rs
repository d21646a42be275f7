//! The interactive form as signing sees it: where /AcroForm and /Fields
//! live, which signature fields exist and whether they are signed, and
//! whether a certification signature (DocMDP) restricts what may follow.

use std::collections::HashSet;

use super::error::PdfError;
use super::object::{decode_text, Dict, ObjRef, Object};
use super::pages;
use super::reader::Document;

/// Bounds on the field tree, against hostile or broken forms.
const MAX_FIELD_DEPTH: usize = 32;
const MAX_FIELDS: usize = 100_000;

/// Where a dictionary or array sits, which decides what a new revision rewrites.
#[derive(Clone, Debug)]
pub enum Place<T> {
    Absent,
    /// Inline in its parent (rewriting it means rewriting the parent).
    Direct(T),
    /// Its own object (rewriting it leaves the parent alone).
    Indirect(ObjRef, T),
}

impl<T> Place<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Place::Absent => None,
            Place::Direct(v) | Place::Indirect(_, v) => Some(v),
        }
    }
}

/// One terminal field (or a non-terminal one that carries /FT /Sig).
#[derive(Clone, Debug)]
pub struct Field {
    /// Fully qualified name (`parent.child`).
    pub name: String,
    pub r: ObjRef,
    pub dict: Dict,
    /// /FT, inherited from ancestors where absent.
    pub field_type: Option<Vec<u8>>,
    /// Has a value (/V): a signature field with a value is signed.
    pub signed: bool,
    /// Widget annotations: the field itself when merged, else its kids.
    pub widgets: Vec<(ObjRef, Dict)>,
}

impl Field {
    pub fn is_signature(&self) -> bool {
        self.field_type.as_deref() == Some(b"Sig")
    }
}

/// Which changes a certification signature still allows (ISO 32000-1 12.8.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocMdp {
    /// P=1: no changes at all.
    NoChanges,
    /// P=2: filling forms and signing.
    FormFilling,
    /// P=3: also annotations.
    Annotations,
}

impl DocMdp {
    pub fn level(self) -> u8 {
        match self {
            DocMdp::NoChanges => 1,
            DocMdp::FormFilling => 2,
            DocMdp::Annotations => 3,
        }
    }
}

/// A dynamic XFA form (`/NeedsRendering true` in the catalog): Adobe's form
/// engine draws its pages from the XFA's XML, and the PDF's own pages are a
/// placeholder that other viewers show instead ("Please wait…").
pub fn is_dynamic_xfa(doc: &mut Document, catalog: &Dict) -> Result<bool, PdfError> {
    match catalog.get("NeedsRendering") {
        Some(flag) => Ok(doc.resolve(flag)? == Object::Bool(true)),
        None => Ok(false),
    }
}

pub struct Form {
    pub acroform: Place<Dict>,
    pub fields_array: Place<Vec<Object>>,
    pub fields: Vec<Field>,
    pub docmdp: Option<DocMdp>,
}

impl Form {
    pub fn read(doc: &mut Document, catalog: &Dict) -> Result<Form, PdfError> {
        let acroform = match catalog.get("AcroForm") {
            None => Place::Absent,
            Some(Object::Ref(r)) => match doc.get(*r)? {
                Object::Dict(d) => Place::Indirect(*r, d),
                Object::Null => Place::Absent,
                _ => return Err(PdfError::damaged("/AcroForm is not a dictionary")),
            },
            Some(Object::Dict(d)) => Place::Direct(d.clone()),
            Some(_) => return Err(PdfError::damaged("/AcroForm is not a dictionary")),
        };
        let fields_array = match acroform.value().and_then(|a| a.get("Fields")) {
            None => Place::Absent,
            Some(Object::Ref(r)) => match doc.get(*r)? {
                Object::Array(a) => Place::Indirect(*r, a),
                Object::Null => Place::Absent,
                _ => return Err(PdfError::damaged("/AcroForm /Fields is not an array")),
            },
            Some(Object::Array(a)) => Place::Direct(a.clone()),
            Some(_) => return Err(PdfError::damaged("/AcroForm /Fields is not an array")),
        };
        let mut fields = Vec::new();
        if let Some(top) = fields_array.value() {
            let mut seen = HashSet::new();
            collect(doc, top, "", None, &[], &mut seen, &mut fields)?;
        }
        let docmdp = docmdp(doc, catalog, &fields)?;
        Ok(Form {
            acroform,
            fields_array,
            fields,
            docmdp,
        })
    }

    pub fn find(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn has_signatures(&self) -> bool {
        self.fields.iter().any(|f| f.is_signature() && f.signed)
    }

    /// `Signature1`, `Signature2`, ...: the first not taken at the top level.
    pub fn unique_name(&self) -> String {
        let taken: HashSet<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        (1..)
            .map(|i| format!("Signature{i}"))
            .find(|n| {
                !taken.contains(n.as_str())
                    && !taken.iter().any(|t| t.starts_with(&format!("{n}.")))
            })
            .unwrap_or_else(|| "Signature".into())
    }
}

fn collect(
    doc: &mut Document,
    kids: &[Object],
    parent_name: &str,
    parent_ft: Option<&[u8]>,
    ancestors: &[ObjRef],
    seen: &mut HashSet<ObjRef>,
    out: &mut Vec<Field>,
) -> Result<(), PdfError> {
    if ancestors.len() > MAX_FIELD_DEPTH {
        return Err(PdfError::damaged("the form's field tree is too deep"));
    }
    for kid in kids {
        // Validators require fields to be indirect objects; a direct one
        // (or null) is skipped rather than trusted.
        let Some(r) = kid.as_ref() else { continue };
        // A kid leading back to its own ancestor is a loop, which
        // validators refuse (pyHanko: "circular reference in form tree"),
        // so a signature on it could never be checked. A field met again
        // elsewhere — listed twice in /Fields, or the kid of two parents —
        // is read once, as pyHanko and pdf.js read it.
        if ancestors.contains(&r) {
            return Err(PdfError::damaged("the form's field tree contains a loop"));
        }
        if !seen.insert(r) {
            continue;
        }
        if seen.len() > MAX_FIELDS {
            return Err(PdfError::damaged("the form has too many fields"));
        }
        let dict = match doc.get(r)? {
            Object::Dict(d) => d,
            Object::Null => continue,
            _ => return Err(PdfError::damaged("a form field is not a dictionary")),
        };
        let Some(partial) = dict.get("T").and_then(Object::as_str) else {
            // A kid without /T is a widget of its parent, handled there.
            continue;
        };
        let partial = decode_text(partial);
        let name = if parent_name.is_empty() {
            partial
        } else {
            format!("{parent_name}.{partial}")
        };
        let ft = dict
            .get("FT")
            .and_then(Object::as_name)
            .map(<[u8]>::to_vec)
            .or_else(|| parent_ft.map(<[u8]>::to_vec));
        let kids_arr = match dict.get("Kids") {
            Some(k) => match doc.resolve(k)? {
                Object::Array(a) => a,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        // Widgets: kids without /T, or the field itself when it has no kids.
        let mut widgets = Vec::new();
        let mut child_fields = false;
        for k in &kids_arr {
            if let Some(kr) = k.as_ref() {
                if let Object::Dict(kd) = doc.get(kr)? {
                    if kd.contains("T") {
                        child_fields = true;
                    } else {
                        widgets.push((kr, kd));
                    }
                }
            }
        }
        if kids_arr.is_empty() {
            widgets.push((r, dict.clone()));
        }
        let signed = dict.contains("V");
        let is_sig = ft.as_deref() == Some(b"Sig".as_slice());
        if !child_fields || is_sig {
            out.push(Field {
                name: name.clone(),
                r,
                dict: dict.clone(),
                field_type: ft.clone(),
                signed,
                widgets,
            });
        }
        if child_fields {
            let lineage = [ancestors, &[r]].concat();
            collect(doc, &kids_arr, &name, ft.as_deref(), &lineage, seen, out)?;
        }
    }
    Ok(())
}

/// DocMDP restrictions from the catalog's /Perms, falling back to the
/// /Reference entries of existing signatures (some writers omit /Perms).
pub fn docmdp(
    doc: &mut Document,
    catalog: &Dict,
    fields: &[Field],
) -> Result<Option<DocMdp>, PdfError> {
    let perms = doc.resolve_dict(catalog.get("Perms"), "/Perms")?;
    if let Some(s) = perms.as_ref().and_then(|p| p.get("DocMDP")) {
        if let Some(sig) = doc.resolve_dict(Some(s), "the certification signature")? {
            // /Perms names it a certification signature even if the
            // reference dictionary is incomplete: P=2 is the default.
            return Ok(Some(
                docmdp_of_sig(doc, &sig)?.unwrap_or(DocMdp::FormFilling),
            ));
        }
    }
    for f in fields.iter().filter(|f| f.is_signature() && f.signed) {
        if let Some(sig) = doc.resolve_dict(f.dict.get("V"), "a signature value")? {
            if let Some(level) = docmdp_of_sig(doc, &sig)? {
                return Ok(Some(level));
            }
        }
    }
    Ok(None)
}

fn docmdp_of_sig(doc: &mut Document, sig: &Dict) -> Result<Option<DocMdp>, PdfError> {
    let refs = match sig.get("Reference") {
        Some(r) => doc.resolve(r)?,
        None => return Ok(None),
    };
    for entry in refs.as_array().unwrap_or(&[]) {
        let Some(sigref) = doc.resolve_dict(Some(entry), "a signature reference")? else {
            continue;
        };
        if !sigref
            .get("TransformMethod")
            .is_some_and(|m| m.is_name("DocMDP"))
        {
            continue;
        }
        let params = doc.resolve_dict(sigref.get("TransformParams"), "/TransformParams")?;
        let p = match params.as_ref().and_then(|p| p.get("P")) {
            Some(p) => doc.resolve(p)?.as_int().unwrap_or(2),
            None => 2,
        };
        return Ok(Some(match p {
            1 => DocMdp::NoChanges,
            3 => DocMdp::Annotations,
            _ => DocMdp::FormFilling,
        }));
    }
    Ok(None)
}

/// A widget's rectangle, normalised, or `None` when it has no area.
pub fn visible_rect(d: &Dict) -> Option<[f64; 4]> {
    pages::rect(d.get("Rect")).filter(|r| (r[2] - r[0]).abs() > 0.0 && (r[3] - r[1]).abs() > 0.0)
}

/// The fields a FieldMDP transform locks (ISO 32000-1 12.8.2.4, Table 256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lock {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl Lock {
    /// Read a lock dictionary or FieldMDP /TransformParams. An unknown
    /// /Action is read as `All`: a lock Mohor does not understand must not
    /// be taken as no lock.
    pub fn from_params(doc: &mut Document, params: &Dict) -> Result<Lock, PdfError> {
        let names = match params.get("Fields") {
            Some(f) => doc
                .resolve(f)?
                .as_array()
                .unwrap_or(&[])
                .iter()
                .filter_map(|o| o.as_str().map(decode_text))
                .collect(),
            None => Vec::new(),
        };
        Ok(match params.get("Action").and_then(Object::as_name) {
            Some(b"Include") => Lock::Include(names),
            Some(b"Exclude") => Lock::Exclude(names),
            _ => Lock::All,
        })
    }

    /// Whether field `name` is locked (a name locks its descendants too).
    pub fn covers(&self, name: &str) -> bool {
        let listed = |names: &[String]| {
            names
                .iter()
                .any(|n| name == n || name.starts_with(&format!("{n}.")))
        };
        match self {
            Lock::All => true,
            Lock::Include(names) => listed(names),
            Lock::Exclude(names) => !listed(names),
        }
    }
}

/// The locks that signed signature fields hold: the FieldMDP references of
/// their signatures, and their own /Lock dictionaries. Each comes with the
/// name of the field that holds it.
pub fn field_locks(doc: &mut Document, fields: &[Field]) -> Result<Vec<(String, Lock)>, PdfError> {
    let mut out = Vec::new();
    for f in fields.iter().filter(|f| f.is_signature() && f.signed) {
        if let Some(lock) = doc.resolve_dict(f.dict.get("Lock"), "a signature field's /Lock")? {
            out.push((f.name.clone(), Lock::from_params(doc, &lock)?));
        }
        let Some(sig) = doc.resolve_dict(f.dict.get("V"), "a signature value")? else {
            continue;
        };
        let refs = match sig.get("Reference") {
            Some(r) => doc.resolve(r)?,
            None => continue,
        };
        for entry in refs.as_array().unwrap_or(&[]) {
            let Some(sigref) = doc.resolve_dict(Some(entry), "a signature reference")? else {
                continue;
            };
            if !sigref
                .get("TransformMethod")
                .is_some_and(|m| m.is_name("FieldMDP"))
            {
                continue;
            }
            let params = doc
                .resolve_dict(sigref.get("TransformParams"), "/TransformParams")?
                .unwrap_or_default();
            out.push((f.name.clone(), Lock::from_params(doc, &params)?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_cover_listed_fields_and_their_kids() {
        let inc = Lock::Include(vec!["a".into(), "b.c".into()]);
        assert!(inc.covers("a") && inc.covers("a.x") && inc.covers("b.c"));
        assert!(!inc.covers("ab") && !inc.covers("b"));
        let exc = Lock::Exclude(vec!["Sig2".into()]);
        assert!(exc.covers("Sig3") && !exc.covers("Sig2"));
        assert!(Lock::All.covers("anything"));
    }
}
