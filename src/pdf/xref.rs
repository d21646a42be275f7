//! Cross-reference sections: classic tables, xref streams and hybrids, and
//! the `/Prev` chain that links the revisions of an incrementally updated file.

use std::collections::{HashMap, HashSet};

use super::error::PdfError;
use super::filters;
use super::lexer::{is_whitespace, Body, Lexer, ParseError};
use super::object::{Dict, Object};
use super::source::Source;

/// Where an object lives, per the newest section that mentions it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Free,
    InFile { offset: u64, gen: u16 },
    InStream { stream: u32, index: u32 },
}

/// The kind of cross-reference section; Mohor appends one of the same kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XrefKind {
    Table,
    Stream,
}

/// Revisions are bounded so a hostile `/Prev` chain cannot loop for long.
const MAX_SECTIONS: usize = 10_000;
/// Largest object number accepted (ISO 32000 suggests 8,388,607 as a limit).
const MAX_OBJ_NUM: u64 = 8_388_607;
/// Room reserved up front for a subsection's entries (or an object
/// stream's members); a hostile count larger than the data behind it must
/// not allocate for it.
pub(super) const MAX_RESERVE: u64 = 1 << 16;

pub struct Xref {
    pub entries: HashMap<u32, Entry>,
    /// The newest trailer (or xref stream dictionary).
    pub trailer: Dict,
    pub kind: XrefKind,
    /// Offset where the newest section really starts (the value a new
    /// revision's /Prev must carry, even if `startxref` was a little off).
    pub newest_offset: u64,
    /// How many sections the chain has.
    pub sections: usize,
    /// Highest object number any section mentions.
    pub max_num: u32,
    /// Objects that only the /XRefStm half of a hybrid section locates
    /// (they live in object streams that pre-1.5 readers cannot see).
    pub hybrid_compressed: Vec<u32>,
    /// Objects an xref stream gives a type the standard does not define.
    /// Read as null (ISO 32000-1 7.5.8.3); qpdf and poppler instead call
    /// the file damaged and find objects by scanning, so readers disagree
    /// on what such a file holds.
    pub undefined_types: Vec<u32>,
}

struct Section {
    entries: Vec<(u32, Entry)>,
    /// Objects given an undefined entry type (xref streams only).
    undefined_types: Vec<u32>,
    trailer: Dict,
    kind: XrefKind,
    start: u64,
}

/// Find the offset after the last `startxref` keyword.
pub fn find_startxref(src: &mut Source) -> Result<u64, PdfError> {
    let len = src.len();
    for tail in [2048u64, 1 << 16] {
        let from = len.saturating_sub(tail);
        let buf = src.read_at(from, (len - from) as usize)?;
        if let Some(pos) = rfind(&buf, b"startxref") {
            // The number may be the file's last bytes: pad so it is whole.
            let mut rest = buf[pos + b"startxref".len()..].to_vec();
            rest.push(b'\n');
            let off = Lexer::window(&rest, true)
                .read_uint()
                .map_err(|_| PdfError::damaged("the startxref value is unreadable"))?;
            if off >= len {
                return Err(PdfError::damaged(
                    "startxref points past the end of the file",
                ));
            }
            return Ok(off);
        }
        if from == 0 {
            break;
        }
    }
    Err(PdfError::damaged("no startxref at the end of the file"))
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Load the whole chain, newest section first; newer entries win (and,
/// within a section, the first, see [`read_section`]).
pub fn load(src: &mut Source) -> Result<Xref, PdfError> {
    let start = find_startxref(src)?;
    let mut entries: HashMap<u32, Entry> = HashMap::new();
    // Offsets reached through startxref and /Prev: one seen twice is a loop.
    let mut chain = HashSet::new();
    // The xref streams read as a table's /XRefStm, by offset: their
    // dictionaries, should /Prev lead to them too.
    let mut halves: HashMap<u64, Dict> = HashMap::new();
    let mut reads = 0;
    let mut next = Some(start);
    let mut newest: Option<(Dict, XrefKind, u64)> = None;
    let mut sections = 0;
    let mut max_num = 0u32;
    let mut hybrid_nums: HashSet<u32> = HashSet::new();
    let mut undefined_types = Vec::new();

    while let Some(offset) = next {
        if !chain.insert(offset) {
            return Err(PdfError::damaged("the cross-reference chain loops"));
        }
        reads += 1;
        if reads > MAX_SECTIONS {
            return Err(PdfError::damaged("too many cross-reference sections"));
        }
        // A writer may name one xref stream both as a table's /XRefStm and
        // as its /Prev (qpdf, poppler and pyHanko read such files; Mohor
        // refused them as a loop). Its entries are in already, where the
        // first entry wins, so reading them again would change nothing: go
        // on to its own /Prev.
        let mut section = match halves.remove(&offset) {
            Some(trailer) => Section {
                entries: Vec::new(),
                undefined_types: Vec::new(),
                trailer,
                kind: XrefKind::Stream,
                start: offset,
            },
            None => read_section(src, offset)?,
        };
        sections += 1;

        // Hybrid files: the table's trailer points at an xref stream whose
        // entries (objects in object streams) complete this same section.
        if section.kind == XrefKind::Table {
            if let Some(stm_off) = section.trailer.get("XRefStm").and_then(Object::as_int) {
                let stm_off = u64::try_from(stm_off)
                    .map_err(|_| PdfError::damaged("negative /XRefStm offset"))?;
                if !chain.contains(&stm_off) && !halves.contains_key(&stm_off) {
                    reads += 1;
                    let hybrid = read_section(src, stm_off)?;
                    undefined_types.extend(&hybrid.undefined_types);
                    if hybrid.kind != XrefKind::Stream {
                        return Err(PdfError::damaged(
                            "/XRefStm does not point at an xref stream",
                        ));
                    }
                    let mut local: HashMap<u32, Entry> = section.entries.iter().copied().collect();
                    for (num, e) in hybrid.entries {
                        if matches!(e, Entry::InStream { .. }) {
                            hybrid_nums.insert(num);
                        }
                        match local.get(&num) {
                            Some(Entry::InFile { .. }) | Some(Entry::InStream { .. }) => {}
                            _ => {
                                local.insert(num, e);
                            }
                        }
                    }
                    section.entries = local.into_iter().collect();
                    halves.insert(stm_off, hybrid.trailer);
                }
            }
        }

        undefined_types.extend(&section.undefined_types);
        entries.reserve(section.entries.len());
        for (num, e) in &section.entries {
            max_num = max_num.max(*num);
            entries.entry(*num).or_insert(*e);
        }
        // Anything but an offset is damage, not the end of the chain: read
        // as "no older revision", /Prev 448.0 or /Prev 448 0 R hid every
        // object only the older revisions hold (an /AcroForm and its filled
        // fields), and the signed file was written without them.
        next = match section.trailer.get("Prev") {
            None => None,
            Some(Object::Int(p)) if *p >= 0 => Some(*p as u64),
            Some(Object::Int(_)) => return Err(PdfError::damaged("negative /Prev offset")),
            Some(_) => {
                return Err(PdfError::damaged(
                    "a /Prev is not an offset, so the older revisions cannot be read",
                ))
            }
        };
        if newest.is_none() {
            newest = Some((section.trailer, section.kind, section.start));
        }
    }
    let Some((trailer, kind, newest_offset)) = newest else {
        return Err(PdfError::damaged("no cross-reference section"));
    };
    let mut hybrid_compressed: Vec<u32> = hybrid_nums
        .into_iter()
        .filter(|n| matches!(entries.get(n), Some(Entry::InStream { .. })))
        .collect();
    hybrid_compressed.sort_unstable();
    Ok(Xref {
        entries,
        trailer,
        kind,
        newest_offset,
        sections,
        max_num,
        hybrid_compressed,
        undefined_types,
    })
}

/// One section, each object in it once: a table or stream that lists an
/// object twice counts its first entry, as qpdf reads it. Kept here, for
/// every kind of section, so that the hybrid merge and the chain agree.
fn read_section(src: &mut Source, offset: u64) -> Result<Section, PdfError> {
    // Skip whitespace first: some writers point `startxref` at the line
    // break before the keyword.
    let head = src.read_at(offset, 64)?;
    let skip = head.iter().take_while(|&&c| is_whitespace(c)).count();
    let start = offset + skip as u64;
    let head = &head[skip..];
    let mut section = if head.starts_with(b"xref") {
        read_table(src, start)?
    } else if head.first().is_some_and(u8::is_ascii_digit) {
        read_stream_section(src, start)?
    } else {
        return Err(PdfError::damaged(format!(
            "no cross-reference section at offset {offset}"
        )));
    };
    let mut seen = HashSet::with_capacity(section.entries.len());
    section.entries.retain(|(num, _)| seen.insert(*num));
    Ok(section)
}

fn read_table(src: &mut Source, start: u64) -> Result<Section, PdfError> {
    let (entries, trailer) = src.parse_at(start, |buf, complete| {
        let mut lx = Lexer::window(buf, complete);
        if !lx.eat_keyword(b"xref")? {
            return Err(ParseError::Syntax(0, "expected 'xref'"));
        }
        let mut entries = Vec::new();
        loop {
            if lx.eat_keyword(b"trailer")? {
                break;
            }
            let first = lx.read_uint()?;
            let count = lx.read_uint()?;
            if first + count > MAX_OBJ_NUM + 1 {
                return Err(ParseError::Syntax(lx.pos, "object number out of range"));
            }
            entries.reserve(count.min(MAX_RESERVE) as usize);
            for i in 0..count {
                let (off, gen, in_use) = match lx.fixed_xref_entry() {
                    Some(entry) => entry,
                    None => {
                        let off = lx.read_uint()?;
                        let gen = lx.read_uint()?;
                        let in_use = if lx.eat_keyword(b"n")? {
                            true
                        } else if lx.eat_keyword(b"f")? {
                            false
                        } else {
                            return Err(ParseError::Syntax(lx.pos, "bad xref entry"));
                        };
                        (off, gen, in_use)
                    }
                };
                let num = (first + i) as u32;
                let gen = u16::try_from(gen).unwrap_or(u16::MAX);
                // Offset 0 "in use" points at the header: treat as absent.
                let e = if in_use && off > 0 {
                    Entry::InFile { offset: off, gen }
                } else {
                    Entry::Free
                };
                entries.push((num, e));
            }
        }
        let trailer = match lx.parse_object(0)? {
            Object::Dict(d) => d,
            _ => return Err(ParseError::Syntax(lx.pos, "trailer is not a dictionary")),
        };
        Ok((entries, trailer))
    })?;
    Ok(Section {
        entries,
        undefined_types: Vec::new(),
        trailer,
        kind: XrefKind::Table,
        start,
    })
}

fn read_stream_section(src: &mut Source, start: u64) -> Result<Section, PdfError> {
    let (dict, data_start) = src.parse_at(start, |buf, complete| {
        let mut lx = Lexer::window(buf, complete);
        match lx.parse_indirect()? {
            (_, Body::Stream(d, pos)) => Ok((d, pos)),
            _ => Err(ParseError::Syntax(0, "expected an xref stream")),
        }
    })?;
    if !dict.is_type("XRef") {
        return Err(PdfError::damaged(format!(
            "the object at offset {start} is not a cross-reference stream"
        )));
    }
    let raw = read_stream_data(src, &dict, start + data_start as u64, None)?;
    let data = filters::decode(&dict, &raw)?;
    let (entries, undefined_types) = parse_stream_entries(&dict, &data)?;
    Ok(Section {
        entries,
        undefined_types,
        trailer: dict,
        kind: XrefKind::Stream,
        start,
    })
}

/// Raw (still encoded) stream data. `length` is the resolved /Length when
/// the caller could resolve an indirect one; otherwise the data ends at the
/// `endstream` keyword.
pub fn read_stream_data(
    src: &mut Source,
    dict: &Dict,
    data_start: u64,
    length: Option<u64>,
) -> Result<Vec<u8>, PdfError> {
    let declared = length.or_else(|| {
        dict.get("Length")
            .and_then(Object::as_int)
            .and_then(|l| u64::try_from(l).ok())
    });
    if let Some(len) = declared {
        if len <= filters::MAX_DECODED as u64 && data_start + len <= src.len() {
            let data = src.read_at(data_start, len as usize)?;
            let after = src.read_at(data_start + len, 32)?;
            let ws = after.iter().take_while(|&&c| is_whitespace(c)).count();
            if after[ws..].starts_with(b"endstream") {
                return Ok(data);
            }
        }
    }
    // The declared length is missing or wrong: take everything up to
    // `endstream`, scanning a bounded distance.
    let mut buf = Vec::new();
    let mut pos = data_start;
    while buf.len() < filters::MAX_DECODED {
        let chunk = src.read_at(pos, 1 << 16)?;
        if chunk.is_empty() {
            break;
        }
        let keep = buf.len().saturating_sub(16);
        buf.extend_from_slice(&chunk);
        pos += chunk.len() as u64;
        if let Some(i) = find(&buf[keep..], b"endstream") {
            let mut end = keep + i;
            // The EOL before `endstream` is not part of the data.
            if end > 0 && buf[end - 1] == b'\n' {
                end -= 1;
            }
            if end > 0 && buf[end - 1] == b'\r' {
                end -= 1;
            }
            buf.truncate(end);
            return Ok(buf);
        }
    }
    Err(PdfError::damaged("a stream has no end"))
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The entries of an xref stream, and the objects it gives an undefined type.
type StreamEntries = (Vec<(u32, Entry)>, Vec<u32>);

fn parse_stream_entries(dict: &Dict, data: &[u8]) -> Result<StreamEntries, PdfError> {
    let bad = |m: &str| PdfError::damaged(format!("cross-reference stream: {m}"));
    let w: Vec<usize> = dict
        .get("W")
        .and_then(Object::as_array)
        .ok_or_else(|| bad("no /W"))?
        .iter()
        .map(|o| {
            o.as_int()
                .and_then(|v| usize::try_from(v).ok())
                .filter(|&v| v <= 8)
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("invalid /W"))?;
    if w.len() != 3 {
        return Err(bad("/W must have three widths"));
    }
    let row = w[0] + w[1] + w[2];
    if row == 0 {
        return Err(bad("/W widths are all zero"));
    }
    let size = dict.get("Size").and_then(Object::as_int).unwrap_or(0);
    let index: Vec<i64> = match dict.get("Index").and_then(Object::as_array) {
        Some(a) => a
            .iter()
            .map(Object::as_int)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("invalid /Index"))?,
        None => vec![0, size],
    };
    if index.len() & 1 == 1 {
        return Err(bad("/Index has an odd length"));
    }
    let field = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    let mut out = Vec::new();
    let mut undefined = Vec::new();
    let mut pos = 0usize;
    for pair in index.chunks(2) {
        let (first, count) = (pair[0], pair[1]);
        if first < 0 || count < 0 || (first + count) as u64 > MAX_OBJ_NUM + 1 {
            return Err(bad("/Index out of range"));
        }
        for i in 0..count {
            let Some(rec) = data.get(pos..pos + row) else {
                // Fewer rows than /Index announces: keep what is there.
                return Ok((out, undefined));
            };
            pos += row;
            let t = if w[0] == 0 { 1 } else { field(&rec[..w[0]]) };
            let f2 = field(&rec[w[0]..w[0] + w[1]]);
            let f3 = field(&rec[w[0] + w[1]..]);
            let num = (first + i) as u32;
            let e = match t {
                0 => Entry::Free,
                1 if f2 > 0 => Entry::InFile {
                    offset: f2,
                    gen: u16::try_from(f3).unwrap_or(u16::MAX),
                },
                1 => Entry::Free,
                2 => Entry::InStream {
                    stream: u32::try_from(f2)
                        .map_err(|_| bad("object stream number out of range"))?,
                    index: u32::try_from(f3).map_err(|_| bad("index out of range"))?,
                },
                // Any other type is a reference to the null object (ISO
                // 32000-1 7.5.8.3), as a free entry reads. Skipped, it let
                // an older revision's object show through: a later revision
                // could redefine a signed page's content, mark it type 3, and
                // the verifier saw the signed one while poppler and qpdf
                // (which take the entry as damage and scan the file) showed
                // the new one. Read as null, the object is gone, a change.
                _ => {
                    undefined.push(num);
                    Entry::Free
                }
            };
            out.push((num, e));
        }
    }
    Ok((out, undefined))
}
