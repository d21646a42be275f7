//! Digest and signature algorithms Mohor signs with, and their OIDs.

use const_oid::ObjectIdentifier;
use sha2::Digest as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            DigestAlgorithm::Sha256 => const_oid::db::rfc5912::ID_SHA_256,
            DigestAlgorithm::Sha384 => const_oid::db::rfc5912::ID_SHA_384,
            DigestAlgorithm::Sha512 => const_oid::db::rfc5912::ID_SHA_512,
        }
    }

    const ALL: [Self; 3] = [Self::Sha256, Self::Sha384, Self::Sha512];

    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.oid() == *oid)
    }

    /// By the OID's dotted text, compared rather than parsed: the text may
    /// come from a hostile signature, and const-oid's parser overflows on
    /// arcs too large for it.
    pub fn from_oid_text(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.oid().to_string() == text)
    }

    /// Output length in bytes (never zero, so no `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha384 => 48,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    /// Name as used on the wire and in the CLI (`sha256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            DigestAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            DigestAlgorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.hasher().digest(data)
    }

    /// The DER DigestInfo prefix for RSA PKCS#1 v1.5 over a precomputed hash
    /// (used when a token offers only `CKM_RSA_PKCS`). RFC 8017 §9.2 note 1.
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            DigestAlgorithm::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            DigestAlgorithm::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            DigestAlgorithm::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

/// A streaming hasher over one of the supported digests. It also knows
/// SHA-1, which only verification asks for (old signatures carry it, and
/// [`crate::verify::crypto::Hash`] reads them); [`DigestAlgorithm`], what
/// Mohor signs with, has no SHA-1 and so never makes one.
#[derive(Clone)]
pub enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }

    /// The digest of `data` alone.
    pub fn digest(mut self, data: &[u8]) -> Vec<u8> {
        self.update(data);
        self.finish()
    }
}

/// How the signer's key signs. The digest is the one applied to the signed
/// attributes (and, by Mohor's choice, to the content too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "digest", rename_all = "kebab-case")]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1v15(DigestAlgorithm),
    /// RSASSA-PSS with MGF1 over the same digest and salt length = digest length.
    RsaPss(DigestAlgorithm),
    /// ECDSA; the raw signature handed to CMS is DER `Ecdsa-Sig-Value`.
    Ecdsa(DigestAlgorithm),
}

impl SignatureAlgorithm {
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            SignatureAlgorithm::RsaPkcs1v15(d)
            | SignatureAlgorithm::RsaPss(d)
            | SignatureAlgorithm::Ecdsa(d) => d,
        }
    }

    pub fn describe(self) -> String {
        match self {
            SignatureAlgorithm::RsaPkcs1v15(d) => format!("RSA PKCS#1 v1.5 with {}", d.name()),
            SignatureAlgorithm::RsaPss(d) => format!("RSA-PSS with {}", d.name()),
            SignatureAlgorithm::Ecdsa(d) => format!("ECDSA with {}", d.name()),
        }
    }
}
