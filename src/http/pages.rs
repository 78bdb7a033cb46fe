//! The pages people see, served by the service itself (no CDN, no build step): `GET /s/{token}`,
//! the resident's check-in page behind every poster's QR code, and the static assets of every
//! page (this one and the admin console's, `super::console`) under `/assets/`.
//!
//! A page is a fixed HTML file with the request's context embedded as JSON (`<script
//! type="application/json" id="context">`); the script renders every text with `textContent`,
//! so nothing from the context is ever parsed as HTML.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::Direction;
use crate::error::ApiError;
use crate::service::scans::describe_code;
use crate::state::AppState;

/// The check-in page; `{{CONTEXT}}` is replaced by the page's JSON context.
const SCAN_HTML: &str = include_str!("../../assets/web/scan.html");
/// The pages load only this service's own scripts and styles, call only its API, and may not
/// be framed (a poster's page inside another site could fake the result screen).
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";
/// Static assets: name, content type, body.
const ASSETS: [(&str, &str, &str); 4] = [
    (
        "scan.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/web/scan.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/web/app.css"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/web/admin.js"),
    ),
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/web/admin.css"),
    ),
];

/// Registers the routes of this module (at the root, beside `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/s/{token}").route(web::get().to(scan_page)))
        .service(web::resource("/assets/{name}").route(web::get().to(asset)));
}

/// What the check-in page needs to know about the scanned code.
#[derive(Debug, Serialize)]
struct ScanContext {
    /// The whole code text, as `POST /scans` takes it.
    code: String,
    /// The venue, when the code is good.
    venue: Option<VenueContext>,
    /// The gate.
    gate: Option<String>,
    /// The direction a one-way code fixes.
    direction: Option<Direction>,
    /// Whether the venue requires a temperature on check-in.
    temperature_required: bool,
    /// Why the code cannot be used, when it cannot.
    error: Option<ErrorContext>,
}

#[derive(Debug, Serialize)]
struct VenueContext {
    id: String,
    name: String,
    kind: String,
}

#[derive(Debug, Serialize)]
struct ErrorContext {
    code: &'static str,
    message: String,
}

/// The resident's check-in page for a poster's code. A code that a scan would refuse
/// (tampered, revoked, expired, unknown venue) gets the same page explaining why, with the
/// status the API would answer.
async fn scan_page(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let code = state.codes.code_text(&token);
    let (status, context) = match describe_code(&state, &code).await {
        Ok((venue, gate, direction)) => (
            actix_web::http::StatusCode::OK,
            ScanContext {
                temperature_required: state.policy.temperature_required.contains(&venue.kind),
                venue: Some(VenueContext {
                    id: venue.id.to_string(),
                    name: venue.name.clone(),
                    kind: venue.kind.as_str().to_owned(),
                }),
                gate: Some(gate.to_string()),
                direction,
                code,
                error: None,
            },
        ),
        Err(e) => {
            let e = ApiError::from(e);
            (
                e.status_code(),
                ScanContext {
                    code,
                    venue: None,
                    gate: None,
                    direction: None,
                    temperature_required: false,
                    error: Some(ErrorContext {
                        code: e.code(),
                        message: e.to_string(),
                    }),
                },
            )
        }
    };
    page(status, SCAN_HTML, &context)
}

/// A page: `template` with `{{CONTEXT}}` replaced by `context` as script-safe JSON, under the
/// pages' content security policy.
pub(crate) fn page(
    status: actix_web::http::StatusCode,
    template: &str,
    context: &impl Serialize,
) -> HttpResponse {
    let json = serde_json::to_string(context).unwrap_or_else(|_| "{}".to_owned());
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .body(
            template
                .replace("{{CONTEXT}}", &script_safe(&json))
                .replace("{{ASSETS}}", assets_version()),
        )
}

/// A short digest of every asset, put in the pages' asset URLs: a new release changes the URLs,
/// so no phone runs an hour-old cached script against a new page.
fn assets_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for (name, _, body) in &ASSETS {
            hash.update(name.as_bytes());
            hash.update(body.as_bytes());
        }
        hash.finalize()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// JSON made safe inside a `<script>` element: no `<` (so no `</script>`), and no line or
/// paragraph separators that older parsers choke on.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A static asset, cached for an hour.
async fn asset(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no asset {name}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *content_type))
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(3600),
        ]))
        .body(*body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_json_cannot_close_its_script_element() {
        let json =
            serde_json::json!({"name": "</script><script>alert(1)</script>\u{2028}"}).to_string();
        let safe = script_safe(&json);
        assert!(!safe.contains('<'));
        assert!(!safe.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back["name"], "</script><script>alert(1)</script>\u{2028}");
    }
}
