//! What the tray shows, as plain values: the icon's state and every line of
//! the menu. Pure (time passed in, no GTK), so the wording and the rules —
//! which state wins, when a certificate "expires in N days" — are tested
//! without a display. `tray.rs` turns a [`MenuModel`] into muda items.

use time::OffsetDateTime;

/// What the icon shows, most urgent first when several apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrayState {
    /// A guard warning or a soft-locked token: the person must act.
    Attention,
    /// A request is waiting for the person (consent or PIN window open).
    Signing,
    /// No token is inserted.
    NoToken,
    /// The tokens have not been looked at yet (a driver may take seconds
    /// to start): nothing is known, so nothing is claimed.
    Starting,
    Ready,
}

impl TrayState {
    pub fn word(self) -> &'static str {
        match self {
            TrayState::Attention => "needs attention",
            TrayState::Signing => "waiting for you to approve a signature",
            TrayState::NoToken => "no token inserted",
            TrayState::Starting => "looking for tokens",
            TrayState::Ready => "ready",
        }
    }
}

/// One token and its wrong-PIN guard state (`mohor pin status` vocabulary:
/// `ok`, `warn`, `last-try`, `soft-locked`, `token-locked`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLine {
    pub label: String,
    pub serial: String,
    pub present: bool,
    pub guard_state: String,
    pub message: String,
}

impl TokenLine {
    pub fn needs_attention(&self) -> bool {
        self.guard_state != "ok"
    }

    pub fn soft_locked(&self) -> bool {
        self.guard_state == "soft-locked"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertLine {
    pub who: String,
    pub issuer: String,
    pub not_after: OffsetDateTime,
    /// Why it cannot sign, other than expiry (e.g. "encryption only").
    pub cannot_sign: Option<String>,
}

/// One audit-log entry as the menu shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    /// RFC 3339, as logged.
    pub time: String,
    pub origin: String,
    pub document: String,
    /// `sign.pdf`, `sign.data`, `sign.hash`, `verify`, ... as logged.
    pub action: String,
    /// `ok` or a reason code.
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteLine {
    pub origin: String,
    pub until: OffsetDateTime,
}

/// Everything the agent knows that the tray shows; gathered off the GTK thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overview {
    pub tokens: Vec<TokenLine>,
    pub certificates: Vec<CertLine>,
    /// Newest first.
    pub recent: Vec<SignatureLine>,
    pub sites: Vec<SiteLine>,
    /// Problems reading a token or a state file, shown as they are.
    pub problems: Vec<String>,
}

/// Certificates closer than this to their end say "expires in N days".
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Days until `not_after` when it is within the warning window (0 = today);
/// `None` when further away or already expired.
pub fn expires_in_days(not_after: OffsetDateTime, now: OffsetDateTime) -> Option<i64> {
    if not_after <= now {
        return None;
    }
    let days = (not_after - now).whole_days();
    (days < EXPIRY_WARNING_DAYS).then_some(days)
}

/// The icon's state: attention beats signing beats no token.
pub fn tray_state(overview: &Overview, waiting_requests: usize) -> TrayState {
    if overview
        .tokens
        .iter()
        .any(|t| t.present && t.needs_attention())
        || overview.tokens.iter().any(TokenLine::soft_locked)
    {
        TrayState::Attention
    } else if waiting_requests > 0 {
        TrayState::Signing
    } else if !overview.tokens.iter().any(|t| t.present) {
        TrayState::NoToken
    } else {
        TrayState::Ready
    }
}

/// One line of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A heading or a fact: shown, not clickable.
    Info(String),
    /// A trusted site: a submenu whose one item removes it.
    Site {
        text: String,
        origin: String,
    },
    /// A soft-locked token: clicking asks (with the warning) to unlock it.
    Unlock {
        text: String,
        serial: String,
    },
    Separator,
}

/// The menu between the status heading and the fixed actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuModel {
    pub state: TrayState,
    pub tooltip: String,
    pub lines: Vec<Line>,
}

/// How many audit entries the menu lists.
pub const RECENT_IN_MENU: usize = 5;

/// The menu for `overview`, or — `None` — before the tokens were first
/// looked at (the driver may take seconds to start): then the menu says
/// that, not "no token inserted".
pub fn menu_model(
    overview: Option<&Overview>,
    port: Option<u16>,
    waiting_requests: usize,
    now: OffsetDateTime,
) -> MenuModel {
    let unknown = Overview::default();
    let looked = overview.is_some();
    let state = match overview {
        Some(o) => tray_state(o, waiting_requests),
        None if waiting_requests > 0 => TrayState::Signing,
        None => TrayState::Starting,
    };
    let overview = overview.unwrap_or(&unknown);
    let where_ = match port {
        Some(p) => format!("port {p}"),
        None => "starting…".to_string(),
    };
    let present = overview.tokens.iter().filter(|t| t.present).count();
    let heading = format!("Mohor: {} · {where_}", state.word());
    let mut lines = vec![Line::Info(heading.clone())];
    lines.push(Line::Info(match present {
        _ if !looked => "Looking for tokens…".to_string(),
        0 => "No token inserted".to_string(),
        1 => "1 token inserted".to_string(),
        n => format!("{n} tokens inserted"),
    }));
    for t in &overview.tokens {
        lines.push(Line::Info(token_text(t)));
    }
    lines.push(Line::Separator);

    lines.push(Line::Info("Certificates".into()));
    if overview.certificates.is_empty() {
        lines.push(Line::Info("    none on the inserted tokens".into()));
    }
    for c in &overview.certificates {
        lines.push(Line::Info(short(format!("    {}", cert_text(c, now)))));
    }
    lines.push(Line::Separator);

    lines.push(Line::Info("Recent signatures and checks".into()));
    if overview.recent.is_empty() {
        lines.push(Line::Info("    none yet".into()));
    }
    for s in overview.recent.iter().take(RECENT_IN_MENU) {
        lines.push(Line::Info(short(format!("    {}", signature_text(s)))));
    }
    lines.push(Line::Separator);

    lines.push(Line::Info("Trusted sites".into()));
    if overview.sites.is_empty() {
        lines.push(Line::Info("    none".into()));
    }
    for s in &overview.sites {
        lines.push(Line::Site {
            text: format!("    {} (until {})", shown(&s.origin), day(s.until)),
            origin: s.origin.clone(),
        });
    }
    let locked: Vec<&TokenLine> = overview.tokens.iter().filter(|t| t.soft_locked()).collect();
    if !locked.is_empty() {
        lines.push(Line::Separator);
        for t in locked {
            lines.push(Line::Unlock {
                text: format!(
                    "Unlock token \"{}\" (serial {})…",
                    shown(&t.label),
                    shown(&t.serial)
                ),
                serial: t.serial.clone(),
            });
        }
    }
    for p in &overview.problems {
        lines.push(Line::Info(format!("Problem: {p}")));
    }
    MenuModel {
        state,
        tooltip: heading,
        lines,
    }
}

fn token_text(t: &TokenLine) -> String {
    let guard = match t.guard_state.as_str() {
        "ok" => "PIN guard: ok".to_string(),
        "warn" => "PIN guard: wrong PINs entered".to_string(),
        "last-try" => "PIN guard: LAST TRY before Mohor stops".to_string(),
        "soft-locked" => "PIN guard: LOCKED by Mohor".to_string(),
        "token-locked" => "PIN BLOCKED by the token".to_string(),
        other => format!("PIN guard: {other}"),
    };
    let inserted = if t.present { "" } else { " (not inserted)" };
    format!(
        "    \"{}\" serial {}{inserted} — {guard}",
        shown(&t.label),
        shown(&t.serial)
    )
}

pub fn cert_text(c: &CertLine, now: OffsetDateTime) -> String {
    let mut s = format!(
        "{} — issued by {} — valid until {}",
        shown(&c.who),
        shown(&c.issuer),
        day(c.not_after)
    );
    if let Some(why) = &c.cannot_sign {
        s.push_str(&format!(" (cannot sign: {why})"));
    }
    if c.not_after <= now {
        s.push_str(" (EXPIRED)");
    } else if let Some(n) = expires_in_days(c.not_after, now) {
        s.push_str(&match n {
            0 => " (expires today)".to_string(),
            1 => " (expires in 1 day)".to_string(),
            n => format!(" (expires in {n} days)"),
        });
    }
    s
}

pub fn signature_text(s: &SignatureLine) -> String {
    // "2026-11-30T09:12:44Z" → "2026-11-30 09:12"
    let when: String = s
        .time
        .chars()
        .take(16)
        .map(|c| if c == 'T' { ' ' } else { c })
        .collect();
    let site = if s.origin == "cli" {
        "command line"
    } else {
        s.origin.as_str()
    };
    let (site, document) = (shown(site), shown(&s.document));
    let outcome = match s.result.as_str() {
        "ok" => crate::state::done_word(&s.action).to_string(),
        "USER_CANCELLED" => "cancelled".to_string(),
        other => format!("failed: {other}"),
    };
    format!("{when} · {site} · {document} · {outcome}")
}

/// Menu lines longer than this end in "…": a menu wider than the screen
/// hides its own items.
pub const MAX_LINE_CHARS: usize = 100;

/// Outside text (a token's label, a certificate's names, a document name
/// from the audit log) through the one display filter the dialogs use, so
/// the menu cannot show "invoice\u{202e}fdp.exe" as "invoiceexe.pdf" either.
/// Not cut here: [`short`] cuts the whole line.
fn shown(text: &str) -> String {
    crate::ui::display_text::clean(text, MAX_LINE_CHARS)
}

fn short(s: String) -> String {
    if s.chars().count() <= MAX_LINE_CHARS {
        return s;
    }
    let mut cut: String = s.chars().take(MAX_LINE_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn day(t: OffsetDateTime) -> String {
    t.date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-30 09:00 UTC);

    fn token(state: &str, present: bool) -> TokenLine {
        TokenLine {
            label: "DSC".into(),
            serial: "S1".into(),
            present,
            guard_state: state.into(),
            message: String::new(),
        }
    }

    #[test]
    fn attention_beats_signing_beats_no_token() {
        let mut o = Overview::default();
        assert_eq!(tray_state(&o, 0), TrayState::NoToken);
        assert_eq!(tray_state(&o, 1), TrayState::Signing);
        o.tokens.push(token("ok", true));
        assert_eq!(tray_state(&o, 0), TrayState::Ready);
        o.tokens.push(token("warn", true));
        assert_eq!(tray_state(&o, 1), TrayState::Attention);
        // A soft-locked token that is not inserted still needs the person.
        let o = Overview {
            tokens: vec![token("soft-locked", false)],
            ..Overview::default()
        };
        assert_eq!(tray_state(&o, 0), TrayState::Attention);
        // A warning on a token that is away does not.
        let o = Overview {
            tokens: vec![token("warn", false)],
            ..Overview::default()
        };
        assert_eq!(tray_state(&o, 0), TrayState::NoToken);
    }

    #[test]
    fn expiry_is_announced_under_30_days_only() {
        let cert = |not_after| CertLine {
            who: "Asha Verma".into(),
            issuer: "CA".into(),
            not_after,
            cannot_sign: None,
        };
        assert_eq!(
            cert_text(&cert(datetime!(2027-06-01 0:00 UTC)), NOW),
            "Asha Verma — issued by CA — valid until 2027-06-01"
        );
        assert!(cert_text(&cert(datetime!(2026-12-12 10:00 UTC)), NOW)
            .ends_with("(expires in 12 days)"));
        assert!(cert_text(&cert(datetime!(2026-12-29 10:00 UTC)), NOW)
            .ends_with("(expires in 29 days)"));
        assert!(!cert_text(&cert(datetime!(2026-12-30 10:00 UTC)), NOW).contains("expires"));
        assert!(cert_text(&cert(datetime!(2026-11-30 12:00 UTC)), NOW).ends_with("(expires today)"));
        assert!(cert_text(&cert(datetime!(2026-11-01 0:00 UTC)), NOW).ends_with("(EXPIRED)"));
        assert_eq!(expires_in_days(datetime!(2026-11-01 0:00 UTC), NOW), None);
    }

    #[test]
    fn long_lines_are_cut_with_an_ellipsis() {
        let long = "x".repeat(300);
        let cut = short(long);
        assert_eq!(cut.chars().count(), MAX_LINE_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(short("ok".into()), "ok");
    }

    #[test]
    fn before_the_first_look_at_the_tokens_the_menu_and_icon_say_so() {
        let m = menu_model(None, None, 0, NOW);
        assert_eq!(m.state, TrayState::Starting);
        assert_eq!(
            m.lines[..2],
            [
                Line::Info("Mohor: looking for tokens · starting…".into()),
                Line::Info("Looking for tokens…".into())
            ]
        );
        assert!(!m
            .lines
            .iter()
            .any(|l| matches!(l, Line::Info(t) if t.contains("No token"))));
        // A request waiting for the person already says so.
        assert_eq!(menu_model(None, None, 1, NOW).state, TrayState::Signing);
        // Once looked at, an empty slot is "no token inserted".
        let m = menu_model(Some(&Overview::default()), Some(21760), 0, NOW);
        assert_eq!(m.state, TrayState::NoToken);
        assert_eq!(m.lines[1], Line::Info("No token inserted".into()));
    }

    #[test]
    fn outside_text_in_the_menu_cannot_disguise_itself() {
        let mut t = token("ok", true);
        t.label = "DSC\u{202e}fdp.exe".into();
        let o = Overview {
            tokens: vec![t],
            certificates: vec![CertLine {
                who: "ANITA\u{2028}SHARMA\u{200b}".into(),
                issuer: "CA".into(),
                not_after: datetime!(2027-06-01 0:00 UTC),
                cannot_sign: None,
            }],
            recent: vec![SignatureLine {
                time: "2026-11-30T08:59:01Z".into(),
                origin: "https://eoffice.gov.in".into(),
                document: "bill\u{202e}fdp.exe".into(),
                action: "sign.pdf".into(),
                result: "ok".into(),
            }],
            ..Overview::default()
        };
        let lines = menu_model(Some(&o), Some(21761), 0, NOW).lines;
        for want in [
            "    \"DSC\u{fffd}fdp.exe\" serial S1 — PIN guard: ok",
            "    ANITA SHARMA — issued by CA — valid until 2027-06-01",
            "    2026-11-30 08:59 · https://eoffice.gov.in · bill\u{fffd}fdp.exe · signed",
        ] {
            assert!(
                lines.contains(&Line::Info(want.into())),
                "{want:?} not in {lines:#?}"
            );
        }
    }

    #[test]
    fn the_menu_names_port_tokens_signatures_and_sites() {
        let o = Overview {
            tokens: vec![token("soft-locked", true)],
            certificates: vec![],
            recent: vec![
                SignatureLine {
                    time: "2026-11-30T08:59:01Z".into(),
                    origin: "https://eoffice.gov.in".into(),
                    document: "letter.pdf".into(),
                    action: "sign.pdf".into(),
                    result: "ok".into(),
                },
                SignatureLine {
                    time: "2026-11-30T09:03:12Z".into(),
                    origin: "command line".into(),
                    document: "received.pdf".into(),
                    action: "verify".into(),
                    result: "ok".into(),
                },
            ],
            sites: vec![SiteLine {
                origin: "https://eoffice.gov.in".into(),
                until: datetime!(2027-02-28 0:00 UTC),
            }],
            problems: vec![],
        };
        let m = menu_model(Some(&o), Some(21761), 0, NOW);
        assert_eq!(m.state, TrayState::Attention);
        assert_eq!(
            m.lines[0],
            Line::Info("Mohor: needs attention · port 21761".into())
        );
        assert!(m.lines.contains(&Line::Info(
            "    2026-11-30 08:59 · https://eoffice.gov.in · letter.pdf · signed".into()
        )));
        // A check that held is not a signature: the person must not read
        // "signed" for a document they only verified.
        assert!(m.lines.contains(&Line::Info(
            "    2026-11-30 09:03 · command line · received.pdf · verified".into()
        )));
        assert!(m.lines.contains(&Line::Site {
            text: "    https://eoffice.gov.in (until 2027-02-28)".into(),
            origin: "https://eoffice.gov.in".into()
        }));
        assert!(m
            .lines
            .iter()
            .any(|l| matches!(l, Line::Unlock { serial, .. } if serial == "S1")));
        assert!(m.lines.contains(&Line::Info(
            "    \"DSC\" serial S1 — PIN guard: LOCKED by Mohor".into()
        )));
    }
}
