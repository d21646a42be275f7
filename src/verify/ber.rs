//! A small BER reader for CMS as found in the wild.
//!
//! Indian portals (MCA filings in particular) write CMS with indefinite
//! lengths and constructed OCTET STRINGs, which DER-only parsers refuse. This
//! reader accepts BER, keeps the original bytes of every element (a
//! certificate's signature covers its original encoding), and can re-encode
//! an element in definite form (the signed attributes are signed as DER).
//! Hostile input meets bounds on depth and element count and typed errors.

use std::fmt;

/// Deeper nesting than any CMS structure needs; stops stack exhaustion.
const MAX_DEPTH: usize = 48;
/// More elements than any real signature holds (certificates included).
const MAX_ELEMENTS: usize = 500_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BerError(pub String);

impl fmt::Display for BerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed ASN.1: {}", self.0)
    }
}

impl std::error::Error for BerError {}

fn err<T>(m: impl Into<String>) -> Result<T, BerError> {
    Err(BerError(m.into()))
}

/// Tag classes as they appear in the identifier octet's top two bits.
pub const UNIVERSAL: u8 = 0;
pub const CONTEXT: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub class: u8,
    pub constructed: bool,
    pub number: u32,
}

impl Tag {
    pub const fn universal(number: u32) -> Tag {
        Tag {
            class: UNIVERSAL,
            constructed: false,
            number,
        }
    }
    pub fn is(&self, class: u8, number: u32) -> bool {
        self.class == class && self.number == number
    }
}

pub const INTEGER: u32 = 2;
pub const BIT_STRING: u32 = 3;
pub const OCTET_STRING: u32 = 4;
pub const OID: u32 = 6;
pub const SEQUENCE: u32 = 16;
pub const SET: u32 = 17;
pub const UTC_TIME: u32 = 23;
pub const GENERALIZED_TIME: u32 = 24;

/// One element: its tag, its content, and the bytes it was read from.
#[derive(Debug, Clone)]
pub struct Tlv<'a> {
    pub tag: Tag,
    pub content: Content<'a>,
    /// The element's complete original encoding (header, content, and the
    /// end-of-contents octets of an indefinite length).
    pub raw: &'a [u8],
}

#[derive(Debug, Clone)]
pub enum Content<'a> {
    Primitive(&'a [u8]),
    Constructed(Vec<Tlv<'a>>),
}

/// Parse exactly one element filling `input` (trailing zero padding, as in a
/// PDF's /Contents, is allowed).
pub fn parse(input: &[u8]) -> Result<Tlv<'_>, BerError> {
    let mut count = 0usize;
    let (tlv, used) = parse_one(input, 0, &mut count)?;
    if input[used..].iter().any(|&b| b != 0) {
        return err("data follows the outermost element");
    }
    Ok(tlv)
}

fn parse_one<'a>(
    input: &'a [u8],
    depth: usize,
    count: &mut usize,
) -> Result<(Tlv<'a>, usize), BerError> {
    if depth > MAX_DEPTH {
        return err("nested too deeply");
    }
    *count += 1;
    if *count > MAX_ELEMENTS {
        return err("too many elements");
    }
    let (tag, mut pos) = read_tag(input)?;
    let first = *input
        .get(pos)
        .ok_or_else(|| BerError("truncated length".into()))?;
    pos += 1;
    if first == 0x80 {
        // Indefinite length: children until the end-of-contents octets.
        if !tag.constructed {
            return err("indefinite length on a primitive element");
        }
        let mut children = Vec::new();
        loop {
            let rest = &input[pos..];
            if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
                pos += 2;
                break;
            }
            if rest.is_empty() {
                return err("missing end-of-contents");
            }
            let (child, used) = parse_one(rest, depth + 1, count)?;
            children.push(child);
            pos += used;
        }
        return Ok((
            Tlv {
                tag,
                content: Content::Constructed(children),
                raw: &input[..pos],
            },
            pos,
        ));
    }
    let len = if first & 0x80 == 0 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n > 4 {
            return err("length too large");
        }
        let bytes = input
            .get(pos..pos + n)
            .ok_or_else(|| BerError("truncated length".into()))?;
        pos += n;
        bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize)
    };
    let end = pos
        .checked_add(len)
        .filter(|&e| e <= input.len())
        .ok_or_else(|| BerError("element runs past the end of its container".into()))?;
    let body = &input[pos..end];
    let content = if tag.constructed {
        let mut children = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let (child, used) = parse_one(&body[at..], depth + 1, count)?;
            children.push(child);
            at += used;
        }
        Content::Constructed(children)
    } else {
        Content::Primitive(body)
    };
    Ok((
        Tlv {
            tag,
            content,
            raw: &input[..end],
        },
        end,
    ))
}

fn read_tag(input: &[u8]) -> Result<(Tag, usize), BerError> {
    let b = *input
        .first()
        .ok_or_else(|| BerError("truncated tag".into()))?;
    let class = b >> 6;
    let constructed = b & 0x20 != 0;
    let mut number = (b & 0x1f) as u32;
    let mut pos = 1;
    if number == 0x1f {
        number = 0;
        loop {
            let c = *input
                .get(pos)
                .ok_or_else(|| BerError("truncated tag".into()))?;
            pos += 1;
            if number > (u32::MAX >> 7) {
                return err("tag number too large");
            }
            number = (number << 7) | (c & 0x7f) as u32;
            if c & 0x80 == 0 {
                break;
            }
        }
    }
    Ok((
        Tag {
            class,
            constructed,
            number,
        },
        pos,
    ))
}

impl<'a> Tlv<'a> {
    pub fn children(&self) -> &[Tlv<'a>] {
        match &self.content {
            Content::Constructed(c) => c,
            Content::Primitive(_) => &[],
        }
    }

    /// The `i`th child, or an error naming `what` was expected there.
    pub fn child(&self, i: usize, what: &str) -> Result<&Tlv<'a>, BerError> {
        self.children()
            .get(i)
            .ok_or_else(|| BerError(format!("{what} is missing")))
    }

    /// A primitive element's content octets.
    pub fn bytes(&self, what: &str) -> Result<&'a [u8], BerError> {
        match self.content {
            Content::Primitive(b) => Ok(b),
            Content::Constructed(_) => err(format!("{what} is not a primitive value")),
        }
    }

    /// A string's octets, joining the segments of a constructed (BER) string.
    pub fn octets(&self) -> Vec<u8> {
        match &self.content {
            Content::Primitive(b) => b.to_vec(),
            Content::Constructed(c) => c.iter().flat_map(|t| t.octets()).collect(),
        }
    }

    pub fn expect(&self, class: u8, number: u32, what: &str) -> Result<&Self, BerError> {
        if self.tag.is(class, number) {
            Ok(self)
        } else {
            err(format!("{what} has an unexpected tag"))
        }
    }

    /// The dotted form of an OBJECT IDENTIFIER.
    pub fn oid(&self) -> Result<String, BerError> {
        if !self.tag.is(UNIVERSAL, OID) {
            return err("expected an object identifier");
        }
        oid_string(self.bytes("object identifier")?)
    }

    /// The element in definite-length encoding, with `tag` replaced when
    /// given. Strings keep their segments joined as one primitive value.
    pub fn to_der_with(&self, tag: Option<Tag>) -> Vec<u8> {
        let tag = tag.unwrap_or(self.tag);
        let mut body = Vec::new();
        let constructed = match &self.content {
            Content::Primitive(b) => {
                body.extend_from_slice(b);
                false
            }
            Content::Constructed(children) if is_string_type(&self.tag) => {
                body = self.octets();
                let _ = children;
                false
            }
            Content::Constructed(children) => {
                for c in children {
                    body.extend(c.to_der_with(None));
                }
                true
            }
        };
        let mut out = Vec::with_capacity(body.len() + 8);
        write_tag(Tag { constructed, ..tag }, &mut out);
        write_len(body.len(), &mut out);
        out.extend(body);
        out
    }

    pub fn to_der(&self) -> Vec<u8> {
        self.to_der_with(None)
    }

    /// The element as its original bytes, unless it uses indefinite lengths
    /// somewhere (then re-encoded with definite ones): what can be embedded
    /// in a DER structure, with any signed part unchanged.
    pub fn definite(&self) -> Vec<u8> {
        if self.has_indefinite() {
            self.to_der()
        } else {
            self.raw.to_vec()
        }
    }

    fn has_indefinite(&self) -> bool {
        self.raw.get(1) == Some(&0x80) || self.children().iter().any(Tlv::has_indefinite)
    }
}

fn is_string_type(t: &Tag) -> bool {
    t.class == UNIVERSAL
        && matches!(
            t.number,
            BIT_STRING | OCTET_STRING | 12 | 19 | 20 | 22 | 26 | 30
        )
}

fn write_tag(t: Tag, out: &mut Vec<u8>) {
    let lead = (t.class << 6) | if t.constructed { 0x20 } else { 0 };
    if t.number < 0x1f {
        out.push(lead | t.number as u8);
        return;
    }
    out.push(lead | 0x1f);
    let mut groups = Vec::new();
    let mut n = t.number;
    loop {
        groups.push((n & 0x7f) as u8);
        n >>= 7;
        if n == 0 {
            break;
        }
    }
    for (i, g) in groups.iter().enumerate().rev() {
        out.push(if i == 0 { *g } else { g | 0x80 });
    }
}

fn write_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Dotted text of an OID's content octets.
pub fn oid_string(b: &[u8]) -> Result<String, BerError> {
    if b.is_empty() || b.len() > 64 {
        return err("bad object identifier length");
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for (i, &c) in b.iter().enumerate() {
        if v > (u64::MAX >> 7) {
            return err("object identifier arc too large");
        }
        v = (v << 7) | (c & 0x7f) as u64;
        if c & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
        } else if i == b.len() - 1 {
            return err("truncated object identifier");
        }
    }
    Ok(arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indefinite_lengths_and_split_strings_become_der() {
        // SEQUENCE (indefinite) { OCTET STRING (constructed: "ab" "c") }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0, 0,
        ];
        let t = parse(&ber).unwrap();
        assert_eq!(t.children()[0].octets(), b"abc");
        assert_eq!(t.to_der(), [0x30, 0x05, 0x04, 0x03, b'a', b'b', b'c']);
        assert_eq!(t.raw.len(), ber.len());
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        let mut deep = Vec::new();
        for _ in 0..1000 {
            deep.extend([0x30, 0x80]);
        }
        assert!(parse(&deep).is_err());
        assert!(parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse(&[0x04, 0x80, 0, 0]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
    }

    #[test]
    fn oids_read_as_dotted_text() {
        let t = parse(&[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
        ])
        .unwrap();
        assert_eq!(t.oid().unwrap(), "1.2.840.113549.1.7.2");
    }
}
