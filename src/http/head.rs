//! `HEAD` wherever `GET` is answered (RFC 9110, 9.3.2): a `HEAD` request is routed as a
//! `GET`, and the HTTP layer, which saw the request's own method, sends the answer's status
//! and headers without its body. Load balancers' checks and `curl -I` use it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

/// Kept in a request's extensions when it came as `HEAD` and is routed as `GET`.
#[derive(Clone, Copy)]
struct AskedHead;

/// The method the client sent (`HEAD` for one routed as `GET`), for error messages.
pub fn asked_method(req: &HttpRequest) -> String {
    if req.extensions().get::<AskedHead>().is_some() {
        Method::HEAD.to_string()
    } else {
        req.method().to_string()
    }
}

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
        req.extensions_mut().insert(AskedHead);
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::from_fn;
    use actix_web::{test, web, App, HttpResponse};

    use super::*;

    #[actix_web::test]
    async fn a_head_routed_as_get_is_still_named_head_in_messages() {
        let app =
            test::init_service(App::new().wrap(from_fn(head_as_get)).route(
                "/m",
                web::get().to(|req: HttpRequest| async move {
                    HttpResponse::Ok().body(asked_method(&req))
                }),
            ))
            .await;
        for (method, named) in [(Method::HEAD, "HEAD"), (Method::GET, "GET")] {
            let req = test::TestRequest::default()
                .method(method)
                .uri("/m")
                .to_request();
            let body = test::call_and_read_body(&app, req).await;
            assert_eq!(body, named);
        }
    }
}
