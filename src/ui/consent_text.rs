//! The words every prompter uses for what a signature carries, so the GTK
//! dialog, the terminal and the scripted log say the same thing. Pure
//! functions; all outside text passes through [`display_text::clean`](super::display_text::clean).

use super::display_text::clean;
use super::prompter::{
    Certification, ConsentRequest, DocumentKind, DocumentSummary, Notice, SignatureDetails, Stamp,
    Standing,
};
use super::text_preview::TextPreview;
use crate::ltv::Level;
use crate::sign::DigestAlgorithm;

/// Longest reason/location/field/stamp text shown (the protocol refuses longer).
pub const MAX_SHOWN: usize = 500;
/// A QR payload is shown whole (a QR code holds at most 2,953 bytes).
const MAX_QR_SHOWN: usize = 3_000;

/// "SHA-256", as people write it.
pub fn digest_label(algorithm: DigestAlgorithm) -> &'static str {
    match algorithm {
        DigestAlgorithm::Sha256 => "SHA-256",
        DigestAlgorithm::Sha384 => "SHA-384",
        DigestAlgorithm::Sha512 => "SHA-512",
    }
}

/// The warning for a digest computed by the site.
pub fn hash_warning(algorithm: DigestAlgorithm) -> String {
    format!(
        "This site computed the {} fingerprint itself; Mohor cannot show you what you are \
         signing. Approve only if you trust this site.",
        digest_label(algorithm)
    )
}

/// The warning for a PDF that runs JavaScript of its own; `None` for every
/// other document, and for one that will not be signed anyway.
pub fn javascript_warning(doc: &DocumentSummary) -> Option<&'static str> {
    (doc.document_javascript && doc.refused.is_none()).then_some(
        "This PDF runs its own JavaScript when it is opened, saved or printed: what others \
         see in it may differ from what you see, and your signature would still show as valid. \
         Sign only if you trust where the document came from.",
    )
}

/// What the consent shows of the signatures a document already carries: a
/// caption, one line for each (its name always beside its verdict), and a
/// warning when one of them no longer holds. `None` for a document without
/// earlier signatures, and for one that will not be signed.
pub struct EarlierWords {
    pub caption: &'static str,
    pub lines: Vec<String>,
    /// `warnings[i]`: what the verifier warns about in the signature of
    /// `lines[i]` (SHA-1, a short RSA key, a revocation after the proven
    /// signing time), shown under it; its verdict stays as it is.
    pub warnings: Vec<Vec<String>>,
    pub warning: Option<&'static str>,
    /// An amber note above the list when any signature has warnings, so
    /// they are not missed in a long list.
    pub caution: Option<&'static str>,
}

pub fn earlier_words(doc: &DocumentSummary) -> Option<EarlierWords> {
    if doc.earlier_signatures.is_empty() || doc.refused.is_some() {
        return None;
    }
    let lines = doc
        .earlier_signatures
        .iter()
        .map(|e| {
            let who = match clean(&e.signer, 200) {
                name if name.trim().is_empty() => "an unnamed signer".to_owned(),
                name => name,
            };
            match &e.standing {
                Standing::Valid => format!(
                    "{who}: valid (intact, from a trusted authority, no forbidden change since)"
                ),
                Standing::Untrusted(why) => format!(
                    "{who}: intact, but NOT TRUSTED, so the name proves nothing ({})",
                    clean(why, MAX_SHOWN)
                ),
                Standing::Broken(why) => {
                    format!("{who}: NOT VALID ({})", clean(why, MAX_SHOWN))
                }
                Standing::Unchecked(why) => format!(
                    "Mohor could not check the signatures on it ({})",
                    clean(why, MAX_SHOWN)
                ),
            }
        })
        .collect();
    let warnings: Vec<Vec<String>> = doc
        .earlier_signatures
        .iter()
        .map(|e| e.warnings.iter().map(|w| clean(w, MAX_SHOWN)).collect())
        .collect();
    let broken = doc
        .earlier_signatures
        .iter()
        .any(|e| matches!(e.standing, Standing::Broken(_)));
    let cautioned = warnings.iter().any(|w| !w.is_empty());
    Some(EarlierWords {
        caption: "Already signed by (as Mohor checked it):",
        lines,
        warnings,
        caution: cautioned.then_some(
            "Mohor warns about a signature already on this document (below): read what it says \
             before you add yours beside it.",
        ),
        warning: broken.then_some(
            "A signature already on this document is not valid: the document may have been \
             changed after it was signed. Check it with the portal before you add yours.",
        ),
    })
}

/// Where no consent dialog is shown (the command line, whose command is
/// the consent): what a co-signer is told of the signatures a document
/// already carries, one line each in the notice's body.
pub fn earlier_notice(doc: &DocumentSummary) -> Option<Notice> {
    let words = earlier_words(doc)?;
    let mut body: Vec<String> = words
        .warning
        .map(|w| format!("Warning: {w}"))
        .into_iter()
        .collect();
    body.push(words.caption.to_owned());
    for (line, warnings) in words.lines.iter().zip(&words.warnings) {
        body.push(format!("- {line}"));
        body.extend(warnings.iter().map(|w| format!("  warning: {w}")));
    }
    Some(Notice {
        title: format!("{}: already signed", clean(&doc.name, 200)),
        body: body.join("\n"),
    })
}

/// What the consent shows of data to sign: a caption, the first lines when
/// it is text, and a line when more follows. `None` for PDFs, digests and
/// documents that will not be signed.
pub struct ContentWords {
    pub caption: &'static str,
    pub lines: Vec<String>,
    pub more: Option<&'static str>,
}

pub fn content_words(doc: &DocumentSummary) -> Option<ContentWords> {
    if doc.kind != DocumentKind::Data || doc.refused.is_some() {
        return None;
    }
    let more = |p: &TextPreview| p.cut.then_some("… more follows that is not shown here");
    Some(match &doc.preview {
        Some(p) if p.lines.is_empty() => ContentWords {
            caption: "Content: only blank lines and spaces",
            lines: Vec::new(),
            more: more(p),
        },
        Some(p) => ContentWords {
            caption: if p.cut {
                "Content, as text (the first lines):"
            } else {
                "Content, as text (all of it):"
            },
            lines: p.lines.clone(),
            more: more(p),
        },
        None => ContentWords {
            caption: "Content: not plain text, so Mohor cannot show it; check it in the \
                      portal before you sign",
            lines: Vec::new(),
            more: None,
        },
    })
}

/// The caption above a fingerprint, naming its real algorithm.
pub fn fingerprint_caption(doc: &DocumentSummary) -> String {
    match doc.kind {
        DocumentKind::Hash => format!(
            "{} fingerprint sent by the site:",
            digest_label(doc.fingerprint_algorithm)
        ),
        _ => format!("Fingerprint ({}):", digest_label(doc.fingerprint_algorithm)),
    }
}

/// What a certification allows afterwards, in words.
pub fn certification_words(certification: Option<Certification>) -> &'static str {
    match certification {
        None => "No (an ordinary approval signature)",
        Some(Certification::NoChanges) => {
            "Certifies the document: no later changes at all, not even another signature"
        }
        Some(Certification::FormFilling) => {
            "Certifies the document: later changes limited to filling in forms and adding signatures"
        }
        Some(Certification::FormFillingAndComments) => {
            "Certifies the document: later changes limited to filling in forms, adding signatures and comments"
        }
    }
}

/// A PDF coordinate as people read it: "36" or "36.5".
fn points(v: f64) -> String {
    let rounded = (v * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// Where the signature shows.
pub fn stamp_words(stamp: &Stamp) -> String {
    match stamp {
        Stamp::Invisible => "Invisible (no stamp on the pages)".to_owned(),
        Stamp::Auto => "Visible stamp on the last page, placed by Mohor".to_owned(),
        Stamp::At {
            page,
            x,
            y,
            width,
            height,
        } => format!(
            "Visible stamp on page {page}, {} × {} pt, {} pt from the left and {} pt from the bottom",
            points(*width),
            points(*height),
            points(*x),
            points(*y)
        ),
    }
}

/// Label and value rows for a PDF signature, in the order they are shown.
/// Absent reason/location are shown as absent, so nobody assumes a default.
pub fn signature_rows(d: &SignatureDetails) -> Vec<(&'static str, String)> {
    let given = |v: &Option<String>| match v {
        Some(t) => clean(t, MAX_SHOWN),
        None => "(none)".to_owned(),
    };
    let mut rows = vec![
        ("Reason", given(&d.reason)),
        ("Location", given(&d.location)),
        (
            "Certification",
            certification_words(d.certification).to_owned(),
        ),
        ("Stamp", stamp_words(&d.stamp)),
        (
            "Field",
            match &d.field {
                Some(f) => clean(f, MAX_SHOWN),
                None => "a new signature field".to_owned(),
            },
        ),
    ];
    if let Some(uin) = &d.uin {
        rows.push(("UIN", clean(uin, MAX_SHOWN)));
    }
    if let Some(qr) = &d.qr {
        // In full: the person approves exactly what the QR code will carry.
        rows.push(("QR code", clean(qr, MAX_QR_SHOWN)));
    }
    rows
}

/// What a long-term level adds to the signature, and what leaves the machine
/// for it; `None` at B-B, which adds nothing.
pub fn long_term_words(level: Level) -> Option<&'static str> {
    match level {
        Level::BB => None,
        Level::BT => Some(
            "B-T: a timestamp from the time-stamping service \
             (the signature's fingerprint is sent to it)",
        ),
        Level::BLT => Some(
            "B-LT: a timestamp and the certificates' revocation status, fetched \
             from the time-stamping and CA services, so the signature can be \
             checked after the certificate expires",
        ),
        Level::BLTA => Some(
            "B-LTA: a timestamp, the certificates' revocation status and a \
             document timestamp, fetched from the time-stamping and CA services, \
             so the signature can be checked for years",
        ),
    }
}

/// Label and value rows for one document: what its signature will carry,
/// then the long-term level. Empty for a document that will not be signed.
pub fn document_rows(doc: &DocumentSummary) -> Vec<(&'static str, String)> {
    if doc.refused.is_some() {
        return Vec::new();
    }
    let mut rows = doc
        .signature
        .as_ref()
        .map(signature_rows)
        .unwrap_or_default();
    if let Some(words) = long_term_words(doc.long_term) {
        rows.push(("Long-term", words.to_owned()));
    }
    rows
}

pub fn refused_line(why: &str) -> String {
    format!("Will not be signed: {}", clean(why, MAX_SHOWN))
}

/// Everything a consent question says, as plain lines: the terminal prints
/// them and the scripted prompter logs them.
pub fn consent_lines(request: &ConsentRequest) -> Vec<String> {
    let who = match &request.origin {
        // Never cut at the end, which names who really asks.
        Some(o) => super::display_text::clean_origin(o, super::display_text::MAX_ORIGIN_SHOWN),
        None => "This command".to_owned(),
    };
    let mut lines = vec![format!(
        "{who} asks to sign with {} ({}, token {}):",
        clean(&request.certificate.subject_cn, 200),
        clean(&request.certificate.issuer_cn, 200),
        clean(&request.certificate.token_label, 200),
    )];
    for d in &request.documents {
        lines.push(format!("  {} ({} bytes)", clean(&d.name, 255), d.size));
        if let Some(why) = &d.refused {
            lines.push(format!("    {}", refused_line(why)));
        }
        if let Some(warning) = javascript_warning(d) {
            lines.push(format!("    Warning: {warning}"));
        }
        if let Some(earlier) = earlier_words(d) {
            lines.extend(earlier.warning.map(|w| format!("    Warning: {w}")));
            lines.push(format!("    {}", earlier.caption));
            for (line, warnings) in earlier.lines.iter().zip(&earlier.warnings) {
                lines.push(format!("    - {line}"));
                lines.extend(warnings.iter().map(|w| format!("      warning: {w}")));
            }
        }
        if let Some(content) = content_words(d) {
            lines.push(format!("    {}", content.caption));
            lines.extend(content.lines.iter().map(|l| format!("    | {l}")));
            lines.extend(content.more.map(|m| format!("    {m}")));
        }
        lines.push(format!(
            "    {} {}",
            fingerprint_caption(d),
            clean(&d.fingerprint_hex, 200)
        ));
        if d.kind == DocumentKind::Hash {
            lines.push(format!(
                "    Warning: {}",
                hash_warning(d.fingerprint_algorithm)
            ));
        }
        for (label, value) in document_rows(d) {
            lines.push(format!("    {label}: {value}"));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::CertificateChoice;

    fn request(
        origin: Option<String>,
        documents: Vec<DocumentSummary>,
        subject_cn: &str,
        issuer_cn: &str,
    ) -> ConsentRequest {
        ConsentRequest {
            origin,
            documents,
            certificate: CertificateChoice {
                id: "c".into(),
                subject_cn: subject_cn.into(),
                issuer_cn: issuer_cn.into(),
                token_label: "T".into(),
                validity: String::new(),
            },
            alternatives: vec![],
        }
    }

    fn details() -> SignatureDetails {
        SignatureDetails {
            reason: Some("I hereby resign\u{2028}effective today".into()),
            location: Some("New Delhi".into()),
            certification: Some(Certification::FormFilling),
            stamp: Stamp::At {
                page: 2,
                x: 36.0,
                y: 700.25,
                width: 200.0,
                height: 60.0,
            },
            field: Some("Approver\u{202e}1".into()),
            uin: Some("AMD0152022000001".into()),
            qr: Some("https://verify.example.gov.in/AMD0152022000001".into()),
        }
    }

    #[test]
    fn every_certification_level_is_put_in_words() {
        assert!(certification_words(None).contains("approval"));
        assert!(certification_words(Some(Certification::NoChanges)).contains("no later changes"));
        for level in [
            Certification::FormFilling,
            Certification::FormFillingAndComments,
        ] {
            assert!(certification_words(Some(level)).contains("later changes limited to"));
        }
        assert!(
            certification_words(Some(Certification::FormFillingAndComments)).contains("comments")
        );
        for p in 1..=3 {
            assert_eq!(
                Certification::from_docmdp(p).map(Certification::docmdp),
                Some(p)
            );
        }
        assert_eq!(Certification::from_docmdp(4), None);
    }

    #[test]
    fn rows_carry_every_fact_and_are_filtered() {
        let rows = signature_rows(&details());
        let find = |l: &str| rows.iter().find(|(k, _)| *k == l).map(|(_, v)| v.clone());
        assert_eq!(
            find("Reason").as_deref(),
            Some("I hereby resign effective today")
        );
        assert_eq!(find("Location").as_deref(), Some("New Delhi"));
        assert!(find("Certification").is_some_and(|c| c.contains("filling in forms")));
        assert_eq!(
            find("Stamp").as_deref(),
            Some("Visible stamp on page 2, 200 × 60 pt, 36 pt from the left and 700.3 pt from the bottom")
        );
        assert_eq!(find("Field").as_deref(), Some("Approver\u{fffd}1"));
        assert_eq!(find("UIN").as_deref(), Some("AMD0152022000001"));
        assert!(find("QR code").is_some_and(|q| q.ends_with("AMD0152022000001")));

        let bare = signature_rows(&SignatureDetails::default());
        assert_eq!(bare.len(), 5, "no UIN/QR rows when the stamp has none");
        assert!(bare.contains(&("Reason", "(none)".to_owned())));
        assert!(bare.contains(&("Stamp", "Invisible (no stamp on the pages)".to_owned())));
        assert!(bare.contains(&("Field", "a new signature field".to_owned())));
        assert_eq!(
            stamp_words(&Stamp::Auto),
            "Visible stamp on the last page, placed by Mohor"
        );
    }

    #[test]
    fn a_site_digest_names_its_real_algorithm_and_warns() {
        let doc = DocumentSummary::site_digest(DigestAlgorithm::Sha512, &[0xab; 64]);
        assert_eq!(doc.name, "SHA-512 digest");
        assert_eq!(
            fingerprint_caption(&doc),
            "SHA-512 fingerprint sent by the site:"
        );
        let request = request(
            Some("https://gst.example.gov.in".into()),
            vec![doc],
            "ANITA\u{202e}SHARMA",
            "CA",
        );
        let text = consent_lines(&request).join("\n");
        assert!(
            text.contains("SHA-512 fingerprint sent by the site"),
            "{text}"
        );
        assert!(
            text.contains("Mohor cannot show you what you are signing"),
            "{text}"
        );
        assert!(!text.contains("SHA-256"), "{text}");
        assert!(
            !text.contains('\u{202e}'),
            "bidi control reached the text: {text}"
        );
    }

    #[test]
    fn earlier_signers_are_named_only_beside_their_verdict() {
        use crate::ui::{EarlierSignature, Standing};
        let earlier = |signer: &str, standing: Standing| EarlierSignature {
            signer: signer.into(),
            standing,
            warnings: Vec::new(),
        };
        let mut note = DocumentSummary::new("note.pdf", DocumentKind::Pdf, 10, Some(1), "aa");
        assert!(earlier_words(&note).is_none(), "nothing signed before");
        note.earlier_signatures = vec![
            earlier("RAMESH KUMAR", Standing::Valid),
            earlier("SUNITA\u{202e}DAS", Standing::Untrusted("no chain".into())),
            earlier("", Standing::Broken("the signed bytes were changed".into())),
        ];
        let words = earlier_words(&note).expect("earlier signatures");
        assert_eq!(
            words.lines,
            [
                "RAMESH KUMAR: valid (intact, from a trusted authority, no forbidden change since)",
                "SUNITA\u{fffd}DAS: intact, but NOT TRUSTED, so the name proves nothing (no chain)",
                "an unnamed signer: NOT VALID (the signed bytes were changed)",
            ]
        );
        assert!(words.warning.is_some_and(|w| w.contains("not valid")));

        // Only a broken one warns; a document that will not be signed says nothing.
        note.earlier_signatures.truncate(2);
        assert!(earlier_words(&note).is_some_and(|w| w.warning.is_none()));
        let refused = note.clone().with_refusal("the PDF is certified");
        assert!(earlier_words(&refused).is_none());

        let unchecked = DocumentSummary {
            earlier_signatures: vec![earlier("", Standing::Unchecked("encrypted".into()))],
            ..note
        };
        let text = consent_lines(&request(None, vec![unchecked], "S", "I")).join("\n");
        assert!(
            text.contains(
                "    Already signed by (as Mohor checked it):\n    - Mohor could not check the signatures on it (encrypted)"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_earlier_signatures_warnings_are_shown_under_its_verdict_filtered() {
        use crate::ui::{EarlierSignature, Standing};
        let mut note = DocumentSummary::new("note.pdf", DocumentKind::Pdf, 10, Some(1), "aa");
        note.earlier_signatures = vec![
            EarlierSignature {
                signer: "KAVITA RAO".into(),
                standing: Standing::Valid,
                warnings: vec![
                    "the signature uses SHA-1\u{202e}".into(),
                    "short key".into(),
                ],
            },
            EarlierSignature {
                signer: "RAMESH KUMAR".into(),
                standing: Standing::Valid,
                warnings: Vec::new(),
            },
        ];
        let words = earlier_words(&note).expect("earlier signatures");
        assert!(words.caution.is_some() && words.warning.is_none());
        let text = consent_lines(&request(None, vec![note.clone()], "S", "I")).join("\n");
        assert!(
            text.contains(
                "    - KAVITA RAO: valid (intact, from a trusted authority, no forbidden change since)\n      \
                 warning: the signature uses SHA-1\u{fffd}\n      warning: short key\n    - RAMESH KUMAR: valid"
            ),
            "{text}"
        );
        let notice = earlier_notice(&note).expect("a notice");
        let lines: Vec<&str> = notice.body.lines().collect();
        assert_eq!(
            lines[2], "  warning: the signature uses SHA-1\u{fffd}",
            "{lines:#?}"
        );
        assert_eq!(lines[3], "  warning: short key", "{lines:#?}");
        assert!(lines[4].starts_with("- RAMESH KUMAR: valid"), "{lines:#?}");
        // No warnings, no amber note.
        note.earlier_signatures.remove(0);
        assert!(earlier_words(&note).is_some_and(|w| w.caution.is_none()));
    }

    #[test]
    fn without_a_dialog_the_notice_names_the_document_and_warns_before_the_signers() {
        use crate::ui::{EarlierSignature, Standing};
        let mut note =
            DocumentSummary::new("note\u{202e}.pdf", DocumentKind::Pdf, 10, Some(1), "aa");
        assert!(earlier_notice(&note).is_none(), "nothing signed before");
        note.earlier_signatures = vec![
            EarlierSignature {
                signer: "RAMESH KUMAR".into(),
                standing: Standing::Valid,
                warnings: Vec::new(),
            },
            EarlierSignature {
                signer: "SUNITA DAS".into(),
                standing: Standing::Broken("the signed bytes were changed".into()),
                warnings: Vec::new(),
            },
        ];
        let notice = earlier_notice(&note).expect("a notice");
        assert_eq!(notice.title, "note\u{fffd}.pdf: already signed");
        let lines: Vec<&str> = notice.body.lines().collect();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[0].starts_with("Warning: A signature already on this document is not valid"));
        assert_eq!(lines[1], "Already signed by (as Mohor checked it):");
        assert!(lines[2].starts_with("- RAMESH KUMAR: valid"));
        assert!(lines[3].starts_with("- SUNITA DAS: NOT VALID"));
        // A document that will not be signed gets no notice of its signers.
        assert!(earlier_notice(&note.with_refusal("damaged")).is_none());
    }

    #[test]
    fn a_pdf_with_its_own_scripts_is_called_out_unless_it_will_not_be_signed() {
        let mut scripted = DocumentSummary::new("bill.pdf", DocumentKind::Pdf, 10, Some(1), "aa");
        scripted.document_javascript = true;
        let plain = DocumentSummary::new("note.pdf", DocumentKind::Pdf, 10, Some(1), "bb");
        let refused = DocumentSummary {
            document_javascript: true,
            ..plain.clone().with_refusal("the PDF is certified")
        };
        let request = request(
            Some("https://ifms.example.gov.in".into()),
            vec![scripted.clone(), plain.clone(), refused.clone()],
            "S",
            "I",
        );
        let lines = consent_lines(&request);
        let warned: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("runs its own JavaScript"))
            .collect();
        assert_eq!(warned.len(), 1, "{lines:#?}");
        let at = |needle: &str| lines.iter().position(|l| l.contains(needle));
        // Under its own document's name, before the next document.
        assert!(at("bill.pdf") < at("runs its own JavaScript"), "{lines:#?}");
        assert!(at("runs its own JavaScript") < at("note.pdf"), "{lines:#?}");
        assert!(javascript_warning(&plain).is_none());
        assert!(javascript_warning(&refused).is_none());
        assert!(javascript_warning(&scripted).is_some_and(|w| w.contains("still show as valid")));
    }

    #[test]
    fn data_shows_its_first_lines_or_says_it_cannot_be_shown() {
        use crate::ui::text_preview::TextPreview;
        let text = |name: &str, body: &str, len: u64| DocumentSummary {
            preview: TextPreview::of(body.as_bytes(), len),
            ..DocumentSummary::new(name, DocumentKind::Data, len, None, "aa")
        };
        let bill = "{\n  \"amount\": 4500\n}\n";
        let whole = text("bill.json", bill, bill.len() as u64);
        let cut = text("long.txt", "first\nsecond\n", 1_000_000);
        let binary = text("blob.bin", "\u{0}\u{1}", 2);
        let pdf = DocumentSummary::new("note.pdf", DocumentKind::Pdf, 10, Some(1), "bb");
        let request = request(None, vec![whole, cut, binary, pdf], "S", "I");
        let lines = consent_lines(&request).join("\n");
        for want in [
            "Content, as text (all of it):\n    | {\n    |   \"amount\": 4500\n    | }",
            "Content, as text (the first lines):\n    | first\n    | second\n    … more follows",
            "blob.bin (2 bytes)\n    Content: not plain text, so Mohor cannot show it",
        ] {
            assert!(lines.contains(want), "missing {want:?} in:\n{lines}");
        }
        assert_eq!(lines.matches("Content").count(), 3, "{lines}");
    }

    #[test]
    fn consent_lines_show_the_signature_and_a_refused_item() {
        let doc = DocumentSummary::new("note.pdf", DocumentKind::Pdf, 10, Some(1), "00ff")
            .with_signature(details());
        let refused = DocumentSummary::new("b.pdf", DocumentKind::Pdf, 5, Some(1), "11")
            .with_refusal("the PDF is certified with \"no changes allowed\"");
        let request = request(None, vec![doc, refused], "S", "I");
        let text = consent_lines(&request).join("\n");
        for want in [
            "Reason: I hereby resign effective today",
            "Location: New Delhi",
            "Certification: Certifies the document: later changes limited to",
            "Stamp: Visible stamp on page 2",
            "UIN: AMD0152022000001",
            "QR code: https://verify.example.gov.in/AMD0152022000001",
            "Will not be signed: the PDF is certified",
            "Fingerprint (SHA-256): 00ff",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }
}
