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
pub mod head;
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
pub mod query;
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

/// Registers every route: the API under `/api/v1`, operations at the root. Query strings are
/// read by [`query::Query`], which names the parameter in its errors.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(body::json(body::JSON_LIMIT))
        .app_data(
            web::PathConfig::default()
                .error_handler(|err, _| ApiError::InvalidInput(err.to_string()).into()),
        )
        .app_data(web::PayloadConfig::default().limit(body::RAW_LIMIT))
        // actix tries routes in the order registered, and a path with a `{param}` costs a
        // regex match: the API comes first and scans first in it, as most requests are scans.
        .service(
            web::scope("/api/v1")
                .configure(scans::configure)
                .configure(scan_batch::configure)
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
                .configure(me::configure)
                .configure(visitors::configure)
                .configure(trace::configure)
                .configure(vehicles::configure),
        )
        .configure(ops::configure)
        .configure(openapi::configure)
        .configure(codes::configure_root)
        .configure(pages::configure)
        .configure(console::configure)
        .default_service(web::to(not_found));
}

/// The answer to a path no route takes. It does not repeat the path: errors are logged, and a
/// path can hold a phone.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no {} route at this path",
        head::asked_method(&req)
    )))
}

/// Drops the values that serde quotes in backticks after "invalid type" or "invalid value"
/// (a phone or a password sent as a number would otherwise reach the answer and the log);
/// field names, which it quotes the same way elsewhere, stay.
fn redact_values(message: &str) -> String {
    let message = &plain_words(message);
    let Some(at) = message
        .find("invalid type: ")
        .or_else(|| message.find("invalid value: "))
    else {
        return message.to_owned();
    };
    let (head, tail) = message.split_at(at);
    // A string is quoted in double quotes (`invalid type: string "…", expected …`): up to
    // serde's own ending, the last `", expected `, since the text may hold anything.
    if let (Some(open), Some(close)) = (tail.find("string \""), tail.rfind("\", expected ")) {
        if open < close && !tail[..open].contains('`') {
            return format!("{head}{}string{}", &tail[..open], &tail[close + 1..]);
        }
    }
    match (tail.find('`'), tail.find("`, ")) {
        (Some(open), Some(close)) if open < close => {
            format!("{head}{}{}", tail[..open].trim_end(), &tail[close + 1..])
        }
        _ => message.to_owned(),
    }
}

/// serde's words name our Rust types: an array or a value where an object belongs ("invalid
/// length 0, expected struct BatchBody with 1 element" for a body of `[]`) becomes "a JSON
/// object" ("an array" for the length), and a number's type (`expected u32`) its range in
/// words. Only serde's own ending of the message is read (`, expected TYPE[ with N
/// element(s)][ at line L column C]`), so text a client sent, quoted earlier in the message,
/// is never taken for it.
fn plain_words(message: &str) -> String {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    // " at line L column C", if the message ends with it.
    let position = message.rfind(" at line ").filter(|&at| {
        let rest = &message[at + " at line ".len()..];
        rest.split_once(" column ")
            .is_some_and(|(l, c)| digits(l) && digits(c))
    });
    let (body, position) = message.split_at(position.unwrap_or(message.len()));
    // A body that is not an object (`body::JsonObject`): serde calls an array a sequence.
    if let Some(head) = body.strip_suffix(", expected a JSON object") {
        return match head.strip_suffix("invalid type: sequence") {
            // Without serde_json's position, which points before the `[` (column 0).
            Some(head) => format!("{head}invalid type: array, expected a JSON object"),
            None => message.to_owned(),
        };
    }
    // A number's Rust type ("expected u32") in words.
    if let Some((head, rust)) = body.rsplit_once(", expected ") {
        let words = match rust {
            "f32" | "f64" => Some("a number"),
            "u8" => Some("a whole number from 0 to 255"),
            "u16" => Some("a whole number from 0 to 65535"),
            "u32" => Some("a whole number from 0 to 4294967295"),
            "u64" | "usize" => Some("a whole number, 0 or more"),
            "i8" | "i16" | "i32" | "i64" | "isize" => Some("a whole number"),
            _ => None,
        };
        if let Some(words) = words {
            return format!("{head}, expected {words}{position}");
        }
    }
    let Some(at) = body.rfind(", expected struct ") else {
        return message.to_owned();
    };
    let (head, tail) = body.split_at(at);
    let tail = &tail[", expected struct ".len()..];
    let (name, with) = tail.split_once(' ').unwrap_or((tail, ""));
    let elements = with.strip_prefix("with ").and_then(|w| {
        w.strip_suffix(" elements")
            .or_else(|| w.strip_suffix(" element"))
    });
    let named = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !named || !(with.is_empty() || elements.is_some_and(digits)) {
        return message.to_owned();
    }
    let head = match head.rfind("invalid length ") {
        Some(l) if digits(&head[l + "invalid length ".len()..]) => {
            format!("{}invalid type: array", &head[..l])
        }
        _ => head.to_owned(),
    };
    format!("{head}, expected a JSON object{position}")
}

#[cfg(test)]
mod tests {
    use super::redact_values;

    #[test]
    fn an_array_where_an_object_belongs_is_named_without_our_types() {
        assert_eq!(
            redact_values("Json deserialize error: invalid length 0, expected struct BatchBody with 1 element at line 1 column 2"),
            "Json deserialize error: invalid type: array, expected a JSON object at line 1 column 2"
        );
        assert_eq!(
            redact_values("invalid type: string \"x\", expected struct ScanBody"),
            "invalid type: string, expected a JSON object"
        );
        assert_eq!(
            redact_values("Json deserialize error: invalid type: sequence, expected a JSON object at line 1 column 1"),
            "Json deserialize error: invalid type: array, expected a JSON object"
        );
    }

    #[test]
    fn a_numbers_rust_type_is_said_in_words() {
        assert_eq!(
            redact_values("Json deserialize error: invalid value: integer `-1`, expected u32 at line 1 column 25"),
            "Json deserialize error: invalid value: integer, expected a whole number from 0 to 4294967295 at line 1 column 25"
        );
        assert_eq!(
            redact_values("invalid type: map, expected f64"),
            "invalid type: map, expected a number"
        );
    }

    #[test]
    fn a_string_in_a_type_error_is_dropped() {
        assert_eq!(
            redact_values(r#"invalid type: string "13812345678", expected a JSON object"#),
            "invalid type: string, expected a JSON object"
        );
        assert_eq!(
            redact_values(
                r#"phone: invalid value: string "a", expected x", expected a phone at line 1 column 9"#
            ),
            "phone: invalid value: string, expected a phone at line 1 column 9"
        );
    }

    #[test]
    fn text_a_client_sent_is_not_taken_for_serdes_words() {
        let unknown = "unknown field `expected struct `, expected one of `code`, `direction` at line 1 column 30";
        assert_eq!(redact_values(unknown), unknown);
        let odd = "invalid length 3, expected struct Thing with many elements";
        assert_eq!(redact_values(odd), odd);
    }

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
