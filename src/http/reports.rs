//! `/reports/daily`: the street office's evening report (contract; compound policy issue),
//! for admins, as JSON, CSV (`Accept: text/csv`) or a printable page (`Accept: text/html`).
//! It holds counts, not personal data, so reading it is not audited.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::negotiate::{csv_answer, wants, wants_csv};
use crate::auth::extract::{AdminUser, Authed};
use crate::domain::report::Scope;
use crate::domain::ParseError;
use crate::error::ApiError;
use crate::service::report_export;
use crate::service::reports::{self, DailyReport, ReportError};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports/daily").route(web::get().to(daily)));
}

/// Parameters of the daily report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DailyParams {
    /// The local day, `YYYY-MM-DD` (default: today in the configured zone).
    pub date: Option<String>,
    /// `street` (default), `community:NAME` or `venue:ID`.
    pub scope: Option<String>,
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Parse(p) => p.into(),
            ReportError::UnknownScope(_) => ApiError::NotFound(e.to_string()),
            ReportError::Store(s) => s.into(),
        }
    }
}

/// A day's figures for a venue, a community or the street: check-ins, check-outs, distinct
/// people, visitors, denials by reason, fevers, alerts, watch-listed people by tag, occupancy at
/// 22:00 and checkpoint vehicles. Rows for each community (street) and venue follow the total.
#[utoipa::path(get, path = "/api/v1/reports/daily", tag = "reports", params(DailyParams),
    security(("bearer" = [])),
    responses((status = 200,
        description = "JSON, CSV with `Accept: text/csv`, a printable page with `Accept: text/html`",
        content((DailyReport = "application/json"), (String = "text/csv"), (String = "text/html"))),
        (status = 404, description = "no venue in the scope")))]
pub async fn daily(
    asked: Authed<AdminUser, super::query::Query<DailyParams>>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = asked.then;
    let now = state.clock.now();
    let date = match q.date.as_deref() {
        Some(raw) => NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| ParseError::new("date", format!("{raw:?} is not YYYY-MM-DD")))?,
        None => now.with_timezone(&state.tz).date_naive(),
    };
    let scope = Scope::parse(q.scope.as_deref().unwrap_or("street"))?;
    let report = reports::daily(
        state.store.as_ref(),
        state.tz,
        &state.settings.checkpoints.home_province,
        &scope,
        date,
        now,
    )
    .await?;
    answer(&req, &report)
}

fn answer(req: &HttpRequest, report: &DailyReport) -> Result<HttpResponse, ApiError> {
    if wants_csv(req) {
        let mut answer = csv_answer(
            report_export::csv(report),
            &format!("daily-{}", report.date),
        )?;
        // The scope may be Chinese (a community): the RFC 6266 `filename*` form carries it.
        let disposition = format!(
            "attachment; filename=\"daily-{date}.csv\"; filename*=UTF-8''daily-{date}-{scope}.csv",
            date = report.date,
            scope = percent_encoded(&report.scope)
        );
        if let Ok(value) = header::HeaderValue::from_str(&disposition) {
            answer
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
        return Ok(answer);
    }
    if wants(req, "text/html") {
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(report_export::html(report)));
    }
    Ok(HttpResponse::Ok().json(report))
}

/// The scope percent-encoded for `filename*` (RFC 5987: unreserved characters stay).
fn percent_encoded(scope: &str) -> String {
    scope
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
