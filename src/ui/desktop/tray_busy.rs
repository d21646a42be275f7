//! A prompter wrapper that tells the tray while a person is being asked:
//! the icon shows "signing" from the consent window until the PIN is given
//! (or the question is cancelled), and the tray knows a request waits when
//! a token is inserted or removed.

use std::sync::Arc;

use secrecy::SecretString;

use super::TrayStatus;
use crate::ui::{
    CancelToken, ConsentDecision, ConsentRequest, Notice, PinRequest, Prompter, TrustSiteDecision,
};

pub struct BusyPrompter {
    inner: Arc<dyn Prompter>,
    status: TrayStatus,
}

impl BusyPrompter {
    pub fn new(inner: Arc<dyn Prompter>, status: TrayStatus) -> Self {
        BusyPrompter { inner, status }
    }

    fn asking<T>(&self, ask: impl FnOnce(&dyn Prompter) -> T) -> T {
        /// Closes the question on every path out, panics included.
        struct Open<'a>(&'a TrayStatus);
        impl Drop for Open<'_> {
            fn drop(&mut self) {
                self.0.question_closed();
            }
        }
        self.status.question_opened();
        let _open = Open(&self.status);
        ask(self.inner.as_ref())
    }
}

impl Prompter for BusyPrompter {
    fn consent(&self, request: &ConsentRequest, cancel: &CancelToken<'_>) -> ConsentDecision {
        self.asking(|p| p.consent(request, cancel))
    }

    fn pin(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> Option<SecretString> {
        self.asking(|p| p.pin(request, cancel))
    }

    fn confirm_last_try(&self, request: &PinRequest, cancel: &CancelToken<'_>) -> bool {
        self.asking(|p| p.confirm_last_try(request, cancel))
    }

    fn trust_site(&self, origin: &str) -> TrustSiteDecision {
        self.asking(|p| p.trust_site(origin))
    }

    fn notify(&self, notice: &Notice) {
        self.inner.notify(notice)
    }
}
