//! Raw bytes as an HTTP upgrade request to the real server gate (tungstenite's
//! handshake with Mohor's header callback, over an in-memory socket). Whatever
//! arrives, a connection is admitted only with a loopback Host naming the
//! bound port and an allowed Origin, a refusal says nothing about Mohor, and
//! the plain-HTTP look that answers `426 Upgrade Required` before the
//! handshake answers only requests with a loopback Host naming the port
//! and never takes a request the handshake would have admitted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mohor::server::fuzzing;
use mohor::server::origin::{host_allowed, Origin, OriginPolicy};

const PORT: u16 = 21760;

fuzz_target!(|data: &[u8]| {
    let allowed = vec![
        "https://eoffice.gov.in".to_string(),
        "https://*.nic.in".to_string(),
        "http://127.0.0.1:8765".to_string(),
    ];
    let slots = usize::from(data.first().copied().unwrap_or(1) % 3);
    let answered_426 = fuzzing::upgrade_required(data, PORT);
    let Ok(outcome) = fuzzing::handshake(data, &allowed, PORT, slots) else {
        return;
    };
    assert!(
        !(answered_426 && outcome.admitted),
        "a WebSocket request the handshake admits would get 426"
    );
    let text = String::from_utf8_lossy(&outcome.response).to_ascii_lowercase();
    assert!(
        !text.contains("mohor"),
        "a response named the product: {text}"
    );
    let raw = String::from_utf8_lossy(data);
    let loopback = ["127.0.0.1", "localhost", "[::1]"]
        .map(|h| format!("{h}:{PORT}"))
        .into_iter()
        .any(|h| raw.contains(&h) && host_allowed(&h, PORT));
    assert!(
        !answered_426 || loopback,
        "426 without a loopback Host naming the port"
    );
    if outcome.admitted {
        assert!(slots > 0, "admitted without a free slot");
        assert!(loopback, "admitted without a loopback Host naming the port");
        let origin = outcome.origin.as_deref().and_then(Origin::parse_header);
        let policy = OriginPolicy::new(&allowed).ok();
        assert!(
            origin.zip(policy).is_some_and(|(o, p)| p.allows(&o)),
            "admitted origin {:?}",
            outcome.origin
        );
    }
});
