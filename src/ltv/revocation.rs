//! Revocation evidence for long-term signatures: an OCSP response
//! (preferred) or a CRL for every certificate of a chain, fetched from the
//! addresses the certificate itself names and checked (signed by the
//! issuer or its delegated responder, current, "good" / not listed).

use const_oid::db::rfc5280::ID_KP_OCSP_SIGNING;
use der::asn1::OctetString;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    TbsRequest,
};

use super::certs;
use super::crl_cache::CrlCache;
use super::LtvError;
use crate::net::HttpClient;
use crate::sign::DigestAlgorithm;

/// id-pkix-ocsp-basic (RFC 6960 §4.2.1).
const ID_PKIX_OCSP_BASIC: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");

/// What goes into a document's DSS (or could go into a CMS).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub certs: Vec<Vec<u8>>,
    pub ocsps: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

impl Evidence {
    fn add(list: &mut Vec<Vec<u8>>, item: Vec<u8>) {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

/// Clock slack allowed for a responder's thisUpdate.
pub const SKEW: time::Duration = time::Duration::minutes(10);

/// Evidence for every certificate of every chain (leaf first, anchor last;
/// the anchor itself needs none). CRLs come from `crls` while it holds a
/// current one, and go into it once checked.
pub fn collect(
    http: &dyn HttpClient,
    crls: &CrlCache,
    chains: &[Vec<Certificate>],
    now: OffsetDateTime,
) -> Result<Evidence, LtvError> {
    let src = Sources { http, crls, now };
    let mut ev = Evidence::default();
    for chain in chains {
        for c in chain {
            Evidence::add(&mut ev.certs, c.to_der()?);
        }
        for pair in chain.windows(2) {
            let (cert, issuer) = (&pair[0], &pair[1]);
            evidence_for(&src, cert, issuer, &mut ev)?;
        }
    }
    Ok(ev)
}

/// Where evidence comes from, and the time it must be current at.
struct Sources<'a> {
    http: &'a dyn HttpClient,
    crls: &'a CrlCache,
    now: OffsetDateTime,
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate.subject.to_string()
}

fn evidence_for(
    src: &Sources<'_>,
    cert: &Certificate,
    issuer: &Certificate,
    ev: &mut Evidence,
) -> Result<(), LtvError> {
    let mut last_problem = None;
    for url in certs::ocsp_urls(cert) {
        match ocsp(src.http, &url, cert, issuer, src.now) {
            Ok((der, responder)) => {
                if let Some(r) = responder {
                    if let Err(e) = responder_evidence(src, &r, issuer, ev) {
                        last_problem = Some(e);
                        continue;
                    }
                    Evidence::add(&mut ev.certs, r);
                }
                Evidence::add(&mut ev.ocsps, der);
                return Ok(());
            }
            Err(e @ LtvError::Revoked(..)) => return Err(e),
            Err(e) => last_problem = Some(e),
        }
    }
    match crl_evidence(src, cert, issuer, ev) {
        // No CRL named: what went wrong with OCSP is the story to tell.
        Err(e) if certs::crl_urls(cert).is_empty() => Err(last_problem.unwrap_or(e)),
        other => other,
    }
}

/// A delegated OCSP responder's own status (RFC 6960 §4.2.2.2.1): nothing
/// to prove when its certificate carries id-pkix-ocsp-nocheck; otherwise its
/// issuer's CRL, so that a validator reading only the document can trust the
/// answer it signed. (Not OCSP: the responder would vouch for itself.)
fn responder_evidence(
    src: &Sources<'_>,
    responder: &[u8],
    issuer: &Certificate,
    ev: &mut Evidence,
) -> Result<(), LtvError> {
    let cert = Certificate::from_der(responder).map_err(|_| {
        LtvError::RevocationRefused("the OCSP responder's certificate is malformed".into())
    })?;
    if certs::ocsp_nocheck(&cert) {
        return Ok(());
    }
    crl_evidence(src, &cert, issuer, ev).map_err(|e| {
        LtvError::RevocationRefused(format!(
            "the OCSP responder {} may not be trusted: its certificate lacks \
             id-pkix-ocsp-nocheck and its own status is not proven ({e})",
            subject(&cert)
        ))
    })
}

/// A CRL for `cert` from the addresses it names (kept ones first).
fn crl_evidence(
    src: &Sources<'_>,
    cert: &Certificate,
    issuer: &Certificate,
    ev: &mut Evidence,
) -> Result<(), LtvError> {
    let mut last_problem = None;
    for url in certs::crl_urls(cert) {
        let obtained = src.crls.obtain(
            &url,
            src.now,
            || src.http.get(&url).map_err(LtvError::RevocationNet),
            |der| check_crl(der, cert, issuer, src.now).map(|f| f.next_update),
        );
        match obtained {
            Ok(der) => {
                Evidence::add(&mut ev.crls, der);
                return Ok(());
            }
            Err(e @ LtvError::Revoked(..)) => return Err(e),
            Err(e) => last_problem = Some(e),
        }
    }
    Err(last_problem.unwrap_or_else(|| {
        LtvError::RevocationRefused(format!(
            "the certificate of {} names no OCSP responder or CRL",
            subject(cert)
        ))
    }))
}

fn cert_id(cert: &Certificate, issuer: &Certificate) -> Result<CertId, LtvError> {
    let alg = DigestAlgorithm::Sha256;
    let name = issuer.tbs_certificate.subject.to_der()?;
    let key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: alg.oid(),
            parameters: None,
        },
        issuer_name_hash: OctetString::new(alg.digest(&name))?,
        issuer_key_hash: OctetString::new(alg.digest(key))?,
        serial_number: cert.tbs_certificate.serial_number.clone(),
    })
}

/// An OCSP request for `cert`, DER.
pub fn ocsp_request(cert: &Certificate, issuer: &Certificate) -> Result<Vec<u8>, LtvError> {
    let req = OcspRequest {
        tbs_request: TbsRequest {
            version: Default::default(),
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id(cert, issuer)?,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    };
    Ok(req.to_der()?)
}

fn ocsp(
    http: &dyn HttpClient,
    url: &str,
    cert: &Certificate,
    issuer: &Certificate,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, Option<Vec<u8>>), LtvError> {
    let req = ocsp_request(cert, issuer)?;
    let answer = http
        .post(url, "application/ocsp-request", &req)
        .map_err(LtvError::RevocationNet)?;
    let responder = check_ocsp(&answer, cert, issuer, now)?;
    Ok((answer, responder))
}

/// What a checked OCSP response or CRL says about a certificate that is not
/// revoked: when it was issued, until when it is current, and the delegated
/// responder's certificate when one signed the OCSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub this_update: OffsetDateTime,
    pub next_update: Option<OffsetDateTime>,
    pub responder: Option<Vec<u8>>,
}

impl Finding {
    /// Current at `now`: not dated in the future (beyond clock slack), not
    /// past its next update. `what` names the evidence in the error.
    fn current_at(self, now: OffsetDateTime, what: &str) -> Result<Finding, LtvError> {
        let refused = |m: &str| LtvError::RevocationRefused(format!("{what}: {m}"));
        if self.this_update > now + SKEW {
            return Err(refused("it is dated in the future"));
        }
        if self.next_update.is_some_and(|n| n < now) {
            return Err(refused("it is out of date"));
        }
        Ok(self)
    }
}

/// Check an OCSP response about `cert` as current evidence at `now`; returns
/// the delegated responder's certificate when one signed it.
pub fn check_ocsp(
    answer: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    now: OffsetDateTime,
) -> Result<Option<Vec<u8>>, LtvError> {
    let what = format!("OCSP about {}", subject(cert));
    Ok(read_ocsp(answer, cert, issuer)?
        .current_at(now, &what)?
        .responder)
}

/// Read an OCSP response about `cert`: signed by the issuer or its delegated
/// responder (valid when the response was made), about this certificate,
/// and "good". Currency is the caller's question ([`check_ocsp`] asks it for
/// now; a verifier asks whether it was made after the signature).
pub fn read_ocsp(
    answer: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
) -> Result<Finding, LtvError> {
    let who = subject(cert);
    let refused = |m: &str| LtvError::RevocationRefused(format!("OCSP about {who}: {m}"));
    let resp = OcspResponse::from_der(answer).map_err(|_| refused("the answer is not OCSP"))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(refused(&format!(
            "the responder said {:?}",
            resp.response_status
        )));
    }
    let bytes = resp
        .response_bytes
        .ok_or_else(|| refused("the answer is empty"))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(refused("the answer is not a basic OCSP response"));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|_| refused("the basic response is malformed"))?;
    let tbs = basic.tbs_response_data.to_der()?;
    let sig = basic
        .signature
        .as_bytes()
        .ok_or_else(|| refused("the signature is malformed"))?;
    let signed_by = |c: &Certificate| {
        c.tbs_certificate
            .subject_public_key_info
            .to_der()
            .is_ok_and(|spki| certs::verify(&spki, &basic.signature_algorithm, None, &tbs, sig))
    };
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|s| about(&s.cert_id, cert, issuer))
        .ok_or_else(|| refused("the response is about another certificate"))?;
    let at = |t: &x509_ocsp::OcspGeneralizedTime| certs::from_unix(t.0.to_unix_duration());
    let this_update = at(&single.this_update);
    let mut responder = None;
    if !signed_by(issuer) {
        let delegate = basic
            .certs
            .iter()
            .flatten()
            .find(|c| signed_by(c) && certs::issued_by(c, issuer) && ocsp_signing(c))
            .ok_or_else(|| refused("the response is not signed by the issuer or its responder"))?;
        if !certs::valid_at(delegate, this_update) {
            return Err(refused(
                "the responder's certificate was not valid when it answered",
            ));
        }
        responder = Some(delegate.to_der()?);
    }
    match single.cert_status {
        CertStatus::Good(_) => Ok(Finding {
            this_update,
            next_update: single.next_update.as_ref().map(at),
            responder,
        }),
        CertStatus::Revoked(info) => Err(LtvError::Revoked(who, at(&info.revocation_time))),
        CertStatus::Unknown(_) => Err(refused("the responder does not know the certificate")),
    }
}

/// Whether an OCSP CertID names `cert` of `issuer` — serial number, and the
/// hashes of the issuer's name and of its key (RFC 6960 §4.1.1: a CA that
/// shares its key with another name is another issuer) — with SHA-1 (what
/// most responders echo) or SHA-256 (what Mohor asks with).
fn about(id: &CertId, cert: &Certificate, issuer: &Certificate) -> bool {
    if id.serial_number != cert.tbs_certificate.serial_number {
        return false;
    }
    let hash = |bytes: &[u8]| {
        if id.hash_algorithm.oid == const_oid::db::rfc5912::ID_SHA_1 {
            use sha1::Digest as _;
            Some(sha1::Sha1::digest(bytes).to_vec())
        } else if id.hash_algorithm.oid == DigestAlgorithm::Sha256.oid() {
            Some(DigestAlgorithm::Sha256.digest(bytes))
        } else {
            None
        }
    };
    let key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let Ok(name) = issuer.tbs_certificate.subject.to_der() else {
        return false;
    };
    hash(key).is_some_and(|h| id.issuer_key_hash.as_bytes() == h.as_slice())
        && hash(&name).is_some_and(|h| id.issuer_name_hash.as_bytes() == h.as_slice())
}

fn ocsp_signing(c: &Certificate) -> bool {
    c.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE)
        .filter_map(|e| ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).ok())
        .any(|eku| eku.0.contains(&ID_KP_OCSP_SIGNING))
}

/// Check a CRL as current evidence at `now`: issued and signed by `issuer`,
/// `cert` not listed.
pub fn check_crl(
    der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    now: OffsetDateTime,
) -> Result<Finding, LtvError> {
    let what = format!("CRL for {}", subject(cert));
    read_crl(der, cert, issuer)?.current_at(now, &what)
}

/// Whether `crl` is a complete list that speaks for `cert` (RFC 5280
/// 5.2, 6.3.3): not a delta CRL (alone it proves nothing), not a partition
/// for other certificates, other reasons or an indirect issuer, and with no
/// critical extension Mohor does not understand — a CRL that says nothing
/// of a revoked certificate must not pass for one that says "not revoked".
fn crl_covers(crl: &CertificateList, cert: &Certificate) -> Result<(), &'static str> {
    use const_oid::db::rfc5280::{
        ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_CRL_NUMBER, ID_CE_CRL_REASONS,
        ID_CE_DELTA_CRL_INDICATOR, ID_CE_INVALIDITY_DATE, ID_CE_ISSUING_DISTRIBUTION_POINT,
    };
    use x509_cert::ext::pkix::crl::IssuingDistributionPoint;
    use x509_cert::ext::pkix::name::DistributionPointName;

    for ext in crl.tbs_cert_list.crl_extensions.iter().flatten() {
        if ext.extn_id == ID_CE_DELTA_CRL_INDICATOR {
            return Err("it is a delta CRL, which lists only recent changes");
        }
        if ext.extn_id == ID_CE_ISSUING_DISTRIBUTION_POINT {
            let idp = IssuingDistributionPoint::from_der(ext.extn_value.as_bytes())
                .map_err(|_| "its issuing distribution point is unreadable")?;
            if idp.indirect_crl || idp.only_some_reasons.is_some() {
                return Err("it covers only some revocations (indirect or by reason)");
            }
            if idp.only_contains_attribute_certs
                || (idp.only_contains_user_certs && certs::is_ca(cert))
                || (idp.only_contains_ca_certs && !certs::is_ca(cert))
            {
                return Err("it lists another kind of certificate");
            }
            match idp.distribution_point {
                None => {}
                Some(DistributionPointName::FullName(names)) => {
                    let own = certs::crl_urls(cert);
                    let named = names
                        .iter()
                        .filter_map(certs::uri)
                        .any(|u| own.contains(&u));
                    if !named {
                        return Err("it is a partition for certificates other than this one");
                    }
                }
                Some(DistributionPointName::NameRelativeToCRLIssuer(_)) => {
                    return Err("it is a partition named relative to its issuer");
                }
            }
            continue;
        }
        let understood =
            ext.extn_id == ID_CE_CRL_NUMBER || ext.extn_id == ID_CE_AUTHORITY_KEY_IDENTIFIER;
        if ext.critical && !understood {
            return Err("it has a critical extension Mohor does not understand");
        }
    }
    let entries = crl.tbs_cert_list.revoked_certificates.iter().flatten();
    for ext in entries.flat_map(|r| r.crl_entry_extensions.iter().flatten()) {
        let understood = ext.extn_id == ID_CE_CRL_REASONS || ext.extn_id == ID_CE_INVALIDITY_DATE;
        if ext.critical && !understood {
            return Err("an entry has a critical extension Mohor does not understand");
        }
    }
    Ok(())
}

/// A CRL and the bytes its signature covers. A version 1 CRL (no version
/// field; RFC 5280 §5.1.2.1 allows it when there are no extensions, and
/// old CAs publish them) is read as the v2 CRL it equals — x509-cert 0.2
/// requires the field — while its signature is checked over its own bytes.
fn crl_from_der(der: &[u8]) -> Option<(CertificateList, Vec<u8>)> {
    use der::{Header, Length, Reader as _, SliceReader, Tag};
    if let Ok(crl) = CertificateList::from_der(der) {
        let tbs = crl.tbs_cert_list.to_der().ok()?;
        return Some((crl, tbs));
    }
    let mut outer = SliceReader::new(der).ok()?;
    let header = Header::decode(&mut outer).ok()?;
    if header.tag != Tag::Sequence {
        return None;
    }
    let body = outer.read_slice(header.length).ok()?;
    if !outer.is_finished() {
        return None;
    }
    let mut inner = SliceReader::new(body).ok()?;
    let tbs_header = Header::decode(&mut inner).ok()?;
    if tbs_header.tag != Tag::Sequence {
        return None;
    }
    let tbs_content = inner.read_slice(tbs_header.length).ok()?;
    let tbs_end = usize::try_from(inner.position()).ok()?;
    let signed = body.get(..tbs_end)?.to_vec();
    let rest = body.get(tbs_end..)?;
    // Only what lacks the version (it starts with the AlgorithmIdentifier
    // SEQUENCE, not an INTEGER) is a v1 CRL; anything else stays unread.
    if tbs_content.first() != Some(&0x30) {
        return None;
    }
    let tlv = |tag: Tag, content: &[u8]| -> Option<Vec<u8>> {
        let mut out = Header::new(tag, Length::try_from(content.len()).ok()?)
            .ok()?
            .to_der()
            .ok()?;
        out.extend_from_slice(content);
        Some(out)
    };
    // version INTEGER v2 (1), then the v1 fields as they were.
    let mut v2_content = vec![0x02, 0x01, 0x01];
    v2_content.extend_from_slice(tbs_content);
    let mut v2_body = tlv(Tag::Sequence, &v2_content)?;
    v2_body.extend_from_slice(rest);
    let crl = CertificateList::from_der(&tlv(Tag::Sequence, &v2_body)?).ok()?;
    // A v1 CRL has no extensions, nor do its entries.
    let mut entries = crl.tbs_cert_list.revoked_certificates.iter().flatten();
    if crl.tbs_cert_list.crl_extensions.is_some()
        || entries.any(|e| e.crl_entry_extensions.is_some())
    {
        return None;
    }
    Some((crl, signed))
}

/// Read a CRL: issued and signed by `issuer`, a complete list that
/// speaks for `cert`, `cert` not listed.
pub fn read_crl(der: &[u8], cert: &Certificate, issuer: &Certificate) -> Result<Finding, LtvError> {
    let who = subject(cert);
    let refused = |m: &str| LtvError::RevocationRefused(format!("CRL for {who}: {m}"));
    let (crl, tbs) = crl_from_der(der).ok_or_else(|| refused("the answer is not a CRL"))?;
    if crl.tbs_cert_list.issuer != issuer.tbs_certificate.subject {
        return Err(refused("it was issued by someone else"));
    }
    let spki = issuer.tbs_certificate.subject_public_key_info.to_der()?;
    let sig = crl
        .signature
        .as_bytes()
        .ok_or_else(|| refused("the signature is malformed"))?;
    if !certs::verify(&spki, &crl.signature_algorithm, None, &tbs, sig) {
        return Err(refused("its signature does not verify"));
    }
    crl_covers(&crl, cert).map_err(refused)?;
    let listed = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .find(|r| r.serial_number == cert.tbs_certificate.serial_number);
    if let Some(entry) = listed {
        return Err(LtvError::Revoked(
            who,
            certs::time_of(entry.revocation_date),
        ));
    }
    Ok(Finding {
        this_update: certs::time_of(crl.tbs_cert_list.this_update),
        next_update: crl.tbs_cert_list.next_update.map(certs::time_of),
        responder: None,
    })
}
