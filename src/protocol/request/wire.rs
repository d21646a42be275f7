//! The params of each method as they arrive: private shapes serde reads
//! (`deny_unknown_fields` everywhere, so a misspelt field is an error, not
//! a silently ignored option), before the parent module checks their values.

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{decode_b64, KeyUsage, Method, UploadResolver};
use crate::protocol::blob::Blob;
use crate::protocol::jsonrpc::RpcError;
use crate::sign::DigestAlgorithm;

/// A binary field on the wire: a base64 string, or `{"upload": "<uploadId>"}`.
#[derive(Debug)]
pub(super) enum BinaryParam {
    Base64(String),
    Upload(String),
}

impl BinaryParam {
    pub(super) fn resolve(
        self,
        method: Method,
        field: &str,
        uploads: &mut dyn UploadResolver,
    ) -> Result<Blob, RpcError> {
        match self {
            BinaryParam::Base64(text) => Ok(Blob::from_vec(decode_b64(method, field, &text)?)),
            BinaryParam::Upload(id) => uploads.take_upload(&id).map_err(|e| RpcError {
                message: format!("{}: `{field}`: {}", method.name(), e.message),
                ..e
            }),
        }
    }
}

impl<'de> Deserialize<'de> for BinaryParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BinaryParam;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a base64 string or {\"upload\": \"<uploadId>\"}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BinaryParam, E> {
                Ok(BinaryParam::Base64(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<BinaryParam, E> {
                Ok(BinaryParam::Base64(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BinaryParam, A::Error> {
                let mut id: Option<String> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "upload" || id.is_some() {
                        return Err(de::Error::custom(format!(
                            "unexpected field `{key}` in an upload reference (only `upload`)"
                        )));
                    }
                    id = Some(map.next_value()?);
                }
                id.map(BinaryParam::Upload)
                    .ok_or_else(|| de::Error::missing_field("upload"))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CancelParams {
    pub(super) id: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UploadBeginParams {
    pub(super) size: u64,
    pub(super) sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct UploadChunkParams {
    pub(super) upload_id: String,
    pub(super) offset: u64,
    pub(super) data: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct UploadIdParams {
    pub(super) upload_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct DownloadReadParams {
    pub(super) download_id: String,
    pub(super) offset: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct DownloadIdParams {
    pub(super) download_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CertificatesListParams {
    #[serde(default)]
    pub(super) filter: Option<FilterParams>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FilterParams {
    #[serde(default)]
    pub(super) issuer: Option<String>,
    #[serde(default)]
    pub(super) class: Option<u32>,
    #[serde(default)]
    pub(super) key_usage: Option<Vec<KeyUsage>>,
    #[serde(default)]
    pub(super) valid_now: Option<bool>,
    #[serde(default)]
    pub(super) pan: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SignPdfParams {
    pub(super) document: BinaryParam,
    pub(super) file_name: String,
    #[serde(default)]
    pub(super) certificate_id: Option<String>,
    #[serde(default)]
    pub(super) reason: Option<String>,
    #[serde(default)]
    pub(super) location: Option<String>,
    #[serde(default)]
    pub(super) appearance: Option<Value>,
    #[serde(default)]
    pub(super) certify: Option<bool>,
    #[serde(default)]
    pub(super) password: Option<String>,
    #[serde(default)]
    pub(super) level: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct AppearanceParams {
    #[serde(default)]
    pub(super) page: Option<u32>,
    #[serde(default)]
    pub(super) x: Option<f64>,
    #[serde(default)]
    pub(super) y: Option<f64>,
    #[serde(default)]
    pub(super) width: Option<f64>,
    #[serde(default)]
    pub(super) height: Option<f64>,
    #[serde(default)]
    pub(super) uin: Option<String>,
    #[serde(default)]
    pub(super) qr: Option<String>,
    #[serde(default)]
    pub(super) qr_version: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SignDataParams {
    pub(super) data: BinaryParam,
    #[serde(default)]
    pub(super) certificate_id: Option<String>,
    #[serde(default)]
    pub(super) cosign: Option<BinaryParam>,
    #[serde(default)]
    pub(super) level: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SignHashParams {
    pub(super) digest: String,
    pub(super) digest_algorithm: DigestAlgorithm,
    #[serde(default)]
    pub(super) certificate_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignBatchParams {
    pub(super) items: Vec<BatchItemParams>,
    /// The level of every item that does not name its own.
    #[serde(default)]
    pub(super) level: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchItemParams {
    pub(super) method: String,
    pub(super) params: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyParams {
    pub(super) document: BinaryParam,
    #[serde(default)]
    pub(super) data: Option<BinaryParam>,
}
