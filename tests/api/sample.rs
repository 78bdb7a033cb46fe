//! The sample town (`samples/gucheng`) as tests read it: its files, and importing it.

use chrono::Duration;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// Where the sample town's files are.
pub const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/gucheng");

/// One line of `scans-2020-02-16.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct ScanLine {
    pub ts: chrono::DateTime<chrono::FixedOffset>,
    pub resident_id: String,
    pub venue: String,
    pub gate: String,
    pub direction: String,
    pub temperature_c: Option<f64>,
}

/// One row of `residents.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResidentRow {
    pub resident_id: String,
    pub phone: String,
    pub home: String,
    pub tags: String,
}

/// One row of `venues.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct VenueRow {
    pub code: String,
    pub kind: String,
    pub community: String,
}

/// Reads a CSV file of the sample.
pub fn rows<T: serde::de::DeserializeOwned>(file: &str) -> Vec<T> {
    let mut reader = csv::Reader::from_path(format!("{SAMPLE}/{file}"))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    reader
        .deserialize()
        .map(|r| r.unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect()
}

/// The day's scans, in file order.
pub fn scans() -> Vec<ScanLine> {
    let text = std::fs::read_to_string(format!("{SAMPLE}/scans-2020-02-16.jsonl"))
        .unwrap_or_else(|e| panic!("scans: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Posts one of the sample's CSV files as an admin and checks every row was taken.
pub async fn admin_post_csv(app: &TestApp, path: &str, file: &str) -> Value {
    let admin = app.admin().await;
    let body = std::fs::read(format!("{SAMPLE}/{file}")).unwrap_or_else(|e| panic!("{file}: {e}"));
    let a = app
        .send(
            app.client
                .post(app.url(path))
                .bearer_auth(&admin)
                .header("content-type", "text/csv")
                .body(body),
        )
        .await;
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    assert_eq!(a.body["errors"], json!([]), "{path}: {}", a.body);
    a.body
}

/// The contract's default maximum stay of a venue kind ("Visit rules", rule 4).
pub fn max_stay(kind: &str) -> Duration {
    match kind {
        "residential_compound" | "hotel" => Duration::hours(24),
        "market" => Duration::hours(4),
        "restaurant" => Duration::hours(3),
        "shop" => Duration::hours(2),
        "checkpoint" => Duration::zero(),
        other => panic!("unknown venue kind {other}"),
    }
}
