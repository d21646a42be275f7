//! Test hook (feature `scripted-prompts`, never in release packages): dialogs
//! answered from a JSON-lines file, in order. See the contract:
//! `{"consent":"approve"}`, `{"consent":"approve","certificate":"ID"}`,
//! `{"consent":"deny"}`, `{"pin":"1234"}`, `{"pin":null}` (cancel),
//! `{"trust_site":"allow"}`, `{"confirm_last_try":"yes"}`. When the file runs
//! out, or the next line answers a different dialog, the dialog cancels.
//!
//! Every question asked is appended to `FILE.asked.jsonl` (without answers
//! that are PINs), so tests can check what a person would have seen: the
//! request itself, and for consent the lines a terminal would print
//! (`"shown"`), with every fact of the signature in words.
//!
//! A question whose request was already cancelled is logged with
//! `"cancelled": true` and answered cancel without using a line of the file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use secrecy::SecretString;

use super::prompter::*;

pub struct ScriptedPrompter {
    answers: Mutex<std::collections::VecDeque<serde_json::Value>>,
    asked_log: PathBuf,
}

impl ScriptedPrompter {
    pub fn from_file(path: &Path) -> Result<Self, crate::Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::Error::io(format!("cannot read prompts {}", path.display()), &e))?;
        let mut answers = std::collections::VecDeque::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
                crate::Error::invalid_request(format!("{} line {}: {e}", path.display(), i + 1))
            })?;
            answers.push_back(v);
        }
        let mut asked_log = path.as_os_str().to_owned();
        asked_log.push(".asked.jsonl");
        Ok(ScriptedPrompter {
            answers: Mutex::new(answers),
            asked_log: PathBuf::from(asked_log),
        })
    }

    fn log(&self, dialog: &str, request: serde_json::Value) {
        self.log_entry(serde_json::json!({"dialog": dialog, "request": request}));
    }

    fn log_entry(&self, entry: serde_json::Value) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.asked_log)
        {
            let _ = writeln!(f, "{entry}");
        }
    }

    /// The next answer if it is for `dialog`; otherwise cancel (and keep it).
    fn next(&self, dialog: &str) -> Option<serde_json::Value> {
        let mut q = self.answers.lock().ok()?;
        let front = q.front()?;
        if front.get(dialog).is_some() {
            q.pop_front()
        } else {
            None
        }
    }
}

/// A PIN request as logged: its fields and the budget sentence a person
/// would read.
fn pin_request_shown(request: &PinRequest) -> serde_json::Value {
    let mut v = serde_json::to_value(request).unwrap_or_default();
    v["budget_text"] = serde_json::json!(request.budget_text());
    v
}

impl Prompter for ScriptedPrompter {
    fn consent(&self, request: &ConsentRequest, cancel: &CancelToken<'_>) -> ConsentDecision {
        self.log_entry(serde_json::json!({
            "dialog": "consent",
            "request": serde_json::to_value(request).unwrap_or_default(),
            "shown": crate::ui::consent_text::consent_lines(request),
            "cancelled": cancel.is_cancelled(),
        }));
        if cancel.is_cancelled() {
            return ConsentDecision::Deny;
        }
        match self.next("consent") {
            Some(v) if v["consent"] == "approve" => ConsentDecision::Approve {
                certificate_id: v["certificate"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| request.certificate.id.clone()),
            },
            _ => ConsentDecision::Deny,
        }
    }

    fn pin(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> Option<SecretString> {
        self.log("pin", pin_request_shown(request));
        if cancel.is_cancelled() {
            return None;
        }
        let v = self.next("pin")?;
        v["pin"].as_str().map(|s| SecretString::from(s.to_string()))
    }

    fn confirm_last_try(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> bool {
        self.log("confirm_last_try", pin_request_shown(request));
        if cancel.is_cancelled() {
            return false;
        }
        matches!(self.next("confirm_last_try"), Some(v) if v["confirm_last_try"] == "yes")
    }

    fn trust_site(&self, origin: &str) -> TrustSiteDecision {
        self.log("trust_site", serde_json::json!({ "origin": origin }));
        match self.next("trust_site") {
            Some(v) if v["trust_site"] == "allow" => TrustSiteDecision::Allow,
            _ => TrustSiteDecision::Deny,
        }
    }

    fn notify(&self, notice: &Notice) {
        self.log("notify", serde_json::to_value(notice).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::DigestAlgorithm;

    fn request(documents: Vec<DocumentSummary>) -> ConsentRequest {
        ConsentRequest {
            origin: Some("https://hr.example.gov.in".into()),
            documents,
            certificate: CertificateChoice {
                id: "c1".into(),
                subject_cn: "ANITA SHARMA".into(),
                issuer_cn: "Test CA".into(),
                token_label: "T".into(),
                validity: String::new(),
            },
            alternatives: vec![],
        }
    }

    #[test]
    fn the_log_of_a_consent_holds_every_fact_of_the_signature() {
        let dir = tempfile::tempdir().unwrap();
        let prompts = dir.path().join("prompts.jsonl");
        std::fs::write(
            &prompts,
            "{\"consent\":\"approve\"}\n{\"consent\":\"approve\"}\n",
        )
        .unwrap();
        let p = ScriptedPrompter::from_file(&prompts).unwrap();
        let pdf = DocumentSummary::new("note.pdf", DocumentKind::Pdf, 10, Some(1), "ab")
            .with_signature(SignatureDetails {
                reason: Some("I hereby resign".into()),
                location: Some("Pune".into()),
                certification: Some(Certification::FormFilling),
                stamp: Stamp::Auto,
                field: None,
                uin: Some("AMD0152022000001".into()),
                qr: Some("payload".into()),
            });
        let decision = p.consent(&request(vec![pdf]), &CancelToken::never());
        assert!(matches!(decision, ConsentDecision::Approve { .. }));
        let hash = DocumentSummary::site_digest(DigestAlgorithm::Sha384, &[1; 48]);
        p.consent(&request(vec![hash]), &CancelToken::never());

        let log = std::fs::read_to_string(dir.path().join("prompts.jsonl.asked.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let shown = lines[0]["shown"].to_string();
        for fact in [
            "Reason: I hereby resign",
            "Location: Pune",
            "later changes limited to filling in forms",
            "Stamp: Visible stamp on the last page",
            "UIN: AMD0152022000001",
            "QR code: payload",
        ] {
            assert!(shown.contains(fact), "{fact:?} missing from {shown}");
        }
        let sig = &lines[0]["request"]["documents"][0]["signature"];
        assert_eq!(sig["certification"], "form-filling");
        assert_eq!(sig["stamp"]["kind"], "auto");
        let shown = lines[1]["shown"].to_string();
        assert!(
            shown.contains("SHA-384 fingerprint sent by the site"),
            "{shown}"
        );
        assert!(
            shown.contains("Mohor cannot show you what you are signing"),
            "{shown}"
        );
        assert_eq!(
            lines[1]["request"]["documents"][0]["fingerprint_algorithm"],
            "sha384"
        );
    }

    #[test]
    fn a_cancelled_request_is_answered_without_using_an_answer() {
        let dir = tempfile::tempdir().unwrap();
        let prompts = dir.path().join("prompts.jsonl");
        std::fs::write(&prompts, "{\"consent\":\"approve\"}\n").unwrap();
        let p = ScriptedPrompter::from_file(&prompts).unwrap();
        let cancelled = || true;
        let r = request(vec![DocumentSummary::new(
            "a.pdf",
            DocumentKind::Pdf,
            1,
            None,
            "00",
        )]);
        assert_eq!(
            p.consent(&r, &CancelToken::new(&cancelled)),
            ConsentDecision::Deny
        );
        assert!(matches!(
            p.consent(&r, &CancelToken::never()),
            ConsentDecision::Approve { .. }
        ));
    }
}
