//! [`inspect`]: what a PDF holds that matters before signing it.

use std::path::Path;

use super::error::PdfError;
use super::fields::{self, DocMdp, Form};
use super::options::{PdfInfo, PdfPassword, SignatureFieldInfo};
use super::reader::Document;

/// Page count, signature fields, certification and encryption of a PDF.
pub fn inspect(input: &Path) -> Result<PdfInfo, PdfError> {
    inspect_with_password(input, None)
}

/// [`inspect`], opening an encrypted PDF with `password` (so its fields
/// can be read). A wrong password is an error; no password opens it with
/// the empty user password if that works, else gives what can be seen
/// without one.
pub fn inspect_with_password(
    input: &Path,
    password: Option<&PdfPassword>,
) -> Result<PdfInfo, PdfError> {
    let mut doc = Document::open(input)?;
    let encrypted = doc.is_encrypted();
    // Without a password, the empty user password may still open it.
    let opened = match doc.unlock(password.map(PdfPassword::as_bytes)) {
        Ok(()) => true,
        Err(_) if password.is_none() => false,
        Err(e) => return Err(e),
    };
    if !opened {
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
