//! The one display-safety filter for text that came from outside (a web
//! page's file name, reason, location, field name, stamp text; certificate
//! and token names) before a person sees it or the audit log keeps it.
//!
//! Text is shown to someone deciding whether to sign, so nothing in it may
//! look different from what it is:
//! - bidirectional controls (U+202A–202E, U+2066–2069, U+200E/200F, U+061C)
//!   could show "invoice\u{202e}fdp.exe" as "invoiceexe.pdf": each becomes a
//!   visible U+FFFD, so the person sees that something was there;
//! - other control and format characters (Unicode category Cf: zero-width
//!   spaces, soft hyphen, word joiner, BOM, tag characters…), invisible
//!   fillers (U+3164, U+115F, U+1160, U+FFA0, U+2800…) and variation
//!   selectors are removed: they hide text or make two names look alike;
//! - every kind of line break and space (tab, CR/LF, U+0085, U+2028/2029,
//!   NBSP, ideographic space…) becomes one plain space, runs collapse, and
//!   the ends are trimmed, so a reason cannot push text out of its box;
//! - a long run of stacked diacritics ("Zalgo") is cut to a few marks;
//! - the result is at most `max_chars` characters, ending in "…" if cut.
//!
//! ZWJ/ZWNJ (U+200D/U+200C) are kept between two letters of an Indic script,
//! where they choose the shape of a conjunct in ordinary Hindi, Marathi or
//! Malayalam spelling; anywhere else they are removed like other Cf.

/// What replaces a bidirectional control: visible, so the trick shows.
pub const REPLACEMENT: char = '\u{fffd}';

/// Combining diacritics kept in one run; more only pile up over other lines.
const MAX_STACKED_MARKS: usize = 3;

/// How one character is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Keep,
    /// Shown as one space (runs collapse).
    Space,
    /// Shown as [`REPLACEMENT`].
    Flag,
    Drop,
    /// ZWJ/ZWNJ: kept only between two Indic letters.
    Joiner,
    /// A combining diacritic from the generic blocks (limited per run).
    Mark,
}

fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Unicode general category Cf (format), Unicode 15.1, minus the bidi
/// controls and joiners handled above.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{0600}'..='\u{0605}'
            | '\u{06dd}'
            | '\u{070f}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08e2}'
            | '\u{180e}'
            | '\u{200b}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206a}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// Characters that draw nothing but are not spaces or Cf: fillers, blank
/// braille, invisible vowels, grapheme joiner, variation selectors, the
/// object replacement character and noncharacters.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{034f}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{17b4}'
            | '\u{17b5}'
            | '\u{180b}'..='\u{180d}'
            | '\u{180f}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{ffa0}'
            | '\u{fffc}'
            | '\u{fdd0}'..='\u{fdef}'
            | '\u{e0100}'..='\u{e01ef}'
    ) || (c as u32 & 0xfffe) == 0xfffe
}

/// Generic combining diacritics (not the vowel signs of Indic scripts, which
/// are part of ordinary spelling).
fn is_generic_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036f}'
            | '\u{0483}'..='\u{0489}'
            | '\u{1ab0}'..='\u{1aff}'
            | '\u{1dc0}'..='\u{1dff}'
            | '\u{20d0}'..='\u{20ff}'
            | '\u{fe20}'..='\u{fe2f}'
    )
}

/// Devanagari to Malayalam, plus Sinhala: the scripts that use ZWJ/ZWNJ.
fn is_indic(c: char) -> bool {
    matches!(c, '\u{0900}'..='\u{0dff}')
}

fn classify(c: char) -> Class {
    if is_bidi_control(c) {
        Class::Flag
    } else if c == '\u{200c}' || c == '\u{200d}' {
        Class::Joiner
    } else if c.is_whitespace() {
        Class::Space
    } else if c.is_control() || is_format(c) || is_invisible(c) {
        Class::Drop
    } else if is_generic_mark(c) {
        Class::Mark
    } else {
        Class::Keep
    }
}

/// `text` made safe to show: see the module documentation. Never fails; the
/// result may be empty (see [`clean_required`]).
pub fn clean(text: &str, max_chars: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut pending_space = false;
    let mut marks = 0usize;
    let mut last_kept: Option<char> = None;
    for (i, &c) in chars.iter().enumerate() {
        let shown = match classify(c) {
            Class::Keep => {
                marks = 0;
                c
            }
            Class::Flag => {
                marks = 0;
                REPLACEMENT
            }
            Class::Space => {
                pending_space = last_kept.is_some();
                marks = 0;
                continue;
            }
            Class::Drop => continue,
            Class::Joiner => {
                let next = chars[i + 1..]
                    .iter()
                    .copied()
                    .find(|&n| classify(n) != Class::Drop);
                let between_indic =
                    !pending_space && last_kept.is_some_and(is_indic) && next.is_some_and(is_indic);
                if !between_indic {
                    continue;
                }
                c
            }
            Class::Mark => {
                marks += 1;
                if marks > MAX_STACKED_MARKS || last_kept.is_none() {
                    continue;
                }
                c
            }
        };
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(shown);
        last_kept = Some(shown);
    }
    shorten(out, max_chars)
}

/// The longest web origin shown whole: the server refuses a longer
/// `Origin` header, so a real one is never cut.
pub const MAX_ORIGIN_SHOWN: usize = 300;

/// A web origin (or any name whose end matters most) made safe to show like
/// [`clean`], but never cut at its end: who owns a host name is decided by
/// its last labels, so `https://eoffice.gov.in.<long filler>.attacker.example`
/// cut after 120 characters would read as a government site. Up to
/// `max_chars` it is shown whole; beyond that the middle gives way to "…",
/// keeping the scheme and the whole end.
pub fn clean_origin(text: &str, max_chars: usize) -> String {
    let whole = clean(text, usize::MAX);
    let count = whole.chars().count();
    if count <= max_chars || max_chars < 3 {
        return clean(text, max_chars);
    }
    // A quarter for the start (the scheme), the rest for the end.
    let head = max_chars / 4;
    let tail = max_chars - head - 1;
    let start: String = whole.chars().take(head).collect();
    let end: String = whole.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

fn shorten(text: String, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text;
    }
    let mut short: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

/// Why page-supplied text cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextRefusal {
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("has nothing visible in it")]
    Blank,
}

/// Page-supplied text that must say something (a file name, a field name):
/// longer than `max_chars` before filtering, or blank after it, is refused.
pub fn clean_required(text: &str, max_chars: usize) -> Result<String, TextRefusal> {
    match clean_optional(text, max_chars)? {
        Some(shown) => Ok(shown),
        None => Err(TextRefusal::Blank),
    }
}

/// Optional page-supplied text (a reason, a location): empty or only spaces
/// means "none"; text that had something in it but shows nothing after
/// filtering (only invisible characters) is refused, because the page sent
/// something the person could not see.
pub fn clean_optional(text: &str, max_chars: usize) -> Result<Option<String>, TextRefusal> {
    if text.chars().count() > max_chars {
        return Err(TextRefusal::TooLong { max: max_chars });
    }
    if text.chars().all(char::is_whitespace) {
        return Ok(None);
    }
    let shown = clean(text, max_chars);
    if shown.is_empty() {
        Err(TextRefusal::Blank)
    } else {
        Ok(Some(shown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_hidden_character_is_shown_safely() {
        let table: &[(&str, &str, &str)] = &[
            ("plain ASCII", "note.pdf", "note.pdf"),
            ("Devanagari", "परियोजना.pdf", "परियोजना.pdf"),
            ("RLO", "invoice\u{202e}fdp.exe", "invoice\u{fffd}fdp.exe"),
            ("LRO PDF", "a\u{202d}b\u{202c}c", "a\u{fffd}b\u{fffd}c"),
            ("RLI PDI", "x\u{2067}y\u{2069}", "x\u{fffd}y\u{fffd}"),
            ("LRM RLM", "a\u{200e}b\u{200f}c", "a\u{fffd}b\u{fffd}c"),
            ("Arabic letter mark", "a\u{061c}b", "a\u{fffd}b"),
            ("line separator", "I agree\u{2028}to pay", "I agree to pay"),
            ("paragraph separator", "a\u{2029}\u{2029}b", "a b"),
            ("newline and tab", "a\r\n\tb", "a b"),
            ("NEL", "a\u{0085}b", "a b"),
            ("NBSP and ideographic space", "a\u{00a0}\u{3000}b", "a b"),
            ("collapse and trim", "   a    b   ", "a b"),
            ("zero-width space", "inv\u{200b}oice", "invoice"),
            ("word joiner", "a\u{2060}b", "ab"),
            ("BOM", "\u{feff}abc", "abc"),
            ("soft hyphen", "in\u{00ad}voice", "invoice"),
            ("tag characters", "ok\u{e0041}\u{e007f}", "ok"),
            ("Hangul filler", "a\u{3164}b", "ab"),
            ("Hangul choseong filler", "\u{115f}\u{1160}x", "x"),
            ("halfwidth filler", "a\u{ffa0}b", "ab"),
            ("braille blank", "a\u{2800}b", "ab"),
            ("variation selector", "a\u{fe0f}b", "ab"),
            ("Mongolian vowel separator", "a\u{180e}b", "ab"),
            ("C0 and C1 controls", "a\u{7}b\u{9b}c\u{7f}", "abc"),
            ("noncharacter", "a\u{fffe}b\u{10ffff}", "ab"),
            ("ZWJ in Devanagari kept", "क्\u{200d}ष", "क्\u{200d}ष"),
            ("ZWNJ in Malayalam kept", "ന്\u{200c}റ", "ന്\u{200c}റ"),
            ("ZWJ between Latin dropped", "a\u{200d}b", "ab"),
            ("ZWNJ at the end dropped", "क\u{200c}", "क"),
            (
                "stacked marks cut",
                "e\u{301}\u{301}\u{301}\u{301}\u{301}x",
                "e\u{301}\u{301}\u{301}x",
            ),
            ("a lone mark at the start", "\u{301}a", "a"),
            ("only invisible", "\u{200b}\u{3164}\u{2800}", ""),
        ];
        for (what, input, want) in table {
            assert_eq!(clean(input, 100), *want, "{what}: {input:?}");
        }
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(clean("abcdef", 4), "abc…");
        assert_eq!(clean("ab  cdef", 4), "ab…");
        assert_eq!(clean("abcd", 4), "abcd");
        assert_eq!(clean(&"x".repeat(1000), 10).chars().count(), 10);
    }

    #[test]
    fn an_origin_keeps_its_end_so_the_real_owner_shows() {
        let long = format!(
            "https://eoffice.gov.in.{}.attacker.example",
            "filler-label.".repeat(20)
        );
        // Shown whole up to the length the server accepts.
        assert_eq!(clean_origin(&long, MAX_ORIGIN_SHOWN), long);
        // Past it, the middle gives way, never the owner at the end.
        let cut = clean_origin(&long, 80);
        assert_eq!(cut.chars().count(), 80);
        assert!(cut.starts_with("https://"), "{cut}");
        assert!(cut.ends_with(".attacker.example"), "{cut}");
        assert!(cut.contains('…'), "{cut}");
        assert_eq!(
            clean_origin("https://a\u{202e}b.in", 80),
            "https://a\u{fffd}b.in"
        );
    }

    #[test]
    fn required_text_must_show_something() {
        assert_eq!(clean_required("note.pdf", 255).as_deref(), Ok("note.pdf"));
        assert_eq!(
            clean_required(" \u{200b}\u{3164} ", 255),
            Err(TextRefusal::Blank)
        );
        assert_eq!(clean_required("", 255), Err(TextRefusal::Blank));
        assert_eq!(
            clean_required(&"a".repeat(256), 255),
            Err(TextRefusal::TooLong { max: 255 })
        );
    }

    #[test]
    fn optional_text_is_none_when_empty_and_refused_when_only_invisible() {
        assert_eq!(clean_optional("", 500), Ok(None));
        assert_eq!(clean_optional("   ", 500), Ok(None));
        assert_eq!(clean_optional("\u{2028}", 500), Ok(None));
        assert_eq!(clean_optional("\u{200b}", 500), Err(TextRefusal::Blank));
        assert_eq!(
            clean_optional("I hereby\u{2028}resign", 500),
            Ok(Some("I hereby resign".to_owned()))
        );
    }
}
