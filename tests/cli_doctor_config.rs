//! `mohor doctor [--json]` and `mohor config path|check` on a private
//! MOHOR_HOME: the doctor names a driver that loaded and one that failed
//! (with the error), the agent's ports and the browser policy; `config check`
//! accepts a good file, says where a bad one is wrong (exit 1), and works
//! when every other command refuses the broken file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Fixture, MODULE};

fn home(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("t")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create MOHOR_HOME");
    dir
}

fn mohor(home: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_mohor"))
        .env("MOHOR_HOME", home)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run mohor");
    common::assert_no_panic(&out);
    out
}

fn text(out: &Output) -> String {
    common::text(out)
}

#[test]
fn config_path_names_the_file_and_check_says_what_is_wrong_and_where() {
    let home = home("config_cmd");
    let path = home.join("config.toml");

    let out = mohor(&home, &["config", "path"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(stdout.lines().next(), Some(path.to_str().unwrap()));
    assert!(stdout.contains(&format!("state: {}", home.join("state").display())));

    // No file: the defaults.
    let out = mohor(&home, &["config", "check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("defaults apply"), "{}", text(&out));

    // A good file.
    std::fs::write(&path, "port = 21770\n[sites]\ntrust_days = 30\n").unwrap();
    let out = mohor(&home, &["config", "check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(": ok"), "{}", text(&out));

    // A typo on line 3: named with its line, exit 1; the file is left alone.
    let broken = "port = 21770\n[sites]\ntrust_dayz = 30\n";
    std::fs::write(&path, broken).unwrap();
    let out = mohor(&home, &["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("trust_dayz"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    // `config path` still works with the broken file; other commands refuse it.
    assert!(mohor(&home, &["config", "path"]).status.success());
    assert_eq!(mohor(&home, &["sites"]).status.code(), Some(1));

    // A value out of range: named with the range.
    std::fs::write(&path, "[pin]\nsoft_limit = 9\nhard_limit = 8\n").unwrap();
    let out = mohor(&home, &["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("soft_limit (9)"), "{}", text(&out));

    // A file named with --config that is not there is refused (a typo must
    // not drop its settings for the defaults); `config path` still says
    // where it would be.
    let gone = home.join("typo.toml");
    let gone = gone.to_str().unwrap();
    for args in [
        &["--config", gone, "sites"][..],
        &["--config", gone, "config", "check"],
    ] {
        let out = mohor(&home, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("does not exist"),
            "{args:?}: {}",
            text(&out)
        );
    }
    let out = mohor(&home, &["--config", gone, "config", "path"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn doctor_reports_drivers_loaded_and_failed_ports_and_the_browser_policy() {
    let fx = Fixture::shared();
    let home = home("doctor");
    let softhsm_conf = fx.private_tokens(&home);
    let missing = "/nonexistent/libvendor-pkcs11.so";
    let out = common::mohor(&home, &softhsm_conf)
        .args(["--module", MODULE, "--module", missing, "doctor", "--json"])
        .output()
        .expect("run mohor doctor");
    common::assert_no_panic(&out);
    assert!(out.status.success(), "{}", text(&out));
    let report = common::json_out(&out);
    let modules = report["modules"].as_array().expect("modules");
    let soft = modules
        .iter()
        .find(|m| m["path"] == MODULE)
        .expect("softhsm listed");
    assert_eq!(soft["loaded"], true, "{report:#}");
    let bad = modules
        .iter()
        .find(|m| m["path"] == missing)
        .expect("missing listed");
    assert_eq!(bad["loaded"], false);
    assert_eq!(bad["error"], "file not found");
    assert!(report["tokens_seen"].as_u64().unwrap() >= 1, "{report:#}");
    assert!(report["advice"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a.as_str().unwrap().contains(missing)));
    let ports: Vec<u64> = report["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, [21760, 21761, 21762, 21763]);
    assert!(report["browser_policy"][0]
        .as_str()
        .unwrap()
        .contains("LocalNetworkAccessAllowedForUrls"));
    assert!(report["pcscd"]["detail"]
        .as_str()
        .unwrap()
        .contains("pcscd"));
    assert!(report["usb_tokens"].is_array());

    // The human report says the same, failures first in "What to do".
    let out = common::mohor(&home, &softhsm_conf)
        .args(["--module", MODULE, "--module", missing, "doctor"])
        .output()
        .expect("run mohor doctor");
    assert!(out.status.success());
    let human = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        human.contains(&format!("FAILED   {missing} (--module): file not found")),
        "{human}"
    );
    assert!(human.contains(&format!("loaded   {MODULE}")), "{human}");
    assert!(human.contains("What to do:"), "{human}");
}
