//! The request pipeline. Every signing method — `sign.pdf`, `sign.data`,
//! `sign.hash`, `sign.batch`, `mohor sign` — is a [`Job`] of one or more
//! [`Item`]s that goes through the same stages:
//!
//! ```text
//!  preflight every item (no dialog, no token)
//!    → choose the certificate → consent (web requests) → guard → PIN → one C_Login
//!    → sign each item that passed preflight → audit every item → answer
//! ```
//!
//! One exit: [`Agent::sign`] audits every item whatever happened — signed,
//! refused in preflight, cancelled, failed — before it returns. An item that
//! fails never costs the others: its result is its own error.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Reason, Result};
use crate::ltv::{Level, Ltv};
use crate::sign::cms::{self, CmsProfile};
use crate::sign::{DigestAlgorithm, Signer};
use crate::token::{CertificateEntry, Scan, TokenRef, TokenSigner};
use crate::ui::{CancelToken, ConsentDecision, ConsentRequest, DocumentKind, DocumentSummary};
use crate::verify::TrustStore;

use super::{preflight, staging, Agent, PdfRequest, Requester, Stage};

/// A PDF to sign as an incremental update, written atomically to `output`.
pub struct PdfItem {
    pub input: PathBuf,
    pub output: PathBuf,
    /// Shown to the person and written to the audit log (never a path to open).
    pub name: String,
    pub request: PdfRequest,
}

/// Any file, signed as detached CMS (optionally added to an earlier one).
pub struct DataItem {
    pub input: PathBuf,
    pub name: String,
    pub cosign: Option<Vec<u8>>,
    /// B-B, or B-T (CAdES-T: a signature time-stamp).
    pub level: crate::ltv::Level,
    /// Where to write the signature (the command line), atomically and
    /// before the audit, so the log says whether it really landed; `None`
    /// returns it to the caller only (a web page).
    pub output: Option<PathBuf>,
}

/// A digest computed by the caller.
pub struct HashItem {
    pub digest: Vec<u8>,
    pub algorithm: DigestAlgorithm,
}

pub enum Item {
    Pdf(PdfItem),
    Data(DataItem),
    Hash(HashItem),
}

impl Item {
    /// The level asked for (a digest is always signed at B-B).
    pub fn level(&self) -> Level {
        match self {
            Item::Pdf(p) => p.request.level,
            Item::Data(d) => d.level,
            Item::Hash(_) => Level::BB,
        }
    }

    /// The method name the audit log records.
    pub fn action(&self) -> &'static str {
        match self {
            Item::Pdf(_) => "sign.pdf",
            Item::Data(_) => "sign.data",
            Item::Hash(_) => "sign.hash",
        }
    }

    /// The file to be signed (a digest has none).
    pub fn input(&self) -> Option<&std::path::Path> {
        match self {
            Item::Pdf(p) => Some(&p.input),
            Item::Data(d) => Some(&d.input),
            Item::Hash(_) => None,
        }
    }
}

/// One request: its items and the certificates they name.
pub struct Job {
    pub items: Vec<Item>,
    /// Certificate ids the request names (a batch may name one per item);
    /// they must all resolve to the same certificate.
    pub certificate_ids: Vec<String>,
    /// A batch answers per item; a single request fails as a whole.
    pub batch: bool,
}

impl Job {
    /// A request for one item.
    pub fn single(item: Item, certificate_id: Option<&str>) -> Job {
        Job {
            items: vec![item],
            certificate_ids: certificate_id.map(str::to_string).into_iter().collect(),
            batch: false,
        }
    }
}

/// What one signed item produced.
#[derive(Debug)]
pub enum Output {
    /// The signed PDF is at the item's `output` path.
    Pdf(crate::pdf::SignedPdf),
    /// A detached CMS signature, DER.
    Cms(Vec<u8>),
}

/// The answer to a job: who signed, and one result per item, in order.
#[derive(Debug)]
pub struct Outcome {
    pub signer: String,
    pub certificate_id: String,
    pub items: Vec<Result<Output>>,
}

/// What signing needs besides the signer, once a certificate is chosen.
#[derive(Clone, Copy)]
struct Work<'a> {
    job: &'a Job,
    prepared: &'a [Prepared],
    cert: &'a CertificateEntry,
    now: time::OffsetDateTime,
}

/// What preflight found about one item.
#[derive(Clone)]
pub(super) struct Prepared {
    pub summary: DocumentSummary,
    pub verdict: Result<()>,
    /// A PDF whose signature draws a stamp with the signer's name.
    pub stamped: bool,
}

/// What the audit needs to know about how far a job got.
#[derive(Default)]
pub(super) struct Progress {
    pub certificate: Option<(String, String)>,
}

impl Agent {
    /// Run `job` through the pipeline; audit every item on the way out.
    pub fn sign(&self, who: &Requester<'_>, job: &Job) -> Result<Outcome> {
        let now = self.clock.now();
        let digest = self.job_digest(job);
        // Before anyone is asked anything: can the levels asked for be made?
        let highest = job.items.iter().map(Item::level).max().unwrap_or_default();
        let network = self.ltv(&[], now).preflight(highest).map_err(Error::from);
        // Only a consent dialog needs the fingerprint before signing.
        let shown = who.origin.is_some();
        // The tokens are looked at (on this thread, where the token's work
        // stays) while the documents are checked beside it: preflight needs
        // no token, and a driver's first look is slow (every call a round
        // trip to the USB token).
        let (prepared, scan) = std::thread::scope(|scope| {
            let checking = scope.spawn(|| self.preflight_all(job, digest, now, shown, &network));
            let scan = self.scan();
            let prepared = checking
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (prepared, scan)
        });
        let mut progress = Progress::default();
        let result = self.run(who, job, &prepared, scan, now, &mut progress);
        self.audit_job(who, job, &prepared, &progress, &result);
        result
    }

    /// Preflight every item of `job`, several at once.
    fn preflight_all(
        &self,
        job: &Job,
        digest: DigestAlgorithm,
        now: time::OffsetDateTime,
        shown: bool,
        network: &Result<()>,
    ) -> Vec<Prepared> {
        // Read once a PDF is found to carry signatures already.
        let trust = OnceLock::new();
        super::parallel::map(&job.items, |item| {
            let mut p = self.preflight(item, digest, now, shown, &trust);
            p.summary.long_term = item.level();
            if matches!(item, Item::Data(d) if d.level > Level::BT) && p.verdict.is_ok() {
                p.verdict = Err(Error::invalid_request(
                    "a detached signature goes up to level B-T (CAdES-T)",
                ));
                p = p.with_refusal_shown();
            }
            match (network, item.level().needs_timestamp(), p.verdict.is_ok()) {
                (Err(e), true, true) => Prepared {
                    verdict: Err(e.clone()),
                    ..p
                }
                .with_refusal_shown(),
                _ => p,
            }
        })
    }

    /// The digest the signer uses: the configured one, or a lone hash's own.
    fn job_digest(&self, job: &Job) -> DigestAlgorithm {
        match job.items.as_slice() {
            [Item::Hash(h)] => h.algorithm,
            _ => self.config.digest,
        }
    }

    fn preflight(
        &self,
        item: &Item,
        digest: DigestAlgorithm,
        now: time::OffsetDateTime,
        shown: bool,
        trust: &OnceLock<Result<TrustStore>>,
    ) -> Prepared {
        match item {
            Item::Pdf(p) => {
                let checked = preflight::check_pdf(&p.input, &p.request, now);
                let facts = checked.as_ref().ok().copied();
                // A co-signer is told whom they sign after, and whether
                // those signatures still hold, before anyone is asked: in the
                // consent dialog, or on the command line before the PIN.
                let earlier = facts.map(|f| f.signed_fields).filter(|&signed| signed > 0);
                let pages = facts.map(|f| f.pages);
                // That check reads the file whole: the fingerprint comes from it.
                let fingerprint = shown && earlier.is_none();
                let mut prepared = summarized(
                    preflight::summarize(&p.input, &p.name, DocumentKind::Pdf, pages, fingerprint),
                    &p.name,
                    DocumentKind::Pdf,
                    checked.map(|_| ()),
                );
                prepared.summary.signature =
                    Some(super::consent::pdf_signature_details(&p.request));
                prepared.summary.document_javascript = facts.is_some_and(|f| f.document_javascript);
                prepared.stamped = facts.is_some_and(|f| f.stamped);
                if let (Some(count), Ok(())) = (earlier, &prepared.verdict) {
                    let signed = preflight::Signed::Pdf {
                        path: &p.input,
                        password: p.request.password.as_ref().map(|pw| pw.as_bytes()),
                    };
                    self.add_earlier_signatures(
                        &mut prepared.summary,
                        &p.input,
                        signed,
                        count,
                        trust,
                        now,
                    );
                }
                prepared
            }
            Item::Data(d) => {
                let checked = match &d.cosign {
                    Some(existing) => preflight::check_cosign(&d.input, existing),
                    None => preflight::check_not_empty(&d.input),
                };
                // A co-signature's check reads the data whole: the
                // fingerprint comes from it.
                let earlier = d.cosign.is_some() && checked.is_ok();
                let mut prepared = summarized(
                    preflight::summarize(&d.input, &d.name, DocumentKind::Data, None, !earlier),
                    &d.name,
                    DocumentKind::Data,
                    checked,
                );
                if shown {
                    prepared.summary.preview = preflight::text_preview(&d.input);
                }
                // A co-signature: whom it joins, as for a PDF.
                if let (true, Some(existing), Ok(())) = (earlier, &d.cosign, &prepared.verdict) {
                    let signed = preflight::Signed::Detached {
                        signature: existing,
                        data: &d.input,
                    };
                    let count = cms::signer_count(existing).unwrap_or(0);
                    self.add_earlier_signatures(
                        &mut prepared.summary,
                        &d.input,
                        signed,
                        count,
                        trust,
                        now,
                    );
                }
                prepared
            }
            Item::Hash(h) => {
                let verdict = if h.digest.len() != h.algorithm.len() {
                    Err(Error::invalid_request(format!(
                        "a {} digest has {} bytes, not {}",
                        h.algorithm.name(),
                        h.algorithm.len(),
                        h.digest.len()
                    )))
                } else if h.algorithm != digest {
                    Err(Error::invalid_request(format!(
                        "this request signs with {}; send a {} digest",
                        digest.name(),
                        digest.name()
                    )))
                } else {
                    Ok(())
                };
                Prepared {
                    summary: DocumentSummary::site_digest(h.algorithm, &h.digest),
                    verdict,
                    stamped: false,
                }
                .with_refusal_shown()
            }
        }
    }

    /// What a consent shows of the signatures `signed` already carries, and
    /// the fingerprint of `document` (the file to sign) that the check read;
    /// when it did not get that far the file is read for it. The trust store
    /// is read the first time a job needs it.
    fn add_earlier_signatures(
        &self,
        summary: &mut DocumentSummary,
        document: &std::path::Path,
        signed: preflight::Signed<'_>,
        count: usize,
        trust: &OnceLock<Result<TrustStore>>,
        now: time::OffsetDateTime,
    ) {
        let store = trust.get_or_init(|| super::verify::trust_store(&self.config, &[], false));
        let earlier = preflight::earlier_signatures(signed, count, store.as_ref(), now);
        summary.fingerprint_hex =
            preflight::fingerprint_later(document, earlier.document_sha256.as_deref());
        summary.earlier_signatures = earlier.signatures;
    }

    /// Every stage after preflight and the look at the tokens (`scan`).
    fn run(
        &self,
        who: &Requester<'_>,
        job: &Job,
        prepared: &[Prepared],
        scan: Scan,
        now: time::OffsetDateTime,
        progress: &mut Progress,
    ) -> Result<Outcome> {
        let digest = self.job_digest(job);
        if job.items.is_empty() {
            return Err(Error::invalid_request(
                "the request has no document to sign",
            ));
        }
        if let Some(refusal) = nothing_to_sign(job, prepared) {
            return Err(refusal);
        }
        let proposed = self.propose_certificate(who, &scan, &job.certificate_ids)?;
        progress.certificate = Some((proposed.id.clone(), proposed.facts.subject_cn.clone()));
        let cert = self.consent(who, &scan, proposed, prepared)?;
        progress.certificate = Some((cert.id.clone(), cert.facts.subject_cn.clone()));
        check_cancelled(who)?;
        // The stamps show the certificate's names, which the dry run could
        // not: one they cannot draw is refused now, before the PIN.
        let named = names_drawable(prepared, cert);
        let prepared = named.as_deref().unwrap_or(prepared);
        if let Some(refusal) = nothing_to_sign(job, prepared) {
            return Err(refusal);
        }

        // Another request may hold the token for minutes (its PIN window,
        // a batch): one whose page leaves meanwhile gives up waiting, and
        // nothing more is asked or done for it.
        let lock = self.token_lock(&cert.token);
        let _one_at_a_time = CancelToken::new(who.is_cancelled)
            .lock(&lock)
            .ok_or_else(cancelled)?;
        check_cancelled(who)?;
        let chain = self.chain_for(&scan, cert);
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            // The first document is laid out and hashed while the PIN is
            // checked; a refused PIN drops it, temporary output and all.
            let early = staging::Plan::before_login(cert, &chain, digest)
                .and_then(|plan| staging::start(scope, job, prepared, cert, now, plan, &stop));
            let (session, pin) = self.login_guarded(who, cert)?;
            let mut signer = session
                .into_signer(cert, chain, digest, self.config.rsa_pss, pin)
                .map_err(Error::from)?;
            (who.progress)(Stage::Signing);
            let work = Work {
                job,
                prepared,
                cert,
                now,
            };
            let items = self.sign_items(scope, who, work, &mut signer, early, &stop);
            (who.progress)(Stage::Done);
            Ok(Outcome {
                signer: cert.facts.subject_cn.clone(),
                certificate_id: cert.id.clone(),
                items,
            })
        })
    }

    /// The certificate named by the request (every name must agree), or for
    /// a web page without a preference the first usable one (the person may
    /// switch in the consent dialog), or on the command line the only one.
    fn propose_certificate<'s>(
        &self,
        who: &Requester<'_>,
        scan: &'s Scan,
        ids: &[String],
    ) -> Result<&'s CertificateEntry> {
        let mut chosen: Option<&CertificateEntry> = None;
        for id in ids {
            let c = self.select(scan, Some(id))?;
            match chosen {
                Some(first) if first.id != c.id => {
                    return Err(Error::invalid_request(
                        "all items of a request are signed with one certificate",
                    ))
                }
                _ => chosen = Some(c),
            }
        }
        if let Some(c) = chosen {
            return Ok(c);
        }
        match who.origin {
            Some(_) => match scan.certificates.iter().find(|c| c.usable) {
                Some(c) => Ok(c),
                None => self.select(scan, None),
            },
            None => self.select(scan, None),
        }
    }

    /// Web requests: the person sees every document (and what will not be
    /// signed, and why) and approves with a certificate of their choice.
    fn consent<'s>(
        &self,
        who: &Requester<'_>,
        scan: &'s Scan,
        proposed: &'s CertificateEntry,
        prepared: &[Prepared],
    ) -> Result<&'s CertificateEntry> {
        if who.origin.is_none() {
            // The command is the consent; a co-signer still hears whom they
            // sign after, and whether those signatures hold, before the PIN.
            for doc in prepared.iter().map(|p| &p.summary) {
                if let Some(notice) = crate::ui::consent_text::earlier_notice(doc) {
                    self.prompter.notify(&notice);
                }
            }
            return Ok(proposed);
        }
        (who.progress)(Stage::WaitingForConsent);
        let request = ConsentRequest {
            origin: who.origin.map(str::to_string),
            documents: prepared.iter().map(|p| p.summary.clone()).collect(),
            certificate: Self::choice(proposed),
            alternatives: scan
                .certificates
                .iter()
                .filter(|c| c.usable && c.id != proposed.id)
                .map(Self::choice)
                .collect(),
        };
        match self
            .prompter
            .consent(&request, &CancelToken::new(who.is_cancelled))
        {
            ConsentDecision::Deny => Err(Error::new(
                Reason::UserCancelled,
                "the signature was declined",
            )),
            ConsentDecision::Approve { certificate_id } => self.select(scan, Some(&certificate_id)),
        }
    }

    /// Sign every item that passed preflight with the one logged-in signer.
    /// The signer stays on this thread; a worker stages the next PDF
    /// (prepare, hash, copy) while the token signs the current one, and
    /// writers append and sync each signed PDF beside the next signature.
    fn sign_items<'scope, 'env>(
        &'env self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        who: &Requester<'_>,
        work: Work<'env>,
        signer: &mut TokenSigner,
        early: Option<staging::Stager>,
        stop: &'env AtomicBool,
    ) -> Vec<Result<Output>> {
        let Work {
            job,
            prepared,
            cert,
            now,
        } = work;
        let needed = staging::Plan::of_signer(signer.as_mut());
        let stager = match early {
            Some(s) if s.plan.fits(&needed) => Some(s),
            // Laid out for another signer than the token gave (a PKCS#11
            // key is sized the same way before and after login; another
            // seam may differ): stage again for this one.
            stale => {
                drop(stale);
                staging::start(scope, job, prepared, cert, now, needed, stop)
            }
        };
        let mut steps: Vec<Result<Step<'scope>>> = Vec::with_capacity(job.items.len());
        let mut writing = std::collections::VecDeque::new();
        // Once the token is gone, or a key refused the PIN at a signature
        // (its own login, which would burn a try at every item), every
        // later item fails the same way without touching the token.
        let mut token_gone: Option<Error> = None;
        for (item, prep) in job.items.iter().zip(prepared) {
            let result = if let Err(e) = &prep.verdict {
                Err(e.clone())
            } else if let Some(e) = &token_gone {
                Err(e.clone())
            } else if (who.is_cancelled)() {
                stop.store(true, Ordering::Relaxed);
                Err(cancelled())
            } else {
                let r = match (staged_pdf(item), &stager) {
                    (Some(_), Some(stager)) => match stager.staged.recv() {
                        Ok(next) => next.and_then(|s| {
                            let der = crate::pdf::sign_digest(&s, signer.as_mut())
                                .map_err(Error::from)?;
                            // Writing and the fsync go on beside the next
                            // signature; concurrent fsyncs share a journal
                            // commit.
                            Ok(Step::Writing(scope.spawn(move || s.finish(&der))))
                        }),
                        Err(_) => Err(Error::internal("the document worker stopped")),
                    },
                    (Some(_), None) => Err(Error::internal("no document worker was started")),
                    // Long-term PDFs wait on the network anyway; detached
                    // data and digests are small.
                    (None, _) => {
                        // Judged by the clock now, not at the job's start: the
                        // person may have left the dialog open for a while,
                        // and a TSA's time is compared with this one.
                        let ltv = self.ltv(signer.as_mut().chain(), self.clock.now());
                        sign_item(signer.as_mut(), cert, item, now, &ltv).map(Step::Done)
                    }
                };
                if let Err(e) = &r {
                    // After the login, only a key's own login gives PIN_INCORRECT.
                    if e.reason == Reason::PinIncorrect {
                        self.count_refusal_at_signature(cert);
                    }
                    if matches!(
                        e.reason,
                        Reason::TokenRemoved | Reason::TokenNotPresent | Reason::PinIncorrect
                    ) {
                        stop.store(true, Ordering::Relaxed);
                        token_gone = Some(e.clone());
                    }
                }
                r
            };
            if matches!(result, Ok(Step::Writing(_))) {
                writing.push_back(steps.len());
                if writing.len() > MAX_WRITING {
                    if let Some(oldest) = writing.pop_front() {
                        steps[oldest] = settle(std::mem::replace(
                            &mut steps[oldest],
                            Err(Error::internal("settling")),
                        ))
                        .map(Step::Done);
                    }
                }
            }
            steps.push(result);
        }
        // Unblock a worker waiting to hand over a document nobody signs.
        drop(stager);
        let results: Vec<_> = steps.into_iter().map(settle).collect();
        if staging::mode(job) == Some(crate::pdf::Staging::InBatch) {
            // Before anything is reported as written.
            crate::atomic::sync_folders(
                job.items
                    .iter()
                    .filter_map(staged_pdf)
                    .map(|p| p.output.as_path()),
            );
        }
        results
    }

    /// One request at a time per token in this process.
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
}

impl Prepared {
    /// A refused item says so in the consent dialog.
    fn with_refusal_shown(mut self) -> Self {
        if let Err(e) = &self.verdict {
            self.summary.refused = Some(e.message.clone());
        }
        self
    }
}

/// A summary for the consent dialog even when the file cannot be read.
fn summarized(
    summary: Result<DocumentSummary>,
    name: &str,
    kind: DocumentKind,
    verdict: Result<()>,
) -> Prepared {
    let (summary, verdict) = match (summary, verdict) {
        (Ok(s), v) => (s, v),
        (Err(read), v) => (
            DocumentSummary::new(name, kind, 0, None, ""),
            v.and(Err(read)),
        ),
    };
    Prepared {
        summary,
        verdict,
        stamped: false,
    }
    .with_refusal_shown()
}

/// `prepared` with each stamped item refused when its stamp cannot draw
/// `cert`'s subject or issuer name; `None` when it can.
fn names_drawable(prepared: &[Prepared], cert: &CertificateEntry) -> Option<Vec<Prepared>> {
    if !prepared.iter().any(|p| p.stamped) {
        return None;
    }
    let refusal = crate::pdf::check_stamp_names(&cert.facts.subject_cn, &cert.facts.issuer_cn)
        .err()
        .map(Error::from)?;
    Some(
        prepared
            .iter()
            .map(|p| match p.verdict {
                Ok(()) if p.stamped => Prepared {
                    verdict: Err(refusal.clone()),
                    ..p.clone()
                }
                .with_refusal_shown(),
                _ => p.clone(),
            })
            .collect(),
    )
}

/// A single request whose item was refused fails with that refusal; a batch
/// fails only when no item can be signed.
fn nothing_to_sign(job: &Job, prepared: &[Prepared]) -> Option<Error> {
    let refusals: Vec<&Error> = prepared
        .iter()
        .filter_map(|p| p.verdict.as_ref().err())
        .collect();
    if refusals.len() < prepared.len() {
        return None;
    }
    let first = refusals.first()?;
    if !job.batch {
        return Some((*first).clone());
    }
    Some(Error {
        message: format!(
            "none of the {} items can be signed; item 1: {}",
            prepared.len(),
            first.message
        ),
        ..(*first).clone()
    })
}

fn cancelled() -> Error {
    Error::new(Reason::UserCancelled, "the request was cancelled")
}

fn check_cancelled(who: &Requester<'_>) -> Result<()> {
    if (who.is_cancelled)() {
        Err(cancelled())
    } else {
        Ok(())
    }
}

/// An item signed, or a signed PDF still being written and synced.
enum Step<'scope> {
    Done(Output),
    Writing(
        std::thread::ScopedJoinHandle<
            'scope,
            std::result::Result<crate::pdf::SignedPdf, crate::pdf::PdfError>,
        >,
    ),
}

/// Signed PDFs being written and synced at once (each holds two open files).
const MAX_WRITING: usize = 8;

/// The item's result, once its document is written.
fn settle(step: Result<Step<'_>>) -> Result<Output> {
    match step? {
        Step::Done(output) => Ok(output),
        Step::Writing(written) => match written.join() {
            Ok(w) => w.map(Output::Pdf).map_err(Error::from),
            Err(_) => Err(Error::internal("writing a signed document failed")),
        },
    }
}

/// The PDF options of an item, with room for this signer's CMS.
pub(super) fn pdf_options(
    p: &PdfItem,
    cert: &CertificateEntry,
    now: time::OffsetDateTime,
    capacity: usize,
) -> crate::pdf::PdfSignOptions {
    let mut opts = p
        .request
        .options(&cert.facts.subject_cn, &cert.facts.issuer_cn, now);
    if opts.contents_capacity == 0 {
        opts.contents_capacity = capacity;
    }
    opts
}

/// A PDF at level B-B, which is staged ahead while the token signs.
pub(super) fn staged_pdf(item: &Item) -> Option<&PdfItem> {
    match item {
        Item::Pdf(p) if p.request.level == Level::BB => Some(p),
        _ => None,
    }
}

/// A long-term PDF, a detached signature or a signed digest (B-B PDFs are
/// staged ahead in `sign_items`).
fn sign_item(
    signer: &mut dyn Signer,
    cert: &CertificateEntry,
    item: &Item,
    now: time::OffsetDateTime,
    ltv: &Ltv<'_>,
) -> Result<Output> {
    let profile = CmsProfile::cades(now);
    match item {
        Item::Pdf(p) => {
            // pades::sign_pdf reserves room for the CMS and its timestamp.
            let opts = pdf_options(p, cert, now, 0);
            crate::ltv::pades::sign_pdf(
                &p.input,
                &p.output,
                signer,
                &opts,
                p.request.level,
                Some(ltv),
            )
            .map(Output::Pdf)
        }
        Item::Data(d) => {
            // Levels above B-T were refused in preflight.
            let der = preflight::detached_cms(signer, &d.input, d.cosign.as_deref(), &profile)?;
            let der = if d.level.needs_timestamp() {
                crate::ltv::cades::timestamp_last_signer(&der, ltv).map(|(der, _)| der)?
            } else {
                der
            };
            if let Some(out) = &d.output {
                crate::atomic::write_atomic(out, &der)
                    .map_err(|e| Error::io(format!("cannot write {}", out.display()), &e))?;
            }
            Ok(Output::Cms(der))
        }
        Item::Hash(h) => cms::sign_digest(signer, &h.digest, &profile)
            .map(Output::Cms)
            .map_err(Error::from),
    }
}
