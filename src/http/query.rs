//! The query string extractor every route uses: a parameter that is missing, unknown, given
//! twice or not of its type is a 400 `invalid_input` whose message names the parameter and
//! says what was wrong (actix's own `web::Query` says only "Query deserialize error").

use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A route's query parameters, read as `T`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The parameters read.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    /// # Errors
    /// 400 `invalid_input` naming the parameter (see [`parse`]).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

/// `T` read from a query string (without its `?`).
///
/// # Errors
/// 400 `invalid_input`: `limit: must be a whole number (digits 0-9)`, `phone: this query
/// parameter is required`, `dryrun: unknown query parameter, expected `dry_run``, `gate:
/// given twice`.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(query.as_bytes());
    super::body::traced(serde_urlencoded::Deserializer::new(pairs))
        .map_err(|e: serde_urlencoded::de::Error| ApiError::InvalidInput(in_words(&e.to_string())))
}

/// serde's and the standard library's words for a query error, as `parameter: what`.
fn in_words(message: &str) -> String {
    let named = |prefix: &str| {
        let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
        let (name, tail) = rest.split_once('`')?;
        Some((name.to_owned(), tail.to_owned()))
    };
    if let Some((name, _)) = named("missing field ") {
        return format!("{name}: this query parameter is required");
    }
    if let Some((name, tail)) = named("unknown field ") {
        let expected = tail.strip_prefix(", ").unwrap_or(&tail);
        return match expected {
            "there are no fields" | "" => {
                format!("{name}: unknown query parameter; this path takes none")
            }
            _ => format!("{name}: unknown query parameter, {expected}"),
        };
    }
    if let Some((name, _)) = named("duplicate field ") {
        return format!("{name}: given twice");
    }
    // `traced` put the parameter before the value's error.
    let Some((name, what)) = message.split_once(": ") else {
        return super::redact_values(message);
    };
    let what = match what {
        "invalid digit found in string" => "must be a whole number (digits 0-9)",
        "cannot parse integer from empty string" => "is empty: give a whole number",
        "number too large to fit in target type" => "is too large",
        "number too small to fit in target type" => "is too small",
        "provided string was not `true` or `false`" => "must be true or false",
        "invalid float literal" => "must be a number",
        other => return format!("{name}: {}", super::redact_values(other)),
    };
    format!("{name}: {what}")
}

#[cfg(test)]
mod tests {
    use super::in_words;

    #[test]
    fn each_kind_of_query_error_names_its_parameter() {
        assert_eq!(
            in_words("missing field `phone`"),
            "phone: this query parameter is required"
        );
        assert_eq!(
            in_words("unknown field `dryrun`, expected `dry_run`"),
            "dryrun: unknown query parameter, expected `dry_run`"
        );
        assert_eq!(in_words("duplicate field `gate`"), "gate: given twice");
        assert_eq!(
            in_words("limit: invalid digit found in string"),
            "limit: must be a whole number (digits 0-9)"
        );
        assert_eq!(
            in_words("dry_run: provided string was not `true` or `false`"),
            "dry_run: must be true or false"
        );
    }
}
