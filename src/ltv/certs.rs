//! Certificates as long-term validation needs them: signature checks,
//! issuer chains up to a trust anchor, the timeStamping key purpose, and
//! where a certificate says its revocation status is published (AIA OCSP,
//! CRL distribution points).

use const_oid::db::rfc5280::{
    ID_AD_OCSP, ID_CE_BASIC_CONSTRAINTS, ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE,
    ID_CE_KEY_USAGE, ID_KP_TIME_STAMPING, ID_PE_AUTHORITY_INFO_ACCESS,
};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage,
};
use x509_cert::Certificate;

use crate::sign::DigestAlgorithm;

/// Whether `signature` over `message` verifies with the key in `spki_der`.
/// `algorithm` is the signature algorithm; a bare `rsaEncryption` or
/// `ecPublicKey` (as CMS SignerInfos may name it) takes its digest from
/// `digest`. The check itself is the verifier's (RSA PKCS#1 v1.5 and PSS,
/// ECDSA on P-256 and P-384, SHA-1 to SHA-512): one implementation for
/// what Mohor embeds and what it verifies.
pub fn verify(
    spki_der: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    digest: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> bool {
    use crate::verify::crypto::{self, Hash, SigAlg};
    let Ok(identifier) = algorithm.to_der() else {
        return false;
    };
    let Ok(tlv) = crate::verify::ber::parse(&identifier) else {
        return false;
    };
    let Ok(alg) = SigAlg::from_identifier(&tlv) else {
        return false;
    };
    let fallback = digest.map_or(Hash::Sha256, Hash::from);
    let hash = alg.hash(fallback);
    crypto::verify(spki_der, alg, hash, &hash.digest(message), signature).is_ok()
}

/// Whether `issuer` signed `cert`.
pub fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let (Ok(tbs), Ok(spki)) = (
        cert.tbs_certificate.to_der(),
        issuer.tbs_certificate.subject_public_key_info.to_der(),
    ) else {
        return false;
    };
    let Some(sig) = cert.signature.as_bytes() else {
        return false;
    };
    verify(&spki, &cert.signature_algorithm, None, &tbs, sig)
}

fn self_signed(cert: &Certificate) -> bool {
    issued_by(cert, cert)
}

/// A time since the Unix epoch as a date (the epoch itself for one out of
/// range).
pub fn from_unix(since_epoch: std::time::Duration) -> OffsetDateTime {
    i64::try_from(since_epoch.as_secs())
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// An X.509 time (UTCTime or GeneralizedTime) as a date.
pub fn time_of(t: x509_cert::time::Time) -> OffsetDateTime {
    from_unix(t.to_unix_duration())
}

/// The last moment `cert` is valid.
pub fn not_after(cert: &Certificate) -> OffsetDateTime {
    time_of(cert.tbs_certificate.validity.not_after)
}

pub fn valid_at(cert: &Certificate, at: OffsetDateTime) -> bool {
    let v = &cert.tbs_certificate.validity;
    time_of(v.not_before) <= at && at <= time_of(v.not_after)
}

/// The chain from `leaf` (first) to a trust anchor (last) through
/// `intermediates` that may issue certificates (CAs, see `may_issue`), every
/// certificate valid at `at`; `None` if there is none. Anchors are
/// trusted as given.
pub fn chain_to_anchor(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: OffsetDateTime,
) -> Option<Vec<Certificate>> {
    let mut chain = vec![leaf.clone()];
    // A path longer than this is a loop or an attack, not a PKI.
    for _ in 0..8 {
        let last = chain.last()?;
        if !valid_at(last, at) {
            return None;
        }
        if anchors.iter().any(|a| a == last) {
            return Some(chain);
        }
        if let Some(anchor) = anchors.iter().find(|a| issued_by(last, a)) {
            if !valid_at(anchor, at) {
                return None;
            }
            chain.push(anchor.clone());
            return Some(chain);
        }
        if self_signed(last) {
            return None;
        }
        let next = intermediates
            .iter()
            .find(|c| !chain.contains(c) && may_issue(c) && issued_by(last, c))?;
        chain.push(next.clone());
    }
    None
}

/// RFC 5280 6.1.4 (k) and (n): a certificate that issues others in a path
/// is a CA (basicConstraints cA) and, where it states its key's uses,
/// may sign certificates. Without this any signing certificate under a
/// trusted root — every official's DSC, whose token signs whatever it is
/// given — could issue a "time-stamping authority" Mohor would accept, or
/// bring revocation addresses of its choosing into `mohor extend`.
/// Trust anchors are taken as configured (old v1 roots have no extensions).
fn may_issue(cert: &Certificate) -> bool {
    let signs_certificates = match extension(cert, ID_CE_KEY_USAGE) {
        None => true,
        Some(v) => KeyUsage::from_der(v).is_ok_and(|k| k.key_cert_sign()),
    };
    is_ca(cert) && signs_certificates
}

/// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): a delegated OCSP
/// responder's certificate whose own status a client need not check.
pub fn ocsp_nocheck(cert: &Certificate) -> bool {
    const ID_PKIX_OCSP_NOCHECK: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
    extension(cert, ID_PKIX_OCSP_NOCHECK).is_some()
}

/// basicConstraints cA: a CA's certificate, not an end entity's.
pub fn is_ca(cert: &Certificate) -> bool {
    extension(cert, ID_CE_BASIC_CONSTRAINTS)
        .and_then(|v| BasicConstraints::from_der(v).ok())
        .is_some_and(|b| b.ca)
}

/// Every certificate in `ders` that parses, anchors being the self-signed ones.
pub fn parse_all(ders: &[Vec<u8>]) -> Vec<Certificate> {
    ders.iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect()
}

/// Self-signed certificates among `certs`: the trust anchors a
/// configuration or a token's chain brings.
pub fn anchors(certs: &[Certificate]) -> Vec<Certificate> {
    certs.iter().filter(|c| self_signed(c)).cloned().collect()
}

pub(crate) fn extension(cert: &Certificate, oid: ObjectIdentifier) -> Option<&[u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

/// RFC 3161 §2.3: a TSA certificate has exactly the timeStamping purpose,
/// marked critical.
pub fn is_time_stamping_only(cert: &Certificate) -> bool {
    let Some(ext) = cert
        .tbs_certificate
        .extensions
        .as_ref()
        .and_then(|e| e.iter().find(|e| e.extn_id == ID_CE_EXT_KEY_USAGE))
    else {
        return false;
    };
    let Ok(eku) = ExtendedKeyUsage::from_der(ext.extn_value.as_bytes()) else {
        return false;
    };
    ext.critical && eku.0 == [ID_KP_TIME_STAMPING]
}

pub(crate) fn uri(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::UniformResourceIdentifier(u) => Some(u.as_str().to_string()),
        _ => None,
    }
}

/// http(s) OCSP responders the certificate names (AIA id-ad-ocsp).
pub fn ocsp_urls(cert: &Certificate) -> Vec<String> {
    let Some(aia) = extension(cert, ID_PE_AUTHORITY_INFO_ACCESS)
        .and_then(|d| AuthorityInfoAccessSyntax::from_der(d).ok())
    else {
        return vec![];
    };
    aia.0
        .iter()
        .filter(|a| a.access_method == ID_AD_OCSP)
        .filter_map(|a| uri(&a.access_location))
        .filter(|u| is_http(u))
        .collect()
}

/// http(s) CRL distribution points the certificate names.
pub fn crl_urls(cert: &Certificate) -> Vec<String> {
    let Some(dps) = extension(cert, ID_CE_CRL_DISTRIBUTION_POINTS)
        .and_then(|d| CrlDistributionPoints::from_der(d).ok())
    else {
        return vec![];
    };
    let mut out = Vec::new();
    for dp in dps.0 {
        if let Some(DistributionPointName::FullName(names)) = dp.distribution_point {
            out.extend(names.iter().filter_map(uri).filter(|u| is_http(u)));
        }
    }
    out
}

fn is_http(u: &str) -> bool {
    let l = u.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// The certificate's issuer among `candidates`, by signature.
pub fn find_issuer<'a>(
    cert: &Certificate,
    candidates: &'a [Certificate],
) -> Option<&'a Certificate> {
    candidates.iter().find(|c| issued_by(cert, c))
}
