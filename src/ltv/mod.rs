//! Long-term signatures: PAdES B-T / B-LT / B-LTA and CAdES-T.
//!
//! ```text
//!  B-B ──► B-T: RFC 3161 token over the signature value (unsigned attribute)
//!      ──► B-LT: OCSP responses / CRLs of the signer's and the TSA's chains
//!                in the PDF's DSS (an incremental update)
//!      ──► B-LTA: a document time-stamp over everything (another update);
//!                 `mohor extend` adds a fresh one later
//! ```
//!
//! Files: `tsa` (request and checks of time-stamps), `revocation` (OCSP and
//! CRL fetching and checks), `crl_cache` (CRLs kept while current, across
//! a batch), `certs` (signatures, chains, extensions),
//! `pades` and `cades` (the levels applied to PDFs and detached CMS). The
//! network is behind [`crate::net::HttpClient`], passed in like the clock.

pub mod cades;
pub mod certs;
pub mod crl_cache;
pub mod pades;
pub mod revocation;
pub mod tsa;

use der::Decode as _;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::error::{Error, Reason};
use crate::net::{HttpClient, NetError};
use crate::sign::DigestAlgorithm;

/// The baseline level of a signature (ETSI EN 319 142 / 319 122).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    #[default]
    BB,
    BT,
    BLT,
    BLTA,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_uppercase().as_str() {
            "B-B" => Some(Level::BB),
            "B-T" => Some(Level::BT),
            "B-LT" => Some(Level::BLT),
            "B-LTA" => Some(Level::BLTA),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::BB => "B-B",
            Level::BT => "B-T",
            Level::BLT => "B-LT",
            Level::BLTA => "B-LTA",
        }
    }

    /// Whether this level needs a time-stamp authority.
    pub fn needs_timestamp(self) -> bool {
        self >= Level::BT
    }
}

/// In reports and JSON a level is written as on the command line ("B-LT").
impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Level::parse(s).ok_or_else(|| format!("unknown level {s:?}: use B-B, B-T, B-LT or B-LTA"))
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LtvError {
    #[error("no time-stamp authority is configured")]
    NoTimestampAuthority,
    #[error("the time-stamp authority could not be used: {0}")]
    TimestampNet(NetError),
    #[error("the time-stamp was refused: {0}")]
    TimestampRefused(String),
    #[error("revocation information could not be fetched: {0}")]
    RevocationNet(NetError),
    #[error("revocation information was refused: {0}")]
    RevocationRefused(String),
    /// Whose certificate, and the revocation date its evidence states.
    #[error("the certificate of {0} is revoked")]
    Revoked(String, time::OffsetDateTime),
    #[error("the certificate chain of {0} does not reach a trusted root")]
    NoChain(String),
    #[error("{0}")]
    Internal(String),
}

impl From<der::Error> for LtvError {
    fn from(e: der::Error) -> Self {
        LtvError::Internal(format!("encoding: {e}"))
    }
}

impl From<LtvError> for Error {
    fn from(e: LtvError) -> Self {
        let msg = e.to_string();
        match e {
            LtvError::NoTimestampAuthority => Error::new(Reason::TimestampUnavailable, msg)
                .with_hint("set [timestamp] url in the configuration, or pass --tsa URL"),
            // Waiting does not mend a malformed address.
            LtvError::TimestampNet(NetError::BadUrl { .. }) => {
                Error::new(Reason::TimestampUnavailable, msg).with_hint(
                    "give the time-stamp service's address as http://… or https://… (--tsa URL, or [timestamp] url in the configuration)",
                )
            }
            LtvError::TimestampNet(_) | LtvError::TimestampRefused(_) => {
                Error::new(Reason::TimestampUnavailable, msg).with_hint(
                    "try again later, or ask your certifying authority for its time-stamp service address",
                )
            }
            LtvError::RevocationNet(_)
            | LtvError::RevocationRefused(_)
            | LtvError::NoChain(_) => Error::new(Reason::RevocationUnavailable, msg)
                .with_hint("try again later, or sign at level B-T (no revocation data)"),
            LtvError::Revoked(..) => Error::new(Reason::CertificateNotUsable, msg)
                .with_hint(
                    "if the certificate named is yours, it can no longer sign (ask your certifying authority); if it is the time-stamp service's or a CA's, tell the administrator",
                ),
            LtvError::Internal(_) => Error::internal(msg),
        }
    }
}

/// What long-term signing needs from outside: the network, the configured
/// time-stamp authority, the certificates trusted as roots (and met as
/// intermediates), and the time.
pub struct Ltv<'a> {
    pub http: &'a dyn HttpClient,
    pub tsa_url: Option<String>,
    /// Certificates the configuration and the token bring: the self-signed
    /// ones are the trust anchors, the rest may be intermediates.
    pub known: Vec<Certificate>,
    pub now: OffsetDateTime,
    /// CRLs kept from earlier signatures (a batch's, a running agent's);
    /// without one, a CRL is fetched once per document.
    pub crls: Option<&'a crl_cache::CrlCache>,
}

impl<'a> Ltv<'a> {
    /// Take CRLs from `crls` while they are current, and keep new ones there.
    pub fn with_crl_cache(mut self, crls: &'a crl_cache::CrlCache) -> Self {
        self.crls = Some(crls);
        self
    }

    pub fn new(
        http: &'a dyn HttpClient,
        tsa_url: Option<String>,
        known_der: &[Vec<u8>],
        now: OffsetDateTime,
    ) -> Ltv<'a> {
        Ltv {
            http,
            tsa_url,
            known: certs::parse_all(known_der),
            now,
            crls: None,
        }
    }

    pub fn anchors(&self) -> Vec<Certificate> {
        certs::anchors(&self.known)
    }

    /// Before the PIN: is what `level` needs configured and reachable?
    pub fn preflight(&self, level: Level) -> Result<(), LtvError> {
        if !level.needs_timestamp() {
            return Ok(());
        }
        let url = self
            .tsa_url
            .as_deref()
            .ok_or(LtvError::NoTimestampAuthority)?;
        self.http.reachable(url).map_err(LtvError::TimestampNet)
    }

    /// A checked time-stamp over `digest`.
    pub fn timestamp(&self, alg: DigestAlgorithm, digest: &[u8]) -> Result<tsa::Token, LtvError> {
        let url = self
            .tsa_url
            .as_deref()
            .ok_or(LtvError::NoTimestampAuthority)?;
        tsa::timestamp(
            self.http,
            url,
            alg,
            digest,
            &self.anchors(),
            &self.known,
            self.now,
        )
    }

    /// The chain of `leaf` to a trust anchor, through `extra` and the
    /// known certificates, for a certificate a document carries: current now,
    /// or [`Earlier::Expired`] when it chains to a trust anchor only while
    /// the leaf was still valid (a signer's certificate after its years,
    /// the TSA of an older time-stamp). Archive renewal exists for exactly
    /// those: their evidence was embedded while they were valid, and no
    /// responder answers for them now.
    pub fn chain_of_earlier(&self, leaf: &[u8], extra: &[Vec<u8>]) -> Result<Earlier, LtvError> {
        let cert = Certificate::from_der(leaf)
            .map_err(|e| LtvError::Internal(format!("a certificate is unreadable: {e}")))?;
        let mut pool = certs::parse_all(extra);
        pool.extend(self.known.iter().cloned());
        let anchors = self.anchors();
        let subject = cert.tbs_certificate.subject.to_string();
        if let Some(chain) = certs::chain_to_anchor(&cert, &pool, &anchors, self.now) {
            return Ok(Earlier::Current(chain));
        }
        let last_valid = certs::not_after(&cert);
        if last_valid < self.now
            && certs::chain_to_anchor(&cert, &pool, &anchors, last_valid).is_some()
        {
            return Ok(Earlier::Expired(subject));
        }
        Err(LtvError::NoChain(subject))
    }
}

/// What [`Ltv::chain_of_earlier`] found.
pub enum Earlier {
    /// Valid now: its revocation status can be fetched.
    Current(Vec<Certificate>),
    /// Expired since (its subject): it chained to a trust anchor while valid.
    Expired(String),
}

/// Room a signature time-stamp token takes in a PDF's `/Contents` (a
/// token with its TSA's chain is 3–7 KB; generous on purpose, since a
/// placeholder cannot grow once the document is hashed).
pub const TIMESTAMP_RESERVE: usize = 16 << 10;
