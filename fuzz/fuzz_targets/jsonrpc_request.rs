//! One WebSocket text frame through the JSON-RPC envelope parser and the
//! typed request parser, as the server does before anything reaches the
//! backend. Beyond "no panic": a frame naming a PIN anywhere is never
//! accepted, every refusal serialises to a JSON-RPC error object, and an
//! accepted frame types without touching any upload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mohor::protocol::{jsonrpc, Envelope, Incoming, NoUploads};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let holds_pin = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| jsonrpc::find_secret_field(&v))
        .is_some();
    match Envelope::parse(text) {
        Err(rejected) => {
            let answer = jsonrpc::failure(&rejected.id, &rejected.error);
            assert!(
                answer["error"]["code"].is_i64(),
                "refusal without a code: {answer}"
            );
        }
        Ok(envelope) => {
            assert!(!holds_pin, "a frame carrying a PIN field was accepted");
            let id = envelope.id.clone();
            match Incoming::from_envelope(envelope, &mut NoUploads) {
                Ok(_) => {}
                Err(e) => {
                    let answer = jsonrpc::failure(&id, &e);
                    assert!(answer["error"]["message"].is_string(), "{answer}");
                }
            }
        }
    }
});
