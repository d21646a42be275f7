//! The guarded login: the wrong-PIN guard's decision, the PIN dialog and
//! exactly one `C_Login`, with the try counted before it is made.

use secrecy::{ExposeSecret, SecretString};

use super::{Agent, Requester, Stage};
use crate::error::{Error, Reason, Result};
use crate::token::guard::{self, Decision, Refusal};
use crate::token::{CertificateEntry, TokenError, TokenSession};
use crate::ui::{CancelToken, PinRequest};

impl Agent {
    /// The guard, the PIN dialog and exactly one `C_Login`.
    pub(super) fn login_guarded(
        &self,
        who: &Requester<'_>,
        cert: &CertificateEntry,
    ) -> Result<(Box<dyn TokenSession>, SecretString)> {
        let report = self.tokens.token_status(&cert.token).map_err(Error::from)?;
        let key = cert.token.counter_key();
        let record = self.state.pin_record(&key)?;
        let limits = self.config.limits_for(&report.model);
        let mut flags = report.pin_flags;
        flags.locked |= record.token_locked_seen;

        let (attempts_left, warning, warning_text, confirm) =
            match guard::decide(flags, record.count, limits) {
                Decision::Refuse(refusal) => {
                    let (msg, hint) =
                        guard::refusal_message(refusal, &cert.token.label, &cert.token.serial);
                    let reason = match refusal {
                        Refusal::TokenLocked => Reason::PinLocked,
                        Refusal::SoftLimit { .. } | Refusal::HardLimit { .. } => {
                            Reason::PinGuardLocked
                        }
                    };
                    return Err(Error::new(reason, msg).with_hint(hint));
                }
                Decision::Ask {
                    attempts_left,
                    warning,
                    warning_text,
                    confirm_permanent_block,
                } => (
                    attempts_left,
                    warning,
                    warning_text,
                    confirm_permanent_block,
                ),
            };
        let request = PinRequest {
            token_label: cert.token.label.clone(),
            certificate_cn: cert.facts.subject_cn.clone(),
            attempts_left,
            warning,
            warning_text,
            min_len: report.pin_min_len,
            max_len: report.pin_max_len,
        };
        (who.progress)(Stage::WaitingForPin);
        if confirm
            && !self
                .prompter
                .confirm_last_try(&request, &CancelToken::new(who.is_cancelled))
        {
            return Err(Error::new(
                Reason::UserCancelled,
                "the last PIN try was not confirmed; nothing was sent to the token",
            ));
        }
        let pin = self
            .prompter
            .pin(&request, &CancelToken::new(who.is_cancelled))
            .ok_or_else(|| {
                Error::new(
                    Reason::UserCancelled,
                    "PIN entry was cancelled; nothing was sent to the token",
                )
            })?;
        let len = pin.expose_secret().chars().count();
        if !guard::pin_length_ok(len, report.pin_min_len, report.pin_max_len) {
            return Err(Error::new(
                Reason::PinIncorrect,
                format!(
                    "the PIN must have {} to {} characters; it was not sent to the token, so no try was used",
                    report.pin_min_len, report.pin_max_len
                ),
            ));
        }
        if (who.is_cancelled)() {
            return Err(Error::new(
                Reason::UserCancelled,
                "the request was cancelled",
            ));
        }

        // Count the try before making it: if Mohor dies inside C_Login the
        // attempt is still on record.
        let now = self.clock.now().to_string();
        self.state.update_pin(&key, |r| {
            r.module = cert.token.module.display().to_string();
            r.serial = cert.token.serial.clone();
            r.label = cert.token.label.clone();
            r.count.wrong = r.count.wrong.saturating_add(1);
            r.last_wrong = Some(now.clone());
        })?;
        match self.tokens.login(&cert.token, &pin) {
            Ok(session) => {
                self.state.update_pin(&key, |r| {
                    r.count = guard::Count::default();
                    r.token_locked_seen = false;
                    r.last_wrong = None;
                    r.last_success = Some(now.clone());
                })?;
                Ok((session, pin))
            }
            Err(TokenError::PinIncorrect) => {
                let rec = self.state.pin_record(&key)?;
                let after = guard::decide(report.pin_flags, rec.count, limits);
                let hint = match after {
                    Decision::Refuse(r) => {
                        guard::refusal_message(r, &cert.token.label, &cert.token.serial).1
                    }
                    Decision::Ask {
                        attempts_left: Some(n),
                        ..
                    } => format!(
                        "{n} tries left before Mohor stops; check the PIN before trying again"
                    ),
                    Decision::Ask { .. } => "check the PIN before trying again".to_string(),
                };
                Err(Error::new(Reason::PinIncorrect, "the PIN is incorrect").with_hint(hint))
            }
            Err(TokenError::PinLocked) => {
                self.state.update_pin(&key, |r| {
                    r.token_locked_seen = true;
                })?;
                Err(Error::from(TokenError::PinLocked))
            }
            Err(other) => {
                // Not about the PIN (removed, driver error, length): roll back.
                self.state.update_pin(&key, |r| {
                    r.count.wrong = r.count.wrong.saturating_sub(1);
                })?;
                Err(Error::from(other))
            }
        }
    }
}
