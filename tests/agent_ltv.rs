//! A web page's request for a long-term signature, in-process: the real
//! `Agent` (fake token holding the LTV PKI's signer, scripted dialogs) with
//! the configured TSA on loopback. A page asks for a level; the TSA is the
//! person's configuration.
#![cfg(all(feature = "software-signer", feature = "scripted-prompts"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
mod ltv_util;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mohor::clock::{Clock, FixedClock};
use mohor::config::Config;
use mohor::error::Reason;
use mohor::ltv::Level;
use mohor::service::{Agent, Item, Job, Output, PdfItem, PdfRequest, Requester};
use mohor::state::StateStore;
use mohor::token::fake::{FakeKey, FakeToken, FakeTokens};
use mohor::ui::scripted::ScriptedPrompter;

use ltv_util::Services;

const PIN: &str = "246810";

/// An agent whose person approves the request and types the right PIN.
fn make_agent(dir: &Path, s: &Services, tsa: &str) -> (Agent, PathBuf) {
    let clock = Arc::new(FixedClock(time::OffsetDateTime::now_utc()));
    make_agent_with(dir, s, tsa, clock)
}

fn make_agent_with(dir: &Path, s: &Services, tsa: &str, clock: Arc<dyn Clock>) -> (Agent, PathBuf) {
    let prompts = dir.join("prompts.jsonl");
    let answers = format!("{{\"consent\":\"approve\"}}\n{{\"pin\":\"{PIN}\"}}");
    std::fs::write(&prompts, answers).unwrap();
    let read = |n: &str| std::fs::read_to_string(s.file(n)).unwrap();
    let tokens = FakeTokens::new(vec![FakeToken::new(
        "Kavya's token",
        "FAKE0002",
        PIN,
        vec![FakeKey {
            key_pem: read("signer.p8.pem"),
            cert_pem: read("signer.cert.pem"),
            chain_pem: read("chain.pem"),
        }],
    )]);
    let config = Config {
        ca_certificates: vec![s.file("chain.pem")],
        timestamp: mohor::config::TimestampConfig {
            url: Some(tsa.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    let agent = Agent::new(
        Box::new(tokens),
        config,
        StateStore::open(&dir.join("state")).unwrap(),
        Arc::new(ScriptedPrompter::from_file(&prompts).unwrap()),
        clock,
    )
    .unwrap();
    (agent, prompts)
}

fn web() -> Requester<'static> {
    Requester {
        origin: Some("https://eoffice.example.gov.in"),
        progress: &|_| {},
        is_cancelled: &|| false,
    }
}

fn item(dir: &Path, i: usize, level: Level) -> Item {
    Item::Pdf(PdfItem {
        input: common::repo().join("../shared/corpus/pdf/pyhanko-minimal.pdf"),
        output: dir.join(format!("{i}.signed.pdf")),
        name: format!("note {i}.pdf"),
        request: PdfRequest {
            level,
            ..PdfRequest::default()
        },
    })
}

fn asked(prompts: &Path) -> usize {
    common::asked(prompts).len()
}

#[test]
fn a_web_batch_at_b_lta_is_signed_and_a_dead_tsa_is_refused_before_anyone_is_asked() {
    let dir = common::test_dir("agent-ltv");
    let mut s = Services::start(&dir);
    let (agent, prompts) = make_agent(&dir, &s, &s.tsa("tsa"));
    let job = Job {
        items: vec![item(&dir, 0, Level::BLTA), item(&dir, 1, Level::BB)],
        certificate_ids: vec![],
        batch: true,
    };
    let outcome = agent.sign(&web(), &job).unwrap();
    for r in &outcome.items {
        assert!(matches!(r, Ok(Output::Pdf(_))), "{r:?}");
    }
    // The person was told what the long-term level adds (and sends out), for
    // the item that asked for one only; the audit log keeps the level.
    let shown = common::consent_shown(&prompts);
    let long_term: Vec<&String> = shown.iter().filter(|l| l.contains("Long-term:")).collect();
    assert_eq!(long_term.len(), 1, "{shown:#?}");
    assert!(long_term[0].contains(
        "B-LTA: a timestamp, the certificates' revocation status and a document timestamp"
    ));
    let position = |needle: &str| shown.iter().position(|l| l.contains(needle)).unwrap();
    assert!(position("note 0.pdf") < position("Long-term:"));
    assert!(
        position("Long-term:") < position("note 1.pdf"),
        "{shown:#?}"
    );
    let audit = StateStore::open(&dir.join("state"))
        .unwrap()
        .audit_tail(10)
        .unwrap();
    let levels: Vec<Option<&str>> = audit.iter().map(|e| e.level.as_deref()).collect();
    assert_eq!(levels, [Some("B-LTA"), None], "{audit:#?}");

    let dead_dir = dir.join("dead");
    std::fs::create_dir_all(&dead_dir).unwrap();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/tsa", l.local_addr().unwrap().port())
    };
    let (agent, prompts) = make_agent(&dead_dir, &s, &dead);
    let e = agent
        .sign(&web(), &Job::single(item(&dead_dir, 0, Level::BT), None))
        .unwrap_err();
    assert_eq!(e.reason, Reason::TimestampUnavailable, "{e:?}");
    assert_eq!(asked(&prompts), 0, "no consent, no PIN");
    assert!(!dead_dir.join("0.signed.pdf").exists());
    s.stop();

    let root = s.file("root.pem");
    let Some((ok, text)) = ltv_util::pyhanko_dss(&dir.join("0.signed.pdf"), &root) else {
        return;
    };
    assert!(ok, "{text}");
    let (ok, text) = ltv_util::pyhanko_timestamped(&dir.join("0.signed.pdf"), &root).unwrap();
    assert!(ok, "{text}");
    assert!(
        mohor::pdf::signature_contents(&dir.join("1.signed.pdf"), None)
            .unwrap()
            .iter()
            .all(|c| !c.doc_timestamp)
    );
}

/// The time a request arrived, then the real time at every later look: a
/// person who left the consent open over a tea break.
struct ArrivedEarlier {
    arrived: time::OffsetDateTime,
    asked: std::sync::atomic::AtomicBool,
}

impl Clock for ArrivedEarlier {
    fn now(&self) -> time::OffsetDateTime {
        if self.asked.swap(true, std::sync::atomic::Ordering::SeqCst) {
            time::OffsetDateTime::now_utc()
        } else {
            self.arrived
        }
    }
}

/// A request answered a quarter of an hour after it came: the TSA's time
/// is compared with the clock when the token has signed, not when the
/// request arrived. Before, the person typed the PIN, the token signed,
/// and the request failed with "far from this computer's clock".
#[test]
fn a_request_answered_after_a_long_wait_still_gets_its_time_stamp() {
    let dir = common::test_dir("agent-ltv-wait");
    let mut s = Services::start(&dir);
    let clock = Arc::new(ArrivedEarlier {
        arrived: time::OffsetDateTime::now_utc() - time::Duration::minutes(15),
        asked: false.into(),
    });
    let (agent, _) = make_agent_with(&dir, &s, &s.tsa("tsa"), clock);
    let outcome = agent
        .sign(&web(), &Job::single(item(&dir, 0, Level::BT), None))
        .expect("the request ran");
    assert!(
        matches!(&outcome.items[..], [Ok(Output::Pdf(_))]),
        "{:?}",
        outcome.items
    );
    s.stop();
    let root = s.file("root.pem");
    let Some((ok, text)) = ltv_util::pyhanko_timestamped(&dir.join("0.signed.pdf"), &root) else {
        return;
    };
    assert!(ok, "{text}");
    let qpdf = common::run(
        std::process::Command::new("qpdf")
            .arg("--check")
            .arg(dir.join("0.signed.pdf")),
    );
    assert!(qpdf.status.success(), "{}", common::text(&qpdf));
}
