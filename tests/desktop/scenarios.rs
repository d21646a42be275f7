//! The child side of the dialog tests: runs the real desktop loop
//! (`run_desktop`), asks one question through `GtkPrompter` from the agent
//! thread, prints the answer as `ANSWER <value>` and quits.

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use mohor::ui::desktop::{run_desktop, GtkPrompter, TrayStatus};
use mohor::ui::{
    CertificateChoice, ConsentDecision, ConsentRequest, DocumentKind, DocumentSummary, Notice,
    PinRequest, PinWarning, Prompter, TrustSiteDecision,
};
use secrecy::ExposeSecret;

pub const ENV_SCENARIO: &str = "MOHOR_DESKTOP_CHILD";
pub const ENV_TIMEOUT: &str = "MOHOR_DESKTOP_CHILD_TIMEOUT";

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

fn pdf(name: &str, size: u64, pages: u32) -> DocumentSummary {
    DocumentSummary {
        name: name.into(),
        kind: DocumentKind::Pdf,
        size,
        pages: Some(pages),
        fingerprint_hex: FP.into(),
    }
}

fn consent_request(scenario: &str) -> ConsentRequest {
    match scenario {
        "consent-hash" => ConsentRequest {
            origin: Some("https://gst.example.gov.in".into()),
            documents: vec![DocumentSummary {
                name: "GSTR-3B return, March 2025".into(),
                kind: DocumentKind::Hash,
                size: 32,
                pages: None,
                fingerprint_hex: "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"
                    .into(),
            }],
            certificate: cert_a(),
            alternatives: vec![],
        },
        "consent-batch" => ConsentRequest {
            origin: None,
            documents: vec![
                pdf("Sanction order 2025-117.pdf", 251_187, 3),
                pdf("Annexure A - beneficiary list.pdf", 1_884_112, 41),
                DocumentSummary {
                    name: "payment-file-2025-04.csv".into(),
                    kind: DocumentKind::Data,
                    size: 18_430,
                    pages: None,
                    fingerprint_hex:
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
                },
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
        _ => base,
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

/// Asks the scenario's one question and returns the answer as text.
fn ask(p: &dyn Prompter, scenario: &str) -> String {
    match scenario {
        s if s.starts_with("consent") => consent_answer(p.consent(&consent_request(s))),
        s if s.starts_with("pin") => match p.pin(&pin_request(s)) {
            Some(pin) => format!("pin:{}", pin.expose_secret()),
            None => "cancel".to_owned(),
        },
        "last-try" => p.confirm_last_try(&pin_request("last-try")).to_string(),
        s if s.starts_with("trust") => {
            let origin = if s == "trust-http" {
                "http://treasury.example.gov.in:8080"
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
                    std::thread::sleep(Duration::from_secs(4));
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
