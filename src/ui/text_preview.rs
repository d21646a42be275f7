//! The first lines of a text document, for the consent dialog. A page that
//! asks for `sign.data` chooses every byte that is signed; when those bytes
//! are text (a bill's JSON or XML, a note), the person reads what they say
//! instead of approving a fingerprint nobody can check by eye.
//!
//! Every line passes [`clean`], the one display filter, so a preview cannot
//! hide or reorder text (bidi controls show as �). Blank lines are skipped,
//! so a page cannot push the text out of view with empty lines; and the
//! dialog says when more follows than is shown.

use super::display_text::clean;

/// How much of the document is read for the preview.
pub const PREVIEW_BYTES: usize = 8 * 1024;
/// Lines shown (blank lines do not count).
const MAX_LINES: usize = 12;
/// Characters shown of one line after its indentation.
const MAX_LINE_CHARS: usize = 120;
/// Indentation kept, in spaces, so nested JSON and XML stay readable.
const MAX_INDENT: usize = 16;

/// The lines shown, and whether the document goes on past them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TextPreview {
    pub lines: Vec<String>,
    /// More of the document follows than the lines show.
    pub cut: bool,
}

impl TextPreview {
    /// The preview of a document of `len` bytes whose first bytes are
    /// `head` (at most [`PREVIEW_BYTES`]); `None` when it is not UTF-8 text
    /// (binary data, or text in another encoding).
    pub fn of(head: &[u8], len: u64) -> Option<TextPreview> {
        let whole = head.len() as u64 >= len;
        let text = utf8_prefix(head, whole)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Control characters other than tabs, line ends and form feeds
        // mean binary data that happens to decode.
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
        {
            return None;
        }
        let mut non_blank = text.lines().filter(|l| !l.trim().is_empty());
        let lines = non_blank.by_ref().take(MAX_LINES).map(shown_line).collect();
        Some(TextPreview {
            lines,
            cut: non_blank.next().is_some() || !whole,
        })
    }
}

/// `head` as text: all of it, or (when the document goes on) all but a
/// character cut in two at the end of what was read.
fn utf8_prefix(head: &[u8], whole: bool) -> Option<&str> {
    match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        Err(e) if !whole && e.error_len().is_none() => head
            .get(..e.valid_up_to())
            .and_then(|h| std::str::from_utf8(h).ok()),
        Err(_) => None,
    }
}

/// One line, filtered, with its indentation (a tab counts four spaces).
fn shown_line(line: &str) -> String {
    let indent: usize = line
        .chars()
        .take_while(|c| matches!(c, ' ' | '\t'))
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum();
    format!(
        "{}{}",
        " ".repeat(indent.min(MAX_INDENT)),
        clean(line, MAX_LINE_CHARS)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Option<TextPreview> {
        TextPreview::of(text.as_bytes(), text.len() as u64)
    }

    #[test]
    fn a_short_json_bill_is_shown_whole_with_its_indentation() {
        let bill = "{\r\n  \"bill\": \"CB-412\",\r\n\t\"amount\": 4500\r\n}\r\n";
        let p = of(bill).unwrap();
        assert_eq!(
            p.lines,
            ["{", "  \"bill\": \"CB-412\",", "    \"amount\": 4500", "}"]
        );
        assert!(!p.cut);
    }

    #[test]
    fn blank_lines_do_not_push_the_text_out_of_view() {
        let padded = format!("{}Pay 45,000 rupees\n", "\n \t\n".repeat(500));
        let p = of(&padded).unwrap();
        assert_eq!(p.lines, ["Pay 45,000 rupees"]);
    }

    #[test]
    fn a_long_document_shows_twelve_lines_and_says_more_follows() {
        let text: String = (1..=13).map(|i| format!("line {i}\n")).collect();
        let p = of(&text).unwrap();
        assert_eq!(p.lines.len(), 12);
        assert_eq!(p.lines[11], "line 12");
        assert!(p.cut);
        let twelve: String = (1..=12).map(|i| format!("line {i}\n")).collect();
        assert!(!of(&twelve).unwrap().cut);
    }

    #[test]
    fn a_document_longer_than_what_was_read_is_cut_even_mid_character() {
        // "₹" is three bytes; the read ends after the first of them.
        let head = "Amount ₹".as_bytes();
        let read = &head[..head.len() - 2];
        let p = TextPreview::of(read, 1_000_000).unwrap();
        assert_eq!(p.lines, ["Amount"]);
        assert!(p.cut);
        // The same bytes as a whole document are not text.
        assert_eq!(TextPreview::of(read, read.len() as u64), None);
    }

    #[test]
    fn binary_data_and_other_encodings_get_no_preview() {
        assert_eq!(TextPreview::of(b"%PDF-1.7\n\x00\x01\x02", 12), None);
        assert_eq!(TextPreview::of(b"caf\xe9 au lait", 12), None); // Latin-1
        assert_eq!(of("ring the bell\u{7}"), None);
    }

    #[test]
    fn lines_pass_the_display_filter() {
        let p = of("\u{feff}Pay to \u{202e}rotcartnoc\u{200b} 4,500\n").unwrap();
        assert_eq!(p.lines, ["Pay to \u{fffd}rotcartnoc 4,500"]);
        let long = format!("{}\n", "x".repeat(500));
        let line = &of(&long).unwrap().lines[0];
        assert_eq!(line.chars().count(), MAX_LINE_CHARS);
        assert!(line.ends_with('…'));
        let deep = format!("{}deep\n", " ".repeat(100));
        assert_eq!(
            of(&deep).unwrap().lines[0],
            format!("{}deep", " ".repeat(16))
        );
    }
}
