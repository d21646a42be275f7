//! The RC4/AES-128 handler's passwords (V1–V4, R2–R4; ISO 32000-1
//! 7.6.3.3–7.6.3.4): the file key is MD5 of the padded password, /O, /P
//! and the first /ID, and a password is right when it reproduces /U.

use md5::{Digest, Md5};
use rc4::{KeyInit, Rc4, StreamCipher};
use zeroize::Zeroizing;

use super::super::error::PdfError;
use super::super::object::{Dict, Object};
use super::Opened;

/// The padding string passwords are completed with (7.6.3.3, Algorithm 2).
const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// What the key derivation needs from /Encrypt and the trailer.
pub struct Params<'a> {
    pub r: i64,
    /// File key length in bytes (5 to 16).
    pub key_len: usize,
    pub o: &'a [u8],
    pub u: &'a [u8],
    pub p: i64,
    pub id0: &'a [u8],
    pub encrypt_metadata: bool,
}

impl<'a> Params<'a> {
    pub fn from_dict(
        encrypt: &'a Dict,
        v: i64,
        r: i64,
        id0: &'a [u8],
    ) -> Result<Params<'a>, PdfError> {
        let field = |k: &str| -> Result<&'a [u8], PdfError> {
            encrypt
                .get(k)
                .and_then(Object::as_str)
                .filter(|s| s.len() >= 32)
                .map(|s| &s[..32])
                .ok_or_else(|| PdfError::damaged(format!("the /Encrypt dictionary's /{k} is bad")))
        };
        let bits = encrypt.get("Length").and_then(Object::as_int);
        let key_len = match (v, r) {
            (1, _) | (_, 2) => 5,
            // /Length is in bits, a multiple of 8 from 40 to 128; V4's
            // crypt filters default to 128.
            (_, _) => match bits {
                Some(b) if (40..=128).contains(&b) && b % 8 == 0 => (b / 8) as usize,
                Some(_) => {
                    return Err(PdfError::damaged(
                        "the /Encrypt /Length is not 40 to 128 bits",
                    ))
                }
                None if v == 4 => 16,
                None => 5,
            },
        };
        Ok(Params {
            r,
            key_len,
            o: field("O")?,
            u: field("U")?,
            p: encrypt
                .get("P")
                .and_then(Object::as_int)
                .ok_or_else(|| PdfError::damaged("the /Encrypt dictionary has no /P"))?,
            id0,
            encrypt_metadata: !matches!(encrypt.get("EncryptMetadata"), Some(Object::Bool(false))),
        })
    }
}

/// The file key for `password` (owner or user), or `None` when it opens
/// nothing.
pub fn open(p: &Params, password: &[u8]) -> Option<Opened> {
    // Owner first (Algorithm 7): the owner password unwraps the user
    // password from /O, which then has to open the file as usual.
    let user_from_owner = unwrap_user_password(p, password);
    if let Some(key) = check_user(p, &user_from_owner) {
        return Some(Opened { key, owner: true });
    }
    check_user(p, &padded(password)).map(|key| Opened { key, owner: false })
}

fn padded(password: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new(PAD);
    let n = password.len().min(32);
    out[..n].copy_from_slice(&password[..n]);
    out[n..].copy_from_slice(&PAD[..32 - n]);
    out
}

/// Algorithm 2: the file key from a padded user password.
fn file_key(p: &Params, padded_pw: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    let mut h = Md5::new();
    h.update(padded_pw);
    h.update(p.o);
    // /P as a 32-bit two's-complement integer, low byte first (writers
    // store it signed or unsigned; both have the same low 32 bits).
    h.update((p.p as u32).to_le_bytes());
    h.update(p.id0);
    if p.r >= 4 && !p.encrypt_metadata {
        h.update([0xff; 4]);
    }
    let mut digest = Zeroizing::new(h.finalize().to_vec());
    if p.r >= 3 {
        for _ in 0..50 {
            *digest = Md5::digest(&digest[..p.key_len]).to_vec();
        }
    }
    digest.truncate(p.key_len);
    digest
}

/// Algorithms 4–6: the file key if `padded_pw` is the user password.
fn check_user(p: &Params, padded_pw: &[u8; 32]) -> Option<Zeroizing<Vec<u8>>> {
    let key = file_key(p, padded_pw);
    let ok = if p.r == 2 {
        let mut u = Zeroizing::new(PAD);
        rc4(&key, u.as_mut_slice());
        u[..] == p.u[..32]
    } else {
        let mut h = Md5::new();
        h.update(PAD);
        h.update(p.id0);
        let mut x = Zeroizing::new(h.finalize().to_vec());
        for i in 0..20u8 {
            let k: Zeroizing<Vec<u8>> = Zeroizing::new(key.iter().map(|b| b ^ i).collect());
            rc4(&k, &mut x);
        }
        // Only the first 16 bytes are defined; the rest is arbitrary padding.
        x[..16] == p.u[..16]
    };
    ok.then_some(key)
}

/// Algorithm 7, steps a–b: the padded user password that /O holds,
/// decrypted with a key made from the owner password.
fn unwrap_user_password(p: &Params, owner: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut digest = Zeroizing::new(Md5::digest(padded(owner).as_slice()).to_vec());
    if p.r >= 3 {
        for _ in 0..50 {
            *digest = Md5::digest(digest.as_slice()).to_vec();
        }
    }
    let key = &digest[..p.key_len];
    let mut user = Zeroizing::new([0u8; 32]);
    user.copy_from_slice(p.o);
    if p.r == 2 {
        rc4(key, user.as_mut_slice());
    } else {
        for i in (0..20u8).rev() {
            let k: Zeroizing<Vec<u8>> = Zeroizing::new(key.iter().map(|b| b ^ i).collect());
            rc4(&k, user.as_mut_slice());
        }
    }
    user
}

/// RC4 in place (encrypting and decrypting are the same). Keys here are
/// 5 to 16 bytes: file keys (5–16) and object keys (n + 5, at most 16).
pub fn rc4(key: &[u8], data: &mut [u8]) {
    // The `rc4` crate fixes the key length in the type: pick the type by
    // the key's length.
    macro_rules! run {
        ($n:ty) => {{
            if let Ok(mut c) = Rc4::<$n>::new_from_slice(key) {
                c.apply_keystream(data);
            }
        }};
    }
    use rc4::consts::*;
    match key.len() {
        5 => run!(U5),
        6 => run!(U6),
        7 => run!(U7),
        8 => run!(U8),
        9 => run!(U9),
        10 => run!(U10),
        11 => run!(U11),
        12 => run!(U12),
        13 => run!(U13),
        14 => run!(U14),
        15 => run!(U15),
        _ => run!(U16),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_matches_the_published_test_vector() {
        // RFC 6229, key 0x0102030405, keystream bytes 0..16.
        let mut data = [0u8; 16];
        rc4(&[1, 2, 3, 4, 5], &mut data);
        assert_eq!(hex::encode(data), "b2396305f03dc027ccc3524a0a1118a8");
    }

    #[test]
    fn passwords_are_padded_with_the_standard_string() {
        assert_eq!(*padded(b""), PAD);
        let p = padded(b"ab");
        assert_eq!(&p[..2], b"ab");
        assert_eq!(&p[2..], &PAD[..30]);
    }
}
