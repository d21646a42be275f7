//! Which script a character belongs to, and the font that draws each script.
//!
//! Latin (and ₹) is drawn with DejaVu Sans, shipped in the binary. The
//! scripts of India's Eighth Schedule that Noto covers (and Ol Chiki, in
//! which Santali is written, an official language of West Bengal) are drawn
//! with the Noto Sans face for that script, read from disk once per process: from
//! `MOHOR_FONT_DIR` if set, else the system's font folders (Debian's
//! `fonts-noto-core`, Fedora's `google-noto-*`, a user's own fonts, and
//! Windows' Nirmala UI, which covers them all). Not embedding them keeps
//! the binary small (the nine faces are 1.3 MB); see docs/DECISIONS.md.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use super::font::Font;

/// A writing system the stamp knows how to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Script {
    Latin,
    Devanagari,
    Bengali,
    Gurmukhi,
    Gujarati,
    Oriya,
    Tamil,
    Telugu,
    Kannada,
    Malayalam,
    /// Santali's alphabet: letters and modifier letters only, no marks.
    OlChiki,
}

/// The Indian scripts in Unicode block order (each block is 128 code
/// points from U+0900).
const INDIC: [Script; 9] = [
    Script::Devanagari,
    Script::Bengali,
    Script::Gurmukhi,
    Script::Gujarati,
    Script::Oriya,
    Script::Tamil,
    Script::Telugu,
    Script::Kannada,
    Script::Malayalam,
];

impl Script {
    /// The script of `c`, or `None` for characters every script uses
    /// (spaces, digits, punctuation, the dandas, joiners), which take the
    /// script of the text around them.
    pub fn of(c: char) -> Option<Script> {
        let u = c as u32;
        match u {
            // Danda and double danda are shared by the Indian scripts.
            0x0964 | 0x0965 => None,
            0x0900..=0x0D7F => INDIC.get(((u - 0x0900) / 0x80) as usize).copied(),
            0xA8E0..=0xA8FF | 0x1CD0..=0x1CFF => Some(Script::Devanagari),
            0x1C50..=0x1C7F => Some(Script::OlChiki),
            _ if c.is_alphabetic() => Some(Script::Latin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Devanagari => "Devanagari",
            Script::Bengali => "Bengali",
            Script::Gurmukhi => "Gurmukhi",
            Script::Gujarati => "Gujarati",
            Script::Oriya => "Oriya",
            Script::Tamil => "Tamil",
            Script::Telugu => "Telugu",
            Script::Kannada => "Kannada",
            Script::Malayalam => "Malayalam",
            Script::OlChiki => "Ol Chiki",
        }
    }

    /// The name as Noto's file names spell it (`NotoSansOlChiki-Regular.ttf`).
    pub fn file_stem(self) -> String {
        self.name().replace(' ', "")
    }

    fn slot(self) -> usize {
        match self {
            Script::Latin => 0,
            Script::OlChiki => 1 + INDIC.len(),
            s => 1 + INDIC.iter().position(|i| *i == s).unwrap_or(0),
        }
    }
}

/// A character that only joins or separates others and may have no glyph
/// of its own (the shaper consumes it).
pub fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}' | '\u{25CC}')
}

/// Whether a line may break before `c` when `prev` precedes it: never
/// inside an Indian syllable (before a vowel sign, a virama, a nukta or a
/// joiner, nor after a virama or a joiner).
pub fn may_break_between(prev: char, c: char) -> bool {
    !(is_syllable_continuation(c) || is_virama(prev) || is_joiner(prev) || is_joiner(c))
}

fn indic_offset(c: char) -> Option<u32> {
    let u = c as u32;
    (0x0900..=0x0D7F).contains(&u).then(|| (u - 0x0900) % 0x80)
}

fn is_virama(c: char) -> bool {
    indic_offset(c) == Some(0x4D)
}

/// Signs that belong to the syllable before them: candrabindu, anusvara,
/// visarga, nukta, vowel signs, virama, stress and length marks.
fn is_syllable_continuation(c: char) -> bool {
    match indic_offset(c) {
        Some(o) => {
            matches!(o, 0x00..=0x03 | 0x3A..=0x3C | 0x3E..=0x4F | 0x51..=0x57 | 0x62 | 0x63)
        }
        None => false,
    }
}

/// Where the Noto faces are looked for, in order.
fn font_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("MOHOR_FONT_DIR") {
        dirs.push(PathBuf::from(d));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        dirs.push(home.join(".local/share/fonts"));
        dirs.push(home.join(".fonts"));
        dirs.push(home.join("Library/Fonts"));
    }
    for d in [
        "/usr/share/fonts/truetype/noto",
        "/usr/share/fonts/noto",
        "/usr/share/fonts/google-noto",
        "/usr/share/fonts/google-noto-vf",
        "/usr/local/share/fonts",
        "/Library/Fonts",
    ] {
        dirs.push(PathBuf::from(d));
    }
    if let Some(win) = std::env::var_os("WINDIR") {
        dirs.push(PathBuf::from(win).join("Fonts"));
    }
    dirs
}

/// File names that hold a face for `script`, best first.
fn file_names(script: Script) -> Vec<String> {
    let n = script.file_stem();
    vec![
        format!("NotoSans{n}-Regular.ttf"),
        format!("NotoSans{n}UI-Regular.ttf"),
        // Windows 10 and 11: one face for every Indian script.
        "Nirmala.ttf".into(),
        "Nirmala.ttc".into(),
    ]
}

fn load(script: Script) -> Option<Font> {
    if script == Script::Latin {
        return Font::dejavu_sans();
    }
    let probe = match script {
        Script::Devanagari => 'क',
        Script::Bengali => 'ক',
        Script::Gurmukhi => 'ਕ',
        Script::Gujarati => 'ક',
        Script::Oriya => 'କ',
        Script::Tamil => 'க',
        Script::Telugu => 'క',
        Script::Kannada => 'ಕ',
        Script::Malayalam => 'ക',
        Script::OlChiki => 'ᱚ',
        Script::Latin => 'A',
    };
    for dir in font_dirs() {
        for file in file_names(script) {
            let Some(data) = read_once(&dir.join(&file)) else {
                continue;
            };
            let name: &'static str = Box::leak(
                file.trim_end_matches(".ttf")
                    .trim_end_matches(".ttc")
                    .replace('-', "")
                    .into_boxed_str(),
            );
            if let Some(font) = Font::from_file_data(name, data, 0) {
                if font.glyph(probe).is_some() {
                    return Some(font);
                }
            }
        }
    }
    None
}

/// A font file's bytes, read once per process and kept for its life (one
/// file, such as Windows' Nirmala UI, may serve several scripts).
fn read_once(path: &std::path::Path) -> Option<&'static [u8]> {
    static FILES: OnceLock<Mutex<HashMap<PathBuf, &'static [u8]>>> = OnceLock::new();
    let mut files = FILES
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(data) = files.get(path) {
        return Some(data);
    }
    let data: &'static [u8] = Box::leak(std::fs::read(path).ok()?.into_boxed_slice());
    files.insert(path.to_path_buf(), data);
    Some(data)
}

/// The font for `script`, loaded on first use; `None` when no face for it
/// is installed.
pub fn font_for(script: Script) -> Option<&'static Font> {
    static SLOTS: [OnceLock<Option<Font>>; 11] = [const { OnceLock::new() }; 11];
    SLOTS[script.slot()].get_or_init(|| load(script)).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_by_block() {
        assert_eq!(Script::of('क'), Some(Script::Devanagari));
        assert_eq!(Script::of('ক'), Some(Script::Bengali));
        assert_eq!(Script::of('ക'), Some(Script::Malayalam));
        assert_eq!(Script::of('ଓ'), Some(Script::Oriya));
        assert_eq!(Script::of('ᱥ'), Some(Script::OlChiki));
        assert_eq!(Script::of('A'), Some(Script::Latin));
        assert_eq!(Script::of('।'), None);
        assert_eq!(Script::of('7'), None);
        assert_eq!(Script::of('₹'), None);
    }

    #[test]
    fn no_break_inside_a_syllable() {
        // क्षि: ka, virama, ssa, vowel sign i.
        assert!(!may_break_between('क', '्'));
        assert!(!may_break_between('्', 'ष'));
        assert!(!may_break_between('ष', 'ि'));
        assert!(may_break_between('ि', 'क'));
        assert!(!may_break_between('ক', 'া'));
    }

    #[test]
    fn latin_is_always_there() {
        assert!(font_for(Script::Latin).is_some());
    }
}
