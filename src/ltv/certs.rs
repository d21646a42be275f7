//! Certificates as long-term validation needs them: signature checks,
//! issuer chains up to a trust anchor, the timeStamping key purpose, and
//! where a certificate says its revocation status is published (AIA OCSP,
//! CRL distribution points).

use const_oid::db::rfc5280::{
    ID_AD_OCSP, ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE, ID_KP_TIME_STAMPING,
    ID_PE_AUTHORITY_INFO_ACCESS,
};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints, ExtendedKeyUsage};
use x509_cert::Certificate;

use crate::sign::DigestAlgorithm;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Whether `signature` over `message` verifies with the key in `spki_der`.
/// `algorithm` is the signature algorithm; a bare `rsaEncryption` (as CMS
/// SignerInfos name it) takes its digest from `digest`.
pub fn verify(
    spki_der: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    digest: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let oid = algorithm.oid;
    let rsa_digest = match oid {
        SHA256_WITH_RSA => Some(DigestAlgorithm::Sha256),
        SHA384_WITH_RSA => Some(DigestAlgorithm::Sha384),
        SHA512_WITH_RSA => Some(DigestAlgorithm::Sha512),
        RSA_ENCRYPTION => digest,
        _ => None,
    };
    if let Some(d) = rsa_digest {
        return verify_rsa(spki_der, d, message, signature);
    }
    let ec_digest = match oid {
        ECDSA_WITH_SHA256 => DigestAlgorithm::Sha256,
        ECDSA_WITH_SHA384 => DigestAlgorithm::Sha384,
        ECDSA_WITH_SHA512 => DigestAlgorithm::Sha512,
        _ => return false,
    };
    verify_ecdsa(spki_der, ec_digest, message, signature)
}

fn verify_rsa(spki_der: &[u8], digest: DigestAlgorithm, message: &[u8], sig: &[u8]) -> bool {
    use rsa::pkcs8::DecodePublicKey as _;
    let Ok(key) = rsa::RsaPublicKey::from_public_key_der(spki_der) else {
        return false;
    };
    let hashed = digest.digest(message);
    let scheme = match digest {
        DigestAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        DigestAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
        DigestAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
    };
    key.verify(scheme, &hashed, sig).is_ok()
}

fn verify_ecdsa(spki_der: &[u8], digest: DigestAlgorithm, message: &[u8], sig: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
    let Ok(spki) = spki::SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return false;
    };
    if spki.algorithm.oid != EC_PUBLIC_KEY {
        return false;
    }
    let curve = spki
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let hashed = digest.digest(message);
    let point = spki.subject_public_key.raw_bytes();
    match curve {
        Some(P256) => {
            let (Ok(key), Ok(s)) = (
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point),
                p256::ecdsa::Signature::from_der(sig),
            ) else {
                return false;
            };
            key.verify_prehash(&hashed, &s).is_ok()
        }
        Some(P384) => {
            let (Ok(key), Ok(s)) = (
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point),
                p384::ecdsa::Signature::from_der(sig),
            ) else {
                return false;
            };
            key.verify_prehash(&hashed, &s).is_ok()
        }
        _ => false,
    }
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

pub fn valid_at(cert: &Certificate, at: OffsetDateTime) -> bool {
    let v = &cert.tbs_certificate.validity;
    let t = at.unix_timestamp();
    let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
    secs(v.not_before) <= t && t <= secs(v.not_after)
}

/// The chain from `leaf` (first) to a trust anchor (last) through
/// `intermediates`, every certificate valid at `at`; `None` if there is
/// none. Anchors are trusted as given.
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
            .find(|c| !chain.contains(c) && issued_by(last, c))?;
        chain.push(next.clone());
    }
    None
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

fn extension(cert: &Certificate, oid: ObjectIdentifier) -> Option<&[u8]> {
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

fn uri(name: &GeneralName) -> Option<String> {
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
