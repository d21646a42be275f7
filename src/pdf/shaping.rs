//! Text to positioned glyphs: split into runs of one script, each run
//! shaped with HarfRust in its script's font, so that conjuncts, reordered
//! vowel signs and reph come out as a reader expects them.

use super::error::PdfError;
use super::font::Font;
use super::scripts::{self, Script};

/// One glyph, in em units (multiply by the font size for points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glyph {
    pub gid: u16,
    /// Byte offset in the run's text of the cluster this glyph belongs to.
    pub cluster: usize,
    pub advance: f64,
    pub dx: f64,
    pub dy: f64,
}

/// Indian scripts are drawn this much larger than Latin: Noto's Indian
/// faces sit small beside DejaVu Sans's large x-height, and their vowel
/// signs and conjuncts need the size to stay legible (and readable by OCR).
pub const INDIC_SCALE: f64 = 1.15;

/// A stretch of text in one font, shaped.
pub struct Run {
    pub font: &'static Font,
    /// Size relative to the line's ([`INDIC_SCALE`] or 1); the glyphs'
    /// metrics are already multiplied by it.
    pub scale: f64,
    pub text: String,
    pub glyphs: Vec<Glyph>,
}

impl Run {
    pub fn width(&self) -> f64 {
        self.glyphs.iter().map(|g| g.advance).sum()
    }

    /// The glyphs grouped by cluster, each with the text it stands for.
    pub fn clusters(&self) -> Vec<(&str, &[Glyph])> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < self.glyphs.len() {
            let c = self.glyphs[start].cluster;
            let mut end = start + 1;
            while end < self.glyphs.len() && self.glyphs[end].cluster == c {
                end += 1;
            }
            // Clusters are monotone for left-to-right text: the text of
            // this one ends where the next begins.
            let text_end = self
                .glyphs
                .get(end)
                .map_or(self.text.len(), |g| g.cluster)
                .max(c);
            let text = self.text.get(c..text_end).unwrap_or("");
            out.push((text, &self.glyphs[start..end]));
            start = end;
        }
        out
    }
}

/// A shaped line of text.
pub struct Shaped {
    pub runs: Vec<Run>,
}

impl Shaped {
    pub fn width(&self) -> f64 {
        self.runs.iter().map(Run::width).sum()
    }
}

/// Whether `text` holds any Indian script (its line needs more room).
pub fn has_indic(text: &str) -> bool {
    text.chars()
        .any(|c| Script::of(c).is_some_and(|s| s != Script::Latin))
}

/// Shape `text`; an error names a script whose font is not installed.
pub fn shape(text: &str) -> Result<Shaped, PdfError> {
    let latin = scripts::font_for(Script::Latin)
        .ok_or_else(|| PdfError::Internal("the built-in font is unreadable".into()))?;
    let mut runs = Vec::new();
    for (script, piece) in split(text) {
        let font = match script {
            Script::Latin => latin,
            s => scripts::font_for(s).ok_or_else(|| missing_font(s))?,
        };
        for (in_font, part) in by_coverage(font, latin, &piece)? {
            let scale = if std::ptr::eq(in_font, latin) {
                1.0
            } else {
                INDIC_SCALE
            };
            runs.push(shape_run(in_font, scale, part)?);
        }
    }
    Ok(Shaped { runs })
}

/// Whether every character of `text` can be drawn as typed: its script
/// has a font installed, and that font or the built-in Latin one has a
/// glyph for it (checked before anyone is asked for a PIN).
pub fn check_fonts(text: &str) -> Result<(), PdfError> {
    let latin = scripts::font_for(Script::Latin)
        .ok_or_else(|| PdfError::Internal("the built-in font is unreadable".into()))?;
    for (script, piece) in split(text) {
        let font = match script {
            Script::Latin => latin,
            s => scripts::font_for(s).ok_or_else(|| missing_font(s))?,
        };
        by_coverage(font, latin, &piece)?;
    }
    Ok(())
}

fn missing_font(s: Script) -> PdfError {
    PdfError::CannotStamp(format!(
        "the stamp's text is in {} script and no font for it is installed: install Noto Sans {} \
         (Debian/Ubuntu: fonts-noto-core) or put NotoSans{}-Regular.ttf in MOHOR_FONT_DIR",
        s.name(),
        s.name(),
        s.file_stem()
    ))
}

/// Runs of one script; characters common to all scripts join the run
/// before them (or the first run, at the start).
fn split(text: &str) -> Vec<(Script, String)> {
    let mut runs: Vec<(Script, String)> = Vec::new();
    let mut pending = String::new();
    for c in text.chars() {
        match Script::of(c) {
            None => match runs.last_mut() {
                Some((_, s)) => s.push(c),
                None => pending.push(c),
            },
            Some(script) => match runs.last_mut() {
                Some((s, t)) if *s == script => t.push(c),
                _ => {
                    let mut t = std::mem::take(&mut pending);
                    t.push(c);
                    runs.push((script, t));
                }
            },
        }
    }
    if !pending.is_empty() {
        runs.push((Script::Latin, pending));
    }
    runs
}

/// Split a run where its font lacks a character (a ₹ or a digit in a face
/// made for one script) so that the Latin font draws that part. A
/// character neither font has, or one of a right-to-left script, is
/// refused: drawn as `?` (as it once was) or in the wrong order, the stamp
/// would say something other than what the person approved, and copy out
/// wrong too.
fn by_coverage(
    font: &'static Font,
    latin: &'static Font,
    text: &str,
) -> Result<Vec<(&'static Font, String)>, PdfError> {
    let mut out: Vec<(&'static Font, String)> = Vec::new();
    for c in text.chars() {
        let f = if is_right_to_left(c) {
            return Err(cannot_draw(c, "it is written right to left"));
        } else if font.glyph(c).is_some() || scripts::is_joiner(c) {
            font
        } else if latin.glyph(c).is_some() || c.is_whitespace() {
            // Whitespace only separates words: wrapping drops it.
            latin
        } else {
            return Err(cannot_draw(c, "no font Mohor uses has it"));
        };
        match out.last_mut() {
            Some((last, t)) if std::ptr::eq(*last, f) => t.push(c),
            _ => out.push((f, c.to_string())),
        }
    }
    Ok(out)
}

/// Hebrew, Arabic (Urdu, Kashmiri, Sindhi), Syriac, Thaana, N'Ko and
/// their presentation forms and historic blocks. The stamp lays a line out
/// left to right; such text would be drawn and copied in the wrong order.
fn is_right_to_left(c: char) -> bool {
    matches!(u32::from(c),
        0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

fn cannot_draw(c: char, why: &str) -> PdfError {
    PdfError::CannotStamp(format!(
        "the stamp's text holds \"{}\" (U+{:04X}), which the stamp cannot draw ({why}): \
         it draws Latin and the Indian scripts Noto covers (Devanagari, Bengali, Gurmukhi, \
         Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Ol Chiki); write the reason and \
         place in one of those",
        c.escape_debug(),
        u32::from(c)
    ))
}

fn shape_run(font: &'static Font, scale: f64, text: String) -> Result<Run, PdfError> {
    let face = harfrust::ShaperFont::new(font.shaper_face());
    let mut buffer = harfrust::Buffer::new();
    buffer.push_str(&text);
    buffer.guess_segment_properties();
    if buffer.direction() == harfrust::Direction::Invalid {
        buffer.set_direction(harfrust::Direction::LeftToRight);
    }
    harfrust::shape(&face, &mut buffer, harfrust::ShapeOptions::new())
        .map_err(|e| PdfError::Internal(format!("shaping the stamp's text: {e:?}")))?;
    let em = f64::from(font.units_per_em.max(1)) / scale;
    let glyphs = buffer
        .glyph_infos()
        .iter()
        .zip(buffer.glyph_positions())
        .map(|(info, pos)| Glyph {
            gid: u16::try_from(info.glyph_id).unwrap_or(0),
            cluster: info.cluster as usize,
            advance: f64::from(pos.x_advance) / em,
            dx: f64::from(pos.x_offset) / em,
            dy: f64::from(pos.y_offset) / em,
        })
        .collect();
    Ok(Run {
        font,
        scale,
        text,
        glyphs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_characters_join_the_script_around_them() {
        let runs = split("नमस्ते 2026। Pune ₹5");
        let scripts: Vec<Script> = runs.iter().map(|(s, _)| *s).collect();
        assert_eq!(scripts, vec![Script::Devanagari, Script::Latin]);
        assert_eq!(runs[0].1, "नमस्ते 2026। ");
    }

    #[test]
    fn latin_shapes_one_glyph_per_character() {
        let s = shape("Pune").unwrap();
        assert_eq!(s.runs.len(), 1);
        let clusters = s.runs[0].clusters();
        let texts: Vec<&str> = clusters.iter().map(|(t, _)| *t).collect();
        assert_eq!(texts, vec!["P", "u", "n", "e"]);
        assert!(s.width() > 1.5);
    }

    #[test]
    fn devanagari_reorders_the_i_sign() {
        // tests/setup.sh installs fonts-noto-core.
        // कि: the vowel sign i is drawn before the consonant but belongs to
        // one cluster with it.
        let s = shape("कि").unwrap();
        let clusters = s.runs[0].clusters();
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].0, "कि");
        assert_eq!(clusters[0].1.len(), 2);
        let font = s.runs[0].font;
        assert_eq!(clusters[0].1[1].gid, font.glyph('क').unwrap_or(0));
    }

    #[test]
    fn every_scheduled_script_noto_covers_shapes_without_missing_glyphs() {
        // tests/setup.sh installs fonts-noto-core.
        for (script, word) in [
            (Script::Devanagari, "स्वीकृत"),
            (Script::Bengali, "অনুমোদিত"),
            (Script::Gurmukhi, "ਪ੍ਰਵਾਨਗੀ"),
            (Script::Gujarati, "મંજૂરી"),
            (Script::Oriya, "ଅନୁମୋଦନ"),
            (Script::Tamil, "ஒப்புதல்"),
            (Script::Telugu, "ఆమోదం"),
            (Script::Kannada, "ಅನುಮೋದನೆ"),
            (Script::Malayalam, "അംഗീകാരം"),
            (Script::OlChiki, "ᱥᱟᱱᱛᱟᱲᱤ"),
        ] {
            let s = shape(word).unwrap();
            assert_eq!(s.runs.len(), 1, "{script:?}");
            let run = &s.runs[0];
            assert!(!std::ptr::eq(
                run.font,
                scripts::font_for(Script::Latin).unwrap()
            ));
            assert!(
                run.glyphs.iter().all(|g| g.gid != 0),
                "{script:?}: .notdef in {word}"
            );
            let text: String = run.clusters().iter().map(|(t, _)| *t).collect();
            assert_eq!(text, word, "{script:?}: clusters cover the text");
        }
    }
}
