//! What a PDF revision holds that verification cares about: its signature
//! fields and their values, pages with their annotations, the form, and
//! the objects whose change is a matter of form filling rather than content.

use std::collections::{HashMap, HashSet};

use crate::pdf::read::{decode_text, Dict, Document, Loaded, ObjRef, Object, MAX_DEPTH};

/// Bound on fields and annotations walked, against hostile files.
const MAX_NODES: usize = 100_000;

#[derive(Debug, Clone)]
pub struct FieldNode {
    pub name: String,
    pub r: Option<ObjRef>,
    pub dict: Dict,
    /// Field type, inherited from ancestors.
    pub ft: Option<Vec<u8>>,
    /// A signature field that holds its signature (/V, here or on an
    /// ancestor): its widgets and their appearances are signed matter.
    pub signed: bool,
}

impl FieldNode {
    pub fn is_signature(&self) -> bool {
        self.ft.as_deref() == Some(b"Sig")
    }
}

/// The interesting parts of one revision.
#[derive(Debug, Default)]
pub struct Structure {
    pub root: Option<ObjRef>,
    pub catalog: Dict,
    pub acroform_ref: Option<ObjRef>,
    pub acroform: Option<Dict>,
    /// The form's /Fields array when it is an object of its own: a later
    /// signer adds its field there (Mohor and pyHanko rewrite it in place).
    pub fields_array: Option<ObjRef>,
    /// Terminal fields (and their ancestors, which carry names), by reference.
    pub fields: Vec<FieldNode>,
    /// Page references, in page order.
    pub pages: Vec<ObjRef>,
    /// Indirect /Annots arrays, with the page index they belong to.
    pub annots_arrays: HashMap<ObjRef, usize>,
    /// Content stream references, with their page index.
    pub contents: HashMap<ObjRef, usize>,
    /// Annotation references with their /Subtype.
    pub annots: HashMap<ObjRef, Vec<u8>>,
    /// Appearance streams of annotations (and their sub-dictionaries).
    pub appearances: HashSet<ObjRef>,
    /// The fields whose widgets show each appearance: name, and whether
    /// the field is a signed signature.
    pub field_appearances: HashMap<ObjRef, Vec<(String, bool)>>,
    /// Intermediate nodes of the page tree (their /Resources are inherited).
    pub page_nodes: Vec<ObjRef>,
    /// Objects of the document security store (LTV data).
    pub dss: HashSet<ObjRef>,
    pub info: Option<ObjRef>,
    pub metadata: Option<ObjRef>,
}

pub fn dict_of(l: &Loaded) -> Option<&Dict> {
    match l {
        Loaded::Object(Object::Dict(d)) => Some(d),
        Loaded::Stream(d, _) => Some(d),
        _ => None,
    }
}

impl Structure {
    pub fn read(doc: &mut Document) -> Structure {
        let mut s = Structure {
            root: doc.root_ref().ok(),
            info: doc.trailer().get("Info").and_then(Object::as_ref),
            ..Structure::default()
        };
        let Ok(catalog) = doc.catalog() else { return s };
        s.metadata = catalog.get("Metadata").and_then(Object::as_ref);
        s.acroform_ref = catalog.get("AcroForm").and_then(Object::as_ref);
        s.acroform = doc
            .resolve_dict(catalog.get("AcroForm"), "AcroForm")
            .ok()
            .flatten();
        if let Some(form) = s.acroform.clone() {
            if let Some(fields) = form.get("Fields") {
                if let Ok(Object::Array(list)) = doc.resolve(fields) {
                    s.fields_array = fields.as_ref();
                    let mut seen = HashSet::new();
                    for f in list {
                        walk_field(doc, &f, ("", None, false), 0, &mut seen, &mut s.fields);
                    }
                }
            }
        }
        if let Some(dss) = catalog.get("DSS") {
            collect_refs(doc, dss, 3, &mut s.dss);
        }
        if let Some(pages) = catalog.get("Pages").and_then(Object::as_ref) {
            let mut seen = HashSet::new();
            walk_pages(doc, pages, 0, &mut seen, &mut s.pages, &mut s.page_nodes);
        }
        for (i, p) in s.pages.clone().into_iter().enumerate() {
            let Ok(Object::Dict(page)) = doc.get(p) else {
                continue;
            };
            match page.get("Contents") {
                Some(Object::Ref(c)) => {
                    s.contents.insert(*c, i);
                    if let Ok(Object::Array(a)) = doc.get(*c) {
                        for x in a.iter().filter_map(Object::as_ref) {
                            s.contents.insert(x, i);
                        }
                    }
                }
                Some(Object::Array(a)) => {
                    for x in a.iter().filter_map(Object::as_ref) {
                        s.contents.insert(x, i);
                    }
                }
                _ => {}
            }
            if let Some(Object::Ref(a)) = page.get("Annots") {
                s.annots_arrays.insert(*a, i);
            }
            let annots = page
                .get("Annots")
                .and_then(|a| doc.resolve(a).ok())
                .and_then(|a| a.as_array().map(<[Object]>::to_vec))
                .unwrap_or_default();
            for a in annots.iter().filter_map(Object::as_ref).take(MAX_NODES) {
                let Ok(Object::Dict(ad)) = doc.get(a) else {
                    continue;
                };
                let subtype = ad
                    .get("Subtype")
                    .and_then(Object::as_name)
                    .unwrap_or_default();
                s.annots.insert(a, subtype.to_vec());
                if let Some(ap) = ad.get("AP") {
                    collect_refs(doc, ap, 2, &mut s.appearances);
                }
            }
        }
        for f in &s.fields {
            if let Some(ap) = f.dict.get("AP") {
                let mut own = HashSet::new();
                collect_refs(doc, ap, 2, &mut own);
                for r in own {
                    s.appearances.insert(r);
                    s.field_appearances
                        .entry(r)
                        .or_default()
                        .push((f.name.clone(), f.signed));
                }
            }
        }
        s.catalog = catalog;
        s
    }

    pub fn field_by_ref(&self, r: ObjRef) -> Option<&FieldNode> {
        self.fields.iter().find(|f| f.r == Some(r))
    }

    /// What the pages of this revision draw: every object reachable from
    /// the pages' /Contents and /Resources (inherited ones too), and from
    /// inside the annotations' appearance streams (their resources); and
    /// the object numbers those references — and the page's /Annots, the
    /// catalog's and the form's own — name that do not exist in this
    /// revision (a later definition of one changes the signed document).
    /// The appearance streams themselves, annotations and page
    /// dictionaries are not in it: they have roles of their own.
    pub fn drawn(&self, doc: &mut Document) -> Drawn {
        let mut d = Drawn::default();
        let mut work: Vec<Object> = Vec::new();
        for p in self.pages.iter().chain(&self.page_nodes) {
            let Ok(Object::Dict(page)) = doc.get(*p) else {
                continue;
            };
            for key in ["Contents", "Resources"] {
                work.extend(page.get(key).cloned());
            }
            // References to missing annotations are noted, not followed.
            if let Some(a) = page.get("Annots") {
                let mut refs: Vec<ObjRef> = a.as_ref().into_iter().collect();
                if let Ok(Object::Array(list)) = doc.resolve(a) {
                    refs.extend(list.iter().filter_map(Object::as_ref));
                }
                for r in refs.into_iter().filter(|r| !doc.exists(*r)) {
                    d.missing.insert(r.num);
                }
            }
        }
        // The catalog's own references (actions, names, outlines, the
        // form's fields) bind their numbers too, except those whose objects
        // may change anyway (metadata, DSS); the page tree is walked above.
        let mut direct: Vec<Object> = self
            .catalog
            .0
            .iter()
            .filter(|(k, _)| !matches!(k.as_slice(), b"Pages" | b"Metadata" | b"DSS"))
            .map(|(_, v)| v.clone())
            .collect();
        direct.extend(self.acroform.iter().map(|f| Object::Dict(f.clone())));
        while let Some(o) = direct.pop() {
            match o {
                Object::Ref(r) if !doc.exists(r) => {
                    d.missing.insert(r.num);
                }
                Object::Array(a) => direct.extend(a),
                Object::Dict(dict) => direct.extend(dict.0.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
        for r in &self.appearances {
            match doc.load(*r) {
                Ok(Loaded::Stream(sd, _)) => work.push(Object::Dict(sd)),
                Ok(_) if doc.exists(*r) => {}
                _ => {
                    d.missing.insert(r.num);
                }
            }
        }
        while let Some(o) = work.pop() {
            if d.objects.len() > MAX_NODES {
                break;
            }
            match o {
                Object::Ref(r) => {
                    if !doc.exists(r) {
                        d.missing.insert(r.num);
                        continue;
                    }
                    if !d.objects.insert(r) {
                        continue;
                    }
                    match doc.load(r) {
                        Ok(Loaded::Object(inner)) => work.push(inner),
                        Ok(Loaded::Stream(sd, _)) => work.push(Object::Dict(sd)),
                        Err(_) => {}
                    }
                }
                Object::Array(a) => work.extend(a),
                Object::Dict(dict) => work.extend(dict.0.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
        d
    }
}

/// See [`Structure::drawn`].
#[derive(Debug, Default)]
pub struct Drawn {
    pub objects: HashSet<ObjRef>,
    /// Numbers of objects referred to but absent (free or never defined).
    pub missing: HashSet<u32>,
}

fn walk_field(
    doc: &mut Document,
    o: &Object,
    (parent_name, parent_ft, parent_signed): (&str, Option<Vec<u8>>, bool),
    depth: usize,
    seen: &mut HashSet<ObjRef>,
    out: &mut Vec<FieldNode>,
) {
    if depth > MAX_DEPTH || out.len() > MAX_NODES {
        return;
    }
    let r = o.as_ref();
    if let Some(r) = r {
        if !seen.insert(r) {
            return;
        }
    }
    let Ok(Object::Dict(d)) = doc.resolve(o) else {
        return;
    };
    let part = d.get("T").and_then(Object::as_str).map(decode_text);
    let name = match (&part, parent_name.is_empty()) {
        (Some(p), true) => p.clone(),
        (Some(p), false) => format!("{parent_name}.{p}"),
        (None, _) => parent_name.to_string(),
    };
    let ft = d
        .get("FT")
        .and_then(Object::as_name)
        .map(<[u8]>::to_vec)
        .or(parent_ft);
    let kids = d.get("Kids").and_then(|k| doc.resolve(k).ok());
    let signed = parent_signed || (ft.as_deref() == Some(b"Sig") && d.get("V").is_some());
    out.push(FieldNode {
        name: name.clone(),
        r,
        dict: d.clone(),
        ft: ft.clone(),
        signed,
    });
    if let Some(Object::Array(kids)) = kids {
        for k in kids {
            let parent = (name.as_str(), ft.clone(), signed);
            walk_field(doc, &k, parent, depth + 1, seen, out);
        }
    }
}

fn walk_pages(
    doc: &mut Document,
    r: ObjRef,
    depth: usize,
    seen: &mut HashSet<ObjRef>,
    out: &mut Vec<ObjRef>,
    nodes: &mut Vec<ObjRef>,
) {
    if depth > MAX_DEPTH || out.len() > MAX_NODES || !seen.insert(r) {
        return;
    }
    let Ok(Object::Dict(d)) = doc.get(r) else {
        return;
    };
    match d.get("Kids").and_then(|k| doc.resolve(k).ok()) {
        Some(Object::Array(kids)) if !d.is_type("Page") => {
            nodes.push(r);
            for k in kids.iter().filter_map(Object::as_ref) {
                walk_pages(doc, k, depth + 1, seen, out, nodes);
            }
        }
        _ => out.push(r),
    }
}

/// Every reference reachable from `o` within `depth` levels.
fn collect_refs(doc: &mut Document, o: &Object, depth: usize, out: &mut HashSet<ObjRef>) {
    if out.len() > MAX_NODES {
        return;
    }
    match o {
        Object::Ref(r) => {
            if !out.insert(*r) || depth == 0 {
                return;
            }
            if let Ok(l) = doc.load(*r) {
                let inner = match &l {
                    Loaded::Object(o) => Some(o.clone()),
                    Loaded::Stream(..) => None,
                };
                if let Some(inner) = inner {
                    collect_refs(doc, &inner, depth - 1, out);
                }
            }
        }
        Object::Array(a) => {
            for x in a {
                collect_refs(doc, x, depth, out);
            }
        }
        Object::Dict(d) => {
            for (_, v) in &d.0 {
                collect_refs(doc, v, depth, out);
            }
        }
        _ => {}
    }
}
