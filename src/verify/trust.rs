//! The trust store: CCA India roots (trust anchors) and licensed CA
//! certificates (path building only), shipped inside the binary from
//! `assets/trust/` (provenance in `assets/trust/README.md`), replaceable or
//! extendable by configuration and `--trust`.

use super::cert::Cert;

/// Shipped trust anchors: the CCA India roots. The 2014 root expired in
/// 2024 and is kept for signatures made while it was valid.
const SHIPPED_ROOTS: &[(&str, &[u8])] = &[
    (
        "cca-india-2022.pem",
        include_bytes!("../../assets/trust/roots/cca-india-2022.pem"),
    ),
    (
        "cca-india-2014.pem",
        include_bytes!("../../assets/trust/roots/cca-india-2014.pem"),
    ),
];

/// Shipped licensed-CA certificates: never anchors, only links in a chain.
const SHIPPED_CAS: &[(&str, &[u8])] = &[
    (
        "capricorn-ca-2014.pem",
        include_bytes!("../../assets/trust/intermediates/capricorn-ca-2014.pem"),
    ),
    (
        "capricorn-ca-2022.pem",
        include_bytes!("../../assets/trust/intermediates/capricorn-ca-2022.pem"),
    ),
    (
        "capricorn-sub-ca-for-individual-dsc-2022.pem",
        include_bytes!(
            "../../assets/trust/intermediates/capricorn-sub-ca-for-individual-dsc-2022.pem"
        ),
    ),
    (
        "care4sign-ca-2022.pem",
        include_bytes!("../../assets/trust/intermediates/care4sign-ca-2022.pem"),
    ),
    (
        "care4sign-dsc-sub-ca-2022.pem",
        include_bytes!("../../assets/trust/intermediates/care4sign-dsc-sub-ca-2022.pem"),
    ),
    (
        "e-mudhra-ca-2014.pem",
        include_bytes!("../../assets/trust/intermediates/e-mudhra-ca-2014.pem"),
    ),
    (
        "e-mudhra-sub-ca-class-2-for-document-signer-2014.pem",
        include_bytes!(
            "../../assets/trust/intermediates/e-mudhra-sub-ca-class-2-for-document-signer-2014.pem"
        ),
    ),
    (
        "e-mudhra-sub-ca-for-class-3-individual-2014.pem",
        include_bytes!(
            "../../assets/trust/intermediates/e-mudhra-sub-ca-for-class-3-individual-2014.pem"
        ),
    ),
    (
        "safescrypt-ca-2022.pem",
        include_bytes!("../../assets/trust/intermediates/safescrypt-ca-2022.pem"),
    ),
    (
        "safescrypt-sub-ca-for-document-signer-2022.pem",
        include_bytes!(
            "../../assets/trust/intermediates/safescrypt-sub-ca-for-document-signer-2022.pem"
        ),
    ),
    (
        "signx-ca-2022.pem",
        include_bytes!("../../assets/trust/intermediates/signx-ca-2022.pem"),
    ),
    (
        "signx-sub-ca-for-class-3-individual-2022.pem",
        include_bytes!(
            "../../assets/trust/intermediates/signx-sub-ca-for-class-3-individual-2022.pem"
        ),
    ),
];

#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    /// Certificates a chain may end at.
    pub anchors: Vec<Cert>,
    /// Certificates that may fill a gap in a chain, trusted only through an anchor.
    pub cas: Vec<Cert>,
}

impl TrustStore {
    /// The CCA India roots and licensed CAs shipped with Mohor.
    pub fn shipped() -> TrustStore {
        Self::shipped_parsed().clone()
    }

    /// Parsed once per process: they are compiled in and never change (an
    /// agent completes a chain for every request, a verification of many
    /// files builds a store for each).
    fn shipped_parsed() -> &'static TrustStore {
        static SHIPPED: std::sync::OnceLock<TrustStore> = std::sync::OnceLock::new();
        SHIPPED.get_or_init(|| TrustStore {
            anchors: parse_all(SHIPPED_ROOTS.iter().map(|(_, b)| *b)),
            cas: parse_all(SHIPPED_CAS.iter().map(|(_, b)| *b)),
        })
    }

    /// Only the given anchors, with the shipped CAs still available for
    /// path building (they grant no trust on their own).
    pub fn replaced_by(anchors: Vec<Cert>) -> TrustStore {
        TrustStore {
            anchors,
            cas: Self::shipped_parsed().cas.clone(),
        }
    }

    pub fn add_anchors(&mut self, anchors: Vec<Cert>) {
        self.anchors.extend(anchors);
    }

    pub fn add_cas(&mut self, cas: Vec<Cert>) {
        self.cas.extend(cas);
    }

    pub fn is_anchor(&self, c: &Cert) -> bool {
        self.anchors.iter().any(|a| a.same_entity(c))
    }
}

/// Certificates of PEM or DER files' bytes; unreadable ones are skipped
/// by [`parse_all`] and reported by [`parse_file`].
fn parse_all<'a>(files: impl Iterator<Item = &'a [u8]>) -> Vec<Cert> {
    files
        .flat_map(crate::pem::certificates)
        .filter_map(|der| Cert::parse(&der).ok())
        .collect()
}

/// Every certificate in a PEM or DER file's bytes, or why one is unreadable.
pub fn parse_file(bytes: &[u8]) -> Result<Vec<Cert>, String> {
    let ders = crate::pem::certificates(bytes);
    if ders.is_empty() {
        return Err("it holds no certificate".into());
    }
    ders.iter().map(|d| Cert::parse(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_certificate_parses_and_each_ca_chains_to_a_shipped_root() {
        let s = TrustStore::shipped();
        assert_eq!(s.anchors.len(), SHIPPED_ROOTS.len());
        assert_eq!(s.cas.len(), SHIPPED_CAS.len());
        for ca in &s.cas {
            let chain = super::super::chain::build(ca, &[], &s);
            assert!(
                chain.anchored,
                "{} does not chain: {:?}",
                ca.cn, chain.problems
            );
        }
    }

    #[test]
    fn the_expired_2014_hierarchy_still_validates_what_was_signed_while_it_was_valid() {
        use time::macros::datetime;
        let s = TrustStore::shipped();
        let ca = s
            .cas
            .iter()
            .find(|c| c.cn == "e-Mudhra Sub CA for Class 3 Individual 2014")
            .unwrap();
        let chain = super::super::chain::build(ca, &[], &s);
        assert!(chain.anchored, "{:?}", chain.problems);
        assert_eq!(
            chain.cns(),
            [
                "e-Mudhra Sub CA for Class 3 Individual 2014",
                "e-Mudhra CA 2014",
                "CCA India 2014"
            ]
        );
        assert!(chain.check_at(datetime!(2020-01-01 0:00 UTC)).is_empty());
        assert!(!chain.check_at(datetime!(2026-01-01 0:00 UTC)).is_empty());
    }
}
