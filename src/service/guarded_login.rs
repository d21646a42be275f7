//! The guard, the PIN dialog and exactly one `C_Login`, as a transaction on
//! the wrong-PIN count that every Mohor process shares.
//!
//! 1. First look (before any dialog): may a PIN be asked for at all, how
//!    loudly, and must the person confirm a try that may block the token?
//! 2. The PIN is typed. Meanwhile another process (the tray agent, another
//!    command line) may have used tries.
//! 3. Under the state lock the decision is taken again on the count as it is
//!    now and the try is booked ([`guard::reserve`]): a booked try counts as
//!    wrong for everyone else until it is settled, so no two processes can use
//!    the same last try, and five concurrent wrong PINs are all Mohor sends.
//!    If the try now needs a confirmation that was not given, the person is
//!    asked (a script is refused); the PIN is never sent without it.
//! 4. One `C_Login`, then [`guard::settle`] records the answer. A crash in
//!    between leaves the booked try counted.

use secrecy::{ExposeSecret, SecretString};

use super::{Agent, Requester, Stage};
use crate::error::{Error, Reason, Result};
use crate::token::guard::{self, Blocked, Decision, Limits, Outcome, PinFlags, Refusal};
use crate::token::{CertificateEntry, TokenError, TokenRef, TokenReport, TokenSession};
use crate::ui::{CancelToken, PinRequest};

impl Agent {
    /// The guard, the PIN dialog and exactly one `C_Login`.
    pub(super) fn login_guarded(
        &self,
        who: &Requester<'_>,
        cert: &CertificateEntry,
    ) -> Result<(Box<dyn TokenSession>, SecretString)> {
        let token = &cert.token;
        let identity = token.identity();
        let report = self.tokens.token_status(token).map_err(Error::from)?;
        let limits = self.config.limits_for(&report.model);

        // 1. First look.
        let record = self.state.transact_pin(&identity, |r| r.clone())?;
        let flags = with_lock_seen(report.pin_flags, record.token_locked_seen);
        let decision = guard::decide(flags, &record.count, limits);
        let (request, confirm) = pin_request(decision, cert, &report)?;
        (who.progress)(Stage::WaitingForPin);
        let mut confirmed = false;
        if confirm {
            if !self
                .prompter
                .confirm_last_try(&request, &CancelToken::new(who.is_cancelled))
            {
                return Err(Error::new(
                    Reason::UserCancelled,
                    "the last PIN try was not confirmed; nothing was sent to the token",
                ));
            }
            confirmed = true;
        }

        // 2. The PIN.
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

        // 3. Decide again and book the try, under the lock.
        let (booking, flags) = self.book_try(who, cert, &report, limits, confirmed)?;

        // 4. Exactly one C_Login, then settle.
        let result = self.tokens.login(token, &pin);
        let outcome = match &result {
            Ok(_) => Outcome::Accepted,
            Err(TokenError::PinIncorrect) => Outcome::PinIncorrect,
            Err(TokenError::PinLocked) => Outcome::PinLocked,
            Err(TokenError::PinAnswerUnclear(_)) => Outcome::Unclear,
            Err(_) => Outcome::NotJudged,
        };
        let now = self.clock.now().to_string();
        let after = self.state.transact_pin(&identity, |r| {
            r.count = guard::settle(&r.count, booking, outcome);
            r.token_locked_seen = outcome.token_locked_seen(r.token_locked_seen);
            match outcome {
                Outcome::Accepted => {
                    if r.count.wrong == 0 {
                        r.last_wrong = None;
                    }
                    r.last_success = Some(now.clone());
                }
                Outcome::PinIncorrect | Outcome::Unclear => r.last_wrong = Some(now.clone()),
                Outcome::PinLocked | Outcome::NotJudged => {}
            }
            r.count.clone()
        })?;
        match result {
            Ok(session) => Ok((session, pin)),
            Err(TokenError::PinIncorrect) => {
                let hint = match guard::decide(flags, &after, limits) {
                    Decision::Refuse(r) => guard::refusal_message(r, &token.label, &token.serial).1,
                    ask => {
                        let budget = pin_request(ask, cert, &report)
                            .ok()
                            .and_then(|(r, _)| r.budget_text())
                            .unwrap_or_default();
                        format!("{budget} Check the PIN before trying again.")
                            .trim_start()
                            .to_string()
                    }
                };
                Err(Error::new(Reason::PinIncorrect, "the PIN is incorrect").with_hint(hint))
            }
            Err(e) => Err(Error::from(e)),
        }
    }

    /// A key refused the PIN at a signature, after the booked login had
    /// succeeded (see [`guard::refused_at_signature`]): count the wrong PIN
    /// that reached the token, and send it no PIN again until unlock.
    pub(super) fn count_refusal_at_signature(&self, cert: &CertificateEntry) {
        let now = self.clock.now().to_string();
        let counted = self.state.transact_pin(&cert.token.identity(), |r| {
            r.count = guard::refused_at_signature(&r.count);
            r.last_wrong = Some(now.clone());
        });
        // Unwritable state refuses the next booking as well: nothing more
        // reaches the token either way.
        if let Err(e) = counted {
            tracing::error!("cannot record the PIN refused at a signature: {e}");
        }
    }

    /// Step 3: book one try on the count as it is now. When the count rose
    /// while the PIN was typed so far that this try may block the token for
    /// good, the person must confirm that first (once). Returns the booking
    /// and the token flags it was decided on.
    fn book_try(
        &self,
        who: &Requester<'_>,
        cert: &CertificateEntry,
        report: &TokenReport,
        limits: Limits,
        mut confirmed: bool,
    ) -> Result<(u64, PinFlags)> {
        let token = &cert.token;
        let identity = token.identity();
        loop {
            // The token's own flags may have changed too.
            let token_flags = self
                .tokens
                .token_status(token)
                .map_err(Error::from)?
                .pin_flags;
            let id = booking_id();
            let now = self.clock.now().unix_timestamp();
            let booked = self.state.transact_pin(&identity, |r| {
                let flags = with_lock_seen(token_flags, r.token_locked_seen);
                // A token that flags wrong PINs Mohor knows of reports its
                // flags truthfully (some drivers never set them).
                if (token_flags.count_low || token_flags.final_try || token_flags.locked)
                    && r.count.pessimistic_total() > 0
                {
                    r.reports_flags = true;
                }
                match guard::reserve(flags, &r.count, limits, confirmed, id, now) {
                    Ok(next) => {
                        r.count = next;
                        r.note_token(token);
                        Ok(flags)
                    }
                    Err(blocked) => Err((blocked, guard::decide(flags, &r.count, limits))),
                }
            })?;
            match booked {
                Ok(flags) => return Ok((id, flags)),
                Err((Blocked::Refused(refusal), _)) => return Err(refusal_error(refusal, token)),
                Err((Blocked::NeedsConfirmation, now_decision)) => {
                    let (mut request, _) = pin_request(now_decision, cert, report)?;
                    request.warning_text = format!(
                        "While the PIN was typed, wrong PINs were counted elsewhere (another \
                         Mohor window or command). {}",
                        request.warning_text
                    );
                    if confirmed
                        || !self
                            .prompter
                            .confirm_last_try(&request, &CancelToken::new(who.is_cancelled))
                    {
                        return Err(Error::new(
                            Reason::UserCancelled,
                            "while the PIN was typed, other wrong PINs were counted for this token: \
                             the next wrong PIN may now block it for good, and that was not confirmed. \
                             The PIN was not sent to the token",
                        )
                        .with_hint(
                            "check `mohor pin status`; to use the last try, run the command in a \
                             terminal (or sign from the Mohor window) and confirm it",
                        ));
                    }
                    confirmed = true;
                }
            }
        }
    }
}

fn with_lock_seen(mut flags: PinFlags, lock_seen: bool) -> PinFlags {
    flags.locked |= lock_seen;
    flags
}

/// The PIN dialog's content for a decision to ask, and whether the person
/// must confirm first; a refusal becomes its error.
fn pin_request(
    decision: Decision,
    cert: &CertificateEntry,
    report: &TokenReport,
) -> Result<(PinRequest, bool)> {
    match decision {
        Decision::Refuse(refusal) => Err(refusal_error(refusal, &cert.token)),
        Decision::Ask {
            until_mohor_stops,
            until_token_blocks,
            warning,
            warning_text,
            confirm_permanent_block,
            ..
        } => Ok((
            PinRequest {
                token_label: cert.token.label.clone(),
                certificate_cn: cert.facts.subject_cn.clone(),
                until_mohor_stops: Some(until_mohor_stops),
                until_token_blocks,
                warning,
                warning_text: guard::prompt_warning_text(warning, warning_text),
                min_len: report.pin_min_len,
                max_len: report.pin_max_len,
            },
            confirm_permanent_block,
        )),
    }
}

fn refusal_error(refusal: Refusal, token: &TokenRef) -> Error {
    let (msg, hint) = guard::refusal_message(refusal, &token.label, &token.serial);
    let reason = match refusal {
        Refusal::TokenLocked => Reason::PinLocked,
        Refusal::SoftLimit { .. } | Refusal::HardLimit { .. } | Refusal::RefusedAtSignature => {
            Reason::PinGuardLocked
        }
    };
    Error::new(reason, msg).with_hint(hint)
}

/// A booking id no other process will choose (random; the process id and
/// the time if the OS has no randomness to give).
fn booking_id() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}
