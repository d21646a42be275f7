//! The command line's prompter: a hidden terminal prompt for the PIN, or one
//! line of standard input with `--pin-stdin`. Never an argument or an
//! environment variable (they leak into process lists and shell history).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use secrecy::SecretString;
use zeroize::Zeroize;

use super::prompter::*;
use super::{consent_text, display_text};

/// One line of terminal output, filtered (see [`display_text::clean`]).
/// Leading indentation is kept, since the filter would trim it.
fn terminal_safe(line: &str) -> String {
    let body = line.trim_start_matches(' ');
    let indent = line.len() - body.len();
    let mut out = " ".repeat(indent);
    out.push_str(&display_text::clean(body, 4000));
    if line.ends_with(' ') && !out.ends_with(' ') {
        out.push(' '); // a question's trailing space before the answer
    }
    out
}

pub struct TerminalPrompter {
    pin_from_stdin: bool,
    /// One question on the terminal at a time, its text printed right above
    /// it: `mohor serve` asks for several requests at once, and a line typed
    /// must answer the question shown last, not another request's. (The
    /// desktop prompter takes turns the same way.)
    turn: Mutex<()>,
    /// `--pin-stdin` gives one PIN: a second request gets a cancel, so a
    /// script can never make Mohor try the same PIN twice.
    stdin_used: Mutex<bool>,
}

impl TerminalPrompter {
    pub fn new(pin_from_stdin: bool) -> Self {
        TerminalPrompter {
            pin_from_stdin,
            turn: Mutex::new(()),
            stdin_used: Mutex::new(false),
        }
    }

    /// Wait for the terminal: the question that holds it is answered first.
    fn take_turn(&self) -> std::sync::MutexGuard<'_, ()> {
        self.turn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every line goes through the display filter: text from a page or a
    /// token (names, reasons, labels) never reaches the terminal with bidi
    /// controls, escape sequences or invisible characters in it.
    fn say(&self, text: &str) {
        let mut err = std::io::stderr();
        let _ = writeln!(err, "{}", terminal_safe(text));
    }

    fn ask_line(&self, question: &str) -> Option<String> {
        if self.pin_from_stdin || !std::io::stdin().is_terminal() {
            return None;
        }
        eprint!("{}", terminal_safe(question));
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        Some(line.trim().to_string())
    }
}

impl Prompter for TerminalPrompter {
    fn consent(&self, request: &ConsentRequest, cancel: &CancelToken<'_>) -> ConsentDecision {
        let _turn = self.take_turn();
        if cancel.is_cancelled() {
            return ConsentDecision::Deny;
        }
        for line in consent_text::consent_lines(request) {
            self.say(&line);
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

    fn pin(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> Option<SecretString> {
        let _turn = self.take_turn();
        if cancel.is_cancelled() {
            return None;
        }
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
        let question = terminal_safe(&format!(
            "PIN for token \"{}\" ({}): ",
            request.token_label, request.certificate_cn
        ));
        let pin = rpassword::prompt_password(question).ok()?;
        (!pin.is_empty()).then(|| SecretString::from(pin))
    }

    fn confirm_last_try(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> bool {
        let _turn = self.take_turn();
        if cancel.is_cancelled() {
            return false;
        }
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

    /// The title on its own line, then the body's lines indented under it.
    fn notify(&self, notice: &Notice) {
        let _turn = self.take_turn();
        self.say(&notice.title);
        for line in notice.body.lines() {
            self.say(&format!("  {line}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn terminal_lines_never_carry_controls_or_bidi() {
        assert_eq!(
            terminal_safe("  a\u{1b}[2Jb \u{202e}c\u{2028}d"),
            "  a[2Jb \u{fffd}c d"
        );
        assert_eq!(terminal_safe("Sign? [y/N] "), "Sign? [y/N] ");
    }
}
