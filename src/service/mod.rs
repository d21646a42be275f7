//! The handlers: one request → certificate choice → consent → PIN guard →
//! token → signing pipeline → output. The CLI and the WebSocket server both
//! call these; neither knows the order of the steps or the rules in them.
//!
//! The rules this module enforces, whatever the caller:
//! - a certificate that cannot sign is refused before anyone is asked anything;
//! - the token is touched only after consent (for web requests);
//! - every PIN goes through the guard, and one typed PIN is at most one `C_Login`;
//! - a wrong PIN is counted *before* `C_Login` (crash-safe) and the count is
//!   rolled back only when the failure was not about the PIN;
//! - requests for one token run one at a time.

pub mod web;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Reason, Result};
use crate::sign::cms::{self, CmsProfile};
use crate::sign::{DigestAlgorithm, Signer};
use crate::state::{AuditEntry, PinRecord, StateStore};
use crate::token::guard::{self, Decision, Refusal};
use crate::token::inventory;
use crate::token::{CertificateEntry, Pkcs11Tokens, Scan, TokenError, TokenRef, TokenReport};
use crate::ui::{
    CertificateChoice, ConsentDecision, ConsentRequest, DocumentSummary, PinRequest, Prompter,
};

/// `/Contents` room for the dry run that checks a PDF before any dialog.
const DRY_RUN_CAPACITY: usize = 16 * 1024;

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

/// What a signing operation produced, for the caller's report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signed<T> {
    pub output: T,
    /// Subject CN of the certificate that signed.
    pub signer: String,
    pub certificate_id: String,
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
    /// The password of an encrypted PDF (user or owner).
    pub password: Option<crate::pdf::PdfPassword>,
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
        opts.password = self.password.clone();
        opts
    }
}

/// One row of `mohor pin status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PinStatus {
    pub label: String,
    pub serial: String,
    pub model: String,
    pub present: bool,
    pub wrong_pins: u32,
    pub carried_from_before_unlock: u32,
    pub soft_limit: u32,
    pub hard_limit: u32,
    pub token_flags: Option<guard::PinFlags>,
    /// `ok`, `warn`, `last-try`, `soft-locked`, `token-locked`.
    pub state: String,
    pub message: String,
}

pub struct Agent {
    tokens: Pkcs11Tokens,
    config: Config,
    state: StateStore,
    prompter: Arc<dyn Prompter>,
    clock: Arc<dyn Clock>,
    extra_ca: Vec<Vec<u8>>,
    token_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Agent {
    pub fn new(
        tokens: Pkcs11Tokens,
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
        Ok(Agent {
            tokens,
            config,
            state,
            prompter,
            clock,
            extra_ca,
            token_locks: Mutex::new(HashMap::new()),
        })
    }

    pub fn tokens(&self) -> &Pkcs11Tokens {
        &self.tokens
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

    /// Guard state of every token Mohor has seen or sees now.
    pub fn pin_status(&self) -> Result<Vec<PinStatus>> {
        let scan = self.scan();
        let records = self.state.pin_records()?;
        let mut rows = Vec::new();
        let mut seen = Vec::new();
        for t in &scan.tokens {
            let key = t.token.counter_key();
            let rec = records.get(&key).cloned().unwrap_or_default();
            rows.push(self.status_row(&rec, Some(t), &t.token));
            seen.push(key);
        }
        for (key, rec) in records {
            if !seen.contains(&key) {
                let token = TokenRef {
                    module: rec.module.clone().into(),
                    serial: rec.serial.clone(),
                    label: rec.label.clone(),
                };
                rows.push(self.status_row(&rec, None, &token));
            }
        }
        Ok(rows)
    }

    fn status_row(
        &self,
        rec: &PinRecord,
        report: Option<&TokenReport>,
        token: &TokenRef,
    ) -> PinStatus {
        let model = report.map(|r| r.model.clone()).unwrap_or_default();
        let limits = self.config.limits_for(&model);
        let mut flags = report.map(|r| r.pin_flags).unwrap_or_default();
        flags.locked |= rec.token_locked_seen;
        let (state, message) = match guard::decide(flags, rec.count, limits) {
            Decision::Refuse(r) => {
                let (msg, hint) = guard::refusal_message(r, &token.label, &token.serial);
                let s = if matches!(r, Refusal::TokenLocked) {
                    "token-locked"
                } else {
                    "soft-locked"
                };
                (s.to_string(), format!("{msg} What to do: {hint}."))
            }
            Decision::Ask {
                warning,
                warning_text,
                attempts_left,
                ..
            } => {
                let s = match warning {
                    crate::ui::PinWarning::None => "ok",
                    crate::ui::PinWarning::AttemptsUsed => "warn",
                    crate::ui::PinWarning::LastTry => "last-try",
                };
                let msg = if warning_text.is_empty() {
                    match attempts_left {
                        Some(n) => format!("{n} tries before Mohor stops."),
                        None => String::new(),
                    }
                } else {
                    warning_text
                };
                (s.to_string(), msg)
            }
        };
        PinStatus {
            label: token.label.clone(),
            serial: token.serial.clone(),
            model,
            present: report.is_some(),
            wrong_pins: rec.count.wrong,
            carried_from_before_unlock: rec.count.carried,
            soft_limit: limits.soft,
            hard_limit: limits.hard,
            token_flags: report.map(|r| r.pin_flags),
            state,
            message,
        }
    }

    /// Clear the soft lock of a token after the provider reset its PIN.
    pub fn unlock(&self, serial: &str) -> Result<Vec<PinRecord>> {
        let changed = self.state.unlock(serial)?;
        if changed.is_empty() {
            return Err(Error::new(
                Reason::InvalidRequest,
                format!("Mohor has no wrong-PIN record for a token with serial {serial}"),
            )
            .with_hint("see `mohor pin status` for the serials Mohor knows"));
        }
        Ok(changed)
    }

    /// Pick the certificate: by id (full fingerprint or a unique prefix of at
    /// least 8 hex digits), or the only usable one.
    pub fn select<'s>(&self, scan: &'s Scan, id: Option<&str>) -> Result<&'s CertificateEntry> {
        match id {
            Some(id) => {
                let id = id.trim().to_ascii_lowercase();
                if id.len() < 8 {
                    return Err(Error::invalid_request(
                        "a certificate id needs at least 8 hex digits",
                    ));
                }
                let matches: Vec<&CertificateEntry> = scan
                    .certificates
                    .iter()
                    .filter(|c| c.facts.fingerprint_sha256.starts_with(&id))
                    .collect();
                match matches.as_slice() {
                    [one] => {
                        if one.usable {
                            Ok(one)
                        } else {
                            Err(not_usable(one))
                        }
                    }
                    [] => Err(Error::new(
                        Reason::NoMatchingCertificate,
                        format!("no certificate with id {id} on the tokens present"),
                    )
                    .with_hint("insert the token that holds it; `mohor certs` lists the ids")),
                    _ => Err(Error::invalid_request(format!(
                        "the id {id} matches several certificates; give more digits"
                    ))),
                }
            }
            None => {
                let usable: Vec<&CertificateEntry> =
                    scan.certificates.iter().filter(|c| c.usable).collect();
                match usable.as_slice() {
                    [one] => Ok(one),
                    [] if scan.tokens.is_empty() => Err(Error::new(
                        Reason::TokenNotPresent,
                        "no DSC token is present",
                    )
                    .with_hint("insert your DSC token; if it is inserted, check its driver with `mohor tokens`")),
                    [] => Err(Error::new(
                        Reason::NoMatchingCertificate,
                        "no certificate on the tokens present can sign",
                    )
                    .with_hint("`mohor certs` shows each certificate and why it cannot sign")),
                    many => Err(Error::new(
                        Reason::NoMatchingCertificate,
                        format!("{} certificates can sign; choose one", many.len()),
                    )
                    .with_hint(format!(
                        "pass --cert with one of: {}",
                        many.iter()
                            .map(|c| format!("{} ({})", c.id, c.facts.subject_cn))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                }
            }
        }
    }

    fn choice(c: &CertificateEntry) -> CertificateChoice {
        CertificateChoice {
            id: c.id.clone(),
            subject_cn: c.facts.subject_cn.clone(),
            issuer_cn: c.facts.issuer_cn.clone(),
            token_label: c.token.label.clone(),
            validity: format!("valid until {}", c.facts.not_after.date()),
        }
    }

    fn chain_for(&self, scan: &Scan, cert: &CertificateEntry) -> Vec<Vec<u8>> {
        let mut pool: Vec<Vec<u8>> = scan
            .certificates
            .iter()
            .filter(|c| c.facts.is_ca)
            .map(|c| c.der.clone())
            .collect();
        pool.extend(self.extra_ca.iter().cloned());
        inventory::build_chain(&cert.der, &pool)
    }

    fn token_lock(&self, token: &TokenRef) -> Arc<Mutex<()>> {
        let mut locks = match self.token_locks.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        locks
            .entry(token.counter_key())
            .or_insert_with(|| Arc::new(Mutex::new(())))
            .clone()
    }

    /// Choose the certificate, get consent (web requests), pass the guard,
    /// log in once, and run `f` with a token-backed signer.
    pub fn with_signer<T>(
        &self,
        who: &Requester<'_>,
        certificate_id: Option<&str>,
        documents: Vec<DocumentSummary>,
        digest: DigestAlgorithm,
        f: impl FnOnce(&mut dyn Signer, &CertificateEntry) -> Result<T>,
    ) -> Result<Signed<T>> {
        let scan = self.scan();
        let proposed = match (certificate_id, who.origin) {
            // A web page without a preference: propose the first usable one;
            // the person may switch in the consent dialog.
            (None, Some(_)) => {
                scan.certificates.iter().find(|c| c.usable).ok_or_else(|| {
                    match self.select(&scan, None) {
                        Err(e) => e,
                        Ok(_) => Error::internal("certificate selection disagrees"),
                    }
                })?
            }
            (id, _) => self.select(&scan, id)?,
        };

        let cert = if who.origin.is_some() {
            (who.progress)(Stage::WaitingForConsent);
            let request = ConsentRequest {
                origin: who.origin.map(str::to_string),
                documents: documents.clone(),
                certificate: Self::choice(proposed),
                alternatives: scan
                    .certificates
                    .iter()
                    .filter(|c| c.usable && c.id != proposed.id)
                    .map(Self::choice)
                    .collect(),
            };
            match self.prompter.consent(&request) {
                ConsentDecision::Deny => {
                    return Err(Error::new(
                        Reason::UserCancelled,
                        "the signature was declined",
                    ))
                }
                ConsentDecision::Approve { certificate_id } => {
                    self.select(&scan, Some(&certificate_id))?
                }
            }
        } else {
            proposed
        };
        if (who.is_cancelled)() {
            return Err(Error::new(
                Reason::UserCancelled,
                "the request was cancelled",
            ));
        }

        let lock = self.token_lock(&cert.token);
        let _one_at_a_time = match lock.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let chain = self.chain_for(&scan, cert);
        let (logged_in, pin) = self.login_guarded(who, cert)?;
        let mut signer = logged_in
            .into_signer(cert, chain, digest, self.config.rsa_pss)
            .map_err(Error::from)?;
        if signer.needs_context_login() {
            signer.set_context_pin(pin);
        } else {
            drop(pin);
        }
        (who.progress)(Stage::Signing);
        let output = f(&mut signer, cert)?;
        (who.progress)(Stage::Done);
        Ok(Signed {
            output,
            signer: cert.facts.subject_cn.clone(),
            certificate_id: cert.id.clone(),
        })
    }

    /// The guard, the PIN dialog and exactly one `C_Login`.
    fn login_guarded(
        &self,
        who: &Requester<'_>,
        cert: &CertificateEntry,
    ) -> Result<(crate::token::pkcs11::LoggedIn, SecretString)> {
        let report = self.tokens.token_status(&cert.token).map_err(Error::from)?;
        let key = cert.token.counter_key();
        let record = self.state.pin_record(&key)?;
        let limits = self.config.limits_for(&report.model);
        let mut flags = report.pin_flags;
        flags.locked |= record.token_locked_seen;

        let (attempts_left, warning, warning_text, confirm) =
            match guard::decide(flags, record.count, limits) {
                Decision::Refuse(refusal) => {
                    let (msg, hint) =
                        guard::refusal_message(refusal, &cert.token.label, &cert.token.serial);
                    let reason = match refusal {
                        Refusal::TokenLocked => Reason::PinLocked,
                        Refusal::SoftLimit { .. } | Refusal::HardLimit { .. } => {
                            Reason::PinGuardLocked
                        }
                    };
                    return Err(Error::new(reason, msg).with_hint(hint));
                }
                Decision::Ask {
                    attempts_left,
                    warning,
                    warning_text,
                    confirm_permanent_block,
                } => (
                    attempts_left,
                    warning,
                    warning_text,
                    confirm_permanent_block,
                ),
            };
        let request = PinRequest {
            token_label: cert.token.label.clone(),
            certificate_cn: cert.facts.subject_cn.clone(),
            attempts_left,
            warning,
            warning_text,
            min_len: report.pin_min_len,
            max_len: report.pin_max_len,
        };
        (who.progress)(Stage::WaitingForPin);
        if confirm && !self.prompter.confirm_last_try(&request) {
            return Err(Error::new(
                Reason::UserCancelled,
                "the last PIN try was not confirmed; nothing was sent to the token",
            ));
        }
        let pin = self.prompter.pin(&request).ok_or_else(|| {
            Error::new(
                Reason::UserCancelled,
                "PIN entry was cancelled; nothing was sent to the token",
            )
        })?;
        let len = pin.expose_secret().chars().count();
        if !guard::pin_length_ok(len, report.pin_min_len, report.pin_max_len) {
            return Err(Error::new(
                Reason::PinIncorrect,
                format!(
                    "the PIN must have {} to {} characters; it was not sent to the token, so no try was used",
                    report.pin_min_len, report.pin_max_len
                ),
            ));
        }
        if (who.is_cancelled)() {
            return Err(Error::new(
                Reason::UserCancelled,
                "the request was cancelled",
            ));
        }

        // Count the try before making it: if Mohor dies inside C_Login the
        // attempt is still on record.
        let now = self.clock.now().to_string();
        self.state.update_pin(&key, |r| {
            r.module = cert.token.module.display().to_string();
            r.serial = cert.token.serial.clone();
            r.label = cert.token.label.clone();
            r.count.wrong = r.count.wrong.saturating_add(1);
            r.last_wrong = Some(now.clone());
        })?;
        match self.tokens.login(&cert.token, &pin) {
            Ok(session) => {
                self.state.update_pin(&key, |r| {
                    r.count = guard::Count::default();
                    r.token_locked_seen = false;
                    r.last_wrong = None;
                    r.last_success = Some(now.clone());
                })?;
                Ok((session, pin))
            }
            Err(TokenError::PinIncorrect) => {
                let rec = self.state.pin_record(&key)?;
                let after = guard::decide(report.pin_flags, rec.count, limits);
                let hint = match after {
                    Decision::Refuse(r) => {
                        guard::refusal_message(r, &cert.token.label, &cert.token.serial).1
                    }
                    Decision::Ask {
                        attempts_left: Some(n),
                        ..
                    } => format!(
                        "{n} tries left before Mohor stops; check the PIN before trying again"
                    ),
                    Decision::Ask { .. } => "check the PIN before trying again".to_string(),
                };
                Err(Error::new(Reason::PinIncorrect, "the PIN is incorrect").with_hint(hint))
            }
            Err(TokenError::PinLocked) => {
                self.state.update_pin(&key, |r| {
                    r.token_locked_seen = true;
                })?;
                Err(Error::from(TokenError::PinLocked))
            }
            Err(other) => {
                // Not about the PIN (removed, driver error, length): roll back.
                self.state.update_pin(&key, |r| {
                    r.count.wrong = r.count.wrong.saturating_sub(1);
                })?;
                Err(Error::from(other))
            }
        }
    }

    /// Detached CAdES over a file (streamed), optionally co-signing an
    /// existing .p7s. Returns the DER.
    pub fn sign_data_file(
        &self,
        who: &Requester<'_>,
        certificate_id: Option<&str>,
        data: &Path,
        display_name: &str,
        cosign: Option<&[u8]>,
    ) -> Result<Signed<Vec<u8>>> {
        if let Some(existing) = cosign {
            check_cosign(data, existing)?;
        }
        let doc = summarize(data, display_name, crate::ui::DocumentKind::Data, None)?;
        let fingerprint = doc.fingerprint_hex.clone();
        let now = self.clock.now();
        let digest = self.config.digest;
        let result = self.with_signer(who, certificate_id, vec![doc], digest, |signer, _| {
            detached_cms(signer, data, cosign, &CmsProfile::cades(now))
        });
        self.audit(who, "sign.data", display_name, &fingerprint, &result);
        result
    }

    /// A detached CMS whose messageDigest is `digest` (computed by the caller).
    pub fn sign_hash(
        &self,
        who: &Requester<'_>,
        certificate_id: Option<&str>,
        digest: &[u8],
        algorithm: DigestAlgorithm,
    ) -> Result<Signed<Vec<u8>>> {
        if digest.len() != algorithm.len() {
            return Err(Error::invalid_request(format!(
                "a {} digest has {} bytes, not {}",
                algorithm.name(),
                algorithm.len(),
                digest.len()
            )));
        }
        let doc = DocumentSummary {
            name: format!("{} digest", algorithm.name()),
            kind: crate::ui::DocumentKind::Hash,
            size: digest.len() as u64,
            pages: None,
            fingerprint_hex: hex::encode(digest),
        };
        let now = self.clock.now();
        let result = self.with_signer(who, certificate_id, vec![doc], algorithm, |signer, _| {
            Ok(cms::sign_digest(signer, digest, &CmsProfile::cades(now))?)
        });
        self.audit(who, "sign.hash", "digest", &hex::encode(digest), &result);
        result
    }

    /// A PAdES signature as an incremental update of `input`, written
    /// atomically to `output`. The PDF is checked (damaged, encrypted,
    /// certified against changes) before anyone is asked for anything.
    pub fn sign_pdf_file(
        &self,
        who: &Requester<'_>,
        certificate_id: Option<&str>,
        input: &Path,
        output: &Path,
        display_name: &str,
        request: &PdfRequest,
    ) -> Result<Signed<crate::pdf::SignedPdf>> {
        let info = check_pdf(input, request, self.clock.now())?;
        let doc = summarize(
            input,
            display_name,
            crate::ui::DocumentKind::Pdf,
            Some(info.page_count),
        )?;
        let fingerprint = doc.fingerprint_hex.clone();
        let now = self.clock.now();
        let result = self.with_signer(
            who,
            certificate_id,
            vec![doc],
            self.config.digest,
            |signer, cert| {
                let opts = request.options(&cert.facts.subject_cn, &cert.facts.issuer_cn, now);
                crate::pdf::sign_file(input, output, signer, &opts).map_err(Error::from)
            },
        );
        self.audit(who, "sign.pdf", display_name, &fingerprint, &result);
        result
    }

    pub fn audit<T>(
        &self,
        who: &Requester<'_>,
        action: &str,
        document: &str,
        sha256: &str,
        result: &Result<Signed<T>>,
    ) {
        let entry = AuditEntry {
            time: self.clock.now().to_string(),
            origin: who.origin.unwrap_or("cli").to_string(),
            action: action.to_string(),
            document: document.to_string(),
            sha256: sha256.to_string(),
            certificate: result
                .as_ref()
                .map(|s| s.certificate_id.clone())
                .unwrap_or_default(),
            result: match result {
                Ok(_) => "ok".into(),
                Err(e) => e.reason.as_str().into(),
            },
        };
        if let Err(e) = self.state.audit(&entry) {
            tracing::warn!("audit log: {e}");
        }
    }
}

fn not_usable(c: &CertificateEntry) -> Error {
    Error::new(
        Reason::CertificateNotUsable,
        format!(
            "the certificate of {} ({}) cannot sign: {}",
            c.facts.subject_cn,
            c.id,
            c.not_usable_text()
        ),
    )
    .with_hint("choose a signing certificate that is valid today; `mohor certs` lists them")
}

/// What the consent dialog shows about a file: name, kind, size, pages, SHA-256.
pub fn summarize(
    path: &Path,
    name: &str,
    kind: crate::ui::DocumentKind,
    pages: Option<u32>,
) -> Result<DocumentSummary> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), &e))?
        .len();
    Ok(DocumentSummary {
        name: name.to_string(),
        kind,
        size,
        pages,
        fingerprint_hex: hex::encode(digest_file(path, DigestAlgorithm::Sha256)?),
    })
}

/// A detached CAdES signature over the file `data`, or a co-signature added
/// to `existing` (every earlier signer is checked against the same file).
pub fn detached_cms(
    signer: &mut dyn Signer,
    data: &Path,
    existing: Option<&[u8]>,
    profile: &CmsProfile,
) -> Result<Vec<u8>> {
    match existing {
        None => {
            let d = digest_file(data, signer.algorithm().digest())?;
            Ok(cms::sign_digest(signer, &d, profile)?)
        }
        Some(existing) => with_file_digests(data, |digest_of| {
            Ok(cms::cosign(existing, signer, digest_of, profile)?)
        }),
    }
}

/// Run `f` with a digest callback over the file `data` for CMS code that
/// cannot fail through its callback: the first read error wins over `f`'s
/// outcome.
fn with_file_digests<T>(
    data: &Path,
    f: impl FnOnce(&mut dyn FnMut(DigestAlgorithm) -> Vec<u8>) -> Result<T>,
) -> Result<T> {
    let mut failure = None;
    let mut digest_of = |alg: DigestAlgorithm| match digest_file(data, alg) {
        Ok(d) => d,
        Err(e) => {
            failure.get_or_insert(e);
            Vec::new()
        }
    };
    let out = f(&mut digest_of);
    match failure {
        Some(e) => Err(e),
        None => out,
    }
}

/// Refuse, before any dialog, a co-signature over other data than the
/// earlier signers signed.
pub fn check_cosign(data: &Path, existing: &[u8]) -> Result<()> {
    with_file_digests(data, |digest_of| {
        Ok(cms::check_cosign_content(existing, digest_of)?)
    })
}

/// A PDF Mohor can sign as asked: opened by the password if encrypted, not certified against
/// changes, and a dry run of the revision (no output, no signer) succeeds —
/// so an already-signed field, a box off the page or a forbidding
/// certification never costs a PIN.
pub fn check_pdf(
    input: &Path,
    request: &PdfRequest,
    now: time::OffsetDateTime,
) -> Result<crate::pdf::PdfInfo> {
    // A wrong password fails here, before any PIN is asked for.
    let info =
        crate::pdf::inspect_with_password(input, request.password.as_ref()).map_err(Error::from)?;
    if info.docmdp == Some(1) {
        return Err(Error::new(
            Reason::DocumentRefused,
            "the PDF is certified with \"no changes allowed\"; another signature would invalidate the certification",
        ));
    }
    let mut probe = request.options("Mohor dry run", "Mohor dry run", now);
    probe.contents_capacity = DRY_RUN_CAPACITY;
    crate::pdf::prepare(input, &probe).map_err(Error::from)?;
    Ok(info)
}

/// Digest of a file, streamed (never loads it whole).
pub fn digest_file(path: &Path, alg: DigestAlgorithm) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), &e))?;
    let mut h = alg.hasher();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), &e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}
