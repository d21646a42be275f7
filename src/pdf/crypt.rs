//! The standard security handler, AES-256 (V5, R5/R6; ISO 32000-2 7.6.4.3).
//!
//! Only what signing an encrypted file needs: check a password, recover the
//! file key, decrypt the strings and object streams signing reads, and
//! encrypt the strings and streams of the new revision with the same key.
//! With AES-256 every object uses the file key itself (no per-object key),
//! so re-serialised objects keep their numbers without any key change.

use aes::cipher::BlockEncryptMut;
use aes::cipher::{block_padding::NoPadding, block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use super::error::PdfError;
use super::object::{Dict, Object};

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// How strings or streams are protected, from the crypt filter named by
/// /StrF or /StmF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    /// `/Identity`: left as they are.
    Identity,
    /// `/AESV3`: AES-256-CBC with the file key, IV first, PKCS#5 padding.
    Aes256,
}

/// An opened security handler: the file key and the methods in use.
#[derive(Clone)]
pub struct Crypt {
    key: Zeroizing<[u8; 32]>,
    strings: Method,
    streams: Method,
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
            .finish_non_exhaustive()
    }
}

impl Crypt {
    /// Open the handler described by `encrypt` with `password` (user or
    /// owner). `Ok(None)` means the password is wrong.
    pub fn open(encrypt: &Dict, password: &[u8]) -> Result<Option<Crypt>, PdfError> {
        let unsupported = |what: &str| PdfError::UnsupportedEncryption(what.to_string());
        if !encrypt.get("Filter").is_some_and(|f| f.is_name("Standard")) {
            return Err(unsupported(
                "it uses a security handler other than the standard password one",
            ));
        }
        let v = encrypt.get("V").and_then(Object::as_int).unwrap_or(0);
        let r = encrypt.get("R").and_then(Object::as_int).unwrap_or(0);
        if v != 5 || !(r == 5 || r == 6) {
            return Err(unsupported(
                "only AES-256 encryption (PDF 2.0 / Acrobat X and later) is supported",
            ));
        }
        let field = |k: &str| -> Result<&[u8], PdfError> {
            encrypt
                .get(k)
                .and_then(Object::as_str)
                .filter(|s| s.len() >= 48)
                .ok_or_else(|| PdfError::damaged(format!("the /Encrypt dictionary's /{k} is bad")))
        };
        let o = &field("O")?[..48];
        let u = &field("U")?[..48];
        let oe = field_32(encrypt, "OE")?;
        let ue = field_32(encrypt, "UE")?;
        let strings = method(encrypt, "StrF")?;
        let streams = method(encrypt, "StmF")?;

        // Passwords are UTF-8 (SASLprep is not applied: it changes only
        // unusual characters) and at most 127 bytes (7.6.4.3.3).
        let pw = &password[..password.len().min(127)];
        let hash = |salt: &[u8], udata: &[u8]| hash_2b(r, pw, salt, udata);

        // Owner first: its password also opens the file for every purpose.
        let (intermediate, wrapped) = if *hash(&o[32..40], u) == o[..32] {
            (hash(&o[40..48], u), oe)
        } else if *hash(&u[32..40], &[]) == u[..32] {
            (hash(&u[40..48], &[]), ue)
        } else {
            return Ok(None);
        };
        // Algorithm 2.A: the file key is /OE or /UE decrypted with AES-256,
        // zero IV, no padding.
        let mut key = Zeroizing::new(wrapped);
        Aes256CbcDec::new(intermediate.as_slice().into(), &[0u8; 16].into())
            .decrypt_padded_mut::<NoPadding>(key.as_mut_slice())
            .map_err(|_| PdfError::damaged("the /Encrypt file key does not decrypt"))?;
        let mut iv_seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(iv_seed.as_mut_slice())
            .map_err(|e| PdfError::Internal(format!("no random numbers for IVs: {e}")))?;
        Ok(Some(Crypt {
            key,
            strings,
            streams,
            iv_seed,
            iv_counter: std::cell::Cell::new(0),
        }))
    }

    /// Decrypt every string inside `obj` (in place).
    pub fn decrypt_strings(&self, obj: &mut Object) -> Result<(), PdfError> {
        match obj {
            Object::Str(s) if self.strings == Method::Aes256 => {
                *s = self.decrypt(s, "a string")?;
            }
            Object::Array(a) => {
                for o in a {
                    self.decrypt_strings(o)?;
                }
            }
            Object::Dict(d) => self.decrypt_dict(d)?,
            _ => {}
        }
        Ok(())
    }

    pub fn decrypt_dict(&self, d: &mut Dict) -> Result<(), PdfError> {
        // A signature dictionary's /Contents is never encrypted (7.6.1).
        let signature = d.contains("ByteRange");
        for (k, v) in &mut d.0 {
            if signature && k.as_slice() == b"Contents" {
                continue;
            }
            self.decrypt_strings(v)?;
        }
        Ok(())
    }

    /// Decrypt stream data.
    pub fn decrypt_stream(&self, data: &[u8]) -> Result<Vec<u8>, PdfError> {
        match self.streams {
            Method::Identity => Ok(data.to_vec()),
            Method::Aes256 => self.decrypt(data, "a stream"),
        }
    }

    /// A copy of `obj` with every string encrypted.
    pub fn encrypt_strings(&self, obj: &Object) -> Object {
        match obj {
            Object::Str(s) if self.strings == Method::Aes256 => Object::Str(self.encrypt(s)),
            Object::Array(a) => Object::Array(a.iter().map(|o| self.encrypt_strings(o)).collect()),
            Object::Dict(d) => Object::Dict(self.encrypt_dict(d)),
            other => other.clone(),
        }
    }

    pub fn encrypt_dict(&self, d: &Dict) -> Dict {
        Dict(
            d.0.iter()
                .map(|(k, v)| (k.clone(), self.encrypt_strings(v)))
                .collect(),
        )
    }

    /// Encrypt stream data.
    pub fn encrypt_stream(&self, data: &[u8]) -> Vec<u8> {
        match self.streams {
            Method::Identity => data.to_vec(),
            Method::Aes256 => self.encrypt(data),
        }
    }

    fn decrypt(&self, data: &[u8], what: &str) -> Result<Vec<u8>, PdfError> {
        // An empty string may be stored empty (some writers do).
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let bad = || PdfError::damaged(format!("{what} does not decrypt with the file key"));
        if data.len() < 32 || !data.len().is_multiple_of(16) {
            return Err(bad());
        }
        let (iv, body) = data.split_at(16);
        Aes256CbcDec::new(self.key.as_slice().into(), iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(body)
            .map_err(|_| bad())
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

    fn encrypt(&self, data: &[u8]) -> Vec<u8> {
        let iv = self.next_iv();
        let mut out = iv.to_vec();
        out.extend(
            Aes256CbcEnc::new(self.key.as_slice().into(), &iv.into())
                .encrypt_padded_vec_mut::<Pkcs7>(data),
        );
        out
    }
}

fn field_32(encrypt: &Dict, k: &str) -> Result<[u8; 32], PdfError> {
    encrypt
        .get(k)
        .and_then(Object::as_str)
        .and_then(|s| s.get(..32))
        .and_then(|s| <[u8; 32]>::try_from(s).ok())
        .ok_or_else(|| PdfError::damaged(format!("the /Encrypt dictionary's /{k} is bad")))
}

/// The method of the crypt filter that /StrF or /StmF names.
fn method(encrypt: &Dict, which: &str) -> Result<Method, PdfError> {
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
    match cfm {
        Some(b"AESV3") => Ok(Method::Aes256),
        Some(b"None") => Ok(Method::Identity),
        _ => Err(PdfError::UnsupportedEncryption(
            "its crypt filter is not AES-256".into(),
        )),
    }
}

/// Algorithm 2.B (R6), or plain SHA-256 (R5): the hash of a password with
/// an 8-byte salt and, for the owner password, the 48-byte /U.
fn hash_2b(r: i64, pw: &[u8], salt: &[u8], udata: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut k: Zeroizing<Vec<u8>> = Zeroizing::new(
        Sha256::new()
            .chain_update(pw)
            .chain_update(salt)
            .chain_update(udata)
            .finalize()
            .to_vec(),
    );
    if r == 6 {
        let mut round: u32 = 0;
        loop {
            let mut k1: Zeroizing<Vec<u8>> =
                Zeroizing::new(Vec::with_capacity(64 * (pw.len() + k.len() + udata.len())));
            for _ in 0..64 {
                k1.extend_from_slice(pw);
                k1.extend_from_slice(&k);
                k1.extend_from_slice(udata);
            }
            // K1 is a multiple of 64 bytes long, so no padding is needed.
            let e = Zeroizing::new(
                Aes128CbcEnc::new(k[..16].into(), k[16..32].into())
                    .encrypt_padded_vec_mut::<NoPadding>(&k1),
            );
            // The first 16 bytes of E as a big number, modulo 3, picks the hash.
            let m = e[..16].iter().map(|&b| u32::from(b)).sum::<u32>() % 3;
            *k = match m {
                0 => Sha256::digest(&*e).to_vec(),
                1 => Sha384::digest(&*e).to_vec(),
                _ => Sha512::digest(&*e).to_vec(),
            };
            round += 1;
            let last = u32::from(e.last().copied().unwrap_or(0));
            if round >= 64 && last + 32 <= round {
                break;
            }
        }
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&k[..32]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_with_a_fresh_iv() {
        let c = Crypt {
            key: Zeroizing::new([7u8; 32]),
            strings: Method::Aes256,
            streams: Method::Aes256,
            iv_seed: Zeroizing::new([1u8; 32]),
            iv_counter: std::cell::Cell::new(0),
        };
        let a = c.encrypt(b"Signature1");
        let b = c.encrypt(b"Signature1");
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(c.decrypt(&a, "x").expect("decrypts"), b"Signature1");
    }
}
