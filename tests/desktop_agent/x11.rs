//! The desktop agent test's view of X: the shared Xvfb helpers.

pub use crate::xvfb::{ocr_screen, start_display, Display, Window, APPEAR};
