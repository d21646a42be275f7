//! The AES-256 handler's passwords (V5, R5/R6; ISO 32000-2 7.6.4.3.3–4):
//! check a password against /U or /O and unwrap the file key.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use super::super::error::PdfError;
use super::super::object::{Dict, Object};
use super::Opened;

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// The file key for `password` (user or owner), or `None` when it opens
/// nothing.
pub fn open(encrypt: &Dict, r: i64, password: &[u8]) -> Result<Option<Opened>, PdfError> {
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

    // Passwords are UTF-8 (SASLprep is not applied: it changes only
    // unusual characters) and at most 127 bytes (7.6.4.3.3).
    let pw = &password[..password.len().min(127)];
    let hash = |salt: &[u8], udata: &[u8]| hash_2b(r, pw, salt, udata);

    // Owner first: its password also opens the file for every purpose.
    let (intermediate, wrapped, owner) = if *hash(&o[32..40], u) == o[..32] {
        (hash(&o[40..48], u), oe, true)
    } else if *hash(&u[32..40], &[]) == u[..32] {
        (hash(&u[40..48], &[]), ue, false)
    } else {
        return Ok(None);
    };
    // Algorithm 2.A: the file key is /OE or /UE decrypted with AES-256,
    // zero IV, no padding.
    let mut key = Zeroizing::new(wrapped.to_vec());
    Aes256CbcDec::new(intermediate.as_slice().into(), &[0u8; 16].into())
        .decrypt_padded_mut::<NoPadding>(key.as_mut_slice())
        .map_err(|_| PdfError::damaged("the /Encrypt file key does not decrypt"))?;
    Ok(Some(Opened { key, owner }))
}

fn field_32(encrypt: &Dict, k: &str) -> Result<[u8; 32], PdfError> {
    encrypt
        .get(k)
        .and_then(Object::as_str)
        .and_then(|s| s.get(..32))
        .and_then(|s| <[u8; 32]>::try_from(s).ok())
        .ok_or_else(|| PdfError::damaged(format!("the /Encrypt dictionary's /{k} is bad")))
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
