//! The WebSocket adapter: typed protocol requests → a [`Job`] for the one
//! pipeline the CLI uses too, and its [`Outcome`] → the JSON answer. Nothing
//! here decides anything about signing. Documents that arrive in memory are
//! spooled to a private temporary directory, because the PDF and CMS layers
//! stream from files (a 200 MB bill is never held twice). Signed documents
//! are answered from their files ([`Answer::attach_base64`]), never read whole.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};

use super::pipeline::{DataItem, HashItem, Item, Job, Outcome, Output, PdfItem};
use super::trust::Asked;
use super::{Agent, PdfRequest, Requester, Stage};
use crate::error::{Error, Result};
use crate::protocol::{
    Appearance, BatchItem, Blob, CertificateFilter, KeyUsage, Request, SignData, SignHash, SignPdf,
};
use crate::server::workdir::{private_dir, private_file};
use crate::server::{Answer, Backend, Call, TrustAnswer};
use crate::token::inventory::{self, CcaClass};
use crate::token::CertificateEntry;

pub struct WebBackend {
    agent: Arc<Agent>,
    trust_prompts: super::trust::TrustPromptLimiter,
    /// Where per-request folders go (the agent's own run folder).
    scratch_base: PathBuf,
}

impl WebBackend {
    pub fn new(agent: Arc<Agent>) -> Self {
        let trust_prompts =
            super::trust::TrustPromptLimiter::new(agent.config().trust_prompts_per_minute);
        let scratch_base = agent.state().dir().join("tmp");
        WebBackend {
            agent,
            trust_prompts,
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

/// A blob opened for verification (spooled uploads in place).
fn verify_input(blob: &Blob, dir: &Path, name: &str) -> Result<crate::verify::Input> {
    let path = blob_path(blob, dir, name)?;
    crate::verify::Input::open(&path).map_err(Error::from)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
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

    fn pdf_request(p: &SignPdf) -> PdfRequest {
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
            uin: p.certificate.uin.clone(),
            qr: p.certificate.qr.clone(),
            qr_version: p.certificate.qr_version,
            password: p.password.clone(),
            level: p.level.unwrap_or_default(),
        }
    }

    fn pdf_item(p: &SignPdf, dir: &Path, index: usize) -> Result<Item> {
        Ok(Item::Pdf(PdfItem {
            input: blob_path(&p.document, dir, &format!("{index}.pdf"))?,
            output: dir.join(format!("{index}.signed.pdf")),
            // Already through the display filter at the protocol boundary;
            // only ever shown, never used as a path.
            name: p.file_name.clone(),
            request: Self::pdf_request(p),
        }))
    }

    fn data_item(d: &SignData, dir: &Path, index: usize, name: String) -> Result<Item> {
        Ok(Item::Data(DataItem {
            input: blob_path(&d.data, dir, &format!("{index}.bin"))?,
            name,
            cosign: d.cosign.as_ref().map(Blob::to_vec).transpose()?,
            level: d.level.unwrap_or_default(),
            output: None,
        }))
    }

    fn hash_item(h: &SignHash) -> Item {
        Item::Hash(HashItem {
            digest: h.digest.clone(),
            algorithm: h.digest_algorithm,
        })
    }

    /// The translation of one request into a job; `dir` holds its files.
    fn job(request: &Request, dir: &Path) -> Result<Option<Job>> {
        let job = match request {
            Request::SignPdf(p) => {
                Job::single(Self::pdf_item(p, dir, 0)?, p.certificate_id.as_deref())
            }
            Request::SignData(d) => Job::single(
                Self::data_item(d, dir, 0, "data from the page".into())?,
                d.certificate_id.as_deref(),
            ),
            Request::SignHash(h) => Job::single(Self::hash_item(h), h.certificate_id.as_deref()),
            Request::SignBatch(items) => {
                let mut job = Job {
                    items: Vec::with_capacity(items.len()),
                    certificate_ids: Vec::new(),
                    batch: true,
                };
                for (i, item) in items.iter().enumerate() {
                    let (translated, id) = match item {
                        BatchItem::Pdf(p) => (Self::pdf_item(p, dir, i)?, &p.certificate_id),
                        BatchItem::Data(d) => (
                            Self::data_item(d, dir, i, format!("data item {}", i + 1))?,
                            &d.certificate_id,
                        ),
                        BatchItem::Hash(h) => (Self::hash_item(h), &h.certificate_id),
                    };
                    job.items.push(translated);
                    job.certificate_ids.extend(id.clone());
                }
                job
            }
            _ => return Ok(None),
        };
        Ok(Some(job))
    }

    /// The JSON of one signed item; a signed PDF is attached from its file.
    fn output_json(answer: &mut Answer, output: Output, item: &Item) -> Result<Value> {
        match (output, item) {
            (Output::Pdf(signed), Item::Pdf(p)) => Ok(json!({
                "document": answer.attach_base64(&p.output)?,
                "field": signed.field_name,
            })),
            (Output::Cms(der), _) => Ok(json!({"signature": b64(&der)})),
            (Output::Pdf(_), _) => Err(Error::internal(
                "a signed PDF for an item that is not a PDF",
            )),
        }
    }

    /// The answer: a single request's fields, or a batch's per-item results.
    fn answer(job: &Job, outcome: Outcome, answer: &mut Answer) -> Result<Value> {
        let signer = outcome.signer.clone();
        let certificate_id = outcome.certificate_id.clone();
        let mut results = Vec::with_capacity(outcome.items.len());
        for (result, item) in outcome.items.into_iter().zip(&job.items) {
            results.push(match result {
                Ok(output) => Self::output_json(answer, output, item),
                Err(e) => Err(e),
            });
        }
        if !job.batch {
            let mut value = results
                .into_iter()
                .next()
                .ok_or_else(|| Error::internal("a single request produced no result"))??;
            if let Value::Object(map) = &mut value {
                map.insert("signer".into(), json!(signer));
                map.insert("certificateId".into(), json!(certificate_id));
            }
            return Ok(value);
        }
        let results: Vec<Value> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| json!({"error": item_error_json(&e)})))
            .collect();
        Ok(json!({
            "results": results,
            "signer": signer,
            "certificateId": certificate_id,
        }))
    }

    /// `verify`: the report of every signature (docs/PROTOCOL.md), audited.
    fn verify(&self, origin: &str, v: &crate::protocol::Verify) -> Result<Value> {
        // Uploaded documents are verified where they were spooled, in
        // pieces; small inline ones are written to the request's folder.
        let dir = self.scratch()?;
        let document = verify_input(&v.document, dir.path(), "document")?;
        let data = v
            .data
            .as_ref()
            .map(|d| verify_input(d, dir.path(), "data"))
            .transpose()?;
        let store = super::verify::trust_store(self.agent.config(), &[], false)?;
        let report = super::verify::verify_audited(
            self.agent.state(),
            Some(origin),
            "document",
            &document,
            data.as_ref(),
            &store,
            self.agent.now(),
        )?;
        serde_json::to_value(&report)
            .map_err(|e| Error::internal(format!("cannot encode the report: {e}")))
    }

    fn sign(&self, who: &Requester<'_>, request: &Request) -> Result<Answer> {
        let dir = self.scratch()?;
        let Some(job) = Self::job(request, dir.path())? else {
            return Err(Error::internal("not a signing request"));
        };
        let outcome = self.agent.sign(who, &job)?;
        let mut answer = Answer::new();
        let result = Self::answer(&job, outcome, &mut answer)?;
        answer.set_result(result);
        // The signed files are read while the answer is sent.
        answer.keep_alive(dir);
        Ok(answer)
    }
}

/// A batch item's error, shaped like a JSON-RPC error's `message` and `data`.
fn item_error_json(e: &Error) -> Value {
    json!({
        "message": crate::protocol::jsonrpc::wire_message(e.reason, &e.message),
        "data": {"reason": e.reason.as_str(), "hint": e.hint},
    })
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
            Request::SignPdf(_)
            | Request::SignData(_)
            | Request::SignHash(_)
            | Request::SignBatch(_) => self.sign(&who, &request),
            Request::Verify(v) => self.verify(&call.origin, v).map(Answer::from),
        }
    }

    fn is_trusted_site(&self, origin: &str) -> bool {
        let ttl = self.agent.config().site_trust();
        self.agent
            .state()
            .is_trusted_site(origin, self.agent.now(), ttl)
            .unwrap_or(false)
    }

    fn ask_trust_site(&self, origin: &str) -> TrustAnswer {
        match super::trust::ask(&self.agent, &self.trust_prompts, origin) {
            Ok(Asked::Trusted(_)) => TrustAnswer::Trusted,
            Ok(Asked::Declined) => TrustAnswer::Declined,
            Ok(Asked::NotShown(why)) => {
                tracing::info!(%origin, "not offered to the person: {why}");
                TrustAnswer::NotAsked
            }
            Err(e) => {
                tracing::warn!(%origin, "not trusted: {e}");
                TrustAnswer::Declined
            }
        }
    }
}
