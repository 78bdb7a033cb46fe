//! The daily report as CSV (one row per scope total, community and venue) and as a small
//! printable HTML page (A4, one table).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::export::cell;
use super::reports::DailyReport;
use crate::domain::report::DayFigures;

/// The figure columns, after `level, id, name, kind, community`; then one `watched:TAG` column
/// per tag seen in the report.
const FIGURES: [&str; 16] = [
    "check_ins",
    "check_outs",
    "people",
    "visitors",
    "denied_fever",
    "denied_not_a_resident",
    "denied_temperature_required",
    "fevers",
    "alerts_fever",
    "alerts_left_home_under_observation",
    "occupancy_at_22",
    "vehicles",
    "vehicle_people",
    "vehicles_out_of_province",
    "vehicles_turned_back",
    "watched_people",
];

fn figures(f: &DayFigures, tags: &BTreeSet<String>) -> Vec<String> {
    let mut cells: Vec<String> = [
        f.check_ins,
        f.check_outs,
        f.people,
        f.visitors,
        f.denials.fever,
        f.denials.not_a_resident,
        f.denials.temperature_required,
        f.fevers,
        f.alerts.fever,
        f.alerts.left_home_under_observation,
    ]
    .iter()
    .map(u64::to_string)
    .collect();
    cells.push(f.occupancy_at_22.map(|n| n.to_string()).unwrap_or_default());
    cells.extend(
        [
            f.checkpoint.vehicles,
            f.checkpoint.people,
            f.checkpoint.out_of_province,
            f.checkpoint.turned_back,
            f.watched.values().sum(),
        ]
        .iter()
        .map(u64::to_string),
    );
    cells.extend(
        tags.iter()
            .map(|t| f.watched.get(t).copied().unwrap_or(0).to_string()),
    );
    cells
}

/// Every row of the report: `(level, id, name, kind, community)`.
fn rows(r: &DailyReport) -> Vec<[String; 5]> {
    let mut out = vec![[
        "total".into(),
        r.scope.clone(),
        String::new(),
        String::new(),
        String::new(),
    ]];
    for c in &r.communities {
        out.push([
            "community".into(),
            String::new(),
            String::new(),
            String::new(),
            c.community.clone(),
        ]);
    }
    for v in &r.venues {
        out.push([
            "venue".into(),
            v.id.clone(),
            v.name.clone(),
            v.kind.as_str().to_owned(),
            v.community.clone().unwrap_or_default(),
        ]);
    }
    out
}

fn all_figures(r: &DailyReport) -> Vec<&DayFigures> {
    std::iter::once(&r.totals)
        .chain(r.communities.iter().map(|c| &c.figures))
        .chain(r.venues.iter().map(|v| &v.figures))
        .collect()
}

fn tags(r: &DailyReport) -> BTreeSet<String> {
    r.totals.watched.keys().cloned().collect()
}

/// The report as CSV with a UTF-8 byte-order mark (as the trace exports, for spreadsheets): a
/// header, the scope's total, then a row per community and per venue.
///
/// # Errors
/// A `csv` error (writing to memory does not fail in practice).
pub fn csv(r: &DailyReport) -> Result<Vec<u8>, csv::Error> {
    let tags = tags(r);
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut header: Vec<String> = ["date", "level", "id", "name", "kind", "community"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    header.extend(FIGURES.iter().map(|s| (*s).to_owned()));
    header.extend(tags.iter().map(|t| format!("watched:{t}")));
    w.write_record(&header)?;
    for (row, f) in rows(r).into_iter().zip(all_figures(r)) {
        let mut record = vec![r.date.to_string()];
        // Names come from admins' files: a formula-like one is made text for spreadsheets.
        record.extend(row.iter().map(|c| cell(c)));
        record.extend(figures(f, &tags));
        w.write_record(&record)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report as a printable page: the same rows as the CSV, in a table sized for A4
/// landscape.
pub fn html(r: &DailyReport) -> String {
    let tags = tags(r);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>日报 {date} {scope}</title><style>\
         @page {{ size: A4 landscape; margin: 12mm; }}\
         body {{ font-family: sans-serif; font-size: 9pt; }}\
         table {{ border-collapse: collapse; width: 100%; }}\
         th, td {{ border: 1px solid #444; padding: 2px 4px; text-align: right; }}\
         td.t, th.t {{ text-align: left; }} tr.total, tr.community {{ font-weight: bold; }}\
         </style></head><body><h1>每日报告 Daily report {date}</h1>\
         <p>{scope} · {from} – {to} ({tz})</p><table><thead><tr>",
        date = r.date,
        scope = escape(&r.scope),
        from = r.from.format("%Y-%m-%d %H:%M"),
        to = r.to.format("%Y-%m-%d %H:%M"),
        tz = escape(&r.time_zone),
    );
    for h in ["level", "id", "name", "kind", "community"] {
        let _ = write!(page, "<th class=\"t\">{h}</th>");
    }
    for h in FIGURES {
        let _ = write!(page, "<th>{}</th>", h.replace('_', " "));
    }
    for t in &tags {
        let _ = write!(page, "<th>{}</th>", escape(t));
    }
    page.push_str("</tr></thead><tbody>");
    for (row, f) in rows(r).into_iter().zip(all_figures(r)) {
        let _ = write!(page, "<tr class=\"{}\">", row[0]);
        for cell in &row {
            let _ = write!(page, "<td class=\"t\">{}</td>", escape(cell));
        }
        for cell in figures(f, &tags) {
            let _ = write!(page, "<td>{cell}</td>");
        }
        page.push_str("</tr>");
    }
    let _ = write!(
        page,
        "</tbody></table><p>generated {}</p></body></html>",
        r.generated_at.to_rfc3339()
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::DayFigures;
    use crate::domain::VenueKind;
    use crate::service::reports::VenueRow;

    fn report(name: &str) -> DailyReport {
        let at = chrono::DateTime::parse_from_rfc3339("2020-02-16T00:00:00+08:00")
            .unwrap_or_else(|e| panic!("{e}"));
        DailyReport {
            date: at.date_naive(),
            scope: "street".into(),
            time_zone: "Asia/Shanghai".into(),
            from: at,
            to: at,
            generated_at: at,
            totals: DayFigures::default(),
            communities: Vec::new(),
            venues: vec![VenueRow {
                id: "S1".into(),
                name: name.into(),
                kind: VenueKind::Shop,
                community: None,
                figures: DayFigures::default(),
            }],
        }
    }

    #[test]
    fn a_formula_like_name_is_text_in_the_csv_and_markup_is_escaped_in_the_page() {
        let r = report("=HYPERLINK(\"x\")<b>");
        let csv = String::from_utf8(csv(&r).unwrap_or_default()).unwrap_or_default();
        let page = html(&r);

        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("'=HYPERLINK"), "{csv}");
        assert!(
            page.contains("=HYPERLINK(&quot;x&quot;)&lt;b&gt;"),
            "{page}"
        );
        assert!(!page.contains("<b>"));
    }
}
