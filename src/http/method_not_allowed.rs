//! 405 answers with the contract's error body. A route's resource answers a method it does not
//! take with an empty 405 and an `Allow` header; this middleware gives it the
//! `{"error": {"code", "message"}}` body every other error has, keeping `Allow`.

use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::ResponseError;

use crate::error::ApiError;

/// The middleware, for `App::wrap`.
pub fn middleware<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, with_body)
}

fn with_body<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, old) = res.into_parts();
    let mut answer = ApiError::MethodNotAllowed(req.method().to_string()).error_response();
    if let Some(allow) = old.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    let res = ServiceResponse::new(req, answer).map_body(|_, body| EitherBody::right(body));
    Ok(ErrorHandlerResponse::Response(res))
}
