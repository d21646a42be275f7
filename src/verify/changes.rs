//! What changed in the revisions after a signature, judged like a PDF
//! reader: filling in form fields, adding signatures, annotations (as the
//! certification level allows) and LTV data are acceptable; anything else
//! (page content, pages, other objects) is illegal and named.

use std::collections::HashSet;

use super::report::Modifications;
use super::structure::{dict_of, Drawn, FieldNode, Structure};
use crate::pdf::read::{Dict, Document, Entry, Loaded, ObjRef, Object};

/// More changed objects than this is not form filling: stop listing.
const MAX_LISTED: usize = 20;

/// The rules that apply after one signature.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// DocMDP level of the document's certification (1, 2, 3), if certified.
    pub docmdp: Option<u8>,
    /// FieldMDP locks of this and earlier signatures.
    pub locks: Vec<FieldLock>,
}

#[derive(Debug, Clone)]
pub enum FieldLock {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl FieldLock {
    pub fn from_dict(d: &Dict) -> Option<FieldLock> {
        let names = || -> Vec<String> {
            d.get("Fields")
                .and_then(Object::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Object::as_str)
                        .map(crate::pdf::read::decode_text)
                        .collect()
                })
                .unwrap_or_default()
        };
        match d.get("Action").and_then(Object::as_name)? {
            b"All" => Some(FieldLock::All),
            b"Include" => Some(FieldLock::Include(names())),
            b"Exclude" => Some(FieldLock::Exclude(names())),
            _ => None,
        }
    }

    fn locks(&self, field: &str) -> bool {
        match self {
            FieldLock::All => true,
            FieldLock::Include(n) => n.iter().any(|x| x == field),
            FieldLock::Exclude(n) => !n.iter().any(|x| x == field),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    pub level: Modifications,
    pub items: Vec<String>,
}

struct Judge<'a> {
    policy: &'a Policy,
    /// The signed revision: what an object *was* decides what it may
    /// become, never what a later revision calls it.
    old: &'a Structure,
    new: &'a Structure,
    /// What the signed revision's pages draw.
    drawn: &'a Drawn,
    level: Modifications,
    items: Vec<String>,
    illegal_count: usize,
}

impl Judge<'_> {
    fn allow(&mut self, what: String) {
        if self.level < Modifications::Acceptable {
            self.level = Modifications::Acceptable;
        }
        if self.items.len() < MAX_LISTED && !self.items.contains(&what) {
            self.items.push(what);
        }
    }
    fn illegal(&mut self, what: String) {
        self.level = Modifications::Illegal;
        self.illegal_count += 1;
        if self.items.len() < MAX_LISTED {
            self.items.push(format!("not allowed: {what}"));
        }
    }
    fn no_changes_allowed(&self) -> bool {
        self.policy.docmdp == Some(1)
    }
    fn annotations_allowed(&self) -> bool {
        matches!(self.policy.docmdp, None | Some(3))
    }
    fn locked(&self, field: &str) -> bool {
        self.policy.locks.iter().any(|l| l.locks(field))
    }
}

/// Compare the document as signed (`old`, the signed prefix of the file)
/// with the whole file (`new`).
pub fn analyze(old: &mut Document, new: &mut Document, policy: &Policy) -> Changes {
    let so = Structure::read(old);
    let sn = Structure::read(new);
    let drawn = so.drawn(old);
    // The object streams the signed revision really keeps objects in.
    let old_objstms: HashSet<u32> = old
        .xref
        .entries
        .values()
        .filter_map(|e| match e {
            Entry::InStream { stream, .. } => Some(*stream),
            _ => None,
        })
        .collect();
    let mut j = Judge {
        policy,
        old: &so,
        new: &sn,
        drawn: &drawn,
        level: Modifications::None,
        items: Vec::new(),
        illegal_count: 0,
    };
    // Every object of either revision: one the new cross-reference data
    // no longer locates (a section without /Prev) is gone for readers.
    let mut nums: Vec<u32> = new
        .xref
        .entries
        .keys()
        .chain(old.xref.entries.keys())
        .copied()
        .collect();
    nums.sort_unstable();
    nums.dedup();
    for num in nums {
        let oe = old.xref.entries.get(&num).copied();
        let ne = new.xref.entries.get(&num).copied().unwrap_or(Entry::Free);
        let gen = |e: Entry| match e {
            Entry::InFile { gen, .. } => gen,
            _ => 0,
        };
        match (oe, ne) {
            (_, Entry::Free) => {
                if let Some(o) = oe.filter(|o| *o != Entry::Free) {
                    let r = ObjRef::new(num, gen(o));
                    let container = old.load(r).ok().is_some_and(|l| is_container(&l));
                    if !container {
                        j.illegal(format!("object {num} was deleted"));
                    }
                }
            }
            (Some(o), n) if o == n && !matches!(n, Entry::InStream { .. }) => {}
            (None | Some(Entry::Free), _) => {
                // A new object matters only through what refers to it,
                // unless the signed pages already referred to it: then
                // defining it changes what they draw.
                if j.drawn.missing.contains(&num) {
                    j.illegal(format!(
                        "object {num}, which the signed revision refers to but did not have, was added"
                    ));
                }
            }
            (Some(o), n) => {
                let or = ObjRef::new(num, gen(o));
                let nr = ObjRef::new(num, gen(n));
                let (Ok(ol), Ok(nl)) = (old.load(or), new.load(nr)) else {
                    j.illegal(format!("object {num} cannot be read"));
                    continue;
                };
                // Only a real container of the signed revision (an xref
                // stream, an object stream its xref keeps objects in) may
                // be replaced unseen: its members are judged one by one.
                let real_container = match dict_of(&ol) {
                    Some(d) if d.is_type("XRef") => true,
                    Some(d) if d.is_type("ObjStm") => old_objstms.contains(&num),
                    _ => false,
                };
                if same(&ol, &nl, old, new) || (real_container && is_container(&nl)) {
                    continue;
                }
                // Its role is the signed object's, whatever generation the new one claims.
                judge_object(&mut j, or, &ol, &nl, old, new);
            }
        }
    }
    // A new catalog object (a changed /Root) is judged against the old one.
    if let (Some(o), Some(n)) = (so.root, sn.root) {
        if o.num != n.num {
            let oc = Loaded::Object(Object::Dict(so.catalog.clone()));
            let nc = Loaded::Object(Object::Dict(sn.catalog.clone()));
            judge_catalog(&mut j, &oc, &nc, old, new);
        }
    }
    if j.illegal_count > MAX_LISTED {
        j.items
            .push(format!("… {} changes in all", j.illegal_count));
    }
    Changes {
        level: j.level,
        items: j.items,
    }
}

fn is_container(l: &Loaded) -> bool {
    dict_of(l).is_some_and(|d| d.is_type("XRef") || d.is_type("ObjStm"))
}

/// The raw (undecoded) length of a stream, from its dictionary.
fn stream_len(d: &Dict, doc: &mut Document) -> Option<u64> {
    d.get("Length")
        .and_then(|l| doc.resolve(l).ok())
        .and_then(|l| l.as_int())
        .and_then(|l| u64::try_from(l).ok())
}

fn is_pdf_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

/// How many raw bytes of a stream readers take: its /Length when
/// `endstream` follows them (after white space), else everything up to
/// the first `endstream` (less the end of line before it), as poppler and
/// qpdf recover it. A /Length that stops short of `endstream` must not
/// hide what follows it. `None`: no `endstream` within bounds.
fn stream_extent(d: &Dict, start: u64, doc: &mut Document) -> Option<u64> {
    const PIECE: usize = 1 << 16;
    /// As far as the reader looks for `endstream` (its largest stream).
    const MAX_SCAN: u64 = 48 << 20;
    const KEYWORD: &[u8] = b"endstream";
    if let Some(len) = stream_len(d, doc) {
        let after = start
            .checked_add(len)
            .and_then(|at| doc.source_mut().read_at(at, 32).ok())
            .unwrap_or_default();
        let ws = after.iter().take_while(|c| is_pdf_space(**c)).count();
        if after[ws..].starts_with(KEYWORD) {
            return Some(len);
        }
    }
    // Scan a piece at a time, keeping only the few bytes a keyword cut in
    // two needs.
    let mut carry: Vec<u8> = Vec::new();
    let mut pos = start;
    while pos - start <= MAX_SCAN {
        let piece = doc.source_mut().read_at(pos, PIECE).ok()?;
        if piece.is_empty() {
            return None;
        }
        let base = pos - carry.len() as u64;
        let mut buf = std::mem::take(&mut carry);
        buf.extend_from_slice(&piece);
        pos += piece.len() as u64;
        if let Some(i) = buf.windows(KEYWORD.len()).position(|w| w == KEYWORD) {
            let mut end = i;
            if end > 0 && buf[end - 1] == b'\n' {
                end -= 1;
            }
            if end > 0 && buf[end - 1] == b'\r' {
                end -= 1;
            }
            return Some((base + end as u64).saturating_sub(start));
        }
        let keep = buf.len().saturating_sub(KEYWORD.len() + 2);
        carry = buf[keep..].to_vec();
    }
    None
}

/// Whether two streams hold the same raw bytes, as readers take them,
/// compared a piece at a time (a scanned page may be tens of MB).
fn same_stream_data(
    (da, sa, od): (&Dict, u64, &mut Document),
    (db, sb, nd): (&Dict, u64, &mut Document),
) -> bool {
    const PIECE: u64 = 1 << 20;
    let (Some(len), Some(len_b)) = (stream_extent(da, sa, od), stream_extent(db, sb, nd)) else {
        return false;
    };
    if len != len_b {
        return false;
    }
    let mut done = 0;
    while done < len {
        let n = (len - done).min(PIECE) as usize;
        let a = od.source_mut().read_at(sa + done, n);
        let b = nd.source_mut().read_at(sb + done, n);
        match (a, b) {
            // Both end early (a /Length past the end of the file) alike.
            (Ok(a), Ok(b)) if a == b && a.len() < n => return true,
            (Ok(a), Ok(b)) if a == b => done += n as u64,
            _ => return false,
        }
    }
    true
}

fn same(o: &Loaded, n: &Loaded, od: &mut Document, nd: &mut Document) -> bool {
    match (o, n) {
        (Loaded::Object(a), Loaded::Object(b)) => same_value(a, b),
        (Loaded::Stream(da, sa), Loaded::Stream(db, sb)) => {
            same_dict(da, db) && same_stream_data((da, *sa, od), (db, *sb, nd))
        }
        _ => false,
    }
}

/// Equal as PDF values: dictionaries compare by key, whatever the order
/// a writer put the keys in.
fn same_value(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Dict(x), Object::Dict(y)) => same_dict(x, y),
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        (Object::Real(x), Object::Real(y)) => {
            x == y || x.parse::<f64>().ok() == y.parse::<f64>().ok()
        }
        (Object::Real(r), Object::Int(i)) | (Object::Int(i), Object::Real(r)) => {
            r.parse::<f64>().ok() == Some(*i as f64)
        }
        _ => a == b,
    }
}

fn same_dict(a: &Dict, b: &Dict) -> bool {
    changed_keys(a, b).is_empty()
}

/// Keys whose value differs between two dictionaries.
fn changed_keys(a: &Dict, b: &Dict) -> Vec<String> {
    let mut keys: Vec<&Vec<u8>> =
        a.0.iter()
            .map(|(k, _)| k)
            .chain(b.0.iter().map(|(k, _)| k))
            .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| {
            let k = String::from_utf8_lossy(k);
            match (a.get(&k), b.get(&k)) {
                (Some(x), Some(y)) => !same_value(x, y),
                (None, None) => false,
                _ => true,
            }
        })
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

fn judge_object(
    j: &mut Judge<'_>,
    r: ObjRef,
    ol: &Loaded,
    nl: &Loaded,
    od: &mut Document,
    nd: &mut Document,
) {
    // Every role below is the one the object had in the signed revision:
    // a later revision cannot relabel a drawn object as metadata, DSS or
    // an appearance and so make its change acceptable.
    let num = r.num;
    if Some(r) == j.old.root {
        return judge_catalog(j, ol, nl, od, nd);
    }
    if let Some(&page) = j.old.contents.get(&r) {
        return j.illegal(format!("the content of page {} was changed", page + 1));
    }
    let (Some(odict), Some(ndict)) = (dict_of(ol), dict_of(nl)) else {
        // Arrays and plain values: an /Annots array, or something else.
        if let Some(&page) = j.old.annots_arrays.get(&r) {
            let (Loaded::Object(Object::Array(a)), Loaded::Object(Object::Array(b))) = (ol, nl)
            else {
                return j.illegal(format!(
                    "the annotations of page {} were replaced",
                    page + 1
                ));
            };
            return judge_annots(j, page, a, b, nd);
        }
        if Some(r) == j.old.fields_array {
            let (Loaded::Object(Object::Array(a)), Loaded::Object(Object::Array(b))) = (ol, nl)
            else {
                return j.illegal("the form's list of fields was replaced".into());
            };
            // The same array could also be named elsewhere (a page tree's
            // /Kids): a change to it must not move pages.
            if j.new.pages != j.old.pages {
                return j.illegal(format!(
                    "object {num}, the form's list of fields, was changed and the pages with it"
                ));
            }
            return judge_field_list(j, a, b);
        }
        return j.illegal(format!("object {num} was changed"));
    };
    if let Some(key) = duplicate_key(ndict) {
        // Mohor reads the last of two equal keys; nothing makes every
        // reader do the same (pyHanko refuses such a file), so what is
        // judged need not be what is shown.
        return j.illegal(format!("object {num} was changed and names /{key} twice"));
    }
    if let Some(page) = j.old.pages.iter().position(|p| *p == r) {
        return judge_page(j, page, odict, ndict, od, nd);
    }
    if j.drawn.objects.contains(&r) {
        return j.illegal(format!(
            "object {num}, which the signed pages draw, was changed"
        ));
    }
    if Some(r) == j.old.acroform_ref {
        return judge_acroform(j, odict, ndict, od, nd);
    }
    if Some(r) == j.old.info || Some(r) == j.old.metadata {
        return j.allow("document information (metadata) updated".into());
    }
    if j.old.dss.contains(&r) {
        return j.allow("validation data (DSS) updated".into());
    }
    if [odict, ndict]
        .iter()
        .any(|d| d.is_type("Sig") || d.is_type("DocTimeStamp"))
    {
        return j.illegal(format!("signature dictionary {num} was changed"));
    }
    if let Some(field) = j.old.field_by_ref(r).cloned() {
        return judge_field(j, &field, odict, ndict);
    }
    if odict.get("Subtype").and_then(Object::as_name) == Some(b"Widget") {
        // A widget merged into nothing we know as a field.
        let widget = FieldNode {
            name: format!("widget {num}"),
            r: Some(r),
            dict: odict.clone(),
            ft: None,
            signed: false,
        };
        return judge_field(j, &widget, odict, ndict);
    }
    if j.old.annots.contains_key(&r) {
        return if j.annotations_allowed() {
            j.allow(format!("annotation {num} changed"))
        } else {
            j.illegal(format!("annotation {num} changed"))
        };
    }
    if j.old.appearances.contains(&r) {
        return judge_appearance(j, r);
    }
    let what = ndict
        .get("Type")
        .and_then(Object::as_name)
        .map(|t| format!(" (/{})", String::from_utf8_lossy(t)))
        .unwrap_or_default();
    j.illegal(format!("object {num}{what} was changed"))
}

/// An appearance stream (or appearance sub-dictionary) of the signed
/// revision rewritten in place: form filling may redraw an unlocked
/// field; a signed signature's stamp and a locked field's look are signed
/// matter; other annotations' looks change only where annotations may.
fn judge_appearance(j: &mut Judge<'_>, r: ObjRef) {
    let num = r.num;
    if j.no_changes_allowed() {
        return j.illegal(format!("appearance stream {num} changed"));
    }
    let owners = j.old.field_appearances.get(&r).cloned().unwrap_or_default();
    for (name, signed) in &owners {
        if *signed {
            return j.illegal(format!(
                "the appearance of signed signature {name} was changed"
            ));
        }
        if j.locked(name) {
            return j.illegal(format!(
                "the appearance of field {name} was changed although a signature locks it"
            ));
        }
    }
    if owners.is_empty() && !j.annotations_allowed() {
        return j.illegal(format!(
            "appearance stream {num} of an annotation changed (the certification does not allow annotations)"
        ));
    }
    j.allow(format!("appearance stream {num} updated"))
}

fn judge_catalog(
    j: &mut Judge<'_>,
    ol: &Loaded,
    nl: &Loaded,
    od: &mut Document,
    nd: &mut Document,
) {
    let (Some(o), Some(n)) = (dict_of(ol), dict_of(nl)) else {
        return j.illegal("the document catalog was replaced".into());
    };
    for key in changed_keys(o, n) {
        match key.as_str() {
            "AcroForm" => {
                // Another form object is judged against the signed one.
                let a = od
                    .resolve_dict(o.get("AcroForm"), "AcroForm")
                    .ok()
                    .flatten();
                let b = nd
                    .resolve_dict(n.get("AcroForm"), "AcroForm")
                    .ok()
                    .flatten();
                match (a, b) {
                    (Some(a), Some(b)) => judge_acroform(j, &a, &b, od, nd),
                    (None, Some(_)) => j.allow("the form was added to the catalog".into()),
                    _ => j.illegal("the form was removed from the catalog".into()),
                }
            }
            "DSS" => j.allow("validation data (DSS) added".into()),
            // The declared PDF version (a later writer raises it: pyHanko
            // writes /Version /2.0) and the tagged-PDF marks change no page.
            "Extensions" | "Metadata" | "Version" | "MarkInfo" => {
                j.allow(format!("catalog /{key} updated"))
            }
            "Perms" if !j.no_changes_allowed() => {
                // Usage rights may come and go; the certification may not.
                let docmdp = |d: &Dict, doc: &mut Document| {
                    doc.resolve_dict(d.get("Perms"), "Perms")
                        .ok()
                        .flatten()
                        .and_then(|p| p.get("DocMDP").cloned())
                };
                let before = docmdp(o, od);
                let after = docmdp(n, nd);
                if before.is_some() && before != after {
                    j.illegal("the certification was removed from the catalog's /Perms".into());
                } else if after.is_some() && before != after {
                    j.illegal("a certification was added to the catalog's /Perms".into());
                } else {
                    j.allow("usage rights updated".into());
                }
            }
            _ => j.illegal(format!("the document catalog's /{key} was changed")),
        }
    }
}

fn judge_acroform(j: &mut Judge<'_>, o: &Dict, n: &Dict, od: &mut Document, nd: &mut Document) {
    for key in changed_keys(o, n) {
        match key.as_str() {
            "Fields" => {
                let list = |d: &Dict, doc: &mut Document| -> Vec<Object> {
                    d.get("Fields")
                        .and_then(|f| doc.resolve(f).ok())
                        .and_then(|f| f.as_array().map(<[Object]>::to_vec))
                        .unwrap_or_default()
                };
                let before = list(o, od);
                let after = list(n, nd);
                judge_field_list(j, &before, &after);
            }
            "SigFlags" | "DR" | "DA" | "Q" | "NeedAppearances" if !j.no_changes_allowed() => {
                j.allow(format!("form /{key} updated"))
            }
            _ => j.illegal(format!("the form's /{key} was changed")),
        }
    }
}

/// The form's list of fields, before and after: only signature fields
/// may be added (where the certification allows), none removed.
fn judge_field_list(j: &mut Judge<'_>, before: &[Object], after: &[Object]) {
    for f in before {
        if !after.contains(f) {
            j.illegal("a form field was removed".into());
        }
    }
    for f in after.iter().filter(|f| !before.contains(f)) {
        let field = f.as_ref().and_then(|r| j.new.field_by_ref(r)).cloned();
        match field {
            Some(fl) if fl.is_signature() && !j.no_changes_allowed() => {
                j.allow(format!("signature field {} added", fl.name))
            }
            Some(fl) => j.illegal(format!("form field {} was added", fl.name)),
            None => j.illegal("an unreadable form field was added".into()),
        }
    }
}

fn judge_page(
    j: &mut Judge<'_>,
    page: usize,
    o: &Dict,
    n: &Dict,
    od: &mut Document,
    nd: &mut Document,
) {
    for key in changed_keys(o, n) {
        if key != "Annots" {
            j.illegal(format!("page {}: /{key} was changed", page + 1));
            continue;
        }
        let resolve = |d: &Dict, doc: &mut Document| -> Vec<Object> {
            d.get("Annots")
                .and_then(|a| doc.resolve(a).ok())
                .and_then(|a| a.as_array().map(<[Object]>::to_vec))
                .unwrap_or_default()
        };
        let before = resolve(o, od);
        let after = resolve(n, nd);
        judge_annots(j, page, &before, &after, nd);
    }
}

fn judge_annots(
    j: &mut Judge<'_>,
    page: usize,
    before: &[Object],
    after: &[Object],
    nd: &mut Document,
) {
    if before.iter().any(|a| !after.contains(a)) {
        j.illegal(format!("an annotation was removed from page {}", page + 1));
    }
    for a in after.iter().filter(|a| !before.contains(a)) {
        let d = nd
            .resolve(a)
            .ok()
            .and_then(|o| o.as_dict().cloned())
            .unwrap_or_default();
        let subtype = d
            .get("Subtype")
            .and_then(Object::as_name)
            .unwrap_or_default()
            .to_vec();
        if subtype == b"Widget" {
            // The field a widget belongs to: itself (merged), or its /Parent.
            let field_in = |s: &Structure| {
                a.as_ref()
                    .and_then(|r| s.field_by_ref(r))
                    .or_else(|| {
                        d.get("Parent")
                            .and_then(Object::as_ref)
                            .and_then(|p| s.field_by_ref(p))
                    })
                    .cloned()
            };
            let field = field_in(j.new);
            // A widget added to a signature signed already is a second
            // stamp for a signature that did not sign it.
            let signed_before = field_in(j.old).filter(|f| f.signed);
            if let Some(f) = signed_before {
                j.illegal(format!(
                    "a widget was added on page {} to signature {}, signed already",
                    page + 1,
                    f.name
                ));
                continue;
            }
            match field {
                // A certification allows signing, not a new visible stamp
                // drawn over the certified page (pyHanko's rule too; Mohor
                // refuses to sign one).
                Some(f) if f.is_signature() && j.policy.docmdp.is_some() && visible(&d, nd) => j
                    .illegal(format!(
                        "a visible signature field {} was added on page {} after certification",
                        f.name,
                        page + 1
                    )),
                Some(f) if f.is_signature() && !j.no_changes_allowed() => j.allow(format!(
                    "signature widget for {} added on page {}",
                    f.name,
                    page + 1
                )),
                Some(f) => j.illegal(format!(
                    "form field {} was added on page {}",
                    f.name,
                    page + 1
                )),
                None => j.illegal(format!("a widget was added on page {}", page + 1)),
            }
        } else if j.annotations_allowed() {
            j.allow(format!(
                "{} annotation added on page {}",
                String::from_utf8_lossy(&subtype),
                page + 1
            ));
        } else {
            j.illegal(format!(
                "{} annotation added on page {} (the certification does not allow annotations)",
                String::from_utf8_lossy(&subtype),
                page + 1
            ));
        }
    }
}

/// A key a dictionary holds twice, if any.
fn duplicate_key(d: &Dict) -> Option<String> {
    let mut seen = HashSet::new();
    d.0.iter()
        .find(|(k, _)| !seen.insert(k.as_slice()))
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
}

/// Whether an annotation covers any area of its page (one that names a
/// key twice may, for some reader).
fn visible(annot: &Dict, doc: &mut Document) -> bool {
    if duplicate_key(annot).is_some() {
        return true;
    }
    let rect = annot.get("Rect").and_then(|r| doc.resolve(r).ok());
    match crate::pdf::read::rect(rect.as_ref()) {
        Some([x1, y1, x2, y2]) => (x2 - x1) * (y2 - y1) > 0.0,
        // An unreadable rectangle: assume it shows.
        None => true,
    }
}

fn judge_field(j: &mut Judge<'_>, field: &FieldNode, o: &Dict, n: &Dict) {
    let name = field.name.as_str();
    let signature = field.is_signature();
    let keys = changed_keys(o, n);
    let mut fill_keys: HashSet<&str> = ["V", "AP", "AS", "MK"].into_iter().collect();
    if signature {
        // Signing a field may also set its widget's print flag.
        fill_keys.insert("F");
    }
    if keys.iter().any(|k| !fill_keys.contains(k.as_str())) {
        let odd: Vec<String> = keys
            .iter()
            .filter(|k| !fill_keys.contains(k.as_str()))
            .map(|k| format!("/{k}"))
            .collect();
        return j.illegal(format!("field {name}: {} changed", odd.join(", ")));
    }
    if j.no_changes_allowed() {
        return j.illegal(format!(
            "field {name} changed in a document certified with no changes allowed"
        ));
    }
    if signature {
        if field.signed {
            // Signed already: its value and its stamp are what was signed.
            return if keys.iter().any(|k| k == "V") {
                j.illegal(format!(
                    "signature field {name} was re-signed (its earlier signature replaced)"
                ))
            } else {
                j.illegal(format!(
                    "the appearance of signed signature {name} was changed"
                ))
            };
        }
        return j.allow(format!("signature field {name} signed"));
    }
    if j.locked(name) {
        // A lock covers what the field shows, not only its value.
        return j.illegal(format!(
            "field {name} was changed although a signature locks it"
        ));
    }
    j.allow(format!("form field {name} filled in"))
}
