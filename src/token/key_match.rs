//! Does a private key on the token belong to a certificate? Pure: the
//! certificate's public key against the public parts a token shows of a key
//! object (RSA modulus and exponent, EC point or curve).
//!
//! Needed because a certificate and a key are paired only by CKA_ID, which an
//! enrolment tool may reuse or get wrong; signing with the wrong key gives a
//! signature nobody can verify, found out only by the portal.

use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// The certificate's public key, as far as matching goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertKey {
    Rsa {
        modulus: Vec<u8>,
        exponent: Vec<u8>,
    },
    /// `curve`: the DER of the named-curve OID (as CKA_EC_PARAMS holds it).
    Ec {
        point: Vec<u8>,
        curve: Vec<u8>,
    },
}

impl CertKey {
    pub fn from_certificate(der: &[u8]) -> Option<CertKey> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let spki = cert.public_key();
        match spki.parsed().ok()? {
            PublicKey::RSA(rsa) => Some(CertKey::Rsa {
                modulus: unsigned(rsa.modulus).to_vec(),
                exponent: unsigned(rsa.exponent).to_vec(),
            }),
            PublicKey::EC(point) => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|oid| oid_der(oid.as_bytes()))?;
                Some(CertKey::Ec {
                    point: point.data().to_vec(),
                    curve,
                })
            }
            _ => None,
        }
    }
}

/// What the token shows of one key object (any attribute may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFacts {
    pub modulus: Option<Vec<u8>>,
    pub public_exponent: Option<Vec<u8>>,
    /// CKA_EC_POINT: usually a DER OCTET STRING around the point, sometimes
    /// the bare point.
    pub ec_point: Option<Vec<u8>>,
    pub ec_params: Option<Vec<u8>>,
    /// CKA_ALWAYS_AUTHENTICATE: every use of the key needs the PIN again.
    pub always_authenticate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The public key is the certificate's.
    Same,
    /// Another key.
    Different,
    /// The token hides the public part (an EC private key without
    /// CKA_EC_POINT): only the curve could be compared, and it agrees.
    CurveOnly,
}

pub fn judge(cert: &CertKey, key: &KeyFacts) -> Verdict {
    match cert {
        CertKey::Rsa { modulus, exponent } => match &key.modulus {
            Some(m) if unsigned(m) == modulus.as_slice() => {
                match &key.public_exponent {
                    // The exponent is redundant given the modulus, but a
                    // token that shows it must agree.
                    Some(e) if unsigned(e) != exponent.as_slice() => Verdict::Different,
                    _ => Verdict::Same,
                }
            }
            _ => Verdict::Different,
        },
        CertKey::Ec { point, curve } => {
            if let Some(p) = &key.ec_point {
                return if p == point || octet_string_content(p) == Some(point.as_slice()) {
                    Verdict::Same
                } else {
                    Verdict::Different
                };
            }
            match &key.ec_params {
                Some(params) if params == curve => Verdict::CurveOnly,
                _ => Verdict::Different,
            }
        }
    }
}

/// Big-endian integer bytes without leading zeros (tokens differ in padding).
fn unsigned(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The DER of an OID from its content octets.
fn oid_der(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x06];
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let first = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - first) as u8);
        out.extend_from_slice(&bytes[first..]);
    }
}

/// The content of a DER OCTET STRING, if `der` is exactly one.
fn octet_string_content(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x04 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, body) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (body.len() == len).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

    fn rsa() -> CertKey {
        CertKey::Rsa {
            modulus: vec![0xc1, 0x02, 0x03],
            exponent: vec![0x01, 0x00, 0x01],
        }
    }

    fn ec() -> CertKey {
        let mut point = vec![0x04];
        point.extend([7u8; 64]);
        CertKey::Ec {
            point,
            curve: P256.to_vec(),
        }
    }

    #[test]
    fn rsa_keys_match_by_modulus_whatever_the_padding() {
        let key = |m: &[u8], e: Option<&[u8]>| KeyFacts {
            modulus: Some(m.to_vec()),
            public_exponent: e.map(<[u8]>::to_vec),
            ..KeyFacts::default()
        };
        let table = [
            (key(&[0xc1, 2, 3], Some(&[1, 0, 1])), Verdict::Same),
            (key(&[0, 0xc1, 2, 3], Some(&[0, 1, 0, 1])), Verdict::Same),
            (key(&[0xc1, 2, 3], None), Verdict::Same),
            (key(&[0xc1, 2, 4], Some(&[1, 0, 1])), Verdict::Different),
            (key(&[0xc1, 2, 3], Some(&[3])), Verdict::Different),
            (KeyFacts::default(), Verdict::Different),
        ];
        for (i, (facts, verdict)) in table.into_iter().enumerate() {
            assert_eq!(judge(&rsa(), &facts), verdict, "row {i}");
        }
    }

    #[test]
    fn ec_keys_match_by_point_in_either_encoding_or_else_by_curve() {
        let CertKey::Ec { point, .. } = ec() else {
            unreachable!()
        };
        let mut wrapped = vec![0x04, point.len() as u8];
        wrapped.extend(&point);
        let mut other = point.clone();
        other[5] ^= 1;
        let table = [
            (Some(point.clone()), None, Verdict::Same),
            (Some(wrapped), None, Verdict::Same),
            (Some(other), Some(P256.to_vec()), Verdict::Different),
            (None, Some(P256.to_vec()), Verdict::CurveOnly),
            (
                None,
                Some(vec![0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
                Verdict::Different,
            ),
            (None, None, Verdict::Different),
        ];
        for (i, (ec_point, ec_params, verdict)) in table.into_iter().enumerate() {
            let facts = KeyFacts {
                ec_point,
                ec_params,
                ..KeyFacts::default()
            };
            assert_eq!(judge(&ec(), &facts), verdict, "row {i}");
        }
        assert_eq!(
            judge(
                &rsa(),
                &KeyFacts {
                    ec_params: Some(P256.to_vec()),
                    ..KeyFacts::default()
                }
            ),
            Verdict::Different
        );
    }

    #[test]
    fn octet_strings_are_unwrapped_only_when_whole() {
        assert_eq!(octet_string_content(&[4, 2, 9, 9]), Some(&[9u8, 9][..]));
        assert_eq!(octet_string_content(&[4, 3, 9, 9]), None);
        assert_eq!(octet_string_content(&[3, 2, 9, 9]), None);
        assert_eq!(
            octet_string_content(&[4, 0x81, 2, 9, 9]),
            Some(&[9u8, 9][..])
        );
        assert_eq!(oid_der(&P256[2..]), P256.to_vec());
    }
}
