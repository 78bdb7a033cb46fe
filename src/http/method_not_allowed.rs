//! 405 answers with the contract's error body. A route's resource answers a method it does not
//! take with an empty 405 and an `Allow` header; this middleware gives it the
//! `{"error": {"code", "message"}}` body every other error has, keeping `Allow`, to which it
//! adds `HEAD` wherever `GET` is allowed (`head.rs` answers it; RFC 9110, 9.3.2).

use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::ResponseError;

use crate::error::ApiError;

/// The middleware, for `App::wrap`.
pub fn middleware<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, with_body)
}

fn with_body<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, old) = res.into_parts();
    let mut answer = ApiError::MethodNotAllowed(super::head::asked_method(&req)).error_response();
    if let Some(allow) = old.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, with_head(allow));
    }
    let res = ServiceResponse::new(req, answer).map_body(|_, body| EitherBody::right(body));
    Ok(ErrorHandlerResponse::Response(res))
}

/// `allow` with `HEAD` after `GET` when it has `GET` and not `HEAD` (actix lists the methods a
/// resource registered, and `HEAD` is answered by `head.rs`, not by a route).
fn with_head(allow: &HeaderValue) -> HeaderValue {
    let Ok(text) = allow.to_str() else {
        return allow.clone();
    };
    let methods: Vec<&str> = text.split(',').map(str::trim).collect();
    if !methods.contains(&"GET") || methods.contains(&"HEAD") {
        return allow.clone();
    }
    let mut listed: Vec<&str> = Vec::with_capacity(methods.len() + 1);
    for m in methods {
        listed.push(m);
        if m == "GET" {
            listed.push("HEAD");
        }
    }
    HeaderValue::from_str(&listed.join(", ")).unwrap_or_else(|_| allow.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_listed_after_get_and_only_where_get_is() {
        let allow = |s: &'static str| with_head(&HeaderValue::from_static(s));
        assert_eq!(allow("GET, PATCH"), "GET, HEAD, PATCH");
        assert_eq!(allow("POST"), "POST");
        assert_eq!(allow("GET, HEAD"), "GET, HEAD");
    }
}
