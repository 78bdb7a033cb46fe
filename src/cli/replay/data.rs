//! The sample town on disk: `venues.csv`, `residents.csv` and one `scans-*.jsonl` day of
//! scans, read once before the replay starts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Which way a scan goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Check-in.
    In,
    /// Check-out.
    Out,
}

/// One line of the scans file.
#[derive(Debug, Clone, Deserialize)]
pub struct ScanLine {
    /// The line number in the file, from 1 (filled in after parsing).
    #[serde(skip)]
    pub line: usize,
    /// When the scan happened on the sample day.
    pub ts: DateTime<FixedOffset>,
    /// Who scanned.
    pub resident_id: String,
    /// The venue id.
    pub venue: String,
    /// The gate's name.
    pub gate: String,
    /// In or out.
    pub direction: Direction,
    /// Temperature taken at the gate, °C.
    pub temperature_c: Option<f64>,
}

/// Everything a replay reads from the data directory.
#[derive(Debug)]
pub struct Town {
    /// `venues.csv`, as uploaded.
    pub venues_csv: Vec<u8>,
    /// `residents.csv`, as uploaded.
    pub residents_csv: Vec<u8>,
    /// Resident id → phone, from `residents.csv`.
    pub phones: HashMap<String, String>,
    /// The scans file's name, for the summary.
    pub scans_file: String,
    /// The scans, in file order.
    pub scans: Vec<ScanLine>,
}

impl Town {
    /// Reads the town in `dir`, keeping only the first `limit` scans when given.
    ///
    /// # Errors
    /// A missing or malformed file, with its path and line.
    pub fn load(dir: &Path, limit: Option<usize>) -> anyhow::Result<Self> {
        let venues_csv = read(&dir.join("venues.csv"))?;
        let residents_csv = read(&dir.join("residents.csv"))?;
        let phones = phones(&residents_csv).context("reading residents.csv")?;
        let scans_path = scans_file(dir)?;
        let text = String::from_utf8(read(&scans_path)?)
            .with_context(|| format!("{} is not UTF-8", scans_path.display()))?;
        let scans = parse_scans(&text, limit)
            .with_context(|| format!("reading {}", scans_path.display()))?;
        Ok(Self {
            venues_csv,
            residents_csv,
            phones,
            scans_file: scans_path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            scans,
        })
    }

    /// Everyone who scans, in order of first appearance, with their phone when known.
    pub fn scanners(&self) -> Vec<(String, Option<String>)> {
        let mut seen = std::collections::HashSet::new();
        self.scans
            .iter()
            .filter(|s| seen.insert(s.resident_id.as_str()))
            .map(|s| {
                (
                    s.resident_id.clone(),
                    self.phones.get(&s.resident_id).cloned(),
                )
            })
            .collect()
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The one `scans-*.jsonl` file in `dir`.
fn scans_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let stem = p.file_stem().and_then(|n| n.to_str());
            stem.is_some_and(|n| n.starts_with("scans-"))
                && p.extension().is_some_and(|e| e == "jsonl")
        })
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("no scans-*.jsonl file in {}", dir.display()),
        n => bail!("{n} scans-*.jsonl files in {}; keep one", dir.display()),
    }
}

/// Resident id → phone.
fn phones(csv_bytes: &[u8]) -> anyhow::Result<HashMap<String, String>> {
    #[derive(Deserialize)]
    struct Row {
        resident_id: String,
        phone: String,
    }
    let mut reader = csv::Reader::from_reader(csv_bytes);
    let mut phones = HashMap::new();
    for row in reader.deserialize::<Row>() {
        let row = row?;
        phones.insert(
            row.resident_id.trim().to_owned(),
            row.phone.trim().to_owned(),
        );
    }
    Ok(phones)
}

/// The scans of a JSON-lines text, blank lines skipped, at most `limit`.
fn parse_scans(text: &str, limit: Option<usize>) -> anyhow::Result<Vec<ScanLine>> {
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .take(limit.unwrap_or(usize::MAX));
    let mut scans = Vec::new();
    for (i, l) in lines {
        let mut scan: ScanLine =
            serde_json::from_str(l).with_context(|| format!("line {}", i + 1))?;
        scan.line = i + 1;
        scans.push(scan);
    }
    if scans.is_empty() {
        bail!("no scans");
    }
    Ok(scans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_lines_keep_their_line_numbers_and_optional_temperature() {
        let text = "{\"ts\": \"2020-02-16T07:00:04+08:00\", \"resident_id\": \"R1\", \"venue\": \"V\", \"gate\": \"北门\", \"direction\": \"out\"}\n\n\
                    {\"ts\": \"2020-02-16T07:01:00+08:00\", \"resident_id\": \"R2\", \"venue\": \"V\", \"gate\": \"北门\", \"direction\": \"in\", \"temperature_c\": 37.5}\n";
        let scans = parse_scans(text, None).unwrap();
        assert_eq!(scans.len(), 2);
        assert_eq!(scans[1].line, 3);
        assert_eq!(scans[1].direction, Direction::In);
        assert_eq!(scans[1].temperature_c, Some(37.5));
        assert_eq!(scans[0].temperature_c, None);
    }

    #[test]
    fn a_limit_keeps_only_the_first_scans() {
        let line = "{\"ts\": \"2020-02-16T07:00:04+08:00\", \"resident_id\": \"R1\", \"venue\": \"V\", \"gate\": \"G\", \"direction\": \"in\"}\n";
        let scans = parse_scans(&line.repeat(5), Some(2)).unwrap();
        assert_eq!(scans.len(), 2);
    }

    #[test]
    fn a_malformed_line_is_named() {
        let err = parse_scans("{\"ts\": \"nope\"}\n", None).unwrap_err();
        assert!(format!("{err:#}").contains("line 1"));
    }
}
