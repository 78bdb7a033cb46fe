//! CSV exports for tracers, in the shape health offices open in a spreadsheet.

use chrono::Utc;
use chrono_tz::Tz;

use crate::domain::contacts::Contact;
use crate::domain::Resident;

/// A cell a spreadsheet would run as a formula gets a leading `'` (OWASP, CSV injection).
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// CSV with a UTF-8 byte-order mark (so spreadsheet programs read Chinese right), one row per
/// contact and shared visit, times in `tz` as `YYYY-MM-DD HH:MM:SS`. The first column names
/// what the rows are about: `("index_case", id)` for contacts, `("venue", id)` for an exposure
/// report.
///
/// # Errors
/// [`csv::Error`] if writing fails.
pub fn contacts_csv(
    (subject_header, subject): (&str, &str),
    found: &[(Contact, Option<Resident>)],
    tz: Tz,
) -> Result<Vec<u8>, csv::Error> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            subject_header,
            "resident_id",
            "name",
            "phone",
            "home",
            "total_overlap_minutes",
            "venue_id",
            "overlap_from",
            "overlap_to",
            "overlap_minutes",
            "uncertain",
        ])?;
        let local =
            |t: chrono::DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string();
        for (c, person) in found {
            let name = person
                .as_ref()
                .and_then(|p| p.name.as_deref())
                .unwrap_or("");
            let phone = person.as_ref().map_or("", |p| p.phone.as_str());
            let home = person
                .as_ref()
                .and_then(|p| p.home.as_ref())
                .map_or("", |h| h.as_str());
            for s in &c.shared {
                w.write_record([
                    cell(subject),
                    cell(c.resident_id.as_str()),
                    cell(name),
                    cell(phone),
                    cell(home),
                    format!("{:.2}", c.overlap.num_seconds() as f64 / 60.0),
                    cell(s.venue_id.as_str()),
                    local(s.from),
                    local(s.to),
                    format!("{:.2}", s.length().num_seconds() as f64 / 60.0),
                    s.uncertain.to_string(),
                ])?;
            }
        }
        w.flush()?;
    }
    Ok(out)
}
