//! Digests and public-key signature checks (RSA PKCS#1 v1.5 and PSS, ECDSA
//! on P-256, P-384 and P-521), chosen by the algorithm identifiers found in CMS and
//! certificates.

use rsa::pkcs1::der::Decode as _;
use sha2::Digest as _;

use super::ber::{self, Tlv};
use crate::sign::algorithm::Hasher;
use crate::sign::DigestAlgorithm;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// SHA-1 by its OID here; the SHA-2 OIDs are signing's
    /// ([`DigestAlgorithm::from_oid`]), stated once.
    pub fn from_oid(oid: &str) -> Option<Hash> {
        if oid == "1.3.14.3.2.26" {
            return Some(Hash::Sha1);
        }
        DigestAlgorithm::from_oid_text(oid).map(Hash::from)
    }

    pub fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SHA-1",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            Hash::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Hash::Sha256 => DigestAlgorithm::Sha256.hasher(),
            Hash::Sha384 => DigestAlgorithm::Sha384.hasher(),
            Hash::Sha512 => DigestAlgorithm::Sha512.hasher(),
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.hasher().digest(data)
    }
}

impl From<DigestAlgorithm> for Hash {
    fn from(d: DigestAlgorithm) -> Hash {
        match d {
            DigestAlgorithm::Sha256 => Hash::Sha256,
            DigestAlgorithm::Sha384 => Hash::Sha384,
            DigestAlgorithm::Sha512 => Hash::Sha512,
        }
    }
}

/// A signature algorithm as named by an AlgorithmIdentifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// RSA PKCS#1 v1.5; the hash comes from the OID or, for plain
    /// rsaEncryption, from the signer's digest algorithm.
    RsaPkcs1(Option<Hash>),
    RsaPss(Hash),
    Ecdsa(Option<Hash>),
}

impl SigAlg {
    /// Read an AlgorithmIdentifier SEQUENCE.
    pub fn from_identifier(alg: &Tlv<'_>) -> Result<SigAlg, String> {
        let oid = alg
            .child(0, "signature algorithm")
            .and_then(|o| o.oid())
            .map_err(|e| e.to_string())?;
        Ok(match oid.as_str() {
            "1.2.840.113549.1.1.1" => SigAlg::RsaPkcs1(None),
            "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => SigAlg::RsaPkcs1(Some(Hash::Sha1)),
            "1.2.840.113549.1.1.11" => SigAlg::RsaPkcs1(Some(Hash::Sha256)),
            "1.2.840.113549.1.1.12" => SigAlg::RsaPkcs1(Some(Hash::Sha384)),
            "1.2.840.113549.1.1.13" => SigAlg::RsaPkcs1(Some(Hash::Sha512)),
            "1.2.840.113549.1.1.10" => SigAlg::RsaPss(pss_hash(alg)),
            "1.2.840.10045.2.1" => SigAlg::Ecdsa(None),
            "1.2.840.10045.4.1" => SigAlg::Ecdsa(Some(Hash::Sha1)),
            "1.2.840.10045.4.3.2" => SigAlg::Ecdsa(Some(Hash::Sha256)),
            "1.2.840.10045.4.3.3" => SigAlg::Ecdsa(Some(Hash::Sha384)),
            "1.2.840.10045.4.3.4" => SigAlg::Ecdsa(Some(Hash::Sha512)),
            other => return Err(format!("unsupported signature algorithm {other}")),
        })
    }

    /// The hash the signature was computed with, given the digest
    /// algorithm the SignerInfo declares.
    pub fn hash(self, fallback: Hash) -> Hash {
        match self {
            SigAlg::RsaPkcs1(h) | SigAlg::Ecdsa(h) => h.unwrap_or(fallback),
            SigAlg::RsaPss(h) => h,
        }
    }
}

/// RSASSA-PSS-params: hashAlgorithm [0], default SHA-1.
fn pss_hash(alg: &Tlv<'_>) -> Hash {
    alg.children()
        .get(1)
        .and_then(|params| params.children().iter().find(|p| p.tag.is(ber::CONTEXT, 0)))
        .and_then(|h| h.children().first())
        .and_then(|a| a.children().first())
        .and_then(|o| o.oid().ok())
        .and_then(|o| Hash::from_oid(&o))
        .unwrap_or(Hash::Sha1)
}

/// Check `signature` over data whose `hash` digest is `hashed`, with the
/// key in `spki` (a SubjectPublicKeyInfo's DER).
pub fn verify(
    spki_der: &[u8],
    alg: SigAlg,
    hash: Hash,
    hashed: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let spki = ber::parse(spki_der).map_err(|e| e.to_string())?;
    let key_alg = spki
        .child(0, "key algorithm")
        .and_then(|a| a.child(0, "key algorithm"))
        .and_then(|o| o.oid())
        .map_err(|e| e.to_string())?;
    let key_bits = spki
        .child(1, "public key")
        .and_then(|k| k.bytes("public key"))
        .map_err(|e| e.to_string())?;
    let key_bytes = key_bits
        .split_first()
        .map(|(_, k)| k)
        .ok_or("empty public key")?;
    match (alg, key_alg.as_str()) {
        (SigAlg::RsaPkcs1(_), "1.2.840.113549.1.1.1") => {
            let key = rsa_public_key(key_bytes)?;
            let scheme = match hash {
                Hash::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            key.verify(scheme, hashed, signature)
                .map_err(|_| "the RSA signature does not match".to_string())
        }
        (SigAlg::RsaPss(_), "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10") => {
            let key = rsa_public_key(key_bytes)?;
            let scheme = match hash {
                Hash::Sha1 => rsa::Pss::new::<sha1::Sha1>(),
                Hash::Sha256 => rsa::Pss::new::<sha2::Sha256>(),
                Hash::Sha384 => rsa::Pss::new::<sha2::Sha384>(),
                Hash::Sha512 => rsa::Pss::new::<sha2::Sha512>(),
            };
            key.verify(scheme, hashed, signature)
                .map_err(|_| "the RSA-PSS signature does not match".to_string())
        }
        (SigAlg::Ecdsa(_), "1.2.840.10045.2.1") => {
            let curve = spki
                .child(0, "key algorithm")
                .and_then(|a| a.child(1, "curve"))
                .and_then(|o| o.oid())
                .map_err(|e| e.to_string())?;
            verify_ecdsa(&curve, key_bytes, hashed, signature)
        }
        (_, key) => Err(format!(
            "the signature algorithm does not fit the key ({key})"
        )),
    }
}

/// The size in bits of the RSA key in `spki_der` (a SubjectPublicKeyInfo),
/// or `None` when it holds another kind of key or cannot be read.
pub fn rsa_key_bits(spki_der: &[u8]) -> Option<usize> {
    let spki = ber::parse(spki_der).ok()?;
    let key_alg = spki
        .child(0, "key algorithm")
        .and_then(|a| a.child(0, "key algorithm"))
        .and_then(|o| o.oid())
        .ok()?;
    if key_alg != "1.2.840.113549.1.1.1" && key_alg != "1.2.840.113549.1.1.10" {
        return None;
    }
    let bits = spki
        .child(1, "public key")
        .and_then(|k| k.bytes("public key"))
        .ok()?;
    let key = rsa::pkcs1::RsaPublicKey::from_der(bits.get(1..)?).ok()?;
    let modulus = key.modulus.as_bytes();
    let start = modulus.iter().position(|b| *b != 0)?;
    let first = modulus.get(start)?;
    Some((modulus.len() - start) * 8 - first.leading_zeros() as usize)
}

/// The largest RSA modulus verified. RSA-8192 keys exist (openssl and
/// pyHanko verify their signatures); the rsa crate's default bound, 4096
/// bits, made such a signature "not intact", as if it had been tampered with.
const MAX_RSA_BITS: usize = 16384;

/// An RSAPublicKey (PKCS#1 DER) of up to [`MAX_RSA_BITS`].
fn rsa_public_key(pkcs1_der: &[u8]) -> Result<rsa::RsaPublicKey, String> {
    let key = rsa::pkcs1::RsaPublicKey::from_der(pkcs1_der)
        .map_err(|e| format!("unreadable RSA key: {e}"))?;
    let n = rsa::BigUint::from_bytes_be(key.modulus.as_bytes());
    let e = rsa::BigUint::from_bytes_be(key.public_exponent.as_bytes());
    rsa::RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS)
        .map_err(|e| format!("unreadable RSA key: {e}"))
}

fn verify_ecdsa(curve: &str, point: &[u8], hashed: &[u8], sig: &[u8]) -> Result<(), String> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let bad = || "the ECDSA signature does not match".to_string();
    match curve {
        "1.2.840.10045.3.1.7" => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| "unreadable P-256 key".to_string())?;
            let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
            key.verify_prehash(&field_prehash(hashed, 32), &s)
                .map_err(|_| bad())
        }
        "1.3.132.0.34" => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| "unreadable P-384 key".to_string())?;
            let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
            key.verify_prehash(&field_prehash(hashed, 48), &s)
                .map_err(|_| bad())
        }
        "1.3.132.0.35" => {
            let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| "unreadable P-521 key".to_string())?;
            let s = p521::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
            key.verify_prehash(&field_prehash(hashed, 66), &s)
                .map_err(|_| bad())
        }
        other => Err(format!("unsupported elliptic curve {other}")),
    }
}

/// A digest shorter than the curve's field, left-padded with zeros to the
/// field's length: the same number (FIPS 186-5 §6.4.1 takes a short hash
/// whole), which the ecdsa crate refuses below half the field's length
/// (SHA-256 on P-521, SHA-1 on P-384). A longer digest is left as it is:
/// the crate keeps its leftmost bits, as the standard does.
fn field_prehash(hashed: &[u8], field_len: usize) -> Vec<u8> {
    let mut out = vec![0; field_len.saturating_sub(hashed.len())];
    out.extend_from_slice(hashed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_oid_with_a_huge_arc_is_unknown_not_a_panic() {
        // Hostile CMS can name any OID; const-oid's text parser overflowed
        // on arcs like these (found by the verify_document fuzzer).
        for oid in [
            "2.16.840.1.101.3.4.2.99999999999999999999999",
            "1.99999999999999999999",
        ] {
            assert_eq!(Hash::from_oid(oid), None, "{oid}");
        }
        assert_eq!(Hash::from_oid("2.16.840.1.101.3.4.2.1"), Some(Hash::Sha256));
        assert_eq!(Hash::from_oid("1.3.14.3.2.26"), Some(Hash::Sha1));
    }

    #[test]
    fn each_hash_gives_the_published_digest_of_abc() {
        // FIPS 180-4's example "abc": the first 8 bytes and the length.
        let known = [
            (Hash::Sha1, "a9993e364706816a", 20),
            (Hash::Sha256, "ba7816bf8f01cfea", 32),
            (Hash::Sha384, "cb00753f45a35e8b", 48),
            (Hash::Sha512, "ddaf35a193617aba", 64),
        ];
        for (hash, start, len) in known {
            let d = hash.digest(b"abc");
            assert_eq!(hex::encode(&d[..8]), start, "{}", hash.name());
            assert_eq!(d.len(), len, "{}", hash.name());
        }
    }

    #[test]
    fn digest_oids_are_read_and_others_refused() {
        let known = [
            ("1.3.14.3.2.26", Hash::Sha1),
            ("2.16.840.1.101.3.4.2.1", Hash::Sha256),
            ("2.16.840.1.101.3.4.2.2", Hash::Sha384),
            ("2.16.840.1.101.3.4.2.3", Hash::Sha512),
        ];
        for (oid, hash) in known {
            assert_eq!(Hash::from_oid(oid), Some(hash), "{oid}");
        }
        // MD5, SHA-224, a malformed string, nothing.
        for other in ["1.2.840.113549.2.5", "2.16.840.1.101.3.4.2.4", "sha256", ""] {
            assert_eq!(Hash::from_oid(other), None, "{other}");
        }
    }

    #[test]
    fn a_signing_digest_is_verified_as_the_same_hash() {
        for d in [
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            let h = Hash::from(d);
            assert_eq!(Hash::from_oid(&d.oid().to_string()), Some(h));
            assert_eq!(h.digest(b"data"), d.digest(b"data"));
        }
    }
}
