//! The tray icon, its menu, and the GTK main loop that drives the dialogs.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use gtk::glib;
use gtk::prelude::*;
use tray_icon::menu::{Menu, MenuEvent, MenuId, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use super::gtk_prompter::GtkPrompter;
use super::style;
use crate::ui::Prompter;
use crate::{Error, Reason, Result};

/// True while `run_desktop` runs the GTK main loop; dialogs are shown only then.
static RUNNING: AtomicBool = AtomicBool::new(false);

pub(super) fn loop_running() -> bool {
    RUNNING.load(Ordering::Acquire)
}

/// The default WebSocket port from the contract, for the first status line.
pub const DEFAULT_PORT: u16 = 21760;

/// The status line in the tray menu, and the way to end the desktop loop.
/// Cheap to clone, `Send + Sync`: the server thread updates it when it knows
/// its port.
#[derive(Clone)]
pub struct TrayStatus {
    text: Arc<Mutex<String>>,
}

impl Default for TrayStatus {
    fn default() -> Self {
        TrayStatus::new("Mohor is starting…")
    }
}

impl TrayStatus {
    pub fn new(text: impl Into<String>) -> Self {
        TrayStatus {
            text: Arc::new(Mutex::new(text.into())),
        }
    }

    /// "Mohor is listening on port N".
    pub fn listening(port: u16) -> Self {
        TrayStatus::new(listening_text(port))
    }

    pub fn set_port(&self, port: u16) {
        self.set_text(listening_text(port));
    }

    /// Replaces the status line; shown at once if the tray is up.
    pub fn set_text(&self, text: impl Into<String>) {
        *self.text.lock().unwrap_or_else(PoisonError::into_inner) = text.into();
        if loop_running() {
            glib::idle_add_once(refresh_status_item);
        }
    }

    pub fn text(&self) -> String {
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Ends the desktop loop as if "Quit" was chosen: `run_desktop` returns
    /// after open dialogs have answered cancel/deny. Callable from any thread.
    pub fn request_quit(&self) {
        if loop_running() {
            glib::idle_add_once(quit_loop);
        }
    }
}

fn listening_text(port: u16) -> String {
    format!("Mohor is listening on port {port}")
}

/// What the GTK thread keeps of the tray while the loop runs.
struct TrayParts {
    status: TrayStatus,
    status_item: MenuItem,
    quit_id: MenuId,
    _icon: Option<TrayIcon>,
}

thread_local! {
    static TRAY: RefCell<Option<TrayParts>> = const { RefCell::new(None) };
}

fn refresh_status_item() {
    TRAY.with(|tray| {
        if let Some(parts) = tray.borrow().as_ref() {
            parts.status_item.set_text(parts.status.text());
        }
    });
}

fn quit_loop() {
    if gtk::main_level() > 0 {
        gtk::main_quit();
    }
}

fn on_menu_event(event: MenuEvent) {
    let quit = TRAY.with(|tray| {
        tray.borrow()
            .as_ref()
            .is_some_and(|parts| parts.quit_id == event.id)
    });
    if quit {
        tracing::info!("Quit chosen from the tray menu");
        quit_loop();
    }
}

fn no_display(detail: &str) -> Error {
    Error::new(
        Reason::Internal,
        format!("Mohor cannot open its windows: no graphical display is available ({detail})."),
    )
    .with_hint("start with `mohor serve` for a headless agent, or run inside a desktop session")
}

/// Runs the desktop agent on the calling thread (the main thread): initialises
/// GTK, shows the tray icon with its status line and "Quit", calls `on_ready`
/// with the dialog prompter on a new background thread (start tokio and the
/// WebSocket server there), and runs the GTK main loop until Quit is chosen or
/// [`TrayStatus::request_quit`] is called. Questions still open then are
/// answered cancel/deny.
///
/// Without a display it returns `Reason::Internal` with a hint to use
/// `mohor serve`. If only the tray icon cannot be created (no tray host in
/// the session), it logs a warning and carries on: dialogs still work.
pub fn run_desktop<F>(status: TrayStatus, on_ready: F) -> Result<()>
where
    F: FnOnce(Arc<dyn Prompter>) + Send + 'static,
{
    if loop_running() {
        return Err(Error::internal("the desktop agent is already running"));
    }
    if gtk::is_initialized() && !gtk::is_initialized_main_thread() {
        return Err(Error::internal(
            "the desktop agent must run on the thread that first started GTK",
        ));
    }
    gtk::init().map_err(|e| no_display(&e.to_string()))?;
    style::install();

    let status_item = MenuItem::new(status.text(), false, None);
    let quit_item = MenuItem::new("Quit Mohor", true, None);
    let icon = match build_tray(&status_item, &quit_item) {
        Ok(icon) => Some(icon),
        Err(e) => {
            tracing::warn!("no tray icon ({e}); dialogs still work, stop Mohor with Ctrl+C");
            None
        }
    };
    TRAY.with(|tray| {
        *tray.borrow_mut() = Some(TrayParts {
            status: status.clone(),
            status_item,
            quit_id: quit_item.id().clone(),
            _icon: icon,
        });
    });
    // The handler runs wherever muda emits; hop onto the GTK loop to act.
    MenuEvent::set_event_handler(Some(|event: MenuEvent| {
        glib::idle_add_once(move || on_menu_event(event));
    }));

    RUNNING.store(true, Ordering::Release);
    let prompter: Arc<dyn Prompter> = Arc::new(GtkPrompter::default());
    let started = std::thread::Builder::new()
        .name("mohor-agent".into())
        .spawn(move || on_ready(prompter));
    if let Err(e) = started {
        RUNNING.store(false, Ordering::Release);
        TRAY.with(|tray| tray.borrow_mut().take());
        return Err(Error::internal(format!(
            "cannot start the agent thread: {e}"
        )));
    }
    // In case the status changed between reading it above and now.
    refresh_status_item();

    gtk::main();

    RUNNING.store(false, Ordering::Release);
    close_everything();
    TRAY.with(|tray| tray.borrow_mut().take());
    Ok(())
}

fn build_tray(status_item: &MenuItem, quit_item: &MenuItem) -> Result<TrayIcon> {
    let menu = Menu::new();
    let separator = PredefinedMenuItem::separator();
    menu.append_items(&[status_item, &separator, quit_item])
        .map_err(|e| Error::internal(format!("tray menu: {e}")))?;
    let seal = style::seal_rgba()?;
    let icon = Icon::from_rgba(seal.pixels, seal.width, seal.height)
        .map_err(|e| Error::internal(format!("tray icon image: {e}")))?;
    TrayIconBuilder::new()
        .with_id("mohor")
        .with_icon(icon)
        .with_tooltip("Mohor signing agent")
        .with_menu(Box::new(menu))
        .build()
        .map_err(|e| Error::internal(format!("tray icon: {e}")))
}

/// After the loop: close every window (their open questions answer
/// cancel/deny) and run the remaining events so queued questions see that
/// the loop has stopped.
fn close_everything() {
    for window in gtk::Window::list_toplevels() {
        if let Ok(window) = window.downcast::<gtk::Window>() {
            if window.is_visible() {
                window.close();
            }
        }
    }
    for _ in 0..200 {
        if !gtk::events_pending() {
            break;
        }
        gtk::main_iteration_do(false);
    }
}
