//! How large a body each route takes, and the extractors that enforce it with the contract's
//! error body: 413 `payload_too_large` for a body over the limit, 400 for one that is not what
//! the route reads.
//!
//! The limits are a few times the largest real body of each kind, so that no client of the
//! product meets them and a flood of bytes is cut early.

use actix_web::dev::{Decompress, Payload};
use actix_web::error::PayloadError;
use actix_web::http::header::{ContentEncoding, CONTENT_ENCODING, CONTENT_LENGTH};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::marker::PhantomData;

use crate::error::ApiError;

/// A JSON body anywhere not named below, bytes (a venue with its gates is under 2 kB).
pub const JSON_LIMIT: usize = 64 * 1024;
/// `POST /scans`, bytes: a scan is about 400, with ten household members about 1,500.
pub const SCAN_LIMIT: usize = 8 * 1024;
/// `POST /scans/batch`, bytes: up to 100 scans of up to about 1,500 bytes each.
pub const BATCH_LIMIT: usize = 256 * 1024;
/// Sign-in and account bodies (`/auth/*`, `/staff`), bytes: a phone, a code, a password.
pub const AUTH_LIMIT: usize = 1024;
/// A CSV import, bytes (the sample town's residents file is 650 kB).
pub const CSV_LIMIT: usize = 16 * 1024 * 1024;
/// Any other raw body, bytes.
pub const RAW_LIMIT: usize = 64 * 1024;

/// The most bytes (after any `Content-Encoding` is undone) a route's JSON body may have: app
/// data read by [`JsonObject`], set on a route or scope with [`json`].
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(usize);

/// The JSON body settings of a route taking at most `limit` bytes.
pub fn json(limit: usize) -> JsonLimit {
    JsonLimit(limit)
}

/// Whether the request says its body is JSON: `application/json` or a `+json` type.
fn says_json(req: &HttpRequest) -> bool {
    req.mime_type().ok().flatten().is_some_and(|m| {
        m.subtype().as_str() == "json" || m.suffix().is_some_and(|s| s.as_str() == "json")
    })
}

/// `T` read from a JSON object in `bytes`. A UTF-8 byte order mark before it is skipped:
/// JSON must not carry one, but a parser may ignore it (RFC 8259, 8.1), and editors and
/// PowerShell on Windows put one in. Read plainly first; only a body that fails is read again
/// to name the field its error is in ([`traced`]), which costs a string for every key read.
fn read_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = crate::service::imports::without_bom(bytes);
    if let Ok(Object(value)) = serde_json::from_slice::<Object<T>>(bytes) {
        return Ok(value);
    }
    serde_json::from_slice::<Traced<T>>(bytes)
        .map(|traced| traced.0)
        .map_err(|e| ApiError::InvalidJson(super::redact_values(&e.to_string())))
}

/// A JSON body that must be an object (`{…}`), read as `T` with the route's [`json`] settings.
///
/// serde's derived structs also take an array of their fields in order, which no client of
/// the contract sends: `["…", "in"]` would have been read as a scan, and `[[…]]` as a batch.
/// Anything but an object is a 400 `invalid_json` ("expected a JSON object").
pub struct JsonObject<T>(pub T);

impl<T> JsonObject<T> {
    /// The body read.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for JsonObject<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    /// # Errors
    /// 400 `invalid_json` for a body not sent as JSON, not JSON, or not a `T`; 413
    /// `payload_too_large` for one over the route's [`JsonLimit`] (said by `Content-Length`,
    /// or found while reading).
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<JsonLimit>().map_or(JSON_LIMIT, |l| l.0);
        let early = if !says_json(req) {
            Some(ApiError::InvalidJson(
                "the body must be JSON sent with Content-Type: application/json".into(),
            ))
        } else if req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .is_some_and(|length| length > limit)
        {
            Some(ApiError::PayloadTooLarge(limit))
        } else {
            None
        };
        let (encoded, early) = match content_encoded(req) {
            Ok(encoded) => (encoded, early),
            Err(e) => (false, early.or(Some(e))),
        };
        let body = actix_web::body::BodyStream::new(Decompress::from_headers(
            payload.take(),
            req.headers(),
        ));
        Box::pin(async move {
            if let Some(e) = early {
                return Err(e);
            }
            let bytes = match actix_web::body::to_bytes_limited(body, limit).await {
                Err(_) => return Err(ApiError::PayloadTooLarge(limit)),
                Ok(Err(PayloadError::Overflow)) => return Err(ApiError::PayloadTooLarge(limit)),
                Ok(Err(e)) => return Err(ApiError::InvalidJson(unread(&e, encoded))),
                Ok(Ok(bytes)) => bytes,
            };
            read_object(&bytes).map(JsonObject)
        })
    }
}

/// Whether the request says its body is compressed (a `Content-Encoding` other than
/// `identity`), which actix undoes while reading it.
///
/// # Errors
/// [`ApiError::UnsupportedEncoding`] for a coding actix does not decode (it would read the
/// body as it came, as if there were none).
fn content_encoded(req: &HttpRequest) -> Result<bool, ApiError> {
    let Some(value) = req.headers().get(CONTENT_ENCODING) else {
        return Ok(false);
    };
    let text = value.to_str().unwrap_or_default();
    match text.parse::<ContentEncoding>() {
        Ok(ContentEncoding::Identity) => Ok(false),
        Ok(_) => Ok(true),
        Err(_) => Err(ApiError::UnsupportedEncoding(
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        )),
    }
}

/// Why a body (not over its limit) could not be read, in plain words for the client: actix's
/// own text is Rust's debug form of an I/O error. A body cut short (the connection closed
/// before `Content-Length` bytes, or before the last chunk) and one that does not decode as
/// its `Content-Encoding` says are both the client's: 400.
fn unread(e: &PayloadError, encoded: bool) -> String {
    match e {
        // actix's decoders report a body that is not valid gzip, deflate, brotli or zstd as
        // an incomplete payload with the decoder's error; a connection that closed early has
        // none.
        PayloadError::Incomplete(Some(_)) | PayloadError::EncodingCorrupted if encoded => {
            "the body is not valid for the Content-Encoding it was sent with: send it encoded \
             as that header says, or without the header"
                .into()
        }
        PayloadError::EncodingCorrupted => {
            "the body's chunked transfer encoding is broken: send it again".into()
        }
        PayloadError::UnknownLength => {
            "the body's length is unknown: send it with Content-Length or chunked".into()
        }
        _ => "the connection closed before the whole body arrived: send it again".into(),
    }
}

/// A body's [`Object`] whose errors name where in the body they are (see [`traced`]).
struct Traced<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Traced<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        traced::<D, Object<T>>(deserializer).map(|object| Traced(object.0))
    }
}

/// `T` read from `deserializer`, an error naming the field it is in before serde's words, as a
/// path into the body: `location.lat: invalid type: …`, `members[1].resident_id: …`. Nothing
/// is put before an error outside any field (a body that is not an object, a missing field of
/// the body itself, JSON broken where a key belongs), and an unknown field is not named twice
/// (`location: unknown field `x`, expected …`).
///
/// # Errors
/// serde's error for `T`, with the path before its message.
pub fn traced<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    use serde_path_to_error::Segment;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let mut segments: Vec<&Segment> = e.path().iter().collect();
        let unknown = segments.iter().any(|s| matches!(s, Segment::Unknown));
        let message = e.inner().to_string();
        if message.starts_with("unknown field ") {
            // The path ends with the unknown key itself, which the message names.
            segments.pop();
        }
        if unknown || segments.is_empty() {
            return e.into_inner();
        }
        let mut path = String::new();
        for segment in segments {
            match segment {
                Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                other => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&other.to_string());
                }
            }
        }
        if message.starts_with(&format!("{path}: ")) {
            // A field's own check that names the field already (`location: lat must be …`).
            return e.into_inner();
        }
        D::Error::custom(format!("{path}: {message}"))
    })
}

/// `T`, read only from a JSON object (see [`JsonObject`]); for JSON read otherwise, such as
/// each scan of a batch.
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// `deserialize_with` for a field holding one object (see [`Object`]): an array of the
/// object's fields is refused as it is at the top of a body.
///
/// # Errors
/// serde's "invalid type: …, expected a JSON object" for anything but an object.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Object::deserialize(d).map(|o| o.0)
}

/// `deserialize_with` for an optional object (`null` or absent with `serde(default)`: `None`).
///
/// # Errors
/// As [`object`].
pub fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(d).map(|o| o.map(|o| o.0))
}

/// `deserialize_with` for a field that may be sent as `null` to clear it (`Some(None)`) or left
/// out to keep it (`None`, with `serde(default)`), holding an object when sent.
///
/// # Errors
/// As [`object`].
pub fn present_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    optional_object(d).map(Some)
}

/// `deserialize_with` for a list of objects.
///
/// # Errors
/// As [`object`], for any item.
pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<Object<T>>::deserialize(d).map(|v| v.into_iter().map(|o| o.0).collect())
}

/// `deserialize_with` for an optional list of objects.
///
/// # Errors
/// As [`object`], for any item.
pub fn optional_objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Option::<Vec<Object<T>>>::deserialize(d)
        .map(|v| v.map(|v| v.into_iter().map(|o| o.0).collect()))
}

/// A CSV import's body, at most [`CSV_LIMIT`] bytes.
pub struct CsvBody(pub web::Bytes);

impl FromRequest for CsvBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // `PayloadConfig` set on the import routes says the limit; `Bytes` enforces it.
        let encoded = match content_encoded(req) {
            Ok(encoded) => encoded,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let read = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            read.await
                .map(CsvBody)
                .map_err(|e| match e.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(CSV_LIMIT),
                    Some(e) => ApiError::InvalidInput(unread(e, encoded)),
                    None => ApiError::InvalidInput("the body could not be read".into()),
                })
        })
    }
}

/// The raw-body settings of an import route.
pub fn csv() -> web::PayloadConfig {
    web::PayloadConfig::default().limit(CSV_LIMIT)
}
