//! XFA forms as LiveCycle makes them, hybrid and dynamic, and poppler's
//! word for what kind of form a file is.

use std::path::Path;

use super::common::{self, text};
use super::FIXED_ID;

/// An XFA packet as LiveCycle-made forms carry it (template and data).
pub const XDP: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?><xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/">"#,
    r#"<template xmlns="http://www.xfa.org/schema/xfa-template/3.3/"><subform name="form1">"#,
    r#"<field name="applicant"/></subform></template>"#,
    r#"<xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data><form1>"#,
    r#"<applicant>Sumita Das</applicant></form1></xfa:data></xfa:datasets></xdp:xdp>"#
);

/// A form that carries XFA beside its AcroForm: a hybrid one (its page and
/// field drawn in PDF too), or with `dynamic` one whose page is only the
/// placeholder Adobe's engine replaces (`/NeedsRendering true`).
pub fn xfa_form(path: &Path, acroform_in_catalog: bool, dynamic: bool) {
    let needs = if dynamic { " /NeedsRendering true" } else { "" };
    let fields = if dynamic { "" } else { "5 0 R" };
    let acroform = format!("<< /Fields [{fields}] /XFA 6 0 R >>");
    let (catalog_form, object_4) = if acroform_in_catalog {
        (acroform, "null".to_string())
    } else {
        ("4 0 R".to_string(), acroform)
    };
    let page_text = if dynamic {
        "Please wait... If this message is not eventually replaced, your viewer cannot show this form."
    } else {
        "Application for Trade Licence"
    };
    let content = format!("BT /F1 12 Tf 36 800 Td ({page_text}) Tj ET");
    let objects = [
        format!("<< /Type /Catalog /Pages 2 0 R /AcroForm {catalog_form}{needs} >>"),
        "<< /Type /Pages /Count 1 /Kids [3 0 R] >>".to_string(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 7 0 R \
             /Resources << /Font << /F1 8 0 R >> >>{} >>",
            if dynamic { "" } else { " /Annots [5 0 R]" }
        ),
        object_4,
        "<< /Type /Annot /Subtype /Widget /FT /Tx /T (applicant) /V (Sumita Das) /P 3 0 R \
         /Rect [36 700 300 720] /F 4 >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{XDP}\nendstream", XDP.len()),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    std::fs::write(path, common::classic_pdf(b"%PDF-1.7\n", &objects, FIXED_ID)).unwrap();
}

/// poppler's word for the form: `AcroForm`, `XFA` or `none`.
pub fn poppler_form_kind(file: &Path) -> String {
    let out = common::run(std::process::Command::new("pdfinfo").arg(file));
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Form:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}
