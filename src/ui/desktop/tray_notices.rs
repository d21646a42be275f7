//! What the tray announces as a desktop notification, decided from two
//! overviews in a row (pure): a token inserted or removed while a request
//! waits for the person, a token that has just been soft-locked, and
//! certificates that expire within 30 days (the caller limits that one to
//! once a day).

use time::OffsetDateTime;

use super::tray_menu::{expires_in_days, Overview, TokenLine};
use crate::ui::Notice;

/// Notices for what changed between `old` and `new`.
pub fn changes(old: &Overview, new: &Overview, waiting_requests: usize) -> Vec<Notice> {
    let mut out = Vec::new();
    let present = |o: &Overview, t: &TokenLine| {
        o.tokens
            .iter()
            .any(|x| x.serial == t.serial && x.label == t.label && x.present)
    };
    if waiting_requests > 0 {
        for t in new.tokens.iter().filter(|t| t.present) {
            if !present(old, t) {
                out.push(Notice {
                    title: "Token inserted".into(),
                    body: format!(
                        "\"{}\" (serial {}) was inserted while a signature request waits for you.",
                        t.label, t.serial
                    ),
                });
            }
        }
        for t in old.tokens.iter().filter(|t| t.present) {
            if !present(new, t) {
                out.push(Notice {
                    title: "Token removed".into(),
                    body: format!(
                        "\"{}\" (serial {}) was removed while a signature request waits for you. \
                         Insert it again to sign.",
                        t.label, t.serial
                    ),
                });
            }
        }
    }
    for t in new.tokens.iter().filter(|t| t.soft_locked()) {
        let was = old
            .tokens
            .iter()
            .any(|x| x.serial == t.serial && x.label == t.label && x.soft_locked());
        if !was {
            out.push(Notice {
                title: "Token locked by Mohor".into(),
                body: format!(
                    "Mohor stopped asking for the PIN of \"{}\" (serial {}) so that the token is \
                     not blocked for good. {}",
                    t.label, t.serial, t.message
                ),
            });
        }
    }
    out
}

/// One notice naming every certificate that expires within 30 days, if any.
pub fn expiring(overview: &Overview, now: OffsetDateTime) -> Option<Notice> {
    let soon: Vec<String> = overview
        .certificates
        .iter()
        .filter(|c| c.cannot_sign.is_none())
        .filter_map(|c| {
            expires_in_days(c.not_after, now).map(|d| match d {
                0 => format!("{} expires today", c.who),
                1 => format!("{} expires in 1 day", c.who),
                d => format!("{} expires in {d} days", c.who),
            })
        })
        .collect();
    (!soon.is_empty()).then(|| Notice {
        title: "Certificate expires soon".into(),
        body: format!(
            "{}. Ask your certifying authority to renew it in time.",
            soon.join("; ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tray_menu::CertLine;
    use super::*;
    use time::macros::datetime;

    fn token(state: &str, present: bool) -> TokenLine {
        TokenLine {
            label: "DSC".into(),
            serial: "S1".into(),
            present,
            guard_state: state.into(),
            message: "Ask your provider to reset the PIN.".into(),
        }
    }

    fn with(tokens: Vec<TokenLine>) -> Overview {
        Overview {
            tokens,
            ..Overview::default()
        }
    }

    #[test]
    fn insert_and_remove_are_announced_only_while_a_request_waits() {
        let away = with(vec![]);
        let here = with(vec![token("ok", true)]);
        assert!(changes(&away, &here, 0).is_empty());
        assert_eq!(changes(&away, &here, 1)[0].title, "Token inserted");
        assert_eq!(changes(&here, &away, 1)[0].title, "Token removed");
        // Still known (records) but no longer present counts as removed.
        assert_eq!(
            changes(&here, &with(vec![token("ok", false)]), 2)[0].title,
            "Token removed"
        );
        assert!(changes(&here, &here, 1).is_empty());
    }

    #[test]
    fn a_soft_lock_is_announced_once() {
        let ok = with(vec![token("ok", true)]);
        let locked = with(vec![token("soft-locked", true)]);
        let n = changes(&ok, &locked, 0);
        assert_eq!(n.len(), 1);
        assert!(n[0].body.contains("serial S1"));
        assert!(changes(&locked, &locked, 0).is_empty());
    }

    #[test]
    fn expiring_names_only_certificates_within_30_days() {
        let now = datetime!(2026-11-30 09:00 UTC);
        let cert = |who: &str, not_after| CertLine {
            who: who.into(),
            issuer: "CA".into(),
            not_after,
            cannot_sign: None,
        };
        let mut o = Overview::default();
        o.certificates
            .push(cert("Far", datetime!(2027-11-30 0:00 UTC)));
        assert!(expiring(&o, now).is_none());
        o.certificates
            .push(cert("Near", datetime!(2026-12-10 10:00 UTC)));
        let n = expiring(&o, now).unwrap();
        assert!(n.body.starts_with("Near expires in 10 days."), "{}", n.body);
        assert!(!n.body.contains("Far"));
    }
}
