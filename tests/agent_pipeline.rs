//! The request pipeline in-process, as a specification: the real `Agent`
//! with a fixed clock, scripted dialogs and a fake token that counts PINs
//! (the cryptoki adapter is tested against SoftHSM and token-sim elsewhere).
//! qpdf, pyHanko and OpenSSL judge what it writes.
#![cfg(all(feature = "software-signer", feature = "scripted-prompts"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod pdf_util;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mohor::clock::FixedClock;
use mohor::config::Config;
use mohor::error::Reason;
use mohor::service::{
    Agent, DataItem, HashItem, Item, Job, Output, PdfItem, PdfRequest, Requester,
};
use mohor::sign::DigestAlgorithm;
use mohor::state::StateStore;
use mohor::token::fake::{FakeKey, FakeToken, FakeTokens};
use mohor::ui::scripted::ScriptedPrompter;
use pdf_util::*;
use serde_json::Value;

const PIN: &str = "246810";
const ORIGIN: &str = "https://eoffice.example.gov.in";

struct World {
    dir: PathBuf,
    agent: Agent,
    tokens: Arc<FakeTokens>,
    prompts: PathBuf,
}

/// Fake tokens shared between the agent and the test (to count logins).
struct SharedTokens(Arc<FakeTokens>);

impl mohor::token::Tokens for SharedTokens {
    fn module_reports(&self) -> &[mohor::token::ModuleReport] {
        self.0.module_reports()
    }
    fn scan(&self, now: time::OffsetDateTime) -> mohor::token::Scan {
        self.0.scan(now)
    }
    fn token_status(
        &self,
        t: &mohor::token::TokenRef,
    ) -> Result<mohor::token::TokenReport, mohor::token::TokenError> {
        self.0.token_status(t)
    }
    fn login(
        &self,
        t: &mohor::token::TokenRef,
        pin: &secrecy::SecretString,
    ) -> Result<Box<dyn mohor::token::TokenSession>, mohor::token::TokenError> {
        self.0.login(t, pin)
    }
}

fn key(name: &str) -> FakeKey {
    let fx = fixture();
    let c = fx.cert(name);
    let read = |p: &Path| std::fs::read_to_string(p).expect("fixture PEM");
    FakeKey {
        key_pem: read(&c.key),
        cert_pem: read(&c.cert),
        chain_pem: read(&fx.chain),
    }
}

/// A world whose dialogs answer `answers` (JSON lines) in order.
fn world(name: &str, answers: &[&str]) -> World {
    let dir = test_dir(name);
    let prompts = dir.join("prompts.jsonl");
    std::fs::write(&prompts, answers.join("\n")).expect("write prompts");
    let tokens = Arc::new(FakeTokens::new(vec![FakeToken::new(
        "Asha's token",
        "FAKE0001",
        PIN,
        vec![key("rsa2048")],
    )]));
    let agent = Agent::new(
        Box::new(SharedTokens(tokens.clone())),
        Config::default(),
        StateStore::open(&dir.join("state")).expect("state"),
        Arc::new(ScriptedPrompter::from_file(&prompts).expect("prompts")),
        Arc::new(FixedClock(time::OffsetDateTime::now_utc())),
    )
    .expect("agent");
    World {
        dir,
        agent,
        tokens,
        prompts,
    }
}

fn web() -> Requester<'static> {
    Requester {
        origin: Some(ORIGIN),
        progress: &|_| {},
        is_cancelled: &|| false,
    }
}

impl World {
    fn pdf(&self, index: usize, input: &Path) -> Item {
        Item::Pdf(PdfItem {
            input: input.to_path_buf(),
            output: self.dir.join(format!("{index}.signed.pdf")),
            name: format!("document {index}.pdf"),
            request: PdfRequest {
                reason: Some("Approved for payment".into()),
                location: Some("Kolkata".into()),
                ..PdfRequest::default()
            },
        })
    }

    /// What the scripted dialogs were asked, in order.
    fn asked(&self) -> Vec<Value> {
        pdf_util::common::asked(&self.prompts)
    }

    fn history(&self) -> Vec<mohor::state::AuditEntry> {
        self.agent.state().audit_tail(100).expect("audit log")
    }
}

fn damaged_pdf(dir: &Path) -> PathBuf {
    let p = dir.join("damaged.pdf");
    std::fs::write(
        &p,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
    )
    .expect("write damaged");
    p
}

#[test]
fn a_batch_signs_the_good_documents_and_answers_the_damaged_one_with_its_own_error() {
    if !corpus_available() {
        return;
    }
    let w = world(
        "pipeline_batch_damaged",
        &[r#"{"consent":"approve"}"#, &format!(r#"{{"pin":"{PIN}"}}"#)],
    );
    let good = corpus("pyhanko-base.pdf");
    let damaged = damaged_pdf(&w.dir);
    let job = Job {
        items: vec![w.pdf(0, &good), w.pdf(1, &damaged), w.pdf(2, &good)],
        certificate_ids: vec![],
        batch: true,
    };
    let outcome = w
        .agent
        .sign(&web(), &job)
        .expect("the batch as a whole succeeds");

    // One consent listing all three, the damaged one marked; one PIN; one login.
    let asked = w.asked();
    let dialogs: Vec<&str> = asked.iter().filter_map(|a| a["dialog"].as_str()).collect();
    assert_eq!(dialogs, ["consent", "pin"], "{asked:?}");
    let docs = asked[0]["request"]["documents"]
        .as_array()
        .expect("documents");
    assert_eq!(docs.len(), 3);
    assert!(docs[0]["refused"].is_null(), "{docs:?}");
    assert!(
        docs[1]["refused"].as_str().is_some_and(|r| !r.is_empty()),
        "{docs:?}"
    );
    assert_eq!(w.tokens.logins().len(), 1);

    assert_eq!(outcome.items.len(), 3);
    for i in [0, 2] {
        assert!(
            matches!(outcome.items[i], Ok(Output::Pdf(_))),
            "{:?}",
            outcome.items[i]
        );
        let out = w.dir.join(format!("{i}.signed.pdf"));
        assert_eq!(qpdf_check(&out).0, 0, "qpdf on item {i}");
        let verdict = pyhanko_validate(&out, "Signature1");
        assert!(verdict.valid(), "pyHanko on item {i}: {verdict:?}");
    }
    let e = outcome.items[1]
        .as_ref()
        .expect_err("the damaged item fails");
    assert_eq!(e.reason, Reason::DocumentRefused, "{e}");
    assert!(!w.dir.join("1.signed.pdf").exists());

    // Every item is in the audit log with its own outcome.
    let h = w.history();
    let results: Vec<(&str, &str, Option<u32>)> = h
        .iter()
        .map(|e| {
            (
                e.document.as_str(),
                e.result.as_str(),
                e.batch.map(|b| b.item),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("document 0.pdf", "ok", Some(1)),
            ("document 1.pdf", "DOCUMENT_REFUSED", Some(2)),
            ("document 2.pdf", "ok", Some(3)),
        ]
    );
    assert!(h
        .iter()
        .all(|e| e.origin == ORIGIN && !e.certificate.is_empty()));
}

#[test]
fn a_failure_while_signing_one_item_never_costs_the_others() {
    let w = world(
        "pipeline_item_fails",
        &[r#"{"consent":"approve"}"#, &format!(r#"{{"pin":"{PIN}"}}"#)],
    );
    let data = w.dir.join("bill.txt");
    std::fs::write(&data, b"Bill 17/2026").expect("write data");
    // The PDF's output directory does not exist: writing fails after the PIN.
    let pdf = Item::Pdf(PdfItem {
        input: if corpus_available() {
            corpus("pyhanko-base.pdf")
        } else {
            return;
        },
        output: w.dir.join("no-such-dir/out.pdf"),
        name: "note.pdf".into(),
        request: PdfRequest::default(),
    });
    let job = Job {
        items: vec![
            Item::Data(DataItem {
                input: data.clone(),
                name: "bill.txt".into(),
                cosign: None,
                level: Default::default(),
                output: None,
            }),
            pdf,
            Item::Hash(HashItem {
                digest: vec![7; 32],
                algorithm: DigestAlgorithm::Sha256,
            }),
        ],
        certificate_ids: vec![],
        batch: true,
    };
    let outcome = w.agent.sign(&web(), &job).expect("batch");
    let Ok(Output::Cms(der)) = &outcome.items[0] else {
        panic!("data item: {:?}", outcome.items[0]);
    };
    let p7s = w.dir.join("bill.p7s");
    std::fs::write(&p7s, der).expect("write p7s");
    let v = pdf_util::common::openssl_verify_detached(&p7s, &data, &fixture().root);
    assert!(v.status.success(), "{}", text(&v));
    assert_eq!(
        outcome.items[1].as_ref().map(|_| ()).map_err(|e| e.reason),
        Err(Reason::IoError)
    );
    assert!(matches!(outcome.items[2], Ok(Output::Cms(_))));
    let results: Vec<String> = w.history().into_iter().map(|e| e.result).collect();
    assert_eq!(results, ["ok", "IO_ERROR", "ok"]);
}

#[test]
fn a_refused_single_document_asks_nobody_and_is_audited() {
    let w = world("pipeline_single_refused", &[r#"{"consent":"approve"}"#]);
    let damaged = damaged_pdf(&w.dir);
    let e = w
        .agent
        .sign(&web(), &Job::single(w.pdf(0, &damaged), None))
        .expect_err("refused");
    assert_eq!(e.reason, Reason::DocumentRefused, "{e}");
    assert!(w.asked().is_empty(), "{:?}", w.asked());
    assert!(w.tokens.logins().is_empty());
    let h = w.history();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].result, "DOCUMENT_REFUSED");
    assert_eq!(h[0].document, "document 0.pdf");
}

#[test]
fn empty_data_is_refused_before_anyone_is_asked_and_is_audited() {
    let w = world("pipeline_empty_data", &[r#"{"consent":"approve"}"#]);
    let empty = w.dir.join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let job = Job::single(
        Item::Data(DataItem {
            input: empty,
            name: "empty.txt".into(),
            cosign: None,
            level: Default::default(),
            output: None,
        }),
        None,
    );
    let e = w.agent.sign(&web(), &job).expect_err("refused");
    assert_eq!(e.reason, Reason::InvalidRequest, "{e}");
    assert!(e.message.contains("empty"), "{e}");
    assert!(w.asked().is_empty(), "{:?}", w.asked());
    assert!(w.tokens.logins().is_empty());
    let h = w.history();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].result, "INVALID_REQUEST");
}

#[test]
fn a_declined_batch_touches_no_token_and_every_item_is_audited_as_cancelled() {
    let w = world("pipeline_declined", &[r#"{"consent":"deny"}"#]);
    let job = Job {
        items: (0..3)
            .map(|i| {
                Item::Hash(HashItem {
                    digest: vec![i; 32],
                    algorithm: DigestAlgorithm::Sha256,
                })
            })
            .collect(),
        certificate_ids: vec![],
        batch: true,
    };
    let e = w.agent.sign(&web(), &job).expect_err("declined");
    assert_eq!(e.reason, Reason::UserCancelled);
    assert!(w.tokens.logins().is_empty());
    let results: Vec<String> = w.history().into_iter().map(|e| e.result).collect();
    assert_eq!(results, ["USER_CANCELLED"; 3]);
}

#[test]
fn a_token_pulled_out_before_the_pin_is_a_typed_error_and_costs_no_try() {
    let w = world(
        "pipeline_removed",
        &[r#"{"consent":"approve"}"#, &format!(r#"{{"pin":"{PIN}"}}"#)],
    );
    // The certificate was seen, then the token left before the guard asked it.
    let job = Job::single(
        Item::Hash(HashItem {
            digest: vec![1; 32],
            algorithm: DigestAlgorithm::Sha256,
        }),
        None,
    );
    let scan = w.agent.scan();
    let id = scan
        .certificates
        .iter()
        .find(|c| c.usable)
        .expect("usable")
        .id
        .clone();
    w.tokens.set_present("FAKE0001", false);
    let e = w
        .agent
        .sign(
            &web(),
            &Job {
                certificate_ids: vec![id],
                ..job
            },
        )
        .expect_err("no token");
    assert!(
        matches!(
            e.reason,
            Reason::TokenNotPresent | Reason::NoMatchingCertificate
        ),
        "{e}"
    );
    assert!(w.tokens.logins().is_empty());
    assert_eq!(w.history().len(), 1);
}
