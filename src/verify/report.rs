//! The verification report: the stable JSON schema of `mohor verify --json`
//! and of the `verify` method (docs/PROTOCOL.md), and the human rendering
//! (one line per signature, details after).

use serde::Serialize;
use time::OffsetDateTime;

pub use super::revocation::RevocationStatus;
pub use crate::ltv::Level;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub signatures: Vec<SignatureReport>,
    /// Bytes after the newest signed revision that no signature covers.
    pub unsigned_changes_at_end: bool,
    /// What a reader should know about the document as a whole, not about
    /// one signature (a dynamic XFA form, document-level JavaScript). They
    /// do not change the verdict.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Pdf,
    Detached,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Modifications {
    None,
    Acceptable,
    Illegal,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignatureReport {
    /// The PDF field name, or `#N` for the Nth SignerInfo of detached CMS.
    pub field: String,
    /// The signer's common name ("" when no signer certificate was found).
    pub signer: String,
    /// RFC 3339; the timestamp's time when there is one, else the signer's claim.
    pub signing_time: Option<String>,
    /// "timestamp" or "claimed by the signer" (or null when unknown).
    pub signing_time_source: Option<String>,
    pub kind: Kind,
    /// adbe.pkcs7.detached, adbe.pkcs7.sha1, ETSI.CAdES.detached, ETSI.RFC3161, or "cms".
    pub sub_filter: String,
    pub digest_algorithm: Option<String>,
    pub intact: bool,
    pub trusted: bool,
    /// Subject CNs, leaf first.
    pub chain: Vec<String>,
    pub chain_complete: bool,
    pub valid_at_signing_time: bool,
    pub modifications: Modifications,
    /// What changed after this signature (empty when nothing did).
    pub changes: Vec<String>,
    /// A certifying signature's DocMDP level (1 no changes, 2 form filling, 3 annotations too).
    pub certification: Option<u8>,
    /// [start, length, start, length] as written in the file.
    pub byte_range: Option<[u64; 4]>,
    pub covers_whole_file: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampReport>,
    /// The baseline level the file shows for this signature, judged from what
    /// it carries: B-T a signature timestamp that holds, B-LT also revocation
    /// data in the document security store, B-LTA also a later document
    /// timestamp. Null for a document timestamp, which has no level.
    pub level: Option<Level>,
    pub revocation: Revocation,
    pub problems: Vec<String>,
    /// What the reader should know that does not change the verdict: a
    /// weak algorithm (a SHA-1 digest, an RSA key under 2048 bits), a
    /// certificate revoked after the time a trusted timestamp proves.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimestampReport {
    pub time: String,
    /// The time-stamping authority's CN.
    pub authority: String,
    pub intact: bool,
    pub trusted: bool,
    pub chain: Vec<String>,
}

/// Revocation data the signature carries; Mohor does not go online.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Revocation {
    pub embedded_crls: usize,
    pub embedded_ocsp_responses: usize,
    /// Always false: revocation was not checked online.
    pub checked: bool,
    /// What the embedded data says about the signer's path.
    pub status: RevocationStatus,
    /// Subject CNs the embedded data shows not revoked after the signature
    /// (a certificate revoked after a trusted timestamp's time included).
    pub covered: Vec<String>,
    /// Certificates of the path revoked after the signing time a trusted
    /// timestamp proves, which does not revoke the signature; only when any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revoked_after_signing: Vec<RevokedLater>,
}

/// A certificate revoked after the proven signing time.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RevokedLater {
    /// Its subject CN.
    pub certificate: String,
    /// RFC 3339, as the revocation evidence states it.
    pub revoked_at: String,
}

/// What one signature comes to, with the first reason when it falls short:
/// the one reading the report's verdict line and the consent dialog share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement<'a> {
    /// The signature does not match the bytes it covers (first problem).
    NotIntact(Option<&'a str>),
    /// A later revision changed what the signature does not allow.
    IllegalChanges(Option<&'a str>),
    /// Intact, but no trusted, valid chain (first problem).
    NotTrusted(Option<&'a str>),
    Trusted {
        later_changes: bool,
    },
}

impl SignatureReport {
    /// Intact, trusted, and nothing illegal after it.
    pub fn ok(&self) -> bool {
        self.intact && self.trusted && self.modifications != Modifications::Illegal
    }

    /// Intact first, then what changed after it, then trust.
    pub fn judgement(&self) -> Judgement<'_> {
        let first_problem = self.problems.first().map(String::as_str);
        if !self.intact {
            return Judgement::NotIntact(first_problem);
        }
        if self.modifications == Modifications::Illegal {
            let change = self
                .changes
                .iter()
                .find_map(|c| c.strip_prefix("not allowed: "));
            return Judgement::IllegalChanges(change);
        }
        if !self.trusted {
            return Judgement::NotTrusted(first_problem);
        }
        Judgement::Trusted {
            later_changes: self.modifications == Modifications::Acceptable,
        }
    }
}

impl Report {
    /// Exit 0 only when every signature is fine (and there is at least one).
    pub fn all_ok(&self) -> bool {
        !self.signatures.is_empty() && self.signatures.iter().all(SignatureReport::ok)
    }

    pub fn human(&self) -> String {
        let mut out = String::new();
        if self.signatures.is_empty() {
            out.push_str("✖ no signature found\n");
            return out;
        }
        for s in &self.signatures {
            out.push_str(&format!(
                "{} {}: {}, {}, {}{}\n",
                if s.ok() { "✔" } else { "✖" },
                s.field,
                if s.signer.is_empty() {
                    "unknown signer"
                } else {
                    &s.signer
                },
                s.signing_time.as_deref().unwrap_or("time unknown"),
                verdict(s),
                match s.warnings.len() {
                    0 => String::new(),
                    1 => " (1 warning below)".to_owned(),
                    n => format!(" ({n} warnings below)"),
                }
            ));
        }
        if self.unsigned_changes_at_end {
            out.push_str(
                "! the file was changed after the last signature (no signature covers the end)\n",
            );
        }
        for w in &self.warnings {
            out.push_str(&format!("! {w}\n"));
        }
        for s in &self.signatures {
            out.push_str(&format!("\n{} ({})\n", s.field, s.sub_filter));
            out.push_str(&format!(
                "  intact: {}\n  trusted: {}\n  chain: {}{}\n",
                yes(s.intact),
                yes(s.trusted),
                s.chain.join(" → "),
                if s.chain_complete {
                    ""
                } else {
                    " (incomplete)"
                }
            ));
            if let Some(t) = &s.signing_time {
                out.push_str(&format!(
                    "  signed at: {t} ({})\n",
                    s.signing_time_source.as_deref().unwrap_or("unknown source")
                ));
            }
            out.push_str(&format!(
                "  valid at signing time: {}\n",
                yes(s.valid_at_signing_time)
            ));
            if let Some(ts) = &s.timestamp {
                out.push_str(&format!(
                    "  timestamp: {} by {} (intact: {}, trusted: {})\n",
                    ts.time,
                    ts.authority,
                    yes(ts.intact),
                    yes(ts.trusted)
                ));
            }
            if let Some(level) = s.level {
                let family = match s.kind {
                    Kind::Pdf => "PAdES",
                    Kind::Detached => "CAdES",
                };
                out.push_str(&format!("  level: {family} {}\n", level.as_str()));
            }
            if let Some(p) = s.certification {
                out.push_str(&format!("  certification: DocMDP level {p}\n"));
            }
            out.push_str(&format!(
                "  changes after signing: {}\n",
                match s.modifications {
                    Modifications::None => "none",
                    Modifications::Acceptable => "acceptable",
                    Modifications::Illegal => "ILLEGAL",
                }
            ));
            for c in &s.changes {
                out.push_str(&format!("    - {c}\n"));
            }
            out.push_str(&format!(
                "  revocation data embedded: {} CRL, {} OCSP{} (not checked online)\n",
                s.revocation.embedded_crls,
                s.revocation.embedded_ocsp_responses,
                match s.revocation.status {
                    RevocationStatus::Absent => String::new(),
                    RevocationStatus::Valid => {
                        let later = &s.revocation.revoked_after_signing;
                        let not_revoked: Vec<&str> = s
                            .revocation
                            .covered
                            .iter()
                            .filter(|c| !later.iter().any(|l| &l.certificate == *c))
                            .map(String::as_str)
                            .collect();
                        let mut parts = Vec::new();
                        if !not_revoked.is_empty() {
                            parts.push(format!(
                                "not revoked after signing: {}",
                                not_revoked.join(", ")
                            ));
                        }
                        parts.extend(later.iter().map(|l| {
                            format!(
                                "{} revoked at {}, after the signing time",
                                l.certificate, l.revoked_at
                            )
                        }));
                        format!("; {}", parts.join("; "))
                    }
                    RevocationStatus::Incomplete => "; incomplete".to_owned(),
                    RevocationStatus::Revoked => "; REVOKED".to_owned(),
                }
            ));
            for p in &s.problems {
                out.push_str(&format!("  problem: {p}\n"));
            }
            for w in &s.warnings {
                out.push_str(&format!("  warning: {w}\n"));
            }
        }
        out
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The one-line verdict: trusted, or the first reason it is not.
fn verdict(s: &SignatureReport) -> String {
    match s.judgement() {
        Judgement::NotIntact(why) => format!(
            "NOT INTACT: {}",
            why.unwrap_or("the signature does not match")
        ),
        Judgement::IllegalChanges(what) => {
            format!("ILLEGAL CHANGES after signing: {}", what.unwrap_or(""))
        }
        Judgement::NotTrusted(why) => {
            format!("intact, NOT TRUSTED: {}", why.unwrap_or("no trusted chain"))
        }
        Judgement::Trusted {
            later_changes: true,
        } => "intact, trusted, later changes allowed".into(),
        Judgement::Trusted { .. } => "intact, trusted".into(),
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
