//! CSV exports for tracers, in the shape health offices open in a spreadsheet.

use chrono::Utc;
use chrono_tz::Tz;

use crate::domain::contact_class::ContactClass;
use crate::domain::Visit;
use crate::service::contacts::Traced;

/// A cell a spreadsheet would run as a formula gets a leading `'` (OWASP, CSV injection).
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// CSV with a UTF-8 byte-order mark (so spreadsheet programs read Chinese right), one row per
/// person and shared visit (one row with empty visit cells for a tie by registration alone),
/// times in `tz` as `YYYY-MM-DD HH:MM:SS`. The first column names what the rows are about:
/// `("index_case", id)` for contacts, `("venue", id)` for an exposure report; `class`,
/// `degree` and `path` (ids joined by `>`) are empty in an exposure report.
///
/// # Errors
/// [`csv::Error`] if writing fails.
pub fn contacts_csv(
    (subject_header, subject): (&str, &str),
    found: &[Traced],
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
            "class",
            "degree",
            "path",
            "total_overlap_minutes",
            "venue_id",
            "overlap_from",
            "overlap_to",
            "overlap_minutes",
            "uncertain",
        ])?;
        let local =
            |t: chrono::DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string();
        let minutes = |d: chrono::Duration| format!("{:.2}", d.num_seconds() as f64 / 60.0);
        for t in found {
            let person = t.person.as_ref();
            let name = person.and_then(|p| p.name.as_deref()).unwrap_or("");
            let phone = person.map_or("", |p| p.phone.as_str());
            let home = person
                .and_then(|p| p.home.as_ref())
                .map_or("", |h| h.as_str());
            let class = t.class.map_or("", ContactClass::as_str).to_owned();
            let (degree, path) = match t.path.is_empty() {
                true => (String::new(), String::new()),
                false => (
                    t.degree().to_string(),
                    t.path
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(">"),
                ),
            };
            let head = [
                cell(subject),
                cell(t.resident_id.as_str()),
                cell(name),
                cell(phone),
                cell(home),
                class,
                degree,
                cell(&path),
                minutes(t.overlap()),
            ];
            let shared = t.contact.as_ref().map_or(&[][..], |c| &c.shared[..]);
            if shared.is_empty() {
                let blank = [
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ];
                w.write_record(head.iter().chain(blank.iter()))?;
            }
            for s in shared {
                let visit = [
                    cell(s.venue_id.as_str()),
                    local(s.from),
                    local(s.to),
                    minutes(s.length()),
                    s.uncertain.to_string(),
                ];
                w.write_record(head.iter().chain(visit.iter()))?;
            }
        }
        w.flush()?;
    }
    Ok(out)
}

/// A visit list as CSV, in the same shape as [`contacts_csv`] (UTF-8 with a byte-order mark,
/// times in `tz`, formula-like cells as text): one row per visit with its dwell time in
/// minutes (empty while open). `closed_by` is as stored: an open visit past its maximum stay
/// is shown by the caller already closed by `auto`.
///
/// # Errors
/// [`csv::Error`] if writing fails.
pub fn visits_csv(visits: &[Visit], tz: Tz) -> Result<Vec<u8>, csv::Error> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            "visit_id",
            "resident_id",
            "venue_id",
            "gate_in",
            "gate_out",
            "check_in",
            "check_out",
            "closed_by",
            "start_inferred",
            "dwell_minutes",
            "host",
        ])?;
        let local = |t: Option<chrono::DateTime<Utc>>| {
            t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default()
        };
        for v in visits {
            let gate = |g: &Option<crate::domain::Gate>| {
                g.as_ref().map_or(String::new(), |g| cell(g.as_str()))
            };
            let dwell = v
                .check_out
                .map(|out| format!("{:.2}", (out - v.start()).num_seconds() as f64 / 60.0))
                .unwrap_or_default();
            let closed_by = v
                .closed_by
                .and_then(|c| serde_json::to_value(c).ok())
                .and_then(|c| c.as_str().map(str::to_owned))
                .unwrap_or_default();
            w.write_record([
                cell(&v.id),
                cell(v.resident_id.as_str()),
                cell(v.venue_id.as_str()),
                gate(&v.gate_in),
                gate(&v.gate_out),
                local(v.check_in),
                local(v.check_out),
                closed_by,
                v.start_inferred.to_string(),
                dwell,
                v.host.as_ref().map_or(String::new(), |h| cell(h.as_str())),
            ])?;
        }
        w.flush()?;
    }
    Ok(out)
}
