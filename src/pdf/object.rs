//! The PDF object model Mohor reads and writes.
//!
//! Only what signing needs: values keep enough of their original form that a
//! dictionary copied into a new revision compares equal to the old one in a
//! validator's eyes (reals keep their text, dictionaries keep key order).

use std::fmt::Write as _;

/// An indirect reference `num gen R`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    pub num: u32,
    pub gen: u16,
}

impl ObjRef {
    pub fn new(num: u32, gen: u16) -> Self {
        ObjRef { num, gen }
    }
}

impl std::fmt::Display for ObjRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} R", self.num, self.gen)
    }
}

/// A direct PDF value.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Null,
    Bool(bool),
    Int(i64),
    /// Kept as its source text so that rewriting a copied dictionary does
    /// not change a number's precision.
    Real(String),
    /// Decoded bytes of a literal or hex string.
    Str(Vec<u8>),
    /// Decoded bytes of a name, without the leading slash.
    Name(Vec<u8>),
    Array(Vec<Object>),
    Dict(Dict),
    Ref(ObjRef),
}

impl Object {
    pub fn name(s: &str) -> Object {
        Object::Name(s.as_bytes().to_vec())
    }

    pub fn real(v: f64) -> Object {
        Object::Real(format_real(v))
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Integers and reals as a float (positions, sizes).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Object::Int(i) => Some(*i as f64),
            Object::Real(s) => s.parse::<f64>().ok().filter(|v| v.is_finite()),
            _ => None,
        }
    }

    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }

    pub fn is_name(&self, name: &str) -> bool {
        self.as_name() == Some(name.as_bytes())
    }

    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Object::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A dictionary that keeps its keys in file order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Dict(pub Vec<(Vec<u8>, Object)>);

impl Dict {
    pub fn new() -> Self {
        Dict(Vec::new())
    }

    /// The value of `key`; a null value is the same as an absent key
    /// (ISO 32000-1 7.3.7). With duplicate keys the last one wins.
    pub fn get(&self, key: &str) -> Option<&Object> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k.as_slice() == key.as_bytes())
            .map(|(_, v)| v)
            .filter(|v| **v != Object::Null)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Replace the value in place (keeping the key's position) or append it.
    pub fn set(&mut self, key: &str, value: Object) {
        if let Some(slot) = self
            .0
            .iter_mut()
            .rev()
            .find(|(k, _)| k.as_slice() == key.as_bytes())
        {
            slot.1 = value;
        } else {
            self.0.push((key.as_bytes().to_vec(), value));
        }
    }

    /// Drop `key`, every copy of it.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k.as_slice() != key.as_bytes());
    }

    pub fn with(mut self, key: &str, value: Object) -> Self {
        self.set(key, value);
        self
    }

    pub fn is_type(&self, name: &str) -> bool {
        self.get("Type").is_some_and(|t| t.is_name(name))
    }
}

/// Shortest decimal text for a real, never in exponent form (PDF has none).
pub fn format_real(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    // Four decimals are finer than any device resolution in user space.
    let mut s = format!("{:.4}", v);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// Serialise a value.
pub fn write_object(obj: &Object, out: &mut Vec<u8>) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Int(i) => {
            let mut s = String::new();
            let _ = write!(s, "{i}");
            out.extend_from_slice(s.as_bytes());
        }
        Object::Real(s) => out.extend_from_slice(s.as_bytes()),
        Object::Str(s) => write_string(s, out),
        Object::Name(n) => write_name(n, out),
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(item, out);
            }
            out.push(b']');
        }
        Object::Dict(d) => write_dict(d, out),
        Object::Ref(r) => {
            let s = format!("{} {} R", r.num, r.gen);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

pub fn write_dict(d: &Dict, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<<");
    for (k, v) in &d.0 {
        write_name(k, out);
        out.push(b' ');
        write_object(v, out);
    }
    out.extend_from_slice(b">>");
}

fn is_regular(c: u8) -> bool {
    c > b' ' && c < 0x7f && !b"()<>[]{}/%#".contains(&c)
}

pub fn write_name(n: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &c in n {
        if is_regular(c) {
            out.push(c);
        } else {
            out.extend_from_slice(format!("#{c:02X}").as_bytes());
        }
    }
}

/// Literal string when the bytes are mostly printable (readable in a text
/// editor, which matters to people checking a signed file), hex otherwise.
pub fn write_string(s: &[u8], out: &mut Vec<u8>) {
    let printable = s.iter().filter(|&&c| (b' '..0x7f).contains(&c)).count();
    if s.is_empty() || printable * 10 >= s.len() * 9 {
        out.push(b'(');
        for &c in s {
            match c {
                b'(' | b')' | b'\\' => {
                    out.push(b'\\');
                    out.push(c);
                }
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b' '..=0x7e => out.push(c),
                _ => out.extend_from_slice(format!("\\{c:03o}").as_bytes()),
            }
        }
        out.push(b')');
    } else {
        out.push(b'<');
        out.extend_from_slice(hex::encode_upper(s).as_bytes());
        out.push(b'>');
    }
}

/// A PDF text string: PDFDocEncoding agrees with ASCII, anything else goes
/// as UTF-16BE with a byte order mark.
pub fn text_string(s: &str) -> Object {
    if s.bytes().all(|c| (b' '..0x7f).contains(&c)) {
        Object::Str(s.as_bytes().to_vec())
    } else {
        let mut v = vec![0xfe, 0xff];
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        Object::Str(v)
    }
}

/// Decode a PDF text string for display (UTF-16BE with BOM, UTF-8 with BOM,
/// or PDFDocEncoding, treated as Latin-1 which agrees on the printable range).
pub fn decode_text(s: &[u8]) -> String {
    if let Some(rest) = s.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16_lossy(&units)
    } else if let Some(rest) = s.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        s.iter().map(|&c| c as char).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ser(o: &Object) -> String {
        let mut v = Vec::new();
        write_object(o, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn names_escape_delimiters() {
        assert_eq!(ser(&Object::Name(b"A B#(".to_vec())), "/A#20B#23#28");
    }

    #[test]
    fn strings_escape_and_fall_back_to_hex() {
        assert_eq!(ser(&Object::Str(b"a(b)\\".to_vec())), "(a\\(b\\)\\\\)");
        assert_eq!(ser(&Object::Str(vec![0, 1, 2, 3])), "<00010203>");
    }

    #[test]
    fn reals_have_no_exponent() {
        assert_eq!(format_real(1e-9), "0");
        assert_eq!(format_real(12.5), "12.5");
        assert_eq!(format_real(-0.00001), "0");
        assert_eq!(format_real(3.0), "3");
    }

    #[test]
    fn text_strings_use_utf16_beyond_ascii() {
        assert_eq!(text_string("ab"), Object::Str(b"ab".to_vec()));
        assert_eq!(text_string("₹"), Object::Str(vec![0xfe, 0xff, 0x20, 0xb9]));
        assert_eq!(decode_text(&[0xfe, 0xff, 0x20, 0xb9]), "₹");
    }
}
