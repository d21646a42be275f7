//! An in-process token for tests of the request pipeline (feature
//! `software-signer`, never in a release): software keys behind the
//! [`Tokens`] seam, with a user PIN that counts wrong tries and locks like a
//! DSC token, and a log of every login. The cryptoki adapter itself is tested
//! against SoftHSM and `tests/token-sim`, not through this.

use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

use super::guard::PinFlags;
use super::inventory;
use super::model::{
    CertificateEntry, KeyCheck, ModuleReport, Scan, TokenError, TokenRef, TokenReport,
};
use super::seam::{TokenSession, TokenSigner, Tokens};
use crate::sign::software::SoftwareSigner;
use crate::sign::DigestAlgorithm;

/// One key on a fake token: PKCS#8 key, certificate and CA chain, PEM.
#[derive(Clone)]
pub struct FakeKey {
    pub key_pem: String,
    pub cert_pem: String,
    pub chain_pem: String,
}

/// What a fake token is and how it behaves.
#[derive(Clone)]
pub struct FakeToken {
    pub label: String,
    pub serial: String,
    pub model: String,
    pub manufacturer: String,
    pub pin: String,
    /// Consecutive wrong PINs after which the token locks for good.
    pub retry_limit: u32,
    pub keys: Vec<FakeKey>,
}

impl FakeToken {
    pub fn new(label: &str, serial: &str, pin: &str, keys: Vec<FakeKey>) -> Self {
        FakeToken {
            label: label.into(),
            serial: serial.into(),
            model: "FakeToken".into(),
            manufacturer: "Mohor tests".into(),
            pin: pin.into(),
            retry_limit: 8,
            keys,
        }
    }
}

/// What one `login` call met, for tests to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    pub serial: String,
    pub result: Result<(), TokenError>,
}

struct TokenState {
    spec: FakeToken,
    wrong: u32,
    present: bool,
}

/// Fake tokens in one process.
pub struct FakeTokens {
    tokens: Mutex<Vec<TokenState>>,
    logins: Mutex<Vec<LoginRecord>>,
    reports: Vec<ModuleReport>,
}

const MODULE: &str = "fake-token-module";

impl FakeTokens {
    pub fn new(tokens: Vec<FakeToken>) -> Self {
        FakeTokens {
            tokens: Mutex::new(
                tokens
                    .into_iter()
                    .map(|spec| TokenState {
                        spec,
                        wrong: 0,
                        present: true,
                    })
                    .collect(),
            ),
            logins: Mutex::new(Vec::new()),
            reports: Vec::new(),
        }
    }

    /// Every login so far, in order.
    pub fn logins(&self) -> Vec<LoginRecord> {
        lock(&self.logins).clone()
    }

    /// Pull a token out (`false`) or put it back (`true`).
    pub fn set_present(&self, serial: &str, present: bool) {
        for t in lock(&self.tokens).iter_mut() {
            if t.spec.serial == serial {
                t.present = present;
            }
        }
    }

    fn token_ref(spec: &FakeToken) -> TokenRef {
        TokenRef {
            module: MODULE.into(),
            serial: spec.serial.clone(),
            label: spec.label.clone(),
            manufacturer: spec.manufacturer.clone(),
            model: spec.model.clone(),
        }
    }

    fn report(t: &TokenState) -> TokenReport {
        let limit = t.spec.retry_limit;
        TokenReport {
            token: Self::token_ref(&t.spec),
            slot_id: 0,
            model: t.spec.model.clone(),
            manufacturer: t.spec.manufacturer.clone(),
            pin_flags: PinFlags {
                count_low: t.wrong > 0,
                final_try: t.wrong + 1 == limit,
                locked: t.wrong >= limit,
            },
            pin_min_len: 4,
            pin_max_len: 16,
            protected_authentication_path: false,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn entry(token: &TokenRef, key: &FakeKey, now: time::OffsetDateTime) -> Option<CertificateEntry> {
    let der = crate::pem::certificates(key.cert_pem.as_bytes())
        .into_iter()
        .next()?;
    let facts = inventory::facts(&der).ok()?;
    let not_usable = inventory::usability(&facts, true, now);
    Some(CertificateEntry {
        id: facts.id(),
        token: token.clone(),
        object_id: facts.fingerprint_sha256[..8].to_string(),
        label: facts.subject_cn.clone(),
        has_key: true,
        key_check: KeyCheck::Seen,
        usable: not_usable.is_empty(),
        not_usable,
        facts,
        der,
    })
}

impl Tokens for FakeTokens {
    fn module_reports(&self) -> &[ModuleReport] {
        &self.reports
    }

    fn scan(&self, now: time::OffsetDateTime) -> Scan {
        let mut scan = Scan::default();
        for t in lock(&self.tokens).iter().filter(|t| t.present) {
            let token = Self::token_ref(&t.spec);
            scan.certificates
                .extend(t.spec.keys.iter().filter_map(|k| entry(&token, k, now)));
            for k in &t.spec.keys {
                scan.certificates.extend(
                    crate::pem::certificates(k.chain_pem.as_bytes())
                        .iter()
                        .filter_map(|der| {
                            let facts = inventory::facts(der).ok()?;
                            let not_usable = inventory::usability(&facts, false, now);
                            Some(CertificateEntry {
                                id: facts.id(),
                                token: token.clone(),
                                object_id: String::new(),
                                label: facts.subject_cn.clone(),
                                has_key: false,
                                key_check: KeyCheck::Seen,
                                usable: false,
                                not_usable,
                                facts,
                                der: der.clone(),
                            })
                        }),
                );
            }
            scan.tokens.push(Self::report(t));
        }
        scan
    }

    fn token_status(&self, token: &TokenRef) -> Result<TokenReport, TokenError> {
        lock(&self.tokens)
            .iter()
            .find(|t| t.present && Self::token_ref(&t.spec) == *token)
            .map(Self::report)
            .ok_or(TokenError::NotPresent)
    }

    fn login(
        &self,
        token: &TokenRef,
        pin: &SecretString,
    ) -> Result<Box<dyn TokenSession>, TokenError> {
        let mut tokens = lock(&self.tokens);
        let t = tokens
            .iter_mut()
            .find(|t| t.present && Self::token_ref(&t.spec) == *token)
            .ok_or(TokenError::NotPresent)?;
        let result = if t.wrong >= t.spec.retry_limit {
            Err(TokenError::PinLocked)
        } else if pin.expose_secret() == t.spec.pin {
            t.wrong = 0;
            Ok(())
        } else {
            t.wrong += 1;
            Err(TokenError::PinIncorrect)
        };
        lock(&self.logins).push(LoginRecord {
            serial: t.spec.serial.clone(),
            result: result.clone(),
        });
        result?;
        Ok(Box::new(FakeSession {
            keys: t.spec.keys.clone(),
        }))
    }
}

struct FakeSession {
    keys: Vec<FakeKey>,
}

impl TokenSession for FakeSession {
    fn into_signer(
        self: Box<Self>,
        cert: &CertificateEntry,
        chain: Vec<Vec<u8>>,
        _digest: DigestAlgorithm,
        _prefer_pss: bool,
        _pin: SecretString,
    ) -> Result<TokenSigner, TokenError> {
        let key = self
            .keys
            .iter()
            .find(|k| crate::pem::certificates(k.cert_pem.as_bytes()).first() == Some(&cert.der))
            .ok_or(TokenError::KeyMissing)?;
        let chain_pem = if chain.is_empty() {
            String::new()
        } else {
            key.chain_pem.clone()
        };
        let signer = SoftwareSigner::from_pem(&key.key_pem, &key.cert_pem, &chain_pem)
            .map_err(TokenError::Device)?;
        Ok(Box::new(signer))
    }
}
