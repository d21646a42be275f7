//! Plain-English text for the dialogs. Pure functions, no GTK, unit-tested.

use std::time::Duration;

use crate::ui::{DocumentKind, DocumentSummary, PinRequest, PinWarning};

/// Who asks, as shown in bold: the web origin, or the local command line.
pub fn requester(origin: Option<&str>) -> String {
    match origin {
        // Whole, or cut in the middle: the end names who really asks.
        Some(origin) if !origin.trim().is_empty() => crate::ui::display_text::clean_origin(
            origin.trim(),
            crate::ui::display_text::MAX_ORIGIN_SHOWN,
        ),
        _ => "Mohor command line".to_owned(),
    }
}

/// Text from outside (file names, origins, certificate names) made safe to
/// show: the one display filter, [`crate::ui::display_text::clean`].
pub fn display_safe(text: &str, max_chars: usize) -> String {
    crate::ui::display_text::clean(text, max_chars)
}

/// A web origin on plain `http://` (not a loopback address): worth a word of caution.
pub fn is_insecure_origin(origin: &str) -> bool {
    let Some(rest) = origin.trim().strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    !matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// "this document" / "these 3 documents".
pub fn documents_phrase(n: usize) -> String {
    if n == 1 {
        "this document".to_owned()
    } else {
        format!("these {n} documents")
    }
}

/// "1 of 4 documents will not be signed."
pub fn refused_summary(refused: usize, total: usize) -> String {
    if total == 1 {
        "This document will not be signed.".to_owned()
    } else {
        format!("{refused} of {total} documents will not be signed.")
    }
}

/// Sizes the way file managers show them: "512 bytes", "245.3 KB", "4.1 MB".
pub fn human_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes == 1 {
        "1 byte".to_owned()
    } else if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < KB * KB {
        format!("{:.1} KB", b / KB)
    } else if b < KB * KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else {
        format!("{:.1} GB", b / (KB * KB * KB))
    }
}

pub fn kind_label(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Pdf => "PDF document",
        DocumentKind::Data => "File",
        DocumentKind::Hash => "Fingerprint only (computed by the site)",
    }
}

/// One line under the file name: kind, size and pages when they mean something.
pub fn document_facts(doc: &DocumentSummary) -> String {
    let mut parts = vec![kind_label(doc.kind).to_owned()];
    if doc.kind != DocumentKind::Hash {
        parts.push(human_size(doc.size));
    }
    match doc.pages {
        Some(1) => parts.push("1 page".to_owned()),
        Some(n) => parts.push(format!("{n} pages")),
        None => {}
    }
    parts.join("  ·  ")
}

/// Hex grouped in blocks of 4 characters, 8 blocks a line:
/// `9f86 d081 884c 7d65 9a2f eaa0 c55a d015` and so on. Anything that is not
/// a hex digit is dropped, so a hostile "fingerprint" cannot inject text.
pub fn grouped_fingerprint(hex: &str) -> String {
    let digits: Vec<char> = hex
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if digits.is_empty() {
        return "(none given)".to_owned();
    }
    digits
        .chunks(32)
        .map(|line| {
            line.chunks(4)
                .map(|block| block.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub const LAST_TRY_TEXT: &str = "The next wrong PIN will block this token for good. A blocked \
DSC cannot be unblocked; a new one must be bought. Continue only if you are sure of the PIN.";

/// "2 minutes", "90 seconds", "1 minute".
pub fn duration_words(d: Duration) -> String {
    let secs = d.as_secs().max(1);
    match (secs / 60, secs % 60) {
        (1, 0) => "1 minute".to_owned(),
        (minutes, 0) => format!("{minutes} minutes"),
        _ if secs == 1 => "1 second".to_owned(),
        _ => format!("{secs} seconds"),
    }
}

/// The small line at the bottom of every question.
pub fn timeout_note(d: Duration, what_happens: &str) -> String {
    format!(
        "If nothing is chosen within {}, {what_happens}.",
        duration_words(d)
    )
}

/// The line under the warning: how many more wrong PINs before Mohor stops
/// and before the token blocks for good, both named (one "tries left" number
/// cannot say which limit it counts down to).
pub fn attempts_line(request: &PinRequest) -> Option<String> {
    request.budget_text()
}

/// The warning sentence for the PIN dialog; the caller's text, or a default
/// when the caller set a warning level but no sentence.
pub fn pin_warning_text(request: &PinRequest) -> Option<String> {
    let given = request.warning_text.trim();
    match request.warning {
        PinWarning::None if given.is_empty() => None,
        PinWarning::None => Some(given.to_owned()),
        PinWarning::AttemptsUsed if given.is_empty() => Some(
            "A wrong PIN was typed before. Type the PIN carefully; each wrong try brings the \
             token closer to being blocked."
                .to_owned(),
        ),
        PinWarning::LastTry if given.is_empty() => {
            Some("This is the last try: one more wrong PIN blocks the token for good.".to_owned())
        }
        _ => Some(given.to_owned()),
    }
}

/// Upper bound for the entry; 0 (or nonsense) from the caller means "no limit".
pub fn pin_max_len(request: &PinRequest) -> usize {
    if request.max_len == 0 || request.max_len < request.min_len {
        usize::MAX
    } else {
        request.max_len
    }
}

/// OK is enabled only for a length the token can accept.
pub fn pin_length_ok(len: usize, request: &PinRequest) -> bool {
    len > 0 && len >= request.min_len && len <= pin_max_len(request)
}

/// "The PIN has 4 to 16 characters." (a hint for the person, never the PIN).
pub fn pin_length_hint(request: &PinRequest) -> String {
    let min = request.min_len.max(1);
    let max = pin_max_len(request);
    if max == usize::MAX {
        if min <= 1 {
            String::new()
        } else {
            format!("The PIN has at least {min} characters.")
        }
    } else if min == max {
        format!("The PIN has {min} characters.")
    } else {
        format!("The PIN has {min} to {max} characters.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin_request(min: usize, max: usize) -> PinRequest {
        PinRequest {
            token_label: "T".into(),
            certificate_cn: "C".into(),
            until_mohor_stops: None,
            until_token_blocks: None,
            warning: PinWarning::None,
            warning_text: String::new(),
            min_len: min,
            max_len: max,
        }
    }

    #[test]
    fn outside_text_cannot_disguise_itself() {
        assert_eq!(
            display_safe("invoice\u{202e}fdp.exe", 100),
            "invoice\u{fffd}fdp.exe"
        );
        assert_eq!(display_safe("a\nb\tc", 100), "a b c");
        assert_eq!(display_safe("abcdef", 4), "abc…");
        assert_eq!(display_safe("परियोजना.pdf", 100), "परियोजना.pdf");
    }

    #[test]
    fn plain_http_is_flagged_except_on_this_computer() {
        assert!(is_insecure_origin("http://portal.example.gov.in"));
        assert!(is_insecure_origin("http://portal.example.gov.in:8080"));
        assert!(!is_insecure_origin("https://portal.example.gov.in"));
        assert!(!is_insecure_origin("http://localhost:3000"));
        assert!(!is_insecure_origin("http://127.0.0.1:8000"));
        assert!(!is_insecure_origin("http://[::1]:8000"));
    }

    #[test]
    fn refused_documents_are_counted() {
        assert_eq!(
            refused_summary(1, 4),
            "1 of 4 documents will not be signed."
        );
        assert_eq!(refused_summary(1, 1), "This document will not be signed.");
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1024), "1.0 KB");
        assert_eq!(human_size(251_187), "245.3 KB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0 GB");
    }

    #[test]
    fn fingerprint_is_grouped_by_four_and_wrapped() {
        let hex = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        assert_eq!(
            grouped_fingerprint(hex),
            "9f86 d081 884c 7d65 9a2f eaa0 c55a d015\na3bf 4f1b 2b0b 822c d15d 6c15 b0f0 0a08"
        );
        assert_eq!(grouped_fingerprint("ab<b>cd"), "abbc d");
        assert_eq!(grouped_fingerprint(""), "(none given)");
    }

    #[test]
    fn requester_falls_back_to_the_command_line() {
        assert_eq!(requester(None), "Mohor command line");
        assert_eq!(requester(Some("  ")), "Mohor command line");
        assert_eq!(
            requester(Some("https://eproc.example.gov.in")),
            "https://eproc.example.gov.in"
        );
    }

    #[test]
    fn a_long_origin_is_shown_to_its_end() {
        let origin = "https://eoffice.gov.in.secure-signing-session-verification-service-node-0001.official-national-informatics-centre-gateway-edge-cluster-17.attacker.example";
        assert_eq!(requester(Some(origin)), origin);
    }

    #[test]
    fn facts_skip_size_for_a_bare_digest() {
        let mut doc = DocumentSummary::new("a.pdf", DocumentKind::Pdf, 2048, Some(3), "");
        assert_eq!(document_facts(&doc), "PDF document  ·  2.0 KB  ·  3 pages");
        doc.pages = Some(1);
        assert_eq!(document_facts(&doc), "PDF document  ·  2.0 KB  ·  1 page");
        doc.kind = DocumentKind::Hash;
        doc.pages = None;
        assert_eq!(
            document_facts(&doc),
            "Fingerprint only (computed by the site)"
        );
    }

    #[test]
    fn pin_length_rules() {
        let r = pin_request(4, 8);
        assert!(!pin_length_ok(0, &r));
        assert!(!pin_length_ok(3, &r));
        assert!(pin_length_ok(4, &r));
        assert!(pin_length_ok(8, &r));
        assert!(!pin_length_ok(9, &r));
        assert_eq!(pin_length_hint(&r), "The PIN has 4 to 8 characters.");
        let open = pin_request(0, 0);
        assert!(pin_length_ok(1, &open));
        assert!(pin_length_ok(200, &open));
        assert!(!pin_length_ok(0, &open));
        assert_eq!(pin_length_hint(&open), "");
        assert_eq!(
            pin_length_hint(&pin_request(6, 6)),
            "The PIN has 6 characters."
        );
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(Duration::from_secs(120)), "2 minutes");
        assert_eq!(duration_words(Duration::from_secs(60)), "1 minute");
        assert_eq!(duration_words(Duration::from_secs(90)), "90 seconds");
        assert_eq!(duration_words(Duration::from_millis(10)), "1 second");
    }

    #[test]
    fn warning_text_defaults_per_level() {
        let mut r = pin_request(4, 8);
        assert_eq!(pin_warning_text(&r), None);
        r.warning = PinWarning::LastTry;
        assert!(pin_warning_text(&r).is_some_and(|t| t.contains("last try")));
        r.warning_text = "Careful.".into();
        assert_eq!(pin_warning_text(&r).as_deref(), Some("Careful."));
        assert_eq!(attempts_line(&r), None);
        r.until_mohor_stops = Some(2);
        r.until_token_blocks = Some(5);
        assert_eq!(
            attempts_line(&r).as_deref(),
            Some("Mohor stops asking after 2 more wrong PINs; the token blocks for good after 5.")
        );
    }
}
