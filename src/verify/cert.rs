//! The facts verification needs from an X.509 certificate: names (raw, for
//! matching; CN, for people), key identifiers, validity, key usage, and the
//! signed part with its signature for checking who issued it.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

use super::ber::{self, Tlv};
use super::crypto::{self, Hash, SigAlg};

#[derive(Debug, Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
    pub serial_raw: Vec<u8>,
    /// Subject common name, else the whole subject as text.
    pub cn: String,
    pub issuer_cn: String,
    pub ski: Option<Vec<u8>>,
    pub aki: Option<Vec<u8>>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub is_ca: bool,
    /// basicConstraints' pathLenConstraint: how many CA certificates (not
    /// self-issued) may stand below this one in a path.
    pub path_len: Option<u32>,
    /// (digitalSignature, nonRepudiation, keyCertSign) when the extension is present.
    pub key_usage: Option<(bool, bool, bool)>,
    /// Extended key usage OIDs, when present.
    pub ext_key_usage: Option<Vec<String>>,
    pub spki_der: Vec<u8>,
    tbs_raw: Vec<u8>,
    sig_alg_der: Vec<u8>,
    signature: Vec<u8>,
}

/// What a certificate's signature is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A signature over a document or data (PDF field, detached CMS).
    Document,
    /// A time-stamp token (RFC 3161), signed by a time-stamping authority.
    Timestamp,
}

/// Extended key usages that allow signing documents: any purpose, e-mail
/// protection (S/MIME, what most DSCs carry), document signing (RFC 9336),
/// Adobe's Authentic Documents Trust and Microsoft's Document Signing.
const DOCUMENT_SIGNING_EKUS: &[&str] = &[
    "2.5.29.37.0",
    "1.3.6.1.5.5.7.3.4",
    "1.3.6.1.5.5.7.3.36",
    "1.2.840.113583.1.1.5",
    "1.3.6.1.4.1.311.10.3.12",
];

/// id-kp-timeStamping.
const TIME_STAMPING_EKU: &str = "1.3.6.1.5.5.7.3.8";

/// A person's word for an extended key usage OID (the OID when unknown).
fn eku_name(oid: &str) -> &str {
    match oid {
        "1.3.6.1.5.5.7.3.1" => "TLS server",
        "1.3.6.1.5.5.7.3.2" => "TLS client",
        "1.3.6.1.5.5.7.3.3" => "code signing",
        TIME_STAMPING_EKU => "time-stamping",
        "1.3.6.1.5.5.7.3.9" => "OCSP signing",
        other => other,
    }
}

impl Cert {
    pub fn parse(der: &[u8]) -> Result<Cert, String> {
        let (_, x) =
            X509Certificate::from_der(der).map_err(|e| format!("unreadable certificate: {e}"))?;
        let outer = ber::parse(der).map_err(|e| e.to_string())?;
        let tbs = outer
            .child(0, "tbsCertificate")
            .map_err(|e| e.to_string())?;
        let alg = outer
            .child(1, "signatureAlgorithm")
            .map_err(|e| e.to_string())?;
        let sig = outer
            .child(2, "signature")
            .and_then(|s| s.bytes("signature"))
            .map_err(|e| e.to_string())?;
        let mut c = Cert {
            der: der.to_vec(),
            subject_raw: x.subject().as_raw().to_vec(),
            issuer_raw: x.issuer().as_raw().to_vec(),
            serial_raw: x.raw_serial().to_vec(),
            cn: common_name(x.subject()),
            issuer_cn: common_name(x.issuer()),
            ski: None,
            aki: None,
            not_before: x.validity().not_before.to_datetime(),
            not_after: x.validity().not_after.to_datetime(),
            is_ca: false,
            path_len: None,
            key_usage: None,
            ext_key_usage: None,
            spki_der: x.public_key().raw.to_vec(),
            tbs_raw: tbs.raw.to_vec(),
            sig_alg_der: alg.raw.to_vec(),
            signature: sig.get(1..).unwrap_or_default().to_vec(),
        };
        for ext in x.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => c.ski = Some(k.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    c.aki = a.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                ParsedExtension::BasicConstraints(b) => {
                    c.is_ca = b.ca;
                    c.path_len = b.path_len_constraint;
                }
                ParsedExtension::KeyUsage(k) => {
                    c.key_usage = Some((
                        k.digital_signature(),
                        k.non_repudiation(),
                        k.key_cert_sign(),
                    ))
                }
                ParsedExtension::ExtendedKeyUsage(e) => {
                    let mut oids: Vec<String> = e.other.iter().map(|o| o.to_id_string()).collect();
                    if e.any {
                        oids.push("2.5.29.37.0".into());
                    }
                    if e.email_protection {
                        oids.push("1.3.6.1.5.5.7.3.4".into());
                    }
                    if e.time_stamping {
                        oids.push("1.3.6.1.5.5.7.3.8".into());
                    }
                    if e.client_auth {
                        oids.push("1.3.6.1.5.5.7.3.2".into());
                    }
                    if e.code_signing {
                        oids.push("1.3.6.1.5.5.7.3.3".into());
                    }
                    if e.server_auth {
                        oids.push("1.3.6.1.5.5.7.3.1".into());
                    }
                    if e.ocsp_signing {
                        oids.push("1.3.6.1.5.5.7.3.9".into());
                    }
                    c.ext_key_usage = Some(oids);
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// Is `self` the certificate that `other` names as its issuer? By name
    /// and, when both carry one, by key identifier.
    pub fn could_issue(&self, child: &Cert) -> bool {
        if self.subject_raw != child.issuer_raw {
            return false;
        }
        match (&child.aki, &self.ski) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        }
    }

    /// Does `issuer`'s key verify this certificate's signature?
    pub fn signed_by(&self, issuer: &Cert) -> Result<(), String> {
        let alg_tlv = ber::parse(&self.sig_alg_der).map_err(|e| e.to_string())?;
        let alg = SigAlg::from_identifier(&alg_tlv)?;
        let hash = alg.hash(Hash::Sha256);
        crypto::verify(
            &issuer.spki_der,
            alg,
            hash,
            &hash.digest(&self.tbs_raw),
            &self.signature,
        )
    }

    pub fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    /// The same certificate, or the same subject with the same key (a
    /// re-issued root is still the same anchor).
    pub fn same_entity(&self, other: &Cert) -> bool {
        self.der == other.der
            || (self.subject_raw == other.subject_raw && self.spki_der == other.spki_der)
    }

    pub fn valid_at(&self, t: OffsetDateTime) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// Why this certificate may not make `purpose`'s signatures, if it may
    /// not: its key usage must allow signatures (digitalSignature or
    /// nonRepudiation); for documents, an extended key usage, when present,
    /// must name a document-signing purpose too (a certificate its CA
    /// restricted to TLS servers or to time-stamping signs no documents:
    /// openssl's and poppler's rule as well); for time-stamp tokens, it
    /// must be there and name time-stamping (a person's DSC makes no
    /// timestamps: pyHanko's and openssl's rule).
    pub fn unfit_for(&self, purpose: Purpose) -> Option<String> {
        if let Some((ds, nr, _)) = self.key_usage {
            if !(ds || nr) {
                return Some(format!(
                    "the certificate of {} is not meant for signatures (key usage)",
                    self.cn
                ));
            }
        }
        match (purpose, &self.ext_key_usage) {
            (Purpose::Document, Some(ekus))
                if !ekus.iter().any(|e| DOCUMENT_SIGNING_EKUS.contains(&e.as_str())) =>
            {
                Some(format!(
                    "the certificate of {} is not meant for signing documents (extended key usage: {})",
                    self.cn,
                    ekus.iter()
                        .map(String::as_str)
                        .map(eku_name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
            // RFC 3161 §2.3: a TSA's certificate names time-stamping as its
            // extended key usage; any other certificate's token is anyone's word.
            (Purpose::Timestamp, ekus)
                if !ekus
                    .as_ref()
                    .is_some_and(|e| e.iter().any(|x| x == TIME_STAMPING_EKU)) =>
            {
                Some(format!(
                    "the certificate of {} is not a time-stamping authority's (extended key usage)",
                    self.cn
                ))
            }
            _ => None,
        }
    }

    pub fn matches_sid(&self, sid: &Tlv<'_>) -> bool {
        if sid.tag.is(ber::CONTEXT, 0) {
            let Ok(ski) = sid.bytes("subject key identifier") else {
                return false;
            };
            return self.ski.as_deref() == Some(ski);
        }
        let (Ok(issuer), Ok(serial)) = (sid.child(0, "issuer"), sid.child(1, "serial")) else {
            return false;
        };
        issuer.raw == self.issuer_raw.as_slice()
            && serial.bytes("serial").ok() == Some(self.serial_raw.as_slice())
    }
}

fn common_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| name.to_string())
}
