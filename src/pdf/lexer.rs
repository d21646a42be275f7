//! A strict, bounded parser for PDF objects over a byte window.
//!
//! The reader hands it a window of the file; running off the end of the
//! window is reported as [`ParseError::Eof`] (the caller may retry with a
//! larger window) and is never confused with a syntax error. Nesting depth is
//! bounded so hostile input cannot exhaust the stack.

use super::object::{Dict, ObjRef, Object};

/// Nesting limit for arrays and dictionaries. Real files stay far below it.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The window ended before the object did.
    Eof,
    /// Not valid PDF syntax at this position (relative to the window).
    Syntax(usize, &'static str),
}

pub type PResult<T> = Result<T, ParseError>;

pub fn is_whitespace(c: u8) -> bool {
    matches!(c, 0 | b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

pub fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(c: u8) -> bool {
    !is_whitespace(c) && !is_delimiter(c)
}

/// The value of an ASCII hex digit; nothing else (no sign) is one.
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// What an indirect object header introduces.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Object(Object),
    /// A stream: its dictionary and where its data starts (window-relative).
    Stream(Dict, usize),
}

pub struct Lexer<'a> {
    buf: &'a [u8],
    pub pos: usize,
    /// Nothing follows the buffer: a number at its very end is a number,
    /// not the start of a reference cut off by the window.
    complete: bool,
}

impl<'a> Lexer<'a> {
    #[cfg(test)]
    pub fn new(buf: &'a [u8]) -> Self {
        Lexer {
            buf,
            pos: 0,
            complete: false,
        }
    }

    /// A lexer over a window; `complete` when the window holds everything
    /// there is (the end of the file, or a whole decoded stream).
    pub fn window(buf: &'a [u8], complete: bool) -> Self {
        Lexer {
            buf,
            pos: 0,
            complete,
        }
    }

    fn syntax<T>(&self, msg: &'static str) -> PResult<T> {
        Err(ParseError::Syntax(self.pos, msg))
    }

    fn peek(&self) -> PResult<u8> {
        self.buf.get(self.pos).copied().ok_or(ParseError::Eof)
    }

    /// Skip whitespace and comments.
    pub fn skip_ws(&mut self) {
        while let Some(&c) = self.buf.get(self.pos) {
            if is_whitespace(c) {
                self.pos += 1;
            } else if c == b'%' {
                while let Some(&c) = self.buf.get(self.pos) {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A run of regular characters (keyword or number), not consuming it.
    fn regular_run(&self) -> &'a [u8] {
        let start = self.pos;
        let mut end = start;
        while end < self.buf.len() && is_regular(self.buf[end]) {
            end += 1;
        }
        &self.buf[start..end]
    }

    /// Consume `kw` if it is the next token (whole token, not a prefix).
    pub fn eat_keyword(&mut self, kw: &[u8]) -> PResult<bool> {
        self.skip_ws();
        if self.pos >= self.buf.len() {
            return Err(ParseError::Eof);
        }
        let run = self.regular_run();
        // A token that reaches the window end might continue past it.
        if self.pos + run.len() >= self.buf.len() && run.len() <= kw.len() && kw.starts_with(run) {
            return Err(ParseError::Eof);
        }
        if run == kw {
            self.pos += run.len();
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// A classic cross-reference entry in the fixed form nearly every
    /// writer uses, `0000012345 00000 n` and a whitespace byte:
    /// `(offset, generation, in use)`. `None`, with only whitespace and
    /// comments consumed, for any other form (the token-by-token reading of
    /// [`Self::read_uint`] and [`Self::eat_keyword`] then takes it), and
    /// where the window may cut the entry. Tables of tens of thousands of
    /// entries are read several times faster this way.
    pub fn fixed_xref_entry(&mut self) -> Option<(u64, u64, bool)> {
        self.skip_ws();
        let e = self.buf.get(self.pos..self.pos + 19)?;
        let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        let fixed = all_digits(&e[..10])
            && e[10] == b' '
            && all_digits(&e[11..16])
            && e[16] == b' '
            && matches!(e[17], b'n' | b'f')
            && is_whitespace(e[18]);
        if !fixed {
            return None;
        }
        let value = |s: &[u8]| s.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
        self.pos += 18;
        Some((value(&e[..10]), value(&e[11..16]), e[17] == b'n'))
    }

    /// Read an unsigned integer token (object numbers, offsets, counts).
    pub fn read_uint(&mut self) -> PResult<u64> {
        self.skip_ws();
        let run = self.regular_run();
        if run.is_empty() {
            return if self.pos >= self.buf.len() {
                Err(ParseError::Eof)
            } else {
                self.syntax("expected a number")
            };
        }
        if self.pos + run.len() >= self.buf.len() {
            return Err(ParseError::Eof);
        }
        if run.len() > 20 || !run.iter().all(u8::is_ascii_digit) {
            return self.syntax("expected an unsigned integer");
        }
        let v = run.iter().try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        });
        match v {
            Some(v) => {
                self.pos += run.len();
                Ok(v)
            }
            None => self.syntax("integer too large"),
        }
    }

    /// Parse `num gen obj` and the object or stream header that follows.
    pub fn parse_indirect(&mut self) -> PResult<(ObjRef, Body)> {
        let num = self.read_uint()?;
        let gen = self.read_uint()?;
        if !self.eat_keyword(b"obj")? {
            return self.syntax("expected 'obj'");
        }
        let (num, gen) = match (u32::try_from(num), u16::try_from(gen)) {
            (Ok(n), Ok(g)) => (n, g),
            _ => return self.syntax("object number out of range"),
        };
        let obj = self.parse_object(0)?;
        self.skip_ws();
        if let Object::Dict(d) = &obj {
            if self.eat_keyword(b"stream")? {
                // The keyword is followed by CRLF or LF; tolerate a lone CR,
                // and spaces or tabs before the line end, as qpdf does (a
                // data start taken at the space read every such stream one
                // byte early). Blanks not followed by a line end are data.
                let blanks = self.buf[self.pos..]
                    .iter()
                    .take_while(|&&c| c == b' ' || c == b'\t')
                    .count();
                match self.buf.get(self.pos + blanks) {
                    Some(b'\r' | b'\n') => self.pos += blanks,
                    Some(_) => {}
                    None if self.complete => {}
                    None => return Err(ParseError::Eof),
                }
                match self.peek()? {
                    b'\r' => {
                        self.pos += 1;
                        if self.buf.get(self.pos) == Some(&b'\n') {
                            self.pos += 1;
                        } else if self.pos >= self.buf.len() {
                            return Err(ParseError::Eof);
                        }
                    }
                    b'\n' => self.pos += 1,
                    _ => {}
                }
                return Ok((ObjRef::new(num, gen), Body::Stream(d.clone(), self.pos)));
            }
        }
        // `endobj` is expected but some writers omit it; the value is complete
        // either way, so its absence is not worth refusing a file over.
        let _ = self.eat_keyword(b"endobj");
        Ok((ObjRef::new(num, gen), Body::Object(obj)))
    }

    /// Parse one direct object (or reference).
    pub fn parse_object(&mut self, depth: usize) -> PResult<Object> {
        if depth > MAX_DEPTH {
            return self.syntax("objects nested too deeply");
        }
        self.skip_ws();
        let c = self.peek()?;
        match c {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.parse_name_body()?))
            }
            b'(' => {
                self.pos += 1;
                Ok(Object::Str(self.parse_literal_string()?))
            }
            b'<' => {
                if self.buf.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    Ok(Object::Dict(self.parse_dict_body(depth)?))
                } else if self.pos + 1 >= self.buf.len() {
                    Err(ParseError::Eof)
                } else {
                    self.pos += 1;
                    Ok(Object::Str(self.parse_hex_string()?))
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek()? == b']' {
                        self.pos += 1;
                        return Ok(Object::Array(items));
                    }
                    items.push(self.parse_object(depth + 1)?);
                }
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.parse_number_or_ref(),
            _ if is_regular(c) => {
                let run = self.regular_run();
                if self.pos + run.len() >= self.buf.len() {
                    return Err(ParseError::Eof);
                }
                let obj = match run {
                    b"true" => Object::Bool(true),
                    b"false" => Object::Bool(false),
                    b"null" => Object::Null,
                    _ => return self.syntax("unexpected keyword"),
                };
                self.pos += run.len();
                Ok(obj)
            }
            _ => self.syntax("unexpected character"),
        }
    }

    fn parse_dict_body(&mut self, depth: usize) -> PResult<Dict> {
        let mut d = Dict::new();
        loop {
            self.skip_ws();
            match self.peek()? {
                b'>' => {
                    if self.buf.get(self.pos + 1) == Some(&b'>') {
                        self.pos += 2;
                        return Ok(d);
                    }
                    if self.pos + 1 >= self.buf.len() {
                        return Err(ParseError::Eof);
                    }
                    return self.syntax("expected '>>'");
                }
                b'/' => {
                    self.pos += 1;
                    let key = self.parse_name_body()?;
                    let value = self.parse_object(depth + 1)?;
                    // Kept even when null: a copied dictionary must keep its
                    // keys for validators that compare key sets.
                    d.0.push((key, value));
                }
                _ => return self.syntax("expected a name as dictionary key"),
            }
        }
    }

    fn parse_name_body(&mut self) -> PResult<Vec<u8>> {
        let run = self.regular_run();
        if self.pos + run.len() >= self.buf.len() {
            return Err(ParseError::Eof);
        }
        let mut out = Vec::with_capacity(run.len());
        let mut i = 0;
        while i < run.len() {
            // Only `#` and two hex digits is an escape. Anything else keeps
            // the `#` as it is, as qpdf, poppler and pdf.js read it: a
            // looser parse (`from_str_radix` takes `#+1` as 0x01) renamed
            // the key, and the content stream's `/F#+1` lost its font.
            if let [b'#', hi, lo, ..] = run[i..] {
                if let (Some(hi), Some(lo)) = (hex_digit(hi), hex_digit(lo)) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
            }
            out.push(run[i]);
            i += 1;
        }
        self.pos += run.len();
        Ok(out)
    }

    fn parse_literal_string(&mut self) -> PResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut nesting = 0usize;
        loop {
            let c = self.peek()?;
            self.pos += 1;
            match c {
                b'(' => {
                    nesting += 1;
                    out.push(c);
                }
                b')' => {
                    if nesting == 0 {
                        return Ok(out);
                    }
                    nesting -= 1;
                    out.push(c);
                }
                b'\\' => {
                    let e = self.peek()?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek()? {
                                    d @ b'0'..=b'7' => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        b'\r' => {
                            if self.peek()? == b'\n' {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    // An unescaped end-of-line in a string is read as LF.
                    if self.peek()? == b'\n' {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(c),
            }
        }
    }

    fn parse_hex_string(&mut self) -> PResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut hi: Option<u8> = None;
        loop {
            let c = self.peek()?;
            self.pos += 1;
            let v = match c {
                b'>' => {
                    if let Some(h) = hi {
                        out.push(h << 4);
                    }
                    return Ok(out);
                }
                _ if is_whitespace(c) => continue,
                _ => match hex_digit(c) {
                    Some(v) => v,
                    None => return self.syntax("bad character in hex string"),
                },
            };
            match hi.take() {
                Some(h) => out.push(h << 4 | v),
                None => hi = Some(v),
            }
        }
    }

    fn parse_number_or_ref(&mut self) -> PResult<Object> {
        let first = self.parse_number()?;
        let Object::Int(num) = first else {
            return Ok(first);
        };
        if num < 0 {
            return Ok(first);
        }
        // Look ahead for `gen R` without committing.
        let save = self.pos;
        self.skip_ws();
        let run = self.regular_run();
        if run.is_empty() || !run.iter().all(u8::is_ascii_digit) {
            if self.pos >= self.buf.len() && !self.complete {
                return Err(ParseError::Eof);
            }
            self.pos = save;
            return Ok(first);
        }
        if self.pos + run.len() >= self.buf.len() {
            if self.complete {
                self.pos = save;
                return Ok(first);
            }
            return Err(ParseError::Eof);
        }
        let gen_pos = self.pos;
        self.pos += run.len();
        self.skip_ws();
        if self.pos >= self.buf.len() {
            if self.complete {
                self.pos = save;
                return Ok(first);
            }
            return Err(ParseError::Eof);
        }
        let r = self.regular_run();
        if r == b"R" {
            if self.pos + 1 >= self.buf.len() {
                return Err(ParseError::Eof);
            }
            let gen_txt = &self.buf[gen_pos..gen_pos + run.len()];
            let gen = std::str::from_utf8(gen_txt)
                .ok()
                .and_then(|s| s.parse::<u16>().ok());
            let n = u32::try_from(num).ok();
            if let (Some(n), Some(g)) = (n, gen) {
                self.pos += 1;
                return Ok(Object::Ref(ObjRef::new(n, g)));
            }
            return self.syntax("reference out of range");
        }
        self.pos = save;
        Ok(first)
    }

    fn parse_number(&mut self) -> PResult<Object> {
        let run = self.regular_run();
        if self.pos + run.len() >= self.buf.len() {
            return Err(ParseError::Eof);
        }
        let text =
            std::str::from_utf8(run).map_err(|_| ParseError::Syntax(self.pos, "bad number"))?;
        let body = text.strip_prefix(['+', '-']).unwrap_or(text);
        let digits_ok = !body.is_empty()
            && body.bytes().all(|c| c.is_ascii_digit() || c == b'.')
            && body.bytes().filter(|&c| c == b'.').count() <= 1
            && body != ".";
        if !digits_ok {
            return self.syntax("bad number");
        }
        self.pos += run.len();
        if !body.contains('.') {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Object::Int(i));
            }
        }
        // Normalise forms like "-.5" and "5." that Rust's parser and some
        // validators read differently, keeping the digits themselves.
        let neg = text.starts_with('-');
        let mut canon = String::new();
        if neg {
            canon.push('-');
        }
        if body.starts_with('.') {
            canon.push('0');
        }
        canon.push_str(body.strip_suffix('.').unwrap_or(body));
        if canon.parse::<f64>().is_err() {
            return self.syntax("bad number");
        }
        Ok(Object::Real(canon))
    }
}

#[cfg(test)]
/// Parse a direct object from a buffer that holds everything there is.
/// The caller pads the buffer with whitespace so a final token is whole.
pub fn parse_object(buf: &[u8]) -> PResult<Object> {
    Lexer::window(buf, true).parse_object(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Object {
        // A trailing space marks the end of the window as not being the end of a token.
        let v = format!("{s} ");
        parse_object(v.as_bytes()).unwrap()
    }

    #[test]
    fn parses_common_values() {
        assert_eq!(parse("42"), Object::Int(42));
        assert_eq!(parse("-.5"), Object::Real("-0.5".into()));
        assert_eq!(parse("3 0 R"), Object::Ref(ObjRef::new(3, 0)));
        assert_eq!(parse("/A#20B"), Object::Name(b"A B".to_vec()));
        // `#` without two hex digits after it is a plain `#`.
        for (s, name) in [
            ("/F#+1", &b"F#+1"[..]),
            ("/F#-1", b"F#-1"),
            ("/A#4", b"A#4"),
            ("/A#", b"A#"),
            ("/#4g", b"#4g"),
            ("/#4F#4e", b"ON"),
        ] {
            assert_eq!(parse(s), Object::Name(name.to_vec()), "{s}");
        }
        assert_eq!(parse("(a\\(b\\)c\\101)"), Object::Str(b"a(b)cA".to_vec()));
        assert_eq!(parse("<414>"), Object::Str(vec![0x41, 0x40]));
        let d = parse("<</Type/Page/Kids[1 0 R 2 0 R]/N null/X 1/Y 2>>");
        let d = d.as_dict().unwrap();
        assert!(d.is_type("Page"));
        assert_eq!(d.get("Kids").unwrap().as_array().unwrap().len(), 2);
        assert!(d.get("N").is_none());
    }

    #[test]
    fn array_of_numbers_is_not_a_reference() {
        assert_eq!(
            parse("[1 2 3]"),
            Object::Array(vec![Object::Int(1), Object::Int(2), Object::Int(3)])
        );
    }

    #[test]
    fn truncation_is_eof_not_syntax() {
        for s in ["<</A [1 2", "(abc", "<</A 1 0", "12", "<4142", "[/Name"] {
            assert_eq!(
                Lexer::new(s.as_bytes()).parse_object(0),
                Err(ParseError::Eof),
                "{s}"
            );
        }
    }

    /// The token-by-token reading of one cross-reference entry.
    fn xref_entry_by_tokens(lx: &mut Lexer) -> PResult<(u64, u64, bool)> {
        let (off, gen) = (lx.read_uint()?, lx.read_uint()?);
        if lx.eat_keyword(b"n")? {
            Ok((off, gen, true))
        } else if lx.eat_keyword(b"f")? {
            Ok((off, gen, false))
        } else {
            Err(ParseError::Syntax(lx.pos, "bad xref entry"))
        }
    }

    #[test]
    fn an_xref_entry_in_its_fixed_form_reads_as_its_tokens_do() {
        for s in [
            "0000012345 00000 n\r\n",
            "0000012345 00002 n \n",
            "0000000000 65535 f\n",
            " \r\n0000000017 00000 n\r\n",
        ] {
            let mut fast = Lexer::window(s.as_bytes(), false);
            let mut slow = Lexer::window(s.as_bytes(), false);
            assert_eq!(
                fast.fixed_xref_entry(),
                xref_entry_by_tokens(&mut slow).ok(),
                "{s:?}"
            );
            assert_eq!(fast.pos, slow.pos, "{s:?}");
        }
    }

    #[test]
    fn any_other_xref_entry_form_is_left_to_the_tokens() {
        for (s, by_tokens) in [
            ("12345 0 n\n", Ok((12345, 0, true))),
            ("0000012345 00000 n%note\n", Ok((12345, 0, true))),
            ("0000012345  00000 n\n", Ok((12345, 0, true))),
            ("000001234a 00000 n\n", Err(())),
            ("0000012345 00000 nx\n", Err(())),
            // Cut by the window: the tokens ask for more.
            ("0000012345 00000 n", Err(())),
        ] {
            let mut lx = Lexer::window(s.as_bytes(), false);
            assert_eq!(lx.fixed_xref_entry(), None, "{s:?}");
            assert_eq!(
                xref_entry_by_tokens(&mut lx).map_err(|_| ()),
                by_tokens,
                "{s:?}"
            );
        }
    }

    #[test]
    fn indirect_stream_header() {
        let src = b"7 0 obj\n<</Length 3>>stream\r\nabc\nendstream endobj";
        let (r, body) = Lexer::new(src).parse_indirect().unwrap();
        assert_eq!(r, ObjRef::new(7, 0));
        match body {
            Body::Stream(d, start) => {
                assert_eq!(d.get("Length"), Some(&Object::Int(3)));
                assert_eq!(&src[start..start + 3], b"abc");
            }
            _ => panic!("expected a stream"),
        }
    }

    /// Where each form of the line after `stream` puts the data: spaces or
    /// tabs before the line end belong to the line (qpdf reads them so,
    /// warning); blanks followed by anything else are the data's own.
    #[test]
    fn the_data_starts_after_the_line_end_that_follows_stream() {
        for (after, data) in [
            (&b"\r\nabc"[..], &b"abc"[..]),
            (b"\nabc", b"abc"),
            (b"\rabc", b"abc"),
            (b" \r\nabc", b"abc"),
            (b" \t \nabc", b"abc"),
            (b"  abc", b"  abc"),
        ] {
            let mut src = b"7 0 obj\n<</Length 3>>stream".to_vec();
            src.extend_from_slice(after);
            src.extend_from_slice(b"\nendstream endobj");
            let (_, body) = Lexer::new(&src).parse_indirect().unwrap();
            let Body::Stream(_, start) = body else {
                panic!("expected a stream")
            };
            assert_eq!(&src[start..start + data.len()], data, "{after:?}");
        }
        // A window that ends in the blanks asks for more.
        let cut = b"7 0 obj\n<</Length 3>>stream  ";
        assert_eq!(
            Lexer::window(cut, false).parse_indirect(),
            Err(ParseError::Eof)
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let s = "[".repeat(1000);
        assert!(matches!(
            parse_object(s.as_bytes()),
            Err(ParseError::Syntax(_, _))
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678u32;
        let alphabet = b"<>[]()/0123456789 .-+R obj endobj stream\n\\#%abtrue";
        for _ in 0..20_000 {
            let len = (seed % 40) as usize;
            let mut v = Vec::with_capacity(len);
            for _ in 0..len {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                v.push(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            let _ = parse_object(&v);
            let _ = Lexer::new(&v).parse_indirect();
        }
    }
}
