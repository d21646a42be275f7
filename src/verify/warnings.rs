//! What a reader should know about a signed PDF as a whole, beside the
//! verdict on each signature: ways its pages can show something other than
//! a plain rendering of the signed bytes. They change no verdict and no
//! exit code; the report lists them under `warnings`.

use crate::pdf::read::{has_document_javascript, is_dynamic_xfa, Document};

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
    if has_document_javascript(doc, &catalog) {
        out.push(DOCUMENT_SCRIPTS.to_owned());
    }
    out
}
