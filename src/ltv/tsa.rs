//! RFC 3161 time-stamping: the request Mohor sends, and the checks an
//! answer must pass before its token goes into a signature or a document
//! (status granted, our imprint, our nonce, signed by a certificate with
//! the timeStamping purpose that chains to a trust anchor).

use der::asn1::{GeneralizedTime, Int, OctetString, Uint};
use der::{Decode, Encode, Tagged as _};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;

use super::certs;
use super::LtvError;
use crate::net::HttpClient;
use crate::sign::DigestAlgorithm;
use crate::verify::ber;
use crate::verify::cms::{Content, TST_INFO};

#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
pub struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

#[derive(Clone, Debug, der::Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    nonce: Uint,
    cert_req: bool,
}

#[derive(Clone, Debug, der::Sequence)]
struct PkiStatusInfo {
    status: u32,
    #[asn1(optional = "true")]
    status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<der::asn1::BitString>,
}

#[derive(Clone, Debug, der::Sequence)]
struct Accuracy {
    #[asn1(optional = "true")]
    seconds: Option<u64>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    micros: Option<u16>,
}

#[derive(Clone, Debug, der::Sequence)]
struct TstInfo {
    version: u8,
    policy: const_oid::ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: GeneralizedTime,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Uint>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<x509_cert::ext::pkix::name::GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<x509_cert::ext::Extensions>,
}

/// A request for a time-stamp over `digest` (made with `alg`): the DER to
/// send and the nonce the answer must repeat.
pub fn request(alg: DigestAlgorithm, digest: &[u8]) -> Result<(Vec<u8>, Vec<u8>), LtvError> {
    let mut nonce = [0u8; 16];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| LtvError::Internal(format!("no randomness for the nonce: {e}")))?;
    // Positive and without leading zeros whatever the random bytes are.
    nonce[0] = (nonce[0] & 0x7f) | 0x40;
    let req = TimeStampReq {
        version: 1,
        message_imprint: imprint(alg, digest)?,
        nonce: Uint::new(&nonce)?,
        cert_req: true,
    };
    Ok((req.to_der()?, nonce.to_vec()))
}

fn imprint(alg: DigestAlgorithm, digest: &[u8]) -> Result<MessageImprint, LtvError> {
    Ok(MessageImprint {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: alg.oid(),
            parameters: None,
        },
        hashed_message: OctetString::new(digest.to_vec())?,
    })
}

/// A checked time-stamp token.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token (a CMS ContentInfo), DER.
    pub der: Vec<u8>,
    pub gen_time: OffsetDateTime,
    /// The TSA's chain, its certificate first, the anchor last.
    pub chain: Vec<Vec<u8>>,
}

/// What the answer must match.
pub struct Expect<'a> {
    pub alg: DigestAlgorithm,
    pub digest: &'a [u8],
    pub nonce: &'a [u8],
    /// Trust anchors and intermediates the TSA may chain through.
    pub anchors: &'a [Certificate],
    pub intermediates: &'a [Certificate],
    pub now: OffsetDateTime,
}

fn refused(m: impl Into<String>) -> LtvError {
    LtvError::TimestampRefused(m.into())
}

/// Check a TimeStampResp against what was asked. Read as BER: a TSA may
/// answer with indefinite lengths (a streaming CMS encoder's), which the
/// token keeps in definite form once checked.
pub fn check_response(answer: &[u8], expect: &Expect<'_>) -> Result<Token, LtvError> {
    let garbage = |e: String| refused(format!("the answer is not a time-stamp response ({e})"));
    let resp = ber::parse(answer).map_err(|e| garbage(e.to_string()))?;
    if !resp.tag.is(ber::UNIVERSAL, ber::SEQUENCE) || resp.children().len() > 2 {
        return Err(garbage("not a TimeStampResp".into()));
    }
    let status = resp
        .child(0, "status")
        .map_err(|e| garbage(e.to_string()))
        .and_then(|s| PkiStatusInfo::from_der(&s.to_der()).map_err(|e| garbage(e.to_string())))?;
    // 0 granted, 1 granted with modifications; anything else is a refusal.
    if status.status > 1 {
        let text = status
            .status_string
            .map(|s| s.join("; "))
            .unwrap_or_default();
        return Err(refused(format!(
            "the time-stamp authority refused the request (status {}{}{text})",
            status.status,
            if text.is_empty() { "" } else { ": " }
        )));
    }
    let token = resp
        .children()
        .get(1)
        .ok_or_else(|| refused("the answer grants a time-stamp but carries none"))?;
    check_token(&token.definite(), expect)
}

/// Check a TimeStampToken (also used for tokens already in a file). The
/// CMS is read and its signature checked by the verifier's reader
/// ([`crate::verify::cms`]), which takes a signer named by issuer and
/// serial or by key identifier and checks the signed attributes as they
/// were signed; TSTInfo is DER by RFC 3161 §2.4.2.
pub fn check_token(token_der: &[u8], expect: &Expect<'_>) -> Result<Token, LtvError> {
    let signed = crate::verify::cms::check(token_der, Content::Encapsulated)
        .map_err(|e| refused(format!("the time-stamp token is malformed ({e})")))?;
    if signed.content_type != TST_INFO {
        return Err(refused("the time-stamp token does not hold TSTInfo"));
    }
    let content = signed
        .e_content
        .as_deref()
        .ok_or_else(|| refused("the time-stamp token has no content"))?;
    let tst = TstInfo::from_der(content)
        .map_err(|e| refused(format!("the time-stamp token is malformed ({e})")))?;

    if !same_imprint(&tst.message_imprint, expect.alg, expect.digest) {
        return Err(refused(
            "the time-stamp is over other data than was sent (message imprint differs)",
        ));
    }
    let nonce_ok = tst
        .nonce
        .as_ref()
        .is_some_and(|n| strip_zeros(n.as_bytes()) == strip_zeros(expect.nonce));
    if !nonce_ok {
        return Err(refused(
            "the time-stamp does not answer this request (nonce differs)",
        ));
    }
    let gen_time = OffsetDateTime::from(tst.gen_time.to_system_time());
    let skew = time::Duration::minutes(10);
    if gen_time > expect.now + skew || gen_time < expect.now - skew {
        return Err(refused(format!(
            "the time-stamp's time {gen_time} is far from this computer's clock"
        )));
    }

    let signer = signed
        .signers
        .first()
        .ok_or_else(|| refused("the time-stamp token has no signer"))?;
    let signer_cert = signer
        .cert
        .as_ref()
        .ok_or_else(|| refused("the time-stamp token does not carry its signer's certificate"))?;
    if !signer.intact {
        return Err(refused(format!(
            "the time-stamp token's signature does not verify ({})",
            signer.problems.join("; ")
        )));
    }
    let tsa_cert = &Certificate::from_der(&signer_cert.der).map_err(|e| {
        refused(format!(
            "the time-stamp authority's certificate is malformed ({e})"
        ))
    })?;
    let embedded: Vec<Certificate> = signed
        .certs
        .iter()
        .filter_map(|c| Certificate::from_der(&c.der).ok())
        .collect();
    if !certs::is_time_stamping_only(tsa_cert) {
        return Err(refused(
            "the time-stamp was signed by a certificate not meant for time-stamping",
        ));
    }
    let mut pool = embedded;
    pool.extend(expect.intermediates.iter().cloned());
    let chain = certs::chain_to_anchor(tsa_cert, &pool, expect.anchors, gen_time)
        .ok_or_else(|| {
            refused("the time-stamp authority's certificate is not trusted (no valid chain to a trusted root)")
        })?;
    let chain = chain
        .iter()
        .map(|c| c.to_der())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Token {
        der: token_der.to_vec(),
        gen_time,
        chain,
    })
}

/// The token is over our digest with our algorithm. Absent and NULL
/// algorithm parameters mean the same for SHA-2 (RFC 5754 §2), and TSAs
/// write either whatever the request said.
fn same_imprint(got: &MessageImprint, alg: DigestAlgorithm, digest: &[u8]) -> bool {
    let params_ok = match &got.hash_algorithm.parameters {
        None => true,
        Some(p) => p.tag() == der::Tag::Null && p.value().is_empty(),
    };
    got.hash_algorithm.oid == alg.oid() && params_ok && got.hashed_message.as_bytes() == digest
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&x| x == 0).count();
    &b[n..]
}

/// Ask `url` for a time-stamp over `digest` and check the answer.
pub fn timestamp(
    http: &dyn HttpClient,
    url: &str,
    alg: DigestAlgorithm,
    digest: &[u8],
    anchors: &[Certificate],
    intermediates: &[Certificate],
    now: OffsetDateTime,
) -> Result<Token, LtvError> {
    let (req, nonce) = request(alg, digest)?;
    let answer = http
        .post(url, "application/timestamp-query", &req)
        .map_err(LtvError::TimestampNet)?;
    check_response(
        &answer,
        &Expect {
            alg,
            digest,
            nonce: &nonce,
            anchors,
            intermediates,
            now,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect<'a>(digest: &'a [u8], nonce: &'a [u8]) -> Expect<'a> {
        Expect {
            alg: DigestAlgorithm::Sha256,
            digest,
            nonce,
            anchors: &[],
            intermediates: &[],
            now: OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn request_carries_imprint_nonce_and_cert_req() {
        let digest = [7u8; 32];
        let (der, nonce) = request(DigestAlgorithm::Sha256, &digest).unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.version, 1);
        assert!(req.cert_req);
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), &digest);
        assert_eq!(req.nonce.as_bytes(), nonce.as_slice());
        let (_, other) = request(DigestAlgorithm::Sha256, &digest).unwrap();
        assert_ne!(nonce, other, "a nonce is never reused");
    }

    #[test]
    fn garbage_and_refusals_are_timestamp_errors() {
        let d = [1u8; 32];
        for answer in [
            &b"<html>busy</html>"[..],
            &[],
            &[0x30, 0x03, 0x02, 0x01, 0x02],
        ] {
            let e = check_response(answer, &expect(&d, &[1])).unwrap_err();
            assert!(matches!(e, LtvError::TimestampRefused(_)), "{e:?}");
        }
        // status 2 (rejection) with a text
        let rejection = [
            0x30, 0x0b, 0x30, 0x09, 0x02, 0x01, 0x02, 0x30, 0x04, 0x0c, 0x02, b'n', b'o',
        ];
        let e = check_response(&rejection, &expect(&d, &[1])).unwrap_err();
        assert!(e.to_string().contains("status 2: no"), "{e}");
    }
}
