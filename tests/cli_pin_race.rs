//! The wrong-PIN guard under concurrency: several real `mohor` processes
//! (command lines and a `mohor serve` agent) on one token behind the
//! fault-injecting module, which logs every `C_Login` the token receives.
//!
//! The promises: however many processes type a wrong PIN at once, at most 5
//! wrong PINs reach the token; the token's last try is never used without
//! the explicit confirmation, even when another process burns tries while a
//! PIN is being typed; the same token through a second module path shares
//! the count. Racy tests run several rounds so that a race can show.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;
#[cfg(feature = "scripted-prompts")]
#[path = "desktop_agent/ws.rs"]
#[allow(dead_code)]
mod ws;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};

use common::*;
use serde_json::json;

const WRONG: &str = "000000";
const ROUNDS: usize = 3;

fn data(s: &SimSetup) -> PathBuf {
    let p = s.dir.join("note.txt");
    std::fs::write(&p, b"Sanction order 44/2026.\n").unwrap();
    p
}

/// `mohor --module MODULE --pin-stdin sign --detached` waiting for its PIN.
fn spawn_sign(s: &SimSetup, module: &Path, cert: &str, data: &Path, n: usize) -> Child {
    let mut c = mohor(&s.home, &s.conf);
    for (k, v) in s.sim.env() {
        c.env(k, v);
    }
    c.arg("--module")
        .arg(module)
        .args(["--pin-stdin", "sign", "--detached", "--cert", cert])
        .arg(data)
        .arg("-o")
        .arg(s.dir.join(format!("out-{n}.p7s")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().expect("spawn mohor")
}

/// Give every waiting process its PIN at (nearly) the same moment, then
/// collect what each said.
fn type_pins_together(children: Vec<Child>, pin: &str) -> Vec<Output> {
    let mut children = children;
    for c in &mut children {
        if let Some(mut stdin) = c.stdin.take() {
            let _ = stdin.write_all(format!("{pin}\n").as_bytes());
        }
    }
    children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().expect("wait mohor");
            assert_no_panic(&o);
            o
        })
        .collect()
}

fn wrong_logins(s: &SimSetup) -> usize {
    s.sim
        .logins()
        .iter()
        .filter(|l| l["result"] == "CKR_PIN_INCORRECT")
        .count()
}

fn serial(s: &SimSetup) -> String {
    s.asha_status()["serial"].as_str().unwrap().to_string()
}

/// Eight processes, one wrong PIN each, typed together: Mohor sends at most
/// five, the rest are refused before `C_Login`. `modules` are used in turn.
fn eight_at_once(s: &SimSetup, modules: &[PathBuf]) {
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048").id;
    let data = data(s);
    let children: Vec<Child> = (0..8)
        .map(|n| spawn_sign(s, &modules[n % modules.len()], &cert, &data, n))
        .collect();
    let outputs = type_pins_together(children, WRONG);
    let wrong = wrong_logins(s);
    let said: Vec<String> = outputs.iter().map(stderr).collect();
    assert!(
        wrong <= 5,
        "{wrong} wrong PINs reached the token:\n{said:#?}"
    );
    let incorrect = said.iter().filter(|e| e.contains("PIN_INCORRECT")).count();
    let refused = said
        .iter()
        .filter(|e| e.contains("PIN_GUARD_LOCKED"))
        .count();
    assert_eq!(incorrect, wrong, "{said:#?}");
    assert_eq!(incorrect + refused, 8, "{said:#?}");
    assert_eq!(s.sim.failures(&serial(s)), wrong as u32);
    // Every wrong PIN that reached the token is on Mohor's record.
    assert_eq!(s.asha_status()["wrong_pins"], wrong);
    if wrong == 5 {
        assert_eq!(s.asha_status()["state"], "soft-locked");
    }
}

#[test]
fn eight_processes_typing_a_wrong_pin_together_make_at_most_five_c_logins() {
    for round in 0..ROUNDS {
        // A slow C_Login keeps every try in flight at once.
        let s = SimSetup::new(
            &format!("race_eight_{round}"),
            json!({"retry_limit": 8, "latency_ms_per_function": {"C_Login": 300}}),
        );
        let module = s.module.clone();
        eight_at_once(&s, &[module]);
    }
}

/// The same token through two module files (as OpenSC beside the vendor's
/// driver) is one token: one counter, one limit.
#[test]
fn a_second_module_path_over_the_same_token_shares_the_counter() {
    let fx = Fixture::shared();
    for round in 0..ROUNDS {
        let s = SimSetup::new(
            &format!("race_two_modules_{round}"),
            json!({"retry_limit": 8, "latency_ms_per_function": {"C_Login": 300}}),
        );
        let second = s.dir.join("libmohor_token_sim_second_driver.so");
        std::fs::copy(&s.module, &second).unwrap();
        let first = s.module.clone();
        eight_at_once(&s, &[first.clone(), second.clone()]);

        // One record for the token, whichever path counted.
        let records: serde_json::Value =
            serde_json::from_slice(&std::fs::read(s.home.join("state/pin-counters.json")).unwrap())
                .unwrap();
        let keys: Vec<&String> = records.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 1, "{records:#}");

        if round == 0 {
            // Sequentially too: after the soft stop through one path, the
            // other path is refused before any C_Login.
            let before = s.sim.logins().len();
            let o = run_with_stdin(
                mohor(&s.home, &s.conf)
                    .envs(s.sim.env())
                    .arg("--module")
                    .arg(&second)
                    .args(["--pin-stdin", "sign", "--detached", "--cert"])
                    .arg(fx.cert("rsa2048").id)
                    .arg(data(&s))
                    .arg("-o")
                    .arg(s.dir.join("late.p7s")),
                &format!("{}\n", fx.user_pin),
            );
            if wrong_logins(&s) == 5 {
                assert!(stderr(&o).contains("PIN_GUARD_LOCKED"), "{}", text(&o));
                assert_eq!(s.sim.logins().len(), before);
            }
            // Both modules in one process: the certificate is offered once.
            let o = run(mohor(&s.home, &s.conf)
                .envs(s.sim.env())
                .arg("--module")
                .arg(&first)
                .arg("--module")
                .arg(&second)
                .args(["certs", "--json"]));
            let listed = json_out(&o)["certificates"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["id"] == fx.cert("rsa2048").id.as_str())
                .count();
            assert_eq!(listed, 1, "{}", text(&o));
            // …and the guard shows one token, one count.
            let o = run(mohor(&s.home, &s.conf)
                .envs(s.sim.env())
                .arg("--module")
                .arg(&first)
                .arg("--module")
                .arg(&second)
                .args(["pin", "status", "--json"]));
            let token = fx.cert("rsa2048").token;
            let rows: Vec<serde_json::Value> = json_out(&o)["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["label"] == token.as_str())
                .cloned()
                .collect();
            assert_eq!(rows.len(), 1, "{}", text(&o));
            assert_eq!(rows[0]["wrong_pins"], wrong_logins(&s), "{}", text(&o));
        }
    }
}

/// A process killed while its PIN is on the way to the token: the try it
/// booked stays counted, so the next process cannot take a sixth.
#[test]
fn a_process_killed_inside_c_login_leaves_its_try_counted() {
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048").id;
    let s = SimSetup::new("race_killed_in_login", json!({"retry_limit": 8}));
    let data = data(&s);
    let out = s.dir.join("o.p7s");
    for _ in 0..4 {
        assert!(stderr(&s.sign_detached(&data, &out, &cert, WRONG)).contains("PIN_INCORRECT"));
    }
    s.sim
        .update_control(&json!({"latency_ms_per_function": {"C_Login": 60000}}));
    let mut victim = spawn_sign(&s, &s.module, &cert, &data, 9);
    if let Some(mut stdin) = victim.stdin.take() {
        stdin.write_all(format!("{WRONG}\n").as_bytes()).unwrap();
    }
    // Wait until the try is booked (it is written before C_Login), then kill.
    let counters = s.home.join("state/pin-counters.json");
    // Up to 30 s: a loaded machine starts processes slowly.
    let booked = (0..600).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::read_to_string(&counters).is_ok_and(|t| t.contains("in_flight"))
    });
    assert!(booked, "the try was never booked");
    victim.kill().unwrap();
    let _ = victim.wait();
    s.sim
        .update_control(&json!({"latency_ms_per_function": {"C_Login": 0}}));

    // 4 wrong + 1 booked by the dead process: Mohor's limit is reached.
    let o = s.sign_detached(&data, &out, &cert, &fx.user_pin);
    assert!(stderr(&o).contains("PIN_GUARD_LOCKED"), "{}", text(&o));
    assert_eq!(s.asha_status()["state"], "soft-locked");
    assert!(s.sim.logins().len() <= 5);
}

/// Five wrong PINs, `mohor pin unlock` although the provider reset nothing,
/// then `extra` more: `3 - extra` tries remain on the token, and the last
/// one needs the confirmation. The token hides its PIN flags until the
/// unlock (as some drivers do), else Mohor would see that nothing was reset.
#[cfg_attr(not(feature = "scripted-prompts"), allow(dead_code))]
fn unlocked_after_five_then(s: &SimSetup, extra: usize) {
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048").id;
    let data = data(s);
    let out = s.dir.join("setup.p7s");
    let flags_mode = s
        .sim
        .control()
        .get("flags_mode")
        .cloned()
        .unwrap_or(json!("spec"));
    s.sim.update_control(&json!({"flags_mode": "never"}));
    for _ in 0..5 {
        assert!(stderr(&s.sign_detached(&data, &out, &cert, WRONG)).contains("PIN_INCORRECT"));
    }
    let o = run(&mut s.mohor(&["pin", "unlock", "--token", &serial(s)]));
    assert!(o.status.success(), "{}", text(&o));
    s.sim.update_control(&json!({"flags_mode": flags_mode}));
    for _ in 0..extra {
        assert!(stderr(&s.sign_detached(&data, &out, &cert, WRONG)).contains("PIN_INCORRECT"));
    }
    assert_eq!(wrong_logins(s), 5 + extra);
}

#[cfg(feature = "scripted-prompts")]
mod with_agent {
    use super::*;
    use crate::ws;
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;

    const ORIGIN: &str = "http://127.0.0.1:8765";

    /// `mohor serve` with scripted dialog answers, killed when dropped.
    struct Agent {
        _served: common::Served,
        port: u16,
    }

    impl Agent {
        fn start(s: &SimSetup, answers: &str) -> Agent {
            let prompts = s.dir.join("agent-prompts.jsonl");
            std::fs::write(&prompts, answers).unwrap();
            let log = s.dir.join("agent.stderr");
            let served = common::spawn_serve(
                s.mohor(&["--prompts"])
                    .arg(&prompts)
                    .args(["serve", "--port", "0", "--allow-origin", ORIGIN])
                    .stderr(std::fs::File::create(&log).unwrap()),
                &log,
            );
            Agent {
                port: served.port,
                _served: served,
            }
        }

        /// `sign.data` as a page would ask; the answer's reason or "ok".
        fn sign_data(&self, cert: &str, n: usize) -> String {
            use base64::Engine as _;
            let mut c = ws::Connection::open(self.port, ORIGIN).expect("connect");
            let data = base64::engine::general_purpose::STANDARD
                .encode(format!("Agent request {n}").as_bytes());
            let reply = c.call(
                json!(n),
                "sign.data",
                Some(json!({"data": data, "certificateId": cert})),
            );
            match reply.answer.get("result") {
                Some(_) => "ok".to_string(),
                None => reply.reason().to_string(),
            }
        }
    }

    fn agent_answers(requests: usize) -> String {
        common::approvals(WRONG, requests)
    }

    /// Three tries remain on the token (the last needs confirming); four
    /// command lines and three agent requests all type a wrong PIN at once.
    /// Nobody can confirm, so at most two wrong PINs may reach the token.
    #[test]
    fn command_lines_and_the_agent_together_never_use_the_last_try_unconfirmed() {
        let fx = Fixture::shared();
        let cert = fx.cert("rsa2048").id;
        for round in 0..ROUNDS {
            let s = SimSetup::new(
                &format!("race_agent_{round}"),
                json!({"retry_limit": 8, "flags_mode": "never"}),
            );
            unlocked_after_five_then(&s, 0);
            s.sim
                .update_control(&json!({"latency_ms_per_function": {"C_Login": 300}}));
            let agent = Agent::start(&s, &agent_answers(3));
            let data = data(&s);
            let children: Vec<Child> = (0..4)
                .map(|n| spawn_sign(&s, &s.module, &cert, &data, n))
                .collect();
            let (agent_said, cli_outputs) = std::thread::scope(|scope| {
                let from_agent = scope.spawn(|| {
                    (0..3)
                        .map(|n| agent.sign_data(&cert, n))
                        .collect::<Vec<_>>()
                });
                let cli = type_pins_together(children, WRONG);
                (from_agent.join().expect("agent client"), cli)
            });
            let cli_said: Vec<String> = cli_outputs.iter().map(stderr).collect();
            let wrong = wrong_logins(&s);
            assert!(
                wrong <= 7,
                "round {round}: {} wrong PINs after the unlock, the token's last try was used \
                 unconfirmed\nagent: {agent_said:?}\ncli: {cli_said:#?}",
                wrong - 5
            );
            assert!(
                wrong > 5,
                "round {round}: no try at all? {agent_said:?} {cli_said:#?}"
            );
            assert!(
                s.sim.failures(&serial(&s)) < 8,
                "round {round}: token locked"
            );
            assert!(
                s.sim
                    .logins()
                    .iter()
                    .all(|l| l["result"] != "CKR_PIN_LOCKED"),
                "round {round}"
            );
            for said in &agent_said {
                assert!(
                    ["PIN_INCORRECT", "USER_CANCELLED", "PIN_GUARD_LOCKED"]
                        .contains(&said.as_str()),
                    "round {round}: agent said {said}"
                );
            }
            for e in &cli_said {
                assert!(
                    e.contains("PIN_INCORRECT")
                        || e.contains("USER_CANCELLED")
                        || e.contains("PIN_GUARD_LOCKED"),
                    "round {round}: {e}"
                );
            }
        }
    }

    /// Seven wrong PINs on the token; four people confirm the last try and
    /// type a wrong PIN at the same moment. One booking holds the last try:
    /// exactly one PIN reaches the token, the others are refused before
    /// `C_Login`.
    #[test]
    fn the_confirmed_last_try_is_used_by_one_process_only() {
        let fx = Fixture::shared();
        let cert = fx.cert("rsa2048").id;
        for round in 0..ROUNDS {
            let s = SimSetup::new(&format!("race_last_try_{round}"), json!({"retry_limit": 8}));
            unlocked_after_five_then(&s, 2);
            s.sim
                .update_control(&json!({"latency_ms_per_function": {"C_Login": 300}}));
            let data = data(&s);
            let children: Vec<Child> = (0..4)
                .map(|n| {
                    let prompts = s.dir.join(format!("sure-{n}.jsonl"));
                    std::fs::write(
                        &prompts,
                        format!("{{\"confirm_last_try\":\"yes\"}}\n{{\"pin\":\"{WRONG}\"}}\n"),
                    )
                    .unwrap();
                    s.mohor(&["--prompts"])
                        .arg(&prompts)
                        .args(["sign", "--detached", "--cert", &cert])
                        .arg(&data)
                        .arg("-o")
                        .arg(s.dir.join(format!("sure-{n}.p7s")))
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .expect("spawn mohor")
                })
                .collect();
            let said: Vec<String> = children
                .into_iter()
                .map(|c| {
                    let o = c.wait_with_output().expect("wait");
                    assert_no_panic(&o);
                    stderr(&o)
                })
                .collect();
            assert_eq!(wrong_logins(&s), 8, "round {round}: {said:#?}");
            assert!(
                s.sim
                    .logins()
                    .iter()
                    .all(|l| l["result"] != "CKR_PIN_LOCKED"),
                "round {round}: a PIN was sent to a token already blocked: {said:#?}"
            );
            // The other three are refused before any C_Login: by Mohor's
            // count (PIN_GUARD_LOCKED) or, when they look after the token
            // already reports itself blocked, by its flag (PIN_LOCKED); the
            // logins above show no PIN reached the blocked token.
            let refused = said
                .iter()
                .filter(|e| e.contains("(PIN_GUARD_LOCKED)") || e.contains("(PIN_LOCKED)"))
                .count();
            assert_eq!(refused, 3, "round {round}: {said:#?}");
            assert_eq!(s.sim.logins().len(), 8, "round {round}: {said:#?}");
        }
    }

    /// The race from the review, made deterministic: a command line shows
    /// "2 more wrong PINs" and waits for the PIN; meanwhile the agent takes a
    /// wrong PIN. The PIN typed afterwards would be the token's last try: it
    /// is not sent, and the command says why.
    #[test]
    fn a_pin_typed_while_the_agent_burnt_a_try_is_not_sent_without_confirmation() {
        let fx = Fixture::shared();
        let cert = fx.cert("rsa2048").id;
        let s = SimSetup::new("race_agent_while_typing", json!({"retry_limit": 8}));
        unlocked_after_five_then(&s, 1);

        let mut cli = spawn_sign(&s, &s.module, &cert, &data(&s), 0);
        // Wait until it has asked for the PIN (the two limits are printed first).
        let cli_err = cli.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut said = String::new();
            for line in BufReader::new(cli_err).lines().map_while(Result::ok) {
                if line.contains("blocks for good after 2 more wrong PINs") {
                    let _ = tx.send(());
                }
                said.push_str(&line);
                said.push('\n');
            }
            said
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the command line never asked for the PIN with 2 tries left");

        let agent = Agent::start(&s, &agent_answers(1));
        assert_eq!(agent.sign_data(&cert, 1), "PIN_INCORRECT");
        assert_eq!(wrong_logins(&s), 7);

        if let Some(mut stdin) = cli.stdin.take() {
            stdin.write_all(format!("{WRONG}\n").as_bytes()).unwrap();
        }
        let status = cli.wait().expect("wait");
        let said = reader.join().expect("reader");
        assert_eq!(status.code(), Some(1), "{said}");
        assert!(said.contains("USER_CANCELLED"), "{said}");
        assert!(said.contains("while the PIN was typed"), "{said}");
        assert!(said.contains("The PIN was not sent"), "{said}");
        assert_eq!(wrong_logins(&s), 7, "the unconfirmed last try was sent");
        assert_eq!(s.sim.failures(&serial(&s)), 7);

        // With the confirmation (the person sure of the PIN) the right PIN
        // gets through and clears every count.
        let prompts = s.dir.join("confirmed.jsonl");
        std::fs::write(
            &prompts,
            format!(
                "{{\"confirm_last_try\":\"yes\"}}\n{{\"pin\":\"{}\"}}\n",
                fx.user_pin
            ),
        )
        .unwrap();
        let out = s.dir.join("confirmed.p7s");
        let o = run(s
            .mohor(&["--prompts"])
            .arg(&prompts)
            .args(["sign", "--detached", "--cert", &cert])
            .arg(data(&s))
            .arg("-o")
            .arg(&out));
        assert!(o.status.success(), "{}", text(&o));
        assert!(openssl_verify_detached(&out, &data(&s), &fx.root)
            .status
            .success());
        assert_eq!(s.asha_status()["state"], "ok");
        assert_eq!(s.sim.failures(&serial(&s)), 0);
    }
}

/// Wrong PINs typed one by one until Mohor refuses: how many reached the
/// token on the way.
fn wrong_until_refused(s: &SimSetup, data: &Path, cert: &str) -> (usize, String) {
    let mut sent = 0;
    for _ in 0..8 {
        let o = s.sign_detached(data, &s.dir.join("w.p7s"), cert, WRONG);
        let said = stderr(&o);
        if said.contains("PIN_INCORRECT") {
            sent += 1;
        } else {
            return (sent, said);
        }
    }
    (sent, "never refused".into())
}

/// A right PIN is answered first, but its process settles late (the driver
/// is slow after `C_Login`); four wrong PINs reach the token after that
/// success and are settled before it. The late success must not wipe
/// them: the token's count is 4, and Mohor allows one more, not five.
#[test]
fn a_success_settled_late_keeps_the_wrong_pins_that_reached_the_token_after_it() {
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048").id;
    let s = SimSetup::new(
        "race_late_success",
        json!({"retry_limit": 8, "flags_mode": "never",
               "latency_ms_per_function": {"C_GetMechanismList": 2500}}),
    );
    let data = data(&s);
    let right = spawn_sign(&s, &s.module, &cert, &data, 100);
    let right = {
        let mut children = vec![right];
        if let Some(mut stdin) = children[0].stdin.take() {
            stdin
                .write_all(format!("{}\n", fx.user_pin).as_bytes())
                .unwrap();
        }
        children.pop().unwrap()
    };
    // Wait for the token to accept the right PIN.
    let start = std::time::Instant::now();
    while !s.sim.logins().iter().any(|l| l["result"] == "CKR_OK") {
        assert!(
            start.elapsed().as_secs() < 60,
            "the right PIN never reached the token"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let wrong: Vec<Child> = (0..4)
        .map(|n| spawn_sign(&s, &s.module, &cert, &data, n))
        .collect();
    let said: Vec<String> = type_pins_together(wrong, WRONG)
        .iter()
        .map(stderr)
        .collect();
    let right = right.wait_with_output().unwrap();
    assert!(right.status.success(), "{}", text(&right));
    assert_eq!(wrong_logins(&s), 4, "{said:#?}");
    assert_eq!(s.sim.failures(&serial(&s)), 4);
    assert_eq!(
        s.asha_status()["wrong_pins"],
        4,
        "the late success wiped them"
    );

    let (sent, refusal) = wrong_until_refused(&s, &data, &cert);
    assert_eq!(sent, 1, "{refusal}");
    assert!(refusal.contains("PIN_GUARD_LOCKED"), "{refusal}");
    assert_eq!(s.sim.failures(&serial(&s)), 5);
}

/// The vendor's driver and OpenSC name one card differently (manufacturer
/// and model strings); the serial is the same. After Mohor's soft stop
/// through one naming, the other is refused before any `C_Login`.
#[test]
fn a_second_driver_naming_the_token_differently_shares_the_counter() {
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048").id;
    let s = SimSetup::new(
        "race_second_naming",
        json!({"retry_limit": 8, "flags_mode": "never"}),
    );
    let data = data(&s);
    let (sent, refusal) = wrong_until_refused(&s, &data, &cert);
    assert_eq!(sent, 5, "{refusal}");
    s.sim
        .update_control(&json!({"token_model": "ePass2003", "token_manufacturer": "Longmai"}));
    let logins = s.sim.logins().len();
    let o = s.sign_detached(&data, &s.dir.join("other.p7s"), &cert, WRONG);
    assert!(stderr(&o).contains("PIN_GUARD_LOCKED"), "{}", text(&o));
    assert_eq!(s.sim.logins().len(), logins, "a PIN reached the token");
    assert_eq!(s.sim.failures(&serial(&s)), 5);
    let status = s.pin_status();
    let rows = status["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["label"] == "ASHA-EPASS")
        .count();
    assert_eq!(rows, 1, "{status:#}");
}

/// Another user's Mohor (another state directory) used three tries; the
/// token says so (`CKF_USER_PIN_COUNT_LOW`) but this Mohor counted none.
/// How many remain is unknown, so a script may not send a PIN at all — not
/// five silent tries that would block the token.
#[test]
fn tries_the_token_reports_but_mohor_did_not_count_stop_a_script() {
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048").id;
    let s = SimSetup::new(
        "race_foreign_tries",
        json!({"retry_limit": 8, "flags_mode": "spec"}),
    );
    let data = data(&s);
    let other_home = s.dir.join("home-of-another-user");
    std::fs::create_dir_all(&other_home).unwrap();
    for _ in 0..3 {
        let o = run_with_stdin(
            mohor(&other_home, &s.conf)
                .envs(s.sim.env())
                .arg("--module")
                .arg(&s.module)
                .args(["--pin-stdin", "sign", "--detached", "--cert", &cert])
                .arg(&data)
                .arg("-o")
                .arg(s.dir.join("other.p7s")),
            &format!("{WRONG}\n"),
        );
        assert!(stderr(&o).contains("PIN_INCORRECT"), "{}", text(&o));
    }
    assert_eq!(s.asha_status()["wrong_pins"], 0);
    let logins = s.sim.logins().len();
    for pin in [WRONG, fx.user_pin.as_str()] {
        let o = s.sign_detached(&data, &s.dir.join("o.p7s"), &cert, pin);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(stderr(&o).contains("not confirmed"), "{}", text(&o));
    }
    assert_eq!(s.sim.logins().len(), logins, "a PIN reached the token");
    assert_eq!(s.sim.failures(&serial(&s)), 3);
}

/// A driver that answers a wrong PIN in its own words (`CKR_FUNCTION_FAILED`
/// here, as some vendor drivers do) while the token counts it: Mohor counts
/// each as a wrong PIN too, so a script gets five tries and no more — never
/// the token's last three.
#[test]
fn a_driver_saying_wrong_pin_in_its_own_words_still_stops_a_script_at_five() {
    let fx = Fixture::shared();
    let cert = fx.cert("rsa2048").id;
    let s = SimSetup::new(
        "race_own_words",
        json!({"retry_limit": 8, "flags_mode": "never",
               "wrong_pin_answer": "CKR_FUNCTION_FAILED"}),
    );
    let data = data(&s);
    let said: Vec<String> = (0..8)
        .map(|_| stderr(&s.sign_detached(&data, &s.dir.join("w.p7s"), &cert, WRONG)))
        .collect();
    let answered = s
        .sim
        .logins()
        .iter()
        .filter(|l| l["result"] == "CKR_FUNCTION_FAILED")
        .count();
    assert_eq!(answered, 5, "{said:#?}");
    assert_eq!(s.sim.logins().len(), 5, "{said:#?}");
    assert_eq!(s.sim.failures(&serial(&s)), 5);
    for e in &said[..5] {
        assert!(e.contains("counts it as a wrong PIN"), "{said:#?}");
    }
    for e in &said[5..] {
        assert!(e.contains("PIN_GUARD_LOCKED"), "{said:#?}");
    }
    assert_eq!(s.asha_status()["wrong_pins"], 5);
    assert_eq!(s.asha_status()["state"], "soft-locked");
}
