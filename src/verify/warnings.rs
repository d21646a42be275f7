//! What a reader should know about a signed PDF as a whole, beside the
//! verdict on each signature: ways its pages can show something other than
//! a plain rendering of the signed bytes. They change no verdict and no
//! exit code; the report lists them under `warnings`.

use crate::pdf::read::{is_dynamic_xfa, Dict, Document, Object};

/// How many actions (open action, document actions and their `/Next`
/// chains) are looked at before giving up on a hostile file.
const MAX_ACTIONS: usize = 64;

/// A dynamic XFA form is signed bytes like any other (the XML a person read
/// in Adobe's viewer is inside them), but no viewer shows the signatures
/// over that form: Adobe draws the XML, every other viewer a placeholder
/// page. Mohor refuses to sign one.
const DYNAMIC_XFA: &str = "the PDF is a dynamic XFA form: Adobe's viewers draw its \
pages from the form's XML and other viewers show a placeholder page, so no viewer shows these \
signatures over what was read; the signatures cover that XML, but check the form's content in \
a viewer that renders XFA";

/// A script is signed too, but what it shows can depend on the day, the
/// viewer or a click, so two people may see different things in the same
/// intact document.
const DOCUMENT_SCRIPTS: &str = "the PDF carries document-level JavaScript (run when it is \
opened, saved or printed): a viewer that runs it may show something other than what the signer \
saw, and the signatures stay intact; read the scripts (`pdfinfo -js`) or open the file with \
JavaScript turned off";

pub fn document_warnings(doc: &mut Document) -> Vec<String> {
    let Ok(catalog) = doc.catalog() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if is_dynamic_xfa(doc, &catalog).unwrap_or(false) {
        out.push(DYNAMIC_XFA.to_owned());
    }
    if has_document_scripts(doc, &catalog) {
        out.push(DOCUMENT_SCRIPTS.to_owned());
    }
    out
}

/// JavaScript that runs without anyone touching a field: the open action
/// (or an action it chains to with `/Next`), the document's own actions
/// (`/AA`: before closing, saving, printing) and named scripts
/// (`/Names /JavaScript`, run at open). Field scripts are left out on
/// purpose: most government forms format and check their fields with them,
/// and a warning on every such form would teach people to ignore warnings.
fn has_document_scripts(doc: &mut Document, catalog: &Dict) -> bool {
    if has_named_scripts(doc, catalog) {
        return true;
    }
    let mut pending: Vec<Object> = catalog.get("OpenAction").into_iter().cloned().collect();
    if let Ok(Some(actions)) = doc.resolve_dict(catalog.get("AA"), "AA") {
        pending.extend(actions.0.into_iter().map(|(_, a)| a));
    }
    let mut looked = 0;
    while let Some(action) = pending.pop() {
        looked += 1;
        if looked > MAX_ACTIONS {
            break;
        }
        // An open action may also be a destination (an array): no script.
        let Ok(Object::Dict(action)) = doc.resolve(&action) else {
            continue;
        };
        if action.get("S").is_some_and(|s| s.is_name("JavaScript")) {
            return true;
        }
        match action.get("Next").map(|n| doc.resolve(n)) {
            Some(Ok(Object::Array(next))) => pending.extend(next),
            Some(Ok(next @ Object::Dict(_))) => pending.push(next),
            _ => {}
        }
    }
    false
}

/// A `/JavaScript` name tree with any entry or child in it.
fn has_named_scripts(doc: &mut Document, catalog: &Dict) -> bool {
    let Ok(Some(names)) = doc.resolve_dict(catalog.get("Names"), "Names") else {
        return false;
    };
    let Ok(Some(tree)) = doc.resolve_dict(names.get("JavaScript"), "JavaScript") else {
        return false;
    };
    ["Names", "Kids"].iter().any(|key| {
        tree.get(key)
            .map(|o| doc.resolve(o))
            .is_some_and(|o| matches!(o, Ok(Object::Array(a)) if !a.is_empty()))
    })
}
