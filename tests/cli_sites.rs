//! `mohor sites [--json]` and `mohor sites remove ORIGIN` on a private
//! MOHOR_HOME: an old plain list of origins is migrated to records with
//! since/until, expired sites are not listed, and removing one works once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn home(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("t")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state")).expect("create MOHOR_HOME");
    dir
}

fn mohor(home: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_mohor"))
        .env("MOHOR_HOME", home)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run mohor");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("panicked"), "mohor panicked:\n{all}");
    out
}

fn listed(home: &Path) -> Vec<Value> {
    let out = mohor(home, &["sites", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    v["sites"].as_array().expect("sites array").clone()
}

fn time_of(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("a time string"), &Rfc3339).expect("RFC 3339")
}

#[test]
fn an_old_list_is_migrated_listed_with_since_and_until_and_a_site_removed() {
    let home = home("cli_sites_migrate");
    let file = home.join("state/trusted-sites.json");
    std::fs::write(
        &file,
        r#"["https://eoffice.gov.in","https://old.example.gov.in"]"#,
    )
    .unwrap();

    let before = OffsetDateTime::now_utc() - time::Duration::MINUTE;
    let sites = listed(&home);
    assert_eq!(sites.len(), 2, "{sites:?}");
    for s in &sites {
        let (since, until) = (time_of(&s["since"]), time_of(&s["until"]));
        assert!(since >= before, "{s}");
        assert_eq!(
            until - since,
            time::Duration::days(90),
            "default expiry: {s}"
        );
    }
    assert_eq!(sites[0]["origin"], "https://eoffice.gov.in");
    // Migrated on disk, so the next listing keeps the same dates.
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.contains("\"until\""), "{on_disk}");
    assert_eq!(listed(&home), sites);

    let human = mohor(&home, &["sites"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("https://old.example.gov.in  allowed "),
        "{text}"
    );
    assert!(text.contains(", until "), "{text}");

    // Typed as a person might: upper case and a trailing slash.
    let removed = mohor(&home, &["sites", "remove", "https://EOffice.gov.in/"]);
    assert!(removed.status.success(), "{removed:?}");
    assert!(String::from_utf8_lossy(&removed.stdout).contains("Removed https://eoffice.gov.in"));
    let left = listed(&home);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["origin"], "https://old.example.gov.in");

    let again = mohor(&home, &["sites", "remove", "https://eoffice.gov.in"]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("is not a trusted site"), "{err}");
    assert!(
        err.contains("mohor sites"),
        "the hint names the list: {err}"
    );
}

#[test]
fn expired_sites_are_not_listed_and_the_expiry_is_configurable() {
    let home = home("cli_sites_expiry");
    std::fs::write(home.join("config.toml"), "[sites]\ntrust_days = 30\n").unwrap();
    std::fs::write(
        home.join("state/trusted-sites.json"),
        r#"[{"origin":"https://gone.example.gov.in","since":"2020-01-01T00:00:00Z","until":"2020-04-01T00:00:00Z"},
            {"origin":"https://kept.example.gov.in","since":"2026-01-01T00:00:00Z","until":"2099-01-01T00:00:00Z"}]"#,
    )
    .unwrap();
    let sites = listed(&home);
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0]["origin"], "https://kept.example.gov.in");
    assert_eq!(sites[0]["since"], "2026-01-01T00:00:00Z");
    assert_eq!(sites[0]["until"], "2099-01-01T00:00:00Z");

    // A migrated list gets the configured 30 days.
    std::fs::write(
        home.join("state/trusted-sites.json"),
        r#"["https://a.gov.in"]"#,
    )
    .unwrap();
    let sites = listed(&home);
    assert_eq!(
        time_of(&sites[0]["until"]) - time_of(&sites[0]["since"]),
        time::Duration::days(30)
    );

    let none = home.join("empty");
    std::fs::create_dir_all(&none).unwrap();
    let out = mohor(&none, &["sites"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("No trusted sites"));
    assert_eq!(listed(&none), Vec::<Value>::new());
}
