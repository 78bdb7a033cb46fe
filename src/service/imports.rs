//! CSV imports of venues and residents, in the columns of the sample town's `venues.csv` and
//! `residents.csv`. Every row is parsed on its own: a bad row is reported with its line number
//! and the good rows are still imported.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ids::{parse_name, parse_optional};
use crate::domain::location::{Location, OpeningHours};
use crate::domain::venue::parse_gates;
use crate::domain::{
    EntryPolicy, ParseError, Phone, Resident, ResidentId, Venue, VenueId, VenueKind,
};
use crate::service::posters::check_printable;
use crate::service::venues::{
    check_kind_change, check_parent_is, parse_parent, update_venue, UpdateError,
};
use crate::storage::{Store, StoreError, Upsert, PHONE_TAKEN};

mod columns;
pub use columns::{ColumnsError, RESIDENT_COLUMNS, VENUE_COLUMNS};

/// Why an import answered no report.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The header names a column the import does not know, or one twice: nothing was read or
    /// written.
    #[error(transparent)]
    Columns(#[from] ColumnsError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One refused row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    /// What was wrong.
    pub message: String,
}

/// What an import did (contract, `POST /venues/import`).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Rows that made new records.
    pub created: u64,
    /// Rows that replaced existing records. A row with the id of an earlier row of the file is
    /// counted once, with that row, and listed in `warnings`.
    pub updated: u64,
    /// Rows refused.
    pub errors: Vec<RowError>,
    /// Venues imports only: the ids of the venues whose codes the import rotated (in a dry
    /// run, would rotate), because a gate taken away since their last rotation came back (or
    /// too many had been taken away, see [`Venue::set_gates`]): every poster and special code
    /// of theirs answers `code_revoked`, and posters must be printed anew. Absent when there
    /// are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub codes_rotated: Vec<String>,
    /// Rows imported that deserve a look: a row with the id of an earlier row of the file,
    /// which replaced what that row wrote (a copy-paste slip, or two people given one id), and
    /// a row that took later lines into a column the import does not read (an unclosed
    /// quote). Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<RowError>,
}

type Row = csv::StringRecord;

fn col<'r>(headers: &Row, row: &'r Row, name: &'static str) -> Result<&'r str, ParseError> {
    headers
        .iter()
        .position(|h| h.trim() == name)
        .and_then(|i| row.get(i))
        .map(str::trim)
        .ok_or_else(|| ParseError::new(name, "column missing"))
}

/// The most watch-list tags one resident may carry.
const MAX_TAGS: usize = 16;

/// Watch-list tags separated by `;`: each 1 to 32 of `[a-z0-9_]`, at most [`MAX_TAGS`].
fn parse_tags(raw: &str) -> Result<Vec<String>, ParseError> {
    let tags: Vec<String> = raw
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let ok = tags.len() <= MAX_TAGS
        && tags.iter().all(|t| {
            t.len() <= 32
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if ok {
        Ok(tags)
    } else {
        Err(ParseError::new(
            "tags",
            format!("at most {MAX_TAGS} tags of 1 to 32 of a-z, 0-9 and _"),
        ))
    }
}

/// Parses one `venues.csv` row: `code,name,kind,community,address,gates,households`, gates
/// separated by `;`, and optional columns: `parent` (the code of the venue this one is a
/// sub-location of; parents must come before their sub-locations in the file), `lat` and `lon`
/// (its location, degrees, both or neither), `opens` and `closes` (its opening hours, `HH:MM`
/// local time, both or neither).
pub fn venue_from_row(headers: &Row, row: &Row) -> Result<Venue, ParseError> {
    let kind = VenueKind::parse(col(headers, row, "kind")?)?;
    let gates = parse_gates(
        col(headers, row, "gates")?
            .split(';')
            .filter(|g| !g.trim().is_empty()),
    )?;
    let households = match col(headers, row, "households").unwrap_or("") {
        "" => None,
        s => Some(
            s.parse::<u32>()
                .map_err(|_| ParseError::new("households", "must be a whole number"))?,
        ),
    };
    let mut venue = Venue {
        id: VenueId::parse(col(headers, row, "code")?)?,
        name: parse_name("name", col(headers, row, "name")?, 100)?,
        kind,
        community: parse_optional("community", col(headers, row, "community").ok(), 100)?,
        address: parse_optional("address", col(headers, row, "address").ok(), 200)?,
        gates,
        max_stay_minutes: None,
        entry_policy: EntryPolicy::default_for(kind),
        entry_policy_chosen: false,
        households,
        code_version: 1,
        revision: 0,
        longest_stay_minutes: None,
        retired_gates: Vec::new(),
        location: match (col(headers, row, "lat").ok(), col(headers, row, "lon").ok()) {
            (Some(lat), Some(lon)) if !lat.trim().is_empty() || !lon.trim().is_empty() => {
                let degrees = |name: &str, s: &str| {
                    if s.trim().is_empty() {
                        return Err(ParseError::new(
                            "location",
                            format!("{name} is empty: give lat and lon together, or neither"),
                        ));
                    }
                    s.trim().parse::<f64>().map_err(|_| {
                        ParseError::new("location", format!("{name} must be a number of degrees"))
                    })
                };
                Some(Location::parse(degrees("lat", lat)?, degrees("lon", lon)?)?)
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(ParseError::new(
                    "location",
                    "lat and lon come as columns together",
                ))
            }
            _ => None,
        },
        opening_hours: match (
            col(headers, row, "opens").ok(),
            col(headers, row, "closes").ok(),
        ) {
            (Some(opens), Some(closes))
                if !opens.trim().is_empty() || !closes.trim().is_empty() =>
            {
                Some(OpeningHours::parse(opens, closes)?)
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(ParseError::new(
                    "opening_hours",
                    "opens and closes come as columns together",
                ))
            }
            _ => None,
        },
        parent: match col(headers, row, "parent").unwrap_or("") {
            "" => None,
            p => Some(parse_parent(p)?),
        },
        created_at: Utc::now(),
    };
    venue.start_stay_record();
    check_printable(&venue)?;
    Ok(venue)
}

/// Parses one `residents.csv` row:
/// `resident_id,name,phone,home,building,room,household,tags`, tags separated by `;`.
pub fn resident_from_row(headers: &Row, row: &Row) -> Result<Resident, ParseError> {
    let home = match col(headers, row, "home").unwrap_or("") {
        "" => None,
        s => Some(VenueId::parse(s)?),
    };
    Ok(Resident {
        id: ResidentId::parse(col(headers, row, "resident_id")?)?,
        name: Some(parse_name("name", col(headers, row, "name")?, 50)?),
        phone: Phone::parse(col(headers, row, "phone")?)?,
        home,
        building: parse_optional("building", col(headers, row, "building").ok(), 50)?,
        room: parse_optional("room", col(headers, row, "room").ok(), 50)?,
        household: parse_optional("household", col(headers, row, "household").ok(), 64)?,
        tags: parse_tags(col(headers, row, "tags").unwrap_or(""))?,
        registered: true,
        created_at: Utc::now(),
        token_generation: 0,
    })
}

/// The CSV reader every import uses: a leading UTF-8 byte-order mark dropped, rows of any
/// length (a short row is reported by the row parser, a long one by `import_rows`, with its
/// line).
pub fn reader(body: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(without_bom(body))
}

/// The columns a row gives a cell for: those its file's header names (trimmed), up to the
/// row's last cell. A column not given leaves that field of an existing record as it is: a
/// file of `resident_id,name,phone`, or a row that stops short of the header's last columns,
/// updates names and phones, not homes and watch tags.
struct Given(Vec<String>);

impl Given {
    fn of(headers: &Row, row: &Row) -> Self {
        Self(
            headers
                .iter()
                .take(row.len())
                .map(|name| name.trim().to_owned())
                .collect(),
        )
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|c| c == name)
    }
}

/// `body` without the UTF-8 byte order mark Excel (and editors on Windows) write first, if it
/// has one; CSV imports and JSON bodies skip it alike.
pub fn without_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// The import loop shared by every CSV: parse each row with `parse`, hand good rows to `save`
/// (which may refuse one with a message), and report refused rows by line.
/// The header's names are read as [`columns::canonical`] reads them, against `known`, the
/// columns of a `file` file (`venues`, `residents`): `parse` sees them trimmed and in lower
/// case. A file without a header naming each of `required` (an empty body, JSON, binary) is
/// one error on line 1, not an import of nothing.
///
/// `id_of` names a row's record (a venue's code, a resident's id): a later row of the same
/// record is imported over the earlier one and reported in `warnings`.
async fn import_rows<T>(
    body: &[u8],
    (file, known): (&str, &[&str]),
    required: &[&str],
    parse: impl Fn(&Row, &Row) -> Result<T, ParseError>,
    id_of: impl Fn(&T) -> String,
    mut save: impl AsyncFnMut(T) -> Result<Result<Upsert, String>, StoreError>,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    // A file in another encoding (GBK, as Excel saves "CSV" on a Chinese Windows) is one
    // error, not a partial import of its ASCII-only rows.
    if let Err(e) = std::str::from_utf8(without_bom(body)) {
        let before = &without_bom(body)[..e.valid_up_to()];
        let newlines = line_ends(before, 0, before.len());
        report.errors.push(RowError {
            line: u64::try_from(newlines)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
            message: "the file is not UTF-8 text: save it as \"CSV UTF-8\" (Excel) or UTF-8; \
                      nothing was imported"
                .into(),
        });
        return Ok(report);
    }
    let mut rdr = reader(body);
    let header_error = |message: String| RowError {
        line: 1,
        message: format!("header: {message}"),
    };
    let headers = match rdr.headers() {
        Ok(h) => columns::canonical(h, known, file)?,
        Err(e) => {
            report.errors.push(header_error(e.to_string()));
            return Ok(report);
        }
    };
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|name| !headers.iter().any(|h| h.trim() == *name))
        .collect();
    if !missing.is_empty() {
        report.errors.push(header_error(format!(
            "no column {} (a CSV file whose first line names its columns)",
            missing.join(", ")
        )));
        return Ok(report);
    }
    // A record's line, counted up to its first byte: after a CRLF line end (the files Excel
    // saves, and the sample's) the csv reader places a record's start, and its own line
    // count, before the line end, one line short.
    let text = without_bom(body);
    let mut lines = LineCounter::new(text);
    // The line of the first row of each id.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut row = Row::new();
    loop {
        let mut taken_in: Option<String> = None;
        let read = rdr.read_record(&mut row);
        let (line, parsed) = match read {
            Ok(false) => break,
            Ok(true) => {
                let line = lines.line_at(row.position());
                let spans = spans_lines(&row, line);
                let open_to_end = rdr.position().byte() >= u64::try_from(text.len()).unwrap_or(0)
                    && quote_left_open(text, row.position());
                let parsed = beyond_header(&headers, &row)
                    .map_or_else(|| parse(&headers, &row).map_err(|e| e.to_string()), Err)
                    .map_err(|message| match spans {
                        Some(last) => unclosed_quote(line, last),
                        None if open_to_end => never_closed(),
                        None => message,
                    });
                // A line end in a column the import does not read: the row may be good, but
                // the lines it took in may have been rows of their own (said once it saved).
                taken_in = spans.map(|last| unclosed_quote(line, last));
                (line, parsed)
            }
            Err(e) => (lines.line_at(e.position()), Err(e.to_string())),
        };
        let (saved, id) = match parsed {
            Ok(value) => {
                let id = id_of(&value);
                (save(value).await?, Some(id))
            }
            Err(message) => (Err(message), None),
        };
        match saved {
            Ok(done) => {
                if let Some(message) = taken_in {
                    report.warnings.push(RowError { line, message });
                }
                let first = id.as_ref().and_then(|id| seen.get(id).copied());
                match (first, id) {
                    // Counted once, with its first row: it made or replaced one record.
                    (Some(first), Some(id)) => report.warnings.push(RowError {
                        line,
                        message: format!(
                            "{id} is also on line {first}: this row replaced what that one \
                             wrote (counted once, with that row)"
                        ),
                    }),
                    (_, id) => {
                        match done {
                            Upsert::Created => report.created += 1,
                            Upsert::Updated => report.updated += 1,
                        }
                        if let Some(id) = id {
                            seen.insert(id, line);
                        }
                    }
                }
            }
            Err(message) => report.errors.push(RowError { line, message }),
        }
    }
    Ok(report)
}

/// What to say of the file's last row when a quote opened in it is never closed (see
/// [`quote_left_open`]).
fn never_closed() -> String {
    "a quote (\") opened on this line is never closed, so the rest of the line was read as \
     one value: close it, and write a quote inside a value as two (\"\")"
        .to_owned()
}

/// Whether the record starting at `pos` in `text`, the file's last, ends inside a quoted value:
/// a quote that opened a value was never closed, and the csv reader took the rest of the file
/// into it. Read as the reader reads (RFC 4180): a quote opens a value only at its start,
/// `""` inside a quoted value is a quote, and a quote elsewhere is a character.
fn quote_left_open(text: &[u8], pos: Option<&csv::Position>) -> bool {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let start = pos
        .and_then(|p| usize::try_from(p.byte()).ok())
        .unwrap_or(text.len())
        .min(text.len());
    let mut state = State::FieldStart;
    for &b in &text[start..] {
        state = match (state, b) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) | (State::QuoteInQuoted, b'"') => State::Quoted,
            (State::FieldStart, b'"') => State::Quoted,
            (_, b',') => State::FieldStart,
            // The record ended on a line end outside quotes.
            (_, b'\n' | b'\r') => return false,
            _ => State::Unquoted,
        };
    }
    state == State::Quoted
}
/// The last line of a row whose values hold line ends (a quote opened in it and not closed
/// where its value ends, so the csv reader took the lines after into that value, on to its
/// closing quote or the end of the file); `None` for a row on one line.
fn spans_lines(row: &Row, line: u64) -> Option<u64> {
    // A last value that took in the rest of the file ends with the file's last line end.
    let last = row.len().saturating_sub(1);
    let ends: usize = row
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if i == last {
                v.trim_end_matches(['\r', '\n'])
            } else {
                v
            }
        })
        .map(|v| line_ends(v.as_bytes(), 0, v.len()))
        .sum();
    (ends > 0).then(|| line.saturating_add(u64::try_from(ends).unwrap_or(u64::MAX)))
}

/// What to say of a row on `line` that runs on to `last` (see [`spans_lines`]): no value the
/// import reads may hold a line end, so such a row is refused when the line end is in one of
/// them, and warned of when it is in a column the import does not read.
fn unclosed_quote(line: u64, last: u64) -> String {
    let taken = if last == line.saturating_add(1) {
        format!("line {last} was")
    } else {
        format!("lines {} to {last} were", line.saturating_add(1))
    };
    format!(
        "a quoted value runs from this line to line {last}: if a quote (\") was left open, \
         {taken} read into this row and not imported; close it, and write a quote inside a \
         value as two (\"\")"
    )
}

/// The error of a row with values past the header's last column (a comma where `;` belongs,
/// or a value with a comma not in quotes), which would otherwise be dropped unread: a
/// resident's second watch-list tag, say. Empty fields past the end (trailing commas) are
/// fine.
fn beyond_header(headers: &Row, row: &Row) -> Option<String> {
    let extra = row
        .iter()
        .skip(headers.len())
        .filter(|v| !v.trim().is_empty())
        .count();
    (extra > 0).then(|| {
        format!(
            "the row has {} fields where the header names {}: separate a column's values with \
             ';' and quote a value that holds a comma",
            row.len(),
            headers.len()
        )
    })
}

/// The line (from 1) of each record of a CSV text (lines end with LF, CRLF or CR), asked in the order of the records: it
/// counts on from where the last one was, so a file is counted once however many rows it has.
struct LineCounter<'a> {
    text: &'a [u8],
    /// Where counting stopped, and the newlines before it.
    at: usize,
    newlines: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            at: 0,
            newlines: 0,
        }
    }

    /// The line of the record at `pos` (0 when the reader gave none): the line of its first
    /// byte, skipping the line end the reader may place it on.
    fn line_at(&mut self, pos: Option<&csv::Position>) -> u64 {
        let Some(p) = pos else { return 0 };
        let text = self.text;
        let from = usize::try_from(p.byte())
            .unwrap_or(usize::MAX)
            .min(text.len());
        let start = text[from..]
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(text.len(), |skip| from + skip);
        if start < self.at {
            // Not in order (never from the csv reader): count from the top.
            self.at = 0;
            self.newlines = 0;
        }
        let counted = line_ends(text, self.at, start);
        self.newlines = self
            .newlines
            .saturating_add(u64::try_from(counted).unwrap_or(u64::MAX));
        self.at = start;
        self.newlines.saturating_add(1)
    }
}

/// The line ends in `text[from..to]`: a `\n`, or a `\r` not followed by one (old Mac files
/// end lines with `\r` alone; the csv reader takes either).
fn line_ends(text: &[u8], from: usize, to: usize) -> usize {
    (from..to.min(text.len()))
        .filter(|&i| match text[i] {
            b'\n' => true,
            b'\r' => text.get(i + 1) != Some(&b'\n'),
            _ => false,
        })
        .count()
}

/// Whether an import writes, or only checks what it would write (`dry_run=true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write every good row.
    Write,
    /// Check every row as [`Mode::Write`] would, against the store and the rows before it in
    /// the file, and write nothing: the report is the one a write would give, barring changes
    /// made meanwhile by others.
    DryRun,
}

/// The file's description of a venue, which an import writes over an existing one; what admins
/// set through the API (code version, stay override, entry policy) and the parent stay.
/// Gives `venue` the description in `row`; whether that rotated its codes (a gate taken away
/// came back, see [`Venue::set_gates`]).
/// A column the file leaves out (`community`, `address`, `households`) leaves that field as it
/// is.
fn take_description(venue: &mut Venue, row: &Venue, columns: &Given) -> bool {
    venue.name.clone_from(&row.name);
    venue.set_kind(row.kind);
    if columns.has("community") {
        venue.community.clone_from(&row.community);
    }
    if columns.has("address") {
        venue.address.clone_from(&row.address);
    }
    let rotated = venue.set_gates(row.gates.clone());
    if columns.has("households") {
        venue.households = row.households;
    }
    venue.location = row.location.or(venue.location);
    venue.opening_hours = row.opening_hours.or(venue.opening_hours);
    rotated
}

/// Imports venues. An existing venue keeps its code version, registration time, stay override,
/// entry policy and the fields of columns the file leaves out, so re-importing a file does not
/// revoke posters (unless it brings back a gate taken away since the last rotation: see
/// [`Venue::set_gates`]) or undo an admin's changes.
/// In [`Mode::DryRun`], the venues earlier rows would have written are kept in memory, so a
/// sub-location whose parent comes earlier in the file is checked as the write would check it.
///
/// # Errors
/// [`ImportError`] for a header naming a column outside [`VENUE_COLUMNS`] (or one twice) and
/// when the store fails; row problems are reported in the result.
pub async fn import_venues(
    store: &dyn Store,
    body: &[u8],
    mode: Mode,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    // What the rows before would have written (dry run only; a write reads the store).
    let mut scratch: HashMap<VenueId, Venue> = HashMap::new();
    let mut rotated: Vec<String> = Vec::new();
    let parse = |h: &Row, r: &Row| Ok((venue_from_row(h, r)?, Given::of(h, r)));
    let id_of = |(v, _): &(Venue, Given)| v.id.to_string();
    let file = ("venues", VENUE_COLUMNS);
    let mut report = import_rows(body, file, &["code", "name", "kind"], parse, id_of, async |(row, columns): (Venue, Given)| {
        let existing = match scratch.get(&row.id) {
            Some(v) => Some(v.clone()),
            None => store.venue(&row.id).await?,
        };
        match &existing {
            // A file without parents (the sample's format) leaves them as registered.
            Some(v) if row.parent.is_some() && v.parent != row.parent => {
                return Ok(Err(
                    "parent: a venue's parent cannot change; register a new venue".into(),
                ))
            }
            // A dry run checks a change of kind here; a write has `update_venue` check it.
            Some(v) if mode == Mode::DryRun => {
                let changed = Venue {
                    parent: v.parent.clone(),
                    ..row.clone()
                };
                // Sub-locations earlier rows would have registered are not in the store.
                let unstored_children = scratch
                    .values()
                    .any(|s| s.parent.as_ref() == Some(&changed.id));
                match check_kind_change(store, v.kind, &changed, unstored_children, now).await {
                    Ok(()) => {}
                    Err(UpdateError::Store(e)) => return Err(e),
                    Err(problem) => return Ok(Err(problem.to_string())),
                }
            }
            Some(_) => {}
            None => {
                let parent = match &row.parent {
                    Some(p) => match scratch.get(p) {
                        Some(v) => Some(v.clone()),
                        None => store.venue(p).await?,
                    },
                    None => None,
                };
                if let Err(problem) = check_parent_is(&row, parent.as_ref()) {
                    return Ok(Err(problem.to_string()));
                }
            }
        }
        if mode == Mode::DryRun {
            let (venue, outcome) = match existing {
                Some(mut v) => {
                    if take_description(&mut v, &row, &columns) {
                        rotated.push(v.id.to_string());
                    }
                    (v, Upsert::Updated)
                }
                None => (row, Upsert::Created),
            };
            scratch.insert(venue.id.clone(), venue);
            return Ok(Ok(outcome));
        }
        if store.insert_venue(&row).await? {
            return Ok(Ok(Upsert::Created));
        }
        // An existing venue takes the file's description, through the same compare-and-set
        // as every other change.
        let mut rotates = false;
        let updated = update_venue(store, &row.id, now, |venue| {
            rotates = take_description(venue, &row, &columns);
            Ok(())
        })
        .await;
        match updated {
            Ok(venue) => {
                if rotates {
                    tracing::info!(venue = %venue.id, version = venue.code_version,
                        "venue codes rotated by an import: a gate taken away came back, or too many were taken away");
                    rotated.push(venue.id.to_string());
                }
                Ok(Ok(Upsert::Updated))
            }
            Err(UpdateError::Store(e)) => Err(e),
            Err(other) => Ok(Err(other.to_string())),
        }
    })
    .await?;
    rotated.sort();
    rotated.dedup();
    report.codes_rotated = rotated;
    Ok(report)
}

/// The residents and phones earlier rows of a dry run would have written.
#[derive(Default)]
struct ResidentScratch {
    /// Residents by id.
    by_id: HashMap<ResidentId, Resident>,
    /// Each phone's owner after those rows; `None` for a phone given up by its owner.
    phones: HashMap<Phone, Option<ResidentId>>,
}

impl ResidentScratch {
    /// The person other than `id` whom `phone` would belong to, if anyone.
    async fn phone_holder(
        &self,
        store: &dyn Store,
        id: &ResidentId,
        phone: &Phone,
    ) -> Result<Option<Resident>, StoreError> {
        let holder = match self.phones.get(phone) {
            Some(None) => None,
            Some(Some(owner)) if owner == id => None,
            Some(Some(owner)) => match self.by_id.get(owner) {
                Some(r) => Some(r.clone()),
                None => store.resident(owner).await?,
            },
            None => store.resident_by_phone(phone).await?,
        };
        Ok(holder.filter(|r| &r.id != id))
    }

    fn put(&mut self, old: Option<&Resident>, resident: Resident) {
        if let Some(old) = old.filter(|o| o.phone != resident.phone) {
            self.phones.insert(old.phone.clone(), None);
        }
        self.phones
            .insert(resident.phone.clone(), Some(resident.id.clone()));
        self.by_id.insert(resident.id.clone(), resident);
    }
}

/// What a row whose phone another person holds is told: who holds it, and for a person not
/// registered (who signed in by one-time code, as a visitor does, or was recorded as a
/// passenger at a checkpoint), how to register that very person, visits and sign-ins kept.
fn phone_held_by(holder: Option<&Resident>) -> String {
    match holder {
        Some(h) if !h.registered => format!(
            "phone: the phone is held by {id}, a person not registered yet (signed in by \
             one-time code, as visitors do, or recorded as a passenger at a checkpoint); to \
             register that person with their visits, give this row resident_id {id}",
            id = h.id
        ),
        Some(h) => format!("phone: the phone belongs to resident {}", h.id),
        None => format!("phone: {PHONE_TAKEN}"),
    }
}

/// Imports residents. A phone that belongs to another person refuses the row, naming them
/// ([`phone_held_by`]). A column the
/// file leaves out (`home`, `building`, `room`, `household`, `tags`) leaves that field of an
/// existing resident as it is. In [`Mode::DryRun`], the residents earlier rows would have
/// written are kept in memory, so two rows with one phone are refused as the write would
/// refuse them.
///
/// # Errors
/// [`ImportError`] for a header naming a column outside [`RESIDENT_COLUMNS`] (or one twice)
/// and when the store fails; row problems are reported in the result.
pub async fn import_residents(
    store: &dyn Store,
    body: &[u8],
    mode: Mode,
) -> Result<ImportReport, ImportError> {
    let mut scratch = ResidentScratch::default();
    import_rows(
        body,
        ("residents", RESIDENT_COLUMNS),
        &["resident_id", "name", "phone"],
        |h: &Row, r: &Row| Ok((resident_from_row(h, r)?, Given::of(h, r))),
        |(r, _): &(Resident, Given)| r.id.to_string(),
        async |(mut resident, columns): (Resident, Given)| {
            // A home is a registered compound, not one of its buildings nor another kind of
            // venue (the entry rules, visitor passes and alerts all work at the compound).
            if let Some(home) = &resident.home {
                let problem = match store.venue(home).await? {
                    None => Some(format!("home: no venue {home}; import the venues first")),
                    Some(v) if v.kind != VenueKind::ResidentialCompound => Some(format!(
                        "home: {home} is a {}, not a residential compound",
                        v.kind.as_str()
                    )),
                    Some(v) => v.parent.map(|parent| {
                        format!("home: {home} is a part of {parent}; give the compound {parent}")
                    }),
                };
                if let Some(problem) = problem {
                    return Ok(Err(problem));
                }
            }
            let old = match scratch.by_id.get(&resident.id) {
                Some(r) => Some(r.clone()),
                None => store.resident(&resident.id).await?,
            };
            if let Some(old) = &old {
                // A column the file leaves out leaves that field as it is.
                if !columns.has("home") {
                    resident.home.clone_from(&old.home);
                }
                if !columns.has("building") {
                    resident.building.clone_from(&old.building);
                }
                if !columns.has("room") {
                    resident.room.clone_from(&old.room);
                }
                if !columns.has("household") {
                    resident.household.clone_from(&old.household);
                }
                if !columns.has("tags") {
                    resident.tags.clone_from(&old.tags);
                }
                resident.created_at = old.created_at;
                // A re-import must not bring a revoked phone's tokens back.
                resident.token_generation = old.token_generation;
            }
            if mode == Mode::DryRun {
                if let Some(holder) = scratch
                    .phone_holder(store, &resident.id, &resident.phone)
                    .await?
                {
                    return Ok(Err(phone_held_by(Some(&holder))));
                }
                let outcome = if old.is_some() {
                    Upsert::Updated
                } else {
                    Upsert::Created
                };
                scratch.put(old.as_ref(), resident);
                return Ok(Ok(outcome));
            }
            match store.put_resident(&resident).await {
                Ok(u) => Ok(Ok(u)),
                Err(StoreError::Conflict(_)) => {
                    let holder = store.resident_by_phone(&resident.phone).await?;
                    Ok(Err(phone_held_by(
                        holder.filter(|h| h.id != resident.id).as_ref(),
                    )))
                }
                Err(e) => Err(e),
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str) -> Vec<u64> {
        let mut rdr = reader(text.as_bytes());
        let mut lines = LineCounter::new(without_bom(text.as_bytes()));
        rdr.records()
            .map(|r| lines.line_at(r.expect("a record").position()))
            .collect()
    }

    #[test]
    fn a_quote_is_left_open_only_when_it_opened_a_value_and_never_closed() {
        let open = |text: &str| quote_left_open(text.as_bytes(), Some(&csv::Position::new()));
        assert!(open("X,5\" TV,\"open\n"));
        assert!(open("X,\"open to the end"));
        assert!(open("X,\"a \"\"b\"\" c\n"));
        assert!(!open("X,5\" TV,badkind\n"));
        assert!(!open("X,\"a \"\"b\"\" c\",d\n"));
        assert!(!open("X,\"closed\""));
        assert!(!open("X,\"closed\"x,y\r\n"));
    }

    #[test]
    fn records_are_numbered_by_the_line_they_start_on_whatever_the_line_ends() {
        let lf = "a,b\n1,x\n2,\"two\nlines\"\n\n3,y\n";
        assert_eq!(lines_of(lf), vec![2, 3, 6]);
        assert_eq!(lines_of(&lf.replace('\n', "\r\n")), vec![2, 3, 6]);
        assert_eq!(lines_of(&format!("\u{feff}{lf}")), vec![2, 3, 6]);
        assert_eq!(lines_of(&lf.replace('\n', "\r")), vec![2, 3, 6]);
    }
}
