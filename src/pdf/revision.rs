//! The appended revision: new and updated objects, the signature dictionary
//! with its placeholders, and a cross-reference section of the file's kind.
//!
//! Every byte of it is written here, so the positions of `/ByteRange` and
//! `/Contents` are known exactly rather than searched for afterwards.

use super::crypt::Crypt;
use super::object::{write_dict, write_object, Dict, ObjRef, Object};
use super::xref::XrefKind;

/// Room for `0 a b c` with each number up to 20 digits (u64::MAX): far more
/// than a 10 GB file needs, so the placeholder never has to grow.
const BYTE_RANGE_WIDTH: usize = 2 + 3 * 21;

/// The newest trailer's entries a new section must carry forward.
pub struct TrailerInfo {
    pub root: ObjRef,
    pub info: Option<Object>,
    /// The first /ID element (the document's permanent identifier).
    pub id_first: Option<Vec<u8>>,
    /// The new second /ID element (changes with every revision).
    pub id_second: Vec<u8>,
    pub prev: u64,
    pub prev_size: u32,
    /// Other entries of the previous trailer, carried forward as ISO
    /// 32000-1 7.5.6 asks (an update's trailer repeats the previous one).
    pub extra: Vec<(Vec<u8>, Object)>,
}

pub struct RevisionWriter {
    /// Absolute file offset of the first appended byte.
    base: u64,
    buf: Vec<u8>,
    offsets: Vec<(ObjRef, u64)>,
    next_num: u32,
    sig: Option<(usize, usize, usize)>,
    /// The document's security handler: strings and streams of new objects
    /// are encrypted with its key, as every reader of the file expects.
    crypt: Option<Crypt>,
    /// Bytes before `%PDF-`. Object offsets count from the header, as the
    /// file's own cross-reference data does; `/ByteRange` counts from the
    /// first byte of the file, as validators hash it.
    header_offset: u64,
}

/// The finished revision and where its placeholders are (relative to `bytes`).
pub struct Appended {
    pub bytes: Vec<u8>,
    pub contents_at: usize,
    /// Length of the `<...>` hex string including its brackets.
    pub contents_len: usize,
    pub byte_range: [u64; 4],
}

impl RevisionWriter {
    /// `input_len`: size of the file being updated. `newline`: whether the
    /// input lacks a final end-of-line (one is written first so the new
    /// revision starts on its own line). `first_free`: the first object
    /// number no earlier revision uses.
    pub fn new(input_len: u64, newline: bool, first_free: u32) -> Self {
        let mut buf = Vec::with_capacity(16 << 10);
        if newline {
            buf.push(b'\n');
        }
        RevisionWriter {
            base: input_len,
            buf,
            offsets: Vec::new(),
            next_num: first_free,
            sig: None,
            crypt: None,
            header_offset: 0,
        }
    }

    /// The file has `n` bytes before its `%PDF-` header.
    pub fn header_offset(&mut self, n: u64) {
        self.header_offset = n;
    }

    /// Encrypt what is written from now on (an encrypted document's update).
    pub fn encrypt_with(&mut self, crypt: Option<Crypt>) {
        self.crypt = crypt;
    }

    /// Whether this revision already holds a new version of `r`.
    pub fn has(&self, r: ObjRef) -> bool {
        self.offsets.iter().any(|(w, _)| *w == r)
    }

    pub fn alloc(&mut self) -> ObjRef {
        let r = ObjRef::new(self.next_num, 0);
        self.next_num += 1;
        r
    }

    fn begin(&mut self, r: ObjRef) {
        self.offsets.push((r, self.base + self.buf.len() as u64));
        self.buf
            .extend_from_slice(format!("{} {} obj\n", r.num, r.gen).as_bytes());
    }

    pub fn object(&mut self, r: ObjRef, obj: &Object) {
        self.begin(r);
        match &self.crypt {
            Some(c) => write_object(&c.encrypt_strings(r, obj), &mut self.buf),
            None => write_object(obj, &mut self.buf),
        }
        self.buf.extend_from_slice(b"\nendobj\n");
    }

    /// An object written as given, never encrypted: the /Encrypt
    /// dictionary itself (ISO 32000-1 7.6.1).
    pub fn plain_object(&mut self, r: ObjRef, obj: &Object) {
        self.begin(r);
        write_object(obj, &mut self.buf);
        self.buf.extend_from_slice(b"\nendobj\n");
    }

    pub fn stream(&mut self, r: ObjRef, dict: Dict, data: &[u8]) {
        match &self.crypt {
            Some(c) => {
                let (dict, data) = (c.encrypt_dict(r, &dict), c.encrypt_stream(r, data));
                self.raw_stream(r, dict, &data);
            }
            None => self.raw_stream(r, dict, data),
        }
    }

    /// A stream never encrypted: metadata under /EncryptMetadata false.
    pub fn plain_stream(&mut self, r: ObjRef, dict: Dict, data: &[u8]) {
        self.raw_stream(r, dict, data);
    }

    /// A stream written as given: cross-reference streams are never
    /// encrypted (ISO 32000-1 7.6.1).
    fn raw_stream(&mut self, r: ObjRef, dict: Dict, data: &[u8]) {
        self.begin(r);
        let dict = dict.with("Length", Object::Int(data.len() as i64));
        write_dict(&dict, &mut self.buf);
        self.buf.extend_from_slice(b"\nstream\n");
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\nendstream\nendobj\n");
    }

    /// The signature dictionary: `entries` first, then `/ByteRange` and
    /// `/Contents` placeholders sized for `capacity` bytes of CMS.
    pub fn signature(&mut self, r: ObjRef, entries: &Dict, capacity: usize) {
        self.begin(r);
        // /Contents, added below, is the one string never encrypted (7.6.1).
        match &self.crypt {
            Some(c) => write_dict(&c.encrypt_dict(r, entries), &mut self.buf),
            None => write_dict(entries, &mut self.buf),
        }
        // Reopen the dictionary to append the two placeholders.
        self.buf.truncate(self.buf.len() - 2);
        self.buf.extend_from_slice(b"/ByteRange [");
        let br_at = self.buf.len();
        self.buf.extend(std::iter::repeat_n(b' ', BYTE_RANGE_WIDTH));
        self.buf.extend_from_slice(b"]\n/Contents ");
        let contents_at = self.buf.len();
        self.buf.push(b'<');
        self.buf.extend(std::iter::repeat_n(b'0', capacity * 2));
        self.buf.push(b'>');
        let contents_len = self.buf.len() - contents_at;
        self.buf.extend_from_slice(b">>\nendobj\n");
        self.sig = Some((br_at, contents_at, contents_len));
    }

    /// Write the cross-reference section and trailer, then fill in /ByteRange.
    pub fn finish(mut self, kind: XrefKind, t: &TrailerInfo) -> Appended {
        // An xref table cannot hold offsets of 10 GB or more; use a stream then.
        let kind = if self.base + self.buf.len() as u64 >= 9_999_999_999 {
            XrefKind::Stream
        } else {
            kind
        };
        let mut trailer = Dict(t.extra.clone());
        let xref_ref = if kind == XrefKind::Stream {
            Some(self.alloc())
        } else {
            None
        };
        let size = self.next_num.max(t.prev_size);
        trailer.set("Size", Object::Int(i64::from(size)));
        trailer.set("Root", Object::Ref(t.root));
        if let Some(info) = &t.info {
            trailer.set("Info", info.clone());
        }
        let first = t.id_first.clone().unwrap_or_else(|| t.id_second.clone());
        trailer.set(
            "ID",
            Object::Array(vec![Object::Str(first), Object::Str(t.id_second.clone())]),
        );
        trailer.set("Prev", Object::Int(t.prev as i64));

        let xref_offset = self.base + self.buf.len() as u64;
        if let Some(xr) = xref_ref {
            self.offsets.push((xr, xref_offset));
        }
        self.offsets.sort_by_key(|(r, _)| r.num);
        let subsections = subsections(&self.offsets);

        match xref_ref {
            None => {
                self.buf.extend_from_slice(b"xref\n");
                for (first, entries) in &subsections {
                    self.buf
                        .extend_from_slice(format!("{} {}\n", first, entries.len()).as_bytes());
                    for (r, off) in entries {
                        self.buf.extend_from_slice(
                            format!("{:010} {:05} n\r\n", off, r.gen).as_bytes(),
                        );
                    }
                }
                self.buf.extend_from_slice(b"trailer\n");
                write_dict(&trailer, &mut self.buf);
                self.buf.push(b'\n');
            }
            Some(xr) => {
                let max = self.offsets.iter().map(|(_, o)| *o).max().unwrap_or(0);
                let ow = (1..=8).find(|&w| max < 1u64 << (8 * w)).unwrap_or(8);
                let mut data = Vec::new();
                let mut index = Vec::new();
                for (first, entries) in &subsections {
                    index.push(Object::Int(i64::from(*first)));
                    index.push(Object::Int(entries.len() as i64));
                    for (r, off) in entries {
                        data.push(1u8);
                        data.extend_from_slice(&off.to_be_bytes()[8 - ow..]);
                        data.extend_from_slice(&r.gen.to_be_bytes());
                    }
                }
                let mut d = Dict::new()
                    .with("Type", Object::name("XRef"))
                    .with(
                        "W",
                        Object::Array(vec![Object::Int(1), Object::Int(ow as i64), Object::Int(2)]),
                    )
                    .with("Index", Object::Array(index));
                for (k, v) in trailer.0 {
                    d.0.push((k, v));
                }
                // The xref stream's own entry was already counted in `offsets`.
                let offsets_len = self.offsets.len();
                self.raw_stream(xr, d, &data);
                self.offsets.truncate(offsets_len);
            }
        }
        self.buf
            .extend_from_slice(format!("startxref\n{xref_offset}\n%%EOF\n").as_bytes());

        let (br_at, contents_at, contents_len) = self.sig.unwrap_or((0, 0, 0));
        let total = self.header_offset + self.base + self.buf.len() as u64;
        let a = self.header_offset + self.base + contents_at as u64;
        let b = a + contents_len as u64;
        let byte_range = [0, a, b, total - b];
        if contents_len > 0 {
            let text = format!("0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
            self.buf[br_at..br_at + text.len()].copy_from_slice(text.as_bytes());
        }
        Appended {
            bytes: self.buf,
            contents_at,
            contents_len,
            byte_range,
        }
    }
}

/// Group sorted entries into runs of consecutive object numbers.
fn subsections(offsets: &[(ObjRef, u64)]) -> Vec<(u32, Vec<(ObjRef, u64)>)> {
    let mut out: Vec<(u32, Vec<(ObjRef, u64)>)> = Vec::new();
    for &(r, off) in offsets {
        match out.last_mut() {
            Some((first, v)) if *first + v.len() as u32 == r.num => v.push((r, off)),
            _ => out.push((r.num, vec![(r, off)])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trailer() -> TrailerInfo {
        TrailerInfo {
            root: ObjRef::new(1, 0),
            info: None,
            id_first: Some(b"first".to_vec()),
            id_second: b"second".to_vec(),
            prev: 100,
            prev_size: 5,
            extra: Vec::new(),
        }
    }

    #[test]
    fn byte_range_brackets_exactly_the_contents_string() {
        let mut w = RevisionWriter::new(1000, true, 5);
        let s = w.alloc();
        w.signature(s, &Dict::new().with("Type", Object::name("Sig")), 8);
        let a = w.finish(XrefKind::Table, &trailer());
        let [_, len1, start2, len2] = a.byte_range;
        assert_eq!(len1, 1000 + a.contents_at as u64);
        assert_eq!(start2 + len2, 1000 + a.bytes.len() as u64);
        let c = &a.bytes[a.contents_at..a.contents_at + a.contents_len];
        assert_eq!(c.first(), Some(&b'<'));
        assert_eq!(c.last(), Some(&b'>'));
        assert_eq!(c.len(), 18);
        let text = String::from_utf8_lossy(&a.bytes);
        assert!(text.starts_with("\n5 0 obj\n"));
        assert!(text.contains("xref\n5 1\n"));
        assert!(text.contains("/ID [(first) (second)]") || text.contains("/ID [(first)"));
        assert!(text.ends_with("%%EOF\n"));
    }

    #[test]
    fn subsections_split_on_gaps() {
        let o = [
            (ObjRef::new(3, 0), 1),
            (ObjRef::new(4, 0), 2),
            (ObjRef::new(9, 0), 3),
        ];
        let s = subsections(&o);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, 3);
        assert_eq!(s[1].0, 9);
    }
}
