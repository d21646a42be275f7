//! Shaped text in the stamp: measuring and wrapping lines, and writing the
//! glyphs so that the text copies out as typed (a ToUnicode entry per
//! glyph that stands for its own text, /ActualText for every cluster whose
//! glyphs do not map one to one, such as a conjunct or a reordered vowel
//! sign).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use super::error::PdfError;
use super::font::Font;
use super::object::{format_real, Dict, Object};
use super::revision::RevisionWriter;
use super::scripts;
use super::shaping::{self, Glyph};

/// Widths of texts in em, shaped once each (fitting tries many sizes).
#[derive(Default)]
pub struct Measure {
    cache: RefCell<HashMap<String, f64>>,
}

impl Measure {
    pub fn width(&self, text: &str, size: f64) -> f64 {
        if let Some(w) = self.cache.borrow().get(text) {
            return w * size;
        }
        let w = shaping::shape(text).map_or(0.0, |s| s.width());
        self.cache.borrow_mut().insert(text.to_string(), w);
        w * size
    }
}

/// Greedy word wrap; words longer than a line are broken between
/// syllables (never inside a conjunct or before a vowel sign).
pub fn wrap(m: &Measure, text: &str, size: f64, width: f64) -> Vec<String> {
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
        if m.width(&candidate, size) <= width {
            cur = candidate;
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if m.width(word, size) <= width {
            cur = word.to_string();
            continue;
        }
        for piece in syllables(word) {
            let next = format!("{cur}{piece}");
            if m.width(&next, size) > width && !cur.is_empty() {
                out.push(std::mem::replace(&mut cur, piece));
            } else {
                cur = next;
            }
        }
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// `word` cut where a line may break.
fn syllables(word: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    for c in word.chars() {
        match (out.last_mut(), prev) {
            (Some(last), Some(p)) if !scripts::may_break_between(p, c) => last.push(c),
            _ => out.push(c.to_string()),
        }
        prev = Some(c);
    }
    out
}

/// The stamp's text operators and the fonts they use.
#[derive(Default)]
pub struct TextWriter {
    /// Each font used (resource `/F1`, `/F2`...) and, per glyph, the text
    /// for its ToUnicode entry.
    fonts: Vec<(&'static Font, BTreeMap<u16, Option<String>>)>,
    pub ops: String,
}

impl TextWriter {
    /// Draw `text` with its baseline starting at (`x`, `y`), `size` points,
    /// inside a BT/ET the caller opened.
    pub fn line(&mut self, text: &str, x: f64, y: f64, size: f64) -> Result<(), PdfError> {
        let shaped = shaping::shape(text)?;
        let r = format_real;
        let mut pen = x;
        for run in &shaped.runs {
            let f = self.font_index(run.font);
            let run_size = size * run.scale;
            self.ops
                .push_str(&format!("/F{} {} Tf\n", f + 1, r(run_size)));
            // Where the PDF's own text position is after the last glyph
            // shown (its /W width), to move only where shaping differs.
            let mut pdf_at: Option<(f64, f64)> = None;
            let mut pending = String::new();
            let tolerance = size * 0.002;
            for word in words(&run.clusters()) {
                // One /ActualText per word that has a cluster whose glyphs
                // do not map one to one: readers take a span's extent from
                // its first and last glyph, and per-cluster spans ending
                // on a vowel sign drawn inside the letter read as spaces
                // inside the word.
                let mut actual = false;
                for (cluster_text, glyphs) in &word {
                    actual |= self.needs_actual_text(f, cluster_text, glyphs);
                }
                if actual {
                    flush(&mut self.ops, &mut pending);
                    let text: String = word.iter().map(|(t, _)| *t).collect();
                    self.ops.push_str(&format!(
                        "/Span << /ActualText <FEFF{}> >> BDC\n",
                        utf16_hex(&text)
                    ));
                }
                for g in word.iter().flat_map(|(_, glyphs)| glyphs.iter()) {
                    let (gx, gy) = (pen + g.dx * size, y + g.dy * size);
                    pen += g.advance * size;
                    let close = pdf_at.is_some_and(|(px, py)| {
                        (px - gx).abs() < tolerance && (py - gy).abs() < tolerance
                    });
                    if !close {
                        flush(&mut self.ops, &mut pending);
                        self.ops
                            .push_str(&format!("1 0 0 1 {} {} Tm\n", r(gx), r(gy)));
                    }
                    pending.push_str(&format!("{:04X}", g.gid));
                    pdf_at = Some((gx + run.font.pdf_width(g.gid) * run_size, gy));
                }
                if actual {
                    flush(&mut self.ops, &mut pending);
                    self.ops.push_str("EMC\n");
                }
            }
            flush(&mut self.ops, &mut pending);
        }
        Ok(())
    }

    fn font_index(&mut self, font: &'static Font) -> usize {
        match self.fonts.iter().position(|(f, _)| std::ptr::eq(*f, font)) {
            Some(i) => i,
            None => {
                self.fonts.push((font, BTreeMap::new()));
                self.fonts.len() - 1
            }
        }
    }

    /// Record the glyphs' text; whether the cluster needs /ActualText
    /// because its glyphs cannot say it through ToUnicode alone.
    fn needs_actual_text(&mut self, font: usize, text: &str, glyphs: &[Glyph]) -> bool {
        let Some((_, map)) = self.fonts.get_mut(font) else {
            return true;
        };
        match glyphs {
            [g] => {
                let entry = map.entry(g.gid).or_insert(None);
                match entry {
                    None => {
                        *entry = Some(text.to_string());
                        false
                    }
                    Some(t) => t != text,
                }
            }
            _ => {
                for g in glyphs {
                    map.entry(g.gid).or_insert(None);
                }
                true
            }
        }
    }

    /// Embed the fonts used and return the /Font resource dictionary.
    pub fn embed_fonts(&self, rw: &mut RevisionWriter) -> Dict {
        let mut d = Dict::new();
        for (i, (font, used)) in self.fonts.iter().enumerate() {
            let r = font.embed(rw, used);
            d = d.with(&format!("F{}", i + 1), Object::Ref(r));
        }
        d
    }
}

/// Clusters grouped into words: a run of clusters that are not spaces, or
/// one space.
fn words<'a>(clusters: &[(&'a str, &'a [Glyph])]) -> Vec<Vec<(&'a str, &'a [Glyph])>> {
    let mut out: Vec<Vec<(&str, &[Glyph])>> = Vec::new();
    let mut in_word = false;
    for c in clusters {
        let space = c.0.chars().all(char::is_whitespace);
        match out.last_mut() {
            Some(w) if in_word && !space => w.push(*c),
            _ => out.push(vec![*c]),
        }
        in_word = !space;
    }
    out
}

fn flush(ops: &mut String, pending: &mut String) {
    if !pending.is_empty() {
        ops.push_str(&format!("<{pending}> Tj\n"));
        pending.clear();
    }
}

fn utf16_hex(text: &str) -> String {
    text.encode_utf16().map(|u| format!("{u:04X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_sign_stays_with_its_amount() {
        let m = Measure::default();
        let width = m.width("Approved for payment of", 8.0) + 2.0;
        let lines = wrap(&m, "Approved for payment of ₹ 1,20,000", 8.0, width);
        assert_eq!(lines, vec!["Approved for payment of", "₹ 1,20,000"]);
    }

    #[test]
    fn long_words_wrap_by_character() {
        let m = Measure::default();
        let lines = wrap(
            &m,
            "Averyveryveryverylongwordwithoutspaces and more",
            10.0,
            60.0,
        );
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(m.width(l, 10.0) <= 60.0 || l.chars().count() == 1);
        }
    }

    #[test]
    fn long_hindi_words_break_between_syllables() {
        let word = "प्रमाणपत्रक्षिप्रस्वीकृत";
        let m = Measure::default();
        let lines = wrap(&m, word, 10.0, m.width(word, 10.0) / 3.0);
        assert!(lines.len() >= 3, "{lines:?}");
        assert_eq!(lines.concat(), word);
        for l in &lines {
            let first = l.chars().next().unwrap();
            assert!(
                !matches!(first, '्' | 'ि' | 'ा' | 'ी' | 'ृ') && !l.starts_with('\u{94d}'),
                "{lines:?}"
            );
        }
    }

    #[test]
    fn words_with_conjuncts_get_actual_text() {
        let mut w = TextWriter::default();
        w.line("क्षिति Pune", 0.0, 0.0, 10.0).unwrap();
        assert!(
            w.ops
                .contains(&format!("/ActualText <FEFF{}>", utf16_hex("क्षिति"))),
            "{}",
            w.ops
        );
        // Latin maps one to one: no ActualText for it.
        assert!(!w.ops.contains(&format!("<FEFF{}>", utf16_hex("P"))));
        assert_eq!(w.fonts.len(), 2);
    }
}
