//! The child side of the dialog tests: runs the real desktop loop
//! (`run_desktop`), asks one question through `GtkPrompter` from the agent
//! thread, prints the answer as `ANSWER <value>` and quits.

use std::io::Write;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use mohor::sign::DigestAlgorithm;
use mohor::ui::desktop::{run_desktop, GtkPrompter, TrayStatus};
use mohor::ui::{
    CancelToken, CertificateChoice, Certification, ConsentDecision, ConsentRequest, DocumentKind,
    DocumentSummary, EarlierSignature, Notice, PinRequest, PinWarning, Prompter, SignatureDetails,
    Stamp, Standing, TrustSiteDecision,
};
use secrecy::ExposeSecret;

pub const ENV_SCENARIO: &str = "MOHOR_DESKTOP_CHILD";
pub const ENV_TIMEOUT: &str = "MOHOR_DESKTOP_CHILD_TIMEOUT";

/// An origin long enough that a cut after 120 characters would hide the
/// domain that really asks (it ends in `attacker.example`).
pub const LONG_ORIGIN: &str = "https://eoffice.gov.in.secure-signing-session-verification-service-node-0001.official-national-informatics-centre-gateway-edge-cluster-17.attacker.example";

/// A 212-character file name whose end is what tells it from its siblings.
pub const LONG_NAME: &str = "Sanction order for the release of the second instalment of grant-in-aid to the Zilla Parishad and Panchayat Samitis under the scheme for rural roads and drinking water supply 2026-27 revised estimate FINAL-v2.pdf";

const FP: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn cert_a() -> CertificateChoice {
    CertificateChoice {
        id: "cert-a".into(),
        subject_cn: "ANITA SHARMA".into(),
        issuer_cn: "Capricorn Sub CA for Individual DSC 2022".into(),
        token_label: "ePass2003 (Anita)".into(),
        validity: "valid until 2027-03-31".into(),
    }
}

fn cert_b() -> CertificateChoice {
    CertificateChoice {
        id: "cert-b".into(),
        subject_cn: "ANITA SHARMA".into(),
        issuer_cn: "e-Mudhra Sub CA for Class 3 Individual 2022".into(),
        token_label: "WD ProxKey".into(),
        validity: "valid until 2026-11-15".into(),
    }
}

/// The "-cancelled" and "quit-while-open" scenarios act when the parent
/// says so on their standard input (once it has seen the window), not after
/// a fixed delay: on a loaded machine a window can take longer than any
/// delay to appear.
fn wait_for_parent() {
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

fn pdf(name: &str, size: u64, pages: u32) -> DocumentSummary {
    DocumentSummary::new(name, DocumentKind::Pdf, size, Some(pages), FP)
        .with_signature(SignatureDetails::default())
}

/// A signature that carries everything a page can ask for.
fn full_signature() -> SignatureDetails {
    SignatureDetails {
        reason: Some(
            "I hereby resign from the post of Section Officer with effect from 1 December 2026"
                .into(),
        ),
        location: Some("Nirman Bhawan, New Delhi".into()),
        certification: Some(Certification::FormFilling),
        stamp: Stamp::At {
            page: 2,
            x: 360.0,
            y: 72.0,
            width: 200.0,
            height: 60.0,
        },
        field: Some("Employee signature".into()),
        uin: Some("AMD0152022000001".into()),
        qr: Some("https://verify.example.gov.in/c/AMD0152022000001".into()),
    }
}

/// A BSK certificate in Bengali with a Hindi reason: the dialog must shape
/// both scripts (GTK/Pango with fonts-noto-core) and show the QR payload whole.
fn indic_certificate() -> SignatureDetails {
    SignatureDetails {
        reason: Some("भुगतान हेतु स्वीकृत कार्यालय आदेश".into()),
        location: Some("কলকাতা".into()),
        stamp: Stamp::Auto,
        uin: Some("BCW0212026000101".into()),
        qr: Some(
            "UIN:BCW0212026000101|Name:সুমিতা দাস|Service:Caste Certificate (021)|Dept:Backward Classes Welfare Department|Issued:2026-11-30 10:05 IST|Verify:https://castcertificatewb.gov.in/verify/BCW0212026000101"
                .into(),
        ),
        ..SignatureDetails::default()
    }
}

fn consent_request(scenario: &str) -> ConsentRequest {
    match scenario {
        "consent-indic" => ConsentRequest {
            origin: Some("https://bsk.wb.gov.in".into()),
            documents: vec![DocumentSummary::new(
                "জাতিগত শংসাপত্র BCW0212026000101.pdf",
                DocumentKind::Pdf,
                48_211,
                Some(1),
                FP,
            )
            .with_signature(indic_certificate())],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-long-origin" => ConsentRequest {
            origin: Some(LONG_ORIGIN.into()),
            documents: vec![pdf("Tender 2025-117 technical bid.pdf", 251_187, 12)],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-many" => ConsentRequest {
            origin: Some("https://eoffice.example.gov.in".into()),
            documents: (1..=100u64)
                .map(|i| {
                    let name = match i % 3 {
                        0 => format!("{i:03} {}.pdf", "Sanction order for the release of grant-in-aid to the Panchayat Samiti under the scheme ".repeat(2)),
                        1 => format!("{i:03} মঞ্জুরি আদেশ পঞ্চায়েত সমিতি অনুদান.pdf"),
                        _ => format!("{i:03} स्वीकृति आदेश अनुदान सहायता.pdf"),
                    };
                    pdf(&name, 80_000 + i, 2)
                })
                .collect(),
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-long-signer" => ConsentRequest {
            origin: Some("https://bsk.wb.gov.in".into()),
            documents: vec![pdf("Caste certificate BCW0212026000101.pdf", 48_211, 1)],
            certificate: CertificateChoice {
                id: "cert-bn".into(),
                subject_cn: "সুমিতা দাস বন্দ্যোপাধ্যায় চট্টোপাধ্যায়, উপ-বিভাগীয় আধিকারিক, অনগ্রসর শ্রেণী কল্যাণ বিভাগ, পশ্চিমবঙ্গ সরকার".into(),
                issuer_cn: "e-Mudhra Sub CA for Class 3 Individual 2022".into(),
                token_label: "ePass2003 (সুমিতা)".into(),
                validity: "valid until 2027-03-31".into(),
            },
            alternatives: vec![CertificateChoice {
                id: "cert-hi".into(),
                subject_cn: "ANURADHA KUMARI SRIVASTAVA UNDER SECRETARY MINISTRY OF RURAL DEVELOPMENT".into(),
                issuer_cn: "Capricorn Sub CA for Individual DSC 2022".into(),
                token_label: "WD ProxKey (अनुराधा)".into(),
                validity: "valid until 2026-11-15".into(),
            }],
        },
        "consent-markup" => ConsentRequest {
            origin: Some("https://eoffice.example.gov.in".into()),
            documents: vec![DocumentSummary::new(
                "<b>Approved</b> R&D budget <span size='xx-large'>x</span>\n\nSigned by Secretary.pdf",
                DocumentKind::Pdf,
                48_211,
                Some(1),
                FP,
            )
            .with_signature(SignatureDetails {
                reason: Some("Approved\n\n\n\nReason: <i>routine</i> \u{202e}1202 hcraM 13".into()),
                location: Some(format!("Delhi {}", "x".repeat(480))),
                ..SignatureDetails::default()
            })],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-long-name" => ConsentRequest {
            origin: Some("https://eoffice.example.gov.in".into()),
            documents: vec![pdf(LONG_NAME, 81_920, 1)],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-hash" => ConsentRequest {
            origin: Some("https://gst.example.gov.in".into()),
            documents: vec![DocumentSummary::site_digest(
                DigestAlgorithm::Sha512,
                &[0x3a; 64],
            )],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-refused" => ConsentRequest {
            origin: Some("https://eoffice.example.gov.in".into()),
            documents: vec![
                pdf("Movement order 2025-31.pdf", 81_920, 1),
                pdf("Old certified order.pdf", 90_112, 2).with_refusal(
                    "the PDF is certified with \"no changes allowed\"; another signature would invalidate the certification",
                ),
            ],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-details" | "consent-cancelled" => ConsentRequest {
            origin: Some("https://hr.example.gov.in".into()),
            documents: vec![DocumentSummary::new(
                "Resignation \u{202e}fdp.exe\u{2028}note.pdf",
                DocumentKind::Pdf,
                48_211,
                Some(2),
                FP,
            )
            .with_signature(full_signature())
            .with_long_term(mohor::ltv::Level::BLTA)],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-data" => {
            let bill = "{\n  \"bill\": \"CB-2026-412\",\n  \"payee\": \"Sharma Traders\",\n  \"amount\": 45000,\n  \"head\": \"2054-00-095\"\n}\n";
            ConsentRequest {
                origin: Some("https://ifms.example.gov.in".into()),
                documents: vec![DocumentSummary {
                    preview: mohor::ui::text_preview::TextPreview::of(
                        bill.as_bytes(),
                        bill.len() as u64,
                    ),
                    ..DocumentSummary::new(
                        "CB-2026-412.json",
                        DocumentKind::Data,
                        bill.len() as u64,
                        None,
                        FP,
                    )
                }],
                certificate: cert_a(),
                alternatives: vec![],
            }
        }
        "consent-scripts" => ConsentRequest {
            origin: Some("https://ifms.example.gov.in".into()),
            documents: vec![
                DocumentSummary {
                    document_javascript: true,
                    ..pdf("Contingent bill 2026-412.pdf", 64_012, 2)
                },
                pdf("Annexure - vouchers.pdf", 412_877, 9),
            ],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-earlier" => ConsentRequest {
            origin: Some("https://eoffice.example.gov.in".into()),
            documents: vec![DocumentSummary {
                earlier_signatures: vec![
                    EarlierSignature {
                        signer: "RAMESH KUMAR".into(),
                        standing: Standing::Valid,
                        warnings: vec![],
                    },
                    EarlierSignature {
                        signer: "SUNITA DAS".into(),
                        standing: Standing::Broken(
                            "the document's digest does not match the signed digest".into(),
                        ),
                        warnings: vec![],
                    },
                ],
                ..pdf("Green note 2026-77.pdf", 88_310, 3)
            }],
            certificate: cert_a(),
            alternatives: vec![],
        },
        // The verifier's own sentences (src/verify/mod.rs), as preflight
        // passes them on.
        "consent-earlier-warnings" => ConsentRequest {
            origin: Some("https://eoffice.example.gov.in".into()),
            documents: vec![DocumentSummary {
                earlier_signatures: vec![
                    EarlierSignature {
                        signer: "KAVITA RAO".into(),
                        standing: Standing::Valid,
                        warnings: vec![
                            "the signature uses SHA-1, which is no longer safe against forgery: \
                             another document with the same SHA-1 digest could carry this \
                             signature (accepted, as openssl and poppler accept it; pyHanko \
                             refuses it)"
                                .into(),
                            "the 1024-bit RSA key of KAVITA RAO is shorter than 2048 bits, too \
                             short to be safe today (accepted, as openssl and poppler accept it; \
                             pyHanko refuses it)"
                                .into(),
                        ],
                    },
                    EarlierSignature {
                        signer: "RAMESH KUMAR".into(),
                        standing: Standing::Valid,
                        warnings: vec![
                            "the certificate of RAMESH KUMAR was revoked at 2026-11-20T10:00:00Z, \
                             after the trusted timestamp of 2026-11-02T09:15:00Z that proves when \
                             the signature was made: it was not revoked when it signed"
                                .into(),
                        ],
                    },
                    EarlierSignature {
                        signer: "SUNITA DAS".into(),
                        standing: Standing::Valid,
                        warnings: vec![],
                    },
                ],
                ..pdf("Green note 2026-78.pdf", 91_004, 3)
            }],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-batch" => ConsentRequest {
            origin: None,
            documents: vec![
                pdf("Sanction order 2025-117.pdf", 251_187, 3),
                pdf("Annexure A - beneficiary list.pdf", 1_884_112, 41),
                DocumentSummary::new(
                    "payment-file-2025-04.csv",
                    DocumentKind::Data,
                    18_430,
                    None,
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                ),
                pdf("Old certified order.pdf", 90_112, 2).with_refusal(
                    "the PDF is certified with \"no changes allowed\"; another signature would invalidate the certification",
                ),
            ],
            certificate: cert_a(),
            alternatives: vec![],
        },
        _ => ConsentRequest {
            origin: Some("https://eproc.example.gov.in".into()),
            documents: vec![pdf("Tender 2025-117 technical bid.pdf", 251_187, 12)],
            certificate: cert_a(),
            alternatives: vec![cert_b()],
        },
    }
}

fn pin_request(scenario: &str) -> PinRequest {
    let base = PinRequest {
        token_label: "ePass2003 (Anita)".into(),
        certificate_cn: "ANITA SHARMA".into(),
        until_mohor_stops: None,
        until_token_blocks: None,
        warning: PinWarning::None,
        warning_text: String::new(),
        min_len: 4,
        max_len: 16,
    };
    match scenario {
        "pin-amber" => PinRequest {
            until_mohor_stops: Some(2),
            until_token_blocks: Some(5),
            warning: PinWarning::AttemptsUsed,
            warning_text: "A wrong PIN was typed 3 times for this token.".into(),
            ..base
        },
        "pin-red" | "last-try" => PinRequest {
            until_mohor_stops: Some(1),
            until_token_blocks: Some(1),
            warning: PinWarning::LastTry,
            warning_text: "The next wrong PIN blocks this token for good.".into(),
            ..base
        },
        // As the agent builds it after `wrong` wrong PINs (soft limit 5,
        // hard 8), through the guard's own decision.
        s if s.starts_with("pin-after-") => {
            let wrong = s["pin-after-".len()..].parse().unwrap_or(1);
            real_pin_request(base, wrong)
        }
        _ => base,
    }
}

fn real_pin_request(base: PinRequest, wrong: u32) -> PinRequest {
    use mohor::token::guard::{self, Count, Decision, Limits, PinFlags};
    let flags = PinFlags {
        count_low: true,
        final_try: false,
        locked: false,
    };
    // Past the soft limit only after an unlock: the 5 before it carried.
    let count = if wrong >= 5 {
        Count::new(wrong - 5, 5)
    } else {
        Count::new(wrong, 0)
    };
    match guard::decide(flags, &count, Limits { soft: 5, hard: 8 }) {
        Decision::Ask {
            until_mohor_stops,
            until_token_blocks,
            warning,
            warning_text,
            ..
        } => PinRequest {
            until_mohor_stops: Some(until_mohor_stops),
            until_token_blocks,
            warning,
            // What the agent's `pin_request` gives the prompt.
            warning_text: guard::prompt_warning_text(warning, warning_text),
            ..base
        },
        Decision::Refuse(r) => panic!("the guard refused: {r:?}"),
    }
}

fn answer(value: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\nANSWER {value}");
    let _ = out.flush();
}

fn consent_answer(decision: ConsentDecision) -> String {
    match decision {
        ConsentDecision::Approve { certificate_id } => format!("approve:{certificate_id}"),
        ConsentDecision::Deny => "deny".to_owned(),
    }
}

/// Asks the scenario's one question and returns the answer as text. A
/// scenario ending in "-cancelled" withdraws its request when the parent
/// says so (as when the page sends `cancel`) and adds how long after that the
/// question came back: "deny@0.3s" ("deny@never" if it came back before).
fn ask(p: &dyn Prompter, scenario: &str) -> String {
    let withdrawn_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    if scenario.ends_with("-cancelled") {
        let at = Arc::clone(&withdrawn_at);
        std::thread::spawn(move || {
            wait_for_parent();
            if let Ok(mut at) = at.lock() {
                *at = Some(Instant::now());
            }
        });
    }
    let flag = Arc::clone(&withdrawn_at);
    let is_cancelled = move || flag.lock().map(|at| at.is_some()).unwrap_or(false);
    let cancel = CancelToken::new(&is_cancelled);
    let answer = ask_once(p, scenario, &cancel);
    if !scenario.ends_with("-cancelled") {
        return answer;
    }
    match withdrawn_at.lock().ok().and_then(|at| *at) {
        Some(at) => format!("{answer}@{:.1}s", at.elapsed().as_secs_f64()),
        None => format!("{answer}@never"),
    }
}

fn ask_once(p: &dyn Prompter, scenario: &str, cancel: &CancelToken<'_>) -> String {
    match scenario {
        s if s.starts_with("consent") => consent_answer(p.consent(&consent_request(s), cancel)),
        s if s.starts_with("pin") => match p.pin(&pin_request(s), cancel) {
            Some(pin) => format!("pin:{}", pin.expose_secret()),
            None => "cancel".to_owned(),
        },
        "last-try" => p
            .confirm_last_try(&pin_request("last-try"), cancel)
            .to_string(),
        s if s.starts_with("trust") => {
            let origin = if s == "trust-http" {
                "http://treasury.example.gov.in:8080"
            } else if s == "trust-long" {
                LONG_ORIGIN
            } else {
                "https://eproc.example.gov.in"
            };
            match p.trust_site(origin) {
                TrustSiteDecision::Allow => "allow".to_owned(),
                TrustSiteDecision::Deny => "deny".to_owned(),
            }
        }
        other => format!("unknown-scenario:{other}"),
    }
}

/// Runs one scenario; returns when the desktop loop has ended. The answer is
/// printed after the loop ended, so it also proves that the loop ends.
pub fn run(scenario: String, timeout: Duration) {
    let status = TrayStatus::listening(21760);
    let control = status.clone();
    let (done, answered) = mpsc::channel::<String>();
    let result = run_desktop(status, move |default_prompter| {
        // What the server thread does once it has bound its port.
        control.set_port(21761);
        match scenario.as_str() {
            "quit-while-open" => {
                // Quit (as from the tray menu) while a question is open: the
                // question must come back "deny" and the loop must end.
                let quitter = control.clone();
                std::thread::spawn(move || {
                    wait_for_parent();
                    quitter.request_quit();
                });
                let _ = done.send(ask(default_prompter.as_ref(), "consent"));
            }
            "notify" => {
                let p = GtkPrompter::new(timeout);
                p.notify(&Notice {
                    title: "Signed and saved".into(),
                    body: "Tender 2025-117 technical bid.pdf was signed with the certificate of \
                           ANITA SHARMA."
                        .into(),
                });
                // Printed at once: notify must not wait for the person.
                answer("shown");
                // Keep the loop alive so the notice can be looked at and closed.
                std::thread::sleep(timeout + Duration::from_secs(5));
                let _ = done.send("notice-over".to_owned());
                control.request_quit();
            }
            other => {
                let p = GtkPrompter::new(timeout);
                let _ = done.send(ask(&p, other));
                control.request_quit();
            }
        }
    });
    match result {
        Ok(()) => match answered.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => answer(&a),
            Err(_) => answer("no-answer-after-the-loop-ended"),
        },
        Err(e) => answer(&format!("error:{}|{}|{}", e.reason, e.message, e.hint)),
    }
}
