//! Native desktop UI: GTK dialogs behind the Prompter seam, and the tray.
//!
//! The PIN of a DSC token is typed only into these dialogs, never into a web
//! page. GTK owns the thread that calls [`run_desktop`] (the main thread);
//! [`GtkPrompter`] is called from worker threads, posts each question to the
//! GTK loop and blocks until the person answers or the dialog's timeout
//! (default two minutes) answers cancel/deny for them.
//!
//! ```no_run
//! use mohor::ui::desktop::{run_desktop, TrayStatus};
//!
//! let status = TrayStatus::default(); // "Mohor is starting…"
//! let for_server = status.clone();
//! let result = run_desktop(status, move |prompter| {
//!     // Background thread: start tokio and the WebSocket server with `prompter`,
//!     // then report the port in use:
//!     for_server.set_port(21760);
//!     // On a fatal server error: for_server.request_quit();
//!     # let _ = prompter;
//! });
//! if let Err(e) = result {
//!     eprintln!("{e}"); // no display: suggests `mohor serve`
//! }
//! ```

mod dialogs;
mod format;
mod gtk_prompter;
mod notify;
mod style;
mod tray;
mod tray_actions;
mod tray_busy;
pub mod tray_menu;
mod tray_notices;

pub use gtk_prompter::GtkPrompter;
pub use tray::{run_desktop, TrayBackend, TrayStatus, DEFAULT_PORT};

use tray::loop_running;
