//! The visible stamp: a Form XObject drawn into the widget's /AP /N, and
//! the automatic placement of stamps along the bottom of the last page.

use std::collections::BTreeMap;

use super::filters::deflate;
use super::font::Font;
use super::object::{format_real, Dict, ObjRef, Object};
use super::revision::RevisionWriter;

/// What the stamp says.
pub struct StampText {
    pub signer: String,
    /// Already formatted, e.g. `2026-11-23 15:20:11 +05:30`.
    pub when: String,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub issuer: String,
}

/// Default stamp size for automatic placement, in points: three fit side
/// by side on A4 and US Letter within the margins.
pub const AUTO_W: f64 = 172.0;
pub const AUTO_H: f64 = 70.0;
const AUTO_GAP: f64 = 10.0;

/// Colours: a deep blue frame and name, grey details, a green tick.
const FRAME: (f64, f64, f64) = (0.13, 0.27, 0.53);
const BACKGROUND: (f64, f64, f64) = (0.965, 0.975, 1.0);
const DETAIL: (f64, f64, f64) = (0.22, 0.22, 0.25);
const TICK: (f64, f64, f64) = (0.10, 0.55, 0.25);

struct Line {
    text: String,
    /// Relative size: the name is larger than the details.
    scale: f64,
    colour: (f64, f64, f64),
    bold: bool,
}

/// Write the stamp's Form XObject (and its font) for a box of `w` x `h`
/// points as seen by the reader; `rotate` is the page's /Rotate, which the
/// form's /Matrix undoes so the text reads upright.
pub fn write_stamp(
    rw: &mut RevisionWriter,
    font: &Font,
    w: f64,
    h: f64,
    rotate: i64,
    text: &StampText,
) -> ObjRef {
    let pad = (w.min(h) * 0.07).clamp(1.5, 6.0);
    let mut used: BTreeMap<u16, char> = BTreeMap::new();
    let mut ops = String::new();

    // Frame: a light card with a thin border, and a tick as the seal mark.
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

    let mut lines = vec![Line {
        text: "Digitally signed by".into(),
        scale: 0.85,
        colour: FRAME,
        bold: false,
    }];
    lines.push(Line {
        text: text.signer.clone(),
        scale: 1.2,
        colour: FRAME,
        bold: true,
    });
    let detail = |label: &str, value: &str| Line {
        text: format!("{label}: {value}"),
        scale: 0.85,
        colour: DETAIL,
        bold: false,
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

    // A tick in a column on the left when the box is wide enough for it.
    let tick_col = if w > 4.0 * h.min(90.0) * 0.55 && h > 24.0 {
        (h * 0.42).min(w * 0.2)
    } else {
        0.0
    };
    let text_x = pad + tick_col;
    let avail_w = (w - text_x - pad).max(1.0);
    let avail_h = (h - 2.0 * pad).max(1.0);
    let (size, wrapped) = fit(font, &lines, avail_w, avail_h);

    if tick_col > 0.0 {
        let tick_size = tick_col * 0.95;
        if let Some(g) = font.glyph('\u{2714}') {
            used.insert(g, '\u{2714}');
            ops.push_str(&format!(
                "BT /F1 {} Tf {} {} {} rg {} {} Td <{:04X}> Tj ET\n",
                r(tick_size),
                r(TICK.0),
                r(TICK.1),
                r(TICK.2),
                r(pad + (tick_col - font.text_width("\u{2714}", tick_size)) / 2.0),
                r((h - tick_size * 0.75) / 2.0),
                g
            ));
        }
    }

    // Centre the block vertically; lines top-down.
    let total: f64 = wrapped.iter().map(|(l, _)| l.scale * size * 1.18).sum();
    let mut y = h - pad - (avail_h - total).max(0.0) / 2.0;
    ops.push_str("BT\n");
    for (line, segment) in &wrapped {
        let fs = line.scale * size;
        y -= fs * 1.18;
        let baseline = y + fs * 0.25;
        let mut hex = String::new();
        for c in segment.chars() {
            let (g, ch) = match font.glyph(c) {
                Some(g) => (g, c),
                None => (font.glyph('?').unwrap_or(0), '?'),
            };
            used.insert(g, ch);
            hex.push_str(&format!("{g:04X}"));
        }
        let (cr, cg, cb) = line.colour;
        if line.bold {
            // Fill and stroke thinly: a bold weight without a second font.
            ops.push_str(&format!(
                "2 Tr {} w {} {} {} RG ",
                r(fs * 0.035),
                r(cr),
                r(cg),
                r(cb)
            ));
        } else {
            ops.push_str("0 Tr ");
        }
        ops.push_str(&format!(
            "/F1 {} Tf {} {} {} rg 1 0 0 1 {} {} Tm <{}> Tj\n",
            r(fs),
            r(cr),
            r(cg),
            r(cb),
            r(text_x),
            r(baseline),
            hex
        ));
    }
    ops.push_str("ET\n");

    let font_ref = font.embed(rw, &used);
    let matrix = match rotate {
        90 => [0.0, 1.0, -1.0, 0.0, h, 0.0],
        180 => [-1.0, 0.0, 0.0, -1.0, w, h],
        270 => [0.0, -1.0, 1.0, 0.0, 0.0, w],
        _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    };
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
            Object::Dict(
                Dict::new()
                    .with(
                        "Font",
                        Object::Dict(Dict::new().with("F1", Object::Ref(font_ref))),
                    )
                    .with(
                        "ProcSet",
                        Object::Array(vec![Object::name("PDF"), Object::name("Text")]),
                    ),
            ),
        )
        .with("Filter", Object::name("FlateDecode"));
    rw.stream(form_ref, dict, &deflate(ops.as_bytes()));
    form_ref
}

fn r(v: f64) -> String {
    format_real(v)
}

/// Choose the largest font size at which the wrapped lines fit the box.
fn fit<'a>(font: &Font, lines: &'a [Line], w: f64, h: f64) -> (f64, Vec<(&'a Line, String)>) {
    let mut size = 11.0;
    loop {
        let wrapped: Vec<(&Line, String)> = lines
            .iter()
            .flat_map(|l| {
                wrap(font, &l.text, l.scale * size, w)
                    .into_iter()
                    .map(move |s| (l, s))
            })
            .collect();
        let height: f64 = wrapped.iter().map(|(l, _)| l.scale * size * 1.18).sum();
        if height <= h || size <= 2.0 {
            return (size, wrapped);
        }
        size -= 0.25;
    }
}

/// Greedy word wrap; words longer than a line are broken by characters.
fn wrap(font: &Font, text: &str, size: f64, width: f64) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    // A lone symbol (₹, #, -) stays on the line of the word after it, so
    // an amount never wraps away from its currency sign.
    let mut words: Vec<String> = Vec::new();
    let mut glue = false;
    for w in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if glue => {
                last.push(' ');
                last.push_str(w);
            }
            _ => words.push(w.to_string()),
        }
        let mut chars = w.chars();
        glue = matches!((chars.next(), chars.next()), (Some(c), None) if !c.is_alphanumeric());
    }
    for word in words.iter().map(String::as_str) {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if font.text_width(&candidate, size) <= width {
            cur = candidate;
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if font.text_width(word, size) <= width {
            cur = word.to_string();
        } else {
            for c in word.chars() {
                let mut next = cur.clone();
                next.push(c);
                if font.text_width(&next, size) > width && !cur.is_empty() {
                    out.push(std::mem::replace(&mut cur, c.to_string()));
                } else {
                    cur = next;
                }
            }
        }
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
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
pub fn auto_place(view_box: &Rect, rotate: i64, taken: &[Rect]) -> Option<(Rect, f64, f64)> {
    let (pw, ph) = visual_size(view_box, rotate);
    let margin = (pw.min(ph) * 0.04).clamp(8.0, 28.0);
    // Full size first; smaller stamps when the bottom of the page is full
    // (small pages, many signatories).
    for scale in [1.0, 0.8, 0.65, 0.5] {
        let sw = (AUTO_W * scale).min(pw - 2.0 * margin);
        let sh = (AUTO_H * scale).min(ph - 2.0 * margin);
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
    fn stamps_stack_side_by_side_then_upwards() {
        let page = [0.0, 0.0, 595.0, 842.0];
        let mut taken = Vec::new();
        for _ in 0..4 {
            let (r, _, _) = auto_place(&page, 0, &taken).unwrap();
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
            let (r, _, _) = auto_place(&page, rot, &[]).unwrap();
            assert!(
                r[0] >= 0.0 && r[2] <= 595.0 && r[1] >= 0.0 && r[3] <= 842.0,
                "{rot}: {r:?}"
            );
        }
    }

    #[test]
    fn currency_sign_stays_with_its_amount() {
        let f = Font::dejavu_sans().unwrap();
        let width = f.text_width("Approved for payment of", 8.0) + 2.0;
        let lines = wrap(&f, "Approved for payment of ₹ 1,20,000", 8.0, width);
        assert_eq!(lines, vec!["Approved for payment of", "₹ 1,20,000"]);
    }

    #[test]
    fn long_words_wrap_by_character() {
        let f = Font::dejavu_sans().unwrap();
        let lines = wrap(
            &f,
            "Averyveryveryverylongwordwithoutspaces and more",
            10.0,
            60.0,
        );
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(f.text_width(l, 10.0) <= 60.0 || l.chars().count() == 1);
        }
    }
}
