//! Desktop notifications (the freedesktop `org.freedesktop.Notifications`
//! service over the session D-Bus, which GNOME, KDE, XFCE and most panels
//! provide). Without such a service the notice goes to the log instead:
//! a notification is a courtesy, never a reason to fail.

use std::collections::HashMap;

use gtk::gio;
use gtk::glib::{self, ToVariant};

use crate::ui::Notice;

/// Sends `notice`; logs it (and why it was not shown) when that fails.
/// Callable from any thread; blocks for at most two seconds.
pub fn send(notice: &Notice) {
    tracing::info!("notice: {}: {}", notice.title, notice.body);
    if let Err(e) = try_send(notice) {
        tracing::info!("notice not shown as a desktop notification: {e}");
    }
}

fn try_send(notice: &Notice) -> Result<(), glib::Error> {
    let bus = gio::bus_get_sync(gio::BusType::Session, gio::Cancellable::NONE)?;
    let hints: HashMap<String, glib::Variant> = HashMap::new();
    let actions: Vec<String> = Vec::new();
    let args = (
        "Mohor",
        0u32,
        "mohor",
        notice.title.as_str(),
        notice.body.as_str(),
        actions,
        hints,
        -1i32,
    )
        .to_variant();
    bus.call_sync(
        Some("org.freedesktop.Notifications"),
        "/org/freedesktop/Notifications",
        "org.freedesktop.Notifications",
        "Notify",
        Some(&args),
        None,
        gio::DBusCallFlags::NONE,
        2000,
        gio::Cancellable::NONE,
    )?;
    Ok(())
}
