//! The WebSocket server's backend: typed protocol requests → the same
//! [`Agent`] handlers the CLI uses. Documents that arrive in memory are
//! spooled to a private temporary directory, because the PDF and CMS layers
//! stream from files (a 200 MB bill is never held twice). Signed documents
//! are answered from their files ([`Answer::attach_base64`]), never read whole.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};

use super::{Agent, PdfRequest, Requester, Stage};
use crate::error::{Error, Reason, Result};
use crate::protocol::{Appearance, BatchItem, Blob, CertificateFilter, KeyUsage, Request};
use crate::server::workdir::{private_dir, private_file};
use crate::server::{Answer, Backend, Call};
use crate::token::inventory::{self, CcaClass};
use crate::token::CertificateEntry;
use crate::ui::TrustSiteDecision;

pub struct WebBackend {
    agent: Arc<Agent>,
    /// Where per-request folders go (the agent's own run folder).
    scratch_base: PathBuf,
}

impl WebBackend {
    pub fn new(agent: Arc<Agent>) -> Self {
        let scratch_base = agent.state().dir().join("tmp");
        WebBackend {
            agent,
            scratch_base,
        }
    }

    /// Puts per-request folders under `dir` (see [`crate::server::workdir`]).
    pub fn with_scratch_dir(mut self, dir: PathBuf) -> Self {
        self.scratch_base = dir;
        self
    }

    /// A private (0700) folder for one request, removed when dropped.
    fn scratch(&self) -> Result<tempfile::TempDir> {
        let base = &self.scratch_base;
        private_dir(base)
            .map_err(|e| Error::io(format!("cannot create {}", base.display()), &e))?;
        let dir = tempfile::Builder::new()
            .prefix("request-")
            .tempdir_in(base)
            .map_err(|e| Error::io("cannot create a temporary directory", &e))?;
        private_dir(dir.path())
            .map_err(|e| Error::io("cannot protect a temporary directory", &e))?;
        Ok(dir)
    }
}

/// A blob as a file path: its spool file, or a copy written into `dir`.
fn blob_path(blob: &Blob, dir: &Path, name: &str) -> Result<PathBuf> {
    if let Some(p) = blob.path() {
        return Ok(p.to_path_buf());
    }
    let path = dir.join(name);
    let mut reader = blob.reader()?;
    let mut f = private_file(&path)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e))?;
    std::io::copy(&mut reader, &mut f)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), &e))?;
    Ok(path)
}

/// Name the batch item (1-based, as people count) in an error.
fn item_error(index: usize, e: Error) -> Error {
    Error {
        message: format!("item {}: {}", index + 1, e.message),
        ..e
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A file name from a web page is only ever shown, never used as a path.
fn display_name(name: &str) -> String {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        "document".to_string()
    } else {
        cleaned
    }
}

pub fn certificate_json(c: &CertificateEntry) -> Value {
    let f = &c.facts;
    json!({
        "id": c.id,
        "subject": f.subject_cn,
        "subjectDn": f.subject_dn,
        "issuer": f.issuer_cn,
        "issuerDn": f.issuer_dn,
        "serial": f.serial,
        "validFrom": f.not_before.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "validTo": f.not_after.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "keyUsage": f.key_usage,
        "extendedKeyUsage": f.extended_key_usage,
        "ccaClass": f.cca_class.map(|k| k.label()),
        "hasPanHash": f.pan_hash.is_some(),
        "keyAlgorithm": f.key_algorithm,
        "token": {"label": c.token.label, "serial": c.token.serial},
        "usable": c.usable,
        "notUsable": c.not_usable,
        "notUsableText": c.not_usable_text(),
    })
}

fn key_usage_name(k: KeyUsage) -> &'static str {
    match k {
        KeyUsage::DigitalSignature => "digitalSignature",
        KeyUsage::NonRepudiation => "nonRepudiation",
        KeyUsage::KeyEncipherment => "keyEncipherment",
        KeyUsage::DataEncipherment => "dataEncipherment",
        KeyUsage::KeyAgreement => "keyAgreement",
    }
}

/// Does `c` pass every criterion of the filter?
pub fn matches(
    c: &CertificateEntry,
    filter: &CertificateFilter,
    now: time::OffsetDateTime,
) -> bool {
    let f = &c.facts;
    if let Some(issuer) = &filter.issuer {
        let needle = issuer.to_lowercase();
        if !f.issuer_dn.to_lowercase().contains(&needle)
            && !f.issuer_cn.to_lowercase().contains(&needle)
        {
            return false;
        }
    }
    if let Some(class) = filter.class {
        let want = CcaClass::parse(&class.to_string());
        if f.cca_class.is_none() || f.cca_class != want {
            return false;
        }
    }
    if !filter
        .key_usage
        .iter()
        .all(|k| f.key_usage.iter().any(|u| u == key_usage_name(*k)))
    {
        return false;
    }
    if let Some(valid) = filter.valid_now {
        if f.is_valid_at(now) != valid {
            return false;
        }
    }
    if let Some(pan) = &filter.pan {
        if f.pan_hash.as_deref() != Some(inventory::pan_hash(pan).as_str()) {
            return false;
        }
    }
    true
}

impl WebBackend {
    fn certificates(&self, filter: &CertificateFilter) -> Value {
        let scan = self.agent.scan();
        let now = self.agent.now();
        let list: Vec<Value> = scan
            .certificates
            .iter()
            .filter(|c| !c.facts.is_ca && matches(c, filter, now))
            .map(certificate_json)
            .collect();
        json!({ "certificates": list })
    }

    fn pdf_request(p: &crate::protocol::SignPdf) -> PdfRequest {
        let (visible, visible_auto) = match p.appearance {
            None => (None, false),
            Some(Appearance::Auto) => (None, true),
            Some(Appearance::Rect {
                page,
                x,
                y,
                width,
                height,
            }) => (
                Some(crate::pdf::VisibleStamp {
                    page,
                    x,
                    y,
                    w: width,
                    h: height,
                }),
                false,
            ),
        };
        PdfRequest {
            reason: p.reason.clone(),
            location: p.location.clone(),
            field: None,
            visible,
            visible_auto,
            certify: p.certify,
            // The browser protocol carries no PDF password.
            password: None,
        }
    }

    fn sign_pdf(&self, who: &Requester<'_>, p: &crate::protocol::SignPdf) -> Result<Answer> {
        let dir = self.scratch()?;
        let input = blob_path(&p.document, dir.path(), "input.pdf")?;
        let output = dir.path().join("signed.pdf");
        let signed = self.agent.sign_pdf_file(
            who,
            p.certificate_id.as_deref(),
            &input,
            &output,
            &display_name(&p.file_name),
            &Self::pdf_request(p),
        )?;
        let mut answer = Answer::new();
        let document = answer.attach_base64(&output)?;
        answer.set_result(json!({
            "document": document,
            "signer": signed.signer,
            "certificateId": signed.certificate_id,
            "field": signed.output.field_name,
        }));
        answer.keep_alive(dir);
        Ok(answer)
    }

    fn sign_data(&self, who: &Requester<'_>, d: &crate::protocol::SignData) -> Result<Value> {
        let dir = self.scratch()?;
        let input = blob_path(&d.data, dir.path(), "data.bin")?;
        let existing = match &d.cosign {
            Some(b) => Some(b.to_vec()?),
            None => None,
        };
        let signed = self.agent.sign_data_file(
            who,
            d.certificate_id.as_deref(),
            &input,
            "data from the page",
            existing.as_deref(),
        )?;
        Ok(json!({
            "signature": b64(&signed.output),
            "signer": signed.signer,
            "certificateId": signed.certificate_id,
        }))
    }

    fn sign_hash(&self, who: &Requester<'_>, h: &crate::protocol::SignHash) -> Result<Value> {
        let signed = self.agent.sign_hash(
            who,
            h.certificate_id.as_deref(),
            &h.digest,
            h.digest_algorithm,
        )?;
        Ok(json!({
            "signature": b64(&signed.output),
            "signer": signed.signer,
            "certificateId": signed.certificate_id,
        }))
    }

    /// One consent and one PIN for every item: the items are signed with one
    /// logged-in signer inside a single `with_signer`.
    fn sign_batch(&self, who: &Requester<'_>, items: &[BatchItem]) -> Result<Answer> {
        if items.is_empty() {
            return Err(Error::invalid_request("sign.batch needs at least one item"));
        }
        let dir = self.scratch()?;
        let digest = self.agent.config().digest;
        let mut documents = Vec::new();
        let mut prepared = Vec::new();
        let mut certificate_id: Option<String> = None;
        let scan = self.agent.scan();
        for (i, item) in items.iter().enumerate() {
            let (cert, summary, input) = match item {
                BatchItem::Pdf(p) => {
                    let input = blob_path(&p.document, dir.path(), &format!("{i}.pdf"))?;
                    let info = super::check_pdf(&input, &Self::pdf_request(p), self.agent.now())
                        .map_err(|e| item_error(i, e))?;
                    let s = super::summarize(
                        &input,
                        &display_name(&p.file_name),
                        crate::ui::DocumentKind::Pdf,
                        Some(info.page_count),
                    )?;
                    (p.certificate_id.clone(), s, Some(input))
                }
                BatchItem::Data(d) => {
                    let input = blob_path(&d.data, dir.path(), &format!("{i}.bin"))?;
                    if let Some(existing) = &d.cosign {
                        super::check_cosign(&input, &existing.to_vec()?)
                            .map_err(|e| item_error(i, e))?;
                    }
                    let s = super::summarize(
                        &input,
                        &format!("data item {}", i + 1),
                        crate::ui::DocumentKind::Data,
                        None,
                    )?;
                    (d.certificate_id.clone(), s, Some(input))
                }
                BatchItem::Hash(h) => {
                    if h.digest_algorithm != digest {
                        return Err(Error::invalid_request(format!(
                            "item {}: a batch signs with {}; send {} digests",
                            i + 1,
                            digest.name(),
                            digest.name()
                        )));
                    }
                    let s = crate::ui::DocumentSummary {
                        name: format!("{} digest", h.digest_algorithm.name()),
                        kind: crate::ui::DocumentKind::Hash,
                        size: h.digest.len() as u64,
                        pages: None,
                        fingerprint_hex: hex::encode(&h.digest),
                    };
                    (h.certificate_id.clone(), s, None)
                }
            };
            // Items may name the certificate by different prefixes of its
            // id; what must agree is the certificate they resolve to.
            if let Some(given) = cert {
                let resolved = self
                    .agent
                    .select(&scan, Some(&given))
                    .map_err(|e| item_error(i, e))?;
                match &certificate_id {
                    None => certificate_id = Some(resolved.id.clone()),
                    Some(first) if *first != resolved.id => {
                        return Err(Error::invalid_request(
                            "all items of a batch are signed with one certificate",
                        ))
                    }
                    Some(_) => {}
                }
            }
            documents.push(summary);
            prepared.push(input);
        }
        let now = self.agent.now();
        let mut answer = Answer::new();
        let signed = self.agent.with_signer(
            who,
            certificate_id.as_deref(),
            documents,
            digest,
            |signer, cert| {
                let mut results = Vec::new();
                for (i, (item, input)) in items.iter().zip(&prepared).enumerate() {
                    let value = match (item, input) {
                        (BatchItem::Pdf(p), Some(input)) => {
                            let opts = Self::pdf_request(p).options(
                                &cert.facts.subject_cn,
                                &cert.facts.issuer_cn,
                                now,
                            );
                            let out = dir.path().join(format!("{i}.signed.pdf"));
                            let r = crate::pdf::sign_file(input, &out, signer, &opts)
                                .map_err(Error::from)?;
                            json!({"document": answer.attach_base64(&out)?, "field": r.field_name})
                        }
                        (BatchItem::Data(d), Some(input)) => {
                            let existing = match &d.cosign {
                                Some(blob) => Some(blob.to_vec()?),
                                None => None,
                            };
                            let der = super::detached_cms(
                                signer,
                                input,
                                existing.as_deref(),
                                &crate::sign::cms::CmsProfile::cades(now),
                            )?;
                            json!({"signature": b64(&der)})
                        }
                        (BatchItem::Hash(h), _) => {
                            let der = crate::sign::cms::sign_digest(
                                signer,
                                &h.digest,
                                &crate::sign::cms::CmsProfile::cades(now),
                            )?;
                            json!({"signature": b64(&der)})
                        }
                        _ => return Err(Error::internal("batch item without its prepared input")),
                    };
                    results.push(value);
                }
                Ok(results)
            },
        )?;
        answer.set_result(json!({
            "results": signed.output,
            "signer": signed.signer,
            "certificateId": signed.certificate_id,
        }));
        answer.keep_alive(dir);
        Ok(answer)
    }
}

impl Backend for WebBackend {
    fn handle(&self, call: &Call, request: Request) -> Result<Answer> {
        let progress = |stage: Stage| {
            // `done` is sent by the server itself before the answer.
            if stage != Stage::Done {
                call.progress(stage.as_str());
            }
        };
        let is_cancelled = || call.is_cancelled();
        let who = Requester {
            origin: Some(&call.origin),
            progress: &progress,
            is_cancelled: &is_cancelled,
        };
        match &request {
            Request::CertificatesList(filter) => Ok(self.certificates(filter).into()),
            Request::SignPdf(p) => self.sign_pdf(&who, p),
            Request::SignData(d) => self.sign_data(&who, d).map(Answer::from),
            Request::SignHash(h) => self.sign_hash(&who, h).map(Answer::from),
            Request::SignBatch(items) => self.sign_batch(&who, items),
            Request::Verify(_) => Err(Error::new(
                Reason::InvalidRequest,
                "verification is not available in this version of Mohor",
            )
            .with_hint("validate with pyHanko or Adobe Acrobat Reader until `verify` ships")),
        }
    }

    fn is_trusted_site(&self, origin: &str) -> bool {
        self.agent
            .state()
            .trusted_sites()
            .map(|s| s.iter().any(|o| o == origin))
            .unwrap_or(false)
    }

    fn ask_trust_site(&self, origin: &str) -> bool {
        match self.agent.prompter().trust_site(origin) {
            TrustSiteDecision::Allow => self.agent.state().add_trusted_site(origin).is_ok(),
            TrustSiteDecision::Deny => false,
        }
    }
}
