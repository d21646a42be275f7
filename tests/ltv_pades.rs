//! PAdES B-T / B-LT / B-LTA and CAdES-T against loopback services nobody
//! here wrote, judged by pyHanko with the services stopped.
#![cfg(feature = "software-signer")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
mod ltv_util;

use std::path::{Path, PathBuf};

use mohor::ltv::{pades, Level, Ltv};
use mohor::net::UreqClient;
use mohor::pdf::PdfSignOptions;
use mohor::sign::software::SoftwareSigner;

use ltv_util::Services;

fn corpus(name: &str) -> PathBuf {
    common::repo().join("../shared/corpus/pdf").join(name)
}

fn signer(s: &Services) -> SoftwareSigner {
    SoftwareSigner::from_files(
        &s.file("signer.p8.pem"),
        &s.file("signer.cert.pem"),
        &s.file("chain.pem"),
    )
    .expect("LTV signer")
}

fn known(s: &Services) -> Vec<Vec<u8>> {
    let pem = std::fs::read(s.file("chain.pem")).unwrap();
    mohor::pem::certificates(&pem)
}

fn sign(s: &Services, input: &Path, out: &Path, level: Level, tsa: &str) -> mohor::Result<()> {
    let http = UreqClient::new(std::time::Duration::from_secs(5));
    let ltv = Ltv::new(
        &http,
        Some(s.tsa(tsa)),
        &known(s),
        time::OffsetDateTime::now_utc(),
    );
    let mut signer = signer(s);
    let opts = PdfSignOptions::new("Kavya Rao", "Test LTV Class 3 CA");
    pades::sign_pdf(input, out, &mut signer, &opts, level, Some(&ltv)).map(|_| ())
}

#[test]
fn b_t_b_lt_and_b_lta_validate_from_what_they_embed() {
    let dir = common::test_dir("ltv-levels");
    let mut s = Services::start(&dir);
    let input = corpus("pyhanko-minimal.pdf");
    let levels = [Level::BT, Level::BLT, Level::BLTA];
    for level in levels {
        let out = dir.join(format!("{}.pdf", level.as_str()));
        sign(&s, &input, &out, level, "tsa").unwrap_or_else(|e| panic!("{level:?}: {e:?}"));
    }
    s.stop();
    let root = s.file("root.pem");
    for level in levels {
        let out = dir.join(format!("{}.pdf", level.as_str()));
        let qpdf = common::run(std::process::Command::new("qpdf").arg("--check").arg(&out));
        assert!(qpdf.status.success(), "{level:?}: {}", common::text(&qpdf));
        let sigs = mohor::pdf::signature_contents(&out, None).unwrap();
        let doc_ts = sigs.iter().filter(|c| c.doc_timestamp).count();
        assert_eq!(
            doc_ts,
            usize::from(level == Level::BLTA),
            "{level:?}: document time-stamps"
        );
        let Some((ok, text)) = ltv_util::pyhanko_timestamped(&out, &root) else {
            return;
        };
        assert!(ok, "{level:?}: {text}");
        if level >= Level::BLT {
            let (ok, text) = ltv_util::pyhanko_dss(&out, &root).unwrap();
            assert!(ok, "{level:?}: {text}");
            // The leaf's OCSP response, the sub-CA's CRL (from the root), and
            // the TSA's OCSP response. B-LTA asks for the TSA's again after
            // the document time-stamp: a new response, or within the same
            // second the same bytes, which are not written twice (nor is the CRL).
            let ocsps = if level == Level::BLTA {
                &["ocsps=2 ", "ocsps=3 "][..]
            } else {
                &["ocsps=2 "][..]
            };
            assert!(ocsps.iter().any(|o| text.contains(o)), "{level:?}: {text}");
            assert!(text.contains(" crls=1\n"), "{level:?}: {text}");
            assert!(
                text.contains("OK Signature1 signer: Common Name: Kavya Rao"),
                "{text}"
            );
            assert!(
                text.contains("OK Signature1 time-stamp authority"),
                "{text}"
            );
        }
    }
}

fn ltv_for<'a>(s: &Services, http: &'a UreqClient, tsa: &str) -> Ltv<'a> {
    Ltv::new(
        http,
        Some(s.tsa(tsa)),
        &known(s),
        time::OffsetDateTime::now_utc(),
    )
}

#[test]
fn a_dead_or_lying_tsa_is_refused_with_its_reason_and_no_output() {
    let dir = common::test_dir("ltv-lying");
    let s = Services::start(&dir);
    let input = corpus("pyhanko-minimal.pdf");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/tsa", l.local_addr().unwrap().port())
    };
    let cases = [
        ("tsa-wrong-imprint", "message imprint"),
        ("tsa-wrong-nonce", "nonce"),
        ("tsa-rogue", "not trusted"),
        ("tsa-garbage", "not a time-stamp response"),
        ("no-such-service", "HTTP 404"),
    ];
    for (path, why) in cases {
        for level in [Level::BT, Level::BLTA] {
            let out = dir.join(format!("{path}-{}.pdf", level.as_str()));
            let e = sign(&s, &input, &out, level, path).unwrap_err();
            assert_eq!(
                e.reason,
                mohor::Reason::TimestampUnavailable,
                "{path}: {e:?}"
            );
            assert!(e.message.contains(why), "{path}: {}", e.message);
            assert!(!out.exists(), "{path}: output written");
        }
    }
    // Nobody listening: refused before anything is signed (preflight), and
    // signing itself says the same.
    let http = UreqClient::new(std::time::Duration::from_secs(3));
    let ltv = Ltv::new(
        &http,
        Some(dead.clone()),
        &known(&s),
        time::OffsetDateTime::now_utc(),
    );
    let e = mohor::Error::from(ltv.preflight(Level::BT).unwrap_err());
    assert_eq!(e.reason, mohor::Reason::TimestampUnavailable);
    assert!(e.message.contains("could not be reached"), "{}", e.message);
    ltv.preflight(Level::BB).expect("B-B needs no network");
    let out = dir.join("dead.pdf");
    let mut signer = signer(&s);
    let opts = PdfSignOptions::new("Kavya Rao", "Test LTV Class 3 CA");
    let e = pades::sign_pdf(&input, &out, &mut signer, &opts, Level::BT, Some(&ltv)).unwrap_err();
    assert_eq!(e.reason, mohor::Reason::TimestampUnavailable);
    assert!(!out.exists());
    // Nothing left behind in the folder but what the test wrote.
    let stray: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".mohor"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// A time-stamping certificate issued with an official's signing key (an
/// end entity, CA:false, under the trusted CA) is no TSA: a path may only
/// pass through CA certificates. Before, Mohor accepted its tokens, so
/// anyone holding a DSC could stand in for the TSA. `openssl verify`
/// refuses the same chain.
#[test]
fn a_time_stamping_certificate_issued_by_a_signer_is_not_trusted() {
    let dir = common::test_dir("ltv-leaf-tsa");
    let s = Services::start(&dir);
    let input = corpus("pyhanko-minimal.pdf");
    for level in [Level::BT, Level::BLTA] {
        let out = dir.join(format!("leaf-tsa-{}.pdf", level.as_str()));
        let e = sign(&s, &input, &out, level, "tsa-under-leaf").unwrap_err();
        assert_eq!(e.reason, mohor::Reason::TimestampUnavailable, "{e:?}");
        assert!(e.message.contains("not trusted"), "{}", e.message);
        assert!(!out.exists(), "output written");
    }
    let judge = common::run(
        std::process::Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(s.file("root.pem"))
            .arg("-untrusted")
            .arg(s.file("leaf-tsa-chain.pem"))
            .arg(s.file("leaf-tsa.cert.pem")),
    );
    let text = common::text(&judge);
    assert!(!judge.status.success(), "openssl accepted it: {text}");
    assert!(text.contains("invalid CA certificate"), "{text}");
    // The real TSA under the same CA still serves.
    sign(&s, &input, &dir.join("good.pdf"), Level::BT, "tsa").expect("the real TSA");
}

/// ISO 32000 asks for a DER signature, but some tools write BER: `mohor
/// verify` read such a signature while `mohor extend` called it
/// "unreadable (indefinite length disallowed)" and would not renew the
/// document. The earlier signature's CMS is rewritten to BER (its signed
/// parts unchanged), extended to B-LT, and judged by qpdf, by pyHanko's
/// validator and by pyHanko reading the DSS with the services stopped.
#[test]
fn an_earlier_signature_written_in_ber_is_extended() {
    let dir = common::test_dir("ltv-ber-earlier");
    let mut s = Services::start(&dir);
    let signed = dir.join("b-b.pdf");
    sign(
        &s,
        &corpus("pyhanko-minimal.pdf"),
        &signed,
        Level::BB,
        "tsa",
    )
    .unwrap();
    let ber = dir.join("ber.pdf");
    let py = common::repo().join("tests/fixtures/cms_to_ber.py");
    let o = common::run(
        std::process::Command::new("python3")
            .arg(py)
            .arg(&signed)
            .arg(&ber),
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let http = UreqClient::new(std::time::Duration::from_secs(5));
    let extended = dir.join("extended.pdf");
    pades::extend(
        &ber,
        &extended,
        Level::BLT,
        &ltv_for(&s, &http, "tsa"),
        None,
    )
    .expect("the BER signature renewed");
    s.stop();
    let root = s.file("root.pem");
    let qpdf = common::run(
        std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&extended),
    );
    assert!(qpdf.status.success(), "{}", common::text(&qpdf));
    if let Some((ok, text)) = common::pyhanko_pdf(&extended, &root) {
        assert!(ok, "{text}");
        let (ok, text) = ltv_util::pyhanko_dss(&extended, &root).unwrap();
        assert!(ok, "{text}");
    }
}

/// RFC 5652 lets a CMS name its signer by subject key identifier, and
/// streaming encoders write BER with indefinite lengths; TSAs do both. Mohor
/// refused the first ("names its signer by key id only") and the second
/// (strict DER reading). Both tokens are now checked by the verifier's CMS
/// reader and embedded (the second in definite form); pyHanko validates the
/// signature and its time-stamp, and `openssl cms -verify` the token as
/// embedded, trusting only the test root.
#[test]
fn a_tsa_naming_its_signer_by_key_id_or_writing_ber_is_accepted() {
    let dir = common::test_dir("ltv-tsa-forms");
    let mut s = Services::start(&dir);
    let input = corpus("pyhanko-minimal.pdf");
    let paths = ["tsa-key-id", "tsa-ber"];
    for path in paths {
        sign(
            &s,
            &input,
            &dir.join(format!("{path}.pdf")),
            Level::BT,
            path,
        )
        .unwrap_or_else(|e| panic!("{path}: {e:?}"));
    }
    s.stop();
    let root = s.file("root.pem");
    for path in paths {
        let out = dir.join(format!("{path}.pdf"));
        let token = dir.join(format!("{path}.tst"));
        std::fs::write(&token, embedded_timestamp(&out)).unwrap();
        let judge = common::run(
            std::process::Command::new("openssl")
                .args([
                    "cms",
                    "-verify",
                    "-inform",
                    "DER",
                    "-purpose",
                    "timestampsign",
                ])
                .arg("-in")
                .arg(&token)
                .arg("-CAfile")
                .arg(&root)
                .args(["-out", "/dev/null"]),
        );
        assert!(judge.status.success(), "{path}: {}", common::text(&judge));
        if let Some((ok, text)) = ltv_util::pyhanko_timestamped(&out, &root) {
            assert!(ok, "{path}: {text}");
        }
    }
}

/// The signature time-stamp token of the first signature in `pdf`, as embedded.
fn embedded_timestamp(pdf: &Path) -> Vec<u8> {
    use mohor::verify::ber;
    let sigs = mohor::pdf::signature_contents(pdf, None).unwrap();
    let cms = ber::parse(&sigs[0].contents).unwrap();
    let signed_data = cms.child(1, "[0]").unwrap().child(0, "SignedData").unwrap();
    let signer_infos = signed_data.children().last().unwrap();
    let signer_info = signer_infos.child(0, "SignerInfo").unwrap();
    let unsigned = signer_info.children().last().unwrap();
    assert!(unsigned.tag.is(ber::CONTEXT, 1), "no unsigned attributes");
    let attr = unsigned
        .children()
        .iter()
        .find(|a| a.child(0, "type").unwrap().oid().unwrap() == "1.2.840.113549.1.9.16.2.14")
        .expect("a signature time-stamp");
    let token = attr.child(1, "values").unwrap().child(0, "token").unwrap();
    token.raw.to_vec()
}

/// Officials sign a note's pre-placed fields in any order. Signing the
/// first listed field after the second used to give the new signature the
/// other one's revocation data (the DSS was built for the last signature
/// in field order): the file said B-LT while its newest signer's
/// certificate had no OCSP response in it. pyHanko, reading only the
/// DSS, must validate both signers and their time-stamp authority.
#[test]
fn signing_fields_out_of_order_at_b_lt_gives_each_signer_its_own_evidence() {
    let Some(py) = common::pyhanko() else {
        return;
    };
    let dir = common::test_dir("ltv-field-order");
    let mut s = Services::start(&dir);
    let fields = dir.join("two-fields.pdf");
    let made = common::run(
        std::process::Command::new(&py)
            .args(["sign", "addfields"])
            .args(["--field", "1/50,650,250,700/F1"])
            .args(["--field", "1/50,550,250,600/F2"])
            .arg(corpus("pyhanko-minimal.pdf"))
            .arg(&fields),
    );
    assert!(made.status.success(), "{}", common::text(&made));
    let http = UreqClient::new(std::time::Duration::from_secs(5));
    let ltv = ltv_for(&s, &http, "tsa");
    let ravi = dir.join("ravi.pdf");
    let mut second = SoftwareSigner::from_files(
        &s.file("signer2.p8.pem"),
        &s.file("signer2.cert.pem"),
        &s.file("chain.pem"),
    )
    .expect("second signer");
    let mut opts = PdfSignOptions::new("Ravi Kumar", "Test LTV Class 3 CA");
    opts.field = Some("F2".into());
    pades::sign_pdf(&fields, &ravi, &mut second, &opts, Level::BLT, Some(&ltv)).expect("F2");
    let both = dir.join("both.pdf");
    let mut opts = PdfSignOptions::new("Kavya Rao", "Test LTV Class 3 CA");
    opts.field = Some("F1".into());
    pades::sign_pdf(&ravi, &both, &mut signer(&s), &opts, Level::BLT, Some(&ltv)).expect("F1");
    s.stop();

    let order: Vec<String> = mohor::pdf::signature_contents(&both, None)
        .unwrap()
        .into_iter()
        .map(|c| c.field_name)
        .collect();
    assert_eq!(order, ["F1", "F2"], "the field list's order");
    let (ok, text) = ltv_util::pyhanko_dss(&both, &s.file("root.pem")).unwrap();
    assert!(ok, "{text}");
    for line in [
        "OK F1 signer: Common Name: Kavya Rao",
        "OK F2 signer: Common Name: Ravi Kumar",
        "OK F1 time-stamp authority",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    let qpdf = common::run(std::process::Command::new("qpdf").arg("--check").arg(&both));
    assert!(qpdf.status.success(), "{}", common::text(&qpdf));
}

/// A delegated OCSP responder whose certificate lacks id-pkix-ocsp-nocheck
/// must itself be shown not revoked (RFC 6960 §4.2.2.2.1), or a validator
/// reading only the document cannot trust what it signed. Mohor embedded its
/// answers alone; now the responder's CRL goes in beside them. A responder
/// since revoked is passed over, and the signer's own CRL proves the signer.
/// pyHanko's validator, given the DSS only, judges both documents.
#[test]
fn an_ocsp_responder_without_nocheck_brings_its_own_crl_and_a_revoked_one_is_passed_over() {
    let dir = common::test_dir("ltv-responder-checked");
    let mut s = Services::start(&dir);
    s.responder_without_nocheck();
    let input = corpus("pyhanko-minimal.pdf");
    let checked = dir.join("checked.pdf");
    sign(&s, &input, &checked, Level::BLT, "tsa").expect("B-LT with a checked responder");
    verifier_asks_for_the_responders_status(&s);
    s.revoke_responder();
    let passed_over = dir.join("passed-over.pdf");
    sign(&s, &input, &passed_over, Level::BLT, "tsa").expect("B-LT from CRLs");
    s.stop();
    let root = s.file("root.pem");
    for (pdf, counts) in [
        (&checked, "ocsps=2 crls=2"),
        (&passed_over, "ocsps=0 crls=2"),
    ] {
        let qpdf = common::run(std::process::Command::new("qpdf").arg("--check").arg(pdf));
        assert!(qpdf.status.success(), "{}", common::text(&qpdf));
        let Some((ok, text)) = ltv_util::pyhanko_dss(pdf, &root) else {
            return;
        };
        assert!(ok, "{}: {text}", pdf.display());
        assert!(text.contains(counts), "{}: {text}", pdf.display());
    }
}

/// `mohor verify`'s reading of the same rule: the checked responder's
/// answer about the signer proves nothing without the responder's CRL.
fn verifier_asks_for_the_responders_status(s: &Services) {
    use mohor::verify::revocation::{judge, RevocationStatus, SigningTime, ValidationData};
    let answer = s.ocsp_answer("subca.pem", "v");
    let cert = |name: &str| {
        let pem = std::fs::read(s.file(name)).unwrap();
        mohor::verify::cert::Cert::parse(&mohor::pem::certificates(&pem)[0]).unwrap()
    };
    let chain = mohor::verify::chain::Chain {
        certs: vec![cert("signer.cert.pem"), cert("subca.pem"), cert("root.pem")],
        complete: true,
        anchored: true,
        problems: vec![],
    };
    let file = |name: &str| std::fs::read(s.file(name)).unwrap();
    let signed_at =
        SigningTime::Claimed(time::OffsetDateTime::now_utc() - time::Duration::minutes(1));
    let without = ValidationData {
        ocsps: vec![std::fs::read(&answer).unwrap()],
        crls: vec![file("root.crl")],
    };
    let j = judge(&chain, &without, signed_at);
    assert_eq!(j.status, RevocationStatus::Incomplete, "{j:?}");
    assert!(j.problems.iter().any(|p| p.contains("responder")), "{j:?}");
    let with = without.with(&[], &[file("subca.crl")]);
    let j = judge(&chain, &with, signed_at);
    assert_eq!(j.status, RevocationStatus::Valid, "{j:?}");
}

/// OCSP names a certificate by its serial and the hashes of its issuer's
/// name and key (RFC 6960 §4.1.1). A CA certified under a second name with
/// the same key is another issuer; an answer about the signer's serial
/// under that name said "good" for Mohor, which compared the key hash only.
/// `openssl ocsp` finds no status for the signer in the same answer.
#[test]
fn an_ocsp_answer_about_another_issuer_name_with_the_same_key_is_not_evidence() {
    use der::Decode as _;
    let dir = common::test_dir("ltv-ocsp-twin");
    let s = Services::start(&dir);
    s.openssl(&[
        "req",
        "-new",
        "-key",
        "subca.key.pem",
        "-subj",
        "/C=IN/O=LTV Test/CN=Twin Class 3 CA",
        "-out",
        "twin.csr",
    ]);
    s.openssl(&[
        "x509",
        "-req",
        "-in",
        "twin.csr",
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key.pem",
        "-set_serial",
        "77",
        "-days",
        "30",
        "-out",
        "twin.pem",
    ]);
    let serial = s.signer_serial();
    for ca in ["subca", "twin"] {
        s.ocsp_answer(&format!("{ca}.pem"), ca);
    }
    let cert = |name: &str| {
        let pem = std::fs::read(s.file(name)).unwrap();
        x509_cert::Certificate::from_der(&mohor::pem::certificates(&pem)[0]).unwrap()
    };
    let (signer, subca) = (cert("signer.cert.pem"), cert("subca.pem"));
    let now = time::OffsetDateTime::now_utc();
    let check = |resp: &str| {
        let der = std::fs::read(s.file(resp)).unwrap();
        mohor::ltv::revocation::check_ocsp(&der, &signer, &subca, now)
    };
    check("subca-resp.der").expect("the answer about the sub-CA's signer");
    let e = check("twin-resp.der").unwrap_err();
    assert!(e.to_string().contains("about another certificate"), "{e}");

    let judge = |resp: &str| {
        common::text(&common::run(
            std::process::Command::new("openssl")
                .current_dir(&s.pki)
                .args(["ocsp", "-no_nonce", "-respin", resp, "-issuer", "subca.pem"])
                .args([
                    "-serial",
                    &serial,
                    "-CAfile",
                    "root.pem",
                    "-verify_other",
                    "chain.pem",
                ]),
        ))
    };
    let good = judge("subca-resp.der");
    assert!(
        good.contains("Response verify OK") && good.contains(": good"),
        "{good}"
    );
    assert!(
        judge("twin-resp.der").contains("No Status found"),
        "{}",
        judge("twin-resp.der")
    );
}

/// A CRL proves "not revoked" only when it is a complete list that speaks
/// for the certificate: a delta CRL, a partition for other certificates,
/// a CRL of CA certificates only, or one with a critical extension Mohor
/// does not understand leaves the signer's revocation unknown. The same
/// check serves the long-term signer and the verifier.
#[test]
fn crls_that_do_not_speak_for_the_certificate_prove_nothing() {
    use der::Decode as _;
    let dir = common::test_dir("ltv-crl-scope");
    let s = Services::start(&dir);
    let cdp = format!("URI:http://127.0.0.1:{}/subca.crl", s.http_port);
    let kinds = format!(
        "
[crl_plain]
authorityKeyIdentifier = keyid:always
[crl_delta]
authorityKeyIdentifier = keyid:always
2.5.29.27 = critical, ASN1:INTEGER:1
[crl_ca_only]
issuingDistributionPoint = critical, @idp_ca_only
[idp_ca_only]
fullname = {cdp}
onlyCA = TRUE
[crl_other_partition]
issuingDistributionPoint = critical, @idp_other
[idp_other]
fullname = URI:http://127.0.0.1:9/other-partition.crl
[crl_users_here]
issuingDistributionPoint = critical, @idp_users_here
[idp_users_here]
fullname = {cdp}
onlyuser = TRUE
[crl_unknown_critical]
1.3.6.1.4.1.55555.1 = critical, ASN1:NULL
"
    );
    let conf = s.file("openssl.cnf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&kinds);
    std::fs::write(&conf, text).unwrap();
    let crl = |section: &str| -> (std::path::PathBuf, Vec<u8>) {
        let pem = s.file(&format!("{section}.crl.pem"));
        let out = format!("{section}.crl.pem");
        s.sub_ca(&["-gencrl", "-crlexts", section, "-out", &out]);
        let der = common::run(
            std::process::Command::new("openssl")
                .args(["crl", "-outform", "DER", "-in"])
                .arg(&pem),
        );
        (pem, der.stdout)
    };
    let cert = |name: &str| {
        let pem = std::fs::read(s.file(name)).unwrap();
        x509_cert::Certificate::from_der(&mohor::pem::certificates(&pem)[0]).unwrap()
    };
    let (signer, subca) = (cert("signer.cert.pem"), cert("subca.pem"));
    let read = |der: &[u8]| mohor::ltv::revocation::read_crl(der, &signer, &subca);

    for ok in ["crl_plain", "crl_users_here"] {
        let (_, der) = crl(ok);
        assert!(read(&der).is_ok(), "{ok}: {:?}", read(&der));
    }
    for (section, why) in [
        ("crl_delta", "delta CRL"),
        ("crl_ca_only", "another kind of certificate"),
        ("crl_other_partition", "partition"),
        ("crl_unknown_critical", "critical extension"),
    ] {
        let (pem, der) = crl(section);
        match read(&der) {
            Err(mohor::ltv::LtvError::RevocationRefused(m)) => {
                assert!(m.contains(why), "{section}: {m}")
            }
            other => panic!("{section}: {other:?}"),
        }
        // What openssl reads in the same CRL: the extension is there.
        let shown = common::run(
            std::process::Command::new("openssl")
                .args(["crl", "-noout", "-text", "-in"])
                .arg(&pem),
        );
        let text = common::text(&shown);
        let mark = match section {
            "crl_delta" => "Delta CRL Indicator: critical",
            "crl_unknown_critical" => "1.3.6.1.4.1.55555.1: critical",
            _ => "Issuing Distribution Point: critical",
        };
        assert!(text.contains(mark), "{section}: {text}");
    }
}

/// A CMS may name its signer by subject key identifier (version 3, as
/// `openssl cms -keyid` and some vendor signers write it). Such signers
/// were skipped when gathering evidence, so `mohor extend` added nothing
/// for them and the file still claimed B-LT.
#[test]
fn a_signer_named_by_key_identifier_is_found_for_its_evidence() {
    let dir = common::test_dir("ltv-keyid");
    let s = Services::start(&dir);
    let data = dir.join("note.txt");
    std::fs::write(&data, b"green note 7\n").unwrap();
    let p7s = dir.join("note.p7s");
    s.openssl(&[
        "cms",
        "-sign",
        "-binary",
        "-keyid",
        "-md",
        "sha256",
        "-signer",
        "signer.cert.pem",
        "-inkey",
        "signer.key.pem",
        "-outform",
        "DER",
        "-in",
        data.to_str().unwrap(),
        "-out",
        p7s.to_str().unwrap(),
    ]);
    let judge = common::run(
        std::process::Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(&p7s)
            .arg("-content")
            .arg(&data)
            .arg("-CAfile")
            .arg(s.file("chain.pem"))
            .args(["-out", "/dev/null"]),
    );
    assert!(judge.status.success(), "{}", common::text(&judge));
    let shown = common::run(
        std::process::Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&p7s),
    );
    assert!(
        common::text(&shown).contains("subjectKeyIdentifier"),
        "not named by key id"
    );

    let der = std::fs::read(&p7s).unwrap();
    let signers = mohor::ltv::cades::embedded_signers(&der).unwrap();
    let own = std::fs::read(s.file("signer.cert.der")).unwrap();
    assert_eq!(signers.len(), 1);
    assert_eq!(signers[0].certificate.as_ref(), Some(&own));
}

#[test]
fn detached_b_t_carries_a_trusted_timestamp_and_cosigning_keeps_it() {
    use mohor::sign::cms::{self, CmsProfile};
    let dir = common::test_dir("ltv-cades");
    let mut s = Services::start(&dir);
    let http = UreqClient::new(std::time::Duration::from_secs(5));
    let ltv = ltv_for(&s, &http, "tsa");
    let data = dir.join("note.txt");
    std::fs::write(&data, b"green note 42\n").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let mut first = signer(&s);
    let der =
        mohor::service::detached_cms(&mut first, &data, None, &CmsProfile::cades(now)).unwrap();
    let (der, _) = mohor::ltv::cades::timestamp_last_signer(&der, &ltv).unwrap();
    let p7s = dir.join("note.txt.p7s");
    std::fs::write(&p7s, &der).unwrap();

    // A second signatory (another PKI) co-signs at B-T.
    let fx = common::Fixture::shared();
    let mut second = fx.software_signer("rsa2048");
    let both =
        mohor::service::detached_cms(&mut second, &data, Some(&der), &CmsProfile::cades(now))
            .unwrap();
    let (both, _) = mohor::ltv::cades::timestamp_last_signer(&both, &ltv).unwrap();
    let cosigned = dir.join("note.txt.2.p7s");
    std::fs::write(&cosigned, &both).unwrap();
    let infos = cms::raw_signer_infos(&both).unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(
        infos[0],
        cms::raw_signer_infos(&der).unwrap()[0],
        "first signer kept byte for byte"
    );
    s.stop();

    let Some(py) = common::pyhanko() else { return };
    let roots = dir.join("roots.pem");
    let mut pem = std::fs::read(s.file("root.pem")).unwrap();
    pem.extend(std::fs::read(&fx.root).unwrap());
    std::fs::write(&roots, pem).unwrap();
    // pyHanko validates detached files with one signer.
    let out = common::run(
        std::process::Command::new(&py)
            .args([
                "sign",
                "validate",
                "--no-revocation-check",
                "--trust-replace",
                "--trust",
            ])
            .arg(&roots)
            .arg("--detached")
            .arg(&p7s)
            .arg(&data),
    );
    let text = common::text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
        "{text}"
    );
    // Both signers keep a signature time-stamp (openssl's reading).
    let out = common::run(
        std::process::Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&cosigned),
    );
    let printed = common::text(&out);
    assert_eq!(
        printed.matches("id-smime-aa-timeStampToken").count(),
        2,
        "{printed}"
    );
    // openssl sees both signers intact.
    let out = common::openssl_verify_detached(&cosigned, &data, &roots);
    assert!(out.status.success(), "{}", common::text(&out));
}

#[test]
fn a_corpus_file_at_b_lta_then_a_second_signatory_at_b_t_keeps_both_valid_and_extend_renews() {
    let dir = common::test_dir("ltv-cosign");
    let mut s = Services::start(&dir);
    let input = corpus("pyhanko-minimal-two-pages.pdf");
    let lta = dir.join("lta.pdf");
    sign(&s, &input, &lta, Level::BLTA, "tsa").unwrap();
    let fx = common::Fixture::shared();
    let http = UreqClient::new(std::time::Duration::from_secs(5));
    let ltv = ltv_for(&s, &http, "tsa");
    let mut second = fx.software_signer("rsa2048");
    let both = dir.join("both.pdf");
    let opts = PdfSignOptions::new("Asha Verma", "Test Class 3 CA 2026");
    pades::sign_pdf(&lta, &both, &mut second, &opts, Level::BT, Some(&ltv)).unwrap();
    // Archive renewal of the first file: DSS for its document time-stamp's
    // TSA too, and a fresh document time-stamp.
    let renewed = dir.join("renewed.pdf");
    pades::extend(&lta, &renewed, Level::BLTA, &ltv, None).unwrap();
    s.stop();

    let sigs = mohor::pdf::signature_contents(&renewed, None).unwrap();
    assert_eq!(
        sigs.iter().filter(|c| c.doc_timestamp).count(),
        2,
        "two document time-stamps"
    );
    let Some(_) = common::pyhanko() else { return };
    let roots = dir.join("roots.pem");
    let mut pem = std::fs::read(s.file("root.pem")).unwrap();
    pem.extend(std::fs::read(&fx.root).unwrap());
    std::fs::write(&roots, pem).unwrap();
    let (ok, text) = ltv_util::pyhanko_timestamped(&both, &roots).unwrap();
    assert!(ok, "{text}");
    assert_eq!(
        text.matches("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
            .count(),
        2,
        "{text}"
    );
    let (ok, text) = ltv_util::pyhanko_dss(&renewed, &s.file("root.pem")).unwrap();
    assert!(ok, "{text}");
    assert!(
        text.contains("OK Signature2 signer"),
        "the first document time-stamp's TSA: {text}"
    );
    let (ok, text) = ltv_util::pyhanko_timestamped(&renewed, &s.file("root.pem")).unwrap();
    assert!(ok, "{text}");
}

/// Archive renewal is for documents whose signers' certificates have run
/// out. `mohor extend` re-checked every certificate in the file against
/// today and refused the whole renewal once any had expired ("does not
/// reach a trusted root"). Now what the file carries for expired ones
/// stays, evidence is fetched for the rest (the document time-stamp's TSA),
/// and a new document time-stamp is added; pyHanko finds the signature
/// intact and trusted at its time-stamped time, extended by LTA updates.
#[test]
fn extend_renews_a_document_whose_signer_has_since_expired() {
    let dir = common::test_dir("ltv-renew-expired");
    let mut s = Services::start(&dir);
    // Long enough for B-LTA on a loaded two-core CI machine (1–3 s when idle).
    let short = s.short_lived_signer(40);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(42);
    let input = corpus("pyhanko-minimal.pdf");
    let lta = dir.join("lta.pdf");
    let mut signer =
        SoftwareSigner::from_files(&s.file("signer2.p8.pem"), &short, &s.file("chain.pem"))
            .expect("short-lived signer");
    let opts = PdfSignOptions::new("Ravi Kumar (short-lived)", "Test LTV Class 3 CA");
    let http = UreqClient::new(std::time::Duration::from_secs(5));
    pades::sign_pdf(
        &input,
        &lta,
        &mut signer,
        &opts,
        Level::BLTA,
        Some(&ltv_for(&s, &http, "tsa")),
    )
    .expect("B-LTA while the certificate is valid");
    std::thread::sleep(until.saturating_duration_since(std::time::Instant::now()));

    let renewed = dir.join("renewed.pdf");
    let ltv = ltv_for(&s, &http, "tsa");
    pades::extend(&lta, &renewed, Level::BLTA, &ltv, None).expect("renewed after expiry");
    // A signature made now with the expired certificate is still refused.
    let e = pades::sign_pdf(
        &input,
        &dir.join("late.pdf"),
        &mut signer,
        &opts,
        Level::BLT,
        Some(&ltv),
    )
    .unwrap_err();
    assert!(e.message.contains("Ravi Kumar (short-lived)"), "{e:?}");
    s.stop();

    let sigs = mohor::pdf::signature_contents(&renewed, None).unwrap();
    assert_eq!(sigs.iter().filter(|c| c.doc_timestamp).count(), 2);
    let qpdf = common::run(
        std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&renewed),
    );
    assert!(qpdf.status.success(), "{}", common::text(&qpdf));
    let Some(py) = common::pyhanko() else { return };
    let out = common::run(
        std::process::Command::new(py)
            .args(["sign", "validate", "--no-revocation-check"])
            .args(["--validation-time", "claimed", "--trust-replace", "--trust"])
            .arg(s.file("root.pem"))
            .arg(&renewed),
    );
    let text = common::text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_LTA_UPDATES"),
        "{text}"
    );
}

#[test]
fn a_slow_tsa_times_out_and_a_revoked_signer_gets_no_long_term_signature() {
    let dir = common::test_dir("ltv-slow-revoked");
    let s = Services::start(&dir);
    let input = corpus("pyhanko-minimal.pdf");
    let http = UreqClient::new(std::time::Duration::from_secs(2));
    let ltv = ltv_for(&s, &http, "tsa-slow");
    let out = dir.join("slow.pdf");
    let mut signer = signer(&s);
    let opts = PdfSignOptions::new("Kavya Rao", "Test LTV Class 3 CA");
    let started = std::time::Instant::now();
    let e = pades::sign_pdf(&input, &out, &mut signer, &opts, Level::BT, Some(&ltv)).unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(7),
        "no timeout"
    );
    assert_eq!(e.reason, mohor::Reason::TimestampUnavailable, "{e:?}");
    assert!(!out.exists());

    s.revoke_signer();
    let out = dir.join("revoked.pdf");
    let e = sign(&s, &input, &out, Level::BLT, "tsa").unwrap_err();
    assert_eq!(e.reason, mohor::Reason::CertificateNotUsable, "{e:?}");
    assert!(e.message.contains("revoked"), "{}", e.message);
    assert!(!out.exists());
}

#[test]
fn an_encrypted_pdf_reaches_b_lta_with_its_password() {
    let dir = common::test_dir("ltv-encrypted");
    let mut s = Services::start(&dir);
    let input = corpus("pyhanko-minimal-aes256.pdf");
    let http = UreqClient::new(std::time::Duration::from_secs(5));
    let ltv = ltv_for(&s, &http, "tsa");
    let mut signer = signer(&s);
    let mut opts = PdfSignOptions::new("Kavya Rao", "Test LTV Class 3 CA");
    opts.password = Some(mohor::pdf::PdfPassword::new(b"usersecret".to_vec()));
    let out = dir.join("enc-lta.pdf");
    pades::sign_pdf(&input, &out, &mut signer, &opts, Level::BLTA, Some(&ltv)).unwrap();
    // Archive renewal of the encrypted file: a second document time-stamp.
    let renewed = dir.join("enc-lta-renewed.pdf");
    pades::extend(&out, &renewed, Level::BLTA, &ltv, opts.password.clone()).unwrap();
    let e = pades::extend(&out, &dir.join("never.pdf"), Level::BLTA, &ltv, None).unwrap_err();
    assert!(!dir.join("never.pdf").exists(), "{e:?}");
    s.stop();
    let sigs = mohor::pdf::signature_contents(&out, Some(b"usersecret")).unwrap();
    assert_eq!(sigs.iter().filter(|c| c.doc_timestamp).count(), 1);
    let sigs = mohor::pdf::signature_contents(&renewed, Some(b"usersecret")).unwrap();
    assert_eq!(sigs.iter().filter(|c| c.doc_timestamp).count(), 2);
    let Some(py) = common::pyhanko() else { return };
    for file in [&out, &renewed] {
        pyhanko_encrypted(&py, &s.file("root.pem"), file);
    }
}

/// pyHanko's validator and qpdf on an encrypted file (user password
/// "usersecret"): every signature intact, trusted, with a trusted time-stamp.
fn pyhanko_encrypted(py: &Path, root: &Path, out: &Path) {
    let o = common::run(
        std::process::Command::new(py)
            .args([
                "sign",
                "validate",
                "--no-revocation-check",
                "--password",
                "usersecret",
                "--trust-replace",
                "--trust",
            ])
            .arg(root)
            .arg(out),
    );
    let text = common::text(&o);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
        "{text}"
    );
    let o = common::run(
        std::process::Command::new("qpdf")
            .args(["--password=usersecret", "--check"])
            .arg(out),
    );
    assert!(o.status.success(), "{}", common::text(&o));
}

/// The real client for the TSA; OCSP answers garbage and CRLs are gone.
struct BrokenRevocation(UreqClient);

impl mohor::net::HttpClient for BrokenRevocation {
    fn post(&self, url: &str, ct: &str, body: &[u8]) -> Result<Vec<u8>, mohor::net::NetError> {
        if url.ends_with("/ocsp") {
            return Ok(b"<html>maintenance</html>".to_vec());
        }
        self.0.post(url, ct, body)
    }
    fn get(&self, url: &str) -> Result<Vec<u8>, mohor::net::NetError> {
        Err(mohor::net::NetError::Status {
            url: url.to_string(),
            status: 404,
        })
    }
    fn reachable(&self, url: &str) -> Result<(), mohor::net::NetError> {
        self.0.reachable(url)
    }
}

#[test]
fn revocation_services_that_answer_garbage_or_nothing_give_no_b_lt_output() {
    let dir = common::test_dir("ltv-broken-revocation");
    let s = Services::start(&dir);
    let http = BrokenRevocation(UreqClient::new(std::time::Duration::from_secs(5)));
    let ltv = Ltv::new(
        &http,
        Some(s.tsa("tsa")),
        &known(&s),
        time::OffsetDateTime::now_utc(),
    );
    let mut signer = signer(&s);
    let opts = PdfSignOptions::new("Kavya Rao", "Test LTV Class 3 CA");
    for level in [Level::BLT, Level::BLTA] {
        let out = dir.join(format!("{}.pdf", level.as_str()));
        let e = pades::sign_pdf(
            &corpus("pyhanko-minimal.pdf"),
            &out,
            &mut signer,
            &opts,
            level,
            Some(&ltv),
        )
        .unwrap_err();
        assert_eq!(e.reason, mohor::Reason::RevocationUnavailable, "{e:?}");
        assert!(
            e.message.contains("HTTP 404"),
            "the last problem is named: {}",
            e.message
        );
        assert!(!out.exists());
    }
    // B-T needs no revocation data.
    let out = dir.join("bt.pdf");
    pades::sign_pdf(
        &corpus("pyhanko-minimal.pdf"),
        &out,
        &mut signer,
        &opts,
        Level::BT,
        Some(&ltv),
    )
    .unwrap();
}
