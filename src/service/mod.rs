//! The service: one request pipeline that every signing method goes
//! through, whoever asks (the command line or a web page), and the handlers
//! around it (PIN status, history). The CLI and the WebSocket adapter only
//! translate to and from these types.
//!
//! ```text
//!  parse (adapter) → preflight → consent → guard → PIN → login → sign → audit → answer
//! ```
//!
//! The rules this module enforces, whatever the caller:
//! - a document or certificate that cannot be signed is refused before anyone
//!   is asked anything (in a batch: that item is listed as "will not be signed");
//! - the token is touched only after consent (for web requests);
//! - every PIN goes through the guard, and one typed PIN is at most one `C_Login`;
//! - requests for one token run one at a time in this process;
//! - every outcome of every item — signed, refused, cancelled, failed — is
//!   written to the audit log at one exit.

mod audit;
pub mod consent;
mod guarded_login;
mod parallel;
mod pin_status;
pub mod pipeline;
mod preflight;
mod select;
mod staging;
pub mod trust;
pub mod verify;
pub mod web;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::net::{HttpClient, UreqClient};
use crate::state::StateStore;
use crate::token::{Scan, Tokens};
use crate::ui::Prompter;

pub use audit::COMMAND_LINE;
pub use pin_status::PinStatus;
pub use pipeline::{DataItem, HashItem, Item, Job, Outcome, Output, PdfItem};
pub use preflight::{check_pdf, detached_cms};

/// Where a request stands; sent to web pages as `progress` notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    WaitingForConsent,
    WaitingForPin,
    Signing,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::WaitingForConsent => "waiting-for-consent",
            Stage::WaitingForPin => "waiting-for-pin",
            Stage::Signing => "signing",
            Stage::Done => "done",
        }
    }
}

/// Who asks and how to report progress.
pub struct Requester<'a> {
    /// Web origin, or `None` for the local command line (which needs no
    /// consent dialog: the person typed the command).
    pub origin: Option<&'a str>,
    pub progress: &'a (dyn Fn(Stage) + Sync),
    pub is_cancelled: &'a (dyn Fn() -> bool + Sync),
}

impl Requester<'static> {
    /// The local command line.
    pub fn cli() -> Requester<'static> {
        Requester {
            origin: None,
            progress: &|_| {},
            is_cancelled: &|| false,
        }
    }
}

/// What the person or page asked for in a PDF signature.
#[derive(Debug, Clone, Default)]
pub struct PdfRequest {
    pub reason: Option<String>,
    pub location: Option<String>,
    pub field: Option<String>,
    pub visible: Option<crate::pdf::VisibleStamp>,
    pub visible_auto: bool,
    pub certify: bool,
    /// A certificate-issuance stamp: the UIN printed, the QR payload drawn
    /// (checked by `crate::pdf::CertificateStamp::check` where the request
    /// is read).
    pub uin: Option<String>,
    pub qr: Option<String>,
    pub qr_version: Option<u8>,
    /// The password of an encrypted PDF (user or owner).
    pub password: Option<crate::pdf::PdfPassword>,
    /// B-B, B-T, B-LT or B-LTA.
    pub level: crate::ltv::Level,
}

impl PdfRequest {
    /// The PDF layer's options for this request and signer.
    pub fn options(
        &self,
        signer_name: &str,
        issuer_name: &str,
        signing_time: time::OffsetDateTime,
    ) -> crate::pdf::PdfSignOptions {
        let mut opts = crate::pdf::PdfSignOptions::new(signer_name, issuer_name);
        opts.signing_time = signing_time;
        opts.reason = self.reason.clone();
        opts.location = self.location.clone();
        opts.field = self.field.clone();
        opts.visible = self.visible;
        opts.visible_auto = self.visible_auto;
        opts.certify = self.certify;
        opts.uin = self.uin.clone();
        opts.qr = self.qr.clone();
        opts.qr_version = self.qr_version;
        opts.password = self.password.clone();
        opts
    }
}

/// The service: tokens, people, state and clock behind their seams.
pub struct Agent {
    tokens: Box<dyn Tokens>,
    config: Config,
    state: StateStore,
    prompter: Arc<dyn Prompter>,
    clock: Arc<dyn Clock>,
    /// The network, for time-stamps and revocation data (a seam like the clock).
    http: Arc<dyn HttpClient>,
    extra_ca: Vec<Vec<u8>>,
    /// CRLs for long-term signatures, shared by a batch's items and by
    /// every request while the agent runs (see `ltv::crl_cache`).
    crls: crate::ltv::crl_cache::CrlCache,
    /// One request at a time per token in this process (other processes
    /// are kept apart by the guard's lock on the state directory).
    token_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Agent {
    pub fn new(
        tokens: Box<dyn Tokens>,
        config: Config,
        state: StateStore,
        prompter: Arc<dyn Prompter>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let mut extra_ca = Vec::new();
        for path in &config.ca_certificates {
            let text = std::fs::read(path)
                .map_err(|e| Error::io(format!("cannot read CA file {}", path.display()), &e))?;
            extra_ca.extend(crate::pem::certificates(&text));
        }
        let http = Arc::new(UreqClient::new(config.timestamp.timeout).with_credentials(
            config.timestamp.url.as_deref().unwrap_or_default(),
            config.timestamp.credentials.clone(),
        ));
        Ok(Agent {
            tokens,
            http,
            config,
            state,
            prompter,
            clock,
            extra_ca,
            crls: Default::default(),
            token_locks: Mutex::new(HashMap::new()),
        })
    }

    /// Use `http` for the network (tests give a client of their own).
    pub fn with_http(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = http;
        self
    }

    /// Use this time-stamp authority instead of the configured one (the
    /// command line's `--tsa`; never a page's).
    pub fn with_tsa_url(mut self, url: Option<String>) -> Self {
        if let Some(url) = url {
            // Credentials belong to the configured service only.
            self.config.timestamp.credentials = None;
            self.config.timestamp.url = Some(url);
            self.http = Arc::new(UreqClient::new(self.config.timestamp.timeout));
        }
        self
    }

    /// Long-term signing context: the network, the TSA, the certificates
    /// the configuration and `chain` bring as anchors and intermediates.
    pub fn ltv(&self, chain: &[Vec<u8>], now: time::OffsetDateTime) -> crate::ltv::Ltv<'_> {
        let mut known = self.extra_ca.clone();
        known.extend(chain.iter().cloned());
        crate::ltv::Ltv::new(
            self.http.as_ref(),
            self.config.timestamp.url.clone(),
            &known,
            now,
        )
        .with_crl_cache(&self.crls)
    }

    pub fn tokens(&self) -> &dyn Tokens {
        self.tokens.as_ref()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn state(&self) -> &StateStore {
        &self.state
    }

    pub fn prompter(&self) -> &Arc<dyn Prompter> {
        &self.prompter
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    pub fn scan(&self) -> Scan {
        self.tokens.scan(self.clock.now())
    }
}
