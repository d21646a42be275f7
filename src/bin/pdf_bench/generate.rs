//! The benchmarks' input PDFs: deterministic, any number of pages of
//! varying text under a balanced page tree, a classic xref table. Shared by
//! `pdf-bench` and `ws-bench` (each includes this file with `#[path]`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Fan-out of the generated page tree (like most writers, not flat).
const FANOUT: usize = 32;

type R<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// `pages` pages of about `content_per_page` bytes of text each.
pub fn generate_pages(path: &Path, pages: usize, content_per_page: usize) -> R<()> {
    let tmp = path.with_extension("partial");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(err)?);
    let mut pos: u64 = 0;
    let mut offsets: Vec<u64> = Vec::new();
    let put = |w: &mut BufWriter<File>, bytes: &[u8], pos: &mut u64| -> R<()> {
        w.write_all(bytes).map_err(err)?;
        *pos += bytes.len() as u64;
        Ok(())
    };
    put(&mut w, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", &mut pos)?;
    // Numbering: 1 catalog, 2 font, 3.. pages and contents, then tree nodes.
    let page_num = |i: usize| 3 + 2 * i as u32;
    let first_node = page_num(pages);
    // Tree levels bottom-up: each level groups the one below by FANOUT.
    let mut levels: Vec<Vec<u32>> = vec![(0..pages).map(page_num).collect()];
    let mut next = first_node;
    while levels.len() == 1 || levels.last().map(Vec::len).unwrap_or(0) > 1 {
        let below = levels.last().cloned().unwrap_or_default();
        let nodes: Vec<u32> = below
            .chunks(FANOUT)
            .map(|_| {
                let n = next;
                next += 1;
                n
            })
            .collect();
        levels.push(nodes);
    }
    let root = *levels.last().and_then(|l| l.first()).ok_or("empty tree")?;
    let size = next;
    offsets.resize(size as usize, 0);
    // parent of each node, and count of pages under each node
    let mut parent = std::collections::HashMap::new();
    let mut count = std::collections::HashMap::new();
    for p in &levels[0] {
        count.insert(*p, 1usize);
    }
    for l in 1..levels.len() {
        for (k, chunk) in levels[l - 1].chunks(FANOUT).enumerate() {
            let node = levels[l][k];
            let mut c = 0;
            for kid in chunk {
                parent.insert(*kid, node);
                c += count[kid];
            }
            count.insert(node, c);
        }
    }

    offsets[1] = pos;
    put(
        &mut w,
        format!("1 0 obj\n<</Type/Catalog/Pages {root} 0 R>>\nendobj\n").as_bytes(),
        &mut pos,
    )?;
    offsets[2] = pos;
    put(
        &mut w,
        b"2 0 obj\n<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>\nendobj\n",
        &mut pos,
    )?;
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..pages {
        let pn = page_num(i);
        let cn = pn + 1;
        offsets[pn as usize] = pos;
        put(
            &mut w,
            format!(
                "{pn} 0 obj\n<</Type/Page/Parent {} 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 2 0 R>>>>/Contents {cn} 0 R>>\nendobj\n",
                parent[&pn]
            )
            .as_bytes(),
            &mut pos,
        )?;
        let mut content = String::with_capacity(content_per_page + 200);
        content.push_str("BT /F1 9 Tf 11 TL 40 800 Td\n");
        let mut line = 0;
        while content.len() < content_per_page {
            // Varying text so the file does not compress to nothing on disk.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            content.push_str(&format!(
                "(Page {} line {line}: amount {} reference {:016x}) '\n",
                i + 1,
                seed % 1_000_000,
                seed
            ));
            line += 1;
        }
        content.push_str("ET\n");
        offsets[cn as usize] = pos;
        put(
            &mut w,
            format!("{cn} 0 obj\n<</Length {}>>stream\n", content.len()).as_bytes(),
            &mut pos,
        )?;
        put(&mut w, content.as_bytes(), &mut pos)?;
        put(&mut w, b"\nendstream\nendobj\n", &mut pos)?;
    }
    for l in 1..levels.len() {
        for (k, chunk) in levels[l - 1].chunks(FANOUT).enumerate() {
            let node = levels[l][k];
            offsets[node as usize] = pos;
            let kids: Vec<String> = chunk.iter().map(|k| format!("{k} 0 R")).collect();
            let parent_entry = parent
                .get(&node)
                .map(|p| format!("/Parent {p} 0 R"))
                .unwrap_or_default();
            put(
                &mut w,
                format!(
                    "{node} 0 obj\n<</Type/Pages{parent_entry}/Kids[{}]/Count {}>>\nendobj\n",
                    kids.join(" "),
                    count[&node]
                )
                .as_bytes(),
                &mut pos,
            )?;
        }
    }
    let xref = pos;
    let mut table = format!("xref\n0 {size}\n0000000000 65535 f\r\n");
    for off in offsets.iter().skip(1) {
        table.push_str(&format!("{off:010} 00000 n\r\n"));
    }
    put(&mut w, table.as_bytes(), &mut pos)?;
    put(
        &mut w,
        format!("trailer\n<</Size {size}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        &mut pos,
    )?;
    w.flush().map_err(err)?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}
