//! `GET /admin`: the admin console, one static page (`assets/web/admin.html` with its script
//! and style under `/assets/`) that signs staff in through the API and shows the sections their
//! role allows: venues, posters and presence, imports, live occupancy and audit for admins,
//! tracing for tracers and admins. The page itself holds no data, so it is served to anyone;
//! every call it makes is authorised by the API as any other client's.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::pages::page;

/// The console; `{{CONTEXT}}` is replaced by [`ConsoleContext`] as JSON.
const ADMIN_HTML: &str = include_str!("../../assets/web/admin.html");

/// How often the occupancy view asks for new counts, seconds.
pub const OCCUPANCY_POLL_SECONDS: u32 = 3;

/// Registers the routes of this module (at the root, beside `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin").route(web::get().to(console)));
}

/// What the console's script is told by the server.
#[derive(Debug, Serialize)]
struct ConsoleContext {
    /// See [`OCCUPANCY_POLL_SECONDS`].
    poll_seconds: u32,
}

/// The admin console page, under the pages' content security policy.
async fn console() -> HttpResponse {
    page(
        StatusCode::OK,
        ADMIN_HTML,
        &ConsoleContext {
            poll_seconds: OCCUPANCY_POLL_SECONDS,
        },
    )
}
