//! Which PKCS#11 mechanism signs for a key, chosen from what the token
//! lists, and the ECDSA signature shape CMS wants.

use cryptoki::mechanism::MechanismType;

use crate::sign::{DigestAlgorithm, SignError, SignatureAlgorithm};
use crate::token::inventory::CertFacts;

/// The kind of key, as far as choosing a mechanism goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa { bytes: usize },
    Ec { max_der_signature: usize },
}

impl KeyKind {
    pub fn from_facts(facts: &CertFacts) -> Option<Self> {
        if let Some(bits) = facts.key_algorithm.strip_prefix("RSA-") {
            let bits: usize = bits.parse().ok()?;
            return Some(KeyKind::Rsa {
                bytes: bits.div_ceil(8),
            });
        }
        match facts.key_algorithm.as_str() {
            // DER Ecdsa-Sig-Value: SEQUENCE of two INTEGERs, each up to n+1 bytes.
            "EC P-256" => Some(KeyKind::Ec {
                max_der_signature: 72,
            }),
            "EC P-384" => Some(KeyKind::Ec {
                max_der_signature: 104,
            }),
            "EC P-521" => Some(KeyKind::Ec {
                max_der_signature: 139,
            }),
            _ => None,
        }
    }

    /// The longest signature value this key makes, as CMS carries it.
    pub fn max_signature_len(self) -> usize {
        match self {
            KeyKind::Rsa { bytes } => bytes,
            KeyKind::Ec { max_der_signature } => max_der_signature,
        }
    }
}

/// How a signature is made on this token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MechanismChoice {
    /// The token hashes and signs (`CKM_SHA256_RSA_PKCS`, ...).
    RsaPkcsWithHash,
    /// Mohor hashes and wraps a DigestInfo; the token pads and signs (`CKM_RSA_PKCS`).
    RsaPkcsRaw,
    /// `CKM_SHA256_RSA_PKCS_PSS`, ...
    RsaPssWithHash,
    /// `CKM_ECDSA_SHA256`, ...
    EcdsaWithHash,
    /// Mohor hashes; the token signs the hash (`CKM_ECDSA`). SoftHSM 2.6 needs this.
    EcdsaRaw,
}

fn with_hash_rsa(d: DigestAlgorithm) -> MechanismType {
    match d {
        DigestAlgorithm::Sha256 => MechanismType::SHA256_RSA_PKCS,
        DigestAlgorithm::Sha384 => MechanismType::SHA384_RSA_PKCS,
        DigestAlgorithm::Sha512 => MechanismType::SHA512_RSA_PKCS,
    }
}

fn with_hash_pss(d: DigestAlgorithm) -> MechanismType {
    match d {
        DigestAlgorithm::Sha256 => MechanismType::SHA256_RSA_PKCS_PSS,
        DigestAlgorithm::Sha384 => MechanismType::SHA384_RSA_PKCS_PSS,
        DigestAlgorithm::Sha512 => MechanismType::SHA512_RSA_PKCS_PSS,
    }
}

fn with_hash_ecdsa(d: DigestAlgorithm) -> MechanismType {
    match d {
        DigestAlgorithm::Sha256 => MechanismType::ECDSA_SHA256,
        DigestAlgorithm::Sha384 => MechanismType::ECDSA_SHA384,
        DigestAlgorithm::Sha512 => MechanismType::ECDSA_SHA512,
    }
}

/// Pick the mechanism from what the token lists (never by trying: a failed
/// `C_Sign` must not be how Mohor finds out).
pub fn choose_mechanism(
    key: KeyKind,
    digest: DigestAlgorithm,
    available: &[MechanismType],
    prefer_pss: bool,
) -> Option<(MechanismChoice, SignatureAlgorithm)> {
    let has = |m: MechanismType| available.contains(&m);
    match key {
        KeyKind::Rsa { .. } => {
            if prefer_pss && has(with_hash_pss(digest)) {
                Some((
                    MechanismChoice::RsaPssWithHash,
                    SignatureAlgorithm::RsaPss(digest),
                ))
            } else if has(with_hash_rsa(digest)) {
                Some((
                    MechanismChoice::RsaPkcsWithHash,
                    SignatureAlgorithm::RsaPkcs1v15(digest),
                ))
            } else if has(MechanismType::RSA_PKCS) {
                Some((
                    MechanismChoice::RsaPkcsRaw,
                    SignatureAlgorithm::RsaPkcs1v15(digest),
                ))
            } else {
                None
            }
        }
        KeyKind::Ec { .. } => {
            if has(with_hash_ecdsa(digest)) {
                Some((
                    MechanismChoice::EcdsaWithHash,
                    SignatureAlgorithm::Ecdsa(digest),
                ))
            } else if has(MechanismType::ECDSA) {
                Some((MechanismChoice::EcdsaRaw, SignatureAlgorithm::Ecdsa(digest)))
            } else {
                None
            }
        }
    }
}

/// PKCS#11 returns ECDSA signatures as r || s; CMS wants DER Ecdsa-Sig-Value.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, SignError> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(SignError::Device(format!(
            "ECDSA signature of odd length {}",
            raw.len()
        )));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let int = |v: &[u8]| -> Vec<u8> {
        let trimmed: &[u8] = {
            let first = v
                .iter()
                .position(|b| *b != 0)
                .unwrap_or(v.len().saturating_sub(1));
            &v[first..]
        };
        let mut body = Vec::with_capacity(trimmed.len() + 1);
        if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            body.push(0);
        }
        body.extend_from_slice(trimmed);
        let mut out = vec![0x02];
        push_len(&mut out, body.len());
        out.extend(body);
        out
    };
    let mut body = int(r);
    body.extend(int(s));
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend(body);
    Ok(out)
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x81);
        out.push(len as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: KeyKind = KeyKind::Rsa { bytes: 256 };
    const EC: KeyKind = KeyKind::Ec {
        max_der_signature: 72,
    };

    #[test]
    fn mechanism_choice_prefers_token_hashing_and_falls_back() {
        let d = DigestAlgorithm::Sha256;
        let full = [
            MechanismType::SHA256_RSA_PKCS,
            MechanismType::RSA_PKCS,
            MechanismType::SHA256_RSA_PKCS_PSS,
            MechanismType::ECDSA,
        ];
        assert_eq!(
            choose_mechanism(RSA, d, &full, false).unwrap().0,
            MechanismChoice::RsaPkcsWithHash
        );
        assert_eq!(
            choose_mechanism(RSA, d, &full, true).unwrap().0,
            MechanismChoice::RsaPssWithHash
        );
        assert_eq!(
            choose_mechanism(RSA, d, &[MechanismType::RSA_PKCS], true)
                .unwrap()
                .0,
            MechanismChoice::RsaPkcsRaw
        );
        // SoftHSM 2.6 lists CKM_ECDSA but not CKM_ECDSA_SHA256.
        assert_eq!(
            choose_mechanism(EC, d, &full, false).unwrap().0,
            MechanismChoice::EcdsaRaw
        );
        assert!(choose_mechanism(EC, d, &[MechanismType::RSA_PKCS], false).is_none());
        assert!(choose_mechanism(RSA, d, &[], false).is_none());
    }

    #[test]
    fn ecdsa_raw_signatures_become_der_integers() {
        // r with high bit set needs a leading zero; s with leading zeros is trimmed.
        let mut raw = vec![0x80; 32];
        raw.extend([0u8; 31]);
        raw.push(0x01);
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(&der[..4], &[0x30, 38, 0x02, 33]);
        assert_eq!(der[4], 0);
        assert_eq!(&der[der.len() - 3..], &[0x02, 1, 1]);
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_err());
    }
}
