//! The PKCS#11 adapter: cryptoki on one side, Mohor's plain types on the other.
//!
//! Nothing outside `token/` sees cryptoki. Login is a single method that makes
//! exactly one `C_Login` (the guard decides beforehand whether it may), and
//! signing is a [`Signer`] bound to a logged-in session.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use secrecy::SecretString;

use super::guard::PinFlags;
use super::inventory::{self, CertFacts, NotUsable};
use super::key_match::{self, CertKey, KeyFacts, Verdict};
use super::modules::{ModuleCandidate, ModuleSource};
use crate::sign::{DigestAlgorithm, SignError, SignatureAlgorithm, Signer};

/// How loading one module went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModuleReport {
    pub path: PathBuf,
    pub source: ModuleSource,
    pub loaded: bool,
    /// Library description and version when loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a token is, whichever driver shows it: the same token seen through
/// the vendor's module and through OpenSC is one token with one wrong-PIN
/// count. The label is left out: a person may rename the token, and drivers
/// decorate it (OpenSC adds "(User PIN)").
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TokenIdentity {
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
}

impl TokenIdentity {
    /// Key of Mohor's wrong-PIN counter for this token.
    pub fn counter_key(&self) -> String {
        format!("token:{}|{}|{}", self.manufacturer, self.model, self.serial)
    }
}

/// Which token, through which module: stable across re-insertion (slot ids
/// are not).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct TokenRef {
    pub module: PathBuf,
    pub serial: String,
    pub label: String,
    /// Shown in [`TokenReport`]; here only for the identity.
    #[serde(skip)]
    pub manufacturer: String,
    #[serde(skip)]
    pub model: String,
}

impl TokenRef {
    pub fn identity(&self) -> TokenIdentity {
        TokenIdentity {
            manufacturer: self.manufacturer.clone(),
            model: self.model.clone(),
            serial: self.serial.clone(),
        }
    }

    /// Key of Mohor's wrong-PIN counter for this token (and of the lock that
    /// lets one request at a time use it): the token's identity, not the
    /// module path or the label.
    pub fn counter_key(&self) -> String {
        self.identity().counter_key()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenReport {
    #[serde(flatten)]
    pub token: TokenRef,
    pub slot_id: u64,
    pub model: String,
    pub manufacturer: String,
    pub pin_flags: PinFlags,
    pub pin_min_len: usize,
    pub pin_max_len: usize,
    /// PIN pad on the reader: the PIN is typed on the device, not in Mohor.
    pub protected_authentication_path: bool,
}

/// One certificate on a token, with what Mohor knows about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CertificateEntry {
    pub id: String,
    pub token: TokenRef,
    /// CKA_ID, hex.
    pub object_id: String,
    pub label: String,
    /// A private or public key with the certificate's CKA_ID is visible
    /// before login.
    pub has_key: bool,
    /// When the private key is checked: now, or after the PIN (private
    /// objects are invisible before login and some tokens keep no public
    /// key beside them).
    pub key_check: KeyCheck,
    pub usable: bool,
    pub not_usable: Vec<NotUsable>,
    #[serde(flatten)]
    pub facts: CertFacts,
    #[serde(skip)]
    pub der: Vec<u8>,
}

/// See [`CertificateEntry::key_check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyCheck {
    /// A key object with the certificate's CKA_ID was seen before login.
    Seen,
    /// Nothing with the certificate's CKA_ID is visible before login: the
    /// private key is looked for after the PIN.
    AfterPin,
}

impl CertificateEntry {
    /// A note for a person about the key, when there is one to make.
    pub fn key_note(&self) -> Option<&'static str> {
        match self.key_check {
            KeyCheck::Seen => None,
            KeyCheck::AfterPin => Some("key checked after the PIN"),
        }
    }

    /// Sentence for a person: why this certificate cannot sign.
    pub fn not_usable_text(&self) -> String {
        self.not_usable
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Scan {
    pub tokens: Vec<TokenReport>,
    pub certificates: Vec<CertificateEntry>,
    /// Problems reading a token that did not stop the others.
    pub problems: Vec<String>,
}

/// Errors of the token edge, in terms the guard and the service act on.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is not present")]
    NotPresent,
    #[error("the token was removed")]
    Removed,
    #[error("the PIN is incorrect")]
    PinIncorrect,
    #[error("the PIN is locked on the token")]
    PinLocked,
    #[error("the PIN has a length the token does not accept")]
    PinLength,
    #[error("the token holds no private key for this certificate (checked after the PIN)")]
    KeyMissing,
    #[error("the certificate is no longer on the token")]
    CertificateGone,
    #[error("the token offers no mechanism Mohor can sign with for this key ({0})")]
    NoMechanism(String),
    #[error("the token driver reported an error: {0}")]
    Device(String),
}

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

impl From<TokenError> for crate::Error {
    fn from(e: TokenError) -> Self {
        use crate::error::Reason;
        let msg = e.to_string();
        match e {
            TokenError::NotPresent => crate::Error::new(Reason::TokenNotPresent, msg)
                .with_hint("insert the DSC token and try again"),
            TokenError::Removed => crate::Error::new(Reason::TokenRemoved, msg)
                .with_hint("insert the token again and repeat the request"),
            TokenError::PinIncorrect => crate::Error::new(Reason::PinIncorrect, msg),
            TokenError::PinLocked => crate::Error::new(Reason::PinLocked, msg)
                .with_hint("contact your DSC provider: the token's PIN is blocked"),
            TokenError::PinLength => crate::Error::new(Reason::PinIncorrect, msg),
            TokenError::KeyMissing => crate::Error::new(Reason::CertificateNotUsable, msg)
                .with_hint(
                    "the certificate was written to the token without its key, or the key was \
                     deleted; choose another certificate, or ask your DSC provider to re-issue it",
                ),
            TokenError::CertificateGone | TokenError::NoMechanism(_) => {
                crate::Error::new(Reason::CertificateNotUsable, msg)
                    .with_hint("choose another certificate")
            }
            TokenError::Device(_) => crate::Error::new(Reason::ModuleError, msg)
                .with_hint("remove and re-insert the token; if it persists, reinstall its driver"),
        }
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
                Ok((ctx, library)) => {
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
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(TokenError::from_ck(e)),
        }
        let mechanisms = m
            .ctx
            .get_mechanism_list(slot)
            .map_err(TokenError::from_ck)?;
        Ok(LoggedIn {
            session,
            mechanisms,
            token: token.clone(),
        })
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

fn load_module(path: &std::path::Path) -> Result<(Pkcs11, String), String> {
    if !path.exists() {
        return Err("file not found".into());
    }
    let ctx = Pkcs11::new(path).map_err(|e| format!("cannot load: {e}"))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(format!("C_Initialize failed: {e}")),
    }
    let library = match ctx.get_library_info() {
        Ok(info) => format!(
            "{} {} ({})",
            info.library_description().trim(),
            info.library_version(),
            info.manufacturer_id().trim()
        ),
        Err(e) => format!("(no library info: {e})"),
    };
    Ok((ctx, library))
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

/// A logged-in session. Logs out when dropped.
pub struct LoggedIn {
    session: Session,
    mechanisms: Vec<MechanismType>,
    token: TokenRef,
}

impl LoggedIn {
    /// A signer for `cert`, re-checking that the token still holds that
    /// certificate, and finding its private key now that private objects are
    /// visible: by CKA_ID, confirmed by the public key (see [`find_private_key`]).
    pub fn into_signer(
        self,
        cert: &CertificateEntry,
        chain: Vec<Vec<u8>>,
        digest: DigestAlgorithm,
        prefer_pss: bool,
    ) -> Result<Pkcs11Signer, TokenError> {
        let id = hex::decode(&cert.object_id).map_err(|_| TokenError::CertificateGone)?;
        if !still_holds(&self.session, &id, &cert.der)? {
            return Err(TokenError::CertificateGone);
        }
        let (key, facts) = find_private_key(&self.session, &id, &cert.der)?;
        let always_authenticate = facts.always_authenticate;
        let kind = KeyKind::from_facts(&cert.facts)
            .ok_or_else(|| TokenError::NoMechanism(cert.facts.key_algorithm.clone()))?;
        let (choice, algorithm) = choose_mechanism(kind, digest, &self.mechanisms, prefer_pss)
            .ok_or_else(|| TokenError::NoMechanism(cert.facts.key_algorithm.clone()))?;
        Ok(Pkcs11Signer {
            logged_in: self,
            key,
            kind,
            choice,
            algorithm,
            certificate: cert.der.clone(),
            chain,
            always_authenticate,
            context_pin: None,
        })
    }

    pub fn token(&self) -> &TokenRef {
        &self.token
    }
}

impl Drop for LoggedIn {
    fn drop(&mut self) {
        // Leave no authenticated session behind, whatever happened.
        let _ = self.session.logout();
    }
}

/// Does the token still hold the certificate `der`? Its own CKA_ID is
/// asked first (one search, one read); a token that cannot search by ID, or
/// a certificate without one, is answered by reading every certificate.
fn still_holds(session: &Session, id: &[u8], der: &[u8]) -> Result<bool, TokenError> {
    if !id.is_empty() {
        let handles = session
            .find_objects(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::Id(id.to_vec()),
            ])
            .map_err(TokenError::from_ck)?;
        for h in handles {
            let value = session
                .get_attributes(h, &[AttributeType::Value])
                .map_err(TokenError::from_ck)?;
            if value
                .iter()
                .any(|a| matches!(a, Attribute::Value(v) if v.as_slice() == der))
            {
                return Ok(true);
            }
        }
    }
    Ok(raw_certificates(session)?.into_iter().any(|c| c.der == der))
}

/// The private key of the certificate `cert_der`, looked for after login,
/// with what the token showed of it: among the keys with its CKA_ID first
/// (all keys when it has none or none fits), each judged against the
/// certificate's public key. The public half comes from the private key
/// object (RSA modulus; EC point where the token shows it) or else from a
/// public key object with the same CKA_ID. An EC key whose point the token
/// hides anywhere is accepted on its CKA_ID when the curve agrees. No
/// fitting key is [`TokenError::KeyMissing`].
fn find_private_key(
    session: &Session,
    id: &[u8],
    cert_der: &[u8],
) -> Result<(ObjectHandle, KeyFacts), TokenError> {
    let cert_key = CertKey::from_certificate(cert_der).ok_or(TokenError::KeyMissing)?;
    let by_id = if id.is_empty() {
        Vec::new()
    } else {
        session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(id.to_vec()),
            ])
            .map_err(TokenError::from_ck)?
    };
    // The public key object beside it, read only for an EC key that hides
    // its point (an RSA key always shows its modulus).
    let mut twin: Option<Option<KeyFacts>> = None;
    let mut curve_only = None;
    for key in &by_id {
        let mut facts = key_facts(session, *key);
        if facts.ec_point.is_none() && facts.modulus.is_none() {
            let twin = twin.get_or_insert_with(|| public_twin(session, id));
            facts.ec_point = twin.as_ref().and_then(|t| t.ec_point.clone());
        }
        match key_match::judge(&cert_key, &facts) {
            Verdict::Same => return Ok((*key, facts)),
            Verdict::CurveOnly => curve_only = curve_only.or(Some((*key, facts))),
            Verdict::Different => {}
        }
    }
    if let Some(found) = curve_only {
        return Ok(found);
    }
    // The CKA_ID pairing is missing or wrong: any private key that is
    // provably the certificate's will do.
    let all = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
        .map_err(TokenError::from_ck)?;
    all.into_iter()
        .filter(|k| !by_id.contains(k))
        .map(|k| (k, key_facts(session, k)))
        .find(|(_, facts)| key_match::judge(&cert_key, facts) == Verdict::Same)
        .ok_or(TokenError::KeyMissing)
}

/// The public key object with CKA_ID `id`, if the token keeps one.
fn public_twin(session: &Session, id: &[u8]) -> Option<KeyFacts> {
    if id.is_empty() {
        return None;
    }
    session
        .find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Id(id.to_vec()),
        ])
        .ok()?
        .first()
        .map(|h| key_facts(session, *h))
}

/// The public parts a token shows of one key object, and whether using it
/// needs the PIN again (CKA_ALWAYS_AUTHENTICATE), in one read; attributes a
/// token does not show are left out.
fn key_facts(session: &Session, key: ObjectHandle) -> KeyFacts {
    let attrs = session
        .get_attributes(
            key,
            &[
                AttributeType::Modulus,
                AttributeType::PublicExponent,
                AttributeType::EcPoint,
                AttributeType::EcParams,
                AttributeType::AlwaysAuthenticate,
            ],
        )
        .unwrap_or_default();
    let mut facts = KeyFacts::default();
    for a in attrs {
        match a {
            Attribute::Modulus(m) => facts.modulus = Some(m),
            Attribute::PublicExponent(e) => facts.public_exponent = Some(e),
            Attribute::EcPoint(p) => facts.ec_point = Some(p),
            Attribute::EcParams(p) => facts.ec_params = Some(p),
            Attribute::AlwaysAuthenticate(a) => facts.always_authenticate = a,
            _ => {}
        }
    }
    facts
}

/// A token-backed [`Signer`].
pub struct Pkcs11Signer {
    logged_in: LoggedIn,
    key: ObjectHandle,
    kind: KeyKind,
    choice: MechanismChoice,
    algorithm: SignatureAlgorithm,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    always_authenticate: bool,
    /// For keys with CKA_ALWAYS_AUTHENTICATE: the PIN the guard already let
    /// through, reused for the context-specific login of this one operation.
    context_pin: Option<SecretString>,
}

impl Pkcs11Signer {
    pub fn needs_context_login(&self) -> bool {
        self.always_authenticate
    }

    /// Provide the PIN for the context-specific login of a key with
    /// CKA_ALWAYS_AUTHENTICATE (the same PIN that just logged in).
    pub fn set_context_pin(&mut self, pin: SecretString) {
        self.context_pin = Some(pin);
    }

    pub fn mechanism(&self) -> MechanismChoice {
        self.choice
    }

    fn sign_once(&self, mechanism: &Mechanism, data: &[u8]) -> Result<Vec<u8>, SignError> {
        let session = &self.logged_in.session;
        if self.always_authenticate {
            let pin = self.context_pin.as_ref().ok_or(SignError::NotLoggedIn)?;
            session.sign_init(mechanism, self.key).map_err(sign_error)?;
            session
                .login(UserType::ContextSpecific, Some(pin))
                .map_err(sign_error)?;
            session.sign_update(data).map_err(sign_error)?;
            session.sign_final().map_err(sign_error)
        } else {
            session.sign(mechanism, self.key, data).map_err(sign_error)
        }
    }
}

fn sign_error(e: CkError) -> SignError {
    match TokenError::from_ck(e) {
        TokenError::Removed | TokenError::NotPresent => SignError::TokenRemoved,
        TokenError::Device(d) if d.contains("UserNotLoggedIn") => SignError::NotLoggedIn,
        other => SignError::Device(other.to_string()),
    }
}

impl Signer for Pkcs11Signer {
    fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn max_signature_len(&self) -> usize {
        self.kind.max_signature_len()
    }

    fn sign_raw(&mut self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let digest = self.algorithm.digest();
        match self.choice {
            MechanismChoice::RsaPkcsWithHash => {
                let m = match digest {
                    DigestAlgorithm::Sha256 => Mechanism::Sha256RsaPkcs,
                    DigestAlgorithm::Sha384 => Mechanism::Sha384RsaPkcs,
                    DigestAlgorithm::Sha512 => Mechanism::Sha512RsaPkcs,
                };
                self.sign_once(&m, message)
            }
            MechanismChoice::RsaPkcsRaw => {
                let mut info = digest.digest_info_prefix().to_vec();
                info.extend(digest.digest(message));
                self.sign_once(&Mechanism::RsaPkcs, &info)
            }
            MechanismChoice::RsaPssWithHash => {
                use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
                let (hash, mgf) = match digest {
                    DigestAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
                    DigestAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
                    DigestAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
                };
                let params = PkcsPssParams {
                    hash_alg: hash,
                    mgf,
                    s_len: (digest.len() as u64).into(),
                };
                let m = match digest {
                    DigestAlgorithm::Sha256 => Mechanism::Sha256RsaPkcsPss(params),
                    DigestAlgorithm::Sha384 => Mechanism::Sha384RsaPkcsPss(params),
                    DigestAlgorithm::Sha512 => Mechanism::Sha512RsaPkcsPss(params),
                };
                self.sign_once(&m, message)
            }
            MechanismChoice::EcdsaWithHash => {
                let m = match digest {
                    DigestAlgorithm::Sha256 => Mechanism::EcdsaSha256,
                    DigestAlgorithm::Sha384 => Mechanism::EcdsaSha384,
                    DigestAlgorithm::Sha512 => Mechanism::EcdsaSha512,
                };
                let raw = self.sign_once(&m, message)?;
                ecdsa_raw_to_der(&raw)
            }
            MechanismChoice::EcdsaRaw => {
                let raw = self.sign_once(&Mechanism::Ecdsa, &digest.digest(message))?;
                ecdsa_raw_to_der(&raw)
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
