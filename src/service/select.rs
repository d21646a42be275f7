//! Which certificate signs: chosen by id (or the only usable one), shown to a
//! person as a [`CertificateChoice`], and the CA chain to embed after it.

use super::Agent;
use crate::error::{Error, Reason, Result};
use crate::token::{CertificateEntry, Scan};
use crate::ui::CertificateChoice;

impl Agent {
    /// Pick the certificate: by id (full fingerprint or a unique prefix of at
    /// least 8 hex digits), or the only usable one.
    pub fn select<'s>(&self, scan: &'s Scan, id: Option<&str>) -> Result<&'s CertificateEntry> {
        match id {
            Some(id) => {
                let id = id.trim().to_ascii_lowercase();
                if id.len() < 8 {
                    return Err(Error::invalid_request(
                        "a certificate id needs at least 8 hex digits",
                    ));
                }
                let matches: Vec<&CertificateEntry> = scan
                    .certificates
                    .iter()
                    .filter(|c| c.facts.fingerprint_sha256.starts_with(&id))
                    .collect();
                match matches.as_slice() {
                    [one] => {
                        if one.usable {
                            Ok(one)
                        } else {
                            Err(not_usable(one))
                        }
                    }
                    [] => Err(Error::new(
                        Reason::NoMatchingCertificate,
                        format!("no certificate with id {id} on the tokens present"),
                    )
                    .with_hint("insert the token that holds it; `mohor certs` lists the ids")),
                    _ => Err(Error::invalid_request(format!(
                        "the id {id} matches several certificates; give more digits"
                    ))),
                }
            }
            None => {
                let usable: Vec<&CertificateEntry> =
                    scan.certificates.iter().filter(|c| c.usable).collect();
                match usable.as_slice() {
                    [one] => Ok(one),
                    [] if scan.tokens.is_empty() => Err(Error::new(
                        Reason::TokenNotPresent,
                        "no DSC token is present",
                    )
                    .with_hint("insert your DSC token; if it is inserted, check its driver with `mohor tokens`")),
                    [] => Err(Error::new(
                        Reason::NoMatchingCertificate,
                        "no certificate on the tokens present can sign",
                    )
                    .with_hint("`mohor certs` shows each certificate and why it cannot sign")),
                    many => Err(Error::new(
                        Reason::NoMatchingCertificate,
                        format!("{} certificates can sign; choose one", many.len()),
                    )
                    .with_hint(format!(
                        "pass --cert with one of: {}",
                        many.iter()
                            .map(|c| format!("{} ({})", c.id, c.facts.subject_cn))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                }
            }
        }
    }

    pub(super) fn choice(c: &CertificateEntry) -> CertificateChoice {
        CertificateChoice {
            id: c.id.clone(),
            subject_cn: c.facts.subject_cn.clone(),
            issuer_cn: c.facts.issuer_cn.clone(),
            token_label: c.token.label.clone(),
            validity: format!("valid until {}", c.facts.not_after.date()),
        }
    }

    /// The CA certificates to embed after the signer's: from the token, the
    /// configured `ca_certificates` and the shipped CCA India store, each
    /// matched by subject and key identifier and checked by signature, so a
    /// leaf-only token still yields a signature readers can chain.
    pub(super) fn chain_for(&self, scan: &Scan, cert: &CertificateEntry) -> Vec<Vec<u8>> {
        let mut pool: Vec<Vec<u8>> = scan
            .certificates
            .iter()
            .filter(|c| c.facts.is_ca)
            .map(|c| c.der.clone())
            .collect();
        pool.extend(self.extra_ca.iter().cloned());
        crate::verify::chain::completion(&cert.der, &pool, &crate::verify::TrustStore::shipped())
    }
}

fn not_usable(c: &CertificateEntry) -> Error {
    Error::new(
        Reason::CertificateNotUsable,
        format!(
            "the certificate of {} ({}) cannot sign: {}",
            c.facts.subject_cn,
            c.id,
            c.not_usable_text()
        ),
    )
    .with_hint("choose a signing certificate that is valid today; `mohor certs` lists them")
}
