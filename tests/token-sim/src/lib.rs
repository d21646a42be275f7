//! `mohor-token-sim`: a PKCS#11 module for tests that forwards every call to a real module
//! (SoftHSM2 by default) and injects what SoftHSM cannot show: a user-PIN retry counter with
//! lockout, token removal, hidden mechanisms, other token models and slowness.
//!
//! Built as a `cdylib` it exports `C_GetFunctionList` and is loaded like any token driver
//! (`cryptoki::context::Pkcs11::new(path)`). Built as an `rlib` it gives tests the
//! [`harness`] helpers to drive it. See `README.md` for the `control.json` schema.
//!
//! This is the one crate of the project allowed to use `unsafe`: it is confined to the FFI
//! boundary (`wrappers`, `target`), the `flock(2)` call in `shared` and the `atexit(3)` call
//! in `exit_watch`, each with the reason it is sound.

#![deny(unsafe_op_in_unsafe_fn)]

mod exit_watch;
pub mod harness;
mod names;
mod sessions;
pub mod shared;
mod target;
mod wrappers;

use cryptoki_sys::{CK_FUNCTION_LIST, CK_MECHANISM_TYPE, CK_RV, CK_VERSION};

pub use wrappers::C_GetFunctionList;

macro_rules! function_list {
    ($($name:ident),* $(,)?) => {
        /// The list handed out by `C_GetFunctionList`: every entry is a wrapper.
        pub(crate) static FUNCTION_LIST: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
            version: CK_VERSION { major: 2, minor: 40 },
            $($name: Some(wrappers::$name),)*
        };

        /// Names of every PKCS#11 2.40 function, as accepted in `control.json`.
        pub const FUNCTION_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

function_list![
    C_Initialize,
    C_Finalize,
    C_GetInfo,
    C_GetFunctionList,
    C_GetSlotList,
    C_GetSlotInfo,
    C_GetTokenInfo,
    C_GetMechanismList,
    C_GetMechanismInfo,
    C_InitToken,
    C_InitPIN,
    C_SetPIN,
    C_OpenSession,
    C_CloseSession,
    C_CloseAllSessions,
    C_GetSessionInfo,
    C_GetOperationState,
    C_SetOperationState,
    C_Login,
    C_Logout,
    C_CreateObject,
    C_CopyObject,
    C_DestroyObject,
    C_GetObjectSize,
    C_GetAttributeValue,
    C_SetAttributeValue,
    C_FindObjectsInit,
    C_FindObjects,
    C_FindObjectsFinal,
    C_EncryptInit,
    C_Encrypt,
    C_EncryptUpdate,
    C_EncryptFinal,
    C_DecryptInit,
    C_Decrypt,
    C_DecryptUpdate,
    C_DecryptFinal,
    C_DigestInit,
    C_Digest,
    C_DigestUpdate,
    C_DigestKey,
    C_DigestFinal,
    C_SignInit,
    C_Sign,
    C_SignUpdate,
    C_SignFinal,
    C_SignRecoverInit,
    C_SignRecover,
    C_VerifyInit,
    C_Verify,
    C_VerifyUpdate,
    C_VerifyFinal,
    C_VerifyRecoverInit,
    C_VerifyRecover,
    C_DigestEncryptUpdate,
    C_DecryptDigestUpdate,
    C_SignEncryptUpdate,
    C_DecryptVerifyUpdate,
    C_GenerateKey,
    C_GenerateKeyPair,
    C_WrapKey,
    C_UnwrapKey,
    C_DeriveKey,
    C_SeedRandom,
    C_GenerateRandom,
    C_GetFunctionStatus,
    C_CancelFunction,
    C_WaitForSlotEvent,
];

/// `"CKM_SHA256_RSA_PKCS"`, `"0x40"` or `"64"` → the mechanism number.
pub fn mechanism_from_name(name: &str) -> Option<CK_MECHANISM_TYPE> {
    if let Some(&(_, value)) = names::MECHANISMS.iter().find(|(n, _)| *n == name) {
        return Some(value);
    }
    match name.strip_prefix("0x").or_else(|| name.strip_prefix("0X")) {
        Some(hex) => CK_MECHANISM_TYPE::from_str_radix(hex, 16).ok(),
        None => name.parse().ok(),
    }
}

/// The mechanism's PKCS#11 name, or its number in hex.
pub fn mechanism_name(mechanism: CK_MECHANISM_TYPE) -> String {
    names::MECHANISMS
        .iter()
        .find(|(_, v)| *v == mechanism)
        .map_or_else(|| format!("{mechanism:#x}"), |(n, _)| (*n).to_owned())
}

/// The return value's PKCS#11 name (`"CKR_PIN_LOCKED"`), or its number in hex.
/// The return value named `name` (`"CKR_FUNCTION_FAILED"`).
pub fn rv_from_name(name: &str) -> Option<CK_RV> {
    names::RETURN_VALUES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

pub fn rv_name(rv: CK_RV) -> String {
    names::RETURN_VALUES
        .iter()
        .find(|(_, v)| *v == rv)
        .map_or_else(|| format!("{rv:#x}"), |(n, _)| (*n).to_owned())
}

/// Tells the test why the sim is refusing to work: stderr, and `errors.log` in the shared
/// directory if there is one.
pub(crate) fn report_error(msg: &str) {
    eprintln!("mohor-token-sim: {msg}");
    if let Some(dir) = std::env::var_os(shared::DIR_ENV) {
        let line = format!("{} pid {}: {msg}\n", shared::now_ms(), std::process::id());
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(std::path::Path::new(&dir).join(shared::ERRORS_FILE))
            .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki_sys::{CKM_ECDSA_SHA256, CKM_SHA256_RSA_PKCS, CKR_PIN_LOCKED};

    #[test]
    fn names_and_numbers() {
        assert_eq!(
            mechanism_from_name("CKM_SHA256_RSA_PKCS"),
            Some(CKM_SHA256_RSA_PKCS)
        );
        assert_eq!(mechanism_from_name("0x1044"), Some(CKM_ECDSA_SHA256));
        assert_eq!(mechanism_from_name("64"), Some(CKM_SHA256_RSA_PKCS));
        assert_eq!(mechanism_from_name("CKM_SHA257"), None);
        assert_eq!(mechanism_name(CKM_ECDSA_SHA256), "CKM_ECDSA_SHA256");
        assert_eq!(mechanism_name(0x8000_1234), "0x80001234");
        assert_eq!(rv_name(CKR_PIN_LOCKED), "CKR_PIN_LOCKED");
        assert_eq!(FUNCTION_NAMES.len(), 68);
    }
}
