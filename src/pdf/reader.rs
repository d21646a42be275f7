//! Lazy access to the objects of an existing PDF.
//!
//! Objects are loaded on demand through the cross-reference table and
//! cached; signing touches a few dozen of them (trailer, catalog, form,
//! the path down the page tree to one page), whatever the file's size.
//! The page tree itself is walked in `pages`.

use std::collections::HashMap;
use std::path::Path;

use super::crypt::Crypt;
use super::error::PdfError;
use super::filters;
use super::lexer::{Body, Lexer, ParseError};
use super::object::{Dict, ObjRef, Object};
use super::source::Source;
use super::xref::{self, Entry, Xref};

/// A loaded indirect object.
#[derive(Clone, Debug)]
pub enum Loaded {
    Object(Object),
    /// A stream: its dictionary and where its data starts in the file.
    Stream(Dict, u64),
}

/// A decoded object stream: object number and offset of each member.
struct ObjStm {
    data: Vec<u8>,
    first: usize,
    members: Vec<(u32, usize)>,
}

/// How many decoded object streams to keep around.
const OBJSTM_CACHE: usize = 4;
/// Bound on following reference chains and tree depths.
pub const MAX_DEPTH: usize = 64;

pub struct Document {
    src: Source,
    pub xref: Xref,
    cache: HashMap<ObjRef, Loaded>,
    objstms: Vec<(u32, std::rc::Rc<ObjStm>)>,
    /// The object streams being decoded, innermost last: a `/Length` is an
    /// indirect object that may itself sit in an object stream.
    objstms_open: Vec<u32>,
    /// The header's version ("1.7"), if the header is readable.
    pub version: Option<String>,
    /// The security handler, once [`Document::unlock`] opened it.
    crypt: Option<Crypt>,
    /// The /Encrypt dictionary's own object: its strings are never encrypted.
    encrypt_ref: Option<ObjRef>,
}

impl Document {
    pub fn open(path: &Path) -> Result<Self, PdfError> {
        Self::from_source(Source::open(path)?)
    }

    /// The document as its first `end` bytes show it (an earlier revision,
    /// read in place without copying it out).
    pub fn open_prefix(path: &Path, end: u64) -> Result<Self, PdfError> {
        Self::from_source(Source::open_prefix(path, end)?)
    }

    fn from_source(mut src: Source) -> Result<Self, PdfError> {
        if src.len() == 0 {
            return Err(PdfError::NotPdf("the file is empty".into()));
        }
        let head = src.read_at(0, 1024)?;
        let version = xref::find(&head, b"%PDF-").map(|i| {
            head[i + 5..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || **c == b'.')
                .map(|&c| c as char)
                .collect::<String>()
        });
        let tail = src.read_at(src.len().saturating_sub(1 << 16), 1 << 16)?;
        if version.is_none() && xref::find(&tail, b"startxref").is_none() {
            return Err(PdfError::NotPdf(
                "it has neither a PDF header nor a cross-reference table".into(),
            ));
        }
        // Validators refuse a file without a readable `%PDF-1.x` header,
        // so a signature on it could never be checked.
        let valid_version = version.as_deref().is_some_and(|v| {
            let mut parts = v.split('.');
            matches!(
                (parts.next(), parts.next()),
                (Some(a), Some(b)) if !a.is_empty() && !b.is_empty()
            )
        });
        if !valid_version {
            return Err(PdfError::damaged("the %PDF- header is missing or invalid"));
        }
        let xref = xref::load(&mut src)?;
        Ok(Document {
            src,
            xref,
            cache: HashMap::new(),
            objstms: Vec::new(),
            objstms_open: Vec::new(),
            version,
            crypt: None,
            encrypt_ref: None,
        })
    }

    /// Open an encrypted document with `password` so its strings and
    /// object streams read decrypted; without one, with the empty user
    /// password, which is how readers open most protected documents
    /// without asking. Nothing to do for a plain document.
    pub fn unlock(&mut self, password: Option<&[u8]>) -> Result<(), PdfError> {
        if !self.is_encrypted() || self.crypt.is_some() {
            return Ok(());
        }
        let encrypt = match self.xref.trailer.get("Encrypt").cloned() {
            Some(Object::Ref(r)) => {
                self.encrypt_ref = Some(r);
                self.get(r)?
            }
            Some(other) => other,
            None => return Err(PdfError::Encrypted),
        };
        let Object::Dict(encrypt) = encrypt else {
            return Err(PdfError::damaged("the /Encrypt entry is not a dictionary"));
        };
        let id0 = match self.xref.trailer.get("ID") {
            Some(Object::Array(a)) => a.first().and_then(Object::as_str).unwrap_or(b"").to_vec(),
            _ => Vec::new(),
        };
        let crypt = match (
            Crypt::open(&encrypt, &id0, password.unwrap_or(b""))?,
            password,
        ) {
            (Some(c), _) => c,
            (None, Some(_)) => return Err(PdfError::WrongPassword),
            (None, None) => return Err(PdfError::Encrypted),
        };
        // Anything read before now holds encrypted strings.
        self.cache.clear();
        self.objstms.clear();
        self.crypt = Some(crypt);
        Ok(())
    }

    /// The opened security handler, for encrypting the new revision.
    pub fn crypt(&self) -> Option<&Crypt> {
        self.crypt.as_ref()
    }

    #[allow(clippy::len_without_is_empty)] // public through `pdf::read` since verification
    pub fn len(&self) -> u64 {
        self.src.len()
    }

    pub fn path(&self) -> &Path {
        self.src.path()
    }

    pub fn into_source(self) -> Source {
        self.src
    }

    pub fn trailer(&self) -> &Dict {
        &self.xref.trailer
    }

    pub fn is_encrypted(&self) -> bool {
        self.xref.trailer.contains("Encrypt")
    }

    /// The reference of the document catalog.
    pub fn root_ref(&self) -> Result<ObjRef, PdfError> {
        self.xref
            .trailer
            .get("Root")
            .and_then(Object::as_ref)
            .ok_or_else(|| PdfError::damaged("the trailer has no /Root"))
    }

    /// Whether the cross-reference data locates `r` (free and missing
    /// objects, or a wrong generation, do not exist).
    pub fn exists(&self, r: ObjRef) -> bool {
        match self.xref.entries.get(&r.num) {
            Some(Entry::InFile { gen, .. }) => *gen == r.gen,
            Some(Entry::InStream { .. }) => r.gen == 0,
            _ => false,
        }
    }

    /// Load an indirect object; free or missing objects are `null` (ISO 32000-1 7.3.10).
    pub fn load(&mut self, r: ObjRef) -> Result<Loaded, PdfError> {
        if let Some(l) = self.cache.get(&r) {
            return Ok(l.clone());
        }
        let loaded = match self.xref.entries.get(&r.num).copied() {
            None | Some(Entry::Free) => Loaded::Object(Object::Null),
            Some(Entry::InFile { offset, gen }) => {
                if gen != r.gen {
                    Loaded::Object(Object::Null)
                } else {
                    let mut l = self.load_in_file(r, offset)?;
                    self.decrypt_loaded(r, &mut l)?;
                    l
                }
            }
            Some(Entry::InStream { stream, index }) => {
                if r.gen != 0 {
                    Loaded::Object(Object::Null)
                } else {
                    Loaded::Object(self.load_in_stream(r.num, stream, index)?)
                }
            }
        };
        self.cache.insert(r, loaded.clone());
        Ok(loaded)
    }

    /// Decrypt the strings of an object read directly from the file
    /// (members of object streams are decrypted with their stream instead).
    fn decrypt_loaded(&self, r: ObjRef, l: &mut Loaded) -> Result<(), PdfError> {
        let Some(c) = &self.crypt else { return Ok(()) };
        if Some(r) == self.encrypt_ref {
            return Ok(());
        }
        match l {
            Loaded::Object(o) => c.decrypt_strings(r, o),
            // Cross-reference streams are never encrypted (7.6.1).
            Loaded::Stream(d, _) if d.is_type("XRef") => Ok(()),
            Loaded::Stream(d, _) => c.decrypt_dict(r, d),
        }
    }

    fn load_in_file(&mut self, r: ObjRef, offset: u64) -> Result<Loaded, PdfError> {
        if offset >= self.src.len() {
            return Err(PdfError::damaged(format!(
                "object {} points past the end of the file",
                r.num
            )));
        }
        let (found, body) = self.src.parse_at(offset, |buf, complete| {
            Lexer::window(buf, complete).parse_indirect()
        })?;
        if found != r {
            return Err(PdfError::damaged(format!(
                "the cross-reference table says object {} is at offset {offset}, but object {} is there",
                r.num, found.num
            )));
        }
        Ok(match body {
            Body::Object(o) => Loaded::Object(o),
            Body::Stream(d, pos) => Loaded::Stream(d, offset + pos as u64),
        })
    }

    fn load_in_stream(&mut self, num: u32, stream: u32, index: u32) -> Result<Object, PdfError> {
        let stm = self.objstm(stream)?;
        let member = stm
            .members
            .get(index as usize)
            .filter(|(n, _)| *n == num)
            .or_else(|| stm.members.iter().find(|(n, _)| *n == num))
            .copied();
        let Some((_, off)) = member else {
            return Err(PdfError::damaged(format!(
                "object {num} is missing from object stream {stream}"
            )));
        };
        let start = stm.first.checked_add(off).filter(|&s| s <= stm.data.len());
        let Some(start) = start else {
            return Err(PdfError::damaged(format!(
                "object stream {stream} has a bad offset for object {num}"
            )));
        };
        let mut buf = stm.data[start..].to_vec();
        buf.push(b' ');
        match Lexer::window(&buf, true).parse_object(0) {
            Ok(o) => Ok(o),
            Err(ParseError::Eof) => Err(PdfError::damaged(format!(
                "object {num} in object stream {stream} is truncated"
            ))),
            Err(ParseError::Syntax(_, m)) => Err(PdfError::damaged(format!(
                "object {num} in object stream {stream}: {m}"
            ))),
        }
    }

    /// A stream's dictionary and decoded data, decrypted unless
    /// `encrypted` is false (metadata left plain by /EncryptMetadata false).
    /// `None` when `r` is not a stream in the file.
    pub fn stream(
        &mut self,
        r: ObjRef,
        encrypted: bool,
    ) -> Result<Option<(Dict, Vec<u8>)>, PdfError> {
        let (dict, data_start) = match self.load(r)? {
            Loaded::Stream(d, s) => (d, s),
            Loaded::Object(_) => return Ok(None),
        };
        let length = match dict.get("Length") {
            Some(Object::Ref(l)) => {
                let l = *l;
                self.get(l)?.as_int().and_then(|v| u64::try_from(v).ok())
            }
            _ => None,
        };
        let mut raw = xref::read_stream_data(&mut self.src, &dict, data_start, length)?;
        if let (Some(c), true) = (&self.crypt, encrypted) {
            raw = c.decrypt_stream(r, &raw)?;
        }
        let data = filters::decode(&dict, &raw)?;
        Ok(Some((dict, data)))
    }

    fn objstm(&mut self, stream: u32) -> Result<std::rc::Rc<ObjStm>, PdfError> {
        if let Some(i) = self.objstms.iter().position(|(n, _)| *n == stream) {
            let hit = self.objstms.remove(i);
            let rc = hit.1.clone();
            self.objstms.push(hit);
            return Ok(rc);
        }
        // A /Length stored in the stream it measures (or in another object
        // stream whose own /Length leads back) would recurse until the
        // stack overflows; a long chain of them would too.
        let bad = |m: &str| PdfError::damaged(format!("object stream {stream}: {m}"));
        if self.objstms_open.contains(&stream) {
            return Err(bad("its /Length is stored inside itself"));
        }
        if self.objstms_open.len() >= MAX_DEPTH {
            return Err(bad(
                "object streams' lengths are stored in each other too deep",
            ));
        }
        self.objstms_open.push(stream);
        let decoded = self.decode_objstm(stream);
        self.objstms_open.pop();
        let rc = std::rc::Rc::new(decoded?);
        if self.objstms.len() >= OBJSTM_CACHE {
            self.objstms.remove(0);
        }
        self.objstms.push((stream, rc.clone()));
        Ok(rc)
    }

    fn decode_objstm(&mut self, stream: u32) -> Result<ObjStm, PdfError> {
        let bad = |m: &str| PdfError::damaged(format!("object stream {stream}: {m}"));
        // Object streams always have generation 0 and are never themselves compressed.
        let (dict, data_start) = match self.xref.entries.get(&stream).copied() {
            Some(Entry::InFile { offset, gen: 0 }) => {
                match self.load_in_file(ObjRef::new(stream, 0), offset)? {
                    Loaded::Stream(d, s) => (d, s),
                    Loaded::Object(_) => return Err(bad("not a stream")),
                }
            }
            _ => return Err(bad("not found")),
        };
        if !dict.is_type("ObjStm") {
            return Err(bad("not an object stream"));
        }
        let length = match dict.get("Length") {
            Some(Object::Ref(r)) => {
                let r = *r;
                self.get(r)?.as_int().and_then(|v| u64::try_from(v).ok())
            }
            _ => None,
        };
        let mut raw = xref::read_stream_data(&mut self.src, &dict, data_start, length)?;
        // Encryption wraps the filtered data: decrypt, then decode (7.6.1).
        if let Some(c) = &self.crypt {
            raw = c.decrypt_stream(ObjRef::new(stream, 0), &raw)?;
        }
        let data = filters::decode(&dict, &raw)?;
        let n = dict
            .get("N")
            .and_then(Object::as_int)
            .ok_or_else(|| bad("no /N"))?;
        let first = dict
            .get("First")
            .and_then(Object::as_int)
            .and_then(|v| usize::try_from(v).ok())
            .filter(|&f| f <= data.len())
            .ok_or_else(|| bad("bad /First"))?;
        // Each member takes two numbers, each followed by a blank but the
        // last: at least 4 header bytes. A larger /N cannot be read; it was
        // reserved for up front all the same (16 bytes a member: 768 MB for a
        // 50 kB file whose header inflates to 48 MB of blanks). What /N may
        // still claim is reserved only as the members are really read.
        let n = usize::try_from(n).map_err(|_| bad("bad /N"))?;
        if n > (first + 1) / 4 {
            return Err(bad("/N counts more objects than its header can list"));
        }
        let mut header = data[..first].to_vec();
        header.push(b' ');
        let mut lx = Lexer::window(&header, true);
        let mut members = Vec::with_capacity(n.min(xref::MAX_RESERVE as usize));
        for _ in 0..n {
            let num = lx.read_uint().map_err(|_| bad("bad header"))?;
            let off = lx.read_uint().map_err(|_| bad("bad header"))?;
            let num = u32::try_from(num).map_err(|_| bad("bad header"))?;
            members.push((num, off as usize));
        }
        Ok(ObjStm {
            data,
            first,
            members,
        })
    }

    /// A non-stream object. A stream where a plain object is expected means
    /// the file is not what signing can work with.
    pub fn get(&mut self, r: ObjRef) -> Result<Object, PdfError> {
        match self.load(r)? {
            Loaded::Object(o) => Ok(o),
            Loaded::Stream(..) => Err(PdfError::damaged(format!(
                "object {} is a stream where a dictionary or value was expected",
                r.num
            ))),
        }
    }

    /// Follow references until a direct value.
    pub fn resolve(&mut self, o: &Object) -> Result<Object, PdfError> {
        let mut cur = o.clone();
        for _ in 0..MAX_DEPTH {
            match cur {
                Object::Ref(r) => cur = self.get(r)?,
                other => return Ok(other),
            }
        }
        Err(PdfError::damaged("a reference chain loops"))
    }

    /// Resolve to a dictionary, or `None` when the value is absent/null.
    pub fn resolve_dict(
        &mut self,
        o: Option<&Object>,
        what: &str,
    ) -> Result<Option<Dict>, PdfError> {
        let Some(o) = o else { return Ok(None) };
        match self.resolve(o)? {
            Object::Dict(d) => Ok(Some(d)),
            Object::Null => Ok(None),
            _ => Err(PdfError::damaged(format!("{what} is not a dictionary"))),
        }
    }

    pub fn catalog(&mut self) -> Result<Dict, PdfError> {
        let r = self.root_ref()?;
        match self.get(r)? {
            Object::Dict(d) => Ok(d),
            _ => Err(PdfError::damaged("the document catalog is missing")),
        }
    }

    /// Raw bytes of the input (for hashing and copying), in chunks.
    pub fn source_mut(&mut self) -> &mut Source {
        &mut self.src
    }
}
