//! A SignedData taken apart into its raw DER elements and put together
//! again, so that a co-signature keeps every earlier part byte for byte.

use cms::content_info::CmsVersion;
use const_oid::db::rfc5911::ID_SIGNED_DATA;
use der::asn1::AnyRef;
use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag, TagNumber, Tagged};

use super::CmsError;

/// A SignedData as a list of raw DER elements, so existing parts survive a
/// co-signature byte for byte.
pub(super) struct SignedDataParts {
    pub(super) version: u8,
    pub(super) digest_algorithms: Vec<Vec<u8>>,
    pub(super) encap_content_info: Vec<u8>,
    pub(super) certificates: Vec<Vec<u8>>,
    pub(super) crls: Option<Vec<u8>>,
    pub(super) signer_infos: Vec<Vec<u8>>,
}

impl SignedDataParts {
    pub(super) fn parse(der: &[u8]) -> Result<Self, CmsError> {
        let bad = |m: &str| CmsError::BadExisting(m.to_string());
        let content_info = cms::content_info::ContentInfo::from_der(der)
            .map_err(|e| CmsError::BadExisting(e.to_string()))?;
        if content_info.content_type != ID_SIGNED_DATA {
            return Err(bad("not SignedData"));
        }
        // Check the whole structure once with the typed decoder, so what we
        // splice below is known to be well formed.
        let typed: cms::signed_data::SignedData = content_info
            .content
            .decode_as()
            .map_err(|e| CmsError::BadExisting(e.to_string()))?;
        if typed.encap_content_info.econtent.is_some() {
            return Err(bad("it carries the content inside (not detached)"));
        }
        let version = match typed.version {
            CmsVersion::V0 | CmsVersion::V1 => 1,
            CmsVersion::V2 => 2,
            CmsVersion::V3 => 3,
            _ => return Err(bad("unsupported SignedData version")),
        };

        if content_info.content.tag() != Tag::Sequence {
            return Err(bad("SignedData is not a SEQUENCE"));
        }
        let mut parts = SignedDataParts {
            version,
            digest_algorithms: vec![],
            encap_content_info: vec![],
            certificates: vec![],
            crls: None,
            signer_infos: vec![],
        };
        let mut inner = SliceReader::new(content_info.content.value())?;
        let _version: AnyRef<'_> = inner.decode()?;
        let algs: AnyRef<'_> = inner.decode()?;
        parts.digest_algorithms = elements(algs.value())?;
        let encap: AnyRef<'_> = inner.decode()?;
        parts.encap_content_info = encap.to_der()?;
        while !inner.is_finished() {
            let item: AnyRef<'_> = inner.decode()?;
            match item.tag() {
                Tag::ContextSpecific { number, .. } if number == TagNumber::N0 => {
                    parts.certificates = elements(item.value())?;
                }
                Tag::ContextSpecific { number, .. } if number == TagNumber::N1 => {
                    parts.crls = Some(item.to_der()?);
                }
                Tag::Set => parts.signer_infos = elements(item.value())?,
                _ => return Err(bad("unexpected element in SignedData")),
            }
        }
        if parts.signer_infos.is_empty() {
            return Err(bad("it has no signers"));
        }
        Ok(parts)
    }

    pub(super) fn to_content_info(&self) -> Result<Vec<u8>, CmsError> {
        let mut body = Vec::new();
        body.extend(u8::to_der(&self.version)?);
        body.extend(tlv(Tag::Set, &self.digest_algorithms.concat())?);
        body.extend(&self.encap_content_info);
        if !self.certificates.is_empty() {
            body.extend(tlv(
                context_constructed(TagNumber::N0),
                &self.certificates.concat(),
            )?);
        }
        if let Some(crls) = &self.crls {
            body.extend(crls);
        }
        body.extend(tlv(Tag::Set, &self.signer_infos.concat())?);
        let signed_data = tlv(Tag::Sequence, &body)?;

        let mut ci = ID_SIGNED_DATA.to_der()?;
        ci.extend(tlv(context_constructed(TagNumber::N0), &signed_data)?);
        tlv(Tag::Sequence, &ci)
    }
}

pub(super) fn context_constructed(number: TagNumber) -> Tag {
    Tag::ContextSpecific {
        constructed: true,
        number,
    }
}

pub(super) fn tlv(tag: Tag, value: &[u8]) -> Result<Vec<u8>, CmsError> {
    let header = Header::new(tag, Length::try_from(value.len())?)?;
    let mut out = header.to_der()?;
    out.extend_from_slice(value);
    Ok(out)
}

/// The raw DER of each element inside a constructed value.
pub(super) fn elements(value: &[u8]) -> Result<Vec<Vec<u8>>, CmsError> {
    let mut reader = SliceReader::new(value)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        let any: AnyRef<'_> = reader.decode()?;
        out.push(any.to_der()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::attributes::digest_algorithm_identifier;
    use super::super::detached_data_encap;
    use super::*;
    use crate::sign::DigestAlgorithm;

    #[test]
    fn raw_parts_round_trip_is_byte_identical() {
        let parts = SignedDataParts {
            version: 1,
            digest_algorithms: vec![digest_algorithm_identifier(DigestAlgorithm::Sha256)
                .to_der()
                .unwrap()],
            encap_content_info: detached_data_encap().unwrap(),
            certificates: vec![],
            crls: None,
            // Two SignerInfo-shaped SEQUENCEs in non-DER order on purpose.
            signer_infos: vec![vec![0x30, 0x01, 0x02], vec![0x30, 0x01, 0x01]],
        };
        let der = parts.to_content_info().unwrap();
        let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
        let mut inner = SliceReader::new(ci.content.value()).unwrap();
        let _v: AnyRef<'_> = inner.decode().unwrap();
        let _a: AnyRef<'_> = inner.decode().unwrap();
        let _e: AnyRef<'_> = inner.decode().unwrap();
        let infos: AnyRef<'_> = inner.decode().unwrap();
        assert_eq!(elements(infos.value()).unwrap(), parts.signer_infos);
    }
}
