//! What the tray menu's items do: small GTK windows (GTK thread only).

use std::path::Path;
use std::sync::Arc;

use gtk::glib;
use gtk::prelude::*;

use super::TrayBackend;

/// A plain information window with a title and monospace-free text.
fn info_window(title: &str, heading: &str, body: &str) {
    let dialog = gtk::MessageDialog::new(
        None::<&gtk::Window>,
        gtk::DialogFlags::empty(),
        gtk::MessageType::Info,
        gtk::ButtonsType::Close,
        heading,
    );
    dialog.set_title(title);
    dialog.set_secondary_text(Some(body));
    dialog.set_keep_above(true);
    dialog.connect_response(|d, _| d.close());
    dialog.show_all();
    dialog.present();
}

/// The menu's status lines in a window (a second `mohor` start shows this).
pub fn show_status(text: &str) {
    info_window("Mohor status", "Mohor is running", text);
}

pub fn about(text: &str) {
    info_window(
        "About Mohor",
        &format!("Mohor {}", env!("CARGO_PKG_VERSION")),
        text,
    );
}

pub fn open_folder(dir: &Path) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        tracing::warn!("cannot create {}: {e}", dir.display());
    }
    let uri = gtk::gio::File::for_path(dir).uri();
    if let Err(e) =
        gtk::gio::AppInfo::launch_default_for_uri(&uri, None::<&gtk::gio::AppLaunchContext>)
    {
        info_window(
            "Mohor logs",
            "Mohor's log folder",
            &format!("{}\n\n(No file manager could open it: {e})", dir.display()),
        );
    }
}

pub fn set_autostart(on: bool) {
    if let Err(e) = crate::autostart::set(on) {
        info_window(
            "Mohor",
            "Start at login could not be changed",
            &e.to_string(),
        );
    }
}

/// Runs the checks off the GTK thread and shows the report when done.
pub fn doctor(backend: Arc<dyn TrayBackend>) {
    let spawned = std::thread::Builder::new()
        .name("mohor-doctor".into())
        .spawn(move || {
            let report = backend.doctor();
            glib::idle_add_once(move || doctor_window(&report));
        });
    if let Err(e) = spawned {
        info_window("Mohor", "The checks could not start", &e.to_string());
    }
}

fn doctor_window(report: &str) {
    let window = gtk::Window::new(gtk::WindowType::Toplevel);
    window.set_title("Mohor setup check");
    window.set_default_size(760, 520);
    let view = gtk::TextView::new();
    view.set_editable(false);
    view.set_monospace(true);
    view.set_wrap_mode(gtk::WrapMode::WordChar);
    view.set_left_margin(10);
    view.set_top_margin(10);
    if let Some(buffer) = view.buffer() {
        buffer.set_text(report);
    }
    let scroll = gtk::ScrolledWindow::new(None::<&gtk::Adjustment>, None::<&gtk::Adjustment>);
    scroll.add(&view);
    window.add(&scroll);
    window.show_all();
    window.present();
}

pub fn remove_site(backend: &dyn TrayBackend, origin: &str) {
    match backend.remove_site(origin) {
        Ok(()) => info_window(
            "Mohor",
            "Site removed",
            &format!("{origin} must ask again, and be allowed, before it can ask for signatures."),
        ),
        Err(e) => info_window("Mohor", "The site could not be removed", &e.to_string()),
    }
}

/// Asks with the same warning as `mohor pin unlock`, then clears the lock.
pub fn unlock(backend: &dyn TrayBackend, serial: &str) {
    let dialog = gtk::MessageDialog::new(
        None::<&gtk::Window>,
        gtk::DialogFlags::empty(),
        gtk::MessageType::Warning,
        gtk::ButtonsType::None,
        "Unlock this token only after your provider has reset its PIN",
    );
    dialog.set_title("Unlock token");
    dialog.set_secondary_text(Some(&backend.unlock_warning(serial)));
    dialog.add_button("Keep locked", gtk::ResponseType::Cancel);
    dialog.add_button("Unlock", gtk::ResponseType::Accept);
    dialog.set_default_response(gtk::ResponseType::Cancel);
    dialog.set_keep_above(true);
    let response = dialog.run();
    dialog.close();
    if response != gtk::ResponseType::Accept {
        return;
    }
    match backend.unlock(serial) {
        Ok(text) => info_window("Mohor", "Token unlocked", &text),
        Err(e) => info_window("Mohor", "The token could not be unlocked", &e.to_string()),
    }
}
