//! The seam between the WebSocket server and whatever answers requests
//! (`crate::service` in the product, a fake in tests).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;

use super::answer::Answer;
use crate::protocol::Request;

/// Answers requests. Implementations must be cheap to share across threads.
pub trait Backend: Send + Sync + 'static {
    /// Runs on a blocking thread; may take minutes (consent + PIN dialogs).
    /// Report progress with [`Call::progress`] and give up early (answer
    /// `USER_CANCELLED`) when [`Call::is_cancelled`] turns true: the page
    /// cancelled, the connection closed, or the request timed out.
    /// A plain `Value` converts with `Answer::from`; large documents are
    /// attached as files ([`Answer::attach_base64`]) and streamed.
    fn handle(&self, call: &Call, request: Request) -> crate::Result<Answer>;

    /// Whether the person already trusted this origin (serialised form,
    /// e.g. `https://eoffice.gov.in`). Called during the handshake on the
    /// server's own threads: must be quick and show nothing.
    fn is_trusted_site(&self, origin: &str) -> bool;

    /// Asks the person whether to trust an unknown `https` origin, and
    /// remembers the answer. Runs on a blocking thread; the server calls it
    /// at most once per origin per 10 minutes and never twice at a time.
    fn ask_trust_site(&self, origin: &str) -> TrustAnswer;
}

/// What came of offering a site to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustAnswer {
    Trusted,
    /// The person said no (or could not be asked for a reason that will
    /// not pass, like a failed dialog).
    Declined,
    /// The backend's own limits (questions a minute) kept it from being
    /// shown: the site was not asked, so it may be offered again.
    NotAsked,
}

/// The context of one request: who asked, and the way back to the page.
pub struct Call {
    /// The page's origin, e.g. `https://eoffice.gov.in` (shown in dialogs).
    pub origin: String,
    /// The JSON-RPC id of the request (string or integer).
    pub request_id: Value,
    progress: Box<dyn Fn(&str) + Send + Sync>,
    cancelled: Arc<AtomicBool>,
}

impl Call {
    /// A call whose progress goes to `progress` (the server sends it to the
    /// page as a `progress` notification; other callers may log or ignore it).
    pub fn new(
        origin: impl Into<String>,
        request_id: Value,
        progress: impl Fn(&str) + Send + Sync + 'static,
    ) -> Call {
        Call {
            origin: origin.into(),
            request_id,
            progress: Box::new(progress),
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Shares `flag` as this call's cancel flag.
    pub fn with_cancel_flag(mut self, flag: Arc<AtomicBool>) -> Call {
        self.cancelled = flag;
        self
    }

    /// Tells the page what is happening; stages are
    /// [`crate::protocol::stage`] (`waiting-for-consent`, `waiting-for-pin`,
    /// `signing`). The server itself sends `done` before a success.
    pub fn progress(&self, stage: &str) {
        (self.progress)(stage)
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// The flag itself, for code that polls it deeper down (e.g. a dialog).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancelled)
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst)
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("origin", &self.origin)
            .field("request_id", &self.request_id)
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}
