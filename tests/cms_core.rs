//! The CMS core with a software key: what the signing pipeline produces is
//! judged by openssl and pyHanko, not by our own parser.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use mohor::sign::cms::{self, CmsProfile};
use mohor::sign::{DigestAlgorithm, Signer};

fn sign_file(signer: &mut dyn Signer, data: &[u8]) -> Vec<u8> {
    let digest = signer.algorithm().digest().digest(data);
    let now = time::OffsetDateTime::now_utc();
    cms::sign_digest(signer, &digest, &CmsProfile::cades(now)).expect("sign")
}

#[test]
fn detached_signatures_verify_with_openssl_and_pyhanko_and_fail_on_one_changed_byte() {
    if !have_tool("openssl") {
        return;
    }
    let fx = Fixture::shared();
    let dir = test_dir("cms_core_detached");
    let data_path = dir.join("note.txt");
    let data = b"Green note 42/2026: sanction of Rs 1,20,000 for office repairs.\n".to_vec();
    std::fs::write(&data_path, &data).unwrap();
    for name in ["rsa2048", "rsa4096", "ec256"] {
        let mut signer = fx.software_signer(name);
        let p7s = dir.join(format!("{name}.p7s"));
        std::fs::write(&p7s, sign_file(&mut signer, &data)).unwrap();

        let ok = openssl_verify_detached(&p7s, &data_path, &fx.root);
        assert!(ok.status.success(), "{name}: openssl: {}", text(&ok));
        if let Some((good, t)) = pyhanko_detached(&p7s, &data_path, &fx.root) {
            assert!(good, "{name}: pyhanko: {t}");
        }

        let mut changed = data.clone();
        changed[5] ^= 1;
        let changed_path = dir.join(format!("{name}-changed.txt"));
        std::fs::write(&changed_path, &changed).unwrap();
        let bad = openssl_verify_detached(&p7s, &changed_path, &fx.root);
        assert!(
            !bad.status.success(),
            "{name}: openssl accepted changed data"
        );
        if let Some((good, t)) = pyhanko_detached(&p7s, &changed_path, &fx.root) {
            assert!(!good, "{name}: pyhanko accepted changed data: {t}");
        }
    }
}

#[test]
fn three_signatories_cosign_and_earlier_signer_infos_stay_byte_identical() {
    if !have_tool("openssl") {
        return;
    }
    let fx = Fixture::shared();
    let dir = test_dir("cms_core_cosign");
    let data = b"Tender 7/2026 evaluation report".to_vec();
    let data_path = dir.join("report.txt");
    std::fs::write(&data_path, &data).unwrap();
    let now = time::OffsetDateTime::now_utc();

    let mut a = fx.software_signer("rsa2048");
    let first = sign_file(&mut a, &data);
    let mut b = fx.software_signer("ec256");
    let second = cms::cosign(
        &first,
        &mut b,
        &mut |alg| alg.digest(&data),
        &CmsProfile::cades(now),
    )
    .unwrap();
    let mut c = fx.software_signer("rsa4096");
    let third = cms::cosign(
        &second,
        &mut c,
        &mut |alg| alg.digest(&data),
        &CmsProfile::cades(now),
    )
    .unwrap();
    let p7s = dir.join("three.p7s");
    std::fs::write(&p7s, &third).unwrap();

    let ok = openssl_verify_detached(&p7s, &data_path, &fx.root);
    assert!(ok.status.success(), "openssl: {}", text(&ok));
    let t = text(&ok);
    assert!(t.contains("Verification successful"), "{t}");

    let infos = |der: &[u8]| signer_infos(der);
    let (i1, i2, i3) = (infos(&first), infos(&second), infos(&third));
    assert_eq!(i1.len(), 1);
    assert_eq!(i2.len(), 2);
    assert_eq!(i3.len(), 3);
    assert_eq!(
        i2[0], i1[0],
        "first SignerInfo changed by the second signer"
    );
    assert_eq!(
        i3[..2],
        i2[..],
        "earlier SignerInfos changed by the third signer"
    );

    // openssl can list all three signers' certificates.
    assert_eq!(
        openssl_signer_count(&p7s, &data_path, &dir.join("signers.pem")),
        3
    );
}

#[test]
fn cosigning_other_data_or_twice_is_refused() {
    let fx = Fixture::shared();
    let now = time::OffsetDateTime::now_utc();
    let data = b"original".to_vec();
    let mut a = fx.software_signer("rsa2048");
    let first = sign_file(&mut a, &data);
    let mut b = fx.software_signer("ec256");
    let err = cms::cosign(
        &first,
        &mut b,
        &mut |alg| alg.digest(b"other"),
        &CmsProfile::cades(now),
    )
    .unwrap_err();
    assert_eq!(err, cms::CmsError::ContentMismatch { index: 0 });
    let mut a_again = fx.software_signer("rsa2048");
    let err = cms::cosign(
        &first,
        &mut a_again,
        &mut |alg| alg.digest(&data),
        &CmsProfile::cades(now),
    )
    .unwrap_err();
    assert_eq!(err, cms::CmsError::AlreadySigned);
    let err = cms::cosign(
        b"not cms",
        &mut b,
        &mut |alg| alg.digest(&data),
        &CmsProfile::cades(now),
    )
    .unwrap_err();
    assert!(matches!(err, cms::CmsError::BadExisting(_)));
}

#[test]
fn hash_mode_signs_the_callers_digest() {
    if !have_tool("openssl") {
        return;
    }
    let fx = Fixture::shared();
    let dir = test_dir("cms_core_hash");
    let data = b"server-prepared byte ranges".to_vec();
    let data_path = dir.join("ranges.bin");
    std::fs::write(&data_path, &data).unwrap();
    let mut a = fx.software_signer("rsa2048");
    let digest = DigestAlgorithm::Sha256.digest(&data);
    let p7s = dir.join("hash.p7s");
    let der = cms::sign_digest(&mut a, &digest, &CmsProfile::pades()).unwrap();
    std::fs::write(&p7s, der).unwrap();
    let ok = openssl_verify_detached(&p7s, &data_path, &fx.root);
    assert!(ok.status.success(), "openssl: {}", text(&ok));
    assert!(cms::sign_digest(&mut a, &digest[..31], &CmsProfile::pades()).is_err());
}

fn signer_infos(der: &[u8]) -> Vec<Vec<u8>> {
    cms::raw_signer_infos(der).expect("parse SignedData")
}
