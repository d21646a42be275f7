//! The PKCS#11 adapter: cryptoki on one side, Mohor's plain types
//! ([`super::model`]) on the other. This module loads the drivers, lists
//! their tokens and certificates and logs in; `signer.rs` turns a logged-in
//! session into a [`crate::sign::Signer`]; `mechanism.rs` chooses how it signs.
//!
//! Nothing outside `token/pkcs11` sees cryptoki. Login is a single method
//! that makes exactly one `C_Login` (the guard decides beforehand whether it
//! may).

mod mechanism;
mod signer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use secrecy::SecretString;

use super::guard::PinFlags;
use super::inventory;
use super::model::{
    CertificateEntry, KeyCheck, ModuleReport, Scan, TokenError, TokenIdentity, TokenRef,
    TokenReport,
};
use super::modules::ModuleCandidate;

pub use mechanism::{choose_mechanism, ecdsa_raw_to_der, KeyKind, MechanismChoice};
pub use signer::{LoggedIn, Pkcs11Signer};

impl TokenError {
    fn from_ck(e: CkError) -> Self {
        match e {
            CkError::Pkcs11(rv, _) => match rv {
                RvError::PinIncorrect => TokenError::PinIncorrect,
                RvError::PinLocked => TokenError::PinLocked,
                RvError::PinLenRange => TokenError::PinLength,
                RvError::DeviceRemoved | RvError::SessionHandleInvalid | RvError::SessionClosed => {
                    TokenError::Removed
                }
                RvError::TokenNotPresent | RvError::TokenNotRecognized => TokenError::NotPresent,
                other => TokenError::Device(format!("{other:?}")),
            },
            other => TokenError::Device(other.to_string()),
        }
    }
}

/// What a failed `C_Login` says about the PIN. Wrong and locked are told
/// apart; codes that show the PIN was never judged (it did not reach the
/// card, or the card was pulled out: a person's act, not a script's) give
/// the try back; any other code may be a driver's own way of saying
/// "wrong", so it is counted as a wrong PIN — the side that cannot burn
/// the token's last tries.
fn login_error(e: CkError) -> TokenError {
    let CkError::Pkcs11(rv, _) = &e else {
        return TokenError::from_ck(e);
    };
    match rv {
        RvError::PinIncorrect
        | RvError::PinLocked
        | RvError::PinLenRange
        | RvError::PinInvalid
        | RvError::PinExpired
        | RvError::DeviceRemoved
        | RvError::SessionHandleInvalid
        | RvError::SessionClosed
        | RvError::TokenNotPresent
        | RvError::TokenNotRecognized
        | RvError::CryptokiNotInitialized
        | RvError::ArgumentsBad
        | RvError::UserTypeInvalid
        | RvError::UserAnotherAlreadyLoggedIn
        | RvError::UserTooManyTypes
        | RvError::UserPinNotInitialized
        | RvError::FunctionNotSupported => TokenError::from_ck(e),
        other => TokenError::PinAnswerUnclear(format!("{other:?}")),
    }
}

struct LoadedModule {
    path: PathBuf,
    ctx: Pkcs11,
    /// The slot each token was last seen in. A token is looked up several
    /// times a request (status, status again after the PIN, login); asking
    /// its last slot first is one `C_GetTokenInfo` instead of listing the
    /// slots and asking each — on a USB token every call is a round trip.
    last_slot: Mutex<HashMap<TokenIdentity, Slot>>,
    /// This load's `C_Initialize` started the library (another load of the
    /// same file in this process found it started): this one finalizes it.
    initialized_here: bool,
}

/// PKCS#11 asks an application to call `C_Finalize` when it is done with a
/// library; a vendor's driver may run a reader-watching thread that only
/// `C_Finalize` stops before the library is unloaded. The last holder of
/// the agent drops the modules once no request or poll is inside them (see
/// `cli::agent`), so no call is under way here.
impl Drop for LoadedModule {
    fn drop(&mut self) {
        if self.initialized_here {
            if let Err(e) = self.ctx.clone().finalize() {
                tracing::debug!("C_Finalize of {}: {e}", self.path.display());
            }
        }
    }
}

impl LoadedModule {
    /// Only tokens with a serial number: two serial-less tokens of one
    /// model look alike, and the slot search keeps taking the first.
    fn remember(&self, identity: TokenIdentity, slot: Slot) {
        if identity.serial.is_empty() {
            return;
        }
        if let Ok(mut slots) = self.last_slot.lock() {
            slots.insert(identity, slot);
        }
    }

    fn remembered(&self, identity: &TokenIdentity) -> Option<Slot> {
        self.last_slot.lock().ok()?.get(identity).copied()
    }
}

/// Every loaded module. Cheap to share: cryptoki contexts are thread-safe;
/// sessions are not shared between threads.
pub struct Pkcs11Tokens {
    modules: Vec<LoadedModule>,
    reports: Vec<ModuleReport>,
}

impl Pkcs11Tokens {
    /// Load each candidate; one that fails is reported and skipped.
    pub fn load(candidates: &[ModuleCandidate]) -> Self {
        let mut modules = Vec::new();
        let mut reports = Vec::new();
        for c in candidates {
            match load_module(&c.path) {
                Ok((ctx, library, initialized_here)) => {
                    reports.push(ModuleReport {
                        path: c.path.clone(),
                        source: c.source.clone(),
                        loaded: true,
                        library: Some(library),
                        error: None,
                    });
                    modules.push(LoadedModule {
                        path: c.path.clone(),
                        ctx,
                        last_slot: Mutex::new(HashMap::new()),
                        initialized_here,
                    });
                }
                Err(error) => reports.push(ModuleReport {
                    path: c.path.clone(),
                    source: c.source.clone(),
                    loaded: false,
                    library: None,
                    error: Some(error),
                }),
            }
        }
        Pkcs11Tokens { modules, reports }
    }

    pub fn module_reports(&self) -> &[ModuleReport] {
        &self.reports
    }

    /// Tokens and certificates present now. A token seen through a second
    /// module (OpenSC beside the vendor's driver) is listed for each module,
    /// but its certificates once, through the first: it is one token, and one
    /// certificate must not become two choices.
    pub fn scan(&self, now: time::OffsetDateTime) -> Scan {
        let mut scan = Scan::default();
        let mut seen: Vec<TokenIdentity> = Vec::new();
        for m in &self.modules {
            let slots = match m.ctx.get_slots_with_token() {
                Ok(s) => s,
                Err(e) => {
                    scan.problems
                        .push(format!("{}: cannot list slots: {e}", m.path.display()));
                    continue;
                }
            };
            for slot in slots {
                match read_token(m, slot) {
                    Ok(Some(report)) => {
                        let identity = report.token.identity();
                        if !identity.serial.is_empty() && seen.contains(&identity) {
                            scan.tokens.push(report);
                            continue;
                        }
                        seen.push(identity);
                        match read_certificates(m, slot, &report.token, now) {
                            Ok(certs) => scan.certificates.extend(certs),
                            Err(e) => scan.problems.push(format!(
                                "token \"{}\": cannot read certificates: {e}",
                                report.token.label
                            )),
                        }
                        scan.tokens.push(report);
                    }
                    // Uninitialised slot (SoftHSM always shows one): not an error.
                    Ok(None) => {}
                    Err(e) => {
                        scan.problems
                            .push(format!("{} slot {}: {e}", m.path.display(), slot.id()))
                    }
                }
            }
        }
        scan
    }

    /// Fresh token info (PIN flags change as PINs are typed).
    pub fn token_status(&self, token: &TokenRef) -> Result<TokenReport, TokenError> {
        let (m, slot, info) = self.find_slot(token)?;
        report_from(m, slot, &info).ok_or(TokenError::NotPresent)
    }

    /// Exactly one `C_Login` with this PIN. The caller has asked the guard.
    pub fn login(&self, token: &TokenRef, pin: &SecretString) -> Result<LoggedIn, TokenError> {
        let (m, slot, _) = self.find_slot(token)?;
        let session = m.ctx.open_ro_session(slot).map_err(TokenError::from_ck)?;
        match session.login(UserType::User, Some(pin)) {
            Ok(()) => {}
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
                // The PIN was not checked: another session of this process
                // is logged in. Log out and send it once more, so that what
                // the person typed is judged (a driver that still answers
                // this way gets its answer counted as unclear).
                if let Err(e) = session.logout() {
                    tracing::debug!("C_Logout before a second C_Login: {e}");
                }
                session
                    .login(UserType::User, Some(pin))
                    .map_err(login_error)?;
            }
            Err(e) => return Err(login_error(e)),
        }
        let mechanisms = m
            .ctx
            .get_mechanism_list(slot)
            .map_err(TokenError::from_ck)?;
        Ok(LoggedIn::new(session, mechanisms, token.clone()))
    }

    /// The slot `token` is in now, and its fresh token info: the slot it
    /// was last seen in if it is still there, else every slot asked in turn
    /// (a token pulled out and put back may come back in another).
    fn find_slot(&self, token: &TokenRef) -> Result<(&LoadedModule, Slot, TokenInfo), TokenError> {
        let m = self
            .modules
            .iter()
            .find(|m| m.path == token.module)
            .ok_or(TokenError::NotPresent)?;
        let wanted = token.identity();
        if let Some(slot) = m.remembered(&wanted) {
            if let Ok(info) = m.ctx.get_token_info(slot) {
                if identity_of(&info) == wanted {
                    return Ok((m, slot, info));
                }
            }
        }
        let slots = m.ctx.get_slots_with_token().map_err(TokenError::from_ck)?;
        for slot in slots {
            if let Ok(info) = m.ctx.get_token_info(slot) {
                if identity_of(&info) == wanted {
                    m.remember(wanted, slot);
                    return Ok((m, slot, info));
                }
            }
        }
        Err(TokenError::NotPresent)
    }
}

fn identity_of(info: &TokenInfo) -> TokenIdentity {
    TokenIdentity {
        manufacturer: info.manufacturer_id().trim().to_string(),
        model: info.model().trim().to_string(),
        serial: info.serial_number().trim().to_string(),
    }
}

/// The loaded library, its description, and whether this load initialised it.
fn load_module(path: &std::path::Path) -> Result<(Pkcs11, String, bool), String> {
    if !path.exists() {
        return Err("file not found".into());
    }
    let ctx = Pkcs11::new(path).map_err(|e| format!("cannot load: {e}"))?;
    let initialized_here =
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) => true,
            Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => false,
            Err(e) => return Err(format!("C_Initialize failed: {e}")),
        };
    let library = match ctx.get_library_info() {
        Ok(info) => format!(
            "{} {} ({})",
            info.library_description().trim(),
            info.library_version(),
            info.manufacturer_id().trim()
        ),
        Err(e) => format!("(no library info: {e})"),
    };
    Ok((ctx, library, initialized_here))
}

fn read_token(m: &LoadedModule, slot: Slot) -> Result<Option<TokenReport>, TokenError> {
    let info = m.ctx.get_token_info(slot).map_err(TokenError::from_ck)?;
    let report = report_from(m, slot, &info);
    if report.is_some() {
        m.remember(identity_of(&info), slot);
    }
    Ok(report)
}

/// What `info` says of the token in `slot`; nothing for an uninitialised one.
fn report_from(m: &LoadedModule, slot: Slot, info: &TokenInfo) -> Option<TokenReport> {
    if !info.token_initialized() {
        return None;
    }
    Some(TokenReport {
        token: TokenRef {
            module: m.path.clone(),
            serial: info.serial_number().trim().to_string(),
            label: info.label().trim().to_string(),
            manufacturer: info.manufacturer_id().trim().to_string(),
            model: info.model().trim().to_string(),
        },
        slot_id: slot.id(),
        model: info.model().trim().to_string(),
        manufacturer: info.manufacturer_id().trim().to_string(),
        pin_flags: PinFlags {
            count_low: info.user_pin_count_low(),
            final_try: info.user_pin_final_try(),
            locked: info.user_pin_locked(),
        },
        pin_min_len: info.min_pin_length(),
        pin_max_len: info.max_pin_length(),
        protected_authentication_path: info.protected_authentication_path(),
    })
}

fn object_ids(session: &Session, class: ObjectClass) -> Result<Vec<Vec<u8>>, TokenError> {
    let handles = session
        .find_objects(&[Attribute::Class(class)])
        .map_err(TokenError::from_ck)?;
    let mut ids = Vec::new();
    for h in handles {
        let attrs = session
            .get_attributes(h, &[AttributeType::Id])
            .map_err(TokenError::from_ck)?;
        for a in attrs {
            if let Attribute::Id(id) = a {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

struct RawCert {
    id: Vec<u8>,
    label: String,
    der: Vec<u8>,
}

fn raw_certificates(session: &Session) -> Result<Vec<RawCert>, TokenError> {
    let handles = session
        .find_objects(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::CertificateType(CertificateType::X_509),
        ])
        .map_err(TokenError::from_ck)?;
    let mut out = Vec::new();
    for h in handles {
        let attrs = session
            .get_attributes(
                h,
                &[
                    AttributeType::Value,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )
            .map_err(TokenError::from_ck)?;
        let mut cert = RawCert {
            id: vec![],
            label: String::new(),
            der: vec![],
        };
        for a in attrs {
            match a {
                Attribute::Value(v) => cert.der = v,
                Attribute::Id(id) => cert.id = id,
                Attribute::Label(l) => cert.label = String::from_utf8_lossy(&l).into_owned(),
                _ => {}
            }
        }
        if !cert.der.is_empty() {
            out.push(cert);
        }
    }
    Ok(out)
}

fn read_certificates(
    m: &LoadedModule,
    slot: Slot,
    token: &TokenRef,
    now: time::OffsetDateTime,
) -> Result<Vec<CertificateEntry>, TokenError> {
    let session = m.ctx.open_ro_session(slot).map_err(TokenError::from_ck)?;
    // Private keys are usually private objects, invisible before login; the
    // public key a DSC token keeps beside them is the visible witness. When
    // there is none (some enrolment tools write no public key) the
    // certificate is still offered: its key is looked for after the PIN.
    let mut key_ids = object_ids(&session, ObjectClass::PRIVATE_KEY)?;
    key_ids.extend(object_ids(&session, ObjectClass::PUBLIC_KEY)?);
    let mut out = Vec::new();
    for raw in raw_certificates(&session)? {
        let facts = match inventory::facts(&raw.der) {
            Ok(f) => f,
            // A certificate we cannot parse is not offered; it is not fatal.
            Err(_) => continue,
        };
        let has_key = !raw.id.is_empty() && key_ids.contains(&raw.id);
        let key_check = if has_key {
            KeyCheck::Seen
        } else {
            KeyCheck::AfterPin
        };
        let not_usable = inventory::usability(&facts, true, now);
        out.push(CertificateEntry {
            id: facts.id(),
            token: token.clone(),
            object_id: hex::encode(&raw.id),
            label: raw.label,
            has_key,
            key_check,
            usable: not_usable.is_empty(),
            not_usable,
            facts,
            der: raw.der,
        });
    }
    Ok(out)
}
