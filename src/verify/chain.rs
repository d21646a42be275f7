//! Certificate paths: from a signer's certificate up to a trust anchor,
//! through certificates the signature carries and those of the trust store.
//! An issuer is accepted by name and key identifier, and only when its key
//! verifies the certificate; a missing link is reported, never guessed.

use time::OffsetDateTime;

use super::cert::Cert;
use super::trust::TrustStore;

/// Longer than any real CA hierarchy.
const MAX_PATH: usize = 10;

#[derive(Debug, Clone)]
pub struct Chain {
    /// Leaf first.
    pub certs: Vec<Cert>,
    /// The path ends at a self-signed certificate or an anchor.
    pub complete: bool,
    /// The path ends at a trust anchor and every link's signature verifies.
    pub anchored: bool,
    pub problems: Vec<String>,
}

impl Chain {
    pub fn cns(&self) -> Vec<String> {
        self.certs.iter().map(|c| c.cn.clone()).collect()
    }

    /// Problems with validity at `t` along the path.
    pub fn check_at(&self, t: OffsetDateTime) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.certs {
            if !c.valid_at(t) {
                out.push(format!(
                    "the certificate of {} was not valid at {} (valid {} to {})",
                    c.cn,
                    super::report::rfc3339(t),
                    c.not_before.date(),
                    c.not_after.date()
                ));
            }
        }
        out
    }
}

/// Build the path for `leaf` from `embedded` certificates and the store.
pub fn build(leaf: &Cert, embedded: &[Cert], store: &TrustStore) -> Chain {
    let mut chain = Chain {
        certs: vec![leaf.clone()],
        complete: false,
        anchored: false,
        problems: Vec::new(),
    };
    while let Some(current) = chain.certs.last().cloned() {
        if store.is_anchor(&current) {
            chain.complete = true;
            chain.anchored = true;
            break;
        }
        if chain.certs.len() > MAX_PATH {
            chain
                .problems
                .push("the certificate path is too long".into());
            break;
        }
        // Anchors first, so a path ends at the trusted root when it can.
        let candidates = store
            .anchors
            .iter()
            .chain(embedded.iter())
            .chain(store.cas.iter())
            .filter(|c| c.could_issue(&current) && !chain.certs.iter().any(|x| x.der == c.der));
        let mut refused = None;
        let mut next = None;
        for cand in candidates {
            match current.signed_by(cand) {
                Ok(()) => {
                    next = Some(cand.clone());
                    break;
                }
                Err(e) => refused = Some((cand.cn.clone(), e)),
            }
        }
        match next {
            Some(n) => chain.certs.push(n),
            None if current.self_issued() => {
                chain.complete = true;
                match current.signed_by(&current) {
                    Ok(()) => chain
                        .problems
                        .push(format!("the root {} is not in the trust list", current.cn)),
                    Err(e) => chain.problems.push(format!(
                        "the self-signed {} does not verify: {e}",
                        current.cn
                    )),
                }
                break;
            }
            None => {
                match refused {
                    Some((cn, e)) => chain.problems.push(format!(
                        "the certificate of {} does not verify with the key of {cn}: {e}",
                        current.cn
                    )),
                    None => chain.problems.push(format!(
                        "the issuer of {} ({}) is not in the signature or the trust list",
                        current.cn, current.issuer_cn
                    )),
                }
                break;
            }
        }
    }
    // An issuer that is no CA, or a CA delegating further than its own
    // issuer allowed: the path exists but grants no trust (openssl,
    // pyHanko and poppler refuse it alike). Neither is a matter of time,
    // so neither touches validity at the signing time.
    let not_issuers = not_allowed_to_issue(&chain.certs);
    let too_long = path_length_exceeded(&chain.certs);
    if !not_issuers.is_empty() || too_long.is_some() {
        chain.anchored = false;
        chain.problems.extend(not_issuers);
        chain.problems.extend(too_long);
    }
    chain
}

/// The issuers in `certs` (leaf first) that may not issue certificates:
/// not a CA, or a key usage without keyCertSign (self-issued ones, which
/// issue only themselves, excepted).
fn not_allowed_to_issue(certs: &[Cert]) -> Vec<String> {
    certs
        .iter()
        .skip(1)
        .filter(|c| !(c.self_issued() || (c.is_ca && c.key_usage.is_none_or(|k| k.2))))
        .map(|c| format!("{} is not allowed to issue certificates", c.cn))
        .collect()
}

/// RFC 5280 §4.2.1.9: a CA certificate's pathLenConstraint is how many
/// intermediate CA certificates (self-issued ones not counted) may follow
/// it down a path (leaf first in `certs`) before the end entity.
fn path_length_exceeded(certs: &[Cert]) -> Option<String> {
    for (i, ca) in certs.iter().enumerate().skip(1) {
        let Some(limit) = ca.path_len else { continue };
        let below = certs
            .get(1..i)
            .unwrap_or_default()
            .iter()
            .filter(|c| !c.self_issued())
            .count();
        if below > limit as usize {
            return Some(format!(
                "{} may have at most {limit} CA certificate(s) below it in a path, and this path has {below}",
                ca.cn
            ));
        }
    }
    None
}

/// The CA certificates to embed after `leaf` when signing: from `pool`
/// (the token's own CA certificates, configured ones, the shipped store),
/// each matched by subject and key identifier and verified by signature.
pub fn completion(leaf_der: &[u8], pool: &[Vec<u8>], store: &TrustStore) -> Vec<Vec<u8>> {
    let Ok(leaf) = Cert::parse(leaf_der) else {
        return Vec::new();
    };
    let mut extra = TrustStore {
        anchors: store.anchors.clone(),
        cas: store.cas.clone(),
    };
    extra
        .cas
        .extend(pool.iter().filter_map(|d| Cert::parse(d).ok()));
    let chain = build(&leaf, &[], &extra);
    chain.certs.iter().skip(1).map(|c| c.der.clone()).collect()
}
