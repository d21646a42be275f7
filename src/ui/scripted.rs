//! Test hook (feature `scripted-prompts`, never in release packages): dialogs
//! answered from a JSON-lines file, in order. See the contract:
//! `{"consent":"approve"}`, `{"consent":"approve","certificate":"ID"}`,
//! `{"consent":"deny"}`, `{"pin":"1234"}`, `{"pin":null}` (cancel),
//! `{"trust_site":"allow"}`, `{"confirm_last_try":"yes"}`. When the file runs
//! out, or the next line answers a different dialog, the dialog cancels.
//!
//! Every question asked is appended to `FILE.asked.jsonl` (without answers
//! that are PINs), so tests can check what a person would have seen.

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
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.asked_log)
        {
            let _ = writeln!(
                f,
                "{}",
                serde_json::json!({"dialog": dialog, "request": request})
            );
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
    fn consent(&self, request: &ConsentRequest) -> ConsentDecision {
        self.log("consent", serde_json::to_value(request).unwrap_or_default());
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

    fn pin(&self, request: &PinRequest) -> Option<SecretString> {
        self.log("pin", pin_request_shown(request));
        let v = self.next("pin")?;
        v["pin"].as_str().map(|s| SecretString::from(s.to_string()))
    }

    fn confirm_last_try(&self, request: &PinRequest) -> bool {
        self.log("confirm_last_try", pin_request_shown(request));
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
