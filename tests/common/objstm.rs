//! Hand-made PDFs whose objects sit in object streams, indexed by a
//! cross-reference stream, and where an update of a file chains to (shared
//! by the reader's robustness, compatibility and verification tests).

/// One object stream for [`with_object_streams`]: its `/Length` (`None`:
/// the real length, direct) and the objects stored in it; `n` overrides
/// the `/N` it claims, `header_pad` blanks lengthen its header (and
/// `/First`), and the data is Flate-compressed when `flate`.
#[derive(Default)]
pub struct ObjectStream {
    pub length: Option<String>,
    pub objects: Vec<(u32, String)>,
    pub n: Option<usize>,
    pub header_pad: usize,
    pub flate: bool,
}

/// A PDF whose cross-reference stream puts the catalog, pages and page
/// (objects 1-3) in the first of `streams`; object stream i is object
/// 10 + i; the xref stream comes last.
pub fn with_object_streams(mut streams: Vec<ObjectStream>) -> Vec<u8> {
    let page = [
        "<</Type/Catalog/Pages 2 0 R>>",
        "<</Type/Pages/Kids[3 0 R]/Count 1>>",
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
    ];
    for (n, text) in page.iter().enumerate() {
        streams[0].objects.push((n as u32 + 1, text.to_string()));
    }
    let mut out = b"%PDF-1.7\n".to_vec();
    // object -> (xref entry type, offset or stream, index)
    let mut entries = std::collections::BTreeMap::new();
    for (i, stream) in streams.iter().enumerate() {
        let num = 10 + i as u32;
        let (mut head, mut body) = (String::new(), String::new());
        for (k, (n, text)) in stream.objects.iter().enumerate() {
            head.push_str(&format!("{n} {} ", body.len()));
            body.push_str(text);
            body.push('\n');
            entries.insert(*n, (2u8, num, k as u16));
        }
        entries.insert(num, (1, out.len() as u32, 0));
        head.push_str(&" ".repeat(stream.header_pad));
        let mut data = format!("{head}{body}").into_bytes();
        let mut filter = "";
        if stream.flate {
            use std::io::Write as _;
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            z.write_all(&data).unwrap();
            data = z.finish().unwrap();
            filter = "/Filter/FlateDecode";
        }
        let length = stream.length.clone().unwrap_or(data.len().to_string());
        let dict = format!(
            "<</Type/ObjStm/N {}/First {}{filter}/Length {length}>>",
            stream.n.unwrap_or(stream.objects.len()),
            head.len()
        );
        out.extend_from_slice(format!("{num} 0 obj\n{dict}stream\n").as_bytes());
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\nendstream\nendobj\n");
    }
    let xref_num = 10 + streams.len() as u32;
    let xref_at = out.len();
    entries.insert(xref_num, (1, xref_at as u32, 0));
    let size = entries.keys().max().copied().unwrap_or(0) + 1;
    let mut table = vec![0u8, 0, 0, 0, 0, 0xff, 0xff];
    for n in 1..size {
        let (kind, field, index) = entries.get(&n).copied().unwrap_or((0, 0, 0));
        table.push(kind);
        table.extend_from_slice(&field.to_be_bytes());
        table.extend_from_slice(&index.to_be_bytes());
    }
    out.extend_from_slice(
        format!(
            "{xref_num} 0 obj\n<</Type/XRef/Size {size}/W[1 4 2]/Root 1 0 R/Length {}>>stream\n",
            table.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&table);
    out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    out
}

/// Where the last `startxref` of `pdf` points.
pub fn startxref(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("startxref").expect("startxref") + "startxref".len();
    text[at..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a startxref offset")
}

/// The newest /Size: the next free object number.
pub fn next_object(pdf: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/Size").expect("/Size") + "/Size".len();
    text[at..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a /Size")
}
