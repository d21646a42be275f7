//! Where a signature goes: an existing empty field or a new one, on which
//! page, and where its stamp is drawn. Decided before anything is written.

use super::appearance::{self, Rect};
use super::error::PdfError;
use super::fields::{self, DocMdp, Field, Form};
use super::object::{self, Dict, ObjRef, Object};
use super::options::PdfSignOptions;
use super::pages::Page;
use super::reader::Document;

/// Where the signature goes, decided before anything is written.
pub(super) struct Plan {
    pub field_name: String,
    pub target: Target,
    /// A new field's stamp: its user-space rectangle, visual size (in
    /// page units) and page rotation and /UserUnit.
    pub stamp: Option<(Rect, f64, f64, i64, f64)>,
}

/// A stamp drawn into an existing widget's box.
pub(super) struct WidgetStamp {
    pub r: ObjRef,
    pub dict: Dict,
    /// Visual width and height (the box turned with its page).
    pub w: f64,
    pub h: f64,
    pub rotate: i64,
    /// The page's /UserUnit (points per unit).
    pub unit: f64,
}

pub(super) enum Target {
    /// Fill this existing empty signature field, drawing a stamp into
    /// each of its widgets that has a box (the field itself when field
    /// and widget are merged, else its kids).
    Existing(Field, Vec<WidgetStamp>),
    /// Create a field on this page (its own object, so it can be updated).
    New(ObjRef, Page),
}

pub(super) fn plan(
    doc: &mut Document,
    form: &Form,
    opts: &PdfSignOptions,
) -> Result<Plan, PdfError> {
    if form.docmdp == Some(DocMdp::NoChanges) {
        return Err(PdfError::NoChangesPermitted);
    }
    let certified = form.docmdp.is_some();
    if opts.certify && (certified || form.has_signatures()) {
        return Err(PdfError::CannotCertify);
    }
    if opts.contents_capacity == 0 || opts.contents_capacity > 1 << 20 {
        return Err(PdfError::invalid(
            "the space reserved for the signature must be between 1 byte and 1 MiB",
        ));
    }
    if opts.visible.is_some() && opts.visible_auto {
        return Err(PdfError::invalid(
            "ask for either a stamp box or an automatic stamp, not both",
        ));
    }

    let existing = match &opts.field {
        Some(name) => form.find(name).cloned(),
        None => None,
    };
    if let Some(f) = existing {
        if !f.is_signature() {
            return Err(PdfError::NotASignatureField(f.name));
        }
        if f.signed {
            return Err(PdfError::FieldAlreadySigned(f.name));
        }
        if opts.visible.is_some() || opts.visible_auto {
            return Err(PdfError::invalid(format!(
                "the signature field \"{}\" already has its place in the document; do not also ask for a stamp position",
                f.name
            )));
        }
        // A signature with FieldMDP locks this field: filling it now would
        // break that signature.
        if let Some((by, _)) = fields::field_locks(doc, &form.fields)?
            .iter()
            .find(|(_, lock)| lock.covers(&f.name))
        {
            return Err(PdfError::FieldLocked {
                field: f.name.clone(),
                by: by.clone(),
            });
        }
        // Draw into every widget box the field has; the page's rotation is
        // looked up only then.
        let mut stamps = Vec::new();
        for (r, wd) in &f.widgets {
            if let Some(rect) = fields::visible_rect(wd) {
                let (rotate, unit) = widget_page_geometry(doc, wd)?;
                let (w, h) = if rotate == 90 || rotate == 270 {
                    (rect[3] - rect[1], rect[2] - rect[0])
                } else {
                    (rect[2] - rect[0], rect[3] - rect[1])
                };
                stamps.push(WidgetStamp {
                    r: *r,
                    dict: wd.clone(),
                    w,
                    h,
                    rotate,
                    unit,
                });
            }
        }
        return Ok(Plan {
            field_name: f.name.clone(),
            target: Target::Existing(f, stamps),
            stamp: None,
        });
    }

    let field_name = match &opts.field {
        Some(name) => {
            validate_field_name(name)?;
            if form
                .fields
                .iter()
                .any(|f| f.name.starts_with(&format!("{name}.")))
            {
                return Err(PdfError::invalid(format!(
                    "\"{name}\" is a group of form fields, not a field that can be signed"
                )));
            }
            name.clone()
        }
        None => form.unique_name(),
    };
    let visible = opts.visible.is_some() || opts.visible_auto;
    if certified && visible {
        return Err(PdfError::CertificationForbids(
            "the document is certified: a new visible signature would count as a forbidden change; \
             sign into one of its empty signature fields, or sign without a visible stamp"
                .into(),
        ));
    }
    let count = doc.page_count()?;
    if count == 0 {
        return Err(PdfError::damaged("the document has no pages"));
    }
    let (page, stamp) = if let Some(v) = opts.visible {
        if v.page == 0 || v.page > count {
            return Err(PdfError::invalid(format!(
                "page {} does not exist; the document has {count} page{}",
                v.page,
                if count == 1 { "" } else { "s" }
            )));
        }
        let vals = [v.x, v.y, v.w, v.h];
        if vals.iter().any(|x| !x.is_finite()) || v.w < 10.0 || v.h < 5.0 {
            return Err(PdfError::invalid(
                "the stamp box must be at least 10 x 5 points",
            ));
        }
        let page = doc.page(v.page - 1)?;
        if page.r.is_none() {
            return Err(inline_page(v.page));
        }
        let rect = [v.x, v.y, v.x + v.w, v.y + v.h];
        let vb = page.view_box;
        if rect[0] < vb[0] - 0.5
            || rect[1] < vb[1] - 0.5
            || rect[2] > vb[2] + 0.5
            || rect[3] > vb[3] + 0.5
        {
            return Err(PdfError::invalid(format!(
                "the stamp box lies outside page {} ({} x {} points, from {} {})",
                v.page,
                object::format_real(vb[2] - vb[0]),
                object::format_real(vb[3] - vb[1]),
                object::format_real(vb[0]),
                object::format_real(vb[1]),
            )));
        }
        // A stamp over another signature's stamp would hide it from the
        // people reading the page.
        if let Some(r) = signature_rects(doc, &page, form)?
            .iter()
            .find(|r| appearance::overlaps(&rect, r))
        {
            return Err(PdfError::invalid(format!(
                "the stamp box overlaps the signature field at {} {} {} {} on page {}; choose a free area",
                object::format_real(r[0]),
                object::format_real(r[1]),
                object::format_real(r[2]),
                object::format_real(r[3]),
                v.page
            )));
        }
        let (w, h) = if page.rotate == 90 || page.rotate == 270 {
            (v.h, v.w)
        } else {
            (v.w, v.h)
        };
        let (rotate, unit) = (page.rotate, page.user_unit);
        (page, Some((rect, w, h, rotate, unit)))
    } else if opts.visible_auto {
        let page = doc.page(count - 1)?;
        if page.r.is_none() {
            return Err(inline_page(count));
        }
        let taken = signature_rects(doc, &page, form)?;
        // Placed in points, as the page is printed: a page whose unit is
        // not a point (/UserUnit) gets a stamp of the same size on paper.
        let unit = page.user_unit;
        let in_points = |r: &Rect| r.map(|v| v * unit);
        let taken: Vec<Rect> = taken.iter().map(in_points).collect();
        let placed = appearance::auto_place(
            &in_points(&page.view_box),
            page.rotate,
            &taken,
            auto_size(opts),
        )
        .map(|(rect, w, h)| (rect.map(|v| v / unit), w / unit, h / unit));
        let Some((rect, w, h)) = placed else {
            return Err(PdfError::invalid(
                "there is no free space left for another stamp at the bottom of the last page; give a stamp box",
            ));
        };
        let rotate = page.rotate;
        (page, Some((rect, w, h, rotate, unit)))
    } else {
        (first_page_object(doc, count)?, None)
    };
    let Some(page_ref) = page.r else {
        return Err(PdfError::Internal(
            "a page without its own object was chosen".into(),
        ));
    };
    Ok(Plan {
        field_name,
        target: Target::New(page_ref, page),
        stamp,
    })
}

fn inline_page(number: u32) -> PdfError {
    PdfError::CannotStamp(format!(
        "page {number} is written inside its parent in the page tree, not as an object of its own, \
         so a stamp cannot be added to it without rewriting the page tree"
    ))
}

/// How many pages an invisible signature looks through for one that is an
/// object of its own (nearly always the first one is).
const INVISIBLE_PAGE_SEARCH: u32 = 1000;

/// The first page that is an object of its own: an invisible signature's
/// widget goes into that page's /Annots. Pages written inline in the page
/// tree are passed over, since adding to them would rewrite the tree.
fn first_page_object(doc: &mut Document, count: u32) -> Result<Page, PdfError> {
    for i in 0..count.min(INVISIBLE_PAGE_SEARCH) {
        let page = doc.page(i)?;
        if page.r.is_some() {
            return Ok(page);
        }
    }
    Err(PdfError::CannotStamp(format!(
        "none of the first {} pages is an object of its own (they are written inside the page tree), \
         so the signature field has no page it could be added to without rewriting the page tree",
        count.min(INVISIBLE_PAGE_SEARCH)
    )))
}

fn validate_field_name(name: &str) -> Result<(), PdfError> {
    if name.is_empty()
        || name.len() > 200
        || name.contains('.')
        || name.chars().any(char::is_control)
    {
        return Err(PdfError::invalid(format!(
            "\"{name}\" is not a usable field name (1 to 200 characters, no dots or control characters)"
        )));
    }
    Ok(())
}

/// The /Rotate and /UserUnit of a widget's page (0 and 1 when it names
/// none).
fn widget_page_geometry(doc: &mut Document, widget: &Dict) -> Result<(i64, f64), PdfError> {
    let Some(p) = widget.get("P").and_then(Object::as_ref) else {
        return Ok((0, 1.0));
    };
    let Some(page) = doc.resolve_dict(Some(&Object::Ref(p)), "a widget's page")? else {
        return Ok((0, 1.0));
    };
    Ok((doc.page_rotation(&page)?, doc.user_unit(&page)?))
}

/// Rectangles of signature widgets already on `page` (to keep stamps apart).
fn signature_rects(doc: &mut Document, page: &Page, form: &Form) -> Result<Vec<Rect>, PdfError> {
    let mut out = Vec::new();
    let annots = match page.dict.get("Annots") {
        Some(a) => doc.resolve(a)?,
        None => Object::Null,
    };
    let sig_widgets: std::collections::HashSet<ObjRef> = form
        .fields
        .iter()
        .filter(|f| f.is_signature())
        .flat_map(|f| f.widgets.iter().map(|(r, _)| *r))
        .collect();
    for a in annots.as_array().unwrap_or(&[]) {
        let Some(r) = a.as_ref() else { continue };
        if !sig_widgets.contains(&r) {
            continue;
        }
        if let Some(d) = doc.resolve_dict(Some(a), "an annotation")? {
            if let Some(rect) = fields::visible_rect(&d) {
                out.push(rect);
            }
        }
    }
    // Widgets that name this page but are missing from its /Annots.
    for f in form.fields.iter().filter(|f| f.is_signature()) {
        for (_, d) in &f.widgets {
            if page.r.is_some() && d.get("P").and_then(Object::as_ref) == page.r {
                if let Some(rect) = fields::visible_rect(d) {
                    out.push(rect);
                }
            }
        }
    }
    Ok(out)
}

/// A certificate stamp is larger: it holds a 3 cm QR code.
fn auto_size(opts: &PdfSignOptions) -> (f64, f64) {
    if opts.uin.is_some() || opts.qr.is_some() {
        // A request whose UIN or payload is refused is refused when the
        // stamp is drawn; the size does not matter then.
        let certificate = super::uin::CertificateStamp::check(
            opts.uin.as_deref(),
            opts.qr.as_deref(),
            opts.qr_version,
        );
        let payload = certificate.ok().and_then(|c| c.payload);
        match payload
            .as_deref()
            .map(|p| (p, super::qr::width_for(p, opts.qr_version)))
        {
            Some((p, Ok(width))) => {
                appearance::certificate_auto_size(width, super::uin::verify_url(p).as_deref())
            }
            _ => (appearance::AUTO_QR_W, appearance::AUTO_QR_H),
        }
    } else {
        (appearance::AUTO_W, appearance::AUTO_H)
    }
}
