//! The tray icon, its menu, and the GTK main loop that drives the dialogs.
//!
//! The icon shows the agent's state (ready, no token, waiting for the person,
//! needs attention); the menu shows what `mohor pin status`, `certs`,
//! `history` and `sites` would print, and the few actions an official needs.
//! What it shows comes from a [`TrayBackend`] polled off the GTK thread; the
//! lines themselves are built by the pure [`super::tray_menu`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use gtk::glib;
use gtk::prelude::*;
use tray_icon::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuId, MenuItem, PredefinedMenuItem, Submenu,
};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use super::gtk_prompter::GtkPrompter;
use super::tray_menu::{menu_model, Line, MenuModel, Overview, TrayState};
use super::{style, tray_actions};
use crate::ui::Prompter;
use crate::{Error, Reason, Result};

/// True while `run_desktop` runs the GTK main loop; dialogs are shown only then.
static RUNNING: AtomicBool = AtomicBool::new(false);

pub(super) fn loop_running() -> bool {
    RUNNING.load(Ordering::Acquire)
}

/// The default WebSocket port from the contract, for the first status line.
pub const DEFAULT_PORT: u16 = 21760;

/// How often the tray asks the backend for tokens, certificates and the log.
const POLL: Duration = Duration::from_secs(3);

/// What the tray needs from the agent. Called off the GTK thread, except
/// the quick state-file actions (remove a site, unlock).
pub trait TrayBackend: Send + Sync {
    /// Tokens with their guard state, certificates, recent signatures, sites.
    fn overview(&self) -> Overview;
    fn remove_site(&self, origin: &str) -> Result<()>;
    /// The warning shown before a soft lock is cleared (as `mohor pin unlock`).
    fn unlock_warning(&self, serial: &str) -> String;
    /// Clears the soft lock; returns what to tell the person.
    fn unlock(&self, serial: &str) -> Result<String>;
    /// The `mohor doctor` report as text (may take a few seconds).
    fn doctor(&self) -> String;
    /// Version, licence, where the config, state and logs are.
    fn about(&self) -> String;
    fn log_dir(&self) -> std::path::PathBuf;
    /// True at most once a day (the backend remembers the day it said yes):
    /// whether to announce certificates that expire soon.
    fn expiry_notice_due(&self) -> bool;
}

#[derive(Default)]
struct Model {
    text: String,
    port: Option<u16>,
    /// `None` until the poller first looked at the tokens.
    overview: Option<Overview>,
    waiting: usize,
    backend: Option<Arc<dyn TrayBackend>>,
}

/// The tray's shared state, and the way to end the desktop loop. Cheap to
/// clone, `Send + Sync`: the server thread reports its port, the prompter
/// wrapper reports open questions, the poller reports the overview.
#[derive(Clone)]
pub struct TrayStatus {
    model: Arc<Mutex<Model>>,
}

impl Default for TrayStatus {
    fn default() -> Self {
        TrayStatus::new("Mohor is starting…")
    }
}

impl TrayStatus {
    pub fn new(text: impl Into<String>) -> Self {
        TrayStatus {
            model: Arc::new(Mutex::new(Model {
                text: text.into(),
                ..Model::default()
            })),
        }
    }

    /// "Mohor is listening on port N".
    pub fn listening(port: u16) -> Self {
        let s = TrayStatus::new(listening_text(port));
        s.with(|m| m.port = Some(port));
        s
    }

    fn with<T>(&self, f: impl FnOnce(&mut Model) -> T) -> T {
        f(&mut self.model.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn set_port(&self, port: u16) {
        self.with(|m| {
            m.port = Some(port);
            m.text = listening_text(port);
        });
        schedule_refresh();
    }

    /// Replaces the status line; shown at once if the tray is up.
    pub fn set_text(&self, text: impl Into<String>) {
        self.with(|m| m.text = text.into());
        schedule_refresh();
    }

    pub fn text(&self) -> String {
        self.with(|m| m.text.clone())
    }

    pub fn port(&self) -> Option<u16> {
        self.with(|m| m.port)
    }

    /// Ends the desktop loop as if "Quit" was chosen: `run_desktop` returns
    /// after open dialogs have answered cancel/deny. Callable from any thread.
    pub fn request_quit(&self) {
        if loop_running() {
            glib::idle_add_once(quit_loop);
        }
    }

    /// Shows the status window (a second `mohor` start asks for this).
    pub fn show_status(&self) {
        if loop_running() {
            glib::idle_add_once(|| {
                let text = with_parts(|p| status_text(p)).unwrap_or_default();
                tray_actions::show_status(&text);
            });
        }
    }

    /// Connects the backend and polls it every few seconds until the loop
    /// ends, announcing what a person must know (see `tray_notices`).
    /// Nothing is kept once the loop has ended: the agent's last holder
    /// closes the token's driver before the process ends (`run_desktop`
    /// lets go of it after the loop).
    pub fn attach(&self, backend: Arc<dyn TrayBackend>) {
        // Checked under the model's lock, which `run_desktop` takes to let
        // go after the loop stopped running: never kept past that.
        let kept = self.with(|m| {
            let running = loop_running();
            if running {
                m.backend = Some(Arc::clone(&backend));
            }
            running
        });
        if !kept {
            return;
        }
        let status = self.clone();
        let (poke, pokes) = mpsc::channel::<()>();
        POKE.with_sender(poke);
        let spawned = std::thread::Builder::new()
            .name("mohor-tray-poll".into())
            .spawn(move || status.poll(backend, pokes));
        if let Err(e) = spawned {
            tracing::warn!("the tray will not update: {e}");
        }
    }

    fn poll(&self, backend: Arc<dyn TrayBackend>, pokes: mpsc::Receiver<()>) {
        while loop_running() {
            let fresh = backend.overview();
            let (shown, waiting) = self.with(|m| (m.overview.clone(), m.waiting));
            let first_look = shown.is_none();
            let old = shown.unwrap_or_default();
            let now = time::OffsetDateTime::now_utc();
            let mut notices = super::tray_notices::changes(&old, &fresh, waiting);
            if let Some(expiring) = super::tray_notices::expiring(&fresh, now) {
                if backend.expiry_notice_due() {
                    notices.push(expiring);
                }
            }
            for n in notices {
                super::notify::send(&n);
            }
            if first_look || old != fresh {
                self.with(|m| m.overview = Some(fresh));
                schedule_refresh();
            }
            match pokes.recv_timeout(POLL) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    /// Wraps a prompter so the icon shows "signing" while a question is open.
    pub fn watching(&self, inner: Arc<dyn Prompter>) -> Arc<dyn Prompter> {
        Arc::new(super::tray_busy::BusyPrompter::new(inner, self.clone()))
    }

    pub(super) fn question_opened(&self) {
        self.with(|m| m.waiting += 1);
        schedule_refresh();
    }

    pub(super) fn question_closed(&self) {
        self.with(|m| m.waiting = m.waiting.saturating_sub(1));
        schedule_refresh();
        POKE.poke();
    }

    fn menu_model(&self) -> MenuModel {
        self.with(|m| {
            let mut model = menu_model(
                m.overview.as_ref(),
                m.port,
                m.waiting,
                time::OffsetDateTime::now_utc(),
            );
            if m.port.is_none() {
                // "starting…" or a failure the agent reported.
                model.lines.insert(1, Line::Info(m.text.clone()));
            }
            model
        })
    }
}

/// Wakes the poller early (a question closed: the audit log has news).
struct Poke(Mutex<Option<mpsc::Sender<()>>>);

impl Poke {
    fn with_sender(&self, tx: mpsc::Sender<()>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(tx);
    }
    fn poke(&self) {
        if let Some(tx) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = tx.send(());
        }
    }
}

static POKE: Poke = Poke(Mutex::new(None));

fn listening_text(port: u16) -> String {
    format!("Mohor is listening on port {port}")
}

/// What a menu item does when chosen.
#[derive(Debug, Clone)]
enum Action {
    RemoveSite(String),
    Unlock(String),
    Doctor,
    OpenLogs,
    Autostart,
    About,
    Quit,
}

/// What the GTK thread keeps of the tray while the loop runs.
struct TrayParts {
    status: TrayStatus,
    icon: Option<TrayIcon>,
    shown: Option<MenuModel>,
    actions: HashMap<MenuId, Action>,
    autostart_item: Option<CheckMenuItem>,
}

thread_local! {
    static TRAY: RefCell<Option<TrayParts>> = const { RefCell::new(None) };
    /// A refresh waits for the open menu to close.
    static DEFERRED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn with_parts<T>(f: impl FnOnce(&mut TrayParts) -> T) -> Option<T> {
    TRAY.with(|tray| tray.borrow_mut().as_mut().map(f))
}

fn schedule_refresh() {
    if loop_running() {
        glib::idle_add_once(refresh);
    }
}

/// True while a menu (or another popup) is on screen: replacing the menu
/// then would close it under the person's pointer.
fn popup_open() -> bool {
    gtk::Window::list_toplevels().into_iter().any(|w| {
        w.downcast::<gtk::Window>()
            .is_ok_and(|w| w.is_visible() && w.window_type() == gtk::WindowType::Popup)
    })
}

/// Rebuilds icon, tooltip and menu when what they show has changed; waits
/// while the menu is open.
fn refresh() {
    if popup_open() {
        // One retry pending at a time, however many updates arrive meanwhile.
        if !DEFERRED.replace(true) {
            glib::timeout_add_local_once(Duration::from_millis(700), || {
                DEFERRED.set(false);
                refresh();
            });
        }
        return;
    }
    with_parts(|parts| {
        let model = parts.status.menu_model();
        if parts.shown.as_ref() == Some(&model) {
            return;
        }
        if parts.shown.as_ref().map(|m| m.state) != Some(model.state) {
            tracing::info!("tray icon: {:?}", model.state);
        }
        tracing::debug!("tray menu: {}", menu_lines(&model).join(" | "));
        if let Some(icon) = &parts.icon {
            let state_changed = parts.shown.as_ref().map(|m| m.state) != Some(model.state);
            if state_changed {
                match state_icon(model.state) {
                    Ok(i) => {
                        if let Err(e) = icon.set_icon(Some(i)) {
                            tracing::warn!("tray icon not updated: {e}");
                        }
                    }
                    Err(e) => tracing::warn!("{e}"),
                }
            }
            let _ = icon.set_tooltip(Some(&model.tooltip));
            match build_menu(&model) {
                Ok((menu, actions, autostart_item)) => {
                    icon.set_menu(Some(Box::new(menu)));
                    parts.actions = actions;
                    parts.autostart_item = autostart_item;
                }
                Err(e) => tracing::warn!("tray menu not updated: {e}"),
            }
        }
        parts.shown = Some(model);
    });
}

fn status_text(parts: &TrayParts) -> String {
    menu_lines(&parts.status.menu_model()).join("\n")
}

fn menu_lines(model: &MenuModel) -> Vec<String> {
    model
        .lines
        .iter()
        .map(|l| match l {
            Line::Info(t) | Line::Site { text: t, .. } | Line::Unlock { text: t, .. } => t.clone(),
            Line::Separator => String::new(),
        })
        .collect()
}

type BuiltMenu = (Menu, HashMap<MenuId, Action>, Option<CheckMenuItem>);

/// A menu line as muda must be given it: muda turns a lone `&` into GTK's
/// mnemonic underscore (`muda::platform_impl::gtk::mnemonic::to_gtk_mnemonic`),
/// so "R&D budget.pdf" or a token "Sharma & Sons" showed as "RD budget.pdf"
/// and "Sharma  Sons". `&&` is muda's way to show one `&`; it escapes `_`
/// itself.
fn menu_text(text: &str) -> String {
    text.replace('&', "&&")
}

fn build_menu(model: &MenuModel) -> Result<BuiltMenu> {
    let err = |e: tray_icon::menu::Error| Error::internal(format!("tray menu: {e}"));
    let menu = Menu::new();
    let mut actions = HashMap::new();
    let add = |item: &dyn IsMenuItem| menu.append(item).map_err(err);
    for line in &model.lines {
        match line {
            Line::Info(text) => add(&MenuItem::new(menu_text(text), false, None))?,
            Line::Separator => add(&PredefinedMenuItem::separator())?,
            Line::Site { text, origin } => {
                let remove = MenuItem::new("Remove this site (it must ask again)", true, None);
                actions.insert(remove.id().clone(), Action::RemoveSite(origin.clone()));
                let sub = Submenu::with_items(menu_text(text), true, &[&remove]).map_err(err)?;
                add(&sub)?;
            }
            Line::Unlock { text, serial } => {
                let item = MenuItem::new(menu_text(text), true, None);
                actions.insert(item.id().clone(), Action::Unlock(serial.clone()));
                add(&item)?;
            }
        }
    }
    add(&PredefinedMenuItem::separator())?;
    let mut action_item = |text: &str, action: Action| -> Result<()> {
        let item = MenuItem::new(text, true, None);
        actions.insert(item.id().clone(), action);
        menu.append(&item).map_err(err)
    };
    action_item("Check setup (doctor)…", Action::Doctor)?;
    action_item("Open log folder", Action::OpenLogs)?;
    let autostart_item = if crate::autostart::supported() {
        let item = CheckMenuItem::new("Start at login", true, crate::autostart::is_enabled(), None);
        menu.append(&item).map_err(err)?;
        Some(item)
    } else {
        None
    };
    action_item("About Mohor", Action::About)?;
    menu.append(&PredefinedMenuItem::separator()).map_err(err)?;
    action_item("Quit Mohor", Action::Quit)?;
    if let Some(item) = &autostart_item {
        actions.insert(item.id().clone(), Action::Autostart);
    }
    Ok((menu, actions, autostart_item))
}

fn state_icon(state: TrayState) -> Result<Icon> {
    let rgba = style::tray_rgba(state)?;
    Icon::from_rgba(rgba.pixels, rgba.width, rgba.height)
        .map_err(|e| Error::internal(format!("tray icon image: {e}")))
}

fn quit_loop() {
    if gtk::main_level() > 0 {
        gtk::main_quit();
    }
}

fn on_menu_event(event: MenuEvent) {
    let found = with_parts(|p| {
        (
            p.actions.get(&event.id).cloned(),
            p.status.with(|m| m.backend.clone()),
            p.autostart_item.clone(),
        )
    });
    let Some((Some(action), backend, autostart_item)) = found else {
        return;
    };
    tracing::info!("tray menu: {action:?}");
    match action {
        Action::Quit => quit_loop(),
        Action::Autostart => {
            let want = autostart_item.map(|i| i.is_checked()).unwrap_or(false);
            tray_actions::set_autostart(want);
            schedule_refresh();
        }
        Action::OpenLogs => {
            if let Some(b) = backend {
                tray_actions::open_folder(&b.log_dir());
            }
        }
        Action::About => {
            if let Some(b) = backend {
                tray_actions::about(&b.about());
            }
        }
        Action::Doctor => {
            if let Some(b) = backend {
                tray_actions::doctor(b);
            }
        }
        Action::RemoveSite(origin) => {
            if let Some(b) = backend {
                tray_actions::remove_site(b.as_ref(), &origin);
                POKE.poke();
            }
        }
        Action::Unlock(serial) => {
            if let Some(b) = backend {
                tray_actions::unlock(b.as_ref(), &serial);
                POKE.poke();
            }
        }
    }
}

fn no_display(detail: &str) -> Error {
    Error::new(
        Reason::Internal,
        format!("Mohor cannot open its windows: no graphical display is available ({detail})."),
    )
    .with_hint("start with `mohor serve` for a headless agent, or run inside a desktop session")
}

/// Initialise GTK, trying again for a few seconds when a display is named:
/// an agent started at login can run before the display accepts clients, and
/// on a loaded machine a fresh Xvfb once refused the first connection (seen in
/// CI). With no display named at all it fails at once.
fn open_display() -> Result<()> {
    let named = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    let mut wait = std::time::Duration::from_millis(100);
    let mut tries = if named { 6 } else { 1 };
    loop {
        tries -= 1;
        match gtk::init() {
            Ok(()) => return Ok(()),
            Err(e) if tries == 0 => return Err(no_display(&e.to_string())),
            Err(e) => {
                tracing::warn!("cannot open the display yet ({e}); trying again in {wait:?}");
                std::thread::sleep(wait);
                wait *= 2;
            }
        }
    }
}

/// Runs the desktop agent on the calling thread (the main thread): initialises
/// GTK, shows the tray icon and its menu, calls `on_ready` with the dialog
/// prompter on a new background thread (start tokio and the WebSocket server
/// there, and [`TrayStatus::attach`] a backend), and runs the GTK main loop
/// until Quit is chosen or [`TrayStatus::request_quit`] is called. Questions
/// still open then are answered cancel/deny.
///
/// Without a display it returns `Reason::Internal` with a hint to use
/// `mohor serve`. If only the tray icon cannot be created (no tray host in
/// the session), it says so on stderr and carries on: dialogs still work.
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
    open_display()?;
    style::install();

    let model = status.menu_model();
    let icon = match build_tray(&model) {
        Ok((icon, actions, autostart_item)) => Some((icon, actions, autostart_item)),
        Err(e) => {
            tracing::warn!("no tray icon ({e}); dialogs still work");
            None
        }
    };
    let (icon, actions, autostart_item) = match icon {
        Some((i, a, c)) => (Some(i), a, c),
        None => (None, HashMap::new(), None),
    };
    TRAY.with(|tray| {
        *tray.borrow_mut() = Some(TrayParts {
            status: status.clone(),
            icon,
            shown: Some(model),
            actions,
            autostart_item,
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
    // In case the status changed between building the menu and now.
    refresh();

    gtk::main();

    RUNNING.store(false, Ordering::Release);
    // The poller ends after the scan it may be in; it wakes for this.
    POKE.poke();
    close_everything();
    TRAY.with(|tray| tray.borrow_mut().take());
    // The agent (and its token driver) must be free to close before the
    // process ends: the menu's actions are gone, so is their backend.
    status.with(|m| m.backend = None);
    Ok(())
}

fn build_tray(
    model: &MenuModel,
) -> Result<(TrayIcon, HashMap<MenuId, Action>, Option<CheckMenuItem>)> {
    let (menu, actions, autostart_item) = build_menu(model)?;
    let icon = TrayIconBuilder::new()
        .with_id("mohor")
        .with_icon(state_icon(model.state)?)
        .with_tooltip(&model.tooltip)
        .with_menu(Box::new(menu))
        .build()
        .map_err(|e| Error::internal(format!("tray icon: {e}")))?;
    Ok((icon, actions, autostart_item))
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

#[cfg(test)]
mod tests {
    use super::menu_text;

    #[test]
    fn an_ampersand_in_a_menu_line_is_shown_not_taken_as_a_mnemonic() {
        assert_eq!(menu_text("R&D budget_2026.pdf"), "R&&D budget_2026.pdf");
        assert_eq!(
            menu_text("\"Sharma & Sons\" serial 1"),
            "\"Sharma && Sons\" serial 1"
        );
        assert_eq!(menu_text("no ampersand"), "no ampersand");
    }
}
