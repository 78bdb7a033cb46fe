//! The embedded store's tables. Records are JSON documents in a `json` column, with the
//! columns that queries filter on beside them.

use rusqlite::Connection;

use crate::domain::Visit;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS venues (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS residents (
    id TEXT PRIMARY KEY, phone TEXT NOT NULL UNIQUE, json TEXT NOT NULL, home TEXT);
CREATE TABLE IF NOT EXISTS staff (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS otps (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons (
    id TEXT PRIMARY KEY, version INTEGER NOT NULL, open_visit TEXT, latest_scan_ms INTEGER);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, resident_id TEXT NOT NULL, scan_time INTEGER NOT NULL,
    json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_resident ON events (resident_id, scan_time);
CREATE TABLE IF NOT EXISTS visits (
    id TEXT PRIMARY KEY, resident_id TEXT NOT NULL, venue_id TEXT NOT NULL,
    start_ms INTEGER NOT NULL, open INTEGER NOT NULL, json TEXT NOT NULL, end_ms INTEGER);
CREATE INDEX IF NOT EXISTS visits_by_resident ON visits (resident_id, start_ms);
CREATE INDEX IF NOT EXISTS visits_by_venue ON visits (venue_id, start_ms);
CREATE INDEX IF NOT EXISTS open_visits_by_venue ON visits (venue_id) WHERE open = 1;
CREATE TABLE IF NOT EXISTS audit (
    id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_ms);
CREATE TABLE IF NOT EXISTS visitor_passes (
    id TEXT PRIMARY KEY, phone TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS visitor_passes_by_phone ON visitor_passes (phone);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, json TEXT NOT NULL,
    due_ms INTEGER, claim TEXT, delivery TEXT);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (at_ms);
CREATE TABLE IF NOT EXISTS vehicle_passes (
    id TEXT PRIMARY KEY, venue_id TEXT NOT NULL, plate TEXT NOT NULL, at_ms INTEGER NOT NULL,
    json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS vehicle_passes_by_venue ON vehicle_passes (venue_id, at_ms);
CREATE INDEX IF NOT EXISTS vehicle_passes_by_plate ON vehicle_passes (plate, at_ms);
CREATE INDEX IF NOT EXISTS vehicle_passes_by_time ON vehicle_passes (at_ms);
CREATE TABLE IF NOT EXISTS idempotency (
    resident_id TEXT NOT NULL, key TEXT NOT NULL, created_at INTEGER NOT NULL,
    json TEXT NOT NULL, PRIMARY KEY (resident_id, key));
";

/// Indexes on columns added after the first release (created once the columns exist).
const LATER_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS visits_by_end ON visits (end_ms);
CREATE INDEX IF NOT EXISTS residents_by_home ON residents (home);
CREATE INDEX IF NOT EXISTS venues_by_parent ON venues (json_extract(json, '$.parent'));
CREATE INDEX IF NOT EXISTS events_by_venue ON events (json_extract(json, '$.venue_id'));
CREATE INDEX IF NOT EXISTS events_by_time ON events (scan_time);
CREATE INDEX IF NOT EXISTS alerts_due ON alerts (due_ms) WHERE due_ms IS NOT NULL;
";

/// Sets the connection up (WAL, a busy timeout), creates missing tables and brings older
/// files up to date: `visits.end_ms` (the visit's latest end, ms, for retention) and
/// `residents.home` were added later and are filled from each record's JSON;
/// `persons.latest_scan_ms` (the latest scan time, ms) from the person's events; the alerts'
/// delivery columns (`due_ms`: when a pending delivery is next tried, ms, NULL once settled;
/// `claim`; `delivery` JSON) likewise.
pub fn prepare(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    if !has_column(conn, "visits", "end_ms")? {
        conn.execute_batch("ALTER TABLE visits ADD COLUMN end_ms INTEGER")?;
        fill_visit_ends(conn)?;
    }
    if !has_column(conn, "residents", "home")? {
        conn.execute_batch("ALTER TABLE residents ADD COLUMN home TEXT")?;
        conn.execute_batch(
            "UPDATE residents SET home = json_extract(json, '$.home') WHERE home IS NULL",
        )?;
    }
    if !has_column(conn, "persons", "latest_scan_ms")? {
        conn.execute_batch(
            "ALTER TABLE persons ADD COLUMN latest_scan_ms INTEGER;
             UPDATE persons SET latest_scan_ms =
                (SELECT MAX(scan_time) FROM events WHERE events.resident_id = persons.id);",
        )?;
    }
    if !has_column(conn, "alerts", "due_ms")? {
        // Alerts stored before webhook delivery existed are pending, due at once.
        conn.execute_batch(
            "ALTER TABLE alerts ADD COLUMN due_ms INTEGER;
             ALTER TABLE alerts ADD COLUMN claim TEXT;
             ALTER TABLE alerts ADD COLUMN delivery TEXT;
             UPDATE alerts SET due_ms = at_ms;",
        )?;
    }
    conn.execute_batch(LATER_INDEXES)
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
        .exists([table, column])
}

/// Sets `end_ms` where it is missing (visits written before the column existed).
fn fill_visit_ends(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut read = tx.prepare("SELECT id, json FROM visits WHERE end_ms IS NULL")?;
        let mut write = tx.prepare("UPDATE visits SET end_ms = ?2 WHERE id = ?1")?;
        let rows = read.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, json) = row?;
            // A visit that cannot be read is left for the reader to report, not dropped here.
            if let Ok(v) = serde_json::from_str::<Visit>(&json) {
                write.execute(rusqlite::params![id, v.latest_end().timestamp_millis()])?;
            }
        }
    }
    tx.commit()
}
