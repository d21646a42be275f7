//! The native dialogs under a private Xvfb display, driven like a person
//! would: xdotool types and clicks, and the answers the `Prompter` returns
//! are checked. Screenshots land in `target/test-artifacts/dialog-*.png`.
//!
//! Each test starts its own Xvfb and runs this same binary in child mode
//! (`desktop_child_entry` with `MOHOR_DESKTOP_CHILD=<scenario>`), which opens
//! the real desktop loop and asks one question.
//!
//! Skipped (loudly) only when Xvfb/xdotool/ImageMagick are missing and `CI`
//! is unset.
#![cfg(feature = "desktop")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

#[path = "desktop/harness.rs"]
mod harness;
#[path = "desktop/scenarios.rs"]
mod scenarios;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::time::Duration;

use harness::{spawn_dialog, spawn_without_display, start_display};

const ANSWER: Duration = Duration::from_secs(20);
/// Dialog timeout for tests that do not test the timeout.
const LONG: u64 = 90;

/// Child mode: does nothing unless started by a test below.
#[test]
fn desktop_child_entry() {
    let Ok(scenario) = std::env::var(scenarios::ENV_SCENARIO) else {
        return;
    };
    let secs = std::env::var(scenarios::ENV_TIMEOUT)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(LONG);
    scenarios::run(scenario, Duration::from_secs(secs));
}

#[test]
fn consent_sign_with_the_other_certificate() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent", LONG);
    let w = p.window("Signature request");
    w.screenshot(&harness::artifacts(), "dialog-consent");
    // Alt+W focuses the certificate drop-down; open it and take the second entry.
    w.key("alt+w");
    w.key("space");
    w.key("Down");
    w.key("Return");
    w.screenshot(&harness::artifacts(), "dialog-consent-other-certificate");
    w.click_from_bottom_right(55, 32); // "Sign"
    assert_eq!(p.answer(ANSWER).as_deref(), Some("approve:cert-b"));
    p.finish();
}

#[test]
fn consent_shows_everything_the_signature_carries() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-details", LONG);
    let w = p.window("Signature request");
    // Look at this one: reason, location, certification, stamp, field, UIN
    // and QR payload must be readable, and the file name's RLO shown as �.
    let shot = w.screenshot(&harness::artifacts(), "dialog-consent-details");
    // Tesseract reads back what the person would read.
    let seen = xvfb::ocr_screen(&shot);
    for words in [
        "I hereby resign",
        "Nirman Bhawan",
        "Certifies the document",
        "B-LTA",
    ] {
        assert!(seen.contains(words), "{words:?} not seen in:\n{seen}");
    }
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

#[test]
fn consent_shapes_indian_scripts_and_shows_the_qr_payload() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-indic", LONG);
    let w = p.window("Signature request");
    // Look at this one: the Hindi reason and the Bengali place and name
    // shaped (conjuncts, vowel signs in place), the UIN, the payload whole.
    w.screenshot(&harness::artifacts(), "dialog-consent-indic");
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

#[test]
fn consent_says_which_documents_will_not_be_signed() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-refused", LONG);
    let w = p.window("Signature request");
    w.screenshot(&harness::artifacts(), "dialog-consent-refused");
    w.click_from_bottom_right(55, 32); // "Sign"
    assert_eq!(p.answer(ANSWER).as_deref(), Some("approve:cert-a"));
    p.finish();
}

#[test]
fn consent_warns_under_the_document_that_runs_its_own_scripts() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-scripts", LONG);
    let w = p.window("Signature request");
    // Look at this one: an amber warning inside the bill's card, none in
    // the annexure's.
    let shot = w.screenshot(&harness::artifacts(), "dialog-consent-scripts");
    let seen = xvfb::ocr_screen(&shot);
    let at = |words: &str| seen_at(&seen, words);
    assert!(
        at("Contingent bill") < at("runs its own JavaScript"),
        "{seen}"
    );
    assert!(at("still show as valid") < at("Fingerprint"), "{seen}");
    // The list scrolled to its end: the annexure's card, with no warning.
    w.scroll_down_at(200, 300, 15);
    let shot = w.screenshot(&harness::artifacts(), "dialog-consent-scripts-annexure");
    let seen = xvfb::ocr_screen(&shot);
    assert!(seen.contains("Annexure - vouchers"), "{seen}");
    assert!(!seen.contains("JavaScript"), "{seen}");
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

#[test]
fn consent_shows_earlier_signers_beside_their_verdict_and_warns_of_a_broken_one() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-earlier", LONG);
    let w = p.window("Signature request");
    // Look at this one: a red warning, then each earlier signer with what
    // the verifier found, inside the green note's card.
    let shot = w.screenshot(&harness::artifacts(), "dialog-consent-earlier");
    let seen = xvfb::ocr_screen(&shot);
    let at = |words: &str| seen_at(&seen, words);
    assert!(at("Green note") < at("is not valid"), "{seen}");
    assert!(at("is not valid") < at("Already signed by"), "{seen}");
    assert!(
        at("RAMESH KUMAR: valid") < at("SUNITA DAS: NOT VALID"),
        "{seen}"
    );
    assert!(at("SUNITA DAS: NOT VALID") < at("Fingerprint"), "{seen}");
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

/// What the verifier warns about in an earlier signature (SHA-1, a
/// 1024-bit key, a revocation after the proven signing time) is shown under
/// that signer's verdict, below an amber note, before the new signature's facts.
#[test]
fn consent_shows_the_warnings_of_earlier_signatures_under_their_verdict() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-earlier-warnings", LONG);
    let w = p.window("Signature request");
    // Look at this one: the amber note, then each signer, its warnings under it.
    let shot = w.screenshot(&harness::artifacts(), "dialog-consent-earlier-warnings");
    let seen = xvfb::ocr_screen(&shot);
    let at = |words: &str| seen_at(&seen, words);
    assert!(
        at("Green note") < at("Mohor warns about a signature"),
        "{seen}"
    );
    assert!(
        at("Mohor warns about a signature") < at("Already signed by"),
        "{seen}"
    );
    assert!(at("KAVITA RAO: valid") < at("uses SHA-1"), "{seen}");
    assert!(at("uses SHA-1") < at("1024-bit RSA key"), "{seen}");
    assert!(at("1024-bit RSA key") < at("RAMESH KUMAR: valid"), "{seen}");
    assert!(at("RAMESH KUMAR: valid") < at("was revoked at"), "{seen}");
    assert!(at("was revoked at") < at("SUNITA DAS: valid"), "{seen}");
    assert!(at("SUNITA DAS: valid") < at("Fingerprint"), "{seen}");
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

#[test]
fn consent_shows_what_data_to_sign_says_when_it_is_text() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-data", LONG);
    let w = p.window("Signature request");
    // Look at this one: the bill's JSON, indented, under "all of it".
    let shot = w.screenshot(&harness::artifacts(), "dialog-consent-data");
    let seen = xvfb::ocr_screen(&shot);
    for words in ["all of it", "CB-2026-412", "Sharma Traders", "45000"] {
        assert!(seen.contains(words), "{words:?} not seen in:\n{seen}");
    }
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

/// Where Tesseract read `words` in the screenshot's text.
fn seen_at(seen: &str, words: &str) -> usize {
    seen.find(words)
        .unwrap_or_else(|| panic!("{words:?} not seen in:\n{seen}"))
}

/// "deny@4.1s" → ("deny", 4.1)
fn timed(answer: &str) -> (String, f64) {
    let (what, secs) = answer.split_once('@').unwrap_or((answer, ""));
    let secs = secs.trim_end_matches('s').parse().unwrap_or(f64::MAX);
    (what.to_owned(), secs)
}

#[test]
fn consent_closes_when_the_page_cancels() {
    let Some(display) = start_display() else {
        return;
    };
    let mut p = spawn_dialog(&display, "consent-cancelled", LONG);
    let _w = p.window("Signature request");
    p.go();
    let answer = p.answer(ANSWER).unwrap_or_default();
    let (what, secs) = timed(&answer);
    assert_eq!(what, "deny", "got {answer:?}");
    assert!(
        secs < 10.0,
        "the dialog must close soon after the cancel, not at its {LONG}s timeout: {answer:?}"
    );
    assert!(
        p.window_gone("Signature request", Duration::from_secs(10)),
        "the consent window is still on screen after the page cancelled"
    );
    p.finish();
}

#[test]
fn pin_closes_when_the_page_cancels() {
    let Some(display) = start_display() else {
        return;
    };
    let mut p = spawn_dialog(&display, "pin-cancelled", LONG);
    let w = p.window("Enter token PIN");
    w.type_text("12");
    p.go();
    let answer = p.answer(ANSWER).unwrap_or_default();
    let (what, secs) = timed(&answer);
    assert_eq!(what, "cancel", "got {answer:?}");
    assert!(secs < 10.0, "{answer:?}");
    assert!(p.window_gone("Enter token PIN", Duration::from_secs(10)));
    p.finish();
}

#[test]
fn consent_enter_cancels_because_cancel_is_the_default() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent", LONG);
    let w = p.window("Signature request");
    w.key("Return");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

#[test]
fn consent_escape_denies() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent", LONG);
    let w = p.window("Signature request");
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    assert!(p.window_gone("Signature request", ANSWER));
    p.finish();
}

#[test]
fn consent_for_a_site_computed_hash_warns_and_can_be_approved() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-hash", LONG);
    let w = p.window("Signature request");
    w.screenshot(&harness::artifacts(), "dialog-consent-hash");
    w.click_from_bottom_right(55, 32); // "Sign"
    assert_eq!(p.answer(ANSWER).as_deref(), Some("approve:cert-a"));
    p.finish();
}

#[test]
fn consent_batch_from_the_command_line_window_destroyed_denies() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-batch", LONG);
    let w = p.window("Signature request");
    w.screenshot(&harness::artifacts(), "dialog-consent-batch");
    // The window vanishes without any button (as when the session kills it):
    // the unanswered question must still come back as "deny".
    w.destroy();
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

#[test]
fn pin_ok_only_when_long_enough_and_returns_the_pin() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "pin", LONG);
    let w = p.window("Enter token PIN");
    w.type_text("12");
    w.key("Return");
    p.assert_no_answer(
        Duration::from_secs(2),
        "a 2-character PIN must not be accepted (minimum 4)",
    );
    w.type_text("345678");
    w.screenshot(&harness::artifacts(), "dialog-pin");
    w.key("Return");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("pin:12345678"));
    assert!(p.window_gone("Enter token PIN", ANSWER));
    p.finish();
}

#[test]
fn pin_escape_cancels() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "pin", LONG);
    let w = p.window("Enter token PIN");
    w.type_text("9999");
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("cancel"));
    p.finish();
}

#[test]
fn pin_dialog_times_out_as_cancel() {
    let Some(display) = start_display() else {
        return;
    };
    // Long enough that the window is found before it closes on a loaded machine.
    let p = spawn_dialog(&display, "pin", 8);
    let _w = p.window("Enter token PIN");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("cancel"));
    assert!(p.window_gone("Enter token PIN", ANSWER));
    p.finish();
}

#[test]
fn pin_after_wrong_tries_shows_amber_warning() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "pin-amber", LONG);
    let w = p.window("Enter token PIN");
    w.type_text("4321");
    w.screenshot(&harness::artifacts(), "dialog-pin-amber");
    w.key("Return");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("pin:4321"));
    p.finish();
}

#[test]
fn pin_last_try_shows_red_warning() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "pin-red", LONG);
    let w = p.window("Enter token PIN");
    w.screenshot(&harness::artifacts(), "dialog-pin-red");
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("cancel"));
    p.finish();
}

#[test]
fn last_try_needs_the_checkbox_before_continue() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "last-try", LONG);
    let w = p.window("Last PIN attempt");
    w.screenshot(&harness::artifacts(), "dialog-last-try");
    w.click_from_bottom_right(60, 32); // "Continue", still disabled
    p.assert_no_answer(
        Duration::from_secs(2),
        "Continue must be disabled until \"I am sure of my PIN\" is ticked",
    );
    w.key("alt+s");
    w.screenshot(&harness::artifacts(), "dialog-last-try-ticked");
    w.click_from_bottom_right(60, 32);
    assert_eq!(p.answer(ANSWER).as_deref(), Some("true"));
    p.finish();
}

#[test]
fn last_try_enter_cancels() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "last-try", LONG);
    let w = p.window("Last PIN attempt");
    w.key("alt+s");
    w.key("Return");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("false"));
    p.finish();
}

#[test]
fn trust_site_enter_denies() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "trust", LONG);
    let w = p.window("Allow website?");
    w.screenshot(&harness::artifacts(), "dialog-trust-site");
    w.key("Return");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

#[test]
fn trust_site_allow_button_allows() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "trust", LONG);
    let w = p.window("Allow website?");
    w.click_from_bottom_right(50, 32); // "Allow"
    assert_eq!(p.answer(ANSWER).as_deref(), Some("allow"));
    p.finish();
}

#[test]
fn trust_plain_http_site_warns_and_times_out_as_deny() {
    let Some(display) = start_display() else {
        return;
    };
    // Long enough for the screenshot before it closes on a loaded machine.
    let p = spawn_dialog(&display, "trust-http", 10);
    let w = p.window("Allow website?");
    w.screenshot(&harness::artifacts(), "dialog-trust-site-http");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

#[test]
fn notice_closes_with_ok() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "notify", LONG);
    assert_eq!(
        p.answer(ANSWER).as_deref(),
        Some("shown"),
        "notify must not block the worker"
    );
    let w = p.window("Mohor");
    w.screenshot(&harness::artifacts(), "dialog-notice");
    w.key("Return");
    assert!(p.window_gone("Mohor", ANSWER), "OK must close the notice");
}

#[test]
fn quit_while_a_question_is_open_denies_and_ends_the_loop() {
    let Some(display) = start_display() else {
        return;
    };
    let mut p = spawn_dialog(&display, "quit-while-open", LONG);
    let _w = p.window("Signature request");
    // Quit (as from the tray menu) while the question is on screen.
    p.go();
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

#[test]
fn without_a_display_the_error_says_what_to_do() {
    let p = spawn_without_display("pin");
    let answer = p.answer(Duration::from_secs(60)).unwrap_or_default();
    assert!(answer.starts_with("error:INTERNAL|"), "got {answer:?}");
    assert!(answer.contains("no graphical display"), "got {answer:?}");
    assert!(
        answer.contains(
            "start with `mohor serve` for a headless agent, or run inside a desktop session"
        ),
        "got {answer:?}"
    );
    p.finish();
}

/// Opens `scenario`, takes a screenshot named `shot` of the window titled
/// `title`, and closes it with Escape (the cautious answer).
fn look_at(scenario: &str, title: &str, shot: &str) -> Option<(String, std::path::PathBuf)> {
    let display = start_display()?;
    let p = spawn_dialog(&display, scenario, LONG);
    let w = p.window(title);
    let png = w.screenshot(&harness::artifacts(), shot);
    let seen = xvfb::ocr_screen(&png);
    w.key("Escape");
    assert!(p.answer(ANSWER).is_some());
    p.finish();
    Some((seen, png))
}

/// Who owns a host name is decided by its end: a long origin
/// (`https://eoffice.gov.in.<filler>.attacker.example`) must show that end,
/// or the person reads a government site where an attacker's asks.
#[test]
fn trust_site_shows_a_long_origin_to_its_end() {
    let Some((seen, _)) = look_at("trust-long", "Allow website?", "dialog-trust-long-origin")
    else {
        return;
    };
    assert!(seen.contains("attacker.example"), "{seen}");
}

/// Names in a batch often differ only at their end ("…FINAL-v2.pdf"): a
/// name the protocol accepts is shown whole.
#[test]
fn consent_shows_a_long_file_name_to_its_end() {
    let Some((seen, _)) = look_at(
        "consent-long-name",
        "Signature request",
        "dialog-consent-long-name",
    ) else {
        return;
    };
    // (The line may wrap at its hyphen.)
    assert!(seen.contains("revised estimate FINAL"), "{seen}");
    assert!(seen.contains("v2.pdf"), "{seen}");
}

#[test]
fn consent_shows_a_long_origin_to_its_end() {
    let Some((seen, _)) = look_at(
        "consent-long-origin",
        "Signature request",
        "dialog-consent-long-origin",
    ) else {
        return;
    };
    assert!(seen.contains("attacker.example"), "{seen}");
}

/// A full `sign.batch` (100 documents, Bengali, Hindi and 190-character
/// names): the count in the heading, the list scrolls, the buttons stay.
/// Look at `dialog-consent-many*.png`.
#[test]
fn consent_for_a_batch_of_100_counts_them_and_scrolls() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-many", LONG);
    let w = p.window("Signature request");
    // A hundred cards take a moment to lay out: the window is found before
    // it has its size, so look again until its buttons show.
    let mut seen = String::new();
    for _ in 0..20 {
        let shot = w.screenshot(&harness::artifacts(), "dialog-consent-many");
        seen = xvfb::ocr_screen(&shot);
        if seen.contains("Cancel") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(seen.contains("these 100 documents"), "{seen}");
    assert!(seen.contains("Cancel"), "{seen}");
    w.scroll_down_at(200, 300, 40);
    w.screenshot(&harness::artifacts(), "dialog-consent-many-scrolled");
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

/// Certificate names (Bengali, long) cut to fit the drop-down: the chosen
/// one is also shown whole. Look at `dialog-consent-long-signer*.png`.
#[test]
fn consent_shows_the_chosen_signer_name_whole() {
    let Some(display) = start_display() else {
        return;
    };
    let p = spawn_dialog(&display, "consent-long-signer", LONG);
    let w = p.window("Signature request");
    w.screenshot(&harness::artifacts(), "dialog-consent-long-signer");
    // The second certificate, whose name ends past the drop-down's cut.
    w.key("alt+w");
    w.key("space");
    w.key("Down");
    w.key("Return");
    let shot = w.screenshot(&harness::artifacts(), "dialog-consent-long-signer-other");
    let seen = xvfb::ocr_screen(&shot);
    assert!(seen.contains("MINISTRY OF RURAL DEVELOPMENT"), "{seen}");
    w.key("Escape");
    assert_eq!(p.answer(ANSWER).as_deref(), Some("deny"));
    p.finish();
}

/// Markup, `&`, line breaks and U+202E from a page are shown as the text
/// they are, never as formatting.
#[test]
fn consent_shows_markup_from_a_page_as_plain_text() {
    let Some((seen, _)) = look_at(
        "consent-markup",
        "Signature request",
        "dialog-consent-markup",
    ) else {
        return;
    };
    for words in ["<b>Approved</b> R&D budget", "<i>routine</i>"] {
        assert!(seen.contains(words), "{words:?} not seen in:\n{seen}");
    }
}

/// The PIN prompt as the guard words it after 1, 3, 4 and 7 wrong PINs
/// (Mohor stops at 5, the token blocks at 8): both countdowns, and who
/// resets the PIN. Look at `dialog-pin-after-*.png`.
#[test]
fn pin_after_wrong_pins_names_both_limits_and_who_resets_the_pin() {
    for (n, words) in [
        (1, "blocks for good after 7"),
        (3, "DSC provider must reset the PIN"),
        (4, "until your DSC provider resets the PIN"),
        (7, "will block this token for good"),
    ] {
        let Some((seen, _)) = look_at(
            &format!("pin-after-{n}"),
            "Enter token PIN",
            &format!("dialog-pin-after-{n}"),
        ) else {
            return;
        };
        assert!(
            seen.contains(words),
            "after {n}: {words:?} not seen in:\n{seen}"
        );
    }
}
