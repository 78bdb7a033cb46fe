//! The embedded store's tables. Records are JSON documents in a `json` column, with the
//! columns that queries filter on beside them.

use rusqlite::Connection;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS venues (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS residents (
    id TEXT PRIMARY KEY, phone TEXT NOT NULL UNIQUE, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS staff (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS otps (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons (
    id TEXT PRIMARY KEY, version INTEGER NOT NULL, open_visit TEXT);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, resident_id TEXT NOT NULL, scan_time INTEGER NOT NULL,
    json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_resident ON events (resident_id, scan_time);
CREATE TABLE IF NOT EXISTS visits (
    id TEXT PRIMARY KEY, resident_id TEXT NOT NULL, venue_id TEXT NOT NULL,
    start_ms INTEGER NOT NULL, open INTEGER NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS visits_by_resident ON visits (resident_id, start_ms);
CREATE INDEX IF NOT EXISTS visits_by_venue ON visits (venue_id, start_ms);
CREATE INDEX IF NOT EXISTS open_visits_by_venue ON visits (venue_id) WHERE open = 1;
CREATE TABLE IF NOT EXISTS audit (
    id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_ms);
CREATE TABLE IF NOT EXISTS idempotency (
    resident_id TEXT NOT NULL, key TEXT NOT NULL, created_at INTEGER NOT NULL,
    json TEXT NOT NULL, PRIMARY KEY (resident_id, key));
";

/// Sets the connection up (WAL, a busy timeout) and creates missing tables.
pub fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)
}
