//! The dialogs themselves. Everything here runs on the GTK thread.
//!
//! Each dialog is non-blocking GTK (`show` + `response` signal, no nested
//! `dialog.run()`), keeps above other windows, is centred and not resizable,
//! and answers cancel/deny by itself after the timeout. Enter never signs,
//! allows or continues by accident: those dialogs make the cautious button
//! the default. Only the PIN dialog's default is OK, and it stays disabled
//! until the PIN has an acceptable length.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gtk::glib::{self, SourceId};
use gtk::prelude::*;
use gtk::{Align, Orientation, ResponseType};
use secrecy::SecretString;

use super::format;
use super::gtk_prompter::Reply;
use super::style;
use crate::ui::consent_text;
use crate::ui::{
    CertificateChoice, ConsentDecision, ConsentRequest, DocumentKind, DocumentSummary, Notice,
    PinRequest, PinWarning, TrustSiteDecision,
};

/// The response a dialog gets when its timeout passes.
const TIMED_OUT: ResponseType = ResponseType::Other(4242);
/// The response a dialog gets when its request was cancelled (the page sent
/// `cancel` or went away): answered like cancel/deny.
const WITHDRAWN: ResponseType = ResponseType::Other(4243);
/// How often an open dialog checks whether its request was withdrawn.
const WITHDRAWN_POLL: Duration = Duration::from_millis(100);
/// Width in characters that wrapped text is laid out for.
const TEXT_WIDTH: i32 = 56;

// ---------------------------------------------------------------------------
// Building blocks

fn new_dialog(title: &str) -> gtk::Dialog {
    let dialog = gtk::Dialog::new();
    dialog.set_title(title);
    dialog.set_keep_above(true);
    dialog.set_position(gtk::WindowPosition::Center);
    dialog.set_resizable(false);
    dialog.set_urgency_hint(true);
    dialog.set_type_hint(gtk::gdk::WindowTypeHint::Dialog);
    dialog.set_skip_taskbar_hint(false);
    dialog
}

/// Spacing around the button row, reached through one of its buttons.
fn space_buttons(button: &gtk::Widget) {
    if let Some(row) = button.parent() {
        if let Some(row) = row.downcast_ref::<gtk::ButtonBox>() {
            row.set_spacing(8);
        }
        row.set_margin_start(18);
        row.set_margin_end(18);
        row.set_margin_bottom(14);
    }
}

/// The padded column everything goes into.
fn body(dialog: &gtk::Dialog) -> gtk::Box {
    let body = gtk::Box::new(Orientation::Vertical, 12);
    body.set_margin_top(18);
    body.set_margin_bottom(10);
    body.set_margin_start(20);
    body.set_margin_end(20);
    dialog.content_area().add(&body);
    body
}

/// A left-aligned, wrapping label from Pango markup (caller escapes).
fn markup(markup: &str) -> gtk::Label {
    let label = gtk::Label::new(None);
    label.set_markup(markup);
    label.set_xalign(0.0);
    label.set_line_wrap(true);
    label.set_line_wrap_mode(gtk::pango::WrapMode::WordChar);
    label.set_max_width_chars(TEXT_WIDTH);
    label
}

/// A left-aligned, wrapping label from plain text.
fn text(text: &str) -> gtk::Label {
    markup(&glib::markup_escape_text(text))
}

fn with_class<W: IsA<gtk::Widget>>(widget: W, class: &str) -> W {
    widget.style_context().add_class(class);
    widget
}

/// Seal icon, a large heading and a line under it.
fn header(heading: &str, heading_class: &str, under: Option<&str>) -> gtk::Box {
    let row = gtk::Box::new(Orientation::Horizontal, 14);
    if let Some(pixbuf) = style::seal_pixbuf(48) {
        let image = gtk::Image::from_pixbuf(Some(&pixbuf));
        image.set_valign(Align::Start);
        row.add(&image);
    }
    let column = gtk::Box::new(Orientation::Vertical, 4);
    column.set_valign(Align::Center);
    column.add(&with_class(text(heading), heading_class));
    if let Some(under) = under {
        column.add(&markup(under));
    }
    row.add(&column);
    row
}

/// A bordered box (light grey, amber or red) holding a column of widgets.
fn card(class: &str) -> gtk::Box {
    with_class(gtk::Box::new(Orientation::Vertical, 6), class)
}

/// An amber or red box with one bold sentence and an optional second line.
fn warning_box(class: &str, icon: &str, sentence: &str, extra: Option<&str>) -> gtk::Box {
    let b = card(class);
    let row = gtk::Box::new(Orientation::Horizontal, 10);
    let image = gtk::Image::from_icon_name(Some(icon), gtk::IconSize::Dialog);
    image.set_valign(Align::Center);
    row.add(&image);
    let column = gtk::Box::new(Orientation::Vertical, 4);
    column.set_valign(Align::Center);
    let first = markup(&format!("<b>{}</b>", glib::markup_escape_text(sentence)));
    first.set_max_width_chars(TEXT_WIDTH - 6);
    column.add(&first);
    if let Some(extra) = extra {
        let second = text(extra);
        second.set_max_width_chars(TEXT_WIDTH - 6);
        column.add(&second);
    }
    row.add(&column);
    b.add(&row);
    b
}

/// Two-column "Label:  value" rows.
fn facts_grid(rows: &[(&str, gtk::Label)]) -> gtk::Grid {
    let grid = gtk::Grid::new();
    grid.set_row_spacing(4);
    grid.set_column_spacing(12);
    for (i, (name, value)) in rows.iter().enumerate() {
        let top = i32::try_from(i).unwrap_or(i32::MAX);
        let name = with_class(text(name), "mohor-dim");
        name.set_valign(Align::Start);
        grid.attach(&name, 0, top, 1, 1);
        value.set_hexpand(true);
        grid.attach(value, 1, top, 1, 1);
    }
    grid
}

fn dim(sentence: &str) -> gtk::Label {
    with_class(text(sentence), "mohor-dim")
}

/// Shows the dialog, arms the timeout and the withdrawal watch, and routes
/// exactly one answer to `reply`.
///
/// `decide` turns the response into the answer; it also runs for the
/// timeout (with [`TIMED_OUT`]), for a cancelled request (with
/// [`WITHDRAWN`]) and for Escape / closing the window (with `DeleteEvent`),
/// which every dialog treats as cancel/deny.
fn ask<T: 'static>(
    dialog: &gtk::Dialog,
    timeout: Duration,
    reply: Reply<T>,
    focus: &impl IsA<gtk::Widget>,
    decide: impl Fn(&gtk::Dialog, ResponseType) -> T + 'static,
) {
    let withdrawn = reply.withdrawn_flag();
    let reply = Rc::new(RefCell::new(Some(reply)));
    let timer: Rc<RefCell<Option<SourceId>>> = Rc::new(RefCell::new(None));
    {
        let weak = dialog.downgrade();
        let open = Rc::clone(&reply);
        glib::timeout_add_local(WITHDRAWN_POLL, move || {
            let Some(dialog) = weak.upgrade() else {
                return glib::ControlFlow::Break;
            };
            if open.borrow().is_none() {
                return glib::ControlFlow::Break; // answered already
            }
            if withdrawn.load(std::sync::atomic::Ordering::SeqCst) {
                dialog.response(WITHDRAWN);
                return glib::ControlFlow::Break;
            }
            glib::ControlFlow::Continue
        });
    }
    {
        let weak = dialog.downgrade();
        let timer_slot = Rc::clone(&timer);
        let id = glib::timeout_add_local_once(timeout, move || {
            // The source is gone once it fired; never remove it again.
            timer_slot.borrow_mut().take();
            if let Some(dialog) = weak.upgrade() {
                dialog.response(TIMED_OUT);
            }
        });
        *timer.borrow_mut() = Some(id);
    }
    let title = dialog.title().map(|t| t.to_string()).unwrap_or_default();
    dialog.connect_response(move |dialog, response| {
        let Some(reply) = reply.borrow_mut().take() else {
            return; // Answered already; this is the close that follows.
        };
        if let Some(id) = timer.borrow_mut().take() {
            id.remove();
        }
        if response == TIMED_OUT {
            tracing::info!("\"{title}\" was not answered in time; treated as cancel");
        } else if response == WITHDRAWN {
            tracing::info!("\"{title}\" closed: the request was cancelled");
        }
        reply.send(decide(dialog, response));
        dialog.close();
    });
    dialog.show_all();
    focus.grab_focus();
    dialog.present();
}

// ---------------------------------------------------------------------------
// Consent

fn document_card(doc: &DocumentSummary) -> gtk::Box {
    let b = card("mohor-card");
    let name = markup(&format!(
        "<b>{}</b>",
        // Whole, as long as the protocol allows (the terminal shows as much):
        // names in a batch often differ only at their end.
        glib::markup_escape_text(&format::display_safe(
            &doc.name,
            crate::protocol::request::MAX_FILE_NAME_LEN
        ))
    ));
    name.set_selectable(false);
    b.add(&name);
    b.add(&text(&format::document_facts(doc)));
    if let Some(why) = &doc.refused {
        let refused = markup(&format!(
            "<b>{}</b>",
            glib::markup_escape_text(&consent_text::refused_line(why))
        ));
        b.add(&with_class(refused, "mohor-refused"));
    }
    if let Some(warning) = consent_text::javascript_warning(doc) {
        b.add(&warning_box("mohor-amber", "dialog-warning", warning, None));
    }
    if let Some(earlier) = consent_text::earlier_words(doc) {
        if let Some(warning) = earlier.warning {
            b.add(&warning_box("mohor-red", "dialog-warning", warning, None));
        }
        if let Some(caution) = earlier.caution {
            b.add(&warning_box("mohor-amber", "dialog-warning", caution, None));
        }
        b.add(&dim(earlier.caption));
        // Each verdict, and under it, indented and in bold, what the
        // verifier warns about in that signature.
        let list = gtk::Box::new(Orientation::Vertical, 2);
        for (line, warnings) in earlier.lines.iter().zip(&earlier.warnings) {
            let verdict = text(&format!("• {line}"));
            verdict.set_max_width_chars(TEXT_WIDTH - 4);
            list.add(&verdict);
            for w in warnings {
                let warning = markup(&format!("<b>warning:</b> {}", glib::markup_escape_text(w)));
                warning.set_margin_start(16);
                warning.set_max_width_chars(TEXT_WIDTH - 8);
                list.add(&warning);
            }
        }
        b.add(&list);
    }
    if let Some(content) = consent_text::content_words(doc) {
        b.add(&dim(content.caption));
        if !content.lines.is_empty() {
            let lines = with_class(text(&content.lines.join("\n")), "mohor-mono");
            lines.set_selectable(true);
            lines.set_can_focus(false);
            b.add(&lines);
        }
        if let Some(more) = content.more {
            b.add(&dim(more));
        }
    }
    // A document that will not be signed needs no signature details.
    let certifies = doc
        .signature
        .as_ref()
        .is_some_and(|s| s.certification.is_some());
    let rows: Vec<(&str, gtk::Label)> = consent_text::document_rows(doc)
        .into_iter()
        .map(|(label, value)| {
            // What the signature says in the person's name stands out: the
            // reason, and a certification that limits later changes.
            let stands_out = label == "Reason" || (label == "Certification" && certifies);
            let value = if stands_out && value != "(none)" {
                markup(&format!("<b>{}</b>", glib::markup_escape_text(&value)))
            } else {
                text(&value)
            };
            value.set_max_width_chars(TEXT_WIDTH - 12);
            (label, value)
        })
        .collect();
    if !rows.is_empty() {
        b.add(&facts_grid(&rows));
    }
    b.add(&with_class(
        text(&consent_text::fingerprint_caption(doc)),
        "mohor-dim",
    ));
    let fingerprint = with_class(
        text(&format::grouped_fingerprint(&doc.fingerprint_hex)),
        "mohor-mono",
    );
    fingerprint.set_line_wrap(false);
    fingerprint.set_selectable(true);
    fingerprint.set_can_focus(false);
    b.add(&fingerprint);
    b
}

struct CertDetails {
    /// The signer's whole name: the drop-down cuts it to fit, and two
    /// certificates may differ only in its end.
    name: gtk::Label,
    issuer: gtk::Label,
    token: gtk::Label,
    validity: gtk::Label,
}

impl CertDetails {
    fn show(&self, cert: &CertificateChoice) {
        self.name
            .set_text(&format::display_safe(&cert.subject_cn, 120));
        self.issuer
            .set_text(&format::display_safe(&cert.issuer_cn, 120));
        self.token
            .set_text(&format::display_safe(&cert.token_label, 120));
        self.validity
            .set_text(&format::display_safe(&cert.validity, 120));
    }
}

pub fn consent(request: ConsentRequest, timeout: Duration, reply: Reply<ConsentDecision>) {
    let dialog = new_dialog("Signature request");
    let body = body(&dialog);

    let who = glib::markup_escape_text(&format::requester(request.origin.as_deref()));
    let n = request.documents.len();
    body.add(&header(
        "Signature request",
        "mohor-heading",
        Some(&format!(
            "<b>{who}</b> wants you to sign {} with your digital signature (DSC).",
            format::documents_phrase(n)
        )),
    ));

    let refused = request
        .documents
        .iter()
        .filter(|d| d.refused.is_some())
        .count();
    if refused > 0 {
        body.add(&warning_box(
            "mohor-amber",
            "dialog-warning",
            &format::refused_summary(refused, n),
            Some("Each one says why below. Sign signs the others."),
        ));
    }

    let docs = gtk::Box::new(Orientation::Vertical, 8);
    for doc in &request.documents {
        docs.add(&document_card(doc));
    }
    // More than one document: a scrolled list, so the buttons stay on screen.
    if n > 1 {
        let scroller = gtk::ScrolledWindow::new(gtk::Adjustment::NONE, gtk::Adjustment::NONE);
        scroller.set_policy(gtk::PolicyType::Never, gtk::PolicyType::Automatic);
        scroller.set_propagate_natural_height(true);
        scroller.set_max_content_height(330);
        // A permanent scroll bar, so nobody misses the documents further down.
        scroller.set_overlay_scrolling(false);
        scroller.add(&docs);
        body.add(&scroller);
    } else {
        body.add(&docs);
    }

    let unseen = request
        .documents
        .iter()
        .find(|d| d.kind == DocumentKind::Hash)
        .map(|d| d.fingerprint_algorithm);
    if let Some(algorithm) = unseen {
        body.add(&warning_box(
            "mohor-amber",
            "dialog-warning",
            &consent_text::hash_warning(algorithm),
            None,
        ));
    }

    // Certificates: the proposed one first, then the alternatives (no repeats).
    let mut certs = vec![request.certificate.clone()];
    for alt in &request.alternatives {
        if !certs.iter().any(|c| c.id == alt.id) {
            certs.push(alt.clone());
        }
    }
    let cert_card = card("mohor-card");
    let details = CertDetails {
        name: text(""),
        issuer: text(""),
        token: text(""),
        validity: text(""),
    };
    details.show(&request.certificate);
    let combo = gtk::ComboBoxText::new();
    let sign_with = gtk::Label::with_mnemonic("Sign _with");
    sign_with.set_xalign(0.0);
    sign_with.style_context().add_class("mohor-dim");
    cert_card.add(&sign_with);
    if certs.len() > 1 {
        for cert in &certs {
            combo.append_text(&format!(
                "{}  —  {}",
                format::display_safe(&cert.subject_cn, 60),
                format::display_safe(&cert.token_label, 40)
            ));
        }
        combo.set_active(Some(0));
        sign_with.set_mnemonic_widget(Some(&combo));
        cert_card.add(&combo);
    } else {
        cert_card.add(&markup(&format!(
            "<b>{}</b>",
            glib::markup_escape_text(&format::display_safe(&request.certificate.subject_cn, 120))
        )));
    }
    let mut rows = vec![
        ("Issued by", details.issuer.clone()),
        ("Token", details.token.clone()),
        ("Validity", details.validity.clone()),
    ];
    if certs.len() > 1 {
        // Above the drop-down's cut: the name in full (with one certificate
        // it is the bold line already).
        rows.insert(0, ("Name", details.name.clone()));
    }
    cert_card.add(&facts_grid(&rows));
    {
        let certs = certs.clone();
        combo.connect_changed(move |combo| {
            let chosen = combo
                .active()
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| certs.get(i));
            if let Some(cert) = chosen {
                details.show(cert);
            }
        });
    }
    body.add(&cert_card);

    body.add(&dim(
        "After you click Sign, Mohor will ask for the PIN of your token.",
    ));
    body.add(&dim(&format::timeout_note(
        timeout,
        "the request is cancelled",
    )));

    let cancel = dialog.add_button("Cancel", ResponseType::Cancel);
    let sign = dialog.add_button("Sign", ResponseType::Accept);
    if unseen.is_none() {
        // No blue "go ahead" look when the person cannot see what is signed.
        sign.style_context().add_class("suggested-action");
    }
    space_buttons(&sign);
    dialog.set_default_response(ResponseType::Cancel);

    let combo_for_answer = combo.clone();
    ask(&dialog, timeout, reply, &cancel, move |_, response| {
        if response != ResponseType::Accept {
            return ConsentDecision::Deny;
        }
        let index = if certs.len() > 1 {
            combo_for_answer
                .active()
                .and_then(|i| usize::try_from(i).ok())
        } else {
            Some(0)
        };
        match index.and_then(|i| certs.get(i)) {
            Some(cert) => ConsentDecision::Approve {
                certificate_id: cert.id.clone(),
            },
            None => ConsentDecision::Deny,
        }
    });
}

// ---------------------------------------------------------------------------
// PIN

fn token_facts(request: &PinRequest) -> gtk::Grid {
    let bold = |s: &str| {
        markup(&format!(
            "<b>{}</b>",
            glib::markup_escape_text(&format::display_safe(s, 120))
        ))
    };
    facts_grid(&[
        ("Token", bold(&request.token_label)),
        ("Certificate", bold(&request.certificate_cn)),
    ])
}

pub fn pin(request: PinRequest, timeout: Duration, reply: Reply<Option<SecretString>>) {
    let dialog = new_dialog("Enter token PIN");
    let body = body(&dialog);
    body.add(&header(
        "Enter token PIN",
        "mohor-heading",
        Some("Mohor needs the PIN of your DSC token to sign."),
    ));
    let facts = card("mohor-card");
    facts.add(&token_facts(&request));
    body.add(&facts);

    let row = gtk::Box::new(Orientation::Horizontal, 12);
    let caption = gtk::Label::with_mnemonic("_PIN");
    caption.set_xalign(0.0);
    let entry = gtk::Entry::new();
    entry.set_visibility(false);
    entry.set_invisible_char(Some('●'));
    entry.set_input_purpose(gtk::InputPurpose::Password);
    entry.set_activates_default(true);
    entry.set_width_chars(22);
    entry.set_hexpand(true);
    entry.style_context().add_class("mohor-pin");
    let max = format::pin_max_len(&request);
    if max != usize::MAX {
        entry.set_max_length(i32::try_from(max).unwrap_or(0));
    }
    caption.set_mnemonic_widget(Some(&entry));
    row.add(&caption);
    row.add(&entry);
    body.add(&row);
    let hint = format::pin_length_hint(&request);
    if !hint.is_empty() {
        body.add(&dim(&hint));
    }

    let mut attempts = format::attempts_line(&request);
    if request.warning == PinWarning::LastTry && request.until_token_blocks == Some(1) {
        attempts = None; // the red sentence already says it
    }
    match (request.warning, format::pin_warning_text(&request)) {
        (PinWarning::LastTry, Some(sentence)) => body.add(&warning_box(
            "mohor-red",
            "dialog-error",
            &sentence,
            attempts.as_deref(),
        )),
        (PinWarning::AttemptsUsed, Some(sentence)) => body.add(&warning_box(
            "mohor-amber",
            "dialog-warning",
            &sentence,
            attempts.as_deref(),
        )),
        (_, sentence) => {
            if let Some(sentence) = sentence {
                body.add(&text(&sentence));
            }
            if let Some(attempts) = attempts {
                body.add(&text(&attempts));
            }
        }
    }

    body.add(&dim(
        "Mohor gives the PIN only to your token. It is never shown, saved, or sent to a website.",
    ));
    body.add(&dim(&format::timeout_note(timeout, "signing is cancelled")));

    let _cancel = dialog.add_button("Cancel", ResponseType::Cancel);
    let ok = dialog.add_button("OK", ResponseType::Ok);
    space_buttons(&ok);
    ok.set_can_default(true);
    dialog.set_default_response(ResponseType::Ok);
    ok.set_sensitive(false);
    {
        let ok = ok.clone();
        let request = request.clone();
        entry.connect_changed(move |entry| {
            let len = usize::from(entry.text_length());
            ok.set_sensitive(format::pin_length_ok(len, &request));
        });
    }

    let entry_for_answer = entry.clone();
    ask(&dialog, timeout, reply, &entry, move |_, response| {
        let entry = &entry_for_answer;
        let len = usize::from(entry.text_length());
        let answer = if response == ResponseType::Ok && format::pin_length_ok(len, &request) {
            Some(SecretString::from(entry.text().as_str().to_owned()))
        } else {
            None
        };
        // GTK's entry buffer wipes the old text when it is replaced.
        entry.set_text("");
        answer
    });
}

// ---------------------------------------------------------------------------
// Last try

pub fn confirm_last_try(request: PinRequest, timeout: Duration, reply: Reply<bool>) {
    let dialog = new_dialog("Last PIN attempt");
    let body = body(&dialog);
    body.add(&header(
        "Last PIN attempt",
        "mohor-heading-red",
        Some("Please read this before you type the PIN."),
    ));
    body.add(&warning_box(
        "mohor-red",
        "dialog-error",
        format::LAST_TRY_TEXT,
        None,
    ));
    let facts = card("mohor-card");
    facts.add(&token_facts(&request));
    body.add(&facts);
    let sure = gtk::CheckButton::with_mnemonic("I am _sure of my PIN");
    body.add(&sure);
    body.add(&dim(
        "If you are not sure, choose Cancel. The company that issued your DSC may be able to help you find or reset the PIN before the token is blocked.",
    ));
    body.add(&dim(&format::timeout_note(timeout, "nothing is tried")));

    let cancel = dialog.add_button("Cancel", ResponseType::Cancel);
    let go = dialog.add_button("Continue", ResponseType::Accept);
    go.style_context().add_class("destructive-action");
    space_buttons(&go);
    go.set_sensitive(false);
    dialog.set_default_response(ResponseType::Cancel);
    {
        let go = go.clone();
        sure.connect_toggled(move |sure| go.set_sensitive(sure.is_active()));
    }
    let sure_for_answer = sure.clone();
    ask(&dialog, timeout, reply, &cancel, move |_, response| {
        response == ResponseType::Accept && sure_for_answer.is_active()
    });
}

// ---------------------------------------------------------------------------
// Trust a site

pub fn trust_site(origin: String, timeout: Duration, reply: Reply<TrustSiteDecision>) {
    let dialog = new_dialog("Allow website?");
    let body = body(&dialog);
    let shown = glib::markup_escape_text(&format::requester(Some(&origin)));
    let heading = markup(&format!("Allow <b>{shown}</b> to ask for signatures?"));
    heading.style_context().add_class("mohor-heading");
    // The heading's font is larger: fewer characters for the same width.
    heading.set_max_width_chars(TEXT_WIDTH * 2 / 3);
    heading.set_valign(Align::Center);
    let row = gtk::Box::new(Orientation::Horizontal, 14);
    if let Some(pixbuf) = style::seal_pixbuf(48) {
        let image = gtk::Image::from_pixbuf(Some(&pixbuf));
        image.set_valign(Align::Start);
        row.add(&image);
    }
    row.add(&heading);
    body.add(&row);
    body.add(&text(
        "If you allow it, this website can ask Mohor to sign documents with your digital signature (DSC).",
    ));
    body.add(&text(
        "It cannot sign anything by itself: every signature still needs your approval in a Mohor window and your token PIN.",
    ));
    if format::is_insecure_origin(&origin) {
        body.add(&warning_box(
            "mohor-amber",
            "dialog-warning",
            "This website does not use a secure (https) connection.",
            Some("Others on the network could change what it sends. Allow it only if your office told you to."),
        ));
    }
    body.add(&text(
        "Choose Deny if you do not recognise this website or did not expect this question.",
    ));
    body.add(&dim(&format::timeout_note(
        timeout,
        "the website is denied",
    )));

    let deny = dialog.add_button("Deny", ResponseType::Reject);
    let allow = dialog.add_button("Allow", ResponseType::Accept);
    space_buttons(&allow);
    dialog.set_default_response(ResponseType::Reject);
    ask(&dialog, timeout, reply, &deny, move |_, response| {
        if response == ResponseType::Accept {
            TrustSiteDecision::Allow
        } else {
            TrustSiteDecision::Deny
        }
    });
}

// ---------------------------------------------------------------------------
// Notice

/// A non-modal message with an OK button; closes by itself after `timeout`.
pub fn notice(notice: Notice, timeout: Duration) {
    let dialog = gtk::MessageDialog::new(
        None::<&gtk::Window>,
        gtk::DialogFlags::empty(),
        gtk::MessageType::Info,
        gtk::ButtonsType::Ok,
        &format::display_safe(&notice.title, 120),
    );
    dialog.set_title("Mohor");
    dialog.set_secondary_text(Some(&format::display_safe(&notice.body, 2000)));
    dialog.set_keep_above(true);
    dialog.set_position(gtk::WindowPosition::Center);
    dialog.set_resizable(false);

    let (tx, _rx) = std::sync::mpsc::channel::<()>();
    let reply = Reply::new(tx, || ());
    let as_dialog: gtk::Dialog = dialog.clone().upcast();
    let focus = as_dialog.widget_for_response(ResponseType::Ok);
    if let Some(ok) = &focus {
        space_buttons(ok);
    }
    match focus {
        Some(ok) => ask(&as_dialog, timeout, reply, &ok, |_, _| ()),
        None => ask(&as_dialog, timeout, reply, &as_dialog, |_, _| ()),
    }
}
