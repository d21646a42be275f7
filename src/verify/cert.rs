//! The facts verification needs from an X.509 certificate: names (raw, for
//! matching; CN, for people), key identifiers, validity, key usage, and the
//! signed part with its signature for checking who issued it.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

use super::ber::{self, Tlv};
use super::crypto::{self, Hash, SigAlg};

#[derive(Debug, Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
    pub serial_raw: Vec<u8>,
    /// Subject common name, else the whole subject as text.
    pub cn: String,
    pub issuer_cn: String,
    pub ski: Option<Vec<u8>>,
    pub aki: Option<Vec<u8>>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub is_ca: bool,
    /// (digitalSignature, nonRepudiation, keyCertSign) when the extension is present.
    pub key_usage: Option<(bool, bool, bool)>,
    /// Extended key usage OIDs, when present.
    pub ext_key_usage: Option<Vec<String>>,
    pub spki_der: Vec<u8>,
    tbs_raw: Vec<u8>,
    sig_alg_der: Vec<u8>,
    signature: Vec<u8>,
}

impl Cert {
    pub fn parse(der: &[u8]) -> Result<Cert, String> {
        let (_, x) =
            X509Certificate::from_der(der).map_err(|e| format!("unreadable certificate: {e}"))?;
        let outer = ber::parse(der).map_err(|e| e.to_string())?;
        let tbs = outer
            .child(0, "tbsCertificate")
            .map_err(|e| e.to_string())?;
        let alg = outer
            .child(1, "signatureAlgorithm")
            .map_err(|e| e.to_string())?;
        let sig = outer
            .child(2, "signature")
            .and_then(|s| s.bytes("signature"))
            .map_err(|e| e.to_string())?;
        let mut c = Cert {
            der: der.to_vec(),
            subject_raw: x.subject().as_raw().to_vec(),
            issuer_raw: x.issuer().as_raw().to_vec(),
            serial_raw: x.raw_serial().to_vec(),
            cn: common_name(x.subject()),
            issuer_cn: common_name(x.issuer()),
            ski: None,
            aki: None,
            not_before: x.validity().not_before.to_datetime(),
            not_after: x.validity().not_after.to_datetime(),
            is_ca: false,
            key_usage: None,
            ext_key_usage: None,
            spki_der: x.public_key().raw.to_vec(),
            tbs_raw: tbs.raw.to_vec(),
            sig_alg_der: alg.raw.to_vec(),
            signature: sig.get(1..).unwrap_or_default().to_vec(),
        };
        for ext in x.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => c.ski = Some(k.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    c.aki = a.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                ParsedExtension::BasicConstraints(b) => c.is_ca = b.ca,
                ParsedExtension::KeyUsage(k) => {
                    c.key_usage = Some((
                        k.digital_signature(),
                        k.non_repudiation(),
                        k.key_cert_sign(),
                    ))
                }
                ParsedExtension::ExtendedKeyUsage(e) => {
                    let mut oids: Vec<String> = e.other.iter().map(|o| o.to_id_string()).collect();
                    if e.any {
                        oids.push("2.5.29.37.0".into());
                    }
                    if e.email_protection {
                        oids.push("1.3.6.1.5.5.7.3.4".into());
                    }
                    if e.time_stamping {
                        oids.push("1.3.6.1.5.5.7.3.8".into());
                    }
                    if e.client_auth {
                        oids.push("1.3.6.1.5.5.7.3.2".into());
                    }
                    if e.code_signing {
                        oids.push("1.3.6.1.5.5.7.3.3".into());
                    }
                    if e.server_auth {
                        oids.push("1.3.6.1.5.5.7.3.1".into());
                    }
                    if e.ocsp_signing {
                        oids.push("1.3.6.1.5.5.7.3.9".into());
                    }
                    c.ext_key_usage = Some(oids);
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// Is `self` the certificate that `other` names as its issuer? By name
    /// and, when both carry one, by key identifier.
    pub fn could_issue(&self, child: &Cert) -> bool {
        if self.subject_raw != child.issuer_raw {
            return false;
        }
        match (&child.aki, &self.ski) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        }
    }

    /// Does `issuer`'s key verify this certificate's signature?
    pub fn signed_by(&self, issuer: &Cert) -> Result<(), String> {
        let alg_tlv = ber::parse(&self.sig_alg_der).map_err(|e| e.to_string())?;
        let alg = SigAlg::from_identifier(&alg_tlv)?;
        let hash = alg.hash(Hash::Sha256);
        crypto::verify(
            &issuer.spki_der,
            alg,
            hash,
            &hash.digest(&self.tbs_raw),
            &self.signature,
        )
    }

    pub fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    /// The same certificate, or the same subject with the same key (a
    /// re-issued root is still the same anchor).
    pub fn same_entity(&self, other: &Cert) -> bool {
        self.der == other.der
            || (self.subject_raw == other.subject_raw && self.spki_der == other.spki_der)
    }

    pub fn valid_at(&self, t: OffsetDateTime) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// Does the key usage allow signing documents?
    pub fn fit_for_signing(&self) -> bool {
        match self.key_usage {
            Some((ds, nr, _)) => ds || nr,
            None => true,
        }
    }

    pub fn matches_sid(&self, sid: &Tlv<'_>) -> bool {
        if sid.tag.is(ber::CONTEXT, 0) {
            let Ok(ski) = sid.bytes("subject key identifier") else {
                return false;
            };
            return self.ski.as_deref() == Some(ski);
        }
        let (Ok(issuer), Ok(serial)) = (sid.child(0, "issuer"), sid.child(1, "serial")) else {
            return false;
        };
        issuer.raw == self.issuer_raw.as_slice()
            && serial.bytes("serial").ok() == Some(self.serial_raw.as_slice())
    }
}

fn common_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| name.to_string())
}
