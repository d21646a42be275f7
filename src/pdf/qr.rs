//! A QR code drawn as vector paths in the stamp (no raster image): one
//! filled rectangle per horizontal run of dark modules, on a white square
//! that includes the four-module quiet zone scanners need.

use qrcode::bits::Bits;
use qrcode::{EcLevel, QrCode, Version};

use super::object::format_real;

/// The side of the symbol (without quiet zone) by default: 3 cm, as the
/// BSK order asks.
pub const DEFAULT_SIDE: f64 = 3.0 / 2.54 * 72.0;

/// Modules of light margin on each side.
pub const QUIET: usize = 4;

/// An encoded symbol: `width` x `width` modules, row by row from the top.
pub struct Symbol {
    pub width: usize,
    dark: Vec<bool>,
}

/// Encode `payload` (as UTF-8 bytes). `version` `None` takes the smallest
/// version that holds it at error correction M; `Some(v)` forces version
/// `v` (1 to 40) with the strongest correction that still fits.
pub fn encode(payload: &str, version: Option<u8>) -> Result<Symbol, String> {
    let (bits, ec) = choose(payload, version)?;
    let code = QrCode::with_bits(bits, ec)
        .map_err(|e| format!("the QR payload cannot be encoded: {e:?}"))?;
    Ok(Symbol {
        width: code.width(),
        dark: code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect(),
    })
}

/// Does `payload` fit as [`encode`] would draw it? The same choice of
/// version and correction, without drawing the symbol (placing modules and
/// scoring eight masks takes ~10 ms for a large one): requests are checked
/// as they arrive, on the thread that serves every page.
pub fn check_fits(payload: &str, version: Option<u8>) -> Result<(), String> {
    choose(payload, version).map(|_| ())
}

/// The width in modules of the symbol [`encode`] draws for `payload`
/// (without drawing it).
pub fn width_for(payload: &str, version: Option<u8>) -> Result<usize, String> {
    let (bits, _) = choose(payload, version)?;
    usize::try_from(bits.version().width()).map_err(|e| format!("QR width: {e}"))
}

/// The data bits and correction level [`encode`] uses.
fn choose(payload: &str, version: Option<u8>) -> Result<(Bits, EcLevel), String> {
    match version {
        None => (1..=40)
            .find_map(|v| bits_for(payload, v, EcLevel::M).map(|b| (b, EcLevel::M)))
            .ok_or_else(|| {
                format!(
                    "the QR payload ({} bytes) is too long for a QR code at error correction M \
                 (at most 2331 bytes)",
                    payload.len()
                )
            }),
        Some(v) if (1..=40).contains(&v) => [EcLevel::H, EcLevel::Q, EcLevel::M]
            .into_iter()
            .find_map(|ec| bits_for(payload, i16::from(v), ec).map(|b| (b, ec)))
            .ok_or_else(|| {
                format!(
                    "the QR payload ({} bytes) does not fit QR version {v} at error correction M",
                    payload.len()
                )
            }),
        Some(v) => Err(format!("QR version {v}: expected 1 to 40")),
    }
}

/// ASCII is encoded in the most compact modes; other text as UTF-8 bytes
/// behind the ECI designator for UTF-8 (26), without which readers guess a
/// charset (zbar reads Bengali as Shift JIS). `None` when it does not fit.
fn bits_for(payload: &str, version: i16, ec: EcLevel) -> Option<Bits> {
    let mut bits = Bits::new(Version::Normal(version));
    if payload.is_ascii() {
        bits.push_optimal_data(payload.as_bytes()).ok()?;
    } else {
        bits.push_eci_designator(26).ok()?;
        bits.push_byte_data(payload.as_bytes()).ok()?;
    }
    bits.push_terminator(ec).ok()?;
    Some(bits)
}

impl Symbol {
    /// The side of the symbol plus its quiet zone for a symbol of `side`.
    pub fn outer(&self, side: f64) -> f64 {
        side * (self.width + 2 * QUIET) as f64 / self.width.max(1) as f64
    }

    /// PDF operators drawing the symbol with its lower-left corner of the
    /// quiet zone at (`x`, `y`) and the symbol `side` points wide.
    pub fn draw(&self, x: f64, y: f64, side: f64) -> String {
        let m = side / self.width.max(1) as f64;
        let outer = self.outer(side);
        let r = format_real;
        let mut ops = format!(
            "q 1 1 1 rg {} {} {} {} re f 0 0 0 rg\n",
            r(x),
            r(y),
            r(outer),
            r(outer)
        );
        let x0 = x + QUIET as f64 * m;
        let top = y + outer - QUIET as f64 * m;
        for row in 0..self.width {
            let mut col = 0;
            while col < self.width {
                if !self.is_dark(row, col) {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < self.width && self.is_dark(row, col) {
                    col += 1;
                }
                ops.push_str(&format!(
                    "{} {} {} {} re\n",
                    r(x0 + start as f64 * m),
                    r(top - (row + 1) as f64 * m),
                    r((col - start) as f64 * m),
                    r(m)
                ));
            }
        }
        ops.push_str("f Q\n");
        ops
    }

    fn is_dark(&self, row: usize, col: usize) -> bool {
        self.dark
            .get(row * self.width + col)
            .copied()
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is checked as a request arrives is what is drawn when it is
    /// signed: every payload either fits both ways or neither.
    #[test]
    fn checking_a_payload_agrees_with_encoding_it() {
        let sizes = [1, 100, 2331, 2332, 3000];
        for n in sizes {
            for text in [
                "A".repeat(n),
                "a1;".repeat(n.div_ceil(3)),
                "শ".repeat(n / 3 + 1),
            ] {
                for version in [None, Some(1), Some(40), Some(41)] {
                    assert_eq!(
                        check_fits(&text, version),
                        encode(&text, version).map(|_| ()),
                        "{} bytes, version {version:?}",
                        text.len()
                    );
                }
            }
        }
    }

    #[test]
    fn the_width_without_drawing_is_the_drawn_width() {
        for (payload, version) in [
            ("AMD0152022000001", None),
            ("x".repeat(500).as_str(), None),
            ("AMD0152022000001", Some(40)),
        ] {
            assert_eq!(
                width_for(payload, version),
                encode(payload, version).map(|s| s.width)
            );
        }
    }

    #[test]
    fn smallest_version_at_m() {
        let s = encode("AMD0152022000001", None).unwrap();
        // Version 1 (21 modules) holds 16 digits and letters at M.
        assert_eq!(s.width, 21);
    }

    #[test]
    fn version_40_on_request() {
        let s = encode("AMD0152022000001", Some(40)).unwrap();
        assert_eq!(s.width, 177);
    }

    #[test]
    fn too_long_is_refused() {
        assert!(encode(&"x".repeat(3000), None).is_err());
        assert!(encode(&"x".repeat(200), Some(2)).is_err());
        assert!(encode("x", Some(41)).is_err());
    }

    #[test]
    fn draws_only_rectangles() {
        let s = encode("hello", None).unwrap();
        let ops = s.draw(0.0, 0.0, DEFAULT_SIDE);
        assert!(ops
            .lines()
            .skip(1)
            .all(|l| l.ends_with(" re") || l == "f Q"));
    }
}
