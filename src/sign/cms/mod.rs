//! CMS SignedData (RFC 5652) in the CAdES baseline-B shape, detached.
//!
//! One code path builds every signature Mohor makes: a detached `.p7s`
//! (CAdES-B: with `signingTime`), a PAdES signature (B-B: no `signingTime`,
//! the time travels in the PDF's `/M`), a signature over a digest the caller
//! computed (`sign.hash`), and a co-signature added to an existing file.
//!
//! The SignerInfo is built with the RustCrypto `cms` types. The SignedData
//! around it is assembled from raw DER elements on purpose: co-signing must
//! keep every earlier SignerInfo and certificate byte-identical and in its
//! original order, and a decode/re-encode through `SetOfVec` would re-sort
//! them (DER `SET OF` order), which is legal BER but not what a person
//! comparing files, or a strict archive, expects.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use const_oid::db::rfc5911::{ID_DATA, ID_MESSAGE_DIGEST};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString};
use der::{Decode, Encode, Tag};
use time::OffsetDateTime;
use x509_cert::Certificate;

mod attributes;
mod raw;

use super::{DigestAlgorithm, SignError, Signer};
use attributes::{
    attribute, digest_algorithm_identifier, signature_algorithm_identifier, signed_attributes,
};
use raw::{tlv, SignedDataParts};

/// Which flavour of signed attributes to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmsProfile {
    /// `Some` adds the `signingTime` attribute (CAdES-B for detached files).
    /// `None` leaves it out, as PAdES B-B requires (the time is in `/M`).
    pub signing_time: Option<OffsetDateTime>,
}

impl CmsProfile {
    pub fn cades(now: OffsetDateTime) -> Self {
        CmsProfile {
            signing_time: Some(now),
        }
    }

    pub fn pades() -> Self {
        CmsProfile { signing_time: None }
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CmsError {
    #[error("the certificate could not be read: {0}")]
    BadCertificate(String),
    #[error("the digest is {got} bytes, but {alg} needs {want}")]
    DigestLength {
        alg: &'static str,
        got: usize,
        want: usize,
    },
    #[error("the existing signature file is not a detached CMS SignedData: {0}")]
    BadExisting(String),
    #[error(
        "the data does not match the existing signature (signer {index} signed other content)"
    )]
    ContentMismatch { index: usize },
    #[error("this certificate has already signed this file")]
    AlreadySigned,
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("could not encode the signature: {0}")]
    Encoding(String),
}

impl From<der::Error> for CmsError {
    fn from(e: der::Error) -> Self {
        CmsError::Encoding(e.to_string())
    }
}

impl From<CmsError> for crate::Error {
    fn from(e: CmsError) -> Self {
        use crate::error::Reason;
        match e {
            CmsError::Sign(s) => s.into(),
            CmsError::BadCertificate(_) => crate::Error::new(Reason::CertificateNotUsable, e.to_string())
                .with_hint("choose another certificate"),
            CmsError::DigestLength { .. } => crate::Error::invalid_request(e.to_string()),
            CmsError::BadExisting(_) | CmsError::ContentMismatch { .. } | CmsError::AlreadySigned => {
                crate::Error::new(Reason::DocumentRefused, e.to_string()).with_hint(
                    "co-sign with the same data file the earlier signers signed, and the .p7s they produced",
                )
            }
            CmsError::Encoding(_) => crate::Error::internal(e.to_string()),
        }
    }
}

/// A detached SignedData over content whose digest (with the signer's digest
/// algorithm) is `content_digest`. Returns DER `ContentInfo`.
pub fn sign_digest(
    signer: &mut dyn Signer,
    content_digest: &[u8],
    profile: &CmsProfile,
) -> Result<Vec<u8>, CmsError> {
    let digest = signer.algorithm().digest();
    check_digest_len(digest, content_digest)?;
    let signer_info = build_signer_info(signer, content_digest, profile)?;
    let mut certs = vec![signer.certificate().to_vec()];
    certs.extend(signer.chain().iter().cloned());
    let parts = SignedDataParts {
        version: 1,
        digest_algorithms: vec![digest_algorithm_identifier(digest).to_der()?],
        encap_content_info: detached_data_encap()?,
        certificates: certs,
        crls: None,
        signer_infos: vec![signer_info],
    };
    parts.to_content_info()
}

/// Add `signer` to an existing detached SignedData. `digest_of` returns the
/// digest of the signed content for a given algorithm (every earlier signer is
/// checked against it). Earlier SignerInfos and certificates are kept
/// byte-identical and in order; the new ones are appended.
pub fn cosign(
    existing: &[u8],
    signer: &mut dyn Signer,
    digest_of: &mut dyn FnMut(DigestAlgorithm) -> Vec<u8>,
    profile: &CmsProfile,
) -> Result<Vec<u8>, CmsError> {
    let mut parts = SignedDataParts::parse(existing)?;
    let new_cert = signer.certificate().to_vec();
    check_existing_signers(&parts, Some(&new_cert), digest_of)?;
    let digest = signer.algorithm().digest();
    let content_digest = digest_of(digest);
    let signer_info = build_signer_info(signer, &content_digest, profile)?;
    let alg_der = digest_algorithm_identifier(digest).to_der()?;
    if !parts.digest_algorithms.contains(&alg_der) {
        parts.digest_algorithms.push(alg_der);
    }
    let mut new_certs = vec![new_cert];
    new_certs.extend(signer.chain().iter().cloned());
    for cert in new_certs {
        if !parts.certificates.contains(&cert) {
            parts.certificates.push(cert);
        }
    }
    parts.signer_infos.push(signer_info);
    parts.to_content_info()
}

/// Check, before anyone is asked for a PIN, that `existing` is a detached
/// SignedData whose every signer signed the content `digest_of` describes.
pub fn check_cosign_content(
    existing: &[u8],
    digest_of: &mut dyn FnMut(DigestAlgorithm) -> Vec<u8>,
) -> Result<(), CmsError> {
    let parts = SignedDataParts::parse(existing)?;
    check_existing_signers(&parts, None, digest_of)
}

/// Every earlier signer signed this content (and, with `new_cert`, none of
/// them is the certificate about to sign).
fn check_existing_signers(
    parts: &SignedDataParts,
    new_cert: Option<&[u8]>,
    digest_of: &mut dyn FnMut(DigestAlgorithm) -> Vec<u8>,
) -> Result<(), CmsError> {
    for (index, raw) in parts.signer_infos.iter().enumerate() {
        let info = SignerInfo::from_der(raw).map_err(|e| CmsError::BadExisting(e.to_string()))?;
        let alg = DigestAlgorithm::from_oid(&info.digest_alg.oid).ok_or_else(|| {
            CmsError::BadExisting(format!(
                "signer {index} uses unsupported digest {}",
                info.digest_alg.oid
            ))
        })?;
        let signed = message_digest_attribute(&info)
            .ok_or_else(|| CmsError::BadExisting(format!("signer {index} has no messageDigest")))?;
        if signed != digest_of(alg) {
            return Err(CmsError::ContentMismatch { index });
        }
        if let Some(cert) = new_cert {
            if signer_matches_certificate(&info, cert)? {
                return Err(CmsError::AlreadySigned);
            }
        }
    }
    Ok(())
}

/// Upper bound of the DER size `sign_digest` produces for this signer (sizes
/// the `/Contents` placeholder of a PDF). Deliberately generous in the
/// attribute allowance; exact in what varies with the signer.
pub fn max_encoded_len(signer: &dyn Signer) -> usize {
    max_encoded_len_for(
        signer.certificate(),
        signer.chain(),
        signer.max_signature_len(),
    )
}

/// [`max_encoded_len`] before there is a signer: from the certificate, the
/// chain that goes with it and the longest signature its key makes. A PDF
/// can be laid out and hashed while the PIN is still being checked.
pub fn max_encoded_len_for(
    certificate: &[u8],
    chain: &[Vec<u8>],
    max_signature_len: usize,
) -> usize {
    let certs: usize = certificate.len() + chain.iter().map(Vec::len).sum::<usize>();
    // Issuer name appears in the SignerInfo and in signingCertificateV2.
    let issuer_len = Certificate::from_der(certificate)
        .ok()
        .and_then(|c| c.tbs_certificate.issuer.to_der().ok())
        .map(|d| d.len())
        .unwrap_or(1024);
    // Attributes, algorithm identifiers, serials and TLV headers.
    const FIXED_OVERHEAD: usize = 1024;
    certs + 2 * issuer_len + max_signature_len + FIXED_OVERHEAD
}

/// The DER of each SignerInfo of a SignedData, in file order.
pub fn raw_signer_infos(der: &[u8]) -> Result<Vec<Vec<u8>>, CmsError> {
    Ok(SignedDataParts::parse(der)?.signer_infos)
}

/// id-aa-signatureTimeStampToken (RFC 3161 appendix A, CAdES-T).
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// The signature value of the SignerInfo at `index` (what a signature
/// time-stamp is taken over).
pub fn signature_value(der: &[u8], index: usize) -> Result<Vec<u8>, CmsError> {
    let parts = SignedDataParts::parse(der)?;
    let raw = parts
        .signer_infos
        .get(index)
        .ok_or_else(|| CmsError::BadExisting(format!("there is no signer {index}")))?;
    let info = SignerInfo::from_der(raw).map_err(|e| CmsError::BadExisting(e.to_string()))?;
    Ok(info.signature.as_bytes().to_vec())
}

/// Add an unsigned attribute to the SignerInfo at `index`, keeping every
/// other SignerInfo and certificate byte-identical (a co-signature must not
/// disturb an earlier signer's time-stamp). `value_der` is one DER value.
pub fn add_unsigned_attribute(
    der: &[u8],
    index: usize,
    oid: ObjectIdentifier,
    value_der: &[u8],
) -> Result<Vec<u8>, CmsError> {
    let mut parts = SignedDataParts::parse(der)?;
    let raw = parts
        .signer_infos
        .get_mut(index)
        .ok_or_else(|| CmsError::BadExisting(format!("there is no signer {index}")))?;
    let mut info = SignerInfo::from_der(raw).map_err(|e| CmsError::BadExisting(e.to_string()))?;
    let value = Any::from_der(value_der)?;
    let mut attrs = info.unsigned_attrs.take().unwrap_or_default();
    attrs.insert(attribute(oid, value)?)?;
    info.unsigned_attrs = Some(attrs);
    *raw = info.to_der()?;
    parts.to_content_info()
}

/// How many SignerInfos the SignedData has.
pub fn signer_count(der: &[u8]) -> Result<usize, CmsError> {
    Ok(SignedDataParts::parse(der)?.signer_infos.len())
}

/// The certificates a SignedData carries, DER, in file order.
pub fn certificates(der: &[u8]) -> Result<Vec<Vec<u8>>, CmsError> {
    Ok(SignedDataParts::parse(der)?.certificates)
}

/// The messageDigest attribute of a SignerInfo, if present.
pub fn message_digest_attribute(info: &SignerInfo) -> Option<Vec<u8>> {
    let attrs = info.signed_attrs.as_ref()?;
    let attr = attrs.iter().find(|a| a.oid == ID_MESSAGE_DIGEST)?;
    let value = attr.values.iter().next()?;
    let os = value.decode_as::<OctetString>().ok()?;
    Some(os.as_bytes().to_vec())
}

fn check_digest_len(alg: DigestAlgorithm, digest: &[u8]) -> Result<(), CmsError> {
    if digest.len() != alg.len() {
        return Err(CmsError::DigestLength {
            alg: alg.name(),
            got: digest.len(),
            want: alg.len(),
        });
    }
    Ok(())
}

fn build_signer_info(
    signer: &mut dyn Signer,
    content_digest: &[u8],
    profile: &CmsProfile,
) -> Result<Vec<u8>, CmsError> {
    let algorithm = signer.algorithm();
    let digest = algorithm.digest();
    check_digest_len(digest, content_digest)?;
    let cert = Certificate::from_der(signer.certificate())
        .map_err(|e| CmsError::BadCertificate(e.to_string()))?;
    let signed_attrs =
        signed_attributes(&cert, signer.certificate(), digest, content_digest, profile)?;
    // The signature covers the DER of the attributes as a SET OF (tag 0x31),
    // not the [0] IMPLICIT form they take inside the SignerInfo (RFC 5652 §5.4).
    let to_sign = signed_attrs.to_der()?;
    let signature = signer.sign_raw(&to_sign)?;
    let info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: digest_algorithm_identifier(digest),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: signature_algorithm_identifier(algorithm)?,
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    Ok(info.to_der()?)
}

fn detached_data_encap() -> Result<Vec<u8>, CmsError> {
    // SEQUENCE { eContentType id-data } with no eContent: detached.
    let oid = ID_DATA.to_der()?;
    tlv(Tag::Sequence, &oid)
}

fn signer_matches_certificate(info: &SignerInfo, cert_der: &[u8]) -> Result<bool, CmsError> {
    let cert =
        Certificate::from_der(cert_der).map_err(|e| CmsError::BadCertificate(e.to_string()))?;
    Ok(match &info.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == cert.tbs_certificate.issuer
                && ias.serial_number == cert.tbs_certificate.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_the_wrong_length_is_refused_before_signing() {
        let err = check_digest_len(DigestAlgorithm::Sha256, &[0u8; 20]).unwrap_err();
        assert_eq!(
            err,
            CmsError::DigestLength {
                alg: "sha256",
                got: 20,
                want: 32
            }
        );
    }
}
