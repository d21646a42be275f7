//! `mohor pin status` and `mohor pin unlock`: the guard's view of every token
//! Mohor has seen, and clearing a soft lock after the provider reset the PIN.

use super::Agent;
use crate::error::{Error, Reason, Result};
use crate::state::{PinRecord, ResetSeen};
use crate::token::guard::{self, Decision, Refusal};
use crate::token::{TokenRef, TokenReport};

/// One row of `mohor pin status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PinStatus {
    pub label: String,
    pub serial: String,
    pub model: String,
    pub present: bool,
    pub wrong_pins: u32,
    pub carried_from_before_unlock: u32,
    pub soft_limit: u32,
    pub hard_limit: u32,
    pub token_flags: Option<guard::PinFlags>,
    /// `ok`, `warn`, `last-try`, `soft-locked`, `token-locked`.
    pub state: String,
    pub message: String,
}

impl Agent {
    /// Guard state of every token Mohor has seen or sees now.
    pub fn pin_status(&self) -> Result<Vec<PinStatus>> {
        let scan = self.scan();
        let present: Vec<_> = scan.tokens.iter().map(|t| t.token.identity()).collect();
        self.state.adopt_legacy_records(&present)?;
        let records = self.state.pin_records()?;
        let mut rows = Vec::new();
        let mut seen = Vec::new();
        for t in &scan.tokens {
            let key = t.token.counter_key();
            // One token seen through two drivers is one row: one counter.
            if seen.contains(&key) {
                continue;
            }
            let rec = records.get(&key).cloned().unwrap_or_default();
            rows.push(self.status_row(&rec, Some(t), &t.token));
            seen.push(key);
        }
        for (key, rec) in records {
            if !seen.contains(&key) {
                let token = rec.token_ref();
                rows.push(self.status_row(&rec, None, &token));
            }
        }
        Ok(rows)
    }

    fn status_row(
        &self,
        rec: &PinRecord,
        report: Option<&TokenReport>,
        token: &TokenRef,
    ) -> PinStatus {
        let model = report.map(|r| r.model.clone()).unwrap_or_default();
        let limits = self.config.limits_for(&model);
        let mut flags = report.map(|r| r.pin_flags).unwrap_or_default();
        flags.locked |= rec.token_locked_seen;
        let (state, message) = match guard::decide(flags, &rec.count, limits) {
            Decision::Refuse(r) => {
                let (msg, hint) = guard::refusal_message(r, &token.label, &token.serial);
                let s = if matches!(r, Refusal::TokenLocked) {
                    "token-locked"
                } else {
                    "soft-locked"
                };
                (s.to_string(), format!("{msg} What to do: {hint}."))
            }
            Decision::Ask {
                warning,
                warning_text,
                attempts_left,
                ..
            } => {
                let s = match warning {
                    crate::ui::PinWarning::None => "ok",
                    crate::ui::PinWarning::AttemptsUsed => "warn",
                    crate::ui::PinWarning::LastTry => "last-try",
                };
                let msg = if warning_text.is_empty() {
                    match attempts_left {
                        Some(n) => format!("{n} tries before Mohor stops."),
                        None => String::new(),
                    }
                } else {
                    warning_text
                };
                (s.to_string(), msg)
            }
        };
        PinStatus {
            label: token.label.clone(),
            serial: token.serial.clone(),
            model,
            present: report.is_some(),
            wrong_pins: rec.count.wrong,
            carried_from_before_unlock: rec.count.carried,
            soft_limit: limits.soft,
            hard_limit: limits.hard,
            token_flags: report.map(|r| r.pin_flags),
            state,
            message,
        }
    }

    /// Clear the soft lock of a token after the provider reset its PIN.
    pub fn unlock(&self, serial: &str) -> Result<Vec<PinRecord>> {
        // A token that still reports wrong PINs was not reset: unlocking
        // would only hand a script the tries the provider's reset gives.
        let scan = self.scan();
        let present = scan.tokens.iter().find(|t| t.token.serial == serial);
        if let Some(t) = present {
            let f = t.pin_flags;
            if f.count_low || f.final_try || f.locked {
                return Err(Error::new(
                    Reason::PinGuardLocked,
                    format!(
                        "token \"{}\" still reports wrong PINs, so its PIN has not been reset; Mohor stays locked",
                        t.token.label
                    ),
                )
                .with_hint(
                    "ask your DSC provider to reset the PIN (they use the token's SO PIN), then unlock again",
                ));
            }
        }
        let seen = if present.is_some() {
            ResetSeen::FlagsCleared
        } else {
            ResetSeen::NotSeen
        };
        let changed = self.state.unlock(serial, seen)?;
        if changed.is_empty() {
            return Err(Error::new(
                Reason::InvalidRequest,
                format!("Mohor has no wrong-PIN record for a token with serial {serial}"),
            )
            .with_hint("see `mohor pin status` for the serials Mohor knows"));
        }
        Ok(changed)
    }
}
