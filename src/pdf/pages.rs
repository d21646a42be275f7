//! The page tree: the page count, and one page found by descending the
//! tree with /Count, with its inherited boxes and rotation.

use std::collections::HashSet;

use super::error::PdfError;
use super::object::{Dict, ObjRef, Object};
use super::reader::{Document, MAX_DEPTH};

/// One page, as found by walking the page tree.
#[derive(Clone, Debug)]
pub struct Page {
    /// `None` for a page written inline in its parent's /Kids: it cannot
    /// be updated on its own, so it gets no new annotation.
    pub r: Option<ObjRef>,
    pub dict: Dict,
    /// The visible area (CropBox, else MediaBox), inherited where needed.
    pub view_box: [f64; 4],
    /// /Rotate in degrees, normalised to 0, 90, 180 or 270.
    pub rotate: i64,
    /// The size of the page's unit in points (/UserUnit, PDF 1.6; 1 when
    /// absent or unusable).
    pub user_unit: f64,
}

impl Document {
    /// The page tree root's reference and dictionary.
    fn pages_root(&mut self) -> Result<(ObjRef, Dict), PdfError> {
        let cat = self.catalog()?;
        let r = cat
            .get("Pages")
            .and_then(Object::as_ref)
            .ok_or_else(|| PdfError::damaged("the catalog has no page tree"))?;
        match self.get(r)? {
            Object::Dict(d) => Ok((r, d)),
            _ => Err(PdfError::damaged("the page tree root is missing")),
        }
    }

    pub fn page_count(&mut self) -> Result<u32, PdfError> {
        let (_, root) = self.pages_root()?;
        root.get("Count")
            .and_then(Object::as_int)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| PdfError::damaged("the page tree has no valid /Count"))
    }

    /// Find page `index` (0-based) by descending the tree with /Count,
    /// loading only the nodes on the way and their direct children. Each
    /// node visited is checked for loops and for counts that do not add up,
    /// which is how damaged trees that validators would reject are caught.
    /// Kids written inline (not as references) are accepted, as readers
    /// accept them; such a page has no reference of its own.
    pub fn page(&mut self, index: u32) -> Result<Page, PdfError> {
        let (root_ref, root) = self.pages_root()?;
        let mut node_ref = Some(root_ref);
        let mut node = root;
        let mut remaining = u64::from(index);
        let mut on_path: HashSet<ObjRef> = HashSet::from([root_ref]);
        // Inheritable attributes, nearest ancestor last.
        let mut chain: Vec<Dict> = Vec::new();
        for _ in 0..MAX_DEPTH {
            let count = node_count(&node, node_ref)?;
            let kids: Vec<Object> = match node.get("Kids").map(|k| self.resolve(k)).transpose()? {
                Some(Object::Array(a)) => a,
                _ => return Err(PdfError::damaged("a page tree node has no /Kids")),
            };
            if remaining >= count {
                return Err(PdfError::damaged("the page tree counts do not add up"));
            }
            chain.push(node.clone());

            // Flat trees (every kid a page) are common for large documents;
            // take the direct route and check only the kid chosen.
            if kids.len() as u64 == count {
                let (kr, kd) = self.page_kid(&kids[remaining as usize])?;
                let looped = kr.is_some_and(|r| on_path.contains(&r));
                if is_leaf(&kd) && !looped {
                    return self.make_page(kr, kd, &chain);
                }
            }

            let mut sum = 0u64;
            let mut chosen: Option<(Option<ObjRef>, Dict, bool)> = None;
            for kid in &kids {
                let (kr, kd) = self.page_kid(kid)?;
                if kr.is_some_and(|r| on_path.contains(&r)) {
                    return Err(PdfError::damaged("the page tree contains a loop"));
                }
                let (leaf, c) = if is_leaf(&kd) {
                    (true, 1)
                } else {
                    (false, node_count(&kd, kr)?)
                };
                if chosen.is_none() && remaining < sum + c {
                    remaining -= sum;
                    chosen = Some((kr, kd, leaf));
                }
                sum += c;
            }
            if sum != count {
                return Err(PdfError::damaged("the page tree counts do not add up"));
            }
            let Some((kr, kd, leaf)) = chosen else {
                return Err(PdfError::damaged("page not found in the page tree"));
            };
            if leaf {
                return self.make_page(kr, kd, &chain);
            }
            if let Some(r) = kr {
                on_path.insert(r);
            }
            node_ref = kr;
            node = kd;
        }
        Err(PdfError::damaged("the page tree is too deep"))
    }

    /// A /Kids entry: a reference to a node (the usual form) or a node
    /// written inline.
    fn page_kid(&mut self, kid: &Object) -> Result<(Option<ObjRef>, Dict), PdfError> {
        match kid {
            Object::Ref(r) => match self.get(*r)? {
                Object::Dict(d) => Ok((Some(*r), d)),
                _ => Err(PdfError::damaged("a page tree node is not a dictionary")),
            },
            Object::Dict(d) => Ok((None, d.clone())),
            _ => Err(PdfError::damaged(
                "a page tree /Kids entry is neither a page nor a reference to one",
            )),
        }
    }

    /// An inheritable attribute (/MediaBox, /CropBox, /Rotate): the page's
    /// own, else the nearest ancestor's in `chain` (nearest last). Resolved:
    /// writers put a box or a rotation in an object of its own too, and
    /// readers follow it.
    fn inherited(
        &mut self,
        key: &str,
        page: &Dict,
        chain: &[Dict],
    ) -> Result<Option<Object>, PdfError> {
        page.get(key)
            .or_else(|| chain.iter().rev().find_map(|d| d.get(key)))
            .map(|o| self.resolve(o))
            .transpose()
    }

    /// An inherited box, its numbers resolved too.
    fn inherited_box(
        &mut self,
        key: &str,
        page: &Dict,
        chain: &[Dict],
    ) -> Result<Option<[f64; 4]>, PdfError> {
        let Some(Object::Array(a)) = self.inherited(key, page, chain)? else {
            return Ok(None);
        };
        let a = a
            .iter()
            .map(|o| self.resolve(o))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rect_of(Some(&Object::Array(a))))
    }

    fn make_page(
        &mut self,
        r: Option<ObjRef>,
        dict: Dict,
        chain: &[Dict],
    ) -> Result<Page, PdfError> {
        // A page with no usable /MediaBox anywhere: US Letter, the size
        // the spec's own default would be closest to.
        let media = self
            .inherited_box("MediaBox", &dict, chain)?
            .unwrap_or([0.0, 0.0, 612.0, 792.0]);
        let crop = self.inherited_box("CropBox", &dict, chain)?.map(|c| {
            [
                c[0].max(media[0]),
                c[1].max(media[1]),
                c[2].min(media[2]),
                c[3].min(media[3]),
            ]
        });
        let view_box = match crop {
            Some(c) if c[2] > c[0] && c[3] > c[1] => c,
            _ => media,
        };
        let rotate = rotation(self.inherited("Rotate", &dict, chain)?.as_ref());
        let user_unit = self.user_unit(&dict)?;
        Ok(Page {
            r,
            dict,
            view_box,
            rotate,
            user_unit,
        })
    }

    /// The /Rotate of a page known by its dictionary alone (a widget's /P),
    /// inherited as [`Document::page`] inherits it: its ancestors are found
    /// through /Parent. A /Parent chain that loops or ends in something
    /// other than a dictionary ends the search there, with what was found
    /// (only a stamp's orientation depends on it).
    pub fn page_rotation(&mut self, page: &Dict) -> Result<i64, PdfError> {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut parent = page.get("Parent").and_then(Object::as_ref);
        while let Some(r) = parent {
            if chain.len() >= MAX_DEPTH || !seen.insert(r) {
                break;
            }
            let Object::Dict(d) = self.get(r)? else { break };
            parent = d.get("Parent").and_then(Object::as_ref);
            chain.push(d);
        }
        chain.reverse();
        Ok(rotation(self.inherited("Rotate", page, &chain)?.as_ref()))
    }
}

impl Document {
    /// A page's /UserUnit: how many points its unit is (PDF 1.6; not
    /// inherited). 1 when absent, and when not a positive number up to
    /// 75,000 (the largest ISO 32000's implementation limits allow).
    pub fn user_unit(&mut self, page: &Dict) -> Result<f64, PdfError> {
        let Some(o) = page.get("UserUnit") else {
            return Ok(1.0);
        };
        let unit = self.resolve(o)?.as_number();
        Ok(unit.filter(|u| *u > 0.0 && *u <= 75_000.0).unwrap_or(1.0))
    }
}

fn is_leaf(d: &Dict) -> bool {
    if d.is_type("Page") {
        return true;
    }
    if d.is_type("Pages") {
        return false;
    }
    !d.contains("Kids")
}

fn node_count(d: &Dict, r: Option<ObjRef>) -> Result<u64, PdfError> {
    d.get("Count")
        .and_then(Object::as_int)
        .and_then(|c| u64::try_from(c).ok())
        .ok_or_else(|| {
            let which = r.map_or("an inline page tree node".to_string(), |r| {
                format!("page tree node {}", r.num)
            });
            PdfError::damaged(format!("{which} has no valid /Count"))
        })
}

fn rect_of(o: Option<&Object>) -> Option<[f64; 4]> {
    let a = o?.as_array()?;
    if a.len() != 4 {
        return None;
    }
    let v: Vec<f64> = a.iter().map(Object::as_number).collect::<Option<_>>()?;
    Some([
        v[0].min(v[2]),
        v[1].min(v[3]),
        v[0].max(v[2]),
        v[1].max(v[3]),
    ])
}

pub fn rect(o: Option<&Object>) -> Option<[f64; 4]> {
    rect_of(o)
}

/// /Rotate in degrees, normalised to 0, 90, 180 or 270 (0 when absent or
/// not an integer).
fn rotation(o: Option<&Object>) -> i64 {
    let r = o.and_then(Object::as_int).unwrap_or(0).rem_euclid(360);
    (r / 90) * 90
}
