//! "Trust this site?": the prompt is a way for a page to put a window in
//! front of the person, so it is rationed across all origins together — one
//! on screen at a time, and at most N a minute — and the rest are refused
//! (`ORIGIN_NOT_ALLOWED`) without asking. The server adds its own limit of
//! one prompt per origin per interval; thirty subdomains get around that
//! one, not this one.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

use super::Agent;
use crate::error::{Error, Reason, Result};
use crate::state::TrustedSite;
use crate::ui::TrustSiteDecision;

/// The window the per-minute count looks back over.
const WINDOW: Duration = Duration::MINUTE;

/// Rations "trust this site?" prompts across all origins.
#[derive(Debug)]
pub struct TrustPromptLimiter {
    per_minute: usize,
    state: Mutex<LimiterState>,
}

#[derive(Debug, Default)]
struct LimiterState {
    showing: bool,
    /// When recent prompts were started, oldest first.
    started: VecDeque<OffsetDateTime>,
}

/// A prompt on screen; dropping it lets the next one through.
#[derive(Debug)]
pub struct PromptSlot<'a>(&'a TrustPromptLimiter);

impl Drop for PromptSlot<'_> {
    fn drop(&mut self) {
        self.0.lock().showing = false;
    }
}

impl TrustPromptLimiter {
    pub fn new(per_minute: u32) -> TrustPromptLimiter {
        TrustPromptLimiter {
            per_minute: usize::try_from(per_minute.max(1)).unwrap_or(1),
            state: Mutex::new(LimiterState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for one prompt at `now`, or why not.
    pub fn begin(&self, now: OffsetDateTime) -> Result<PromptSlot<'_>> {
        let mut s = self.lock();
        if s.showing {
            return Err(refused(
                "another \"trust this site?\" question is on screen",
            ));
        }
        while s.started.front().is_some_and(|t| now - *t >= WINDOW) {
            s.started.pop_front();
        }
        if s.started.len() >= self.per_minute {
            return Err(refused(&format!(
                "more than {} \"trust this site?\" questions in a minute",
                self.per_minute
            )));
        }
        s.started.push_back(now);
        s.showing = true;
        Ok(PromptSlot(self))
    }
}

fn refused(why: &str) -> Error {
    Error::new(
        Reason::OriginNotAllowed,
        format!("the site was not offered to the person: {why}"),
    )
    .with_hint("add the site to allowed_origins in the config, or try again in a minute")
}

/// What came of [`ask`].
#[derive(Debug, PartialEq)]
pub enum Asked {
    /// Trusted now, or already.
    Trusted(TrustedSite),
    /// The person said no.
    Declined,
    /// The limiter kept the question off the screen (why): the person was
    /// not asked, so the site may be offered again.
    NotShown(Error),
}

/// Ask the person (if the limiter allows) whether to trust `origin`, and
/// remember a yes with its expiry. A site trusted meanwhile (by another
/// prompt) is not asked again.
pub fn ask(agent: &Agent, limiter: &TrustPromptLimiter, origin: &str) -> Result<Asked> {
    let ttl = agent.config().site_trust();
    let already = agent
        .state()
        .trusted_sites(agent.now(), ttl)?
        .into_iter()
        .find(|s| s.origin == origin);
    if let Some(site) = already {
        return Ok(Asked::Trusted(site));
    }
    let _slot = match limiter.begin(agent.now()) {
        Ok(slot) => slot,
        Err(why) => return Ok(Asked::NotShown(why)),
    };
    match agent.prompter().trust_site(origin) {
        TrustSiteDecision::Allow => Ok(Asked::Trusted(agent.state().add_trusted_site(
            origin,
            agent.now(),
            ttl,
        )?)),
        TrustSiteDecision::Deny => Ok(Asked::Declined),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::{CancelToken, ConsentDecision, ConsentRequest, Notice, PinRequest, Prompter};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use time::macros::datetime;

    /// Answers every "trust this site?" with `answer` and counts the questions.
    struct Person {
        answer: TrustSiteDecision,
        asked: AtomicUsize,
    }

    impl Prompter for Person {
        fn consent(&self, _: &ConsentRequest, _: &CancelToken<'_>) -> ConsentDecision {
            ConsentDecision::Deny
        }
        fn pin(&self, _: &PinRequest, _: &CancelToken<'_>) -> Option<secrecy::SecretString> {
            None
        }
        fn confirm_last_try(&self, _: &PinRequest, _: &CancelToken<'_>) -> bool {
            false
        }
        fn trust_site(&self, _: &str) -> TrustSiteDecision {
            self.asked.fetch_add(1, Ordering::SeqCst);
            self.answer
        }
        fn notify(&self, _: &Notice) {}
    }

    fn agent(
        answer: TrustSiteDecision,
        now: OffsetDateTime,
    ) -> (Agent, Arc<Person>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let person = Arc::new(Person {
            answer,
            asked: AtomicUsize::new(0),
        });
        let agent = Agent::new(
            Box::new(crate::token::Pkcs11Tokens::load(&[])),
            crate::config::Config::default(),
            crate::state::StateStore::open(dir.path()).unwrap(),
            Arc::clone(&person) as Arc<dyn Prompter>,
            Arc::new(crate::clock::FixedClock(now)),
        )
        .unwrap();
        (agent, person, dir)
    }

    #[test]
    fn an_allowed_site_is_stored_for_90_days_and_not_asked_again() {
        let now = datetime!(2026-11-30 10:00 UTC);
        let (agent, person, _dir) = agent(TrustSiteDecision::Allow, now);
        let limiter = TrustPromptLimiter::new(3);
        let Ok(Asked::Trusted(site)) = ask(&agent, &limiter, "https://a.gov.in") else {
            panic!("not trusted");
        };
        assert_eq!((site.since, site.until), (now, now + Duration::days(90)));
        let again = ask(&agent, &limiter, "https://a.gov.in").unwrap();
        assert_eq!(again, Asked::Trusted(site));
        assert_eq!(person.asked.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn thirty_subdomains_get_three_questions_and_the_rest_are_refused_unasked() {
        let now = datetime!(2026-11-30 10:00 UTC);
        let (agent, person, _dir) = agent(TrustSiteDecision::Deny, now);
        let limiter = TrustPromptLimiter::new(3);
        for i in 0..30 {
            match ask(&agent, &limiter, &format!("https://s{i}.evil.example")).unwrap() {
                Asked::Declined => assert!(i < 3, "{i}: asked"),
                Asked::NotShown(e) => {
                    assert!(i >= 3, "{i}: not asked");
                    assert_eq!(e.reason, Reason::OriginNotAllowed);
                }
                Asked::Trusted(_) => panic!("{i}: trusted"),
            }
        }
        assert_eq!(person.asked.load(Ordering::SeqCst), 3);
        assert!(agent
            .state()
            .trusted_sites(now, agent.config().site_trust())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn one_prompt_at_a_time() {
        let t = datetime!(2026-11-30 10:00 UTC);
        let limiter = TrustPromptLimiter::new(3);
        let first = limiter.begin(t).unwrap();
        let e = limiter.begin(t).unwrap_err();
        assert_eq!(e.reason, Reason::OriginNotAllowed);
        assert!(e.message.contains("on screen"), "{}", e.message);
        drop(first);
        assert!(limiter.begin(t).is_ok());
    }

    #[test]
    fn at_most_n_prompts_a_minute_across_all_origins() {
        let t0 = datetime!(2026-11-30 10:00 UTC);
        let limiter = TrustPromptLimiter::new(3);
        for i in 0..3 {
            // Each answered at once, as a page spamming subdomains would hope.
            drop(limiter.begin(t0 + Duration::seconds(i)).unwrap());
        }
        let e = limiter.begin(t0 + Duration::seconds(3)).unwrap_err();
        assert_eq!(e.reason, Reason::OriginNotAllowed);
        assert!(e.message.contains("in a minute"), "{}", e.message);
        assert!(limiter.begin(t0 + Duration::seconds(59)).is_err());
        // The first prompt leaves the window after a full minute.
        drop(limiter.begin(t0 + Duration::seconds(60)).unwrap());
        assert!(limiter.begin(t0 + Duration::seconds(60)).is_err());
        assert!(limiter.begin(t0 + Duration::seconds(121)).is_ok());
    }

    #[test]
    fn thirty_prompts_in_one_second_show_at_most_the_limit() {
        let t0 = datetime!(2026-11-30 10:00 UTC);
        let limiter = TrustPromptLimiter::new(3);
        let shown = (0..30)
            .filter(|i| {
                let at = t0 + Duration::milliseconds(i * 33);
                limiter.begin(at).is_ok() // dropped at once: answered
            })
            .count();
        assert_eq!(shown, 3);
    }
}
