//! People: everything Mohor asks a person goes through the [`Prompter`] seam.
//!
//! Implementations: a terminal prompter for the CLI, native GTK dialogs for
//! the desktop agent, and (feature `scripted-prompts`) answers read from a
//! JSON-lines file for tests.

pub mod consent_text;
#[cfg(feature = "desktop")]
pub mod desktop;
pub mod display_text;
pub mod prompter;
#[cfg(feature = "scripted-prompts")]
pub mod scripted;
pub mod terminal;
pub mod text_preview;

pub use prompter::*;
