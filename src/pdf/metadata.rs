//! XMP metadata that validators refuse to look past.
//!
//! pyHanko's difference analysis checks the catalog's /Metadata in every
//! revision after a signature and calls any change suspicious unless that
//! XML's root is `x:xmpmeta`. Older writers store a bare `rdf:RDF` (which
//! XMP allows) or Acrobat 5's `x:xapmeta`, so every revision after the first
//! signature on such a file was judged an illegal modification. pyHanko's own
//! signer rewrites the metadata when it signs; Mohor does the least that
//! suffices: the same RDF, wrapped in `x:xmpmeta`, in the same object.
//!
//! pyHanko also parses that XML in every revision after a signature, changed
//! or not, and calls the revision suspicious when it is not well-formed.
//! Writers ship such metadata: Ghostscript 10.0 writes `pdf:Producer=…`
//! without quotes in its PDF 2.0 output and garbles the packet in the
//! encrypted files it writes; others leave a bare `&` in a title. So every
//! later signature turned the first one "illegally modified" there.
//! [`well_formed`] says which metadata pyHanko would read; [`fixed`] gives
//! what to write instead: the same packet with those slips mended, or, when
//! nothing readable is left, an empty XMP packet.

/// What to write in place of `xml` so that validators can read it: `None`
/// when it is well-formed XMP already (or UTF-16, which is left alone).
pub fn fixed(xml: &[u8]) -> Option<Vec<u8>> {
    if xml.starts_with(b"\xfe\xff") || xml.starts_with(b"\xff\xfe") {
        return None;
    }
    let is_xmp = |x: &[u8]| {
        well_formed(x)
            && first_element(x)
                .and_then(|at| element_at(x, at))
                .is_some_and(|(_, name)| local_name(name) == b"xmpmeta")
    };
    if is_xmp(xml) {
        return None;
    }
    let mended = repaired(xml);
    let candidate = rewrapped(&mended).unwrap_or(mended);
    if is_xmp(&candidate) {
        return Some(candidate);
    }
    Some(EMPTY_PACKET.as_bytes().to_vec())
}

/// An XMP packet that says nothing, for metadata nothing could be read from.
const EMPTY_PACKET: &str = "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>\n\
</x:xmpmeta>\n<?xpacket end=\"w\"?>";

/// Is `xml` a well-formed XML document (UTF-8, one root element, every tag
/// closed in order, attribute values quoted, `&` only in references to the
/// five predefined entities or to characters, no DOCTYPE)? Conservative:
/// what this accepts, libxml2 (pyHanko's parser) accepts.
pub fn well_formed(xml: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(xml) else {
        return false;
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.chars().any(|c| !xml_char(c)) {
        return false;
    }
    let s = text.as_bytes();
    let mut stack: Vec<&[u8]> = Vec::new();
    let mut roots = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'<' {
            let end = s[i..]
                .iter()
                .position(|&c| c == b'<')
                .map_or(s.len(), |p| i + p);
            let chunk = &s[i..end];
            if stack.is_empty() && !chunk.iter().all(u8::is_ascii_whitespace) {
                return false;
            }
            if find(chunk, b"]]>").is_some() || !references_ok(chunk) {
                return false;
            }
            i = end;
            continue;
        }
        let rest = &s[i..];
        let past = |open: usize, close: &[u8]| {
            find(&rest[open..], close).map(|e| (open + e, open + e + close.len()))
        };
        let len = if rest.starts_with(b"<!--") {
            match past(4, b"-->") {
                Some((body_end, len)) if find(&rest[4..body_end], b"--").is_none() => len,
                _ => return false,
            }
        } else if rest.starts_with(b"<![CDATA[") {
            match past(9, b"]]>") {
                Some((_, len)) if !stack.is_empty() => len,
                _ => return false,
            }
        } else if rest.starts_with(b"<?") {
            match past(2, b"?>") {
                Some((_, len)) if rest.get(2).is_some_and(|c| name_start(*c)) => len,
                _ => return false,
            }
        } else if rest.starts_with(b"<!") {
            // A DOCTYPE may declare entities: not XMP, and not worth reading.
            return false;
        } else if rest.starts_with(b"</") {
            let Some(end) = rest.iter().position(|&c| c == b'>') else {
                return false;
            };
            if stack.pop() != Some(trim(&rest[2..end])) {
                return false;
            }
            end + 1
        } else {
            let Some((len, name, empty)) = start_tag_ok(rest) else {
                return false;
            };
            if stack.is_empty() {
                roots += 1;
                if roots > 1 {
                    return false;
                }
            }
            if !empty {
                stack.push(name);
            }
            len
        };
        i += len;
    }
    roots == 1 && stack.is_empty()
}

fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

fn name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80
}

fn name_ok(name: &[u8]) -> bool {
    name.first().is_some_and(|&c| name_start(c))
        && name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"_:.-".contains(&c) || c >= 0x80)
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// A start tag at the beginning of `s`: its length, name and whether it is
/// empty (`/>`), when its name and attributes are well-formed.
fn start_tag_ok(s: &[u8]) -> Option<(usize, &[u8], bool)> {
    let name_len = s[1..]
        .iter()
        .take_while(|&&c| !(c.is_ascii_whitespace() || c == b'>' || c == b'/'))
        .count();
    let name = &s[1..1 + name_len];
    if !name_ok(name) {
        return None;
    }
    let mut i = 1 + name_len;
    let mut seen: Vec<&[u8]> = Vec::new();
    loop {
        let before = i;
        i = skip_space(s, i);
        match s.get(i)? {
            b'>' => return Some((i + 1, name, false)),
            b'/' => return (s.get(i + 1)? == &b'>').then_some((i + 2, name, true)),
            _ if before == i => return None,
            _ => {}
        }
        let a_len = s[i..]
            .iter()
            .take_while(|&&c| !(c.is_ascii_whitespace() || b"=>/<".contains(&c)))
            .count();
        let attr = &s[i..i + a_len];
        if !name_ok(attr) || seen.contains(&attr) {
            return None;
        }
        seen.push(attr);
        i = skip_space(s, i + a_len);
        if s.get(i)? != &b'=' {
            return None;
        }
        i = skip_space(s, i + 1);
        let quote = *s.get(i)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let close = i + 1 + s[i + 1..].iter().position(|&c| c == quote)?;
        let value = &s[i + 1..close];
        if value.contains(&b'<') || !references_ok(value) {
            return None;
        }
        i = close + 1;
    }
}

/// Every `&` in `text` starts `&lt;`, `&gt;`, `&amp;`, `&quot;`, `&apos;`
/// or a reference to a character XML allows.
fn references_ok(text: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = text[from..].iter().position(|&c| c == b'&') {
        let at = from + p;
        match reference_len(&text[at..]) {
            Some(len) => from = at + len,
            None => return false,
        }
    }
    true
}

/// The length of the reference at the start of `s` (which begins with `&`).
fn reference_len(s: &[u8]) -> Option<usize> {
    let semi = s.iter().take(12).position(|&c| c == b';')?;
    let body = s.get(1..semi)?;
    let char_ok = |digits: &[u8], radix: u32| {
        !digits.is_empty()
            && digits.iter().all(|c| c.is_ascii_hexdigit())
            && std::str::from_utf8(digits)
                .ok()
                .and_then(|d| u32::from_str_radix(d, radix).ok())
                .and_then(char::from_u32)
                .is_some_and(xml_char)
    };
    let ok = match body {
        b"lt" | b"gt" | b"amp" | b"quot" | b"apos" => true,
        [b'#', b'x', hex @ ..] => char_ok(hex, 16),
        [b'#', dec @ ..] => dec.iter().all(u8::is_ascii_digit) && char_ok(dec, 10),
        _ => false,
    };
    ok.then_some(semi + 1)
}

/// `xml` with the slips writers make mended: attribute values without
/// quotes get them, a `&` that starts no reference becomes `&amp;`, and
/// what XML does not allow (control characters, NULs, bytes that are not
/// UTF-8) is dropped. Markup it cannot make sense of is copied as it is.
fn repaired(xml: &[u8]) -> Vec<u8> {
    let s: Vec<u8> = String::from_utf8_lossy(xml)
        .chars()
        .filter(|&c| xml_char(c) && c != '\u{fffd}')
        .collect::<String>()
        .into_bytes();
    let mut out = Vec::with_capacity(s.len() + 64);
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'&' {
            let len = reference_len(&s[i..]).unwrap_or(1);
            if len == 1 {
                out.extend_from_slice(b"&amp;");
            } else {
                out.extend_from_slice(&s[i..i + len]);
            }
            i += len;
            continue;
        }
        if c != b'<' {
            out.push(c);
            i += 1;
            continue;
        }
        let rest = &s[i..];
        let markup: [(&[u8], &[u8]); 4] = [
            (b"<!--", b"-->"),
            (b"<![CDATA[", b"]]>"),
            (b"<?", b"?>"),
            (b"<!", b">"),
        ];
        let verbatim =
            markup
                .iter()
                .find(|(open, _)| rest.starts_with(open))
                .map(|(open, close)| {
                    find(&rest[open.len()..], close)
                        .map_or(rest.len(), |e| open.len() + e + close.len())
                });
        let len = match verbatim {
            Some(len) => {
                out.extend_from_slice(&rest[..len]);
                len
            }
            None => repair_tag(rest, &mut out),
        };
        i += len;
    }
    out
}

/// Copy the tag at the start of `s` into `out`, quoting unquoted attribute
/// values and escaping a bare `&` in quoted ones; returns the bytes read.
fn repair_tag(s: &[u8], out: &mut Vec<u8>) -> usize {
    let mut i = 1;
    out.push(b'<');
    while let Some(&c) = s.get(i) {
        match c {
            b'>' => {
                out.push(c);
                return i + 1;
            }
            b'"' | b'\'' => {
                let close = s[i + 1..]
                    .iter()
                    .position(|&q| q == c)
                    .map_or(s.len(), |p| i + 1 + p);
                out.push(c);
                for k in i + 1..close {
                    if s[k] == b'&' && reference_len(&s[k..]).is_none() {
                        out.extend_from_slice(b"&amp;");
                    } else {
                        out.push(s[k]);
                    }
                }
                if close < s.len() {
                    out.push(c);
                }
                i = close + 1;
            }
            b'=' => {
                out.push(c);
                let v = skip_space(s, i + 1);
                out.extend_from_slice(&s[i + 1..v]);
                i = v;
                if s.get(i).is_some_and(|q| *q != b'"' && *q != b'\'') {
                    let len = s[i..]
                        .iter()
                        .enumerate()
                        .take_while(|&(k, &v)| {
                            !(v.is_ascii_whitespace()
                                || v == b'>'
                                || (v == b'/' && s.get(i + k + 1) == Some(&b'>')))
                        })
                        .count();
                    out.push(b'"');
                    for &v in &s[i..i + len] {
                        match v {
                            b'"' => out.extend_from_slice(b"&quot;"),
                            b'&' => out.extend_from_slice(b"&amp;"),
                            b'<' => out.extend_from_slice(b"&lt;"),
                            _ => out.push(v),
                        }
                    }
                    out.push(b'"');
                    i += len;
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    i
}

/// The metadata rewrapped in `x:xmpmeta`, or `None` when it already has
/// that root (or has no RDF that could be wrapped: then it is left alone).
pub fn rewrapped(xml: &[u8]) -> Option<Vec<u8>> {
    let (root_at, root) = element_at(xml, first_element(xml)?)?;
    if local_name(root) == b"xmpmeta" {
        return None;
    }
    let (rdf_at, rdf) = if local_name(root) == b"RDF" {
        (root_at, root)
    } else {
        let mut from = root_at + 1;
        loop {
            let at = from + find(&xml[from..], b"<")?;
            let (at, name) = element_at(xml, at)?;
            if local_name(name) == b"RDF" {
                break (at, name);
            }
            from = at + 1;
        }
    };
    let mut close = b"</".to_vec();
    close.extend_from_slice(rdf);
    let rdf_end = rfind(xml, &close)? + close.len();
    let rdf_end = rdf_end + find(&xml[rdf_end..], b">")? + 1;
    if rdf_end <= rdf_at {
        return None;
    }
    // Namespaces the old wrapper declared may be used inside the RDF.
    let inherited = if root_at == rdf_at {
        Vec::new()
    } else {
        namespace_declarations(start_tag(xml, root_at)?)
    };
    let mut out = Vec::with_capacity(xml.len() + 200);
    out.extend_from_slice(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n".as_bytes(),
    );
    out.extend_from_slice(b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"");
    for decl in inherited {
        out.push(b' ');
        out.extend_from_slice(decl);
    }
    out.extend_from_slice(b">\n");
    out.extend_from_slice(&xml[rdf_at..rdf_end]);
    out.extend_from_slice(b"\n</x:xmpmeta>\n<?xpacket end=\"w\"?>");
    Some(out)
}

/// Where the document element starts: past a byte order mark, whitespace,
/// processing instructions, comments and a DOCTYPE.
fn first_element(xml: &[u8]) -> Option<usize> {
    let mut i = if xml.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    loop {
        while xml.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let rest = xml.get(i..)?;
        let skip_to = |end: &[u8]| find(rest, end).map(|e| i + e + end.len());
        i = if rest.starts_with(b"<?") {
            skip_to(b"?>")?
        } else if rest.starts_with(b"<!--") {
            skip_to(b"-->")?
        } else if rest.starts_with(b"<!") {
            skip_to(b">")?
        } else if rest.starts_with(b"<") {
            return Some(i);
        } else {
            return None;
        };
    }
}

/// The element whose start tag is at `at` (a `<`): its position and
/// qualified name. `None` for closing tags, comments and the like.
fn element_at(xml: &[u8], at: usize) -> Option<(usize, &[u8])> {
    let name_start = at + 1;
    let first = *xml.get(name_start)?;
    if !(first.is_ascii_alphabetic() || first == b'_' || first >= 0x80) {
        return None;
    }
    let len = xml[name_start..]
        .iter()
        .take_while(|&&c| !(c.is_ascii_whitespace() || c == b'>' || c == b'/'))
        .count();
    Some((at, &xml[name_start..name_start + len]))
}

fn start_tag(xml: &[u8], at: usize) -> Option<&[u8]> {
    let end = at + find(&xml[at..], b">")?;
    Some(&xml[at..end])
}

/// The `xmlns:p="…"` attributes of a start tag, except the `x` prefix the
/// new wrapper binds itself.
fn namespace_declarations(tag: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = find(&tag[from..], b"xmlns:") {
        let start = from + i;
        let Some(eq) = find(&tag[start..], b"=").map(|e| start + e) else {
            break;
        };
        let Some(&quote) = tag.get(eq + 1) else { break };
        if quote != b'"' && quote != b'\'' {
            break;
        }
        let Some(close) = tag[eq + 2..].iter().position(|&c| c == quote) else {
            break;
        };
        let end = eq + 2 + close + 1;
        if &tag[start..eq] != b"xmlns:x" {
            out.push(&tag[start..end]);
        }
        from = end;
    }
    out
}

fn local_name(qname: &[u8]) -> &[u8] {
    qname.rsplit(|&c| c == b':').next().unwrap_or(qname)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RDF: &str = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
        <rdf:Description rdf:about=\"\"/></rdf:RDF>";

    #[test]
    fn xmpmeta_is_left_alone() {
        let xml = format!(
            "<?xpacket begin=\"\"?>\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">{RDF}</x:xmpmeta>"
        );
        assert_eq!(rewrapped(xml.as_bytes()), None);
    }

    #[test]
    fn a_bare_rdf_root_is_wrapped() {
        let xml = format!("\u{feff}<?xml version=\"1.0\"?>\n<!-- c -->{RDF}\n");
        let out = String::from_utf8(rewrapped(xml.as_bytes()).expect("wrapped")).expect("utf-8");
        assert!(out.contains(&format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n{RDF}\n</x:xmpmeta>"
        )));
        assert_eq!(
            first_element(out.as_bytes()).map(|i| &out[i..i + 10]),
            Some("<x:xmpmeta")
        );
    }

    #[test]
    fn xapmeta_is_replaced_keeping_its_namespaces() {
        let xml = format!(
            "<x:xapmeta xmlns:x='adobe:ns:meta/' xmlns:dc='http://purl.org/dc/elements/1.1/'>{RDF}</x:xapmeta>"
        );
        let out = String::from_utf8(rewrapped(xml.as_bytes()).expect("wrapped")).expect("utf-8");
        assert!(out.contains(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        ));
        assert!(out.contains(RDF) && !out.contains("xapmeta"));
    }

    /// Ghostscript 10.0's PDF 2.0 packet: an attribute value without quotes.
    const GS_PDF20: &str = "<?xpacket begin='\u{feff}' id='W5M0MpCehiHzreSzNTczkc9d'?>\n\
        <x:xmpmeta xmlns:x='adobe:ns:meta/'>\n<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n\
        <rdf:Description rdf:about=\"\" xmlns:pdf='http://ns.adobe.com/pdf/1.3/' pdf:Producer=UnknownProducer/>\n\
        <rdf:Description rdf:about=\"\" xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:title><rdf:Alt>\
        <rdf:li xml:lang='x-default'>Bill & Voucher &amp; more &#x20B9;</rdf:li></rdf:Alt></dc:title></rdf:Description>\n\
        </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end='w'?>";

    #[test]
    fn well_formed_xmp_is_left_alone() {
        let xml = format!(
            "\u{feff}<?xpacket begin=\"\u{feff}\"?>\n<!-- c --><x:xmpmeta xmlns:x=\"adobe:ns:meta/\">{RDF}<a b='&lt;&#65;'><![CDATA[ & < ]]></a></x:xmpmeta>\n<?xpacket end=\"w\"?>"
        );
        assert!(well_formed(xml.as_bytes()));
        assert_eq!(fixed(xml.as_bytes()), None);
    }

    #[test]
    fn xmpmeta_under_another_prefix_is_left_alone() {
        for root in [
            "xmp:xmpmeta xmlns:xmp=\"adobe:ns:meta/\"",
            "xmpmeta xmlns=\"adobe:ns:meta/\"",
        ] {
            let name = root.split(' ').next().unwrap_or_default();
            let xml = format!("<{root}>{RDF}</{name}>");
            assert_eq!(fixed(xml.as_bytes()), None, "{xml}");
        }
    }

    #[test]
    fn what_xml_forbids_is_not_well_formed() {
        for bad in [
            "<a b=c/>",
            "<a>&</a>",
            "<a>&nbsp;</a>",
            "<a b='1' b='2'/>",
            "<a><b></a></b>",
            "<a/><b/>",
            "<a>",
            "text<a/>",
            "<!DOCTYPE a><a/>",
            "<a>\u{1}</a>",
            "<a>&#0;</a>",
            "<a b='<'/>",
            "",
        ] {
            assert!(!well_formed(bad.as_bytes()), "{bad:?}");
        }
        assert!(!well_formed(b"<a>\xff</a>"));
    }

    #[test]
    fn unquoted_values_and_bare_ampersands_are_mended() {
        assert!(!well_formed(GS_PDF20.as_bytes()));
        let out = String::from_utf8(fixed(GS_PDF20.as_bytes()).expect("mended")).expect("utf-8");
        assert!(well_formed(out.as_bytes()), "{out}");
        assert!(out.contains("pdf:Producer=\"UnknownProducer\"/>"), "{out}");
        assert!(
            out.contains(">Bill &amp; Voucher &amp; more &#x20B9;<"),
            "{out}"
        );
        assert_eq!(out.len(), GS_PDF20.len() + 2 + 4);
    }

    #[test]
    fn a_bare_rdf_root_that_needs_mending_is_mended_and_wrapped() {
        let xml = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
            <rdf:Description rdf:about=\"\" a=b/></rdf:RDF>\0\0";
        let out = String::from_utf8(fixed(xml.as_bytes()).expect("fixed")).expect("utf-8");
        assert!(
            well_formed(out.as_bytes()) && out.contains("<x:xmpmeta"),
            "{out}"
        );
        assert!(out.contains("a=\"b\"/>"), "{out}");
    }

    #[test]
    fn unreadable_metadata_becomes_an_empty_packet() {
        for junk in [
            &b"\xdc\xbe\x81\x9c\xfc\xae}`51 \xcd"[..],
            b"not xml",
            b"<foo/>",
            b"<a><b></a>",
        ] {
            let out = fixed(junk).expect("replaced");
            assert_eq!(out, EMPTY_PACKET.as_bytes());
            assert!(well_formed(&out));
        }
        // UTF-16 is not judged here.
        assert_eq!(fixed(b"\xfe\xff\0<"), None);
    }

    #[test]
    fn xml_without_rdf_is_left_alone() {
        assert_eq!(rewrapped(b"<foo/>"), None);
        assert_eq!(rewrapped(b"not xml"), None);
    }
}
