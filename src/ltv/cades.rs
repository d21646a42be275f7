//! CAdES-T: a signature time-stamp as an unsigned attribute of a
//! SignerInfo, and the signers (with their time-stamp authorities) a CMS
//! holds, for gathering their revocation evidence.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::{Decode as _, Encode as _, Reader as _};

use super::{tsa, Ltv, LtvError};
use crate::sign::cms::{self as mohor_cms, ID_AA_SIGNATURE_TIME_STAMP_TOKEN};
use crate::sign::DigestAlgorithm;

/// The digest the signature time-stamp is taken with.
const TIMESTAMP_DIGEST: DigestAlgorithm = DigestAlgorithm::Sha256;

/// Time-stamp the signature of the last SignerInfo of `der` (the one just
/// made; earlier signers and their time-stamps are left as they are).
pub fn timestamp_last_signer(
    der: &[u8],
    ltv: &Ltv<'_>,
) -> Result<(Vec<u8>, tsa::Token), crate::Error> {
    let last = mohor_cms::signer_count(der)?.saturating_sub(1);
    let signature = mohor_cms::signature_value(der, last)?;
    let token = ltv.timestamp(TIMESTAMP_DIGEST, &TIMESTAMP_DIGEST.digest(&signature))?;
    let with =
        mohor_cms::add_unsigned_attribute(der, last, ID_AA_SIGNATURE_TIME_STAMP_TOKEN, &token.der)?;
    Ok((with, token))
}

/// One signer of a CMS (or of a time-stamp token inside it): its
/// certificate and the certificates that came with it.
#[derive(Debug, Clone)]
pub struct EmbeddedSigner {
    pub certificate: Vec<u8>,
    pub carried: Vec<Vec<u8>>,
}

/// Every signer of the CMS at the start of `bytes` (a PDF's `/Contents`
/// may have zero padding after it), and every signer of the signature
/// time-stamps inside it.
pub fn embedded_signers(bytes: &[u8]) -> Result<Vec<EmbeddedSigner>, LtvError> {
    let bad = |e: der::Error| {
        LtvError::RevocationRefused(format!("a signature in the file is unreadable ({e})"))
    };
    let mut reader = der::SliceReader::new(bytes).map_err(bad)?;
    let ci: ContentInfo = reader.decode().map_err(bad)?;
    let sd: SignedData = ci.content.decode_as().map_err(bad)?;
    let carried: Vec<Vec<u8>> = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => c.to_der().ok(),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for info in sd.signer_infos.0.iter() {
        if let SignerIdentifier::IssuerAndSerialNumber(ias) = &info.sid {
            let found = carried.iter().find(|d| {
                x509_cert::Certificate::from_der(d).is_ok_and(|c| {
                    c.tbs_certificate.issuer == ias.issuer
                        && c.tbs_certificate.serial_number == ias.serial_number
                })
            });
            if let Some(cert) = found {
                out.push(EmbeddedSigner {
                    certificate: cert.clone(),
                    carried: carried.clone(),
                });
            }
        }
        for attr in info.unsigned_attrs.iter().flat_map(|a| a.iter()) {
            if attr.oid != ID_AA_SIGNATURE_TIME_STAMP_TOKEN {
                continue;
            }
            for value in attr.values.iter() {
                out.extend(embedded_signers(&value.to_der()?)?);
            }
        }
    }
    Ok(out)
}
