//! A stamp font: a TrueType face (DejaVu Sans shipped inside the binary, or
//! a Noto face for an Indian script read from disk, see [`super::scripts`]),
//! embedded into each signed revision as a subset (a CIDFontType2 with
//! Identity-H).
//!
//! The subset keeps every glyph's original index (so the glyph ids the
//! shaper returns are the CIDs, and no CIDToGIDMap stream is needed) and
//! empties the glyphs the stamp does not use; what is left compresses to a
//! few kilobytes instead of the font's hundreds.

use std::collections::{BTreeMap, BTreeSet};

use super::filters::deflate;
use super::object::{Dict, ObjRef, Object};
use super::revision::RevisionWriter;

/// DejaVu Sans (Bitstream Vera licence, freely redistributable; see
/// `assets/fonts/DejaVuSans-LICENSE.txt`). Covers Latin and the rupee sign.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

pub struct Font {
    /// The PostScript-style name used for /BaseFont (without subset tag).
    pub name: &'static str,
    data: &'static [u8],
    /// The same face for the shaper.
    shaper: harfrust::Font,
    tables: BTreeMap<[u8; 4], (usize, usize)>,
    pub units_per_em: u16,
    num_glyphs: u16,
    long_loca: bool,
    num_hmetrics: u16,
    cmap: (usize, u16),
    pub ascent: i16,
    pub descent: i16,
    bbox: [i16; 4],
}

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn i16_at(d: &[u8], at: usize) -> Option<i16> {
    u16_at(d, at).map(|v| v as i16)
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
        *d.get(at + 2)?,
        *d.get(at + 3)?,
    ]))
}

impl Font {
    pub fn dejavu_sans() -> Option<Font> {
        Font::parse("DejaVuSans", DEJAVU_SANS, 0)
    }

    /// A face read from a font file (`index` selects one face of a `.ttc`).
    /// Faces are loaded once per process and kept (see [`super::scripts`]),
    /// so the bytes live as long as the program.
    pub fn from_file_data(name: &'static str, data: &'static [u8], index: u32) -> Option<Font> {
        Font::parse(name, data, index)
    }

    fn parse(name: &'static str, data: &'static [u8], index: u32) -> Option<Font> {
        // A collection starts with `ttcf` and a table of face offsets.
        let base = if data.get(0..4) == Some(b"ttcf") {
            u32_at(data, 12 + 4 * index as usize)? as usize
        } else if index == 0 {
            0
        } else {
            return None;
        };
        let n = u16_at(data, base + 4)? as usize;
        let mut tables = BTreeMap::new();
        for i in 0..n {
            let rec = base + 12 + 16 * i;
            let tag: [u8; 4] = data.get(rec..rec + 4)?.try_into().ok()?;
            let off = u32_at(data, rec + 8)? as usize;
            let len = u32_at(data, rec + 12)? as usize;
            data.get(off..off.checked_add(len)?)?;
            tables.insert(tag, (off, len));
        }
        let head = tables.get(b"head")?.0;
        let hhea = tables.get(b"hhea")?.0;
        let maxp = tables.get(b"maxp")?.0;
        let cmap_off = tables.get(b"cmap")?.0;
        // Prefer the full-Unicode subtable (3,10), else BMP (3,1).
        let mut cmap = None;
        let count = u16_at(data, cmap_off + 2)? as usize;
        for i in 0..count {
            let rec = cmap_off + 4 + 8 * i;
            let (pid, eid) = (u16_at(data, rec)?, u16_at(data, rec + 2)?);
            let sub = cmap_off + u32_at(data, rec + 4)? as usize;
            let format = u16_at(data, sub)?;
            match (pid, eid, format) {
                (3, 10, 12) => cmap = Some((sub, 12)),
                (3, 1, 4) if cmap.is_none() => cmap = Some((sub, 4)),
                _ => {}
            }
        }
        // Only TrueType outlines: the PDF embeds them as FontFile2.
        tables.get(b"glyf")?;
        Some(Font {
            name,
            shaper: harfrust::Font::new(data, index)?,
            data,
            units_per_em: u16_at(data, head + 18)?,
            bbox: [
                i16_at(data, head + 36)?,
                i16_at(data, head + 38)?,
                i16_at(data, head + 40)?,
                i16_at(data, head + 42)?,
            ],
            long_loca: i16_at(data, head + 50)? == 1,
            ascent: i16_at(data, hhea + 4)?,
            descent: i16_at(data, hhea + 6)?,
            num_hmetrics: u16_at(data, hhea + 34)?,
            num_glyphs: u16_at(data, maxp + 4)?,
            cmap: cmap?,
            tables,
        })
    }

    /// The face as the shaper sees it.
    pub fn shaper_face(&self) -> &harfrust::Font {
        &self.shaper
    }

    fn table(&self, tag: &[u8; 4]) -> Option<&'static [u8]> {
        let (off, len) = *self.tables.get(tag)?;
        self.data.get(off..off + len)
    }

    /// The glyph for a character, if the font has one.
    pub fn glyph(&self, c: char) -> Option<u16> {
        let c = c as u32;
        let d = self.data;
        let (sub, format) = self.cmap;
        let gid = match format {
            12 => {
                let groups = u32_at(d, sub + 12)? as usize;
                let (mut lo, mut hi) = (0usize, groups);
                let mut found = None;
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    let g = sub + 16 + 12 * mid;
                    let (start, end) = (u32_at(d, g)?, u32_at(d, g + 4)?);
                    if c < start {
                        hi = mid;
                    } else if c > end {
                        lo = mid + 1;
                    } else {
                        found = Some(u32_at(d, g + 8)? + (c - start));
                        break;
                    }
                }
                u16::try_from(found?).ok()?
            }
            _ => {
                let c = u16::try_from(c).ok()?;
                let segs = (u16_at(d, sub + 6)? / 2) as usize;
                let ends = sub + 14;
                let starts = ends + 2 * segs + 2;
                let deltas = starts + 2 * segs;
                let ranges = deltas + 2 * segs;
                let i = (0..segs).find(|&i| u16_at(d, ends + 2 * i).is_some_and(|e| e >= c))?;
                let start = u16_at(d, starts + 2 * i)?;
                if c < start {
                    return None;
                }
                let delta = u16_at(d, deltas + 2 * i)?;
                let range = u16_at(d, ranges + 2 * i)?;
                if range == 0 {
                    c.wrapping_add(delta)
                } else {
                    let at = ranges + 2 * i + range as usize + 2 * (c - start) as usize;
                    let g = u16_at(d, at)?;
                    if g == 0 {
                        0
                    } else {
                        g.wrapping_add(delta)
                    }
                }
            }
        };
        (gid != 0 && gid < self.num_glyphs).then_some(gid)
    }

    /// Advance width in font units.
    pub fn advance(&self, gid: u16) -> u16 {
        let Some(hmtx) = self.table(b"hmtx") else {
            return 0;
        };
        let i = gid.min(self.num_hmetrics.saturating_sub(1)) as usize;
        u16_at(hmtx, 4 * i).unwrap_or(0)
    }

    /// The advance of `gid` as the PDF's /W array gives it, in em.
    pub fn pdf_width(&self, gid: u16) -> f64 {
        self.scale(i32::from(self.advance(gid))) as f64 / 1000.0
    }

    fn scale(&self, v: i32) -> i64 {
        (i64::from(v) * 1000) / i64::from(self.units_per_em.max(1))
    }

    fn glyph_range(&self, gid: u16) -> Option<(usize, usize)> {
        let loca = self.table(b"loca")?;
        let i = gid as usize;
        let (a, b) = if self.long_loca {
            (
                u32_at(loca, 4 * i)? as usize,
                u32_at(loca, 4 * i + 4)? as usize,
            )
        } else {
            (
                u16_at(loca, 2 * i)? as usize * 2,
                u16_at(loca, 2 * i + 2)? as usize * 2,
            )
        };
        (a <= b).then_some((a, b))
    }

    /// Add the components of composite glyphs, recursively.
    fn closure(&self, gids: &BTreeSet<u16>) -> BTreeSet<u16> {
        let mut out: BTreeSet<u16> = gids.clone();
        out.insert(0);
        let mut todo: Vec<u16> = out.iter().copied().collect();
        let Some(glyf) = self.table(b"glyf") else {
            return out;
        };
        while let Some(g) = todo.pop() {
            let Some((a, b)) = self.glyph_range(g) else {
                continue;
            };
            let Some(gl) = glyf.get(a..b) else { continue };
            if gl.len() < 10 || i16_at(gl, 0).is_none_or(|n| n >= 0) {
                continue;
            }
            let mut p = 10;
            while let (Some(flags), Some(comp)) = (u16_at(gl, p), u16_at(gl, p + 2)) {
                if comp < self.num_glyphs && out.insert(comp) {
                    todo.push(comp);
                }
                p += 4 + if flags & 1 != 0 { 4 } else { 2 };
                p += if flags & 8 != 0 {
                    2
                } else if flags & 0x40 != 0 {
                    4
                } else if flags & 0x80 != 0 {
                    8
                } else {
                    0
                };
                if flags & 0x20 == 0 {
                    break;
                }
            }
        }
        out
    }

    /// A TrueType file with only `gids` (plus what they need) kept.
    pub fn subset(&self, gids: &BTreeSet<u16>) -> Vec<u8> {
        let keep = self.closure(gids);
        let glyf = self.table(b"glyf").unwrap_or(&[]);
        let mut new_glyf = Vec::new();
        let mut loca = Vec::with_capacity(4 * (self.num_glyphs as usize + 1));
        for g in 0..self.num_glyphs {
            loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
            if keep.contains(&g) {
                if let Some(gl) = self.glyph_range(g).and_then(|(a, b)| glyf.get(a..b)) {
                    new_glyf.extend_from_slice(gl);
                    while new_glyf.len() % 4 != 0 {
                        new_glyf.push(0);
                    }
                }
            }
        }
        loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());

        let mut head = self.table(b"head").unwrap_or(&[]).to_vec();
        if head.len() >= 54 {
            head[8..12].copy_from_slice(&[0; 4]);
            head[50..52].copy_from_slice(&1i16.to_be_bytes());
        }
        let mut tables: Vec<([u8; 4], Vec<u8>)> =
            vec![(*b"glyf", new_glyf), (*b"head", head), (*b"loca", loca)];
        // Metrics of glyphs not kept are zeroed: the PDF's /W array carries
        // the widths that matter, and zeros compress to almost nothing.
        let mut hmtx = self.table(b"hmtx").unwrap_or(&[]).to_vec();
        let long = self.num_hmetrics as usize;
        for g in 0..self.num_glyphs as usize {
            if keep.contains(&(g as u16)) {
                continue;
            }
            let (at, len) = if g < long {
                (4 * g, 4)
            } else {
                (4 * long + 2 * (g - long), 2)
            };
            if let Some(slot) = hmtx.get_mut(at..at + len) {
                slot.fill(0);
            }
        }
        tables.push((*b"hmtx", hmtx));
        for tag in [b"cvt ", b"fpgm", b"hhea", b"maxp", b"prep"] {
            if let Some(t) = self.table(tag) {
                tables.push((*tag, t.to_vec()));
            }
        }
        tables.sort_by_key(|(t, _)| *t);
        write_sfnt(&tables)
    }

    /// Write the font objects for the glyphs used and return the Type0
    /// font's reference (for a /Font resource dictionary).
    ///
    /// `used` maps each glyph to the text it stands for in the ToUnicode
    /// CMap; glyphs with no text of their own (parts of a cluster, whose
    /// text the content stream gives as /ActualText) map to nothing.
    pub fn embed(&self, w: &mut RevisionWriter, used: &BTreeMap<u16, Option<String>>) -> ObjRef {
        let gids: BTreeSet<u16> = used.keys().copied().collect();
        // A subset tag derived from the glyphs used, as ISO 32000 asks (9.6.4).
        let mut tag = String::new();
        let mut h: u32 = 2_166_136_261;
        for g in &gids {
            h = (h ^ u32::from(*g)).wrapping_mul(16_777_619);
        }
        for _ in 0..6 {
            tag.push((b'A' + (h % 26) as u8) as char);
            h /= 26;
        }
        let base = format!("{tag}+{}", self.name);

        let file_ref = w.alloc();
        let ttf = self.subset(&gids);
        w.stream(
            file_ref,
            Dict::new()
                .with("Filter", Object::name("FlateDecode"))
                .with("Length1", Object::Int(ttf.len() as i64)),
            &deflate(&ttf),
        );

        let desc_ref = w.alloc();
        let bbox = self.bbox.map(|v| Object::Int(self.scale(i32::from(v))));
        w.object(
            desc_ref,
            &Object::Dict(
                Dict::new()
                    .with("Type", Object::name("FontDescriptor"))
                    .with("FontName", Object::Name(base.as_bytes().to_vec()))
                    .with("Flags", Object::Int(32))
                    .with("FontBBox", Object::Array(bbox.to_vec()))
                    .with("ItalicAngle", Object::Int(0))
                    .with("Ascent", Object::Int(self.scale(i32::from(self.ascent))))
                    .with("Descent", Object::Int(self.scale(i32::from(self.descent))))
                    .with(
                        "CapHeight",
                        Object::Int(self.scale(i32::from(self.ascent)) * 7 / 10),
                    )
                    .with("StemV", Object::Int(80))
                    .with("FontFile2", Object::Ref(file_ref)),
            ),
        );

        let mut widths = Vec::new();
        for g in &gids {
            widths.push(Object::Int(i64::from(*g)));
            widths.push(Object::Array(vec![Object::Int(
                self.scale(i32::from(self.advance(*g))),
            )]));
        }
        let cid_ref = w.alloc();
        w.object(
            cid_ref,
            &Object::Dict(
                Dict::new()
                    .with("Type", Object::name("Font"))
                    .with("Subtype", Object::name("CIDFontType2"))
                    .with("BaseFont", Object::Name(base.as_bytes().to_vec()))
                    .with(
                        "CIDSystemInfo",
                        Object::Dict(
                            Dict::new()
                                .with("Registry", Object::Str(b"Adobe".to_vec()))
                                .with("Ordering", Object::Str(b"Identity".to_vec()))
                                .with("Supplement", Object::Int(0)),
                        ),
                    )
                    .with("FontDescriptor", Object::Ref(desc_ref))
                    .with("DW", Object::Int(1000))
                    .with("W", Object::Array(widths))
                    .with("CIDToGIDMap", Object::name("Identity")),
            ),
        );

        let tu_ref = w.alloc();
        w.stream(
            tu_ref,
            Dict::new().with("Filter", Object::name("FlateDecode")),
            &deflate(&to_unicode(used)),
        );

        let font_ref = w.alloc();
        w.object(
            font_ref,
            &Object::Dict(
                Dict::new()
                    .with("Type", Object::name("Font"))
                    .with("Subtype", Object::name("Type0"))
                    .with("BaseFont", Object::Name(base.as_bytes().to_vec()))
                    .with("Encoding", Object::name("Identity-H"))
                    .with("DescendantFonts", Object::Array(vec![Object::Ref(cid_ref)]))
                    .with("ToUnicode", Object::Ref(tu_ref)),
            ),
        );
        font_ref
    }
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |acc, c| {
        let mut b = [0u8; 4];
        b[..c.len()].copy_from_slice(c);
        acc.wrapping_add(u32::from_be_bytes(b))
    })
}

fn write_sfnt(tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let n = tables.len() as u16;
    let mut pow = 1u16;
    let mut log = 0u16;
    while pow * 2 <= n {
        pow *= 2;
        log += 1;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&(pow * 16).to_be_bytes());
    out.extend_from_slice(&log.to_be_bytes());
    out.extend_from_slice(&(n * 16 - pow * 16).to_be_bytes());
    let mut offset = 12 + 16 * tables.len();
    for (tag, data) in tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in tables {
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

/// A ToUnicode CMap so that text copied out of the stamp is the real text.
fn to_unicode(used: &BTreeMap<u16, Option<String>>) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &String)> = used
        .iter()
        .filter_map(|(g, t)| t.as_ref().filter(|t| !t.is_empty()).map(|t| (g, t)))
        .collect();
    for chunk in entries.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (g, c) in chunk {
            let hex: String = c.encode_utf16().map(|u| format!("{u:04X}")).collect();
            s.push_str(&format!("<{g:04X}> <{hex}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_latin_and_rupee() {
        let f = Font::dejavu_sans().unwrap();
        assert!(f.glyph('A').is_some());
        assert!(f.glyph('₹').is_some());
        assert!(f.pdf_width(f.glyph('H').unwrap()) > 0.5);
    }

    #[test]
    fn subset_is_small() {
        let f = Font::dejavu_sans().unwrap();
        let gids: BTreeSet<u16> = "Digitally signed ₹"
            .chars()
            .filter_map(|c| f.glyph(c))
            .collect();
        let sub = f.subset(&gids);
        assert!(deflate(&sub).len() < 8_000, "{}", deflate(&sub).len());
        // The subset parses as a font and keeps glyph indices.
        let leaked: &'static [u8] = Box::leak(sub.into_boxed_slice());
        assert!(u16_at(leaked, 4).is_some_and(|n| n >= 6));
        assert!(
            Font::parse("Sub", leaked, 0).is_none(),
            "the subset drops cmap"
        );
    }
}
