//! Signature verification: `mohor verify` and the `verify` method.
//!
//! ```text
//! file ──► PDF? ── pdf: each signed field ── byte range ─┐
//!   │                                                     ├─► cms: digest + signature per SignerInfo
//!   └──── detached CMS (+ data) ──────────────────────────┘        │
//!                                                                  ▼
//!              chain: signer → CA → anchor (embedded + trust store), validity at signing time
//!                                                                  │
//!              changes: what later revisions did (PDF)  ──► report (JSON schema, human text)
//! ```
//!
//! Everything here reads; nothing writes the document. Hostile input ends in
//! a typed error or a reported problem, never a panic.

pub mod ber;
pub mod cert;
pub mod chain;
pub mod changes;
pub mod cms;
pub mod crypto;
pub mod input;
pub mod pdf;
pub mod report;
pub mod revocation;
pub mod structure;
pub mod trust;
pub mod warnings;

use time::OffsetDateTime;

pub use input::Input;
pub use report::{Kind, Level, Modifications, Report, SignatureReport, TimestampReport};
pub use trust::TrustStore;

use crate::error::{Error, Reason};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// Neither a PDF nor a CMS signature Mohor can read.
    Unreadable(String),
    /// A detached signature without its data.
    NoData,
    /// Data given with a PDF, which carries what it signs: the data would
    /// be ignored, and a check of the wrong thing must not pass for one of
    /// the data.
    DataWithPdf,
    Io(String),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::Unreadable(m) => write!(f, "cannot verify: {m}"),
            VerifyError::NoData => f.write_str("the signature is detached and no data was given"),
            VerifyError::DataWithPdf => f.write_str(
                "data was given with a PDF: a PDF's signatures cover the PDF itself, not another file",
            ),
            VerifyError::Io(m) => write!(f, "cannot verify: {m}"),
        }
    }
}

impl std::error::Error for VerifyError {}

impl From<VerifyError> for Error {
    fn from(e: VerifyError) -> Error {
        match e {
            VerifyError::Unreadable(_) => Error::new(Reason::DocumentRefused, e.to_string())
                .with_hint(
                    "give a signed PDF, or a .p7s/.p7m signature (with --data for a detached one)",
                ),
            VerifyError::NoData => Error::new(Reason::InvalidRequest, e.to_string())
                .with_hint("pass the signed file with --data (or `data` in the request)"),
            VerifyError::DataWithPdf => Error::new(Reason::InvalidRequest, e.to_string())
                .with_hint(
                    "verify the PDF alone; --data (or `data` in the request) is for a detached .p7s signature",
                ),
            VerifyError::Io(_) => Error::new(Reason::IoError, e.to_string())
                .with_hint("check that the file exists and that you may read it"),
        }
    }
}

/// A CMS signature file is read whole; a bigger one is not a signature.
const MAX_SIGNATURE_FILE: u64 = 64 << 20;

/// Verify `file`: a PDF (every signature field), or a CMS signature over
/// `data` (every SignerInfo); data given with a PDF is refused, never
/// ignored. Trust comes from `store`; `now` is used only when a signature
/// states no time at all. Both files are read in pieces, never whole (but
/// for a CMS signature file).
pub fn verify_file(
    file: &Input,
    data: Option<&Input>,
    store: &TrustStore,
    now: OffsetDateTime,
) -> Result<Report, VerifyError> {
    if file.is_pdf() {
        if data.is_some() {
            return Err(VerifyError::DataWithPdf);
        }
        return pdf::verify(file, store, now);
    }
    verify_detached(file, data, store, now)
}

/// [`verify_file`] for documents in memory (each held in a private
/// temporary file: the reader works on files).
pub fn verify_bytes(
    file: &[u8],
    data: Option<&[u8]>,
    store: &TrustStore,
    now: OffsetDateTime,
) -> Result<Report, VerifyError> {
    let file = Input::from_bytes(file)?;
    let data = data.map(Input::from_bytes).transpose()?;
    verify_file(&file, data.as_ref(), store, now)
}

/// Detached (or encapsulating) CMS: every SignerInfo is one signature.
fn verify_detached(
    cms_file: &Input,
    data: Option<&Input>,
    store: &TrustStore,
    now: OffsetDateTime,
) -> Result<Report, VerifyError> {
    let der = pem_or_der(&cms_file.read_all(MAX_SIGNATURE_FILE)?);
    let whole = data.map(|d| d.ranges(vec![(0, d.len())]));
    let content = match &whole {
        Some(ranges) => cms::Content::Detached(ranges),
        None => cms::Content::Encapsulated,
    };
    let sd = cms::check(&der, content).map_err(VerifyError::Unreadable)?;
    if sd.e_content.is_none() && data.is_none() {
        return Err(VerifyError::NoData);
    }
    // Encapsulated content and outside data must be the same bytes.
    let mismatch = matches!((&sd.e_content, data),
        (Some(c), Some(d)) if c.len() as u64 != d.len()
            || crypto::Hash::Sha256.digest(c) != d.sha256());
    let mut signatures = Vec::new();
    for (i, signer) in sd.signers.iter().enumerate() {
        let mut r = empty_report(format!("#{}", i + 1), Kind::Detached, "cms");
        let none = revocation::ValidationData::default();
        signer_report(&sd, signer, None, &none, store, now, &mut r);
        if mismatch {
            r.intact = false;
            r.trusted = false;
            r.problems.insert(
                0,
                "the signature carries content that differs from the data given".into(),
            );
        }
        signatures.push(r);
    }
    Ok(Report {
        signatures,
        unsigned_changes_at_end: false,
        warnings: Vec::new(),
    })
}

/// PEM (`-----BEGIN PKCS7-----`, `CMS`, `SIGNED DATA`) or raw DER/BER.
fn pem_or_der(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bytes.to_vec();
    };
    if !text.trim_start().starts_with("-----BEGIN") {
        return bytes.to_vec();
    }
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap_or_else(|_| bytes.to_vec())
}

pub(crate) fn empty_report(field: String, kind: Kind, sub_filter: &str) -> SignatureReport {
    SignatureReport {
        field,
        signer: String::new(),
        signing_time: None,
        signing_time_source: None,
        kind,
        sub_filter: sub_filter.into(),
        digest_algorithm: None,
        intact: false,
        trusted: false,
        chain: Vec::new(),
        chain_complete: false,
        valid_at_signing_time: false,
        modifications: Modifications::None,
        changes: Vec::new(),
        certification: None,
        byte_range: None,
        covers_whole_file: false,
        timestamp: None,
        level: None,
        revocation: Default::default(),
        problems: Vec::new(),
        warnings: Vec::new(),
    }
}

/// Fill `r` from one checked SignerInfo: who, when, intact, chain, trust.
pub(crate) fn signer_report(
    sd: &cms::SignedData,
    s: &cms::SignerCheck,
    claimed_elsewhere: Option<OffsetDateTime>,
    dss: &revocation::ValidationData,
    store: &TrustStore,
    now: OffsetDateTime,
    r: &mut SignatureReport,
) {
    r.intact = s.intact;
    r.digest_algorithm = s.digest.map(|h| h.name().to_string());
    r.problems.extend(s.problems.iter().cloned());
    let validation = dss.with(&s.ocsps, &s.crls);
    r.revocation.embedded_crls = validation.crls.len();
    r.revocation.embedded_ocsp_responses = validation.ocsps.len();

    // When: the timestamp's time when it holds and a trusted authority
    // signed it, else the signer's claim. A timestamp anyone could have
    // made proves no time, and must not outrank what the signer says (it
    // would make an expired certificate's signature valid "in time").
    let ts_time = s
        .timestamp
        .as_ref()
        .filter(|t| t.intact)
        .and_then(|t| t.time);
    let mut ts_revoked = Vec::new();
    let ts_report = s
        .timestamp
        .as_ref()
        .map(|ts| timestamp_report(ts, &validation, store, now, &mut ts_revoked));
    let proven_time = ts_time.filter(|_| ts_report.as_ref().is_some_and(|t| t.trusted));
    let (when, source) = match (proven_time, s.claimed_time.or(claimed_elsewhere)) {
        (Some(t), _) => (t, "timestamp"),
        (None, Some(c)) => (c, "claimed by the signer"),
        (None, None) => (now, "not stated; checked at verification time"),
    };
    r.signing_time = Some(report::rfc3339(when));
    r.signing_time_source = Some(source.into());
    // Said last: why the signature falls short (an expired certificate at
    // the claimed time, say) comes first.
    let mut untrusted_timestamp = Vec::new();
    if let (Some(ts), Some(tr)) = (&s.timestamp, &ts_report) {
        if ts.intact && timestamp_uses_sha1(ts) {
            r.warnings.push(format!(
                "the signature timestamp by {} uses SHA-1, which is no longer safe against \
                 forgery (accepted, as openssl and poppler accept it; pyHanko refuses it)",
                if tr.authority.is_empty() {
                    "an unknown authority"
                } else {
                    tr.authority.as_str()
                }
            ));
        }
    }
    if let (Some(ts), Some(tr)) = (&s.timestamp, ts_report) {
        if !ts.intact {
            r.problems.extend(ts.problems.iter().cloned());
        } else if !tr.trusted {
            untrusted_timestamp.push(format!(
                "the signature timestamp by {} is not trusted, so it proves no signing time",
                if tr.authority.is_empty() {
                    "an unknown authority"
                } else {
                    tr.authority.as_str()
                }
            ));
            untrusted_timestamp.extend(ts_revoked);
        }
        r.timestamp = Some(tr);
    }
    // A timestamp that does not hold proves no time: the level stays B-B.
    r.level = Some(if ts_time.is_some() {
        Level::BT
    } else {
        Level::BB
    });

    if s.digest == Some(crypto::Hash::Sha1) || s.signature_hash == Some(crypto::Hash::Sha1) {
        r.warnings.push(
            "the signature uses SHA-1, which is no longer safe against forgery: another \
             document with the same SHA-1 digest could carry this signature (accepted, as \
             openssl and poppler accept it; pyHanko refuses it)"
                .into(),
        );
    }
    let Some(cert) = &s.cert else {
        r.problems
            .push("the signer's certificate is not in the signature".into());
        r.problems.extend(untrusted_timestamp);
        r.trusted = false;
        return;
    };
    r.signer = cert.cn.clone();
    let chain = chain::build(cert, &sd.certs, store);
    r.warnings.extend(short_rsa_keys(&chain));
    r.chain = chain.cns();
    r.chain_complete = chain.complete;
    r.problems.extend(chain.problems.iter().cloned());
    let at = chain.check_at(when);
    r.valid_at_signing_time = at.is_empty();
    r.problems.extend(at);
    // A SignedData over TSTInfo is a time-stamp token: its signer is a TSA.
    let purpose = if sd.content_type == cms::TST_INFO {
        cert::Purpose::Timestamp
    } else {
        cert::Purpose::Document
    };
    let unfit = cert.unfit_for(purpose);
    let fit = unfit.is_none();
    r.problems.extend(unfit);
    let signed = match proven_time {
        Some(t) => revocation::SigningTime::Proven(t),
        None => revocation::SigningTime::Claimed(when),
    };
    let judged = revocation::judge(&chain, &validation, signed);
    r.revocation.status = judged.status;
    r.revocation.covered = judged.covered;
    for (cn, at) in judged.revoked_later {
        r.warnings.push(format!(
            "the certificate of {cn} was revoked at {}, after the trusted timestamp of {} \
             that proves when the signature was made: it was not revoked when it signed",
            report::rfc3339(at),
            report::rfc3339(when)
        ));
        r.revocation
            .revoked_after_signing
            .push(report::RevokedLater {
                certificate: cn,
                revoked_at: report::rfc3339(at),
            });
    }
    r.problems.extend(judged.problems);
    r.problems.extend(untrusted_timestamp);
    let not_revoked = judged.status != revocation::RevocationStatus::Revoked;
    r.trusted = r.intact && chain.anchored && r.valid_at_signing_time && fit && not_revoked;
}

/// Warnings for RSA keys under 2048 bits in the path (the signer's and its
/// CAs'): NIST and ETSI stopped accepting them for signatures years ago,
/// and pyHanko refuses them; openssl and poppler accept them, and so does
/// Mohor, saying so (docs/DECISIONS.md).
fn short_rsa_keys(chain: &chain::Chain) -> Vec<String> {
    chain
        .certs
        .iter()
        .filter_map(|c| {
            let bits = crypto::rsa_key_bits(&c.spki_der)?;
            (bits < 2048).then(|| {
                format!(
                    "the {bits}-bit RSA key of {} is shorter than 2048 bits, too short to be \
                     safe today (accepted, as openssl and poppler accept it; pyHanko refuses it)",
                    c.cn
                )
            })
        })
        .collect()
}

/// SHA-1 as the timestamp token's message imprint, or as its signer's
/// digest or signature hash.
fn timestamp_uses_sha1(ts: &cms::TimestampCheck) -> bool {
    ts.imprint_hash == Some(crypto::Hash::Sha1)
        || ts.signed.signers.iter().any(|s| {
            s.digest == Some(crypto::Hash::Sha1) || s.signature_hash == Some(crypto::Hash::Sha1)
        })
}

/// The signature timestamp `ts` as reported, judged with the revocation
/// data the signature has (`data`, with what the token itself carries). A
/// certificate of the authority's path that the data shows revoked, on any
/// date, leaves the timestamp untrusted, as pyHanko's validator judges it:
/// a key that was revoked (compromised, perhaps) can write any time, so the
/// time it states cannot place itself before its revocation (RFC 3161's
/// security considerations). Why goes to `problems`.
fn timestamp_report(
    ts: &cms::TimestampCheck,
    data: &revocation::ValidationData,
    store: &TrustStore,
    now: OffsetDateTime,
    problems: &mut Vec<String>,
) -> TimestampReport {
    let signer = ts.signed.signers.first();
    let cert = signer.and_then(|s| s.cert.as_ref());
    let time = ts.time.unwrap_or(now);
    let (chain, trusted) = match (signer, cert) {
        (Some(s), Some(c)) => {
            let ch = chain::build(c, &ts.signed.certs, store);
            let judged = revocation::judge(
                &ch,
                &data.with(&s.ocsps, &s.crls),
                revocation::SigningTime::Claimed(time),
            );
            for (cn, at) in &judged.revoked {
                problems.push(format!(
                    "the certificate of the time-stamping authority {cn} was revoked at {} \
                     (the timestamp states {}): a revoked authority's timestamp proves no time",
                    report::rfc3339(*at),
                    report::rfc3339(time)
                ));
            }
            let ok = ch.anchored
                && ch.check_at(time).is_empty()
                && c.unfit_for(cert::Purpose::Timestamp).is_none()
                && judged.revoked.is_empty();
            (ch.cns(), ok)
        }
        _ => (Vec::new(), false),
    };
    TimestampReport {
        time: ts.time.map(report::rfc3339).unwrap_or_default(),
        authority: cert.map(|c| c.cn.clone()).unwrap_or_default(),
        intact: ts.intact,
        trusted: ts.intact && trusted,
        chain,
    }
}

/// A document timestamp (ETSI.RFC3161) reported as a signature by its TSA.
pub(crate) fn timestamp_signature_report(
    ts: &cms::TimestampCheck,
    dss: &revocation::ValidationData,
    store: &TrustStore,
    now: OffsetDateTime,
    r: &mut SignatureReport,
) {
    if let Some(signer) = ts.signed.signers.first() {
        signer_report(&ts.signed, signer, ts.time, dss, store, now, r);
    }
    r.intact = ts.intact;
    r.trusted = r.trusted && ts.intact;
    if let Some(t) = ts.time {
        r.signing_time = Some(report::rfc3339(t));
        r.signing_time_source = Some("timestamp".into());
    }
    r.problems.extend(ts.problems.iter().cloned());
    r.problems.dedup();
    // A document timestamp has no baseline level of its own.
    r.level = None;
}
