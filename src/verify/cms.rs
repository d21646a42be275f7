//! CMS SignedData checks: for every SignerInfo, the signer's certificate,
//! the message digest against the content, the signature over the signed
//! attributes, the claimed signing time, an embedded signature timestamp,
//! and the revocation data carried along. DER and BER alike.

use time::OffsetDateTime;

use super::ber::{self, Tlv, CONTEXT, UNIVERSAL};
use super::cert::Cert;
use super::crypto::{self, Hash, SigAlg};

const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const SIGNING_CERT_V2: &str = "1.2.840.113549.1.9.16.2.47";
const SIGNING_CERT_V1: &str = "1.2.840.113549.1.9.16.2.12";
/// id-aa-signatureTimeStampToken.
pub(crate) const TIMESTAMP_TOKEN: &str = "1.2.840.113549.1.9.16.2.14";
const ADBE_REVOCATION: &str = "1.2.840.113583.1.1.8";
pub const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

/// Signed data outside the signature, known by its digests: bytes in
/// memory, or a file's byte ranges hashed as they are read
/// ([`super::input::Ranges`]).
pub trait SignedContent {
    fn digest(&self, hash: Hash) -> Result<Vec<u8>, String>;
    fn is_empty(&self) -> bool;
}

/// Content in memory, possibly in pieces.
pub struct Pieces<'a>(pub &'a [&'a [u8]]);

/// `content`'s digests, each algorithm computed once however many
/// SignerInfos ask: a detached signature by several signers over a large
/// file reads the file once per algorithm, not once per signer.
struct Remembered<'a> {
    content: &'a dyn SignedContent,
    digests: std::cell::RefCell<Vec<(Hash, Vec<u8>)>>,
}

impl<'a> Remembered<'a> {
    fn new(content: &'a dyn SignedContent) -> Self {
        Remembered {
            content,
            digests: std::cell::RefCell::new(Vec::new()),
        }
    }
}

impl SignedContent for Remembered<'_> {
    fn digest(&self, hash: Hash) -> Result<Vec<u8>, String> {
        if let Some((_, d)) = self.digests.borrow().iter().find(|(h, _)| *h == hash) {
            return Ok(d.clone());
        }
        let d = self.content.digest(hash)?;
        self.digests.borrow_mut().push((hash, d.clone()));
        Ok(d)
    }

    fn is_empty(&self) -> bool {
        self.content.is_empty()
    }
}

impl SignedContent for Pieces<'_> {
    fn digest(&self, hash: Hash) -> Result<Vec<u8>, String> {
        let mut h = hash.hasher();
        for p in self.0 {
            h.update(p);
        }
        Ok(h.finish())
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|p| p.is_empty())
    }
}

/// The content a SignerInfo's digest must match.
pub enum Content<'a> {
    /// Detached data, possibly in pieces (a PDF's byte ranges).
    Detached(&'a dyn SignedContent),
    /// No outside data: the signature must encapsulate its content.
    Encapsulated,
}

#[derive(Debug, Clone)]
pub struct SignedData {
    pub content_type: String,
    pub e_content: Option<Vec<u8>>,
    pub certs: Vec<Cert>,
    /// CRLs in the SignedData's `crls` field, DER.
    pub crls: Vec<Vec<u8>>,
    pub signers: Vec<SignerCheck>,
}

#[derive(Debug, Clone)]
pub struct SignerCheck {
    pub cert: Option<Cert>,
    pub digest: Option<Hash>,
    /// The hash the signature itself was computed with (the signature
    /// algorithm's, else the digest algorithm's), once read.
    pub signature_hash: Option<Hash>,
    /// The digest and the signature both verify.
    pub intact: bool,
    pub claimed_time: Option<OffsetDateTime>,
    pub timestamp: Option<Box<TimestampCheck>>,
    /// Revocation data this signer carries, DER: the SignedData's CRLs and
    /// Adobe's revocationInfoArchival attribute (CRLs and OCSP responses).
    pub crls: Vec<Vec<u8>>,
    pub ocsps: Vec<Vec<u8>>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct TimestampCheck {
    pub time: Option<OffsetDateTime>,
    /// The hash of TSTInfo's message imprint, when it could be read.
    pub imprint_hash: Option<Hash>,
    pub signed: SignedData,
    /// The token's signature verifies and its imprint matches.
    pub intact: bool,
    pub problems: Vec<String>,
}

/// Parse a CMS ContentInfo holding SignedData and check every SignerInfo.
pub fn check(cms: &[u8], content: Content<'_>) -> Result<SignedData, String> {
    let root = ber::parse(cms).map_err(|e| e.to_string())?;
    check_tlv(&root, content, 0)
}

/// Where a SignedData keeps its parts, read from the encoding without
/// checking anything: the body, its certificates and CRLs (DER, in definite
/// form), and its SignerInfos.
pub(crate) struct Layout<'t, 'a> {
    pub signed_data: &'t Tlv<'a>,
    pub certs: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    pub signer_infos: &'t Tlv<'a>,
}

/// The layout of the ContentInfo `root`, which must hold SignedData.
pub(crate) fn layout<'t, 'a>(root: &'t Tlv<'a>) -> Result<Layout<'t, 'a>, String> {
    let e = |e: ber::BerError| e.to_string();
    if root
        .child(0, "content type")
        .and_then(|o| o.oid())
        .map_err(e)?
        != SIGNED_DATA
    {
        return Err("the CMS is not SignedData".into());
    }
    let sd = root
        .child(1, "SignedData")
        .map_err(e)?
        .expect(CONTEXT, 0, "SignedData")
        .map_err(e)?
        .child(0, "SignedData")
        .map_err(e)?;
    let sequences = |part: &Tlv<'a>| -> Vec<Vec<u8>> {
        part.children()
            .iter()
            .filter(|c| c.tag.is(UNIVERSAL, ber::SEQUENCE))
            .map(Tlv::definite)
            .collect()
    };
    let mut certs = Vec::new();
    let mut crls = Vec::new();
    let mut signer_infos = None;
    for part in sd.children().iter().skip(3) {
        if part.tag.is(CONTEXT, 0) {
            certs.extend(sequences(part));
        } else if part.tag.is(CONTEXT, 1) {
            // RevocationInfoChoices: CRLs are SEQUENCEs; [1] "other" forms are skipped.
            crls.extend(sequences(part));
        } else if part.tag.is(UNIVERSAL, ber::SET) {
            signer_infos = Some(part);
        }
    }
    Ok(Layout {
        signed_data: sd,
        certs,
        crls,
        signer_infos: signer_infos.ok_or("the CMS has no SignerInfos")?,
    })
}

fn check_tlv(root: &Tlv<'_>, content: Content<'_>, depth: usize) -> Result<SignedData, String> {
    let e = |e: ber::BerError| e.to_string();
    let Layout {
        signed_data: sd,
        certs,
        crls,
        signer_infos,
    } = layout(root)?;
    let encap = sd.child(2, "encapsulated content").map_err(e)?;
    let content_type = encap
        .child(0, "content type")
        .and_then(|o| o.oid())
        .map_err(e)?;
    let e_content = encap
        .children()
        .get(1)
        .filter(|t| t.tag.is(CONTEXT, 0))
        .and_then(|t| t.children().first())
        .map(|t| t.octets());
    let certs = certs.iter().filter_map(|d| Cert::parse(d).ok()).collect();
    let mut data = SignedData {
        content_type,
        e_content,
        certs,
        crls,
        signers: Vec::new(),
    };
    let encapsulated: [&[u8]; 1];
    let pieces: Pieces<'_>;
    let parts: &dyn SignedContent = match (&content, &data.e_content) {
        (_, Some(ec)) => {
            encapsulated = [ec.as_slice()];
            pieces = Pieces(&encapsulated);
            &pieces
        }
        (Content::Detached(p), None) => *p,
        (Content::Encapsulated, None) => &Pieces(&[]),
    };
    let parts = Remembered::new(parts);
    for si in signer_infos.children() {
        let check = check_signer(si, &data, &parts, depth);
        data.signers.push(check);
    }
    if data.signers.is_empty() {
        return Err("the CMS has no SignerInfo".into());
    }
    Ok(data)
}

fn check_signer(
    si: &Tlv<'_>,
    sd: &SignedData,
    parts: &dyn SignedContent,
    depth: usize,
) -> SignerCheck {
    let mut out = SignerCheck {
        cert: None,
        digest: None,
        signature_hash: None,
        intact: false,
        claimed_time: None,
        timestamp: None,
        crls: sd.crls.clone(),
        ocsps: Vec::new(),
        problems: Vec::new(),
    };
    if let Err(p) = check_signer_inner(si, sd, parts, depth, &mut out) {
        out.intact = false;
        out.problems.insert(0, p);
    }
    out
}

fn check_signer_inner(
    si: &Tlv<'_>,
    sd: &SignedData,
    parts: &dyn SignedContent,
    depth: usize,
    out: &mut SignerCheck,
) -> Result<(), String> {
    let e = |e: ber::BerError| e.to_string();
    let sid = si.child(1, "signer identifier").map_err(e)?;
    out.cert = sd.certs.iter().find(|c| c.matches_sid(sid)).cloned();
    let digest_oid = si
        .child(2, "digest algorithm")
        .and_then(|a| a.child(0, "digest algorithm"))
        .and_then(|o| o.oid())
        .map_err(e)?;
    let hash =
        Hash::from_oid(&digest_oid).ok_or(format!("unsupported digest algorithm {digest_oid}"))?;
    out.digest = Some(hash);
    let mut i = 3;
    let signed_attrs = si.children().get(i).filter(|t| t.tag.is(CONTEXT, 0));
    if signed_attrs.is_some() {
        i += 1;
    }
    let sig_alg = SigAlg::from_identifier(si.child(i, "signature algorithm").map_err(e)?)?;
    let signature = si.child(i + 1, "signature").map_err(e)?.octets();
    let unsigned = si.children().get(i + 2).filter(|t| t.tag.is(CONTEXT, 1));

    let content_digest = parts.digest(hash)?;
    if parts.is_empty() && sd.e_content.is_none() {
        return Err("there is no signed data to check (give the data file)".into());
    }

    let signed_hash;
    let to_be_signed_digest = match signed_attrs {
        Some(attrs) => {
            let mut md = None;
            for a in attrs.children() {
                let oid = a
                    .child(0, "attribute type")
                    .and_then(|o| o.oid())
                    .map_err(e)?;
                let value = a
                    .child(1, "attribute values")
                    .and_then(|v| v.child(0, "attribute value"));
                match (oid.as_str(), value) {
                    (MESSAGE_DIGEST, Ok(v)) => md = Some(v.octets()),
                    (SIGNING_TIME, Ok(v)) => out.claimed_time = parse_time(v),
                    (CONTENT_TYPE, Ok(v))
                        if v.oid().ok().as_deref() != Some(sd.content_type.as_str()) =>
                    {
                        return Err("the signed content type does not match the content".into());
                    }
                    (SIGNING_CERT_V2 | SIGNING_CERT_V1, Ok(v)) => {
                        check_signing_certificate(&oid, v, out.cert.as_ref())?
                    }
                    (ADBE_REVOCATION, Ok(v)) => {
                        for part in v.children() {
                            // [0] EXPLICIT SEQUENCE OF CRL, [1] EXPLICIT SEQUENCE OF OCSPResponse.
                            let items = || part.children().iter().flat_map(|s| s.children());
                            if part.tag.is(CONTEXT, 0) {
                                out.crls.extend(items().map(Tlv::definite));
                            } else if part.tag.is(CONTEXT, 1) {
                                out.ocsps.extend(items().map(Tlv::definite));
                            }
                        }
                    }
                    _ => {}
                }
            }
            let md = md.ok_or("the signed attributes lack the message digest")?;
            if md != content_digest {
                return Err("the document's digest does not match the signed digest: the signed bytes were changed".into());
            }
            let der = attrs.to_der_with(Some(ber::Tag {
                class: UNIVERSAL,
                constructed: true,
                number: ber::SET,
            }));
            signed_hash = sig_alg.hash(hash);
            signed_hash.digest(&der)
        }
        None => {
            signed_hash = sig_alg.hash(hash);
            if signed_hash == hash {
                content_digest.clone()
            } else {
                parts.digest(signed_hash)?
            }
        }
    };
    out.signature_hash = Some(signed_hash);
    let cert = out
        .cert
        .as_ref()
        .ok_or("the signer's certificate is not in the signature")?;
    crypto::verify(
        &cert.spki_der,
        sig_alg,
        signed_hash,
        &to_be_signed_digest,
        &signature,
    )
    .map_err(|e| format!("the signature does not verify with the signer's certificate: {e}"))?;
    out.intact = true;

    if let Some(u) = unsigned {
        for a in u.children() {
            let Ok(oid) = a.child(0, "attribute type").and_then(|o| o.oid()) else {
                continue;
            };
            if oid == TIMESTAMP_TOKEN && depth == 0 {
                if let Ok(token) = a.child(1, "values").and_then(|v| v.child(0, "token")) {
                    out.timestamp = Some(Box::new(check_timestamp(
                        token,
                        &Pieces(&[signature.as_slice()]),
                        depth + 1,
                    )));
                }
            }
        }
    }
    Ok(())
}

/// ESS signing-certificate(-v2): the signed hash of the signer's certificate.
fn check_signing_certificate(oid: &str, v: &Tlv<'_>, cert: Option<&Cert>) -> Result<(), String> {
    let Some(cert) = cert else { return Ok(()) };
    let Some(first) = v
        .children()
        .first()
        .and_then(|certs| certs.children().first())
    else {
        return Ok(());
    };
    let (hash, value) = if oid == SIGNING_CERT_V1 {
        (Hash::Sha1, first.children().first())
    } else {
        match first.children() {
            [alg, h, ..] if alg.tag.is(UNIVERSAL, ber::SEQUENCE) => (
                alg.child(0, "hash")
                    .ok()
                    .and_then(|o| o.oid().ok())
                    .and_then(|o| Hash::from_oid(&o))
                    .unwrap_or(Hash::Sha256),
                Some(h),
            ),
            [h, ..] => (Hash::Sha256, Some(h)),
            [] => return Ok(()),
        }
    };
    match value {
        Some(h) if h.octets() != hash.digest(&cert.der) => Err(
            "the certificate in the signature is not the one the signer signed (signing-certificate attribute)".into(),
        ),
        _ => Ok(()),
    }
}

/// Check an RFC 3161 timestamp token over `imprinted` data.
pub fn check_timestamp(
    token: &Tlv<'_>,
    imprinted: &dyn SignedContent,
    depth: usize,
) -> TimestampCheck {
    let mut problems = Vec::new();
    let signed = match check_tlv(token, Content::Encapsulated, depth) {
        Ok(s) => s,
        Err(e) => {
            return TimestampCheck {
                time: None,
                imprint_hash: None,
                signed: SignedData {
                    content_type: String::new(),
                    e_content: None,
                    certs: vec![],
                    crls: Vec::new(),
                    signers: vec![],
                },
                intact: false,
                problems: vec![format!("unreadable timestamp: {e}")],
            }
        }
    };
    let mut time = None;
    let mut imprint_hash = None;
    let mut imprint_ok = false;
    if signed.content_type != TST_INFO {
        problems.push("the timestamp token does not hold TSTInfo".into());
    } else if let Some(info) = signed.e_content.as_deref() {
        match read_tst_info(info) {
            Ok((hash, imprint, t)) => {
                time = t;
                imprint_hash = Some(hash);
                match imprinted.digest(hash) {
                    Ok(d) => imprint_ok = d == imprint,
                    Err(e) => problems.push(e),
                }
                if !imprint_ok {
                    problems
                        .push("the timestamp is for other data (message imprint differs)".into());
                }
            }
            Err(e) => problems.push(format!("unreadable TSTInfo: {e}")),
        }
    }
    for s in &signed.signers {
        problems.extend(s.problems.iter().map(|p| format!("timestamp: {p}")));
    }
    let intact = imprint_ok && signed.signers.iter().all(|s| s.intact);
    TimestampCheck {
        time,
        imprint_hash,
        signed,
        intact,
        problems,
    }
}

fn read_tst_info(der: &[u8]) -> Result<(Hash, Vec<u8>, Option<OffsetDateTime>), String> {
    let e = |e: ber::BerError| e.to_string();
    let info = ber::parse(der).map_err(e)?;
    let imprint = info.child(2, "message imprint").map_err(e)?;
    let oid = imprint
        .child(0, "hash algorithm")
        .and_then(|a| a.child(0, "hash algorithm"))
        .and_then(|o| o.oid())
        .map_err(e)?;
    let hash = Hash::from_oid(&oid).ok_or(format!("unsupported imprint hash {oid}"))?;
    let value = imprint.child(1, "hashed message").map_err(e)?.octets();
    let time = info.child(4, "genTime").ok().and_then(parse_time);
    Ok((hash, value, time))
}

/// UTCTime or GeneralizedTime (UTC, optional fraction).
pub fn parse_time(t: &Tlv<'_>) -> Option<OffsetDateTime> {
    let s = std::str::from_utf8(t.bytes("time").ok()?).ok()?;
    let s = s.strip_suffix('Z')?;
    let (main, _fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = |r: std::ops::Range<usize>| main.get(r)?.parse::<i32>().ok();
    let (year, rest) = if t.tag.is(UNIVERSAL, ber::UTC_TIME) {
        let yy = digits(0..2)?;
        (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
    } else {
        (digits(0..4)?, 4)
    };
    let month = time::Month::try_from(digits(rest..rest + 2)? as u8).ok()?;
    let date =
        time::Date::from_calendar_date(year, month, digits(rest + 2..rest + 4)? as u8).ok()?;
    let sec = if main.len() >= rest + 10 {
        digits(rest + 8..rest + 10)?
    } else {
        0
    };
    let tm = time::Time::from_hms(
        digits(rest + 4..rest + 6)? as u8,
        digits(rest + 6..rest + 8)? as u8,
        sec as u8,
    )
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, tm).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Content that counts how often it is hashed.
    struct Counted<'a>(Pieces<'a>, Cell<usize>);

    impl SignedContent for Counted<'_> {
        fn digest(&self, hash: Hash) -> Result<Vec<u8>, String> {
            self.1.set(self.1.get() + 1);
            self.0.digest(hash)
        }
        fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    #[test]
    fn each_digest_algorithm_reads_the_content_once() {
        let pieces: [&[u8]; 2] = [b"green ", b"note"];
        let counted = Counted(Pieces(&pieces), Cell::new(0));
        let remembered = Remembered::new(&counted);
        let first = remembered.digest(Hash::Sha256).unwrap();
        assert_eq!(remembered.digest(Hash::Sha256).unwrap(), first);
        assert_eq!(first, Hash::Sha256.digest(b"green note"));
        assert_eq!(
            counted.1.get(),
            1,
            "a second signer's SHA-256 is remembered"
        );
        let other = remembered.digest(Hash::Sha512).unwrap();
        assert_eq!(other, Hash::Sha512.digest(b"green note"));
        assert_eq!(counted.1.get(), 2, "another algorithm reads it again");
    }
}
