//! `HEAD` wherever `GET` is answered (RFC 9110, 9.3.2): a `HEAD` request is routed as a
//! `GET`, and the HTTP layer, which saw the request's own method, sends the answer's status
//! and headers without its body. Load balancers' checks and `curl -I` use it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// The middleware's function, for `App::wrap(from_fn(head_as_get))`.
///
/// # Errors
/// Whatever the wrapped service answers.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}
