//! `checkin trace`: a tracer's contact query from the command line, straight from the store,
//! as a readable table or a CSV file. Audited like the API, as `cli:$USER`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{Duration, Utc};
use chrono_tz::Tz;
use clap::Args;
use unicode_width::UnicodeWidthStr;

use super::serve::StoreArgs;
use crate::auth::extract::Staff;
use crate::domain::contact_class::ContactClass;
use crate::domain::contacts::{Contact, ContactQuery};
use crate::domain::staff::Role;
use crate::domain::{ResidentId, TimeWindow};
use crate::http::params::parse_time;
use crate::service::audit::{self, Read};
use crate::service::contacts::{self, Scope};
use crate::service::export::contacts_csv;
use crate::service::trace::VenueFilter;
use crate::startup::open_existing_store;

/// Flags of `checkin trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The index case's resident id.
    #[arg(long)]
    pub resident: String,
    /// Window start, RFC 3339 (default: 14 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Window end, RFC 3339 (default: now).
    #[arg(long)]
    pub to: Option<String>,
    /// Widen the index case's visits by this many minutes on both sides.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1440))]
    pub buffer_minutes: u16,
    /// The shortest overlap that counts, minutes.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1440))]
    pub min_overlap_minutes: u16,
    /// Write the contacts to this CSV file instead of printing a table.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Where the data is.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs the query.
///
/// # Errors
/// Settings, store or argument errors.
pub async fn run(args: TraceArgs) -> anyhow::Result<()> {
    let settings = args.store.settings(None)?;
    let tz: Tz = settings
        .time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("bad time_zone"))?;
    let store = open_existing_store(&settings).await?;
    let now = Utc::now();
    let index = ResidentId::parse(&args.resident)?;
    // As the API: a typo must not read as "no contacts".
    if store.resident(&index).await?.is_none() {
        anyhow::bail!("no resident {index} in this store");
    }
    let from = args
        .from
        .as_deref()
        .map(|s| parse_time("from", s))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|s| parse_time("to", s))
        .transpose()?;
    let query = ContactQuery {
        window: TimeWindow::new(from, to, now)?,
        buffer: Duration::minutes(i64::from(args.buffer_minutes)),
        min_overlap: Duration::minutes(i64::from(args.min_overlap_minutes)),
        now,
    };
    let found = contacts::trace(
        store.as_ref(),
        &index,
        &query,
        &VenueFilter::default(),
        &Scope::default(),
    )
    .await?;
    let who = Staff {
        username: format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ),
        role: Role::Tracer,
    };
    let line = format!(
        "checkin trace --resident {index} --from {} --to {} --buffer-minutes {} \
         --min-overlap-minutes {}",
        query.window.from().to_rfc3339(),
        query.window.to().to_rfc3339(),
        args.buffer_minutes,
        args.min_overlap_minutes
    );
    let format = if args.csv.is_some() { "csv" } else { "table" };
    let read = Read {
        action: "trace.contacts",
        query: &line,
        format,
        returned: found.len(),
    };
    if let Some(path) = &args.csv {
        let csv = contacts_csv(("index_case", index.as_str()), &found, tz)?;
        std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
        // Recorded once the file exists: an export that failed handed nothing out.
        audit::record(store.as_ref(), &who, read, Utc::now()).await?;
        // To stderr: the file may be stdout (`--csv /dev/stdout`).
        eprintln!("{} contacts written to {}", found.len(), path.display());
        return Ok(());
    }
    audit::record(store.as_ref(), &who, read, Utc::now()).await?;
    let local = |t: chrono::DateTime<Utc>| t.with_timezone(&tz).format("%m-%d %H:%M").to_string();
    let mut out = String::new();
    writeln!(
        out,
        "contacts of {index}, {} to {} ({tz}): {}",
        local(query.window.from()),
        local(query.window.to()),
        found.len()
    )?;
    writeln!(
        out,
        "{:<14} {:<8} {:<12} {:<12} {:>9}  {:<11} {:<11} venues",
        "resident", "name", "phone", "class", "minutes", "first", "last"
    )?;
    for t in &found {
        let person = t.person.as_ref();
        let shared = t.contact.as_ref().map_or(&[][..], |c| &c.shared[..]);
        // Each venue once, in the order first shared (a venue shared twice has two entries).
        let mut venues: Vec<&str> = Vec::new();
        for s in shared {
            if !venues.contains(&s.venue_id.as_str()) {
                venues.push(s.venue_id.as_str());
            }
        }
        let when = |f: fn(&Contact) -> chrono::DateTime<Utc>| {
            t.contact
                .as_ref()
                .map_or_else(|| "-".to_owned(), |c| local(f(c)))
        };
        let class = t.class.map_or("-", ContactClass::as_str);
        writeln!(
            out,
            "{:<14} {} {:<12} {:<12} {:>9.1}  {:<11} {:<11} {}",
            t.resident_id.as_str(),
            padded(person.and_then(|p| p.name.as_deref()).unwrap_or("-"), 8),
            person.map_or("-", |p| p.phone.as_str()),
            class,
            t.overlap().num_seconds() as f64 / 60.0,
            when(|c| c.first_contact),
            when(|c| c.last_contact),
            venues.join(",")
        )?;
    }
    // A reader that stops early (`| head`) is not an error.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `text` and the spaces that take it to `columns` terminal columns. `{:<N}` pads to N
/// characters, and a Chinese character takes two columns (Unicode East Asian Width, UAX #11),
/// so a two-character name padded so took four columns too few and pushed its row's later
/// columns out of line.
fn padded(text: &str, columns: usize) -> String {
    let spaces = columns.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(spaces))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_name_is_padded_to_the_same_columns_as_a_latin_one() {
        assert_eq!(padded("张伟", 8), "张伟    ");
        assert_eq!(padded("Li Wei", 8), "Li Wei  ");
        assert_eq!(padded("欧阳娜娜娜", 8), "欧阳娜娜娜");
        assert_eq!(padded("张伟", 8).width(), padded("-", 8).width());
    }
}
