//! Methods and their typed, validated params.
//!
//! Parsing happens in two steps so that nothing is consumed before the whole
//! request is known to be well-formed: serde reads the params into private
//! `*Params` structs (`wire.rs`: `deny_unknown_fields` everywhere), then
//! [`Incoming::from_envelope`] checks values, decodes base64 and resolves
//! references to finished uploads through the caller's resolver.

mod wire;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::blob::Blob;
use super::jsonrpc::{Envelope, RpcError};
use crate::ltv::Level;
use crate::sign::DigestAlgorithm;
use crate::ui::display_text;
use wire::*;

/// Every method name Mohor answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Hello,
    CertificatesList,
    SignPdf,
    SignData,
    SignHash,
    SignBatch,
    Verify,
    Cancel,
    UploadBegin,
    UploadChunk,
    UploadCancel,
    DownloadRead,
    DownloadDiscard,
}

impl Method {
    pub const ALL: [Method; 13] = [
        Method::Hello,
        Method::CertificatesList,
        Method::SignPdf,
        Method::SignData,
        Method::SignHash,
        Method::SignBatch,
        Method::Verify,
        Method::Cancel,
        Method::UploadBegin,
        Method::UploadChunk,
        Method::UploadCancel,
        Method::DownloadRead,
        Method::DownloadDiscard,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Hello => "hello",
            Method::CertificatesList => "certificates.list",
            Method::SignPdf => "sign.pdf",
            Method::SignData => "sign.data",
            Method::SignHash => "sign.hash",
            Method::SignBatch => "sign.batch",
            Method::Verify => "verify",
            Method::Cancel => "cancel",
            Method::UploadBegin => "upload.begin",
            Method::UploadChunk => "upload.chunk",
            Method::UploadCancel => "upload.cancel",
            Method::DownloadRead => "download.read",
            Method::DownloadDiscard => "download.discard",
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Methods answered by the backend (may show dialogs, take minutes).
    pub fn goes_to_backend(self) -> bool {
        matches!(
            self,
            Method::CertificatesList
                | Method::SignPdf
                | Method::SignData
                | Method::SignHash
                | Method::SignBatch
                | Method::Verify
        )
    }
}

/// A request the backend answers. Binary fields are decoded; large ones may
/// be spooled to disk (see [`Blob`]).
#[derive(Debug, Clone)]
pub enum Request {
    CertificatesList(CertificateFilter),
    SignPdf(SignPdf),
    SignData(SignData),
    SignHash(SignHash),
    /// One consent and one PIN for all items; answer `{results: [...]}` in order.
    SignBatch(Vec<BatchItem>),
    Verify(Verify),
}

impl Request {
    /// Bytes of the documents this request carries inline (decoded, in
    /// memory), which the agent holds until it answers; uploaded documents
    /// are already counted where they were spooled.
    pub fn inline_bytes(&self) -> u64 {
        fn held(b: &Blob) -> u64 {
            b.as_bytes().map_or(0, |bytes| bytes.len() as u64)
        }
        fn data(d: &SignData) -> u64 {
            held(&d.data) + d.cosign.as_ref().map_or(0, held)
        }
        fn item(i: &BatchItem) -> u64 {
            match i {
                BatchItem::Pdf(p) => held(&p.document),
                BatchItem::Data(d) => data(d),
                BatchItem::Hash(_) => 0,
            }
        }
        match self {
            Request::CertificatesList(_) | Request::SignHash(_) => 0,
            Request::SignPdf(p) => held(&p.document),
            Request::SignData(d) => data(d),
            Request::SignBatch(items) => items.iter().map(item).sum(),
            Request::Verify(v) => held(&v.document) + v.data.as_ref().map_or(0, held),
        }
    }

    pub fn method(&self) -> Method {
        match self {
            Request::CertificatesList(_) => Method::CertificatesList,
            Request::SignPdf(_) => Method::SignPdf,
            Request::SignData(_) => Method::SignData,
            Request::SignHash(_) => Method::SignHash,
            Request::SignBatch(_) => Method::SignBatch,
            Request::Verify(_) => Method::Verify,
        }
    }
}

/// `certificates.list` filter; every present criterion must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateFilter {
    /// Case-insensitive substring of the issuer's DN or CN.
    pub issuer: Option<String>,
    /// CCA certificate class (1, 2 or 3).
    pub class: Option<u8>,
    /// All of these key usages must be present.
    pub key_usage: Vec<KeyUsage>,
    /// Only certificates valid at this moment (`true`) or only expired /
    /// not-yet-valid ones (`false`).
    pub valid_now: Option<bool>,
    /// PAN of the holder, upper-cased (`ABCDE1234F`).
    pub pan: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyUsage {
    DigitalSignature,
    NonRepudiation,
    KeyEncipherment,
    DataEncipherment,
    KeyAgreement,
}

#[derive(Debug, Clone)]
pub struct SignPdf {
    pub document: Blob,
    /// As given by the page, for display only (never used as a path).
    pub file_name: String,
    pub certificate_id: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// `None`: an invisible signature.
    pub appearance: Option<Appearance>,
    /// A certificate-issuance stamp (`appearance.uin`, `appearance.qr`,
    /// `appearance.qrVersion`), already checked by
    /// [`crate::pdf::CertificateStamp::check`].
    pub certificate: CertificateFields,
    /// A certification (DocMDP) signature rather than an approval signature.
    pub certify: bool,
    /// The password (user or owner) of an encrypted PDF; zeroed when
    /// dropped and never printed.
    pub password: Option<crate::pdf::PdfPassword>,
    /// The signature level the page asks for (`None`: the batch's, else
    /// B-B). A page never names the time-stamp authority: that is the
    /// person's configuration.
    pub level: Option<Level>,
}

/// What a certificate-issuance stamp prints: the UIN and the QR payload
/// (exactly as sent: the consent shows it and the QR code carries it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CertificateFields {
    pub uin: Option<String>,
    pub qr: Option<String>,
    pub qr_version: Option<u8>,
}

/// The longest QR payload (a version 40 symbol holds 2,953 bytes at L; at
/// M, which Mohor uses at least, 2,331).
pub const MAX_QR_LEN: usize = 2_953;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Appearance {
    /// Mohor picks the place (last page, below existing signatures).
    Auto,
    /// A rectangle in PDF points in the user space of `page` (1-based; before
    /// `/Rotate`: the box turns with a turned page).
    Rect {
        page: u32,
        x: f64,
        y: f64,
        width: f64,
        height: f64,
    },
}

#[derive(Debug, Clone)]
pub struct SignData {
    pub data: Blob,
    pub certificate_id: Option<String>,
    /// An existing detached CMS signature over the same data: add this signer to it.
    pub cosign: Option<Blob>,
    /// B-B or B-T (CAdES-T); `None`: the batch's, else B-B.
    pub level: Option<Level>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignHash {
    /// Exactly `digest_algorithm.len()` bytes.
    pub digest: Vec<u8>,
    pub digest_algorithm: DigestAlgorithm,
    pub certificate_id: Option<String>,
}

#[derive(Debug, Clone)]
pub enum BatchItem {
    Pdf(SignPdf),
    Data(SignData),
    Hash(SignHash),
}

#[derive(Debug, Clone)]
pub struct Verify {
    /// A PDF, or a CMS signature (then `data` is its detached content).
    pub document: Blob,
    pub data: Option<Blob>,
}

/// Upload and download handling (answered by the server itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadBegin {
    pub size: u64,
    pub sha256: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadChunk {
    pub upload_id: String,
    pub offset: u64,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRead {
    pub download_id: String,
    pub offset: u64,
}

/// A fully parsed request of any method.
#[derive(Debug, Clone)]
pub enum Incoming {
    Hello,
    /// Cancel the in-flight request with this id (same connection only).
    Cancel {
        id: Value,
    },
    UploadBegin(UploadBegin),
    UploadChunk(UploadChunk),
    UploadCancel {
        upload_id: String,
    },
    DownloadRead(DownloadRead),
    DownloadDiscard {
        download_id: String,
    },
    Backend(Request),
}

/// Limits on single fields.
pub const MAX_FILE_NAME_LEN: usize = 255;
pub const MAX_TEXT_LEN: usize = 500;
pub const MAX_ID_FIELD_LEN: usize = 512;
/// The longest PDF password: 127 bytes of UTF-8 (ISO 32000-2 7.6.4.3.3).
pub const MAX_PDF_PASSWORD_LEN: usize = 127;
pub const MAX_BATCH_ITEMS: usize = 100;

/// Looks up a finished upload by id and takes it (an upload is used once).
pub trait UploadResolver {
    fn take_upload(&mut self, upload_id: &str) -> Result<Blob, RpcError>;
}

/// A resolver for callers that accept no uploads.
pub struct NoUploads;

impl UploadResolver for NoUploads {
    fn take_upload(&mut self, upload_id: &str) -> Result<Blob, RpcError> {
        Err(RpcError::invalid_params(format!(
            "unknown upload `{upload_id}`"
        )))
    }
}

impl Incoming {
    /// Types the envelope's params for its method. Method-not-found and
    /// invalid-params errors come back as [`RpcError`]s ready to send.
    pub fn from_envelope(
        env: Envelope,
        uploads: &mut dyn UploadResolver,
    ) -> Result<Incoming, RpcError> {
        let method = Method::from_name(&env.method)
            .ok_or_else(|| RpcError::method_not_found(&env.method))?;
        Incoming::parse(method, env.params, uploads)
    }

    pub fn parse(
        method: Method,
        params: Value,
        uploads: &mut dyn UploadResolver,
    ) -> Result<Incoming, RpcError> {
        Ok(match method {
            Method::Hello => {
                let _: Empty = params_of(method, params)?;
                Incoming::Hello
            }
            Method::Cancel => {
                let p: CancelParams = params_of(method, params)?;
                // The id of a request: nothing else (an object could carry
                // any member name, a PIN-like one among them).
                if !super::jsonrpc::valid_id(&p.id) {
                    return Err(RpcError::invalid_params(format!(
                        "cancel: `id` must be the id of a request: a string of at most {} characters or an integer",
                        super::jsonrpc::MAX_ID_LEN
                    )));
                }
                Incoming::Cancel { id: p.id }
            }
            Method::UploadBegin => {
                let p: UploadBeginParams = params_of(method, params)?;
                let sha = hex::decode(&p.sha256)
                    .ok()
                    .and_then(|v| <[u8; 32]>::try_from(v).ok())
                    .ok_or_else(|| {
                        RpcError::invalid_params(
                            "upload.begin: `sha256` must be 64 hex digits (the SHA-256 of the whole document)",
                        )
                    })?;
                Incoming::UploadBegin(UploadBegin {
                    size: p.size,
                    sha256: sha,
                })
            }
            Method::UploadChunk => {
                let p: UploadChunkParams = params_of(method, params)?;
                Incoming::UploadChunk(UploadChunk {
                    upload_id: p.upload_id,
                    offset: p.offset,
                    data: decode_b64(method, "data", &p.data)?,
                })
            }
            Method::UploadCancel => {
                let p: UploadIdParams = params_of(method, params)?;
                Incoming::UploadCancel {
                    upload_id: p.upload_id,
                }
            }
            Method::DownloadRead => {
                let p: DownloadReadParams = params_of(method, params)?;
                Incoming::DownloadRead(DownloadRead {
                    download_id: p.download_id,
                    offset: p.offset,
                })
            }
            Method::DownloadDiscard => {
                let p: DownloadIdParams = params_of(method, params)?;
                Incoming::DownloadDiscard {
                    download_id: p.download_id,
                }
            }
            Method::CertificatesList => {
                let p: CertificatesListParams = params_of(method, params)?;
                Incoming::Backend(Request::CertificatesList(filter(p.filter)?))
            }
            Method::SignPdf => {
                let p: SignPdfParams = params_of(method, params)?;
                Incoming::Backend(Request::SignPdf(sign_pdf(method, p, uploads)?))
            }
            Method::SignData => {
                let p: SignDataParams = params_of(method, params)?;
                Incoming::Backend(Request::SignData(sign_data(method, p, uploads)?))
            }
            Method::SignHash => {
                let p: SignHashParams = params_of(method, params)?;
                Incoming::Backend(Request::SignHash(sign_hash(method, p)?))
            }
            Method::SignBatch => {
                let p: SignBatchParams = params_of(method, params)?;
                Incoming::Backend(Request::SignBatch(sign_batch(p, uploads)?))
            }
            Method::Verify => {
                let p: VerifyParams = params_of(method, params)?;
                Incoming::Backend(Request::Verify(Verify {
                    document: p.document.resolve(method, "document", uploads)?,
                    data: p
                        .data
                        .map(|d| d.resolve(method, "data", uploads))
                        .transpose()?,
                }))
            }
        })
    }
}

fn params_of<T: serde::de::DeserializeOwned>(method: Method, params: Value) -> Result<T, RpcError> {
    let params = match params {
        Value::Null => Value::Object(Default::default()),
        p => p,
    };
    serde_json::from_value(params)
        .map_err(|e| RpcError::invalid_params(format!("{}: {e}", method.name())))
}

fn decode_b64(method: Method, field: &str, text: &str) -> Result<Vec<u8>, RpcError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| {
            RpcError::invalid_params(format!(
                "{}: `{field}` is not valid base64 (standard alphabet, padded): {e}",
                method.name()
            ))
        })
}

fn check_text(method: Method, field: &str, value: &str, max: usize) -> Result<(), RpcError> {
    if value.chars().count() > max {
        return Err(RpcError::invalid_params(format!(
            "{}: `{field}` is longer than {max} characters",
            method.name()
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(RpcError::invalid_params(format!(
            "{}: `{field}` contains control characters",
            method.name()
        )));
    }
    Ok(())
}

/// Page text that must show something: through the display filter; refused
/// when too long or blank after filtering.
pub fn shown_required(
    method: Method,
    field: &str,
    value: &str,
    max: usize,
) -> Result<String, RpcError> {
    display_text::clean_required(value, max).map_err(|why| refused_text(method, field, &why))
}

/// Optional page text: empty means absent; otherwise as [`shown_required`].
pub fn shown_optional(
    method: Method,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, RpcError> {
    match value {
        None => Ok(None),
        Some(v) => {
            display_text::clean_optional(v, max).map_err(|why| refused_text(method, field, &why))
        }
    }
}

fn refused_text(method: Method, field: &str, why: &display_text::TextRefusal) -> RpcError {
    RpcError::invalid_params(format!("{}: `{field}` {why}", method.name()))
}

fn check_opt(
    method: Method,
    field: &str,
    value: &Option<String>,
    max: usize,
) -> Result<(), RpcError> {
    match value {
        Some(v) => check_text(method, field, v, max),
        None => Ok(()),
    }
}

fn filter(p: Option<FilterParams>) -> Result<CertificateFilter, RpcError> {
    let Some(p) = p else {
        return Ok(CertificateFilter::default());
    };
    let m = Method::CertificatesList;
    check_opt(m, "filter.issuer", &p.issuer, MAX_TEXT_LEN)?;
    if let Some(c) = p.class {
        if !(1..=3).contains(&c) {
            return Err(RpcError::invalid_params(
                "certificates.list: `filter.class` must be 1, 2 or 3",
            ));
        }
    }
    let pan = match p.pan {
        None => None,
        Some(pan) => {
            let up = pan.to_ascii_uppercase();
            let b = up.as_bytes();
            let ok = b.len() == 10
                && b[..5].iter().all(u8::is_ascii_uppercase)
                && b[5..9].iter().all(u8::is_ascii_digit)
                && b[9].is_ascii_uppercase();
            if !ok {
                return Err(RpcError::invalid_params(
                    "certificates.list: `filter.pan` must look like ABCDE1234F",
                ));
            }
            Some(up)
        }
    };
    Ok(CertificateFilter {
        issuer: p.issuer,
        class: p.class.and_then(|c| u8::try_from(c).ok()),
        key_usage: p.key_usage.unwrap_or_default(),
        valid_now: p.valid_now,
        pan,
    })
}

fn sign_pdf(
    method: Method,
    p: SignPdfParams,
    uploads: &mut dyn UploadResolver,
) -> Result<SignPdf, RpcError> {
    // Text a person will see in the consent dialog, that the audit log keeps
    // and that the signature carries: filtered here, once, so all three agree.
    // (Line breaks and other C0/C1 controls stay refused outright.)
    check_text(method, "fileName", &p.file_name, MAX_FILE_NAME_LEN)?;
    check_opt(method, "reason", &p.reason, MAX_TEXT_LEN)?;
    check_opt(method, "location", &p.location, MAX_TEXT_LEN)?;
    let file_name = shown_required(method, "fileName", &p.file_name, MAX_FILE_NAME_LEN)?;
    check_opt(method, "certificateId", &p.certificate_id, MAX_ID_FIELD_LEN)?;
    let reason = shown_optional(method, "reason", p.reason.as_deref(), MAX_TEXT_LEN)?;
    let location = shown_optional(method, "location", p.location.as_deref(), MAX_TEXT_LEN)?;
    if p.password
        .as_ref()
        .is_some_and(|pw| pw.len() > MAX_PDF_PASSWORD_LEN)
    {
        return Err(RpcError::invalid_params(format!(
            "{}: `password` is longer than {MAX_PDF_PASSWORD_LEN} bytes",
            method.name()
        )));
    }
    let (appearance, certificate) = match p.appearance {
        Some(a) => {
            let (a, c) = appearance(method, a)?;
            (Some(a), c)
        }
        None => (None, CertificateFields::default()),
    };
    Ok(SignPdf {
        document: p.document.resolve(method, "document", uploads)?,
        file_name,
        certificate_id: p.certificate_id,
        reason,
        location,
        appearance,
        certificate,
        certify: p.certify.unwrap_or(false),
        level: level(method, p.level.as_deref())?,
        password: p.password.map(|mut pw| {
            let kept = crate::pdf::PdfPassword::new(pw.as_bytes().to_vec());
            zeroize::Zeroize::zeroize(&mut pw);
            kept
        }),
    })
}

fn appearance(method: Method, v: Value) -> Result<(Appearance, CertificateFields), RpcError> {
    match v {
        Value::String(s) if s == "auto" => Ok((Appearance::Auto, CertificateFields::default())),
        Value::Object(_) => {
            let r: AppearanceParams = serde_json::from_value(v).map_err(|e| {
                RpcError::invalid_params(format!("{}: `appearance`: {e}", method.name()))
            })?;
            let certificate = certificate_fields(method, &r)?;
            let place = match (r.page, r.x, r.y, r.width, r.height) {
                (None, None, None, None, None) => Appearance::Auto,
                (Some(page), Some(x), Some(y), Some(width), Some(height)) => {
                    // x and y may be below zero: a page's own coordinates
                    // start wherever its /MediaBox does (`[-300 -400 295 442]`),
                    // and pdf.js gives them so. Whether the box lies on the
                    // page is the PDF's to say (src/pdf/plan.rs).
                    let finite = [x, y, width, height].iter().all(|n| n.is_finite());
                    if page == 0 || !finite || width <= 0.0 || height <= 0.0 {
                        return Err(RpcError::invalid_params(format!(
                            "{}: `appearance` needs page >= 1, finite x and y, and width, height > 0 (PDF points)",
                            method.name()
                        )));
                    }
                    Appearance::Rect {
                        page,
                        x,
                        y,
                        width,
                        height,
                    }
                }
                _ => {
                    return Err(RpcError::invalid_params(format!(
                        "{}: `appearance` needs all of page, x, y, width, height, or none of them (automatic placement)",
                        method.name()
                    )))
                }
            };
            Ok((place, certificate))
        }
        _ => Err(RpcError::invalid_params(format!(
            "{}: `appearance` must be \"auto\" or {{page, x, y, width, height, uin?, qr?}}",
            method.name()
        ))),
    }
}

/// A UIN of the BSK order's shape and a QR payload that holds it, refused
/// here (before any consent or PIN) when malformed. The payload must show
/// exactly as sent: the QR code carries what the person approved.
fn certificate_fields(method: Method, r: &AppearanceParams) -> Result<CertificateFields, RpcError> {
    check_opt(method, "appearance.uin", &r.uin, 16)?;
    check_opt(method, "appearance.qr", &r.qr, MAX_QR_LEN)?;
    if let Some(q) = &r.qr {
        let shown = shown_optional(method, "appearance.qr", Some(q), MAX_QR_LEN)?;
        if shown.as_deref() != Some(q.as_str()) {
            return Err(RpcError::invalid_params(format!(
                "{}: `appearance.qr` holds characters the consent dialog cannot show as they are",
                method.name()
            )));
        }
    }
    let qr_version = match r.qr_version {
        None => None,
        Some(v) => Some(
            u8::try_from(v)
                .ok()
                .filter(|v| (1..=40).contains(v))
                .ok_or_else(|| {
                    RpcError::invalid_params(format!(
                        "{}: `appearance.qrVersion` must be 1 to 40",
                        method.name()
                    ))
                })?,
        ),
    };
    crate::pdf::CertificateStamp::check(r.uin.as_deref(), r.qr.as_deref(), qr_version).map_err(
        |why| RpcError::invalid_params(format!("{}: `appearance`: {why}", method.name())),
    )?;
    Ok(CertificateFields {
        uin: r.uin.clone(),
        qr: r.qr.clone(),
        qr_version,
    })
}

fn sign_data(
    method: Method,
    p: SignDataParams,
    uploads: &mut dyn UploadResolver,
) -> Result<SignData, RpcError> {
    check_opt(method, "certificateId", &p.certificate_id, MAX_ID_FIELD_LEN)?;
    let level = level(method, p.level.as_deref())?;
    if level.is_some_and(|l| l > Level::BT) {
        return Err(RpcError::invalid_params(format!(
            "{}: a detached signature goes up to level B-T (CAdES-T)",
            method.name()
        )));
    }
    Ok(SignData {
        level,
        data: p.data.resolve(method, "data", uploads)?,
        certificate_id: p.certificate_id,
        cosign: p
            .cosign
            .map(|c| c.resolve(method, "cosign", uploads))
            .transpose()?,
    })
}

/// `B-B`, `B-T`, `B-LT` or `B-LTA`.
fn level(method: Method, text: Option<&str>) -> Result<Option<Level>, RpcError> {
    text.map(|t| {
        Level::parse(t).ok_or_else(|| {
            RpcError::invalid_params(format!(
                "{}: `level` must be B-B, B-T, B-LT or B-LTA",
                method.name()
            ))
        })
    })
    .transpose()
}

fn sign_hash(method: Method, p: SignHashParams) -> Result<SignHash, RpcError> {
    check_opt(method, "certificateId", &p.certificate_id, MAX_ID_FIELD_LEN)?;
    let digest = decode_b64(method, "digest", &p.digest)?;
    if digest.len() != p.digest_algorithm.len() {
        return Err(RpcError::invalid_params(format!(
            "{}: `digest` has {} bytes but a {} digest has {}",
            method.name(),
            digest.len(),
            p.digest_algorithm.name(),
            p.digest_algorithm.len()
        )));
    }
    Ok(SignHash {
        digest,
        digest_algorithm: p.digest_algorithm,
        certificate_id: p.certificate_id,
    })
}

fn sign_batch(
    p: SignBatchParams,
    uploads: &mut dyn UploadResolver,
) -> Result<Vec<BatchItem>, RpcError> {
    if p.items.is_empty() || p.items.len() > MAX_BATCH_ITEMS {
        return Err(RpcError::invalid_params(format!(
            "sign.batch: `items` must hold 1 to {MAX_BATCH_ITEMS} items"
        )));
    }
    let batch_level = level(Method::SignBatch, p.level.as_deref())?;
    // Type every item before resolving any upload.
    let mut typed = Vec::with_capacity(p.items.len());
    for (i, item) in p.items.into_iter().enumerate() {
        let err = |e: RpcError| {
            RpcError::invalid_params(format!("sign.batch: items[{i}]: {}", e.message))
        };
        let BatchItemParams { method, params } = item;
        let parsed = match method.as_str() {
            "sign.pdf" => TypedItem::Pdf(params_of(Method::SignPdf, params).map_err(err)?),
            "sign.data" => TypedItem::Data(params_of(Method::SignData, params).map_err(err)?),
            "sign.hash" => TypedItem::Hash(params_of(Method::SignHash, params).map_err(err)?),
            other => {
                return Err(RpcError::invalid_params(format!(
                "sign.batch: items[{i}]: method must be sign.pdf, sign.data or sign.hash, not `{}`",
                other.chars().take(64).collect::<String>()
            )))
            }
        };
        typed.push(parsed);
    }
    let mut out = Vec::with_capacity(typed.len());
    for (i, item) in typed.into_iter().enumerate() {
        let err = |e: RpcError| {
            RpcError::invalid_params(format!("sign.batch: items[{i}]: {}", e.message))
        };
        out.push(match item {
            TypedItem::Pdf(p) => {
                let mut item = sign_pdf(Method::SignPdf, p, uploads).map_err(err)?;
                item.level = item.level.or(batch_level);
                BatchItem::Pdf(item)
            }
            TypedItem::Data(p) => {
                let mut item = sign_data(Method::SignData, p, uploads).map_err(err)?;
                // The batch's level applies to data items up to what they support.
                item.level = item.level.or(batch_level.map(|l| l.min(Level::BT)));
                BatchItem::Data(item)
            }
            TypedItem::Hash(p) => BatchItem::Hash(sign_hash(Method::SignHash, p).map_err(err)?),
        });
    }
    Ok(out)
}

enum TypedItem {
    Pdf(SignPdfParams),
    Data(SignDataParams),
    Hash(SignHashParams),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(method: Method, params: Value) -> Result<Incoming, RpcError> {
        Incoming::parse(method, params, &mut NoUploads)
    }

    #[test]
    fn a_page_may_ask_for_a_level_but_never_name_the_tsa() {
        let pdf = json!({"document": "JVBERi0=", "fileName": "a.pdf", "level": "B-LTA"});
        let Ok(Incoming::Backend(Request::SignPdf(p))) = parse(Method::SignPdf, pdf) else {
            panic!("sign.pdf with a level is refused");
        };
        assert_eq!(p.level, Some(Level::BLTA));
        let bad = json!({"document": "JVBERi0=", "fileName": "a.pdf", "level": "B-XL"});
        assert!(parse(Method::SignPdf, bad).is_err());
        let tsa = json!({"document": "JVBERi0=", "fileName": "a.pdf", "tsa": "http://evil/"});
        assert!(parse(Method::SignPdf, tsa).is_err(), "a page names no TSA");
        let data = json!({"data": "eA==", "level": "B-LTA"});
        assert!(
            parse(Method::SignData, data).is_err(),
            "detached goes up to B-T"
        );
        let data = json!({"data": "eA==", "level": "B-T"});
        assert!(parse(Method::SignData, data).is_ok());
    }

    #[test]
    fn a_batch_level_applies_to_items_without_their_own() {
        let batch = json!({"level": "B-LT", "items": [
            {"method": "sign.pdf", "params": {"document": "JVBERi0=", "fileName": "a.pdf"}},
            {"method": "sign.pdf", "params": {"document": "JVBERi0=", "fileName": "b.pdf", "level": "B-B"}},
            {"method": "sign.data", "params": {"data": "eA=="}},
        ]});
        let Ok(Incoming::Backend(Request::SignBatch(items))) = parse(Method::SignBatch, batch)
        else {
            panic!("batch refused");
        };
        let levels: Vec<Option<Level>> = items
            .iter()
            .map(|i| match i {
                BatchItem::Pdf(p) => p.level,
                BatchItem::Data(d) => d.level,
                BatchItem::Hash(_) => None,
            })
            .collect();
        assert_eq!(levels, [Some(Level::BLT), Some(Level::BB), Some(Level::BT)]);
    }
}
