//! The wrong-PIN guard: pure decisions and transitions, no I/O.
//!
//! A DSC token blocks for good after 8 wrong PINs (a new DSC must be bought);
//! after 5 the official must call the provider to reset the PIN. Many tokens
//! do not report how many tries are left, so Mohor keeps its own count of
//! consecutive wrong PINs per token and decides, before any `C_Login`, whether
//! to ask for a PIN at all, how loudly to warn, and whether the person must
//! explicitly confirm a try that could block the token for ever.
//!
//! Several Mohor processes (the tray agent, command lines) may use one token
//! at once, so a try is a transaction on the persisted count: [`reserve`]
//! decides and books the try under the state lock before `C_Login`, and
//! [`settle`] records what the token answered. A booked try counts as wrong
//! until it is settled, so two processes can never both use the last try,
//! and a process that dies inside `C_Login` leaves its try counted.

use crate::ui::PinWarning;

/// A booked try older than this is from a process that died inside
/// `C_Login` (a login takes seconds): it becomes an ordinary wrong PIN.
pub const STALE_AFTER_SECS: i64 = 600;

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

/// One try booked by a process that is about to send, or is sending, a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reservation {
    /// Random, chosen by the booking process; settles exactly this try.
    pub id: u64,
    /// Unix time (seconds) of the booking.
    pub since: i64,
    /// [`Count::wrong_settled`] when this try was booked. Wrong PINs settled
    /// later may have reached the token after this try's success, so a
    /// success clears only those settled before it (see [`settle`]).
    #[serde(default)]
    pub wrong_settled_before: u64,
}

/// Mohor's persisted count for one token.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Count {
    /// Consecutive wrong PINs since the last successful login or unlock.
    pub wrong: u32,
    /// Wrong PINs counted before the last `mohor pin unlock`. The provider
    /// reset should have cleared them on the token, but Mohor cannot know,
    /// so they still count against the hard limit until a login succeeds.
    pub carried: u32,
    /// Tries booked and not yet settled: each counts as a wrong PIN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_flight: Vec<Reservation>,
    /// Every wrong PIN ever settled on this record (never reset): orders
    /// the answers of several processes' tries, which the token may have
    /// judged in another order than they were settled.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wrong_settled: u64,
    /// The token reported a wrong PIN ([`PinFlags::count_low`]) while Mohor
    /// had counted none: another program, another user's Mohor or another
    /// Mohor home used tries. How many remain is unknown until a login
    /// succeeds, so every try until then may be the last one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unknown_tries: bool,
    /// A key of the token asked for the PIN again at a signature
    /// (CKA_ALWAYS_AUTHENTICATE) and refused the one that had just logged in:
    /// it has a PIN of its own, which Mohor has no dialog for. Every try would
    /// count towards blocking that key, so none is sent until unlock.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refused_at_signature: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Count {
    pub fn new(wrong: u32, carried: u32) -> Count {
        Count {
            wrong,
            carried,
            ..Count::default()
        }
    }

    /// Does the token know of wrong PINs that Mohor did not count?
    pub fn tries_unknown(&self, flags: PinFlags) -> bool {
        self.unknown_tries || (flags.count_low && self.pessimistic_total() == 0)
    }

    fn in_flight_count(&self) -> u32 {
        u32::try_from(self.in_flight.len()).unwrap_or(u32::MAX)
    }

    /// Wrong PINs since the last success or unlock, booked tries included.
    pub fn since_unlock(&self) -> u32 {
        self.wrong.saturating_add(self.in_flight_count())
    }

    /// Wrong PINs the token may have seen, at worst.
    pub fn pessimistic_total(&self) -> u32 {
        self.since_unlock().saturating_add(self.carried)
    }

    /// Two records of one token (seen under different keys before the
    /// counters were keyed by identity) as one: every wrong PIN of either
    /// may have reached the token, so they add up.
    pub fn merged_pessimistically(&self, other: &Count) -> Count {
        let mut in_flight = self.in_flight.clone();
        in_flight.extend(other.in_flight.iter().copied());
        Count {
            wrong: self.wrong.saturating_add(other.wrong),
            carried: self.carried.saturating_add(other.carried),
            in_flight,
            // The sum is at least either record's own sequence, so each
            // booking's "settled since" can only come out larger (safe side).
            wrong_settled: self.wrong_settled.saturating_add(other.wrong_settled),
            unknown_tries: self.unknown_tries || other.unknown_tries,
            refused_at_signature: self.refused_at_signature || other.refused_at_signature,
        }
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
    /// A key refused the PIN at a signature (see [`Count::refused_at_signature`]).
    RefusedAtSignature,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Do not call `C_Login`; tell the person why and what to do.
    Refuse(Refusal),
    /// Ask for the PIN, showing this.
    Ask {
        /// The smaller of the two numbers below; `None` when the token's is
        /// unknown.
        attempts_left: Option<u32>,
        /// Wrong PINs after which Mohor stops asking (its soft limit, or
        /// earlier when the hard limit comes first).
        until_mohor_stops: u32,
        /// Wrong PINs after which the token blocks for good, at worst;
        /// `None` = unknown (the token says wrong PINs were typed that Mohor
        /// did not see).
        until_token_blocks: Option<u32>,
        warning: PinWarning,
        warning_text: String,
        /// The next wrong PIN may block the token for good: the person must
        /// confirm explicitly before the PIN is sent.
        confirm_permanent_block: bool,
    },
}

/// Decide what to do before asking for a PIN (and again, under the state
/// lock, before sending it: see [`reserve`]).
pub fn decide(flags: PinFlags, count: &Count, limits: Limits) -> Decision {
    if flags.locked {
        return Decision::Refuse(Refusal::TokenLocked);
    }
    if count.refused_at_signature {
        return Decision::Refuse(Refusal::RefusedAtSignature);
    }
    let total = count.pessimistic_total();
    if total >= limits.hard {
        return Decision::Refuse(Refusal::HardLimit { total });
    }
    let since_unlock = count.since_unlock();
    if since_unlock >= limits.soft {
        return Decision::Refuse(Refusal::SoftLimit {
            wrong: since_unlock,
        });
    }

    let before_block = limits.hard - total;
    let before_soft = limits.soft - since_unlock;
    // Someone else typed wrong PINs: Mohor cannot say how many remain, so
    // any try may be the token's last.
    let unknown = !flags.final_try && count.tries_unknown(flags);
    let permanent_next = flags.final_try || before_block == 1 || unknown;
    let until_token_blocks = if flags.final_try {
        Some(1)
    } else if unknown {
        None
    } else {
        Some(before_block)
    };
    let until_mohor_stops = before_soft.min(until_token_blocks.unwrap_or(before_block));
    let attempts_left = until_token_blocks.map(|t| t.min(until_mohor_stops));

    let (warning, warning_text) = if unknown {
        (
            PinWarning::LastTry,
            "The token reports wrong PINs that Mohor did not count (another program, or Mohor \
             of another user): the next wrong PIN may block it for good. A blocked DSC cannot \
             be unblocked; a new one must be bought."
                .to_string(),
        )
    } else if permanent_next {
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
        let budget = budget_sentence(Some(until_mohor_stops), until_token_blocks);
        let text = format!("{ATTEMPTS_USED_HEADLINE} {}", budget.unwrap_or_default());
        (PinWarning::AttemptsUsed, text.trim_end().to_string())
    } else {
        (PinWarning::None, String::new())
    };

    Decision::Ask {
        attempts_left,
        until_mohor_stops,
        until_token_blocks,
        warning,
        warning_text,
        confirm_permanent_block: permanent_next,
    }
}

/// The first words of the warning after wrong PINs; the PIN prompt shows
/// them above the two numbers (see [`budget_sentence`]).
pub const ATTEMPTS_USED_HEADLINE: &str = "A wrong PIN was entered before.";

/// What the PIN prompt says under the headline: type carefully, and who
/// helps once Mohor stops (the refusal then says the same), so the person
/// knows it before the last try.
pub const ATTEMPTS_USED_ADVICE: &str = "Type the PIN carefully. If Mohor stops asking, your DSC \
provider must reset the PIN before this token can sign again.";

/// The warning a PIN prompt shows for a decision's `warning` and sentence.
/// Every prompter shows the two numbers from the decision's fields; the
/// sentence repeats them (for `pin status`), so after wrong PINs the prompt
/// gets the headline and what stopping means for the person, said before
/// the last try: only the provider can reset the PIN then.
pub fn prompt_warning_text(warning: PinWarning, decision_text: String) -> String {
    if warning == PinWarning::AttemptsUsed {
        format!("{ATTEMPTS_USED_HEADLINE} {ATTEMPTS_USED_ADVICE}")
    } else {
        decision_text
    }
}

/// Both numbers in one plain sentence: how many more wrong PINs before
/// Mohor stops asking, and before the token blocks for good.
pub fn budget_sentence(
    until_mohor_stops: Option<u32>,
    until_token_blocks: Option<u32>,
) -> Option<String> {
    let pins = |n: u32| {
        if n == 1 {
            "1 more wrong PIN".to_string()
        } else {
            format!("{n} more wrong PINs")
        }
    };
    match (until_mohor_stops, until_token_blocks) {
        (Some(m), Some(t)) if m < t => Some(format!(
            "Mohor stops asking after {}; the token blocks for good after {t}.",
            pins(m)
        )),
        (Some(_), Some(t)) => Some(format!(
            "The token blocks for good after {}; Mohor cannot stop before that.",
            pins(t)
        )),
        (Some(m), None) => Some(format!(
            "Mohor stops asking after {}. The token may block sooner: it reports wrong PINs \
             that Mohor did not count.",
            pins(m)
        )),
        (None, Some(t)) => Some(format!("The token blocks for good after {}.", pins(t))),
        (None, None) => None,
    }
}

/// Why a try could not be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// No PIN may be sent now.
    Refused(Refusal),
    /// The try may block the token for good and the person has not
    /// confirmed that (the count rose while the PIN was being typed).
    NeedsConfirmation,
}

/// Book one try: the decision re-taken on the count as it is now (booked
/// tries of other processes included). `confirmed` = the person explicitly
/// accepted that this try may block the token for good. On success the
/// returned count holds the booking `id`; the caller must write it before
/// `C_Login` and [`settle`] it afterwards.
pub fn reserve(
    flags: PinFlags,
    count: &Count,
    limits: Limits,
    confirmed: bool,
    id: u64,
    now: i64,
) -> Result<Count, Blocked> {
    let count = expire_stale(count, now);
    match decide(flags, &count, limits) {
        Decision::Refuse(r) => Err(Blocked::Refused(r)),
        Decision::Ask {
            confirm_permanent_block: true,
            ..
        } if !confirmed => Err(Blocked::NeedsConfirmation),
        Decision::Ask { .. } => {
            let mut next = count;
            next.unknown_tries = next.tries_unknown(flags);
            next.in_flight.push(Reservation {
                id,
                since: now,
                wrong_settled_before: next.wrong_settled,
            });
            Ok(next)
        }
    }
}

/// What the token answered to a booked try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `C_Login` succeeded: the token's own counter is back to zero.
    Accepted,
    /// `CKR_PIN_INCORRECT`.
    PinIncorrect,
    /// `CKR_PIN_LOCKED`: the PIN was not even checked.
    PinLocked,
    /// An answer that may hide a wrong PIN (a driver's own error code):
    /// counted as one.
    Unclear,
    /// The PIN was never judged (token removed, not sent): the try is given back.
    NotJudged,
}

impl Outcome {
    /// What the record's "token answered PIN_LOCKED" mark becomes.
    pub fn token_locked_seen(self, before: bool) -> bool {
        match self {
            Outcome::Accepted => false,
            Outcome::PinLocked => true,
            Outcome::PinIncorrect | Outcome::Unclear | Outcome::NotJudged => before,
        }
    }
}

/// Record the token's answer to the try booked as `id`. A wrong PIN (or an
/// unclear answer) keeps the try; one never judged gives it back.
///
/// A success resets the token's own counter at the moment of its
/// `C_Login`, but other processes' answers are settled in their own time:
/// a wrong PIN settled after this try was booked may have reached the token
/// after this success. So a success clears only the wrong PINs settled
/// before its booking, and other processes' bookings stay (their answers
/// are still to come). A booking that is gone (expired as stale) was
/// already counted as wrong and its moment is unknown: a success then
/// clears nothing, and a wrong PIN still adds one (the safe side).
pub fn settle(count: &Count, id: u64, outcome: Outcome) -> Count {
    let mut next = count.clone();
    let booking = next.in_flight.iter().find(|r| r.id == id).copied();
    next.in_flight.retain(|r| r.id != id);
    match outcome {
        Outcome::Accepted => {
            if let Some(b) = booking {
                let since_booking = next.wrong_settled.saturating_sub(b.wrong_settled_before);
                let since_booking = u32::try_from(since_booking).unwrap_or(u32::MAX);
                next.wrong = next.wrong.min(since_booking);
                next.carried = 0;
                next.unknown_tries = false;
            }
        }
        Outcome::PinIncorrect | Outcome::Unclear => next.count_wrong(1),
        Outcome::PinLocked | Outcome::NotJudged => {}
    }
    next
}

/// A key's own login at a signature (CKU_CONTEXT_SPECIFIC, after the
/// booked user login succeeded) refused the PIN: one more wrong PIN reached
/// the token, and no PIN goes to it again until unlock.
pub fn refused_at_signature(count: &Count) -> Count {
    let mut next = count.clone();
    next.count_wrong(1);
    next.refused_at_signature = true;
    next
}

/// Bookings older than [`STALE_AFTER_SECS`] (or from a clock that jumped)
/// belong to a process that died inside `C_Login`: they become wrong PINs.
pub fn expire_stale(count: &Count, now: i64) -> Count {
    let mut next = count.clone();
    let (stale, live): (Vec<Reservation>, Vec<Reservation>) = count
        .in_flight
        .iter()
        .partition(|r| r.since.abs_diff(now) >= STALE_AFTER_SECS.unsigned_abs());
    next.in_flight = live;
    next.count_wrong(u32::try_from(stale.len()).unwrap_or(u32::MAX));
    next
}

impl Count {
    fn count_wrong(&mut self, n: u32) {
        self.wrong = self.wrong.saturating_add(n);
        self.wrong_settled = self.wrong_settled.saturating_add(u64::from(n));
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
        Refusal::RefusedAtSignature => (
            format!(
                "A key on token \"{token_label}\" asked for the PIN again at a signature and \
                 refused it: that key has a PIN of its own, which Mohor cannot ask for. Mohor \
                 sends no PIN to the token, so that the key is not blocked."
            ),
            format!(
                "ask your DSC provider about the key's signing PIN; once the token is set right, \
                 run `mohor pin unlock --token {serial}` (or choose Unlock in Mohor)"
            ),
        ),
        Refusal::HardLimit { total } => (
            format!("Token \"{token_label}\" has seen {total} wrong PINs and is probably blocked."),
            format!(
                "contact your DSC provider; once they have reset the PIN, run `mohor pin unlock \
                 --token {serial}` with the token inserted (or choose Unlock in Mohor)"
            ),
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
        Count::new(wrong, carried)
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
            ask(&decide(NONE, &count(0, 0), L)),
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
                ask(&decide(NONE, &count(wrong, 0), L)),
                (left, warning, false),
                "wrong={wrong}"
            );
        }
    }

    #[test]
    fn soft_limit_refuses_before_any_login() {
        for wrong in [5, 6, 7] {
            assert_eq!(
                decide(NONE, &count(wrong, 0), L),
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
            assert_eq!(
                decide(locked, &c, L),
                Decision::Refuse(Refusal::TokenLocked)
            );
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
            ask(&decide(final_try, &count(0, 0), L)),
            (Some(1), PinWarning::LastTry, true)
        );
        assert_eq!(
            ask(&decide(final_try, &count(2, 0), L)),
            (Some(1), PinWarning::LastTry, true)
        );
    }

    #[test]
    fn count_low_flag_without_mohor_count_means_unknown_tries() {
        let low = PinFlags {
            count_low: true,
            ..NONE
        };
        // Any try may be the token's last: a person must confirm each one,
        // and a script gets none.
        assert_eq!(
            ask(&decide(low, &count(0, 0), L)),
            (None, PinWarning::LastTry, true)
        );
        // With Mohor's own count (and no unknown tries seen) the number is known.
        assert_eq!(
            ask(&decide(low, &count(2, 0), L)),
            (Some(3), PinWarning::AttemptsUsed, false)
        );
    }

    /// Once the token has shown tries that Mohor did not count, Mohor's own
    /// later count is no longer the whole story: every try needs the
    /// confirmation until a login succeeds.
    #[test]
    fn unknown_tries_stay_unknown_until_a_login_succeeds() {
        let low = PinFlags {
            count_low: true,
            ..NONE
        };
        assert!(matches!(
            reserve(low, &count(0, 0), L, false, 1, T0),
            Err(Blocked::NeedsConfirmation)
        ));
        let booked = reserve(low, &count(0, 0), L, true, 1, T0).unwrap();
        assert!(booked.unknown_tries);
        let wrong = settle(&booked, 1, Outcome::PinIncorrect);
        assert_eq!(
            ask(&decide(low, &wrong, L)),
            (None, PinWarning::LastTry, true)
        );
        let again = reserve(low, &wrong, L, true, 2, T0).unwrap();
        let success = settle(&again, 2, Outcome::Accepted);
        assert_eq!((success.wrong, success.unknown_tries), (0, false));
        assert_eq!(
            ask(&decide(NONE, &success, L)),
            (Some(5), PinWarning::None, false)
        );
    }

    /// A key with a PIN of its own refused the user's PIN at a signature:
    /// the wrong PIN is counted, and no later try is booked, even one the
    /// person confirms, until unlock (a success cannot clear it: none can
    /// happen without a try).
    #[test]
    fn a_pin_refused_at_a_signature_counts_and_refuses_every_later_try() {
        let c = reserve(NONE, &count(0, 0), L, false, 1, T0).unwrap();
        let c = settle(&c, 1, Outcome::Accepted);
        let c = refused_at_signature(&c);
        assert_eq!((c.wrong, c.wrong_settled), (1, 1));
        assert_eq!(
            decide(NONE, &c, L),
            Decision::Refuse(Refusal::RefusedAtSignature)
        );
        assert_eq!(
            reserve(NONE, &c, L, true, 2, T0),
            Err(Blocked::Refused(Refusal::RefusedAtSignature))
        );
        // Seen under an old key too, it still refuses.
        let merged = count(0, 0).merged_pessimistically(&c);
        assert!(merged.refused_at_signature);
    }

    /// Processes settle in their own time: a success settled after four
    /// wrong PINs that were booked after it (and so may have reached the
    /// token after it) leaves those four counted.
    #[test]
    fn a_success_clears_only_the_wrong_pins_settled_before_it_was_booked() {
        let mut c = count(3, 2);
        c.wrong_settled = 3;
        c = reserve(NONE, &c, L, false, 1, T0).unwrap();
        // The three earlier wrong PINs were answered before this booking.
        assert_eq!(settle(&c, 1, Outcome::Accepted).wrong, 0);
        c.wrong = 0;
        c.carried = 0;
        for id in 2..=5 {
            c = reserve(NONE, &c, L, false, id, T0).unwrap();
        }
        for id in 2..=5 {
            c = settle(&c, id, Outcome::PinIncorrect);
        }
        assert_eq!(c.wrong, 4);
        let after = settle(&c, 1, Outcome::Accepted);
        assert_eq!(
            (after.wrong, after.carried, after.in_flight.len()),
            (4, 0, 0)
        );
        // So the next wrong PIN is Mohor's last before it stops.
        assert_eq!(ask(&decide(NONE, &after, L)).1, PinWarning::LastTry);
        // A success whose booking expired as stale clears nothing.
        assert_eq!(settle(&c, 99, Outcome::Accepted).wrong, 4);
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
                ask(&decide(NONE, &count(w, c), L)),
                expected,
                "wrong={w} carried={c}"
            );
        }
        assert_eq!(
            decide(NONE, &count(3, 5), L),
            Decision::Refuse(Refusal::HardLimit { total: 8 })
        );
    }

    #[test]
    fn per_model_limits_apply() {
        // ProxKey allows 15 wrong PINs; Mohor still stops at its soft limit.
        let proxkey = Limits { soft: 5, hard: 15 };
        assert!(!ask(&decide(NONE, &count(4, 0), proxkey)).2);
        assert_eq!(
            decide(NONE, &count(5, 0), proxkey),
            Decision::Refuse(Refusal::SoftLimit { wrong: 5 })
        );
        // A strict model where soft == hard - 1: the soft last try is also the
        // permanent one and needs confirmation.
        let strict = Limits { soft: 3, hard: 3 };
        assert_eq!(
            ask(&decide(NONE, &count(2, 0), strict)),
            (Some(1), PinWarning::LastTry, true)
        );
    }

    fn booked(wrong: u32, carried: u32, ids: &[u64]) -> Count {
        let mut c = count(wrong, carried);
        c.in_flight = ids
            .iter()
            .map(|&id| Reservation {
                id,
                since: T0,
                wrong_settled_before: 0,
            })
            .collect();
        c
    }
    const T0: i64 = 1_700_000_000;

    fn numbers(d: &Decision) -> (u32, Option<u32>) {
        match d {
            Decision::Ask {
                until_mohor_stops,
                until_token_blocks,
                ..
            } => (*until_mohor_stops, *until_token_blocks),
            Decision::Refuse(r) => panic!("expected Ask, got Refuse({r:?})"),
        }
    }

    /// Both numbers the PIN dialog shows: wrong PINs before Mohor stops and
    /// before the token blocks for good.
    #[test]
    fn the_dialog_gets_both_numbers() {
        let low = PinFlags {
            count_low: true,
            ..NONE
        };
        let final_try = PinFlags {
            final_try: true,
            count_low: true,
            ..NONE
        };
        let table = [
            // (flags, wrong, carried) → (until Mohor stops, until token blocks)
            ((NONE, 0, 0), (5, Some(8))),
            ((NONE, 3, 0), (2, Some(5))),
            ((low, 3, 0), (2, Some(5))),
            ((NONE, 0, 5), (3, Some(3))),
            ((NONE, 1, 5), (2, Some(2))),
            ((low, 0, 0), (5, None)),
            ((final_try, 0, 0), (1, Some(1))),
        ];
        for ((flags, w, c), expected) in table {
            assert_eq!(
                numbers(&decide(flags, &count(w, c), L)),
                expected,
                "flags={flags:?} wrong={w} carried={c}"
            );
        }
    }

    /// Booked tries count as wrong PINs for every decision.
    #[test]
    fn booked_tries_count_as_wrong() {
        assert_eq!(
            numbers(&decide(NONE, &booked(1, 0, &[7, 8]), L)),
            (2, Some(5))
        );
        assert_eq!(
            decide(NONE, &booked(3, 0, &[7, 8]), L),
            Decision::Refuse(Refusal::SoftLimit { wrong: 5 })
        );
        assert_eq!(
            decide(NONE, &booked(0, 5, &[7, 8, 9]), L),
            Decision::Refuse(Refusal::HardLimit { total: 8 })
        );
    }

    /// `reserve` as a table: the count as it is under the lock, whether the
    /// person confirmed a permanent try → booked, or why not.
    #[test]
    fn reserve_table() {
        let final_try = PinFlags {
            final_try: true,
            count_low: true,
            ..NONE
        };
        let table: [(PinFlags, Count, bool, Result<u32, Blocked>); 9] = [
            (NONE, booked(0, 0, &[]), false, Ok(1)),
            (NONE, booked(3, 0, &[]), false, Ok(4)),
            // The fifth try while four are booked elsewhere: allowed, it is
            // Mohor's own last one, not the token's.
            (NONE, booked(0, 0, &[1, 2, 3, 4]), false, Ok(5)),
            // A sixth concurrent try: refused, whoever booked the others.
            (
                NONE,
                booked(1, 0, &[1, 2, 3, 4]),
                false,
                Err(Blocked::Refused(Refusal::SoftLimit { wrong: 5 })),
            ),
            // The token's last try needs the confirmation...
            (
                NONE,
                booked(2, 5, &[]),
                false,
                Err(Blocked::NeedsConfirmation),
            ),
            (NONE, booked(2, 5, &[]), true, Ok(8)),
            // ...and once one process has booked it, nobody else gets it.
            (
                NONE,
                booked(2, 5, &[1]),
                true,
                Err(Blocked::Refused(Refusal::HardLimit { total: 8 })),
            ),
            (
                final_try,
                booked(0, 0, &[]),
                false,
                Err(Blocked::NeedsConfirmation),
            ),
            (
                PinFlags {
                    locked: true,
                    ..NONE
                },
                booked(0, 0, &[]),
                true,
                Err(Blocked::Refused(Refusal::TokenLocked)),
            ),
        ];
        for (i, (flags, before, confirmed, expected)) in table.into_iter().enumerate() {
            let got =
                reserve(flags, &before, L, confirmed, 42, T0 + 1).map(|c| c.pessimistic_total());
            assert_eq!(got, expected, "row {i}");
            if let Ok(c) = reserve(flags, &before, L, confirmed, 42, T0 + 1) {
                assert!(c.in_flight.iter().any(|r| r.id == 42 && r.since == T0 + 1));
            }
        }
    }

    /// `settle` as a table: (before, outcome for booking 1) → (wrong, carried, still booked).
    #[test]
    fn settle_table() {
        let table = [
            (booked(2, 0, &[1]), Outcome::PinIncorrect, (3, 0, vec![])),
            (booked(2, 3, &[1]), Outcome::Accepted, (0, 0, vec![])),
            (booked(2, 0, &[1]), Outcome::NotJudged, (2, 0, vec![])),
            (booked(2, 0, &[1]), Outcome::PinLocked, (2, 0, vec![])),
            (booked(2, 0, &[1]), Outcome::Unclear, (3, 0, vec![])),
            // Another process's booking survives a success: its answer is
            // still to come and may be a wrong PIN after this success.
            (booked(2, 0, &[1, 9]), Outcome::Accepted, (0, 0, vec![9])),
            (
                booked(0, 0, &[9, 1]),
                Outcome::PinIncorrect,
                (1, 0, vec![9]),
            ),
            // A booking already expired as stale: a wrong PIN still counts.
            (booked(3, 0, &[]), Outcome::PinIncorrect, (4, 0, vec![])),
            (booked(3, 0, &[]), Outcome::NotJudged, (3, 0, vec![])),
        ];
        for (i, (before, outcome, (wrong, carried, left))) in table.into_iter().enumerate() {
            let after = settle(&before, 1, outcome);
            let ids: Vec<u64> = after.in_flight.iter().map(|r| r.id).collect();
            assert_eq!(
                (after.wrong, after.carried, ids),
                (wrong, carried, left),
                "row {i}"
            );
        }
        assert!(Outcome::PinLocked.token_locked_seen(false));
        assert!(!Outcome::Accepted.token_locked_seen(true));
        assert!(Outcome::NotJudged.token_locked_seen(true));
    }

    /// A process that died inside `C_Login` leaves its try counted: first as
    /// a booking, later as a wrong PIN.
    #[test]
    fn a_crash_inside_c_login_leaves_the_try_counted() {
        let left_behind = reserve(NONE, &count(1, 0), L, false, 5, T0).unwrap();
        assert_eq!(left_behind.pessimistic_total(), 2);
        let soon = expire_stale(&left_behind, T0 + 30);
        assert_eq!(soon, left_behind);
        let later = expire_stale(&left_behind, T0 + STALE_AFTER_SECS);
        assert_eq!((later.wrong, later.in_flight.len()), (2, 0));
        // Reserving later expires it on the way.
        let next = reserve(NONE, &left_behind, L, false, 6, T0 + 3600).unwrap();
        assert_eq!((next.wrong, next.in_flight.len()), (2, 1));
    }

    #[test]
    fn merging_two_records_of_one_token_never_loses_a_wrong_pin() {
        let a = booked(2, 1, &[1]);
        let b = booked(3, 0, &[2]);
        let m = a.merged_pessimistically(&b);
        assert_eq!((m.wrong, m.carried, m.in_flight.len()), (5, 1, 2));
        assert_eq!(m.pessimistic_total(), 8);
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
