//! The wrong-PIN guard: a pure decision, no I/O.
//!
//! A DSC token blocks for good after 8 wrong PINs (a new DSC must be bought);
//! after 5 the official must call the provider to reset the PIN. Many tokens
//! do not report how many tries are left, so Mohor keeps its own count of
//! consecutive wrong PINs per token and decides, before any `C_Login`, whether
//! to ask for a PIN at all, how loudly to warn, and whether the person must
//! explicitly confirm a try that could block the token for ever.

use crate::ui::PinWarning;

/// What the token itself reports (`CK_TOKEN_INFO.flags`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PinFlags {
    /// CKF_USER_PIN_COUNT_LOW: a wrong PIN was entered since the last success.
    pub count_low: bool,
    /// CKF_USER_PIN_FINAL_TRY: the next wrong PIN locks the token.
    pub final_try: bool,
    /// CKF_USER_PIN_LOCKED.
    pub locked: bool,
}

/// The limits for one token model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Mohor stops asking after this many consecutive wrong PINs.
    pub soft: u32,
    /// The token blocks itself for good after this many.
    pub hard: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { soft: 5, hard: 8 }
    }
}

/// Mohor's persisted count for one token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Count {
    /// Consecutive wrong PINs since the last successful login or unlock.
    pub wrong: u32,
    /// Wrong PINs counted before the last `mohor pin unlock`. The provider
    /// reset should have cleared them on the token, but Mohor cannot know,
    /// so they still count against the hard limit until a login succeeds.
    pub carried: u32,
}

impl Count {
    /// Wrong PINs the token may have seen, at worst.
    pub fn pessimistic_total(&self) -> u32 {
        self.wrong.saturating_add(self.carried)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The token says its PIN is locked.
    TokenLocked,
    /// Mohor's soft limit is reached: the provider must reset the PIN first.
    SoftLimit { wrong: u32 },
    /// Mohor's count says the token must be blocked by now.
    HardLimit { total: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Do not call `C_Login`; tell the person why and what to do.
    Refuse(Refusal),
    /// Ask for the PIN, showing this.
    Ask {
        /// Tries left before Mohor or the token stops accepting PINs, at
        /// worst; `None` = unknown (the token says some were used, Mohor did
        /// not see them).
        attempts_left: Option<u32>,
        warning: PinWarning,
        warning_text: String,
        /// The next wrong PIN may block the token for good: the person must
        /// confirm explicitly before the PIN dialog.
        confirm_permanent_block: bool,
    },
}

/// Decide what to do before asking for a PIN.
pub fn decide(flags: PinFlags, count: Count, limits: Limits) -> Decision {
    if flags.locked {
        return Decision::Refuse(Refusal::TokenLocked);
    }
    let total = count.pessimistic_total();
    if total >= limits.hard {
        return Decision::Refuse(Refusal::HardLimit { total });
    }
    if count.wrong >= limits.soft {
        return Decision::Refuse(Refusal::SoftLimit { wrong: count.wrong });
    }

    let before_block = limits.hard - total;
    let before_soft = limits.soft - count.wrong;
    let by_count = before_block.min(before_soft);
    let permanent_next = flags.final_try || before_block == 1;
    let attempts_left = if flags.final_try {
        Some(1)
    } else if flags.count_low && total == 0 {
        // Someone else typed wrong PINs: Mohor cannot say how many remain.
        None
    } else {
        Some(by_count)
    };

    let (warning, warning_text) = if permanent_next {
        (
            PinWarning::LastTry,
            "The next wrong PIN will block this token for good. A blocked DSC cannot be \
             unblocked; a new one must be bought."
                .to_string(),
        )
    } else if before_soft == 1 {
        (
            PinWarning::LastTry,
            "Last try: after one more wrong PIN Mohor will stop using this token until your \
             DSC provider resets the PIN."
                .to_string(),
        )
    } else if total > 0 || flags.count_low {
        let text = match attempts_left {
            Some(n) => format!("A wrong PIN was entered before. {n} tries left."),
            None => "A wrong PIN was entered before (the token does not say how many tries \
                     are left). Type carefully."
                .to_string(),
        };
        (PinWarning::AttemptsUsed, text)
    } else {
        (PinWarning::None, String::new())
    };

    Decision::Ask {
        attempts_left,
        warning,
        warning_text,
        confirm_permanent_block: permanent_next,
    }
}

/// Is the PIN's length acceptable to the token? Checked before `C_Login` so a
/// typo of the wrong length costs no attempt.
pub fn pin_length_ok(pin_len: usize, min: usize, max: usize) -> bool {
    // Some drivers report 0 or absurd values; only enforce sane bounds.
    let min = if min == 0 { 1 } else { min };
    let max = if max == 0 || max < min {
        usize::MAX
    } else {
        max
    };
    (min..=max).contains(&pin_len)
}

/// What to tell the person for a refusal, and what to do next.
pub fn refusal_message(refusal: Refusal, token_label: &str, serial: &str) -> (String, String) {
    match refusal {
        Refusal::TokenLocked => (
            format!("The PIN of token \"{token_label}\" is blocked."),
            "contact your DSC provider: a blocked token may need a new DSC".to_string(),
        ),
        Refusal::SoftLimit { wrong } => (
            format!(
                "Mohor stopped using token \"{token_label}\" after {wrong} wrong PINs, so that \
                 it is not blocked for good."
            ),
            format!(
                "contact your DSC provider to reset the PIN; then choose Unlock in Mohor \
                 (or run `mohor pin unlock --token {serial}`)"
            ),
        ),
        Refusal::HardLimit { total } => (
            format!("Token \"{token_label}\" has seen {total} wrong PINs and is probably blocked."),
            "contact your DSC provider; if the PIN was reset, run `mohor pin unlock` again \
             after a successful login with another tool"
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits { soft: 5, hard: 8 };
    const NONE: PinFlags = PinFlags {
        count_low: false,
        final_try: false,
        locked: false,
    };
    fn count(wrong: u32, carried: u32) -> Count {
        Count { wrong, carried }
    }

    fn ask(d: &Decision) -> (Option<u32>, PinWarning, bool) {
        match d {
            Decision::Ask {
                attempts_left,
                warning,
                confirm_permanent_block,
                ..
            } => (*attempts_left, *warning, *confirm_permanent_block),
            Decision::Refuse(r) => panic!("expected Ask, got Refuse({r:?})"),
        }
    }

    #[test]
    fn fresh_token_is_asked_without_warning() {
        assert_eq!(
            ask(&decide(NONE, count(0, 0), L)),
            (Some(5), PinWarning::None, false)
        );
    }

    /// Row per Mohor count with no token flags: tries left and warning level.
    #[test]
    fn mohor_count_alone_drives_the_warning() {
        let table = [
            (1, Some(4), PinWarning::AttemptsUsed),
            (2, Some(3), PinWarning::AttemptsUsed),
            (3, Some(2), PinWarning::AttemptsUsed),
            (4, Some(1), PinWarning::LastTry),
        ];
        for (wrong, left, warning) in table {
            assert_eq!(
                ask(&decide(NONE, count(wrong, 0), L)),
                (left, warning, false),
                "wrong={wrong}"
            );
        }
    }

    #[test]
    fn soft_limit_refuses_before_any_login() {
        for wrong in [5, 6, 7] {
            assert_eq!(
                decide(NONE, count(wrong, 0), L),
                Decision::Refuse(Refusal::SoftLimit { wrong })
            );
        }
    }

    #[test]
    fn token_locked_flag_refuses_whatever_the_count() {
        let locked = PinFlags {
            locked: true,
            ..NONE
        };
        for c in [count(0, 0), count(3, 0), count(0, 5)] {
            assert_eq!(decide(locked, c, L), Decision::Refuse(Refusal::TokenLocked));
        }
    }

    #[test]
    fn final_try_flag_demands_explicit_confirmation() {
        let final_try = PinFlags {
            final_try: true,
            count_low: true,
            ..NONE
        };
        // Even when Mohor saw nothing (another program burnt the tries).
        assert_eq!(
            ask(&decide(final_try, count(0, 0), L)),
            (Some(1), PinWarning::LastTry, true)
        );
        assert_eq!(
            ask(&decide(final_try, count(2, 0), L)),
            (Some(1), PinWarning::LastTry, true)
        );
    }

    #[test]
    fn count_low_flag_without_mohor_count_means_unknown_tries() {
        let low = PinFlags {
            count_low: true,
            ..NONE
        };
        assert_eq!(
            ask(&decide(low, count(0, 0), L)),
            (None, PinWarning::AttemptsUsed, false)
        );
        // With Mohor's own count the number is known.
        assert_eq!(
            ask(&decide(low, count(2, 0), L)),
            (Some(3), PinWarning::AttemptsUsed, false)
        );
    }

    /// After `pin unlock` the earlier wrong PINs still count against the hard
    /// limit until a login succeeds (the provider might not have reset it).
    #[test]
    fn carried_count_after_unlock_protects_the_hard_limit() {
        let table = [
            // (wrong, carried) → (tries left, warning, confirm)
            ((0, 5), (Some(3), PinWarning::AttemptsUsed, false)),
            ((1, 5), (Some(2), PinWarning::AttemptsUsed, false)),
            ((2, 5), (Some(1), PinWarning::LastTry, true)),
        ];
        for ((w, c), expected) in table {
            assert_eq!(
                ask(&decide(NONE, count(w, c), L)),
                expected,
                "wrong={w} carried={c}"
            );
        }
        assert_eq!(
            decide(NONE, count(3, 5), L),
            Decision::Refuse(Refusal::HardLimit { total: 8 })
        );
    }

    #[test]
    fn per_model_limits_apply() {
        // ProxKey allows 15 wrong PINs; Mohor still stops at its soft limit.
        let proxkey = Limits { soft: 5, hard: 15 };
        assert!(!ask(&decide(NONE, count(4, 0), proxkey)).2);
        assert_eq!(
            decide(NONE, count(5, 0), proxkey),
            Decision::Refuse(Refusal::SoftLimit { wrong: 5 })
        );
        // A strict model where soft == hard - 1: the soft last try is also the
        // permanent one and needs confirmation.
        let strict = Limits { soft: 3, hard: 3 };
        assert_eq!(
            ask(&decide(NONE, count(2, 0), strict)),
            (Some(1), PinWarning::LastTry, true)
        );
    }

    #[test]
    fn pin_length_is_checked_against_sane_bounds() {
        assert!(pin_length_ok(6, 4, 16));
        assert!(!pin_length_ok(3, 4, 16));
        assert!(!pin_length_ok(17, 4, 16));
        assert!(!pin_length_ok(0, 0, 0));
        assert!(pin_length_ok(40, 4, 0));
    }
}
