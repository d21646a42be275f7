//! What a certificate says, and whether it may sign: pure functions over DER.
//!
//! Real DSC tokens often hold an encryption-only certificate with the same
//! name as the signing one, expired certificates from last year's DSC, and CA
//! certificates. Only a certificate that can sign *and* has its key on the
//! token is ever offered for signing; every other one says why not.

use std::fmt;

use ::time::OffsetDateTime;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::*;

/// India's CCA certificate classes, from the certificate policy OIDs
/// (CCA "Identity Verification Guidelines": 2.16.356.100.2.x).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CcaClass {
    Class1,
    Class2,
    Class3,
    DocumentSigner,
}

impl CcaClass {
    fn from_policy(oid: &str) -> Option<Self> {
        let under = |prefix: &str| oid == prefix || oid.starts_with(&format!("{prefix}."));
        if under("2.16.356.100.2.3") {
            Some(CcaClass::Class3)
        } else if under("2.16.356.100.2.2") {
            Some(CcaClass::Class2)
        } else if under("2.16.356.100.2.1") {
            Some(CcaClass::Class1)
        } else if under("2.16.356.100.10.1") {
            Some(CcaClass::DocumentSigner)
        } else {
            None
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CcaClass::Class1 => "Class 1",
            CcaClass::Class2 => "Class 2",
            CcaClass::Class3 => "Class 3",
            CcaClass::DocumentSigner => "Document Signer",
        }
    }

    /// Parse a filter value (`"3"`, `"class3"`, `"class-3"`, `"document-signer"`).
    pub fn parse(s: &str) -> Option<Self> {
        let norm: String = s
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        match norm.as_str() {
            "1" | "class1" => Some(CcaClass::Class1),
            "2" | "class2" => Some(CcaClass::Class2),
            "3" | "class3" => Some(CcaClass::Class3),
            "documentsigner" | "docsigner" => Some(CcaClass::DocumentSigner),
            _ => None,
        }
    }
}

/// The facts a person (and a filter) needs about one certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertFacts {
    pub subject_cn: String,
    pub subject_dn: String,
    pub issuer_cn: String,
    pub issuer_dn: String,
    /// Hex, uppercase, no separators.
    pub serial: String,
    #[serde(with = "::time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "::time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// e.g. `digitalSignature`, `nonRepudiation`, `keyEncipherment`.
    pub key_usage: Vec<String>,
    /// Dotted OIDs, or well-known names.
    pub extended_key_usage: Vec<String>,
    pub policies: Vec<String>,
    pub cca_class: Option<CcaClass>,
    /// The subject `serialNumber` when it holds a SHA-256 hash of the PAN (64 hex chars).
    pub pan_hash: Option<String>,
    pub is_ca: bool,
    /// `RSA-2048`, `EC P-256`, ...
    pub key_algorithm: String,
    /// SHA-256 of the DER, hex lowercase.
    pub fingerprint_sha256: String,
}

impl CertFacts {
    /// The short id used by `--cert` and `certificateId`: stable across runs
    /// and machines because it is derived from the certificate itself.
    pub fn id(&self) -> String {
        self.fingerprint_sha256[..16].to_string()
    }

    pub fn can_sign_by_key_usage(&self) -> bool {
        // No keyUsage extension means no restriction (RFC 5280 §4.2.1.3).
        self.key_usage.is_empty()
            || self
                .key_usage
                .iter()
                .any(|u| u == "digitalSignature" || u == "nonRepudiation")
    }

    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("not a readable X.509 certificate: {0}")]
pub struct BadCertificate(pub String);

/// Read the facts of a DER certificate.
pub fn facts(der: &[u8]) -> Result<CertFacts, BadCertificate> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| BadCertificate(e.to_string()))?;
    if !rest.is_empty() {
        return Err(BadCertificate(
            "trailing bytes after the certificate".into(),
        ));
    }
    let subject = cert.subject();
    let issuer = cert.issuer();
    let key_usage = match cert.key_usage() {
        Ok(Some(ku)) => key_usage_names(ku.value),
        Ok(None) => vec![],
        Err(e) => return Err(BadCertificate(format!("keyUsage: {e}"))),
    };
    let extended_key_usage = match cert.extended_key_usage() {
        Ok(Some(eku)) => eku_names(eku.value),
        Ok(None) => vec![],
        Err(e) => return Err(BadCertificate(format!("extendedKeyUsage: {e}"))),
    };
    let mut policies = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CertificatePolicies(p) = ext.parsed_extension() {
            policies.extend(p.iter().map(|pi| pi.policy_id.to_id_string()));
        }
    }
    let cca_class = policies
        .iter()
        .filter_map(|p| CcaClass::from_policy(p))
        .max_by_key(|c| match c {
            CcaClass::Class1 => 1,
            CcaClass::Class2 => 2,
            CcaClass::Class3 => 3,
            CcaClass::DocumentSigner => 0,
        });
    let pan_hash = subject
        .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
        .filter_map(|a| a.as_str().ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .find(|s| s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()));
    let to_time = |t: ASN1Time| t.to_datetime();
    Ok(CertFacts {
        subject_cn: first_cn(subject),
        subject_dn: subject.to_string(),
        issuer_cn: first_cn(issuer),
        issuer_dn: issuer.to_string(),
        serial: hex::encode_upper(cert.raw_serial()),
        not_before: to_time(cert.validity().not_before),
        not_after: to_time(cert.validity().not_after),
        key_usage,
        extended_key_usage,
        policies,
        cca_class,
        pan_hash,
        is_ca: cert.is_ca(),
        key_algorithm: key_algorithm(cert.public_key()),
        fingerprint_sha256: hex::encode(crate::sign::DigestAlgorithm::Sha256.digest(der)),
    })
}

fn first_cn(name: &X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| name.to_string())
}

fn key_usage_names(ku: &KeyUsage) -> Vec<String> {
    let table: [(bool, &str); 9] = [
        (ku.digital_signature(), "digitalSignature"),
        (ku.non_repudiation(), "nonRepudiation"),
        (ku.key_encipherment(), "keyEncipherment"),
        (ku.data_encipherment(), "dataEncipherment"),
        (ku.key_agreement(), "keyAgreement"),
        (ku.key_cert_sign(), "keyCertSign"),
        (ku.crl_sign(), "cRLSign"),
        (ku.encipher_only(), "encipherOnly"),
        (ku.decipher_only(), "decipherOnly"),
    ];
    table
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, n)| n.to_string())
        .collect()
}

fn eku_names(eku: &ExtendedKeyUsage<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let named = [
        (eku.any, "anyExtendedKeyUsage"),
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ];
    out.extend(named.iter().filter(|(s, _)| *s).map(|(_, n)| n.to_string()));
    out.extend(eku.other.iter().map(Oid::to_id_string));
    out
}

fn key_algorithm(spki: &SubjectPublicKeyInfo<'_>) -> String {
    match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("RSA-{}", rsa.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| match o.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_string(),
                    "1.3.132.0.34" => "P-384".to_string(),
                    "1.3.132.0.35" => "P-521".to_string(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "unknown curve".into());
            format!("EC {curve}")
        }
        _ => spki.algorithm.algorithm.to_id_string(),
    }
}

/// Why a certificate is not offered for signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotUsable {
    /// keyUsage allows neither digitalSignature nor nonRepudiation.
    NotForSigning,
    Expired,
    NotYetValid,
    /// No private key on the token with the certificate's CKA_ID.
    NoPrivateKey,
    /// A CA certificate (part of the chain, not a signer).
    CaCertificate,
}

impl fmt::Display for NotUsable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotUsable::NotForSigning => {
                "its key usage does not allow signing (an encryption certificate)"
            }
            NotUsable::Expired => "it has expired",
            NotUsable::NotYetValid => "it is not valid yet",
            NotUsable::NoPrivateKey => "its private key is not on the token",
            NotUsable::CaCertificate => "it is a CA certificate",
        })
    }
}

/// Every reason the certificate may not sign now; empty = usable.
pub fn usability(facts: &CertFacts, has_key: bool, now: OffsetDateTime) -> Vec<NotUsable> {
    let mut why = Vec::new();
    if facts.is_ca {
        why.push(NotUsable::CaCertificate);
    }
    if !facts.is_ca && !facts.can_sign_by_key_usage() {
        why.push(NotUsable::NotForSigning);
    }
    if now > facts.not_after {
        why.push(NotUsable::Expired);
    }
    if now < facts.not_before {
        why.push(NotUsable::NotYetValid);
    }
    if !has_key {
        why.push(NotUsable::NoPrivateKey);
    }
    why
}

/// The CA certificates to embed after `leaf`, nearest first, picked from
/// `pool` by matching issuer to subject (the token's own CA certificates and
/// any configured ones). Stops at a self-signed certificate or a gap, and
/// never loops.
pub fn build_chain(leaf: &[u8], pool: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let parsed: Vec<(&Vec<u8>, X509Certificate<'_>)> = pool
        .iter()
        .filter_map(|der| X509Certificate::from_der(der).ok().map(|(_, c)| (der, c)))
        .filter(|(_, c)| c.is_ca())
        .collect();
    let mut chain: Vec<Vec<u8>> = Vec::new();
    let Ok((_, mut current)) = X509Certificate::from_der(leaf) else {
        return chain;
    };
    while current.issuer().as_raw() != current.subject().as_raw() {
        let next = parsed.iter().find(|(der, c)| {
            c.subject().as_raw() == current.issuer().as_raw() && !chain.contains(der)
        });
        match next {
            Some((der, c)) => {
                chain.push((*der).clone());
                current = c.clone();
            }
            None => break,
        }
        if chain.len() > 8 {
            break;
        }
    }
    chain
}

/// SHA-256 of a PAN as CCA certificates carry it (uppercase PAN, hex digest).
pub fn pan_hash(pan: &str) -> String {
    hex::encode(
        crate::sign::DigestAlgorithm::Sha256.digest(pan.trim().to_ascii_uppercase().as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cca_policy_oids_map_to_classes() {
        assert_eq!(
            CcaClass::from_policy("2.16.356.100.2.3"),
            Some(CcaClass::Class3)
        );
        assert_eq!(
            CcaClass::from_policy("2.16.356.100.2.3.1"),
            Some(CcaClass::Class3)
        );
        assert_eq!(
            CcaClass::from_policy("2.16.356.100.2.2"),
            Some(CcaClass::Class2)
        );
        assert_eq!(
            CcaClass::from_policy("2.16.356.100.10.1"),
            Some(CcaClass::DocumentSigner)
        );
        // A lookalike prefix is not a sub-arc.
        assert_eq!(CcaClass::from_policy("2.16.356.100.2.30"), None);
        assert_eq!(CcaClass::from_policy("1.2.3"), None);
    }

    #[test]
    fn class_filters_accept_common_spellings() {
        for s in ["3", "class3", "Class 3", "class-3"] {
            assert_eq!(CcaClass::parse(s), Some(CcaClass::Class3), "{s}");
        }
        assert_eq!(CcaClass::parse("four"), None);
    }

    #[test]
    fn pan_hash_is_case_insensitive() {
        assert_eq!(pan_hash("abcps1234d"), pan_hash("ABCPS1234D "));
    }

    #[test]
    fn garbage_is_a_typed_error_not_a_panic() {
        assert!(facts(b"").is_err());
        assert!(facts(&[0x30, 0x82, 0xff, 0xff, 0x00]).is_err());
    }
}
