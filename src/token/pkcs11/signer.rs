//! A logged-in session and the [`Signer`] it becomes: the certificate
//! re-checked and its private key found once private objects are visible,
//! then one mechanism per signature.

use cryptoki::error::Error as CkError;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use secrecy::SecretString;

use super::mechanism::{choose_mechanism, ecdsa_raw_to_der, KeyKind, MechanismChoice};
use super::raw_certificates;
use crate::sign::{DigestAlgorithm, SignError, SignatureAlgorithm, Signer};
use crate::token::key_match::{self, CertKey, KeyFacts, Verdict};
use crate::token::model::{CertificateEntry, TokenError, TokenRef};

/// A logged-in session. Logs out when dropped.
pub struct LoggedIn {
    session: Session,
    mechanisms: Vec<MechanismType>,
    token: TokenRef,
}

impl LoggedIn {
    /// A session that has just passed `C_Login`, with the token's mechanisms.
    pub(super) fn new(session: Session, mechanisms: Vec<MechanismType>, token: TokenRef) -> Self {
        LoggedIn {
            session,
            mechanisms,
            token,
        }
    }

    /// A signer for `cert`, re-checking that the token still holds that
    /// certificate, and finding its private key now that private objects are
    /// visible: by CKA_ID, confirmed by the public key (see `find_private_key`).
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
                .map_err(context_login_error)?;
            session.sign_update(data).map_err(sign_error)?;
            session.sign_final().map_err(sign_error)
        } else {
            session.sign(mechanism, self.key, data).map_err(sign_error)
        }
    }
}

/// The key's own login: an answer that may mean "wrong PIN" (judged as
/// for the user login) is a refused PIN; anything else as for signing.
fn context_login_error(e: CkError) -> SignError {
    match super::login_error(e) {
        e
        @ (TokenError::PinIncorrect | TokenError::PinLocked | TokenError::PinAnswerUnclear(_)) => {
            SignError::PinRefused(e.to_string())
        }
        TokenError::Removed | TokenError::NotPresent => SignError::TokenRemoved,
        other => SignError::Device(other.to_string()),
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
