//! Later revisions that change what a signed page shows while posing as an
//! allowed change ("shadow" attacks, the PDF audit of 2026-12): a drawn
//! object relabelled as metadata, DSS or an appearance; a content stream
//! re-typed as an object stream; a /Length that stops short of
//! `endstream`; an object the signed page already referred to, defined
//! later; a signed stamp redrawn; a locked field redrawn; an xref section
//! without /Prev that drops a signed object; the certification taken out of
//! /Perms. Each is judged illegal by Mohor (exit 1) and, as a second judge,
//! refused by pyHanko, while poppler (pdftotext) or qpdf shows the change.
//! (A redefinition behind an xref entry of unknown type is the exception:
//! pyHanko skips the entry and misses it; poppler shows it.)
//! Legitimate updates to /Info, /Metadata and form values stay acceptable.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod verify_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use mohor::pdf;
use mohor::pdf::read::{Dict, Document, ObjRef, Object};
use verify_util::pdf_util::{pdftotext, signer, stamp};
use verify_util::*;

const EVIL: &str = "PAY 999999 RUPEES TO MALLORY";
const PAGE_TEXT: &[u8] =
    b"BT /F1 24 Tf 72 700 Td (PAY 100 RUPEES TO ASHA) Tj ET\nq 1 0 0 1 72 600 cm /Fm0 Do Q\n";
const FORM_DICT: &str =
    "/Type /XObject /Subtype /Form /BBox [0 0 300 50] /Resources << /Font << /F1 5 0 R >> >>";

fn root() -> Vec<PathBuf> {
    vec![fixture().root.clone()]
}

fn opts(who: &str) -> pdf::PdfSignOptions {
    let mut o = verify_util::pdf_util::opts(who);
    o.signing_time = time::OffsetDateTime::now_utc();
    o
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut s = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    s.extend_from_slice(data);
    s.extend_from_slice(b"\nendstream");
    s
}

/// A classic PDF of numbered objects; numbers left out are free entries.
fn build(objects: &[(u32, Vec<u8>)], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = std::collections::BTreeMap::new();
    for (num, body) in objects {
        offsets.insert(*num, out.len());
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let size = offsets.keys().max().unwrap() + 1;
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for n in 1..size {
        let line = match offsets.get(&n) {
            Some(o) => format!("{o:010} 00000 n \n"),
            None => "0000000000 00000 f \n".into(),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {size} /Root 1 0 R{trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

/// The audit's payment order: "PAY 100 RUPEES TO ASHA" in content stream 4,
/// Form XObject 7 ("Approved by Dept") drawn by the page, text field
/// `Amount` (object 8, appearance 9), document information 10.
fn payment_order() -> Vec<u8> {
    let o = |n: u32, s: &str| (n, s.as_bytes().to_vec());
    build(
        &[
            o(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [8 0 R] /DA (/Helv 0 Tf 0 g) /DR << /Font << /Helv 5 0 R >> >> >> >>"),
            o(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            o(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources 6 0 R /Contents [4 0 R] /Annots [8 0 R] >>"),
            (4, stream("", PAGE_TEXT)),
            o(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"),
            o(6, "<< /Font << /F1 5 0 R >> /XObject << /Fm0 7 0 R >> >>"),
            (7, stream(FORM_DICT, b"BT /F1 14 Tf 0 0 Td (Approved by Dept) Tj ET")),
            o(8, "<< /FT /Tx /T (Amount) /V (100) /Type /Annot /Subtype /Widget /Rect [72 500 272 530] /P 3 0 R /F 4 /DA (/Helv 12 Tf 0 g) /AP << /N 9 0 R >> >>"),
            (9, amount_appearance("100")),
            o(10, "<< /Title (Payment order) /Producer (test) >>"),
        ],
        " /Info 10 0 R",
    )
}

fn amount_appearance(value: &str) -> Vec<u8> {
    stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 200 30] /Resources << /Font << /Helv 5 0 R >> >>",
        format!("/Tx BMC BT /Helv 12 Tf 2 10 Td ({value}) Tj ET EMC").as_bytes(),
    )
}

fn evil_content() -> Vec<u8> {
    stream(
        "",
        format!("BT /F1 24 Tf 72 700 Td ({EVIL}) Tj ET\n").as_bytes(),
    )
}

fn rejected_form() -> Vec<u8> {
    stream(FORM_DICT, b"BT /F1 14 Tf 0 0 Td (REJECTED by Dept) Tj ET")
}

/// An opaque band over the amount line, saying something else.
fn overlay() -> Vec<u8> {
    stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 612 100] /Resources << /Font << /F1 5 0 R >> >>",
        format!("1 1 1 rg 0 0 612 100 re f 0 g BT /F1 24 Tf 72 30 Td ({EVIL}) Tj ET").as_bytes(),
    )
}

/// A PDF value as text (strings in hex; the test documents' names are plain).
fn pdf_text(o: &Object) -> String {
    match o {
        Object::Null => "null".into(),
        Object::Bool(b) => b.to_string(),
        Object::Int(i) => i.to_string(),
        Object::Real(r) => r.clone(),
        Object::Str(s) => format!("<{}>", hex::encode(s)),
        Object::Name(n) => format!("/{}", String::from_utf8_lossy(n)),
        Object::Array(a) => format!("[{}]", a.iter().map(pdf_text).collect::<Vec<_>>().join(" ")),
        Object::Dict(d) => dict_text(d),
        Object::Ref(r) => format!("{} {} R", r.num, r.gen),
    }
}

fn dict_text(d: &Dict) -> String {
    let body: Vec<String> =
        d.0.iter()
            .map(|(k, v)| format!("/{} {}", String::from_utf8_lossy(k), pdf_text(v)))
            .collect();
    format!("<< {} >>", body.join(" "))
}

/// Object `num` (a dictionary) of `file` as Mohor's reader sees it.
fn dict(file: &Path, num: u32) -> Dict {
    let mut doc = Document::open(file).unwrap();
    match doc.get(ObjRef::new(num, 0)).unwrap() {
        Object::Dict(d) => d,
        other => panic!("object {num} is {other:?}"),
    }
}

/// `dict` with `key` set to `value` (PDF text), as object body bytes.
fn with(d: &Dict, key: &str, value: &str) -> Vec<u8> {
    let mut d = d.clone();
    d.remove(key);
    let mut t = dict_text(&d);
    t.truncate(t.len() - 2);
    format!("{t} /{key} {value} >>").into_bytes()
}

/// The signature field `name` of a signed file: its object number.
fn field_num(file: &Path, name: &str) -> u32 {
    let mut doc = Document::open(file).unwrap();
    let catalog = doc.catalog().unwrap();
    let form = doc
        .resolve_dict(catalog.get("AcroForm"), "form")
        .unwrap()
        .unwrap();
    let fields = doc.resolve(form.get("Fields").unwrap()).unwrap();
    for f in fields.as_array().unwrap() {
        let r = f.as_ref().unwrap();
        let d = dict(file, r.num);
        if d.get("T").and_then(Object::as_str) == Some(name.as_bytes()) {
            return r.num;
        }
    }
    panic!("no field {name}")
}

/// Append an incremental update replacing or adding `objects`, the
/// trailer carrying `trailer_extra`; `prev: false` writes a section that
/// does not chain to the earlier ones, listing `entries` (num, offset) too.
fn update_with(
    pdf: &[u8],
    objects: &[(u32, Vec<u8>)],
    trailer_extra: &str,
    prev: bool,
    entries: &[(u32, u64)],
) -> Vec<u8> {
    let text = String::from_utf8_lossy(pdf);
    let last_xref: u64 = text[text.rfind("startxref").unwrap() + 9..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let size = next_object(pdf).max(objects.iter().map(|(n, _)| n + 1).max().unwrap_or(0));
    let mut out = pdf.to_vec();
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    let mut rows: std::collections::BTreeMap<u32, String> = entries
        .iter()
        .map(|(n, o)| (*n, format!("{o:010} 00000 n \n")))
        .collect();
    rows.insert(0, "0000000000 65535 f \n".into());
    for (num, body) in objects {
        rows.insert(*num, format!("{:010} 00000 n \n", out.len()));
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut t = String::from("xref\n");
    for (n, row) in &rows {
        t.push_str(&format!("{n} 1\n{row}"));
    }
    let prev = if prev {
        format!(" /Prev {last_xref}")
    } else {
        String::new()
    };
    t.push_str(&format!(
        "trailer\n<< /Size {size} /Root 1 0 R{prev}{trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n"
    ));
    out.extend_from_slice(t.as_bytes());
    out
}

/// [`update_with`] chained by /Prev, the trailer keeping the file's /Info.
fn update(pdf: &Path, objects: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let doc = Document::open(pdf).unwrap();
    let info = doc
        .trailer()
        .get("Info")
        .map(|i| format!(" /Info {}", pdf_text(i)))
        .unwrap_or_default();
    update_with(&std::fs::read(pdf).unwrap(), objects, &info, true, &[])
}

/// The payment order signed by Mohor as Asha Verma (certified with form
/// filling allowed, or visibly, as asked).
fn signed(dir: &Path, name: &str, certify: bool, visible: bool) -> PathBuf {
    let base = dir.join("order.pdf");
    std::fs::write(&base, payment_order()).unwrap();
    let out = dir.join(format!("{name}.pdf"));
    let mut o = opts("rsa2048");
    o.certify = certify;
    if visible {
        o.visible = stamp(1, 300.0, 100.0, 250.0, 80.0);
    }
    pdf::sign_file(&base, &out, &mut signer("rsa2048"), &o).unwrap();
    out
}

/// Mohor calls `field`'s signature intact but the later change illegal,
/// and exits 1; pyHanko does not accept it either. Returns Mohor's text.
fn caught(file: &Path, field: &str) -> String {
    let (r, code, t) = mohor_report(file, &root(), None);
    let s = r["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["field"] == field)
        .unwrap_or_else(|| panic!("no {field}: {t}"))
        .clone();
    assert_eq!(s["intact"], true, "{}: {t}", file.display());
    assert_eq!(s["modifications"], "illegal", "{}: {t}", file.display());
    assert_eq!(code, 1, "{}: {t}", file.display());
    let (hanko, ht) = hanko_verdicts(file, &root());
    assert!(
        !hanko
            .iter()
            .any(|(f, v)| f == field && v.intact && v.trusted && v.modifications != "illegal"),
        "{}: pyHanko accepted it\n{ht}",
        file.display()
    );
    format!("{}", s["changes"])
}

fn shows(file: &Path, what: &str) {
    let t = pdftotext(file, None);
    assert!(t.contains(what), "{}: poppler shows\n{t}", file.display());
}

fn ready(name: &str) -> Option<PathBuf> {
    if !pdf_util::judges_available() || !pdf_util::common::have_tool("pdftotext") {
        eprintln!("SKIPPED: {name} needs qpdf, pdfsig, pdftotext and pyHanko");
        return None;
    }
    Some(test_dir(name))
}

/// Finding 1: what an object may become is decided by what it was when
/// signed. Page content named as /Info, /Metadata or a DSS certificate, and
/// the page's Form XObject made a new annotation's or a field's appearance,
/// are still what the signed page draws — with or without a certification.
#[test]
fn a_drawn_object_relabelled_in_a_later_revision_is_still_what_the_page_draws() {
    let Some(dir) = ready("shadow_roles") else {
        return;
    };
    for certify in [false, true] {
        let kind = if certify { "certified" } else { "signed" };
        let signed = signed(&dir, kind, certify, false);
        let catalog = dict(&signed, 1);
        let page = dict(&signed, 3);
        let amount = dict(&signed, 8);
        let annots = pdf_text(page.get("Annots").unwrap());
        let more_annots = format!("{} 40 0 R]", &annots[..annots.len() - 1]);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "info",
                update_with(
                    &std::fs::read(&signed).unwrap(),
                    &[(4, evil_content())],
                    " /Info 4 0 R",
                    true,
                    &[],
                ),
                EVIL,
            ),
            (
                "metadata",
                update(
                    &signed,
                    &[(1, with(&catalog, "Metadata", "4 0 R")), (4, evil_content())],
                ),
                EVIL,
            ),
            (
                "dss",
                update(
                    &signed,
                    &[
                        (1, with(&catalog, "DSS", "<< /Certs [4 0 R] >>")),
                        (4, evil_content()),
                    ],
                ),
                EVIL,
            ),
            (
                "annotation-appearance",
                update(
                    &signed,
                    &[
                        (3, with(&page, "Annots", &more_annots)),
                        (40, b"<< /Type /Annot /Subtype /Square /Rect [0 0 0 0] /F 2 /AP << /N 7 0 R >> >>".to_vec()),
                        (7, rejected_form()),
                    ],
                ),
                "REJECTED by Dept",
            ),
            (
                "field-appearance",
                update(
                    &signed,
                    &[
                        (8, with(&amount, "AP", "<< /N 7 0 R /D 9 0 R >>")),
                        (7, rejected_form()),
                    ],
                ),
                "REJECTED by Dept",
            ),
        ];
        for (name, bytes, text) in cases {
            let file = dir.join(format!("{kind}-{name}.pdf"));
            std::fs::write(&file, bytes).unwrap();
            shows(&file, text);
            let changes = caught(&file, "Signature1");
            assert!(
                changes.contains("page 1") || changes.contains("signed pages draw"),
                "{name}: the drawn object is named: {changes}"
            );
        }
    }
}

/// The role is the signed object's whatever generation a later revision
/// gives it: page content 4 0 redefined as 4 1 and named /Info leaves the
/// page drawing nothing (poppler no longer shows the amount).
#[test]
fn a_drawn_object_redefined_under_another_generation_keeps_its_role() {
    let Some(dir) = ready("shadow_generation") else {
        return;
    };
    let signed = signed(&dir, "signed", false, false);
    let bytes = std::fs::read(&signed).unwrap();
    let mut out = update_with(&bytes, &[(4, evil_content())], " /Info 4 1 R", true, &[]);
    // Generation 1, same byte lengths, so every offset stays right.
    let tail = bytes.len();
    let at = tail + find(&out[tail..], b"4 0 obj").unwrap();
    out[at + 2] = b'1';
    let row = tail + find(&out[tail..], b"\n4 1\n").unwrap() + 5;
    assert_eq!(&out[row + 10..row + 17], b" 00000 ");
    out[row + 11..row + 16].copy_from_slice(b"00001");
    let file = dir.join("generation.pdf");
    std::fs::write(&file, out).unwrap();
    assert!(pdftotext(&signed, None).contains("PAY 100 RUPEES"));
    assert!(!pdftotext(&file, None).contains("PAY 100 RUPEES"));
    assert!(caught(&file, "Signature1").contains("content of page 1"));
}

/// Finding 2: only a real object stream of the signed revision is passed
/// over unseen; a content stream that calls itself /ObjStm is compared.
#[test]
fn a_content_stream_retyped_as_an_object_stream_is_still_compared() {
    let Some(dir) = ready("shadow_objstm") else {
        return;
    };
    let signed = signed(&dir, "signed", false, false);
    let file = dir.join("objstm.pdf");
    let retyped = stream(
        "/Type /ObjStm /N 0 /First 0",
        format!("BT /F1 24 Tf 72 700 Td ({EVIL}) Tj ET\n").as_bytes(),
    );
    std::fs::write(&file, update(&signed, &[(4, retyped)])).unwrap();
    shows(&file, EVIL);
    assert!(caught(&file, "Signature1").contains("content of page 1"));
}

/// Finding 3: readers (poppler, qpdf) take a stream up to `endstream`
/// when its /Length stops short; so does the comparison. The same bytes
/// written again under a right /Length are no change at all.
#[test]
fn a_length_that_stops_short_of_endstream_cannot_hide_drawing() {
    let Some(dir) = ready("shadow_length") else {
        return;
    };
    let signed = signed(&dir, "signed", false, false);
    let extra = format!("\n1 1 1 rg 60 690 420 40 re f 0 g BT /F1 24 Tf 72 700 Td ({EVIL}) Tj ET");
    let mut lying = format!("<< /Length {} >>\nstream\n", PAGE_TEXT.len()).into_bytes();
    lying.extend_from_slice(PAGE_TEXT);
    lying.extend_from_slice(extra.as_bytes());
    lying.extend_from_slice(b"\nendstream");
    let file = dir.join("length.pdf");
    std::fs::write(&file, update(&signed, &[(4, lying)])).unwrap();
    shows(&file, "MALLORY");
    let q = run(Command::new("qpdf").arg("--check").arg(&file));
    assert!(text(&q).contains("recovered stream length"), "{}", text(&q));
    assert!(caught(&file, "Signature1").contains("content of page 1"));

    // Control: the page's stream written again, byte for byte.
    let again = dir.join("again.pdf");
    std::fs::write(&again, update(&signed, &[(4, stream("", PAGE_TEXT))])).unwrap();
    let (r, code, t) = mohor_report(&again, &root(), None);
    assert_eq!(r["signatures"][0]["modifications"], "none", "{t}");
    assert_eq!(code, 0, "{t}");
}

/// Finding 4: a page that draws /Fm1 = 12 0 R while object 12 is free
/// shows nothing there when signed; defining 12 later draws on the signed
/// page, so it is a change to the page, not "a new object". So is a
/// script defined for the catalog's /OpenAction that named a free object.
#[test]
fn defining_an_object_the_signed_page_already_refers_to_is_illegal() {
    let Some(dir) = ready("shadow_dangling") else {
        return;
    };
    let o = |n: u32, s: &str| (n, s.as_bytes().to_vec());
    let base = dir.join("dangling.pdf");
    std::fs::write(
        &base,
        build(
            &[
                o(1, "<< /Type /Catalog /Pages 2 0 R >>"),
                o(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                o(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources 6 0 R /Contents 4 0 R >>"),
                (4, stream("", b"BT /F1 24 Tf 72 700 Td (PAY 100 RUPEES TO ASHA) Tj ET\nq 1 0 0 1 72 650 cm /Fm1 Do Q\n")),
                o(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"),
                o(6, "<< /Font << /F1 5 0 R >> /XObject << /Fm1 12 0 R >> >>"),
                o(13, "null"),
            ],
            "",
        ),
    )
    .unwrap();
    let signed = dir.join("signed.pdf");
    pdf::sign_file(&base, &signed, &mut signer("rsa2048"), &opts("rsa2048")).unwrap();
    assert!(!pdftotext(&signed, None).contains("MALLORY"));
    let fm = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 400 60] /Resources << /Font << /F1 5 0 R >> >>",
        b"BT /F1 24 Tf 0 30 Td (AND ALSO 50000 TO MALLORY) Tj ET",
    );
    let file = dir.join("defined.pdf");
    std::fs::write(&file, update(&signed, &[(12, fm)])).unwrap();
    shows(&file, "50000 TO MALLORY");
    assert!(caught(&file, "Signature1").contains("object 12"));

    // The same through the catalog: an /OpenAction naming a free object,
    // defined later as a script. qpdf resolves the action to null when
    // signed and to the script after.
    let base = dir.join("dangling-action.pdf");
    std::fs::write(
        &base,
        build(
            &[
                o(1, "<< /Type /Catalog /Pages 2 0 R /OpenAction 30 0 R >>"),
                o(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                o(
                    3,
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                ),
                (
                    4,
                    stream(
                        "",
                        b"BT /F1 24 Tf 72 700 Td (PAY 100 RUPEES TO ASHA) Tj ET\n",
                    ),
                ),
                o(31, "null"),
            ],
            "",
        ),
    )
    .unwrap();
    let signed = dir.join("signed-action.pdf");
    pdf::sign_file(&base, &signed, &mut signer("rsa2048"), &opts("rsa2048")).unwrap();
    let file = dir.join("defined-action.pdf");
    let script = b"<< /S /JavaScript /JS (app.alert('pay Mallory')) >>".to_vec();
    std::fs::write(&file, update(&signed, &[(30, script)])).unwrap();
    assert_eq!(qpdf_object(&signed, 30), "null");
    assert!(qpdf_object(&file, 30).contains("/JavaScript"));
    assert!(caught(&file, "Signature1").contains("object 30"));
}

/// Findings 5 and 7: a signed signature's stamp is signed matter: its
/// widget pointed at a new appearance, its appearance stream rewritten, its
/// colours changed, or a second widget hung on the signed field — each is
/// illegal (the last on a certified document, where pyHanko judges too).
#[test]
fn a_signed_signatures_stamp_cannot_be_redrawn_recoloured_or_doubled() {
    let Some(dir) = ready("shadow_stamp") else {
        return;
    };
    let vis = signed(&dir, "visible", false, true);
    let w = field_num(&vis, "Signature1");
    let widget = dict(&vis, w);
    let ap = widget.get("AP").and_then(Object::as_dict).unwrap();
    let n = ap.get("N").and_then(Object::as_ref).unwrap().num;
    let rejected = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 250 80] /Resources << /Font << /F1 5 0 R >> >>",
        b"1 0 0 rg BT /F1 16 Tf 5 50 Td (REJECTED - do not pay) Tj 0 -25 Td (Asha Verma) Tj ET",
    );
    let cases = [
        (
            "new-appearance",
            update(
                &vis,
                &[
                    (w, with(&widget, "AP", "<< /N 40 0 R >>")),
                    (40, rejected.clone()),
                ],
            ),
            Some("REJECTED"),
        ),
        (
            "appearance-rewritten",
            update(&vis, &[(n, rejected)]),
            Some("REJECTED"),
        ),
        (
            "recoloured",
            update(&vis, &[(w, with(&widget, "MK", "<< /BG [1 0 0] >>"))]),
            None,
        ),
    ];
    for (name, bytes, text) in cases {
        let file = dir.join(format!("{name}.pdf"));
        std::fs::write(&file, bytes).unwrap();
        if let Some(t) = text {
            shows(&file, t);
        }
        let changes = caught(&file, "Signature1");
        assert!(changes.contains("signed signature"), "{name}: {changes}");
    }

    let cert = signed(&dir, "certified", true, false);
    let sig_field = field_num(&cert, "Signature1");
    let page = dict(&cert, 3);
    let annots = pdf_text(page.get("Annots").unwrap());
    let file = dir.join("second-widget.pdf");
    std::fs::write(
        &file,
        update(
            &cert,
            &[
                (3, with(&page, "Annots", &format!("{} 40 0 R]", &annots[..annots.len() - 1]))),
                (40, format!("<< /Type /Annot /Subtype /Widget /Parent {sig_field} 0 R /F 4 /Rect [0 680 612 780] /P 3 0 R /AP << /N 41 0 R >> >>").into_bytes()),
                (41, overlay()),
            ],
        ),
    )
    .unwrap();
    shows(&file, "MALLORY");
    assert!(caught(&file, "Signature1").contains("signed already"));
}

/// Finding 7: after a certification, signing is allowed but a new visible
/// signature field is not: an unsigned one whose widget paints over the
/// certified amount line is a page overlay (pyHanko: "new visible
/// signature fields are disallowed after certification"). An invisible
/// co-signature stays acceptable (`verify_tamper`'s
/// `a_certified_document_signed_again_stays_acceptable`).
#[test]
fn a_new_visible_signature_field_on_a_certified_document_is_illegal() {
    let Some(dir) = ready("shadow_ssa") else {
        return;
    };
    let cert = signed(&dir, "certified", true, false);
    let catalog = dict(&cert, 1);
    let form = catalog.get("AcroForm").and_then(Object::as_dict).unwrap();
    let fields = pdf_text(form.get("Fields").unwrap());
    let page = dict(&cert, 3);
    let annots = pdf_text(page.get("Annots").unwrap());
    let more = |list: &str| format!("{} 40 0 R]", &list[..list.len() - 1]);
    let form = String::from_utf8(with(form, "Fields", &more(&fields))).unwrap();
    let file = dir.join("ssa.pdf");
    std::fs::write(
        &file,
        update(
            &cert,
            &[
                (1, with(&catalog, "AcroForm", &form)),
                (3, with(&page, "Annots", &more(&annots))),
                (40, b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature2) /F 4 /Rect [0 680 612 780] /P 3 0 R /AP << /N 41 0 R >> >>".to_vec()),
                (41, overlay()),
            ],
        ),
    )
    .unwrap();
    shows(&file, "MALLORY");
    assert!(caught(&file, "Signature1").contains("visible signature field Signature2"));
}

/// Finding 6: a FieldMDP lock (pyHanko's signature locking `Amount`)
/// covers what the field shows: a new appearance with the old value, or
/// its appearance stream rewritten, is illegal like a new value.
#[test]
fn a_locked_fields_appearance_is_locked_too() {
    let Some(dir) = ready("shadow_lock") else {
        return;
    };
    let base = dir.join("order.pdf");
    std::fs::write(&base, payment_order()).unwrap();
    let locked = dir.join("locked.pdf");
    let c = fixture().cert("rsa2048");
    let out = run(
        Command::new(pdf_util::common::repo().join(".venv/bin/python"))
            .arg(pdf_util::common::repo().join("tests/verify_util/lock_field.py"))
            .arg(&c.key)
            .arg(&c.cert)
            .arg(&fixture().chain)
            .arg(&base)
            .arg(&locked)
            .arg("Amount"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let amount = dict(&locked, 8);
    let cases = [
        (
            "new-appearance",
            update(
                &locked,
                &[
                    (8, with(&amount, "AP", "<< /N 40 0 R >>")),
                    (40, amount_appearance("999999")),
                ],
            ),
        ),
        (
            "appearance-rewritten",
            update(&locked, &[(9, amount_appearance("999999"))]),
        ),
    ];
    for (name, bytes) in cases {
        let file = dir.join(format!("{name}.pdf"));
        std::fs::write(&file, bytes).unwrap();
        shows(&file, "999999");
        let changes = caught(&file, "Locker");
        assert!(changes.contains("locks it"), "{name}: {changes}");
    }
}

/// Finding 8: a cross-reference section without /Prev that leaves out the
/// page's Form XObject takes it out of the document for qpdf (a rewrite
/// no longer draws "Approved by Dept"); the object counts as deleted.
#[test]
fn an_xref_section_without_prev_cannot_drop_a_signed_object() {
    let Some(dir) = ready("shadow_noprev") else {
        return;
    };
    let signed = signed(&dir, "signed", false, false);
    let doc = Document::open(&signed).unwrap();
    let entries: Vec<(u32, u64)> = doc
        .xref
        .entries
        .iter()
        .filter_map(|(n, e)| match e {
            mohor::pdf::read::Entry::InFile { offset, .. } if *n != 7 => Some((*n, *offset)),
            _ => None,
        })
        .collect();
    let bytes = update_with(&std::fs::read(&signed).unwrap(), &[], "", false, &entries);
    let file = dir.join("noprev.pdf");
    std::fs::write(&file, bytes).unwrap();
    let rewritten = dir.join("rewritten.pdf");
    let q = run(Command::new("qpdf").arg(&file).arg(&rewritten));
    assert!(rewritten.exists(), "{}", text(&q));
    assert!(!pdftotext(&rewritten, None).contains("Approved by Dept"));
    assert!(caught(&file, "Signature1").contains("object 7 was deleted"));
}

/// A cross-reference stream entry of a type the standard does not define
/// (3 and up) is a reference to the null object (ISO 32000-1 7.5.8.3).
/// Mohor skipped it, so the signed revision's object showed through: a
/// later revision that writes new page content under object 4 and gives 4
/// type 3 was "changes after signing: none", while poppler and qpdf take
/// the entry as damage, scan the file and show the new content. Read as
/// null, object 4 is gone: an illegal change. (pyHanko skips the entry as
/// Mohor did and calls the update signature maintenance.)
#[test]
fn an_xref_entry_of_unknown_type_reads_as_null_and_cannot_hide_new_content() {
    let Some(dir) = ready("shadow_unknown_type") else {
        return;
    };
    let signed = signed(&dir, "signed", false, false);
    let bytes = append_revision_by_stream(
        &std::fs::read(&signed).unwrap(),
        &[(4, evil_content())],
        &[(4, 3)],
    );
    let file = dir.join("type3.pdf");
    std::fs::write(&file, bytes).unwrap();
    shows(&file, EVIL);
    let q = run(Command::new("qpdf").arg("--check").arg(&file));
    assert!(
        text(&q).contains("unknown xref stream entry type 3"),
        "{}",
        text(&q)
    );
    let mut doc = Document::open(&file).unwrap();
    assert!(matches!(
        doc.load(ObjRef::new(4, 0)).unwrap(),
        mohor::pdf::read::Loaded::Object(Object::Null)
    ));
    let (r, code, t) = mohor_report(&file, &root(), None);
    let s = &r["signatures"][0];
    assert_eq!(s["intact"], true, "{t}");
    assert_eq!(s["modifications"], "illegal", "{t}");
    assert!(
        s["changes"].to_string().contains("object 4 was deleted"),
        "{t}"
    );
    assert_eq!(code, 1, "{t}");

    // Nor is such a file signed: a signature would cover a document that
    // Mohor reads one way and poppler and qpdf another.
    let before = std::fs::read(&file).unwrap();
    let mut options = pdf::PdfSignOptions::new("Asha Verma", "Test Class 3 CA 2026");
    options.contents_capacity = 8192;
    let e: mohor::Error = pdf::prepare(&file, &options)
        .err()
        .expect("a file readers disagree on is not signed")
        .into();
    assert_eq!(e.reason, mohor::Reason::DocumentRefused, "{}", e.message);
    assert!(
        e.message.contains("object 4") && e.message.contains("readers disagree"),
        "{}",
        e.message
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

/// Finding 9: usage rights may come and go after a certification, the
/// certification's own /Perms /DocMDP entry may not.
#[test]
fn the_certification_cannot_be_taken_out_of_perms() {
    let Some(dir) = ready("shadow_perms") else {
        return;
    };
    let cert = signed(&dir, "certified", true, false);
    let catalog = dict(&cert, 1);
    let docmdp = catalog
        .get("Perms")
        .and_then(Object::as_dict)
        .and_then(|p| p.get("DocMDP"))
        .map(pdf_text)
        .unwrap();
    let file = dir.join("perms.pdf");
    std::fs::write(
        &file,
        update(
            &cert,
            &[(1, with(&catalog, "Perms", &format!("<< /UR3 {docmdp} >>")))],
        ),
    )
    .unwrap();
    assert!(caught(&file, "Signature1").contains("certification was removed"));
}

/// The catalog's /AcroForm pointed at another form object is judged
/// against the signed form (it was passed as "the form was added"): one
/// that leaves out a field removes it.
#[test]
fn moving_the_form_to_another_object_is_judged_like_changing_it() {
    let Some(dir) = ready("shadow_form") else {
        return;
    };
    let signed = signed(&dir, "signed", false, false);
    let catalog = dict(&signed, 1);
    let form = catalog.get("AcroForm").and_then(Object::as_dict).unwrap();
    let sig = field_num(&signed, "Signature1");
    let file = dir.join("moved-form.pdf");
    std::fs::write(
        &file,
        update(
            &signed,
            &[
                (1, with(&catalog, "AcroForm", "40 0 R")),
                (40, with(form, "Fields", &format!("[{sig} 0 R]"))),
            ],
        ),
    )
    .unwrap();
    assert!(caught(&file, "Signature1").contains("a form field was removed"));
}

/// A changed object that names a key twice is judged by one reading
/// while a reader may take the other: form filling that repeats /Rect (a
/// page-wide one first, the field's own last) is illegal, and pyHanko
/// refuses the file outright.
#[test]
fn a_changed_object_that_names_a_key_twice_is_illegal() {
    let Some(dir) = ready("shadow_duplicate") else {
        return;
    };
    let signed = signed(&dir, "signed", false, false);
    let amount = dict(&signed, 8);
    let mut twice = with(&amount, "AP", "<< /N 41 0 R >>");
    twice.truncate(twice.len() - 2);
    twice.extend_from_slice(b" /Rect [0 0 612 792] >>");
    let rect = pdf_text(amount.get("Rect").unwrap());
    let twice = String::from_utf8(twice)
        .unwrap()
        .replacen(&format!("/Rect {rect}"), "/Rect [0 0 612 792]", 1)
        .replacen("/Rect [0 0 612 792] >>", &format!("/Rect {rect} >>"), 1);
    let file = dir.join("filled-twice.pdf");
    std::fs::write(
        &file,
        update(&signed, &[(8, twice.into_bytes()), (41, overlay())]),
    )
    .unwrap();
    let (_, ht) = hanko_verdicts(&file, &root());
    assert!(ht.contains("Multiple definitions"), "{ht}");
    assert!(caught(&file, "Signature1").contains("names /Rect twice"));
}

/// What the rules above must leave alone: the signed document's /Info
/// rewritten, an XMP /Metadata stream added, the declared PDF version
/// raised (as pyHanko does when it co-signs: `/Version /2.0`), and the form
/// filled in with a new appearance — acceptable to Mohor (exit 0) and to
/// pyHanko.
#[test]
fn info_metadata_and_form_updates_that_draw_nothing_stay_acceptable() {
    let Some(dir) = ready("shadow_legit") else {
        return;
    };
    let signed = signed(&dir, "signed", false, false);
    let catalog = dict(&signed, 1);
    let amount = dict(&signed, 8);
    let xmp = br#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta><?xpacket end="w"?>"#;
    let filled = with(&amount, "AP", "<< /N 41 0 R >>");
    let filled = String::from_utf8(filled).unwrap().replace(
        &format!("/V {}", pdf_text(&Object::Str(b"100".to_vec()))),
        &format!("/V {}", pdf_text(&Object::Str(b"200".to_vec()))),
    );
    let cases = [
        (
            "info",
            update(
                &signed,
                &[(10, b"<< /Title (Payment order, paid) >>".to_vec())],
            ),
            "document information",
        ),
        (
            "metadata",
            update(
                &signed,
                &[
                    (1, with(&catalog, "Metadata", "40 0 R")),
                    (40, stream("/Type /Metadata /Subtype /XML", xmp)),
                ],
            ),
            "catalog /Metadata updated",
        ),
        (
            "version",
            update(&signed, &[(1, with(&catalog, "Version", "/2.0"))]),
            "catalog /Version updated",
        ),
        (
            "filled",
            update(
                &signed,
                &[(8, filled.into_bytes()), (41, amount_appearance("200"))],
            ),
            "form field Amount filled in",
        ),
    ];
    for (name, bytes, says) in cases {
        let file = dir.join(format!("{name}.pdf"));
        std::fs::write(&file, bytes).unwrap();
        let (r, code, t) = mohor_report(&file, &root(), None);
        let s = &r["signatures"][0];
        assert_eq!(s["modifications"], "acceptable", "{name}: {t}");
        assert!(s["changes"].to_string().contains(says), "{name}: {t}");
        assert_eq!(code, 0, "{name}: {t}");
        let (hanko, ht) = hanko_verdicts(&file, &root());
        assert!(
            hanko.iter().any(|(f, v)| f == "Signature1"
                && v.intact
                && v.trusted
                && v.modifications != "illegal"),
            "{name}: pyHanko refused it\n{ht}"
        );
    }
}

/// A form whose list of fields is an object of its own (`/Fields 6 0 R`,
/// as some producers write it): the next signer adds its field by
/// rewriting that array in place (Mohor does; so do pyHanko and Acrobat).
/// That is form filling, not a change to the signed document: Mohor, pdfsig
/// and pyHanko accept both signatures. A text field added to the same list,
/// or a field taken out of it, is still illegal.
#[test]
fn a_field_list_of_its_own_takes_the_next_signers_field() {
    let Some(dir) = ready("verify_fields_object") else {
        return;
    };
    let o = |n: u32, s: &str| (n, s.as_bytes().to_vec());
    let note = build(
        &[
            o(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R >>"),
            o(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            o(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 7 0 R >> >> /Contents 4 0 R >>"),
            (4, stream("", b"BT /F1 24 Tf 72 700 Td (Green note 12/2026) Tj ET")),
            o(5, "<< /Fields 6 0 R /DA (/Helv 0 Tf 0 g) >>"),
            o(6, "[ 8 0 R ]"),
            o(7, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"),
            o(8, "<< /FT /Tx /T (Remarks) /V (Seen) >>"),
        ],
        "",
    );
    let base = dir.join("note.pdf");
    std::fs::write(&base, note).unwrap();
    let first = dir.join("first.pdf");
    pdf::sign_file(&base, &first, &mut signer("rsa2048"), &opts("rsa2048")).unwrap();
    let both = dir.join("both.pdf");
    pdf::sign_file(&first, &both, &mut signer("ec256"), &opts("ec256")).unwrap();
    // The second signature rewrote object 6, the list of fields.
    let fields = Document::open(&both)
        .unwrap()
        .get(ObjRef::new(6, 0))
        .unwrap();
    assert_eq!(fields.as_array().map(<[Object]>::len), Some(3));

    let (r, code, t) = mohor_report(&both, &root(), None);
    assert_eq!(code, 0, "{t}");
    assert_eq!(r["signatures"][0]["modifications"], "acceptable", "{t}");
    assert!(
        r["signatures"][0]["changes"]
            .to_string()
            .contains("signature field Signature2 added"),
        "{t}"
    );
    two_signatures_pyhanko_and_pdfsig_accept(&both);

    // The same list given a text field, or without the one it had: illegal.
    let sig = field_num(&first, "Signature1");
    let text_field = "<< /FT /Tx /T (Amount) /V (999999) >>";
    let added = dir.join("text-field-added.pdf");
    let list = format!("[ 8 0 R {sig} 0 R 40 0 R ]");
    std::fs::write(
        &added,
        update(
            &first,
            &[(6, list.into_bytes()), (40, text_field.as_bytes().to_vec())],
        ),
    )
    .unwrap();
    assert!(caught(&added, "Signature1").contains("form field Amount was added"));
    let removed = dir.join("field-removed.pdf");
    let list = format!("[ {sig} 0 R ]");
    std::fs::write(&removed, update(&first, &[(6, list.into_bytes())])).unwrap();
    assert!(caught(&removed, "Signature1").contains("a form field was removed"));
}

/// A Mohor signature co-signed by pyHanko: pyHanko raises the catalog's
/// /Version, adds its field to the form and its widget to the page. Mohor,
/// pyHanko and pdfsig accept both signatures.
#[test]
fn a_signature_co_signed_by_pyhanko_stays_acceptable() {
    let Some(dir) = ready("cosigned_by_pyhanko") else {
        return;
    };
    let first = signed(&dir, "signed", false, false);
    let both = dir.join("both.pdf");
    pdf_util::pyhanko_addsig(&first, &both, "Theirs", "ec256").unwrap();
    let (r, code, t) = mohor_report(&both, &root(), None);
    assert_eq!(code, 0, "{t}");
    let ours = &r["signatures"][0];
    assert_eq!(ours["field"], "Signature1", "{t}");
    assert_eq!(ours["modifications"], "acceptable", "{t}");
    assert!(
        ours["changes"]
            .to_string()
            .contains("signature field Theirs added"),
        "{t}"
    );
    two_signatures_pyhanko_and_pdfsig_accept(&both);
}

/// pyHanko and pdfsig find two signatures in `file` and accept both.
fn two_signatures_pyhanko_and_pdfsig_accept(file: &Path) {
    let (hanko, ht) = hanko_verdicts(file, &root());
    assert_eq!(hanko.len(), 2, "{ht}");
    assert!(
        hanko
            .iter()
            .all(|(_, v)| v.intact && v.trusted && v.modifications != "illegal"),
        "{ht}"
    );
    let report = pdfsig(file);
    assert_eq!(report.signatures.len(), 2, "{}", report.output);
    assert!(
        report.signatures.iter().all(|s| s.valid()),
        "{}",
        report.output
    );
}
