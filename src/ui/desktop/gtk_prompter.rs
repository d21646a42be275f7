//! [`GtkPrompter`]: the [`Prompter`] seam answered by native GTK dialogs.
//!
//! Worker threads call the prompter; GTK lives on the thread that runs
//! [`super::run_desktop`]. Each call posts a job to the GTK main loop
//! (`glib::idle_add_once`, which always runs on the loop's thread) and waits on
//! a std channel. A [`Reply`] guard makes sure an answer always comes back:
//! if the dialog disappears without one (window destroyed, loop stopped), the
//! guard answers cancel/deny when it is dropped, and the waiting side has its
//! own deadline on top.
//!
//! While a question is open the worker polls the request's [`CancelToken`];
//! when the page cancels (or its connection closes) it marks the [`Reply`]
//! withdrawn, and the dialog, which watches that mark on the GTK side, closes
//! itself answering cancel/deny.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gtk::glib;
use secrecy::SecretString;

use super::dialogs;
use crate::ui::{
    CancelToken, ConsentDecision, ConsentRequest, Notice, PinRequest, Prompter, TrustSiteDecision,
};

/// Extra wait on the worker side beyond the dialog's own timeout, for a busy
/// or stalled GTK loop. After it the worker answers cancel/deny by itself.
const GRACE: Duration = Duration::from_secs(15);
/// How often the worker looks at the request's cancel token.
const POLL: Duration = CancelToken::POLL;
/// How long a withdrawn question may take to close its window.
const WITHDRAW_WAIT: Duration = Duration::from_secs(5);

/// Native dialogs for the desktop agent. `Send + Sync`; its methods block the
/// calling (worker) thread until the person answers or the timeout passes.
///
/// It only shows dialogs while [`super::run_desktop`] runs the GTK main loop;
/// otherwise every question is answered cancel/deny at once. Never call it
/// from the GTK thread itself (it would wait on itself): it refuses and
/// answers cancel/deny.
pub struct GtkPrompter {
    timeout: Duration,
    /// One question at a time: two PIN dialogs side by side would confuse anyone.
    turn: Mutex<()>,
}

impl Default for GtkPrompter {
    fn default() -> Self {
        GtkPrompter::new(GtkPrompter::DEFAULT_TIMEOUT)
    }
}

impl GtkPrompter {
    /// How long a dialog waits for the person before it answers cancel/deny.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// A prompter whose dialogs close by themselves (answering cancel/deny)
    /// after `timeout` without an answer.
    pub fn new(timeout: Duration) -> Self {
        GtkPrompter {
            timeout: timeout.max(Duration::from_secs(1)),
            turn: Mutex::new(()),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Posts `show` to the GTK loop and waits for its answer, or for the
    /// request to be cancelled (then the dialog is closed).
    fn ask<T, F>(&self, what: &str, cancel: &CancelToken<'_>, fallback: fn() -> T, show: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(Reply<T>, Duration) + Send + 'static,
    {
        if !super::loop_running() {
            tracing::warn!(
                "no desktop session is running; the {what} question is answered \"cancel\""
            );
            return fallback();
        }
        if gtk::is_initialized_main_thread() {
            tracing::error!(
                "the {what} question was asked on the GTK thread, which cannot wait for itself; answered \"cancel\""
            );
            return fallback();
        }
        // Waits for the previous question to be answered; gives up if this
        // request is cancelled meanwhile.
        let Some(_turn) = cancel.lock(&self.turn) else {
            return fallback();
        };
        if cancel.is_cancelled() {
            return fallback();
        }
        let (tx, rx) = mpsc::channel();
        let reply = Reply::new(tx, fallback);
        let withdrawn = reply.withdrawn_flag();
        let timeout = self.timeout;
        glib::idle_add_once(move || {
            if super::loop_running() {
                show(reply, timeout);
            }
            // else: `reply` is dropped here and answers the fallback.
        });
        let deadline = Instant::now() + timeout + GRACE;
        loop {
            match rx.recv_timeout(POLL) {
                Ok(answer) => return answer,
                Err(RecvTimeoutError::Disconnected) => return fallback(),
                Err(RecvTimeoutError::Timeout) => {}
            }
            if cancel.is_cancelled() {
                tracing::info!("the {what} question was withdrawn: its request was cancelled");
                withdrawn.store(true, Ordering::SeqCst);
                // Wait for the window to close, so that no later question
                // opens while this one is still on screen. Whatever it
                // answered, the request is gone: cancel.
                let _ = rx.recv_timeout(WITHDRAW_WAIT);
                return fallback();
            }
            if Instant::now() >= deadline {
                tracing::warn!("the {what} dialog gave no answer in time; answered \"cancel\"");
                return fallback();
            }
        }
    }
}

impl Prompter for GtkPrompter {
    fn consent(&self, request: &ConsentRequest, cancel: &CancelToken<'_>) -> ConsentDecision {
        let request = request.clone();
        self.ask(
            "signature consent",
            cancel,
            || ConsentDecision::Deny,
            move |reply, timeout| dialogs::consent(request, timeout, reply),
        )
    }

    fn pin(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> Option<SecretString> {
        let request = request.clone();
        self.ask(
            "PIN",
            cancel,
            || None,
            move |reply, timeout| dialogs::pin(request, timeout, reply),
        )
    }

    fn confirm_last_try(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> bool {
        let request = request.clone();
        self.ask(
            "last-try confirmation",
            cancel,
            || false,
            move |reply, timeout| dialogs::confirm_last_try(request, timeout, reply),
        )
    }

    fn trust_site(&self, origin: &str) -> TrustSiteDecision {
        let origin = origin.to_owned();
        // The handshake that raised this question is already refused; nothing
        // can withdraw it except its own timeout.
        self.ask(
            "trust site",
            &CancelToken::never(),
            || TrustSiteDecision::Deny,
            move |reply, timeout| dialogs::trust_site(origin, timeout, reply),
        )
    }

    /// Shows the message and returns at once: a notice needs no answer, and
    /// the worker should not wait for someone to click OK.
    fn notify(&self, notice: &Notice) {
        if !super::loop_running() {
            tracing::info!(
                "notice (no desktop session): {}: {}",
                notice.title,
                notice.body
            );
            return;
        }
        let notice = notice.clone();
        let timeout = self.timeout;
        glib::idle_add_once(move || {
            if super::loop_running() {
                dialogs::notice(notice, timeout);
            }
        });
    }
}

/// The single answer to one question. Dropping it unanswered answers the
/// fallback (cancel/deny), so a waiting worker is never left hanging.
pub struct Reply<T> {
    tx: Option<mpsc::Sender<T>>,
    fallback: fn() -> T,
    /// Set by the waiting worker when the request was cancelled: the dialog
    /// must close and answer the fallback.
    withdrawn: Arc<AtomicBool>,
}

impl<T> Reply<T> {
    pub fn new(tx: mpsc::Sender<T>, fallback: fn() -> T) -> Self {
        Reply {
            tx: Some(tx),
            fallback,
            withdrawn: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The mark the dialog watches (GTK side) and the worker sets.
    pub fn withdrawn_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.withdrawn)
    }

    pub fn send(mut self, answer: T) {
        if let Some(tx) = self.tx.take() {
            // The worker may have given up already; nothing to do then.
            let _ = tx.send(answer);
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send((self.fallback)());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::PinWarning;

    #[test]
    fn an_unanswered_reply_answers_the_fallback() {
        let (tx, rx) = mpsc::channel();
        drop(Reply::new(tx, || ConsentDecision::Deny));
        assert_eq!(rx.recv().ok(), Some(ConsentDecision::Deny));

        let (tx, rx) = mpsc::channel();
        Reply::new(tx, || false).send(true);
        assert_eq!(rx.recv().ok(), Some(true));
        assert!(rx.recv().is_err(), "exactly one answer");
    }

    #[test]
    fn without_a_running_desktop_every_question_is_refused() {
        let p = GtkPrompter::new(Duration::from_secs(1));
        let pin = PinRequest {
            token_label: "T".into(),
            certificate_cn: "C".into(),
            until_mohor_stops: Some(3),
            until_token_blocks: Some(6),
            warning: PinWarning::None,
            warning_text: String::new(),
            min_len: 4,
            max_len: 8,
        };
        assert!(p.pin(&pin, &CancelToken::never()).is_none());
        assert!(!p.confirm_last_try(&pin, &CancelToken::never()));
        assert_eq!(p.trust_site("https://x.example"), TrustSiteDecision::Deny);
        p.notify(&Notice {
            title: "t".into(),
            body: "b".into(),
        });
    }
}
