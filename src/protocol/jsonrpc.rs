//! The JSON-RPC 2.0 envelope: parsing one text frame, and writing responses,
//! errors and notifications.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{Error, Reason};

/// JSON-RPC error codes used by Mohor.
pub mod code {
    /// The frame is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// JSON, but not a valid request object (or it carries a PIN).
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The method exists but its params are wrong.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Everything else: the operation itself failed; `data.reason` says why.
    pub const APPLICATION: i64 = -32000;
}

/// Longest accepted string id.
pub const MAX_ID_LEN: usize = 128;

/// A JSON-RPC error as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub reason: Reason,
    pub hint: String,
}

impl RpcError {
    pub fn parse_error(detail: impl std::fmt::Display) -> Self {
        RpcError {
            code: code::PARSE_ERROR,
            message: format!("the message is not valid JSON: {detail}"),
            reason: Reason::InvalidRequest,
            hint: "send one JSON-RPC 2.0 object per text frame".into(),
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        RpcError {
            code: code::INVALID_REQUEST,
            message: message.into(),
            reason: Reason::InvalidRequest,
            hint: String::new(),
        }
    }

    pub fn method_not_found(method: &str) -> Self {
        RpcError {
            code: code::METHOD_NOT_FOUND,
            message: format!("unknown method `{}`", truncate(method, 64)),
            reason: Reason::InvalidRequest,
            hint: "see docs/PROTOCOL.md for the methods Mohor offers".into(),
        }
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        RpcError {
            code: code::INVALID_PARAMS,
            message: message.into(),
            reason: Reason::InvalidRequest,
            hint: String::new(),
        }
    }

    /// An application error with a reason (`BUSY`, `TOO_LARGE`, ...).
    pub fn application(reason: Reason, message: impl Into<String>) -> Self {
        RpcError {
            code: code::APPLICATION,
            message: message.into(),
            reason,
            hint: String::new(),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    /// The `error` member of a response.
    pub fn to_value(&self) -> Value {
        json!({
            "code": self.code,
            "message": wire_message(self.reason, &self.message),
            "data": { "reason": self.reason.as_str(), "hint": self.hint },
        })
    }
}

/// What a page is told of a failure to read or write a local file.
pub const IO_FAILURE_FOR_PAGES: &str = "Mohor could not read or write a file it needed \
     (the disk may be full, or a folder not writable); its log names the file";

/// The message of an error of `reason` as a page gets it. An I/O failure's
/// own message names a local path (the user's name, the folder layout),
/// which is none of a page's business: the page learns that it happened,
/// the log keeps the detail for the person.
pub fn wire_message(reason: Reason, message: &str) -> &str {
    if reason == Reason::IoError {
        tracing::warn!("a page was told of an I/O failure: {message}");
        IO_FAILURE_FOR_PAGES
    } else {
        message
    }
}

impl From<Error> for RpcError {
    /// Errors from the backend: `INVALID_REQUEST` becomes "invalid params"
    /// (the request was well-formed JSON-RPC, its content was refused);
    /// every other reason is an application error.
    fn from(e: Error) -> Self {
        let code = if e.reason == Reason::InvalidRequest {
            code::INVALID_PARAMS
        } else {
            code::APPLICATION
        };
        RpcError {
            code,
            message: e.message,
            reason: e.reason,
            hint: e.hint,
        }
    }
}

impl From<RpcError> for Error {
    fn from(e: RpcError) -> Self {
        Error::new(e.reason, e.message).with_hint(e.hint)
    }
}

/// A parsed request: the id the answer must carry, the method name, and the
/// still-untyped params (`Value::Null` when absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: Value,
    pub method: String,
    pub params: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope {
    jsonrpc: Value,
    #[serde(default)]
    id: Option<Value>,
    method: Value,
    #[serde(default)]
    params: Option<Value>,
}

/// Where a refused request's error answer goes: its id when it could be read,
/// `null` otherwise (as JSON-RPC prescribes).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: Value,
    pub error: RpcError,
}

impl Envelope {
    /// Parses one text frame. Any error is answered with [`Rejected::id`].
    pub fn parse(text: &str) -> Result<Envelope, Rejected> {
        use super::strict_json::{self, StrictError};
        let value = strict_json::parse(text).map_err(|e| Rejected {
            // With a duplicate the id itself may be ambiguous: answer to null.
            id: Value::Null,
            error: match e {
                StrictError::Syntax(e) => RpcError::parse_error(e),
                StrictError::Duplicate(name) => RpcError::invalid_request(format!(
                    "the request names the member {name} twice in one object; send each member once"
                )),
                StrictError::TooManyValues => RpcError::application(
                    crate::error::Reason::TooLarge,
                    format!(
                        "the message holds more than {} JSON values; no request needs that many",
                        strict_json::MAX_VALUES
                    ),
                ),
            },
        })?;
        let salvaged_id = salvage_id(&value);
        let reject = |error: RpcError| Rejected {
            id: salvaged_id.clone(),
            error,
        };
        // A PDF's own password is not a token secret: `sign.pdf` takes one
        // in `params.password` (it opens an encrypted document).
        let pdf_password =
            (value.get("method") == Some(&Value::from("sign.pdf"))).then_some("params.password");
        if let Some(path) = find_secret_field_except(&value, pdf_password) {
            return Err(reject(pin_refused(&path)));
        }
        match &value {
            Value::Object(_) => {}
            Value::Array(_) => {
                return Err(reject(RpcError::invalid_request(
                    "JSON-RPC batch arrays are not supported; send one request per frame (use `sign.batch` to sign several documents at once)",
                )))
            }
            _ => {
                return Err(reject(RpcError::invalid_request(
                    "a request must be a JSON object",
                )))
            }
        }
        let raw: RawEnvelope = serde_json::from_value(value).map_err(|e| {
            reject(RpcError::invalid_request(format!(
                "not a JSON-RPC 2.0 request: {e}"
            )))
        })?;
        if raw.jsonrpc != Value::String("2.0".into()) {
            return Err(reject(RpcError::invalid_request(
                "`jsonrpc` must be the string \"2.0\"",
            )));
        }
        let id = match raw.id {
            None => {
                return Err(reject(RpcError::invalid_request(
                    "every request needs an `id` (Mohor accepts no notifications)",
                )))
            }
            Some(id) => id,
        };
        if !valid_id(&id) {
            return Err(Rejected {
                id: Value::Null,
                error: RpcError::invalid_request(format!(
                    "`id` must be a string of at most {MAX_ID_LEN} characters or an integer"
                )),
            });
        }
        let method = match raw.method {
            Value::String(m) => m,
            _ => {
                return Err(Rejected {
                    id,
                    error: RpcError::invalid_request("`method` must be a string"),
                })
            }
        };
        let params = match raw.params {
            None | Some(Value::Null) => Value::Null,
            Some(p @ Value::Object(_)) => p,
            Some(_) => {
                return Err(Rejected {
                    id,
                    error: RpcError::invalid_params("`params` must be an object (by-name)"),
                })
            }
        };
        Ok(Envelope { id, method, params })
    }
}

pub(crate) fn valid_id(id: &Value) -> bool {
    match id {
        Value::String(s) => s.chars().count() <= MAX_ID_LEN,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    }
}

fn salvage_id(value: &Value) -> Value {
    match value.get("id") {
        Some(id) if valid_id(id) => id.clone(),
        _ => Value::Null,
    }
}

/// Names that would carry a PIN or password; compared case-insensitively with
/// `_` and `-` removed.
const SECRET_FIELD_NAMES: &[&str] = &[
    "pin",
    "userpin",
    "sopin",
    "pincode",
    "tokenpin",
    "password",
    "passphrase",
];

/// The JSON path of the first member anywhere in `value` whose name is a PIN.
pub fn find_secret_field(value: &Value) -> Option<String> {
    find_secret_field_except(value, None)
}

/// [`find_secret_field`], passing over the member at `allowed` (a path
/// such as `params.password`).
pub fn find_secret_field_except(value: &Value, allowed: Option<&str>) -> Option<String> {
    fn walk(value: &Value, path: &mut Vec<String>, allowed: Option<&str>) -> Option<String> {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let norm: String = key
                        .chars()
                        .filter(|c| *c != '_' && *c != '-')
                        .flat_map(char::to_lowercase)
                        .collect();
                    path.push(truncate(key, 32));
                    if SECRET_FIELD_NAMES.contains(&norm.as_str())
                        && Some(path.join(".").as_str()) != allowed
                    {
                        return Some(path.join("."));
                    }
                    if let Some(found) = walk(v, path, allowed) {
                        return Some(found);
                    }
                    path.pop();
                }
                None
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    if let Some(found) = walk(v, path, allowed) {
                        return Some(found);
                    }
                    path.pop();
                }
                None
            }
            _ => None,
        }
    }
    walk(value, &mut Vec::new(), allowed)
}

fn pin_refused(path: &str) -> RpcError {
    RpcError::invalid_request(format!(
        "the request carries a PIN field (`{path}`); Mohor never accepts a PIN from a web page"
    ))
    .with_hint("remove the field: the PIN is typed only into Mohor's own dialog, never into a page")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// `{"jsonrpc":"2.0","id":..,"result":..}`
pub fn success(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

/// `{"jsonrpc":"2.0","id":..,"error":{code,message,data:{reason,hint}}}`
pub fn failure(id: &Value, error: &RpcError) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": error.to_value() })
}

/// A server notification (no id).
pub fn notification(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

/// `progress {id, stage}` for the request `id`.
pub fn progress(id: &Value, stage: &str) -> Value {
    let mut params = Map::new();
    params.insert("id".into(), id.clone());
    params.insert("stage".into(), Value::String(stage.into()));
    notification("progress", Value::Object(params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Envelope, Rejected> {
        Envelope::parse(text)
    }

    fn rejected_code(text: &str) -> i64 {
        match parse(text) {
            Ok(e) => panic!("accepted: {e:?}"),
            Err(r) => r.error.code,
        }
    }

    #[test]
    fn a_well_formed_request_yields_id_method_and_params() {
        let env = parse(r#"{"jsonrpc":"2.0","id":7,"method":"hello"}"#).ok();
        assert_eq!(
            env,
            Some(Envelope {
                id: json!(7),
                method: "hello".into(),
                params: Value::Null
            })
        );
        let env = parse(r#"{"jsonrpc":"2.0","id":"a-1","method":"x","params":{"k":1}}"#).ok();
        assert_eq!(
            env.map(|e| (e.id, e.params)),
            Some((json!("a-1"), json!({"k":1})))
        );
    }

    #[test]
    fn text_that_is_not_json_is_a_parse_error_answered_to_id_null() {
        let r = parse("{not json").err();
        assert_eq!(r.as_ref().map(|r| r.error.code), Some(code::PARSE_ERROR));
        assert_eq!(r.map(|r| r.id), Some(Value::Null));
    }

    #[test]
    fn envelopes_that_are_not_single_jsonrpc_2_objects_are_invalid_requests() {
        for text in [
            r#"[{"jsonrpc":"2.0","id":1,"method":"hello"}]"#,
            r#""hello""#,
            r#"{"jsonrpc":"1.0","id":1,"method":"hello"}"#,
            r#"{"id":1,"method":"hello"}"#,
            r#"{"jsonrpc":"2.0","method":"hello"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"hello"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"hello"}"#,
            r#"{"jsonrpc":"2.0","id":{},"method":"hello"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"hello","extra":true}"#,
        ] {
            assert_eq!(rejected_code(text), code::INVALID_REQUEST, "{text}");
        }
    }

    #[test]
    fn an_overlong_string_id_is_refused() {
        let id = "x".repeat(MAX_ID_LEN + 1);
        let text = format!(r#"{{"jsonrpc":"2.0","id":"{id}","method":"hello"}}"#);
        assert_eq!(rejected_code(&text), code::INVALID_REQUEST);
    }

    #[test]
    fn positional_params_are_invalid_params_answered_to_the_request_id() {
        let r = parse(r#"{"jsonrpc":"2.0","id":3,"method":"sign.data","params":["x"]}"#).err();
        assert_eq!(r.as_ref().map(|r| r.error.code), Some(code::INVALID_PARAMS));
        assert_eq!(r.map(|r| r.id), Some(json!(3)));
    }

    #[test]
    fn a_pin_anywhere_in_the_message_is_refused_with_a_message_saying_why() {
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"method":"sign.data","params":{"data":"AA==","pin":"1234"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"sign.batch","params":{"items":[{"method":"sign.data","params":{"PIN":"1"}}]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"sign.data","params":{"options":{"user_pin":"1"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"hello","pin":"1234"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"hello","params":{"password":"x"}}"#,
        ] {
            let r = parse(text).err();
            let e = r.as_ref().map(|r| r.error.clone());
            assert_eq!(
                e.as_ref().map(|e| e.code),
                Some(code::INVALID_REQUEST),
                "{text}"
            );
            assert_eq!(e.as_ref().map(|e| e.reason), Some(Reason::InvalidRequest));
            assert!(e.is_some_and(|e| e.message.contains("PIN") && e.hint.contains("dialog")));
            assert_eq!(
                r.map(|r| r.id),
                Some(json!(1)),
                "answered to the request's id"
            );
        }
    }

    #[test]
    fn a_duplicate_member_anywhere_is_an_invalid_request_answered_to_id_null() {
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"method":"sign.data","params":{"pin":"1234"},"params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"hello"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"sign.data","params":{"data":"AA==","data":"AQ=="}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"sign.batch","params":{"items":[{"method":"sign.data","method":"sign.hash"}]}}"#,
        ] {
            let r = parse(text).err();
            assert_eq!(
                r.as_ref().map(|r| r.error.code),
                Some(code::INVALID_REQUEST),
                "{text}"
            );
            assert!(r
                .as_ref()
                .is_some_and(|r| r.error.message.contains("twice")));
            assert_eq!(r.map(|r| r.id), Some(Value::Null));
        }
    }

    #[test]
    fn words_merely_containing_pin_are_not_pins() {
        assert!(parse(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"spinner":1,"pinned":2,"shipping":3}}"#).is_ok());
        assert!(
            parse(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"reason":"pin"}}"#).is_ok()
        );
    }

    #[test]
    fn backend_errors_map_to_codes_and_carry_reason_and_hint() {
        let e = RpcError::from(Error::new(Reason::PinLocked, "blocked").with_hint("call the CA"));
        assert_eq!(e.code, code::APPLICATION);
        assert_eq!(
            e.to_value(),
            json!({"code":-32000,"message":"blocked","data":{"reason":"PIN_LOCKED","hint":"call the CA"}})
        );
        assert_eq!(
            RpcError::from(Error::invalid_request("bad")).code,
            code::INVALID_PARAMS
        );
    }

    #[test]
    fn responses_and_notifications_have_the_jsonrpc_shape() {
        assert_eq!(
            success(&json!(1), json!({"a":1})),
            json!({"jsonrpc":"2.0","id":1,"result":{"a":1}})
        );
        assert_eq!(
            progress(&json!("r"), "signing"),
            json!({"jsonrpc":"2.0","method":"progress","params":{"id":"r","stage":"signing"}})
        );
        let f = failure(&Value::Null, &RpcError::method_not_found("nope"));
        assert_eq!(f["error"]["code"], json!(-32601));
        assert_eq!(f["id"], Value::Null);
    }
}
