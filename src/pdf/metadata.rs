//! XMP metadata that validators refuse to look past.
//!
//! pyHanko's difference analysis checks the catalog's /Metadata in every
//! revision after a signature and calls any change suspicious unless that
//! XML's root is `x:xmpmeta`. Older writers store a bare `rdf:RDF` (which
//! XMP allows) or Acrobat 5's `x:xapmeta`, so every revision after the first
//! signature on such a file was judged an illegal modification. pyHanko's own
//! signer rewrites the metadata when it signs; Mohor does the least that
//! suffices: the same RDF, wrapped in `x:xmpmeta`, in the same object.

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

    #[test]
    fn xml_without_rdf_is_left_alone() {
        assert_eq!(rewrapped(b"<foo/>"), None);
        assert_eq!(rewrapped(b"not xml"), None);
    }
}
