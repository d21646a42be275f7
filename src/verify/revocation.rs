//! Revocation data a signature carries — in its CMS (Adobe's
//! revocationInfoArchival, the SignedData's CRLs) or in the document
//! security store — judged for the signer's certificate path. Mohor does not
//! go online while verifying: what counts is evidence, signed by the issuer
//! or its responder, that no certificate of the path was revoked (PAdES
//! B-LT's promise) — made after the signature for the signer's own
//! certificate, current at the signature for a CA's (see `Role`).
//!
//! The OCSP and CRL checks themselves are the ones the long-term signer uses
//! before it embeds the evidence ([`crate::ltv::revocation`]).

use der::Decode;
use serde::Serialize;
use time::OffsetDateTime;
use x509_cert::Certificate;

use super::chain::Chain;
use crate::ltv::revocation::{read_crl, read_ocsp, Finding, SKEW};
use crate::ltv::LtvError;

/// OCSP responses and CRLs (DER) available to a signature.
#[derive(Debug, Default, Clone)]
pub struct ValidationData {
    pub ocsps: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

impl ValidationData {
    pub fn is_empty(&self) -> bool {
        self.ocsps.is_empty() && self.crls.is_empty()
    }

    /// This data and `more`, each item once.
    pub fn with(&self, ocsps: &[Vec<u8>], crls: &[Vec<u8>]) -> ValidationData {
        let mut all = self.clone();
        for (list, more) in [(&mut all.ocsps, ocsps), (&mut all.crls, crls)] {
            for item in more {
                if !list.contains(item) {
                    list.push(item.clone());
                }
            }
        }
        all
    }
}

/// What the embedded revocation data says about the signer's path.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RevocationStatus {
    /// The signature carries no revocation data.
    #[default]
    Absent,
    /// Every certificate of the path (below the anchor) is shown not
    /// revoked by evidence made after the signature.
    Valid,
    /// Some certificate has no such evidence (named in the problems).
    Incomplete,
    /// The evidence says a certificate of the path was revoked.
    Revoked,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judgement {
    pub status: RevocationStatus,
    /// Subject CNs shown not revoked.
    pub covered: Vec<String>,
    /// Certificates (subject CN) revoked after a proven signing time, with
    /// the revocation date the evidence states: they count as covered.
    pub revoked_later: Vec<(String, OffsetDateTime)>,
    /// Certificates (subject CN) the evidence shows revoked, with the date
    /// it states, that revoke the signature (`status` is `Revoked`).
    pub revoked: Vec<(String, OffsetDateTime)>,
    pub problems: Vec<String>,
}

/// When the signature was made, and what proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningTime {
    /// A trusted timestamp's time: the signature existed then.
    Proven(OffsetDateTime),
    /// The signer's claim (or the verification time): nothing proves the
    /// signature is older than a revocation.
    Claimed(OffsetDateTime),
}

impl SigningTime {
    fn at(self) -> OffsetDateTime {
        match self {
            SigningTime::Proven(t) | SigningTime::Claimed(t) => t,
        }
    }
}

/// Judge `data` for every certificate of `chain` but its anchor, as
/// evidence for a signature made at `signed`. A certificate revoked after
/// a proven signing time did not revoke the signature (ETSI EN 319 102-1
/// validates at the time a trusted timestamp proves, as pyHanko does); the
/// revocation reason is not consulted, as pyHanko does not.
/// Without a proven time every revocation counts: the signer's claim of
/// a time before it proves nothing.
pub fn judge(chain: &Chain, data: &ValidationData, signed: SigningTime) -> Judgement {
    let signed_at = signed.at();
    let mut j = Judgement::default();
    if data.is_empty() {
        return j;
    }
    let parsed: Vec<Option<Certificate>> = chain
        .certs
        .iter()
        .map(|c| Certificate::from_der(&c.der).ok())
        .collect();
    let mut missing = Vec::new();
    for (i, cert) in chain.certs.iter().enumerate() {
        let issuer = parsed.get(i + 1).and_then(Option::as_ref);
        let (Some(Some(subject)), Some(issuer)) = (parsed.get(i), issuer) else {
            // The anchor (or a path that stops here) needs no evidence.
            if !(chain.complete && i + 1 == chain.certs.len()) {
                missing.push(cert.cn.clone());
            }
            continue;
        };
        let role = if i == 0 { Role::Signer } else { Role::Ca };
        match evidence_for(subject, issuer, data, signed_at, role) {
            Evidence::NotRevoked => j.covered.push(cert.cn.clone()),
            Evidence::Revoked(at) if matches!(signed, SigningTime::Proven(proven) if at > proven) =>
            {
                j.covered.push(cert.cn.clone());
                j.revoked_later.push((cert.cn.clone(), at));
            }
            Evidence::Revoked(at) => {
                j.status = RevocationStatus::Revoked;
                j.revoked.push((cert.cn.clone(), at));
                j.problems.push(format!(
                    "the embedded revocation data says the certificate of {} was revoked",
                    cert.cn
                ));
            }
            Evidence::TooOld => {
                missing.push(cert.cn.clone());
                j.problems.push(format!(
                    "the embedded revocation data for {} was made before the signature",
                    cert.cn
                ));
            }
            Evidence::ResponderUnproven => {
                missing.push(cert.cn.clone());
                j.problems.push(format!(
                    "the OCSP answer about {} was signed by a responder whose own status \
                     the document does not show (its certificate lacks id-pkix-ocsp-nocheck)",
                    cert.cn
                ));
            }
            Evidence::None => missing.push(cert.cn.clone()),
        }
    }
    if j.status == RevocationStatus::Revoked {
        return j;
    }
    if missing.is_empty() {
        j.status = RevocationStatus::Valid;
    } else {
        j.status = RevocationStatus::Incomplete;
        j.problems.push(format!(
            "no embedded revocation data shows that {} was not revoked",
            missing.join(", ")
        ));
    }
    j
}

enum Evidence {
    NotRevoked,
    /// Revoked, on the date the evidence states.
    Revoked(OffsetDateTime),
    TooOld,
    /// Only OCSP answers from a delegated responder not shown unrevoked.
    ResponderUnproven,
    None,
}

/// Which certificate of the path the evidence is about.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// The signer's own: its responder answers at any time, so the proof
    /// must be made after the signature.
    Signer,
    /// A CA's: its issuer (often the root, signing offline) publishes a CRL
    /// every few days or weeks, so a signature made and extended at once
    /// can only carry a CRL issued before it. Such a CRL still counts when
    /// the signature falls inside its validity (thisUpdate to nextUpdate),
    /// as pyHanko and Adobe judge it; without nextUpdate it must be newer.
    Ca,
}

fn evidence_for(
    cert: &Certificate,
    issuer: &Certificate,
    data: &ValidationData,
    signed_at: OffsetDateTime,
    role: Role,
) -> Evidence {
    let findings = data
        .ocsps
        .iter()
        .map(|o| read_ocsp(o, cert, issuer))
        .chain(data.crls.iter().map(|c| read_crl(c, cert, issuer)));
    let mut best = Evidence::None;
    for finding in findings {
        if let Ok(f) = &finding {
            if !responder_proven(f, issuer, data) {
                if matches!(best, Evidence::None) {
                    best = Evidence::ResponderUnproven;
                }
                continue;
            }
        }
        match finding {
            // Made after the signature (allowing for clock slack): proof
            // that the certificate was not revoked when it signed.
            Ok(Finding { this_update, .. }) if this_update + SKEW >= signed_at => {
                return Evidence::NotRevoked;
            }
            // Current when it signed: enough for a CA's certificate.
            Ok(Finding {
                this_update,
                next_update: Some(next_update),
                ..
            }) if role == Role::Ca
                && this_update <= signed_at + SKEW
                && signed_at <= next_update =>
            {
                return Evidence::NotRevoked;
            }
            Ok(_) => best = Evidence::TooOld,
            Err(LtvError::Revoked(_, at)) => return Evidence::Revoked(at),
            // About another certificate, or not signed by its issuer.
            Err(_) => {}
        }
    }
    best
}

/// Whether an OCSP answer's delegated responder may be trusted from the
/// document alone (RFC 6960 §4.2.2.2.1): no delegate, a certificate with
/// id-pkix-ocsp-nocheck, or a CRL in `data` from the same issuer that does
/// not list it and was made after it answered (a revoked certificate stays
/// listed) or was current then.
fn responder_proven(finding: &Finding, issuer: &Certificate, data: &ValidationData) -> bool {
    let Some(der) = &finding.responder else {
        return true;
    };
    let Ok(responder) = Certificate::from_der(der) else {
        return false;
    };
    if crate::ltv::certs::ocsp_nocheck(&responder) {
        return true;
    }
    let answered = finding.this_update;
    data.crls.iter().any(|c| {
        read_crl(c, &responder, issuer).is_ok_and(|crl| {
            crl.this_update + SKEW >= answered || crl.next_update.is_none_or(|n| answered <= n)
        })
    })
}
