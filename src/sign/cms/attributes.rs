//! The signed attributes of a CAdES/PAdES SignerInfo (content type, message
//! digest, signing time where the profile has one, ESS signing-certificate-v2)
//! and the algorithm identifiers it names.

use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNING_TIME,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, AnyRef, OctetString, SetOfVec};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::Certificate;

use super::{CmsError, CmsProfile};
use crate::sign::{DigestAlgorithm, SignatureAlgorithm};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");

pub(super) fn signed_attributes(
    cert: &Certificate,
    cert_der: &[u8],
    digest: DigestAlgorithm,
    content_digest: &[u8],
    profile: &CmsProfile,
) -> Result<SetOfVec<Attribute>, CmsError> {
    let mut attrs = SetOfVec::new();
    attrs.insert(attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?)?;
    attrs.insert(attribute(
        ID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(content_digest.to_vec())?)?,
    )?)?;
    if let Some(when) = profile.signing_time {
        let time = signing_time_value(when)?;
        attrs.insert(attribute(ID_SIGNING_TIME, Any::encode_from(&time)?)?)?;
    }
    attrs.insert(attribute(
        ID_AA_SIGNING_CERTIFICATE_V_2,
        Any::encode_from(&signing_certificate_v2(cert, cert_der, digest)?)?,
    )?)?;
    Ok(attrs)
}

pub(super) fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
fn signing_time_value(when: OffsetDateTime) -> Result<x509_cert::time::Time, CmsError> {
    let secs = u64::try_from(when.unix_timestamp())
        .map_err(|_| CmsError::Encoding("signing time before 1970".into()))?;
    let dur = std::time::Duration::from_secs(secs);
    let time = if when.year() < 2050 {
        x509_cert::time::Time::UtcTime(der::asn1::UtcTime::from_unix_duration(dur)?)
    } else {
        x509_cert::time::Time::GeneralTime(der::asn1::GeneralizedTime::from_unix_duration(dur)?)
    };
    Ok(time)
}

/// ESS `SigningCertificateV2` (RFC 5035), binding the signer's certificate
/// into the signed attributes so it cannot be swapped (CAdES requires it).
#[derive(Clone, Debug, der::Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

#[derive(Clone, Debug, der::Sequence)]
struct EssCertIdV2 {
    /// DEFAULT sha256: DER omits it when it is the default.
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

#[derive(Clone, Debug, der::Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: x509_cert::serial_number::SerialNumber,
}

fn signing_certificate_v2(
    cert: &Certificate,
    cert_der: &[u8],
    digest: DigestAlgorithm,
) -> Result<SigningCertificateV2, CmsError> {
    let hash_algorithm = match digest {
        DigestAlgorithm::Sha256 => None,
        other => Some(AlgorithmIdentifierOwned {
            oid: other.oid(),
            parameters: None,
        }),
    };
    Ok(SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm,
            cert_hash: OctetString::new(digest.digest(cert_der))?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    cert.tbs_certificate.issuer.clone(),
                )],
                serial_number: cert.tbs_certificate.serial_number.clone(),
            },
        }],
    })
}

pub(super) fn digest_algorithm_identifier(digest: DigestAlgorithm) -> AlgorithmIdentifierOwned {
    // Parameters absent (RFC 5754 §2: SHOULD omit for SHA-2).
    AlgorithmIdentifierOwned {
        oid: digest.oid(),
        parameters: None,
    }
}

#[derive(Clone, Debug, der::Sequence)]
struct RsaPssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    hash_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    mask_gen_algorithm: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    salt_length: u32,
}

pub(super) fn signature_algorithm_identifier(
    alg: SignatureAlgorithm,
) -> Result<AlgorithmIdentifierOwned, CmsError> {
    Ok(match alg {
        // rsaEncryption with NULL: the form every validator in use accepts
        // (RFC 3370 §3.2); the digest is named by the SignerInfo.
        SignatureAlgorithm::RsaPkcs1v15(_) => AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::from(AnyRef::NULL)),
        },
        SignatureAlgorithm::RsaPss(d) => {
            let hash = AlgorithmIdentifierOwned {
                oid: d.oid(),
                parameters: Some(Any::from(AnyRef::NULL)),
            };
            let params = RsaPssParams {
                hash_algorithm: hash.clone(),
                mask_gen_algorithm: AlgorithmIdentifierOwned {
                    oid: MGF1,
                    parameters: Some(Any::encode_from(&hash)?),
                },
                salt_length: d.len() as u32,
            };
            AlgorithmIdentifierOwned {
                oid: RSASSA_PSS,
                parameters: Some(Any::encode_from(&params)?),
            }
        }
        SignatureAlgorithm::Ecdsa(d) => AlgorithmIdentifierOwned {
            oid: match d {
                DigestAlgorithm::Sha256 => ECDSA_WITH_SHA256,
                DigestAlgorithm::Sha384 => ECDSA_WITH_SHA384,
                DigestAlgorithm::Sha512 => ECDSA_WITH_SHA512,
            },
            parameters: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_time_uses_utctime_before_2050() {
        let t = signing_time_value(time::macros::datetime!(2026-11-23 10:00 UTC)).unwrap();
        assert!(matches!(t, x509_cert::time::Time::UtcTime(_)));
        let t = signing_time_value(time::macros::datetime!(2051-01-01 0:00 UTC)).unwrap();
        assert!(matches!(t, x509_cert::time::Time::GeneralTime(_)));
    }
}
