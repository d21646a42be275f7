//! Stream decoding for the streams signing must read: object streams and
//! cross-reference streams (Flate, optionally with a PNG predictor).

use std::io::Read;

use super::error::PdfError;
use super::object::{Dict, Object};

/// Upper bound on a decoded object or xref stream. Keeps a hostile "zip
/// bomb" stream from exhausting memory; real ones are far smaller.
pub const MAX_DECODED: usize = 48 << 20;

/// Decode `data` according to the stream dictionary's /Filter and /DecodeParms.
pub fn decode(dict: &Dict, data: &[u8]) -> Result<Vec<u8>, PdfError> {
    let filters: Vec<&[u8]> = match dict.get("Filter") {
        None => Vec::new(),
        Some(Object::Name(n)) => vec![n.as_slice()],
        Some(Object::Array(a)) => a.iter().filter_map(Object::as_name).collect(),
        Some(_) => return Err(PdfError::damaged("a stream has an invalid /Filter")),
    };
    let parms: Vec<Option<&Dict>> = match dict.get("DecodeParms") {
        Some(Object::Dict(d)) => vec![Some(d)],
        Some(Object::Array(a)) => a.iter().map(Object::as_dict).collect(),
        _ => Vec::new(),
    };
    let mut cur = data.to_vec();
    for (i, f) in filters.iter().enumerate() {
        cur = match *f {
            b"FlateDecode" | b"Fl" => inflate(&cur)?,
            other => {
                return Err(PdfError::damaged(format!(
                    "an object stream uses the unsupported filter /{}",
                    String::from_utf8_lossy(other)
                )))
            }
        };
        if let Some(Some(p)) = parms.get(i) {
            cur = unpredict(p, cur)?;
        }
    }
    Ok(cur)
}

fn inflate(data: &[u8]) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    let mut dec = flate2::read::ZlibDecoder::new(data).take(MAX_DECODED as u64 + 1);
    match dec.read_to_end(&mut out) {
        Ok(_) => {}
        // A truncated or slightly corrupt deflate stream often still yields
        // everything up to the damage; keep that and let the parser judge.
        Err(_) if !out.is_empty() => {}
        Err(e) => {
            return Err(PdfError::damaged(format!(
                "a compressed stream cannot be decoded: {e}"
            )))
        }
    }
    if out.len() > MAX_DECODED {
        return Err(PdfError::damaged(
            "a compressed stream is implausibly large",
        ));
    }
    Ok(out)
}

fn parm(p: &Dict, key: &str, default: i64) -> i64 {
    p.get(key).and_then(Object::as_int).unwrap_or(default)
}

fn unpredict(p: &Dict, data: Vec<u8>) -> Result<Vec<u8>, PdfError> {
    let predictor = parm(p, "Predictor", 1);
    if predictor == 1 {
        return Ok(data);
    }
    let colors = parm(p, "Colors", 1);
    let bpc = parm(p, "BitsPerComponent", 8);
    let columns = parm(p, "Columns", 1);
    if !(1..=32).contains(&colors)
        || ![1, 2, 4, 8, 16].contains(&bpc)
        || !(1..=1 << 20).contains(&columns)
    {
        return Err(PdfError::damaged("invalid predictor parameters"));
    }
    let bpp = ((colors * bpc + 7) / 8) as usize;
    let row_len = ((colors * bpc * columns + 7) / 8) as usize;
    if predictor < 10 {
        return Err(PdfError::damaged(
            "TIFF predictors are not supported in object streams",
        ));
    }
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row_len];
    let mut row = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        if chunk.len() < row_len + 1 {
            // A short final row is padding left by some writers.
            break;
        }
        let kind = chunk[0];
        row.copy_from_slice(&chunk[1..]);
        for i in 0..row_len {
            let left = if i >= bpp { row[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            row[i] = match kind {
                0 => row[i],
                1 => row[i].wrapping_add(left),
                2 => row[i].wrapping_add(up),
                3 => row[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => row[i].wrapping_add(paeth(left, up, up_left)),
                _ => return Err(PdfError::damaged("invalid PNG predictor row")),
            };
        }
        out.extend_from_slice(&row);
        std::mem::swap(&mut prev, &mut row);
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let pa = (p - i16::from(a)).abs();
    let pb = (p - i16::from(b)).abs();
    let pc = (p - i16::from(c)).abs();
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Compress with zlib (for streams Mohor writes).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flate_with_png_up_predictor_round_trips() {
        // Two rows of 3 columns, "Up" predictor.
        let raw = [2u8, 1, 2, 3, 2, 1, 1, 1];
        let dict = Dict::new()
            .with("Filter", Object::name("FlateDecode"))
            .with(
                "DecodeParms",
                Object::Dict(
                    Dict::new()
                        .with("Predictor", Object::Int(12))
                        .with("Columns", Object::Int(3)),
                ),
            );
        let out = decode(&dict, &deflate(&raw)).unwrap();
        assert_eq!(out, vec![1, 2, 3, 2, 3, 4]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let dict = Dict::new().with("Filter", Object::name("FlateDecode"));
        assert!(decode(&dict, b"not zlib at all").is_err());
    }
}
