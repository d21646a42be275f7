//! The command line's prompter: a hidden terminal prompt for the PIN, or one
//! line of standard input with `--pin-stdin`. Never an argument or an
//! environment variable (they leak into process lists and shell history).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use secrecy::SecretString;
use zeroize::Zeroize;

use super::prompter::*;

pub struct TerminalPrompter {
    pin_from_stdin: bool,
    /// `--pin-stdin` gives one PIN: a second request gets a cancel, so a
    /// script can never make Mohor try the same PIN twice.
    stdin_used: Mutex<bool>,
}

impl TerminalPrompter {
    pub fn new(pin_from_stdin: bool) -> Self {
        TerminalPrompter {
            pin_from_stdin,
            stdin_used: Mutex::new(false),
        }
    }

    fn say(&self, text: &str) {
        let mut err = std::io::stderr();
        let _ = writeln!(err, "{text}");
    }

    fn ask_line(&self, question: &str) -> Option<String> {
        if self.pin_from_stdin || !std::io::stdin().is_terminal() {
            return None;
        }
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        Some(line.trim().to_string())
    }
}

impl Prompter for TerminalPrompter {
    fn consent(&self, request: &ConsentRequest) -> ConsentDecision {
        self.say(&format!(
            "{} asks to sign with {} ({}):",
            request.origin.as_deref().unwrap_or("This command"),
            request.certificate.subject_cn,
            request.certificate.issuer_cn
        ));
        for d in &request.documents {
            self.say(&format!(
                "  {} ({} bytes, SHA-256 {})",
                d.name, d.size, d.fingerprint_hex
            ));
        }
        match self.ask_line("Sign? [y/N] ") {
            Some(a) if a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes") => {
                ConsentDecision::Approve {
                    certificate_id: request.certificate.id.clone(),
                }
            }
            _ => ConsentDecision::Deny,
        }
    }

    fn pin(&self, request: &PinRequest) -> Option<SecretString> {
        if !request.warning_text.is_empty() {
            self.say(&format!("Warning: {}", request.warning_text));
        }
        if request.warning != PinWarning::None {
            if let Some(budget) = request.budget_text() {
                self.say(&budget);
            }
        }
        if self.pin_from_stdin {
            let mut used = self.stdin_used.lock().ok()?;
            if *used {
                return None;
            }
            *used = true;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).ok()?;
            let pin = line.trim_end_matches(['\r', '\n']).to_string();
            line.zeroize();
            return (!pin.is_empty()).then(|| SecretString::from(pin));
        }
        let question = format!(
            "PIN for token \"{}\" ({}): ",
            request.token_label, request.certificate_cn
        );
        let pin = rpassword::prompt_password(question).ok()?;
        (!pin.is_empty()).then(|| SecretString::from(pin))
    }

    fn confirm_last_try(&self, request: &PinRequest) -> bool {
        self.say(&format!("Warning: {}", request.warning_text));
        if let Some(budget) = request.budget_text() {
            self.say(&budget);
        }
        if self.pin_from_stdin {
            self.say("Refusing to use the last try from a script: run the command in a terminal to confirm it.");
            return false;
        }
        matches!(self.ask_line("Type YES to continue: "), Some(a) if a == "YES")
    }

    fn trust_site(&self, _origin: &str) -> TrustSiteDecision {
        TrustSiteDecision::Deny
    }

    fn notify(&self, notice: &Notice) {
        self.say(&format!("{}: {}", notice.title, notice.body));
    }
}
