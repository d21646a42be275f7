//! Scripts a PDF runs on its own: read by `verify` (a warning beside the
//! verdicts) and by preflight (a warning in the consent dialog), so both
//! tell people about the same scripts.

use super::object::{Dict, Object};
use super::reader::Document;

/// How many actions (open action, document actions and their `/Next`
/// chains) are looked at before giving up on a hostile file.
const MAX_ACTIONS: usize = 64;

/// JavaScript that runs without anyone touching a field: the open action
/// (or an action it chains to with `/Next`), the document's own actions
/// (`/AA`: before closing, saving, printing) and named scripts
/// (`/Names /JavaScript`, run at open). Field scripts are left out on
/// purpose: most government forms format and check their fields with them,
/// and a warning on every such form would teach people to ignore warnings.
/// Page open actions are not looked for: that means reading every page.
pub fn has_document_javascript(doc: &mut Document, catalog: &Dict) -> bool {
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
