//! PAdES B-T / B-LT / B-LTA and CAdES-T against loopback services nobody
//! here wrote, judged by pyHanko with the services stopped.
#![cfg(feature = "software-signer")]

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
    SoftwareSigner::from_files(&s.file("signer.p8.pem"), &s.file("signer.cert.pem"), &s.file("chain.pem"))
        .expect("LTV signer")
}

fn known(s: &Services) -> Vec<Vec<u8>> {
    let pem = std::fs::read(s.file("chain.pem")).unwrap();
    mohor::pem::certificates(&pem)
}

fn sign(s: &Services, input: &Path, out: &Path, level: Level, tsa: &str) -> mohor::Result<()> {
    let http = UreqClient::new(std::time::Duration::from_secs(5));
    let ltv = Ltv::new(&http, Some(s.tsa(tsa)), &known(s), time::OffsetDateTime::now_utc());
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
        let sigs = mohor::pdf::signature_contents(&out).unwrap();
        let doc_ts = sigs.iter().filter(|c| c.doc_timestamp).count();
        assert_eq!(doc_ts, usize::from(level == Level::BLTA), "{level:?}: document time-stamps");
        let Some((ok, text)) = ltv_util::pyhanko_timestamped(&out, &root) else {
            return;
        };
        assert!(ok, "{level:?}: {text}");
        if level >= Level::BLT {
            let (ok, text) = ltv_util::pyhanko_dss(&out, &root).unwrap();
            assert!(ok, "{level:?}: {text}");
            // The leaf's OCSP response, the sub-CA's CRL (from the root), and
            // the TSA's OCSP response.
            assert!(text.contains("ocsps=2 crls=1"), "{level:?}: {text}");
            assert!(text.contains("OK Signature1 signer: Common Name: Kavya Rao"), "{text}");
            assert!(text.contains("OK Signature1 time-stamp authority"), "{text}");
        }
    }
}
