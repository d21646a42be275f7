//! The seal icon and the few CSS classes the dialogs use.

use gtk::gdk_pixbuf::{Colorspace, InterpType, Pixbuf};
use gtk::glib;
use gtk::prelude::*;

use crate::{Error, Result};

/// Mohor's seal, 64×64 RGBA, drawn by `assets/icons/make-icons.sh`.
const SEAL_PNG: &[u8] = include_bytes!("../../../assets/icons/seal-64.png");

/// The tray icons per state, 64×64, drawn by `assets/icons/make-icons.sh`.
const TRAY_READY: &[u8] = include_bytes!("../../../assets/icons/tray/mohor-ready-64.png");
const TRAY_NO_TOKEN: &[u8] = include_bytes!("../../../assets/icons/tray/mohor-notoken-64.png");
const TRAY_STARTING: &[u8] = include_bytes!("../../../assets/icons/tray/mohor-starting-64.png");
const TRAY_SIGNING: &[u8] = include_bytes!("../../../assets/icons/tray/mohor-signing-64.png");
const TRAY_ATTENTION: &[u8] = include_bytes!("../../../assets/icons/tray/mohor-attention-64.png");

/// The tray icon for `state`, decoded.
pub fn tray_rgba(state: super::tray_menu::TrayState) -> Result<Rgba> {
    use super::tray_menu::TrayState;
    decode_rgba(match state {
        TrayState::Ready => TRAY_READY,
        TrayState::NoToken => TRAY_NO_TOKEN,
        TrayState::Starting => TRAY_STARTING,
        TrayState::Signing => TRAY_SIGNING,
        TrayState::Attention => TRAY_ATTENTION,
    })
}

/// A decoded RGBA image.
pub struct Rgba {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Decodes the embedded seal into straight RGBA bytes.
pub fn seal_rgba() -> Result<Rgba> {
    decode_rgba(SEAL_PNG)
}

fn decode_rgba(png_bytes: &[u8]) -> Result<Rgba> {
    let bad = |what: &str| Error::internal(format!("the built-in seal icon is unusable: {what}"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| bad(&e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad("image too large"))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(&e.to_string()))?;
    buf.truncate(info.buffer_size());
    let pixels = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => return Err(bad(&format!("unexpected colour type {other:?}"))),
    };
    Ok(Rgba {
        width: info.width,
        height: info.height,
        pixels,
    })
}

/// The seal as a GdkPixbuf at `size`×`size` pixels (GTK thread only).
pub fn seal_pixbuf(size: i32) -> Option<Pixbuf> {
    let rgba = seal_rgba().ok()?;
    let width = i32::try_from(rgba.width).ok()?;
    let height = i32::try_from(rgba.height).ok()?;
    let bytes = glib::Bytes::from_owned(rgba.pixels);
    let full = Pixbuf::from_bytes(&bytes, Colorspace::Rgb, true, 8, width, height, width * 4);
    if size == width && size == height {
        Some(full)
    } else {
        full.scale_simple(size, size, InterpType::Bilinear)
    }
}

const CSS: &str = r#"
.mohor-heading { font-size: 15pt; font-weight: bold; }
.mohor-heading-red { font-size: 15pt; font-weight: bold; color: #a51d2d; }
.mohor-card {
    background-color: #f6f5f4;
    border: 1px solid #c0bfbc;
    border-radius: 6px;
    padding: 10px 12px;
}
.mohor-refused { color: #a51d2d; }
.mohor-amber {
    background-color: #fff4d4;
    border: 1px solid #c88800;
    border-radius: 6px;
    padding: 10px 12px;
    color: #4a3500;
}
.mohor-red {
    background-color: #fde6e6;
    border: 2px solid #c01c28;
    border-radius: 6px;
    padding: 10px 12px;
    color: #6b0b12;
}
.mohor-mono { font-family: "DejaVu Sans Mono", monospace; }
.mohor-dim { color: #5e5c64; font-size: 9pt; }
.mohor-pin { font-size: 14pt; }
"#;

/// Installs the CSS for the whole screen and the default window icon.
/// Called once on the GTK thread after `gtk::init`.
pub fn install() {
    let provider = gtk::CssProvider::new();
    if let Err(e) = provider.load_from_data(CSS.as_bytes()) {
        tracing::warn!("dialog styles not loaded: {e}");
        return;
    }
    if let Some(screen) = gtk::gdk::Screen::default() {
        gtk::StyleContext::add_provider_for_screen(
            &screen,
            &provider,
            gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
        );
    }
    if let Some(icon) = seal_pixbuf(64) {
        gtk::Window::set_default_icon(&icon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_seal_decodes_to_rgba() -> Result<()> {
        let seal = seal_rgba()?;
        assert_eq!((seal.width, seal.height), (64, 64));
        assert_eq!(seal.pixels.len(), 64 * 64 * 4);
        // Transparent corner, opaque centre.
        assert_eq!(seal.pixels[3], 0);
        let centre = (32 * 64 + 32) * 4;
        assert_eq!(seal.pixels[centre + 3], 255);
        Ok(())
    }

    #[test]
    fn every_tray_state_has_its_own_icon() -> Result<()> {
        use super::super::tray_menu::TrayState;
        let states = [
            TrayState::Ready,
            TrayState::NoToken,
            TrayState::Starting,
            TrayState::Signing,
            TrayState::Attention,
        ];
        let mut seen = Vec::new();
        for s in states {
            let icon = tray_rgba(s)?;
            assert_eq!((icon.width, icon.height), (64, 64));
            assert!(
                !seen.contains(&icon.pixels),
                "{s:?} looks like another state"
            );
            seen.push(icon.pixels);
        }
        Ok(())
    }
}
