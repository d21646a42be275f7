//! The visible stamp: a Form XObject drawn into the widget's /AP /N, and
//! the automatic placement of stamps along the bottom of the last page.

use super::error::PdfError;
use super::filters::deflate;
use super::object::{format_real, Dict, ObjRef, Object};
use super::qr;
use super::revision::RevisionWriter;
use super::shaping::{has_indic, INDIC_SCALE};
use super::stamp_text::{wrap, Measure, TextWriter};

/// What the stamp says.
pub struct StampText {
    pub signer: String,
    /// Already formatted, e.g. `2026-11-23 15:20:11 +05:30`.
    pub when: String,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub issuer: String,
    /// A certificate's unique number (already validated), printed.
    pub uin: Option<String>,
    /// Drawn as a QR code beside the text.
    pub qr: Option<qr::Symbol>,
    /// Where the certificate can be verified, printed when the QR payload
    /// names one (the BSK order asks that it be shown).
    pub verify_url: Option<String>,
}

/// Default stamp size for automatic placement, in points: three fit side
/// by side on A4 and US Letter within the margins.
pub const AUTO_W: f64 = 172.0;
pub const AUTO_H: f64 = 70.0;
/// A certificate stamp holds a 3 cm QR code (85 pt plus its quiet zone):
/// 300 points wide and at least 118 high, taller when the symbol's quiet
/// zone and the address line need it ([`certificate_auto_size`]).
pub const AUTO_QR_W: f64 = 300.0;
pub const AUTO_QR_H: f64 = 118.0;

/// The automatic certificate stamp's size for a QR symbol `symbol_width`
/// modules wide and the address printed below it: tall enough for the
/// symbol at 3 cm, as the BSK order asks, with its four modules of quiet
/// zone on each side (the widest, 1.1 cm, on the smallest symbol) and the
/// "Verify at" lines. 118 points left the symbol 2.4 to 2.9 cm. Wider than
/// 300 points when the symbol's quiet zone would leave the text less than
/// [`AUTO_QR_TEXT_W`] beside it (the UIN line then broke after "UIN:").
pub fn certificate_auto_size(symbol_width: usize, verify_url: Option<&str>) -> (f64, f64) {
    // The padding of a box this size (see `write_stamp`).
    let pad = (AUTO_QR_W.min(AUTO_QR_H) * 0.07).clamp(1.5, 6.0);
    let width = symbol_width.max(1) as f64;
    let outer = qr::DEFAULT_SIDE * (width + 2.0 * qr::QUIET as f64) / width;
    let w = (3.0 * pad + outer + AUTO_QR_TEXT_W).ceil().max(AUTO_QR_W);
    let footer = verify_url
        .and_then(|url| footer_lines(&Measure::default(), url, w - 2.0 * pad))
        .map_or(0.0, |(lines, fs)| lines.len() as f64 * fs * 1.3);
    (w, (2.0 * pad + footer + outer).ceil().max(AUTO_QR_H))
}

/// The width the automatic certificate stamp leaves its text beside the QR
/// code, in points.
const AUTO_QR_TEXT_W: f64 = 190.0;
const AUTO_GAP: f64 = 10.0;

/// Colours: a deep blue frame, seal and name, grey details. No green and
/// no tick: a stamp is a picture anyone can copy onto another page, so it
/// must not look like a verdict on validity (docs/DECISIONS.md).
const FRAME: (f64, f64, f64) = (0.13, 0.27, 0.53);
const BACKGROUND: (f64, f64, f64) = (0.965, 0.975, 1.0);
const DETAIL: (f64, f64, f64) = (0.22, 0.22, 0.25);

struct Line {
    text: String,
    /// Relative size: the name is larger than the details.
    scale: f64,
    colour: (f64, f64, f64),
    bold: bool,
    /// The signer's name and a certificate's UIN: kept legible when long
    /// details shrink the rest (see [`KEY_MIN_SIZE`]).
    key: bool,
}

/// The smallest size, in points, of the signer's name and the UIN while the
/// box is tall enough: a reason and place of 500 characters each (what a
/// web page may send) once shrank the name in the automatic stamp to 4 pt,
/// which no one reads off a printed page. Details still shrink below it.
const KEY_MIN_SIZE: f64 = 7.0;

impl Line {
    /// This line's font size when the details are drawn at `base` points.
    fn size(&self, base: f64, key_floor: f64) -> f64 {
        let own = self.scale * base;
        if self.key {
            own.max(key_floor)
        } else {
            own
        }
    }
}

/// Write the stamp's Form XObject (and its fonts) for a box of `w` x `h`
/// page units as seen by the reader; `rotate` is the page's /Rotate, which
/// the form's /Matrix undoes so the text reads upright, and `unit` its
/// /UserUnit: the stamp is laid out in points (3 cm QR code, 7 pt floor)
/// and the /Matrix scales it to the page's units.
pub fn write_stamp(
    rw: &mut RevisionWriter,
    w: f64,
    h: f64,
    rotate: i64,
    unit: f64,
    text: &StampText,
) -> Result<ObjRef, PdfError> {
    let unit = if unit.is_finite() && unit > 0.0 {
        unit
    } else {
        1.0
    };
    let (w, h) = (w * unit, h * unit);
    let pad = (w.min(h) * 0.07).clamp(1.5, 6.0);
    let mut ops = String::new();

    // Frame: a light card with a thin border.
    ops.push_str(&format!(
        "q {} {} {} rg {} {} {} RG 0.9 w 0.45 0.45 {} {} re B Q\n",
        r(BACKGROUND.0),
        r(BACKGROUND.1),
        r(BACKGROUND.2),
        r(FRAME.0),
        r(FRAME.1),
        r(FRAME.2),
        r(w - 0.9),
        r(h - 0.9)
    ));

    let lines = lines(text);
    for l in &lines {
        super::shaping::check_fonts(&l.text)?;
    }

    // The verification address on one line across the foot of the stamp:
    // an address broken over lines cannot be typed back.
    let measure = Measure::default();
    let mut bottom = pad;
    let mut footer = None;
    if let Some(url) = &text.verify_url {
        super::shaping::check_fonts(url)?;
        let (lines, fs) = footer_lines(&measure, url, w - 2.0 * pad).ok_or_else(|| {
            PdfError::CannotStamp(format!(
                "the stamp box ({} x {} points) is too narrow for \"Verify at {url}\" at \
                 {KEY_MIN_SIZE} points, the smallest size a printed address is read at, even \
                 broken after a / ? & or = over {FOOTER_MAX_LINES} lines; give a wider box or a \
                 shorter address in the QR payload",
                r(w),
                r(h)
            ))
        })?;
        bottom = pad + fs * 1.3 * lines.len() as f64;
        footer = Some((lines, fs));
    }

    // The QR code on the right, 3 cm when the box allows.
    let mut right = w - pad;
    if let Some(sym) = &text.qr {
        let room = (h - pad - bottom).min(w * 0.5);
        let side =
            qr::DEFAULT_SIDE.min(room * sym.width as f64 / (sym.width + 2 * qr::QUIET) as f64);
        let outer = sym.outer(side);
        let x = w - pad - outer;
        ops.push_str(&sym.draw(x, bottom + (h - pad - bottom - outer) / 2.0, side));
        right = x - pad;
    }

    // A seal in a column on the left when the box is wide enough for it,
    // above the address lines (the whole height when there are none).
    let above = bottom - pad;
    let seal_h = h - above;
    let seal_col = if right > 4.0 * seal_h.min(90.0) * 0.55 && seal_h > 24.0 {
        (seal_h * 0.42).min(right * 0.2)
    } else {
        0.0
    };
    if seal_col > 0.0 {
        ops.push_str(&seal(
            pad + seal_col / 2.0,
            above + seal_h / 2.0,
            seal_col * 0.45,
        ));
    }
    let text_x = pad + seal_col + if seal_col > 0.0 { pad } else { 0.0 };
    let avail_w = (right - text_x).max(1.0);
    let avail_h = (h - pad - bottom).max(1.0);
    // At most a fifth of the height each, so that a small box still holds
    // the details too.
    let key_floor = KEY_MIN_SIZE.min(avail_h * 0.2);
    let Layout {
        size,
        key_floor,
        wrapped,
        fits,
    } = fit(&measure, &lines, avail_w, avail_h, key_floor);
    // Centre the block vertically; lines top-down.
    let total: f64 = wrapped
        .iter()
        .map(|(l, t)| line_height(l.size(size, key_floor), t))
        .sum();
    // Lines that do not fit run down over the foot of the stamp and then
    // out of the box, where the form's /BBox cuts them off: the UIN, drawn
    // last, first. A certificate whose printed number is cut off is not
    // made, nor one whose last lines (the UIN) are printed over the
    // verification address, which neither could then be read.
    let limit = if footer.is_some() { avail_h } else { h - pad };
    if !fits && (text.uin.is_some() || footer.is_some()) && total > limit {
        let lost = if footer.is_some() {
            "its last lines (the UIN) would be printed over the \"Verify at\" address"
        } else {
            "the UIN would be cut off at its edge"
        };
        return Err(PdfError::CannotStamp(format!(
            "the stamp box ({} x {} points) is too small for its text: even at {MIN_SIZE} points \
             {lost}; give a larger box (the automatic certificate stamp is {AUTO_QR_W} points \
             wide and at least {AUTO_QR_H} high) or a shorter reason and place",
            r(w),
            r(h)
        )));
    }
    let mut y = h - pad - (avail_h - total).max(0.0) / 2.0;
    let mut tw = TextWriter::default();
    tw.ops.push_str("BT\n");
    for (line, segment) in &wrapped {
        let fs = line.size(size, key_floor);
        let lh = line_height(fs, segment);
        y -= lh;
        let (cr, cg, cb) = line.colour;
        if line.bold {
            // Fill and stroke thinly: a bold weight without a second font.
            tw.ops.push_str(&format!(
                "2 Tr {} w {} {} {} RG ",
                r(fs * 0.035),
                r(cr),
                r(cg),
                r(cb)
            ));
        } else {
            tw.ops.push_str("0 Tr ");
        }
        tw.ops
            .push_str(&format!("{} {} {} rg\n", r(cr), r(cg), r(cb)));
        // The baseline leaves room below for descenders and vowel signs.
        tw.line(segment, text_x, y + lh * 0.212, fs)?;
    }
    if let Some((lines, fs)) = &footer {
        tw.ops.push_str(&format!(
            "0 Tr {} {} {} rg\n",
            r(DETAIL.0),
            r(DETAIL.1),
            r(DETAIL.2)
        ));
        for (i, line) in lines.iter().enumerate() {
            let above = (lines.len() - 1 - i) as f64;
            tw.line(line, pad, pad + fs * 0.25 + above * fs * 1.3, *fs)?;
        }
    }
    tw.ops.push_str("ET\n");
    ops.push_str(&tw.ops);

    let fonts = tw.embed_fonts(rw);
    let turn = match rotate {
        90 => [0.0, 1.0, -1.0, 0.0, h, 0.0],
        180 => [-1.0, 0.0, 0.0, -1.0, w, h],
        270 => [0.0, -1.0, 1.0, 0.0, 0.0, w],
        _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    };
    // Points to page units.
    let matrix = turn.map(|v| v / unit);
    let form_ref = rw.alloc();
    let dict = Dict::new()
        .with("Type", Object::name("XObject"))
        .with("Subtype", Object::name("Form"))
        .with(
            "BBox",
            Object::Array(vec![
                Object::Int(0),
                Object::Int(0),
                Object::real(w),
                Object::real(h),
            ]),
        )
        .with(
            "Matrix",
            Object::Array(matrix.iter().map(|v| Object::real(*v)).collect()),
        )
        .with(
            "Resources",
            Object::Dict(Dict::new().with("Font", Object::Dict(fonts)).with(
                "ProcSet",
                Object::Array(vec![Object::name("PDF"), Object::name("Text")]),
            )),
        )
        .with("Filter", Object::name("FlateDecode"));
    rw.stream(form_ref, dict, &deflate(ops.as_bytes()));
    Ok(form_ref)
}

/// Can a stamp draw these names from a certificate? They are known once a
/// certificate is chosen, before the PIN (a dry run lays the stamp out with
/// stand-ins): checked then, a name with a character no font has is refused
/// without a login. The same text `lines` draws.
pub fn check_names(signer: &str, issuer: &str) -> Result<(), PdfError> {
    super::shaping::check_fonts(signer)?;
    if !issuer.trim().is_empty() {
        super::shaping::check_fonts(&format!("Issuer: {issuer}"))?;
    }
    Ok(())
}

/// The stamp's lines: who signed and the facts, nothing that reads as a
/// verdict.
fn lines(text: &StampText) -> Vec<Line> {
    let mut lines = vec![
        Line {
            text: "Digitally signed by".into(),
            scale: 0.85,
            colour: FRAME,
            bold: false,
            key: false,
        },
        Line {
            text: text.signer.clone(),
            scale: 1.2,
            colour: FRAME,
            bold: true,
            key: true,
        },
    ];
    let detail = |label: &str, value: &str| Line {
        text: format!("{label}: {value}"),
        scale: 0.85,
        colour: DETAIL,
        bold: false,
        key: false,
    };
    lines.push(detail("Date", &text.when));
    if let Some(v) = text.reason.as_deref().filter(|v| !v.trim().is_empty()) {
        lines.push(detail("Reason", v));
    }
    if let Some(v) = text.location.as_deref().filter(|v| !v.trim().is_empty()) {
        lines.push(detail("Location", v));
    }
    if !text.issuer.trim().is_empty() {
        lines.push(detail("Issuer", &text.issuer));
    }
    if let Some(uin) = &text.uin {
        lines.push(Line {
            text: format!("UIN: {uin}"),
            scale: 1.0,
            colour: FRAME,
            bold: true,
            key: true,
        });
    }
    lines
}

/// The most lines the verification address may take at the foot of the
/// stamp.
const FOOTER_MAX_LINES: usize = 3;

/// "Verify at" and the address across the foot of a stamp `width` points
/// wide, and their size: on one line up to 8 points, never below
/// [`KEY_MIN_SIZE`] (a long address was drawn at 4.8 points, which no one
/// reads off a printed page). An address too long for one line at that
/// size is broken after a `/`, `?`, `&` or `=` (never inside a word, no
/// hyphen added, so the lines typed one after another give it back), on
/// at most [`FOOTER_MAX_LINES`] lines; `None` when it does not fit so.
fn footer_lines(m: &Measure, url: &str, width: f64) -> Option<(Vec<String>, f64)> {
    let line = format!("Verify at {url}");
    let em = m.width(&line, 1.0).max(0.1);
    let fs = (width / em).min(8.0);
    if fs >= KEY_MIN_SIZE {
        return Some((vec![line], fs));
    }
    let fs = KEY_MIN_SIZE;
    let mut lines = vec!["Verify at".to_string()];
    let mut pieces = url_pieces(url).into_iter();
    if let Some(first) = pieces.next() {
        // The address starts on the label's line when it fits there.
        let with_label = format!("Verify at {first}");
        if m.width(&with_label, fs) <= width {
            lines[0] = with_label;
        } else {
            lines.push(first);
        }
    }
    for piece in pieces {
        let last = lines.last_mut()?;
        let joined = format!("{last}{piece}");
        if m.width(&joined, fs) <= width {
            *last = joined;
        } else {
            lines.push(piece);
        }
    }
    let fits = lines.len() <= FOOTER_MAX_LINES && lines.iter().all(|l| m.width(l, fs) <= width);
    fits.then_some((lines, fs))
}

/// `url` cut after each run of `/`, `?`, `&` and `=`: where a line may
/// break.
fn url_pieces(url: &str) -> Vec<String> {
    let is_break = |c: char| matches!(c, '/' | '?' | '&' | '=');
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = url.chars().peekable();
    while let Some(c) = chars.next() {
        cur.push(c);
        if is_break(c) && !chars.peek().is_some_and(|&n| is_break(n)) {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A rosette seal in the frame's colour: a serrated disc with a ring.
fn seal(cx: f64, cy: f64, radius: f64) -> String {
    let mut ops = format!("q {} {} {} rg ", r(FRAME.0), r(FRAME.1), r(FRAME.2));
    let points = 32;
    for i in 0..points {
        let a = std::f64::consts::TAU * i as f64 / points as f64;
        let rad = if i % 2 == 0 { radius } else { radius * 0.9 };
        let op = if i == 0 { "m" } else { "l" };
        ops.push_str(&format!(
            "{} {} {op} ",
            r(cx + rad * a.cos()),
            r(cy + rad * a.sin())
        ));
    }
    ops.push_str("h f 1 1 1 rg ");
    ops.push_str(&circle(cx, cy, radius * 0.74));
    ops.push_str(&format!(
        "f {} {} {} RG {} w ",
        r(FRAME.0),
        r(FRAME.1),
        r(FRAME.2),
        r(radius * 0.06)
    ));
    ops.push_str(&circle(cx, cy, radius * 0.6));
    ops.push_str("S ");
    ops.push_str(&format!("{} {} {} rg ", r(FRAME.0), r(FRAME.1), r(FRAME.2)));
    ops.push_str(&circle(cx, cy, radius * 0.3));
    ops.push_str("f Q\n");
    ops
}

/// A circle as four Bézier arcs.
fn circle(cx: f64, cy: f64, rad: f64) -> String {
    let k = rad * 0.552_284_8;
    format!(
        "{} {} m {} {} {} {} {} {} c {} {} {} {} {} {} c {} {} {} {} {} {} c {} {} {} {} {} {} c h ",
        r(cx + rad), r(cy),
        r(cx + rad), r(cy + k), r(cx + k), r(cy + rad), r(cx), r(cy + rad),
        r(cx - k), r(cy + rad), r(cx - rad), r(cy + k), r(cx - rad), r(cy),
        r(cx - rad), r(cy - k), r(cx - k), r(cy - rad), r(cx), r(cy - rad),
        r(cx + k), r(cy - rad), r(cx + rad), r(cy - k), r(cx + rad), r(cy),
    )
}

fn r(v: f64) -> String {
    format_real(v)
}

/// The height of a line of `text` at `font_size` points. Indian scripts are
/// drawn larger and stack vowel signs above and below the letters: their
/// lines get more room.
fn line_height(font_size: f64, text: &str) -> f64 {
    let lead = if has_indic(text) {
        1.18 * INDIC_SCALE * 1.1
    } else {
        1.18
    };
    font_size * lead
}

/// The smallest size the details are drawn at.
const MIN_SIZE: f64 = 2.0;

/// The stamp's lines as [`fit`] chose them.
struct Layout<'a> {
    /// The details' font size.
    size: f64,
    /// The key lines' smallest size (see [`Line::size`]).
    key_floor: f64,
    wrapped: Vec<(&'a Line, String)>,
    /// Whether they fit the box; when not, they are at the smallest sizes.
    fits: bool,
}

/// Choose the largest font size at which the wrapped lines fit the box,
/// the key lines no smaller than `key_floor`. When even the smallest
/// details leave no room for key lines that large, the key lines shrink
/// too: a small box must not lose its last lines to a larger name.
fn fit<'a>(m: &Measure, lines: &'a [Line], w: f64, h: f64, key_floor: f64) -> Layout<'a> {
    let lay_out = |size: f64, floor: f64| -> (Vec<(&'a Line, String)>, f64) {
        let wrapped: Vec<(&Line, String)> = lines
            .iter()
            .flat_map(|l| {
                wrap(m, &l.text, l.size(size, floor), w)
                    .into_iter()
                    .map(move |s| (l, s))
            })
            .collect();
        let height = wrapped
            .iter()
            .map(|(l, t)| line_height(l.size(size, floor), t))
            .sum();
        (wrapped, height)
    };
    // A key line broken over two ("UIN:" above the number) is avoided
    // while a smaller size keeps it whole above its floor.
    let whole = |wrapped: &[(&Line, String)]| {
        lines
            .iter()
            .filter(|l| l.key)
            .all(|l| wrapped.iter().filter(|(w, _)| std::ptr::eq(*w, l)).count() <= 1)
    };
    for (floor, keep_whole) in [(key_floor, true), (key_floor, false), (0.0, false)] {
        // Large boxes get large text (up to 16 pt), which stays legible
        // when the page is printed, scanned or photographed.
        let mut size = 16.0;
        while size >= MIN_SIZE {
            let (wrapped, height) = lay_out(size, floor);
            if height <= h && (!keep_whole || whole(&wrapped)) {
                return Layout {
                    size,
                    key_floor: floor,
                    wrapped,
                    fits: true,
                };
            }
            size -= 0.25;
        }
    }
    let (wrapped, _) = lay_out(MIN_SIZE, 0.0);
    Layout {
        size: MIN_SIZE,
        key_floor: 0.0,
        wrapped,
        fits: false,
    }
}

/// A rectangle `[x0, y0, x1, y1]` in default user space.
pub type Rect = [f64; 4];

pub fn overlaps(a: &Rect, b: &Rect) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// Map a rectangle given as seen by the reader (origin at the bottom left of
/// the displayed page) to default user space, for a page with `view_box`
/// shown rotated clockwise by `rotate` degrees.
pub fn visual_to_user(view_box: &Rect, rotate: i64, v: &Rect) -> Rect {
    let [x0, y0, x1, y1] = *view_box;
    let map = |u: f64, w: f64| -> (f64, f64) {
        match rotate {
            90 => (x1 - w, y0 + u),
            180 => (x1 - u, y1 - w),
            270 => (x0 + w, y1 - u),
            _ => (x0 + u, y0 + w),
        }
    };
    let (ax, ay) = map(v[0], v[1]);
    let (bx, by) = map(v[2], v[3]);
    [ax.min(bx), ay.min(by), ax.max(bx), ay.max(by)]
}

/// Size of the page as seen by the reader.
pub fn visual_size(view_box: &Rect, rotate: i64) -> (f64, f64) {
    let (w, h) = (view_box[2] - view_box[0], view_box[3] - view_box[1]);
    if rotate == 90 || rotate == 270 {
        (h, w)
    } else {
        (w, h)
    }
}

/// The first free slot, left to right and bottom up, for a stamp on a page
/// where `taken` rectangles (user space) are already occupied. Returns the
/// rectangle in user space and the stamp's visual width and height.
pub fn auto_place(
    view_box: &Rect,
    rotate: i64,
    taken: &[Rect],
    (auto_w, auto_h): (f64, f64),
) -> Option<(Rect, f64, f64)> {
    let (pw, ph) = visual_size(view_box, rotate);
    let margin = (pw.min(ph) * 0.04).clamp(8.0, 28.0);
    // Full size first; smaller stamps when the bottom of the page is full
    // (small pages, many signatories).
    for scale in [1.0, 0.8, 0.65, 0.5] {
        let sw = (auto_w * scale).min(pw - 2.0 * margin);
        let sh = (auto_h * scale).min(ph - 2.0 * margin);
        if sw < 40.0 || sh < 20.0 {
            return None;
        }
        let gap = AUTO_GAP * scale;
        let mut y = margin;
        while y + sh <= ph - margin {
            let mut x = margin;
            while x + sw <= pw - margin {
                let visual = [x, y, x + sw, y + sh];
                let user = visual_to_user(view_box, rotate, &visual);
                let padded = [user[0] - 2.0, user[1] - 2.0, user[2] + 2.0, user[3] + 2.0];
                if !taken.iter().any(|t| overlaps(&padded, t)) {
                    return Some((user, sw, sh));
                }
                x += sw + gap;
            }
            y += sh + gap;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_address_wraps_after_slashes_at_the_floor() {
        let m = Measure::default();
        let url = "https://edistrict.wb.gov.in/PACAdmin/public/verification/certificateVerification.do?uin=AMD0152022000001&lang=en";
        let (lines, fs) = footer_lines(&m, url, 288.0).unwrap();
        assert_eq!(fs, KEY_MIN_SIZE);
        assert!(lines.len() > 1, "{lines:?}");
        assert_eq!(lines.concat(), format!("Verify at {url}"));
        for l in &lines[..lines.len() - 1] {
            assert!(
                l.ends_with(['/', '?', '&', '=']) || l == "Verify at",
                "{lines:?}"
            );
        }
        let short = "https://bsk.wb.gov.in/verify/AMD0152022000001";
        let (lines, fs) = footer_lines(&m, short, 288.0).unwrap();
        assert_eq!(lines.len(), 1);
        assert!(fs >= KEY_MIN_SIZE);
        let unbreakable = format!("https://bsk.wb.gov.in/{}", "x".repeat(120));
        assert!(footer_lines(&m, &unbreakable, 288.0).is_none());
        assert_eq!(url_pieces("https://a/b"), vec!["https://", "a/", "b"]);
    }

    #[test]
    fn stamps_stack_side_by_side_then_upwards() {
        let page = [0.0, 0.0, 595.0, 842.0];
        let mut taken = Vec::new();
        for _ in 0..4 {
            let (r, _, _) = auto_place(&page, 0, &taken, (AUTO_W, AUTO_H)).unwrap();
            assert!(!taken.iter().any(|t| overlaps(&r, t)));
            taken.push(r);
        }
        assert_eq!(taken[0][1], taken[1][1]);
        assert!(taken[2][1] > taken[0][1] || taken[2][0] > taken[1][0]);
    }

    #[test]
    fn rotated_pages_map_into_the_view_box() {
        let page = [0.0, 0.0, 595.0, 842.0];
        for rot in [0, 90, 180, 270] {
            let (r, _, _) = auto_place(&page, rot, &[], (AUTO_W, AUTO_H)).unwrap();
            assert!(
                r[0] >= 0.0 && r[2] <= 595.0 && r[1] >= 0.0 && r[3] <= 842.0,
                "{rot}: {r:?}"
            );
        }
    }
}
