//! JSON text → `serde_json::Value`, refusing duplicate member names.
//!
//! `serde_json` keeps the last of two equal keys, so
//! `"params":{"pin":…},"params":{}` would reach Mohor as `"params":{}` while
//! another reader (a proxy, a log, a page's own checks) sees the first. One
//! request must mean one thing to every reader: a duplicate anywhere is refused.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why [`parse`] refused the text.
#[derive(Debug)]
pub enum StrictError {
    /// Not JSON at all.
    Syntax(serde_json::Error),
    /// JSON, but an object names the same member twice.
    Duplicate(String),
    /// More values than any request needs ([`MAX_VALUES`]); counted before
    /// anything is built.
    TooManyValues,
}

/// The most values (members, items, scalars) one message may hold. The
/// largest real request, a `sign.batch` of 100 items with every option,
/// holds a few thousand; a 16 MiB frame of `[{"":0},…]` holds two million,
/// and built as a `Value` it took 1.6 GB on the agent's only async thread.
pub const MAX_VALUES: usize = 50_000;

/// Values in `text`, at most `MAX_VALUES + 1`: one per `[`, `{`, `,` and
/// `:` outside strings, plus one. An upper bound (a colon and its value
/// count twice), found without allocating.
fn count_values(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut values = 1usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // A string: jump to its closing quote past escapes (documents
            // arrive as megabytes of base64 in one string).
            b'"' => {
                i += 1;
                loop {
                    let rest = bytes.get(i..).unwrap_or_default();
                    match memchr::memchr2(b'"', b'\\', rest) {
                        // Unterminated: nothing after it is outside a string.
                        None => i = bytes.len(),
                        Some(at) if rest[at] == b'"' => i += at + 1,
                        // A backslash and the byte it escapes.
                        Some(at) => {
                            i += at + 2;
                            continue;
                        }
                    }
                    break;
                }
                continue;
            }
            b'[' | b'{' | b',' | b':' => {
                values += 1;
                if values > MAX_VALUES {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    values
}

const DUPLICATE: &str = "duplicate member name ";

/// Parses `text` like `serde_json::from_str::<Value>`, but a duplicate key in
/// any object is an error.
pub fn parse(text: &str) -> Result<Value, StrictError> {
    let values = count_values(text);
    if values > MAX_VALUES {
        return Err(StrictError::TooManyValues);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictValue::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v.0))
        .map_err(|e| {
            let message = e.to_string();
            match (e.classify(), message.strip_prefix(DUPLICATE)) {
                (serde_json::error::Category::Data, Some(rest)) => {
                    // Drop serde_json's " at line L column C" tail.
                    let name = rest.rsplit_once(" at line ").map_or(rest, |(n, _)| n);
                    StrictError::Duplicate(name.to_string())
                }
                _ => StrictError::Syntax(e),
            }
        })?;
    Ok(value)
}

struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        StrictValue::deserialize(d).map(|v| v.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let shown: String = key.chars().take(32).collect();
                return Err(de::Error::custom(format!("{DUPLICATE}`{shown}`")));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json_when_every_name_is_unique() {
        let text = r#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":"\u00e9\ud83d\ude00"}"#;
        let strict = parse(text).ok();
        let plain: Option<Value> = serde_json::from_str(text).ok();
        assert!(strict.is_some());
        assert_eq!(strict, plain);
    }

    #[test]
    fn a_duplicate_name_at_any_depth_is_refused_and_named() {
        for (text, name) in [
            (r#"{"params":{"pin":"1"},"params":{}}"#, "params"),
            (r#"{"a":{"b":[{"c":1,"c":2}]}}"#, "c"),
            (r#"{"x":1,"\u0078":2}"#, "x"),
        ] {
            match parse(text) {
                Err(StrictError::Duplicate(n)) => assert_eq!(n, format!("`{name}`"), "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_message_of_too_many_values_is_refused_before_anything_is_built() {
        let many = format!("[{}0]", r#"{"":0},"#.repeat(MAX_VALUES));
        assert!(matches!(parse(&many), Err(StrictError::TooManyValues)));
        // Brackets, commas and colons inside strings are not values.
        let text = format!(r#"{{"a":"{}"}}"#, "[{,:\\\"".repeat(MAX_VALUES));
        assert!(parse(&text).is_ok());
        // A full batch of 100 items with every option stays far below.
        let item = r#"{"method":"sign.pdf","params":{"document":"AA==","fileName":"a.pdf","reason":"r","location":"l","certify":false,"appearance":{"page":1,"x":1,"y":1,"width":1,"height":1,"qr":"q","uin":"u"}}}"#;
        let batch = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"sign.batch","params":{{"items":[{}]}}}}"#,
            vec![item; 100].join(",")
        );
        assert!(count_values(&batch) < MAX_VALUES / 10);
        assert!(parse(&batch).is_ok());
    }

    #[test]
    fn text_that_is_not_json_is_a_syntax_error() {
        for text in [
            "{",
            "{\"a\":1} x",
            "",
            "{\"a\" 1}",
            "{\"a\":\"\\",
            "[\"[,[,",
        ] {
            assert!(matches!(parse(text), Err(StrictError::Syntax(_))), "{text}");
        }
    }
}
