//! The OpenAPI document, assembled from the handlers' and types' annotations, served at
//! `/openapi.json`.

use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    accounts, alerts, audit, codes, flags, guard, me, occupancy, ops, posters, reports, residents,
    scan_batch, scans, trace, vehicles, venues, views, visitors,
};

/// The service's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "checkin", description = "Epidemic check-in backend: venues, QR posters, scans, presence, tracing."),
    paths(
        accounts::login, accounts::request_otp, accounts::resident_login, accounts::create_staff, accounts::sign_out_staff_everywhere,
        venues::create, venues::list, venues::get, venues::patch, venues::import,
        venues::presence, occupancy::occupancy, posters::poster_png, posters::poster_svg,
        posters::poster_pdf, posters::batch_pdf, codes::rotate_version, codes::special_code,
        codes::live_code, codes::list_keys, codes::rotate_key, codes::retire_key, codes::jwks, residents::import, scans::scan, scan_batch::batch, me::me, me::my_visits, me::sign_out_everywhere, residents::revoke_sign_ins,
        audit::list, alerts::list, flags::list, reports::daily, guard::recent, visitors::register, visitors::list, visitors::revoke, trace::resident_visits, trace::venue_visits, trace::contacts, trace::venue_exposure,
        vehicles::register, vehicles::at_checkpoint, vehicles::by_plate,
        ops::healthz, ops::readyz, ops::metrics, openapi,
    ),
    components(schemas(
        crate::error::ErrorBody, crate::error::ErrorDetail, views::VisitView, views::VisitList,
        views::VenueView, views::GateCode, views::ContactView, views::SharedVisitView,
        views::ContactList, crate::service::scans::ScanAnswer,
        crate::service::imports::ImportReport, crate::service::imports::RowError,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Registers `/openapi.json`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/openapi.json").route(web::get().to(openapi)));
}

/// The OpenAPI 3.1 document of this service.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
