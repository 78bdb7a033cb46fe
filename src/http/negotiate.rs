//! Answer formats chosen by the `Accept` header: JSON by default, CSV (`text/csv`) for
//! exports, HTML (`text/html`) for printable pages.

use actix_web::{http::header, HttpRequest, HttpResponse};

use crate::error::ApiError;

/// Whether the request's `Accept` names `media` (e.g. `text/csv`), case-insensitively.
pub fn wants(req: &HttpRequest, media: &str) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains(media))
}

/// Whether the request asks for CSV (`Accept: text/csv`).
pub fn wants_csv(req: &HttpRequest) -> bool {
    wants(req, "text/csv")
}

/// A CSV download named `{name}.csv`; a failed export is logged and answered 500.
///
/// # Errors
/// [`ApiError::Internal`] when the CSV could not be written.
pub fn csv_answer(csv: Result<Vec<u8>, csv::Error>, name: &str) -> Result<HttpResponse, ApiError> {
    let csv = csv.map_err(|e| {
        tracing::error!(error = %e, "csv export failed");
        ApiError::Internal
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(csv))
}
