//! The standard security handler (ISO 32000-1 7.6.3, ISO 32000-2 7.6.4):
//! RC4 40–128 bit and AES-128 (V1–V4, R2–R4) and AES-256 (V5, R5/R6).
//!
//! Only what signing an encrypted file needs: check a password, recover the
//! file key, decrypt the strings and object streams signing reads, and
//! encrypt the strings and streams of the new revision with the same key,
//! so the signed file stays protected exactly as it was. Up to V4 every
//! object has its own key, made from the file key and the object's number,
//! which is why every call names the object.

mod legacy;
mod v5;

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use md5::{Digest as _, Md5};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::error::PdfError;
use super::object::{Dict, ObjRef, Object};

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;
type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// How strings or streams are protected (the crypt filter's /CFM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    /// `/Identity` or `/None`: left as they are.
    Identity,
    /// `/V2` (and all of V1–V3): RC4 with the object key.
    Rc4,
    /// `/AESV2`: AES-128-CBC with the object key, IV first, PKCS#5 padding.
    Aes128,
    /// `/AESV3`: AES-256-CBC with the file key itself, IV first.
    Aes256,
}

/// A file key and whether the owner password produced it.
pub struct Opened {
    key: Zeroizing<Vec<u8>>,
    owner: bool,
}

/// An opened security handler: the file key and the methods in use.
#[derive(Clone)]
pub struct Crypt {
    key: Zeroizing<Vec<u8>>,
    strings: Method,
    streams: Method,
    /// Opened with the owner password (every permission), not the user one.
    owner: bool,
    /// The /P permission flags.
    permissions: u32,
    /// Whether the XMP metadata stream is encrypted (/EncryptMetadata).
    encrypt_metadata: bool,
    revision: i64,
    /// Random seed the IVs of new strings and streams are derived from:
    /// drawn once when the handler is opened, so encrypting cannot fail.
    iv_seed: Zeroizing<[u8; 32]>,
    iv_counter: std::cell::Cell<u64>,
}

impl std::fmt::Debug for Crypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Crypt")
            .field("strings", &self.strings)
            .field("streams", &self.streams)
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

impl Crypt {
    /// Open the handler described by `encrypt` with `password` (user or
    /// owner); `id0` is the first element of the trailer's /ID. `Ok(None)`
    /// means the password is wrong.
    pub fn open(encrypt: &Dict, id0: &[u8], password: &[u8]) -> Result<Option<Crypt>, PdfError> {
        let unsupported = |what: &str| PdfError::UnsupportedEncryption(what.to_string());
        if !encrypt.get("Filter").is_some_and(|f| f.is_name("Standard")) {
            return Err(unsupported(
                "it uses a security handler other than the standard password one",
            ));
        }
        let v = encrypt.get("V").and_then(Object::as_int).unwrap_or(0);
        let r = encrypt.get("R").and_then(Object::as_int).unwrap_or(0);
        let (opened, strings, streams) = match (v, r) {
            (5, 5 | 6) => (
                v5::open(encrypt, r, password)?,
                method(encrypt, "StrF", v)?,
                method(encrypt, "StmF", v)?,
            ),
            (1..=4, 2..=4) => {
                let params = legacy::Params::from_dict(encrypt, v, r, id0)?;
                let (strings, streams) = if v == 4 {
                    (method(encrypt, "StrF", v)?, method(encrypt, "StmF", v)?)
                } else {
                    (Method::Rc4, Method::Rc4)
                };
                (legacy::open(&params, password), strings, streams)
            }
            _ => {
                return Err(unsupported(&format!(
                "its standard security handler version (V {v}, R {r}) is not one ISO 32000 defines"
            )))
            }
        };
        let Some(opened) = opened else {
            return Ok(None);
        };
        let permissions = encrypt
            .get("P")
            .and_then(Object::as_int)
            .map_or(u32::MAX, |p| p as u32);
        let mut iv_seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(iv_seed.as_mut_slice())
            .map_err(|e| PdfError::Internal(format!("no random numbers for IVs: {e}")))?;
        Ok(Some(Crypt {
            key: opened.key,
            strings,
            streams,
            owner: opened.owner,
            permissions,
            encrypt_metadata: !matches!(encrypt.get("EncryptMetadata"), Some(Object::Bool(false))),
            revision: r,
            iv_seed,
            iv_counter: std::cell::Cell::new(0),
        }))
    }

    /// Whether the document's permissions let this password holder sign:
    /// the owner may do anything; a user needs "fill in forms and sign"
    /// (/P bit 9, from R3) or "modify annotations and forms" (bit 6).
    pub fn permits_signing(&self) -> bool {
        let bit = |n: u32| self.permissions & (1 << (n - 1)) != 0;
        self.owner || bit(6) || (self.revision >= 3 && bit(9))
    }

    /// Whether the document's XMP metadata stream is encrypted.
    pub fn encrypts_metadata(&self) -> bool {
        self.encrypt_metadata
    }

    /// Decrypt every string inside `obj`, object `r`'s value (in place).
    pub fn decrypt_strings(&self, r: ObjRef, obj: &mut Object) -> Result<(), PdfError> {
        match obj {
            Object::Str(s) if self.strings != Method::Identity => {
                *s = self.decrypt(self.strings, r, s, "a string")?;
            }
            Object::Array(a) => {
                for o in a {
                    self.decrypt_strings(r, o)?;
                }
            }
            Object::Dict(d) => self.decrypt_dict(r, d)?,
            _ => {}
        }
        Ok(())
    }

    pub fn decrypt_dict(&self, r: ObjRef, d: &mut Dict) -> Result<(), PdfError> {
        // A signature dictionary's /Contents is never encrypted (7.6.1).
        let signature = d.contains("ByteRange");
        for (k, v) in &mut d.0 {
            if signature && k.as_slice() == b"Contents" {
                continue;
            }
            self.decrypt_strings(r, v)?;
        }
        Ok(())
    }

    /// Decrypt the data of stream `r`.
    pub fn decrypt_stream(&self, r: ObjRef, data: &[u8]) -> Result<Vec<u8>, PdfError> {
        self.decrypt(self.streams, r, data, "a stream")
    }

    /// A copy of `obj`, object `r`'s value, with every string encrypted.
    pub fn encrypt_strings(&self, r: ObjRef, obj: &Object) -> Object {
        match obj {
            Object::Str(s) if self.strings != Method::Identity => {
                Object::Str(self.encrypt(self.strings, r, s))
            }
            Object::Array(a) => {
                Object::Array(a.iter().map(|o| self.encrypt_strings(r, o)).collect())
            }
            Object::Dict(d) => Object::Dict(self.encrypt_dict(r, d)),
            other => other.clone(),
        }
    }

    pub fn encrypt_dict(&self, r: ObjRef, d: &Dict) -> Dict {
        Dict(
            d.0.iter()
                .map(|(k, v)| (k.clone(), self.encrypt_strings(r, v)))
                .collect(),
        )
    }

    /// Encrypt the data of stream `r`.
    pub fn encrypt_stream(&self, r: ObjRef, data: &[u8]) -> Vec<u8> {
        self.encrypt(self.streams, r, data)
    }

    /// Algorithm 1: up to V4 each object's key is MD5 of the file key, the
    /// object number (3 bytes) and generation (2 bytes), low byte first,
    /// and for AES the bytes `sAlT`; V5 uses the file key for everything.
    fn object_key(&self, method: Method, r: ObjRef) -> Zeroizing<Vec<u8>> {
        if method == Method::Aes256 {
            return self.key.clone();
        }
        let mut h = Md5::new();
        h.update(self.key.as_slice());
        h.update(&r.num.to_le_bytes()[..3]);
        h.update(r.gen.to_le_bytes());
        if method == Method::Aes128 {
            h.update(b"sAlT");
        }
        let mut k = Zeroizing::new(h.finalize().to_vec());
        k.truncate((self.key.len() + 5).min(16));
        k
    }

    fn decrypt(
        &self,
        method: Method,
        r: ObjRef,
        data: &[u8],
        what: &str,
    ) -> Result<Vec<u8>, PdfError> {
        let bad = || PdfError::damaged(format!("{what} does not decrypt with the file key"));
        match method {
            Method::Identity => Ok(data.to_vec()),
            Method::Rc4 => {
                let mut out = data.to_vec();
                legacy::rc4(&self.object_key(method, r), &mut out);
                Ok(out)
            }
            // An empty string may be stored empty (some writers do).
            Method::Aes128 | Method::Aes256 if data.is_empty() => Ok(Vec::new()),
            Method::Aes128 | Method::Aes256 => {
                if data.len() < 32 || !data.len().is_multiple_of(16) {
                    return Err(bad());
                }
                let key = self.object_key(method, r);
                let (iv, body) = data.split_at(16);
                let plain = if method == Method::Aes128 {
                    Aes128CbcDec::new(key.as_slice().into(), iv.into())
                        .decrypt_padded_vec_mut::<Pkcs7>(body)
                } else {
                    Aes256CbcDec::new(key.as_slice().into(), iv.into())
                        .decrypt_padded_vec_mut::<Pkcs7>(body)
                };
                plain.map_err(|_| bad())
            }
        }
    }

    /// A fresh, unpredictable IV for every string and stream (7.6.3.1):
    /// SHA-256 of the random seed and a counter.
    fn next_iv(&self) -> [u8; 16] {
        let n = self.iv_counter.get();
        self.iv_counter.set(n.wrapping_add(1));
        let h = Sha256::new()
            .chain_update(self.iv_seed.as_slice())
            .chain_update(n.to_be_bytes())
            .finalize();
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&h[..16]);
        iv
    }

    fn encrypt(&self, method: Method, r: ObjRef, data: &[u8]) -> Vec<u8> {
        let key = self.object_key(method, r);
        match method {
            Method::Identity => data.to_vec(),
            Method::Rc4 => {
                let mut out = data.to_vec();
                legacy::rc4(&key, &mut out);
                out
            }
            Method::Aes128 | Method::Aes256 => {
                let iv = self.next_iv();
                let mut out = iv.to_vec();
                out.extend(if method == Method::Aes128 {
                    Aes128CbcEnc::new(key.as_slice().into(), &iv.into())
                        .encrypt_padded_vec_mut::<Pkcs7>(data)
                } else {
                    Aes256CbcEnc::new(key.as_slice().into(), &iv.into())
                        .encrypt_padded_vec_mut::<Pkcs7>(data)
                });
                out
            }
        }
    }
}

/// The method of the crypt filter that /StrF or /StmF names (V4 and V5).
fn method(encrypt: &Dict, which: &str, v: i64) -> Result<Method, PdfError> {
    let name = encrypt
        .get(which)
        .and_then(Object::as_name)
        .unwrap_or(b"Identity");
    if name == b"Identity" {
        return Ok(Method::Identity);
    }
    let cfm = encrypt
        .get("CF")
        .and_then(Object::as_dict)
        .and_then(|cf| {
            cf.0.iter()
                .rev()
                .find(|(k, _)| k.as_slice() == name)
                .map(|(_, v)| v)
        })
        .and_then(Object::as_dict)
        .and_then(|f| f.get("CFM"))
        .and_then(Object::as_name);
    match (cfm, v) {
        (Some(b"AESV3"), 5) => Ok(Method::Aes256),
        (Some(b"AESV2"), 4) => Ok(Method::Aes128),
        (Some(b"V2"), 4) => Ok(Method::Rc4),
        (Some(b"None"), _) => Ok(Method::Identity),
        _ => Err(PdfError::UnsupportedEncryption(format!(
            "its crypt filter /{} is not one the standard handler V{v} defines",
            String::from_utf8_lossy(name)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypt(method: Method, key: Vec<u8>) -> Crypt {
        Crypt {
            key: Zeroizing::new(key),
            strings: method,
            streams: method,
            owner: true,
            permissions: u32::MAX,
            encrypt_metadata: true,
            revision: 4,
            iv_seed: Zeroizing::new([1u8; 32]),
            iv_counter: std::cell::Cell::new(0),
        }
    }

    #[test]
    fn aes_strings_round_trip_with_a_fresh_iv() {
        for (m, key) in [
            (Method::Aes256, vec![7u8; 32]),
            (Method::Aes128, vec![7u8; 16]),
        ] {
            let c = crypt(m, key);
            let r = ObjRef::new(12, 0);
            let a = c.encrypt(m, r, b"Signature1");
            let b = c.encrypt(m, r, b"Signature1");
            assert_ne!(a, b);
            assert_eq!(a.len(), 32);
            assert_eq!(c.decrypt(m, r, &a, "x").expect("decrypts"), b"Signature1");
        }
    }

    #[test]
    fn rc4_object_keys_differ_per_object() {
        let c = crypt(Method::Rc4, vec![3u8; 5]);
        let a = c.encrypt(Method::Rc4, ObjRef::new(1, 0), b"same text");
        let b = c.encrypt(Method::Rc4, ObjRef::new(2, 0), b"same text");
        assert_ne!(a, b);
        assert_eq!(c.object_key(Method::Rc4, ObjRef::new(1, 0)).len(), 10);
        let back = c
            .decrypt(Method::Rc4, ObjRef::new(1, 0), &a, "x")
            .expect("rc4");
        assert_eq!(back, b"same text");
    }

    #[test]
    fn user_permissions_decide_signing() {
        let mut c = crypt(Method::Rc4, vec![3u8; 5]);
        c.owner = false;
        c.permissions = !(1 << 5 | 1 << 8);
        assert!(!c.permits_signing());
        c.permissions |= 1 << 8;
        assert!(c.permits_signing());
        c.owner = true;
        c.permissions = 0;
        assert!(c.permits_signing());
    }
}
