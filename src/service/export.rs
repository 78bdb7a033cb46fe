//! CSV exports for tracers, in the shape health offices open in a spreadsheet.

use chrono::Utc;
use chrono_tz::Tz;

use crate::domain::contact_class::ContactClass;
use crate::domain::scan::Decision;
use crate::domain::vehicle::{OfficerDecision, VehiclePass};
use crate::domain::Visit;
use crate::service::contacts::Traced;

/// A cell a spreadsheet would run as a formula gets a leading `'` (OWASP, CSV injection).
pub(crate) fn cell(s: &str) -> String {
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

/// Vehicle passes as CSV, in the same shape as [`contacts_csv`] (UTF-8 with a byte-order mark,
/// times in `tz` as `YYYY-MM-DD HH:MM:SS`, formula-like cells as text): one row per listed
/// passenger with their pass visit (`resident_id`, `visit_id`, `scan_decision` empty for a
/// passenger without a phone), or one row with empty passenger cells when none was listed.
/// `temperature_c` is °C.
///
/// # Errors
/// [`csv::Error`] if writing fails.
pub fn vehicle_passes_csv(passes: &[VehiclePass], tz: Tz) -> Result<Vec<u8>, csv::Error> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            "pass_id",
            "at",
            "venue_id",
            "gate",
            "plate",
            "origin_province",
            "origin_city",
            "passenger_count",
            "decision",
            "reason",
            "officer",
            "passenger",
            "name",
            "phone",
            "temperature_c",
            "resident_id",
            "visit_id",
            "scan_decision",
        ])?;
        for p in passes {
            let decision = match p.decision {
                OfficerDecision::LetThrough => "let_through",
                OfficerDecision::TurnedBack => "turned_back",
            };
            let head = [
                cell(&p.id),
                p.at.with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                cell(p.venue_id.as_str()),
                cell(p.gate.as_str()),
                cell(p.plate.as_str()),
                cell(&p.origin.province),
                cell(&p.origin.city),
                p.passenger_count.to_string(),
                decision.to_owned(),
                cell(p.reason.as_deref().unwrap_or("")),
                cell(&p.officer),
            ];
            if p.passengers.is_empty() {
                w.write_record(head.iter().chain(std::iter::repeat_n(&String::new(), 7)))?;
            }
            for (i, x) in p.passengers.iter().enumerate() {
                let visit = p.passenger_visits.iter().find(|v| v.passenger == i);
                let scan = visit.map_or("", |v| match v.decision {
                    Decision::Admitted => "admitted",
                    Decision::Denied => "denied",
                });
                let row = [
                    (i + 1).to_string(),
                    cell(x.name.as_deref().unwrap_or("")),
                    x.phone
                        .as_ref()
                        .map_or(String::new(), |ph| cell(ph.as_str())),
                    x.temperature_c
                        .map_or(String::new(), |t| format!("{:.1}", t.celsius())),
                    visit.map_or(String::new(), |v| cell(v.resident_id.as_str())),
                    visit
                        .and_then(|v| v.visit_id.as_deref())
                        .map_or(String::new(), cell),
                    scan.to_owned(),
                ];
                w.write_record(head.iter().chain(row.iter()))?;
            }
        }
        w.flush()?;
    }
    Ok(out)
}
