//! CAdES-T: a signature time-stamp as an unsigned attribute of a
//! SignerInfo, and the signers (with their time-stamp authorities) a CMS
//! holds, for gathering their revocation evidence.

use super::{tsa, Ltv, LtvError};
use crate::sign::cms::{self as mohor_cms, ID_AA_SIGNATURE_TIME_STAMP_TOKEN};
use crate::sign::DigestAlgorithm;
use crate::verify::ber::{self, Tlv};
use crate::verify::cert::Cert;
use crate::verify::cms as cms_reader;

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
/// certificate, when the CMS carries it, and the certificates that came
/// with it.
#[derive(Debug, Clone)]
pub struct EmbeddedSigner {
    pub role: SignerRole,
    pub certificate: Option<Vec<u8>>,
    pub carried: Vec<Vec<u8>>,
}

/// Whose signature a SignerInfo is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerRole {
    /// A signature of the document.
    Signatory,
    /// A time-stamp authority's, on a signature's time-stamp.
    TimeStampAuthority,
}

/// How deep time-stamps may sit inside time-stamps: a signature's token,
/// a token over that, and some room. Deeper is a crafted file (the BER
/// reader's own nesting limit refuses it first beyond about five).
const MAX_NESTED_TIMESTAMPS: usize = 4;

/// Every signer of the CMS at the start of `bytes` (a PDF's `/Contents`
/// may have zero padding after it), and every signer of the signature
/// time-stamps inside it. Read as BER, like the verifier reads it: ISO
/// 32000 asks for DER, but an earlier signer's tool may have written
/// indefinite lengths, and `mohor extend` must still renew its document.
pub fn embedded_signers(bytes: &[u8]) -> Result<Vec<EmbeddedSigner>, LtvError> {
    let root = ber::parse(bytes).map_err(|e| unreadable(&e.to_string()))?;
    signers_of(&root, 0)
}

fn unreadable(why: &str) -> LtvError {
    LtvError::RevocationRefused(format!("a signature in the file is unreadable ({why})"))
}

fn signers_of(root: &Tlv<'_>, depth: usize) -> Result<Vec<EmbeddedSigner>, LtvError> {
    if depth > MAX_NESTED_TIMESTAMPS {
        return Err(LtvError::RevocationRefused(format!(
            "a signature in the file nests time-stamps more than {MAX_NESTED_TIMESTAMPS} deep"
        )));
    }
    let e = |e: ber::BerError| unreadable(&e.to_string());
    let cms_reader::Layout {
        certs: carried,
        signer_infos,
        ..
    } = cms_reader::layout(root).map_err(|why| unreadable(&why))?;
    let parsed: Vec<(Cert, &Vec<u8>)> = carried
        .iter()
        .filter_map(|d| Cert::parse(d).ok().map(|c| (c, d)))
        .collect();
    let role = if depth == 0 {
        SignerRole::Signatory
    } else {
        SignerRole::TimeStampAuthority
    };
    let mut out = Vec::new();
    for info in signer_infos.children() {
        let sid = info.child(1, "signer identifier").map_err(e)?;
        // Not every CMS carries its signer's certificate (a time-stamp
        // token requested without certReq, a tool that left it out).
        out.push(EmbeddedSigner {
            role,
            certificate: parsed
                .iter()
                .find(|(c, _)| c.matches_sid(sid))
                .map(|(_, der)| (*der).clone()),
            carried: carried.clone(),
        });
        let unsigned = info.children().last().filter(|t| t.tag.is(ber::CONTEXT, 1));
        for attr in unsigned.iter().flat_map(|u| u.children()) {
            if attr
                .child(0, "attribute type")
                .and_then(Tlv::oid)
                .ok()
                .as_deref()
                != Some(cms_reader::TIMESTAMP_TOKEN)
            {
                continue;
            }
            let values = attr.child(1, "attribute values").map_err(e)?;
            for token in values.children() {
                out.extend(signers_of(token, depth + 1)?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cms::content_info::{CmsVersion, ContentInfo};
    use cms::signed_data::{EncapsulatedContentInfo, SignerInfo, SignerInfos};
    use cms::signed_data::{SignedData, SignerIdentifier};
    use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
    use const_oid::db::rfc5912::{ID_SHA_256, RSA_ENCRYPTION};
    use der::asn1::{Any, OctetString, SetOfVec};
    use der::{Decode as _, Encode as _};
    use spki::AlgorithmIdentifierOwned;
    use x509_cert::attr::Attribute;
    use x509_cert::ext::pkix::SubjectKeyIdentifier;

    /// A CMS whose one SignerInfo carries `token` as its signature
    /// time-stamp: the smallest shape a crafted file can repeat.
    fn wrapping(token: Option<&[u8]>) -> Vec<u8> {
        let algorithm = |oid| AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        };
        let unsigned_attrs = token.map(|t| {
            let value = Any::from_der(t).expect("a token");
            let attr = Attribute {
                oid: ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
                values: SetOfVec::try_from(vec![value]).expect("one value"),
            };
            SetOfVec::try_from(vec![attr]).expect("one attribute")
        });
        let info = SignerInfo {
            version: CmsVersion::V3,
            sid: SignerIdentifier::SubjectKeyIdentifier(SubjectKeyIdentifier(
                OctetString::new(vec![7]).expect("an id"),
            )),
            digest_alg: algorithm(ID_SHA_256),
            signed_attrs: None,
            signature_algorithm: algorithm(RSA_ENCRYPTION),
            signature: OctetString::new(vec![0]).expect("a signature"),
            unsigned_attrs,
        };
        let sd = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::new(),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: None,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![info]).expect("one signer")),
        };
        ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&sd).expect("signed data"),
        }
        .to_der()
        .expect("a CMS")
    }

    fn nested(depth: usize) -> Vec<u8> {
        let mut der = wrapping(None);
        for _ in 0..depth {
            der = wrapping(Some(&der));
        }
        der
    }

    #[test]
    fn signers_without_their_certificate_are_named_with_their_role() {
        // A signature with a time-stamp over it, neither carrying a certificate.
        let signers = embedded_signers(&nested(1)).expect("readable");
        let roles: Vec<(SignerRole, bool)> = signers
            .iter()
            .map(|s| (s.role, s.certificate.is_some()))
            .collect();
        assert_eq!(
            roles,
            [
                (SignerRole::Signatory, false),
                (SignerRole::TimeStampAuthority, false)
            ]
        );
    }

    #[test]
    fn time_stamps_nested_past_reason_are_a_typed_error_not_a_lost_stack() {
        assert!(embedded_signers(&nested(MAX_NESTED_TIMESTAMPS)).is_ok());
        // 3,000 levels are 200 KB of /Contents; unchecked, the recursion
        // overflowed a test thread's stack.
        for depth in [MAX_NESTED_TIMESTAMPS + 1, 3_000] {
            match embedded_signers(&nested(depth)) {
                Err(LtvError::RevocationRefused(m)) => assert!(m.contains("deep"), "{m}"),
                other => panic!("{depth}: {other:?}"),
            }
        }
    }
}
