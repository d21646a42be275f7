//! A stand-in agent for the browser tests of the JS client
//! (`tests/browser/client.test.mjs`): the real server with the fake backend of
//! `ws_support.rs`. Not a test by itself (ignored); the browser tests run it:
//!
//!   FAKE_AGENT_ORIGIN=http://127.0.0.1:8765 \
//!     cargo test --test ws_fake_agent -- --ignored --exact fake_agent --nocapture
//!
//! prints `PORT <n>` and serves until its standard input closes
//! (`FAKE_AGENT_PORT` picks the port, `FAKE_AGENT_IDLE_MS` the idle timeout).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

#[path = "ws_support.rs"]
mod support;

use std::sync::Arc;

use std::io::Read;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a helper process for tests/browser, not a test"]
async fn fake_agent() -> TestResult {
    let mut limits = limits();
    if let Some(ms) = std::env::var("FAKE_AGENT_IDLE_MS")
        .ok()
        .and_then(|p| p.parse().ok())
    {
        limits.idle_timeout = std::time::Duration::from_millis(ms);
    }
    let mut config = test_config(limits);
    config.ask_unknown_sites = false;
    if let Ok(origins) = std::env::var("FAKE_AGENT_ORIGIN") {
        config.allowed_origins = origins.split(',').map(str::to_string).collect();
    }
    if let Some(port) = std::env::var("FAKE_AGENT_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
    {
        config.port = Some(port);
    }
    let server = start_with(config, Arc::new(FakeBackend::default())).await?;
    println!("PORT {}", server.port);
    tokio::task::spawn_blocking(|| {
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
    })
    .await?;
    drop(server);
    Ok(())
}
