//! HTTP: one module per resource, each with `configure(cfg)`, assembled here. Handlers parse,
//! call a service, and map the result; errors leave as the contract's error body.

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod body;
pub mod codes;
pub mod console;
pub mod flags;
pub mod guard;
pub mod me;
pub mod method_not_allowed;
pub mod metrics;
pub mod negotiate;
pub mod occupancy;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod params;
pub mod posters;
pub mod reports;
pub mod residents;
pub mod scan_batch;
pub mod scans;
pub mod trace;
pub mod vehicles;
pub mod venues;
pub mod views;
pub mod visitors;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;

/// Registers every route: the API under `/api/v1`, operations at the root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(body::json(body::JSON_LIMIT))
        .app_data(
            web::QueryConfig::default()
                .error_handler(|err, _| ApiError::InvalidInput(err.to_string()).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|err, _| ApiError::InvalidInput(err.to_string()).into()),
        )
        .app_data(web::PayloadConfig::default().limit(body::RAW_LIMIT))
        .configure(ops::configure)
        .configure(openapi::configure)
        .configure(codes::configure_root)
        .configure(pages::configure)
        .configure(console::configure)
        .service(
            web::scope("/api/v1")
                .configure(accounts::configure)
                .configure(alerts::configure)
                .configure(flags::configure)
                .configure(audit::configure)
                .configure(venues::configure)
                .configure(occupancy::configure)
                .configure(guard::configure)
                .configure(codes::configure)
                .configure(posters::configure)
                .configure(reports::configure)
                .configure(residents::configure)
                .configure(scans::configure)
                .configure(scan_batch::configure)
                .configure(me::configure)
                .configure(visitors::configure)
                .configure(trace::configure)
                .configure(vehicles::configure),
        )
        .default_service(web::to(not_found));
}

/// The answer to a path no route takes. It does not repeat the path: errors are logged, and a
/// path can hold a phone.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no {} route at this path",
        req.method()
    )))
}

/// Drops the values that serde quotes in backticks after "invalid type" or "invalid value"
/// (a phone or a password sent as a number would otherwise reach the answer and the log);
/// field names, which it quotes the same way elsewhere, stay.
fn redact_values(message: &str) -> String {
    let Some(at) = message
        .find("invalid type: ")
        .or_else(|| message.find("invalid value: "))
    else {
        return message.to_owned();
    };
    let (head, tail) = message.split_at(at);
    match (tail.find('`'), tail.find("`, ")) {
        (Some(open), Some(close)) if open < close => {
            format!("{head}{}{}", tail[..open].trim_end(), &tail[close + 1..])
        }
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_values;

    #[test]
    fn a_value_in_a_type_error_is_dropped_and_field_names_stay() {
        assert_eq!(
            redact_values("Json deserialize error: invalid type: integer `13812345678`, expected a string at line 1 column 22"),
            "Json deserialize error: invalid type: integer, expected a string at line 1 column 22"
        );
        let unknown = "unknown field `colour`, expected one of `code`, `direction`";
        assert_eq!(redact_values(unknown), unknown);
    }
}
