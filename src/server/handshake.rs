//! The HTTP upgrade decision, taken in tungstenite's header callback before
//! anything is upgraded. A refusal is a bare `403` (or `503` when full) with an
//! empty body: no product name, no version, nothing a probing page could use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use tokio_tungstenite::tungstenite::handshake::server::{
    Callback, ErrorResponse, Request, Response,
};
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, StatusCode};

use super::origin::{host_allowed, Origin, Scheme};
use super::Shared;

/// What the callback hands to the connection when it accepts.
pub(crate) struct Admitted {
    pub origin: String,
    pub permit: OwnedSemaphorePermit,
}

pub(crate) fn refusal(status: StatusCode) -> ErrorResponse {
    let mut r = ErrorResponse::new(None);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

fn single_header(req: &Request, name: header::HeaderName) -> Option<&str> {
    let mut values = req.headers().get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// tungstenite's header callback: decides on one handshake. On success
/// `admitted` receives the origin and a connection slot.
pub(crate) struct Gate<'a> {
    pub shared: &'a Arc<Shared>,
    pub admitted: &'a mut Option<Admitted>,
}

impl Callback for Gate<'_> {
    fn on_request(self, req: &Request, response: Response) -> Result<Response, ErrorResponse> {
        match decide(self.shared, req) {
            Ok(admitted) => {
                *self.admitted = Some(admitted);
                Ok(response)
            }
            Err(status) => Err(refusal(status)),
        }
    }
}

fn decide(shared: &Arc<Shared>, req: &Request) -> Result<Admitted, StatusCode> {
    let forbidden = || StatusCode::FORBIDDEN;
    let host_ok = single_header(req, header::HOST).is_some_and(|h| host_allowed(h, shared.port));
    if !host_ok {
        tracing::info!("refused a WebSocket handshake: Host is not the loopback address and port");
        return Err(forbidden());
    }
    let Some(origin) = single_header(req, header::ORIGIN).and_then(Origin::parse_header) else {
        tracing::info!("refused a WebSocket handshake: missing or malformed Origin");
        return Err(forbidden());
    };
    let serialised = origin.to_string();
    let allowed = shared.policy.allows(&origin)
        || (origin.scheme == Scheme::Https && shared.backend.is_trusted_site(&serialised));
    if !allowed {
        tracing::info!(origin = %serialised, "refused a WebSocket handshake: origin not allowed");
        if origin.scheme == Scheme::Https && shared.ask_unknown_sites {
            shared.trust.maybe_ask(&serialised, shared);
        }
        return Err(forbidden());
    }
    let Ok(permit) = Arc::clone(&shared.connections).try_acquire_owned() else {
        tracing::warn!(origin = %serialised, "refused a WebSocket handshake: too many connections");
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    };
    Ok(Admitted {
        origin: serialised,
        permit,
    })
}

/// Rate limit for "trust this site?" prompts: one per origin per interval,
/// and never two at a time.
pub(crate) struct TrustPrompts {
    interval: Duration,
    state: Mutex<TrustState>,
}

#[derive(Default)]
struct TrustState {
    asked: HashMap<String, Instant>,
    showing: bool,
}

const MAX_REMEMBERED_PROMPTS: usize = 1024;

impl TrustPrompts {
    pub(crate) fn new(interval: Duration) -> TrustPrompts {
        TrustPrompts {
            interval,
            state: Mutex::new(TrustState::default()),
        }
    }

    /// Whether a prompt for `origin` may be shown now; if so, records it as showing.
    pub(crate) fn begin(&self, origin: &str, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.showing {
            return false;
        }
        if s.asked
            .get(origin)
            .is_some_and(|t| now.duration_since(*t) < self.interval)
        {
            return false;
        }
        if s.asked.len() >= MAX_REMEMBERED_PROMPTS {
            let interval = self.interval;
            s.asked.retain(|_, t| now.duration_since(*t) < interval);
            if s.asked.len() >= MAX_REMEMBERED_PROMPTS {
                return false;
            }
        }
        s.asked.insert(origin.to_string(), now);
        s.showing = true;
        true
    }

    pub(crate) fn end(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).showing = false;
    }

    /// `origin` was not shown to the person after all (the backend's own
    /// limit on questions a minute): it may be offered at its next visit,
    /// instead of waiting out the interval for a question nobody saw.
    fn forget(&self, origin: &str) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.asked.remove(origin);
    }

    /// Asks the backend on a blocking thread if the rate limit allows.
    fn maybe_ask(&self, origin: &str, shared: &Arc<Shared>) {
        if !self.begin(origin, Instant::now()) {
            return;
        }
        let shared = Arc::clone(shared);
        let origin = origin.to_string();
        tokio::task::spawn_blocking(move || {
            struct End<'a>(&'a TrustPrompts);
            impl Drop for End<'_> {
                fn drop(&mut self) {
                    self.0.end();
                }
            }
            let _end = End(&shared.trust);
            let answer = shared.backend.ask_trust_site(&origin);
            if answer == super::TrustAnswer::NotAsked {
                shared.trust.forget(&origin);
            }
            tracing::info!(%origin, ?answer, "offered a site to the person");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_prompt_per_origin_per_interval_and_one_at_a_time() {
        let t = TrustPrompts::new(Duration::from_secs(600));
        let now = Instant::now();
        assert!(t.begin("https://a.gov.in", now));
        assert!(!t.begin("https://b.gov.in", now), "one at a time");
        t.end();
        assert!(t.begin("https://b.gov.in", now));
        t.end();
        assert!(!t.begin("https://a.gov.in", now + Duration::from_secs(599)));
        assert!(t.begin("https://a.gov.in", now + Duration::from_secs(600)));
    }

    #[test]
    fn refusals_have_an_empty_body_and_no_identifying_headers() {
        let r = refusal(StatusCode::FORBIDDEN);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.body().is_none());
        assert!(r.headers().get(header::SERVER).is_none());
        assert_eq!(r.headers().len(), 2);
    }
}
