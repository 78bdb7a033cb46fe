//! The embedded store: SQLite in one file (`checkin.sqlite3` under the data directory),
//! the zero-setup default.
//!
//! One connection in WAL mode, used on tokio's blocking threads behind a mutex: SQLite allows
//! one writer at a time anyway, and each call is a short transaction. `synchronous=NORMAL` in
//! WAL mode keeps every committed transaction across a crash of the process (a power loss may
//! lose the last ones).

mod alerts;
mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    lookback, refuse_open_visits, CommitResult, IdempotencyRecord, OtpRecord, PersonState,
    PurgeReport, ScanCommit, Store, StoreError, Upsert, IDEMPOTENCY_TTL_SECONDS,
};
use crate::domain::audit::AuditRecord;
use crate::domain::delivery::{AlertRecord, ClaimedAlert, Settlement};
use crate::domain::staff::{StaffAccount, Username};
use crate::domain::vehicle::{Plate, VehiclePass};
use crate::domain::visitor::VisitorPass;
use crate::domain::{Phone, Resident, ResidentId, ScanEvent, Venue, VenueId, Visit};

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "checkin.sqlite3";

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Unavailable(format!("sqlite: {e}"))
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database in `data_dir`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the directory or file cannot be created or opened.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        // The database holds phones and password hashes: only the service's user may read it
        // (SQLite gives its -wal and -shm files the database file's mode).
        let path = data_dir.join(DB_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| {
                    StoreError::Unavailable(format!("cannot open {}: {e}", path.display()))
                })?;
        }
        let mut conn = Connection::open(&path)?;
        schema::prepare(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Unavailable("sqlite connection poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("blocking task failed: {e}")))?
    }

    fn upsert_json(
        conn: &Connection,
        table: &str,
        key: &str,
        json: &str,
    ) -> Result<Upsert, StoreError> {
        let existed: bool = conn
            .query_row(
                &format!("SELECT 1 FROM {table} WHERE id = ?1"),
                [key],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        conn.execute(
            &format!(
                "INSERT INTO {table} (id, json) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET json = excluded.json"
            ),
            params![key, json],
        )?;
        Ok(if existed {
            Upsert::Updated
        } else {
            Upsert::Created
        })
    }

    fn get_json<T: serde::de::DeserializeOwned>(
        conn: &Connection,
        sql: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let raw: Option<String> = conn.query_row(sql, [key], |r| r.get(0)).optional()?;
        raw.map(|s| serde_json::from_str(&s).map_err(StoreError::from))
            .transpose()
    }

    /// Inserts a visit, or replaces the stored one with its id: `commit_scan`'s write of a
    /// changed visit, shared with `import_visits`.
    fn write_visit(conn: &Connection, v: &Visit) -> Result<(), StoreError> {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO visits (id, resident_id, venue_id, start_ms, open, json, end_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET start_ms = excluded.start_ms,
                open = excluded.open, json = excluded.json, end_ms = excluded.end_ms",
        )?;
        stmt.execute(params![
            v.id,
            v.resident_id.as_str(),
            v.venue_id.as_str(),
            v.start().timestamp_millis(),
            v.is_open(),
            serde_json::to_string(v)?,
            v.latest_end().timestamp_millis()
        ])?;
        Ok(())
    }

    /// Runs `sql` with `key` and the window `[from, to]` (ms) as its three parameters and reads
    /// each row's JSON column as a `T`.
    fn json_query<T: serde::de::DeserializeOwned>(
        conn: &Connection,
        sql: &str,
        key: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(
            params![key, from.timestamp_millis(), to.timestamp_millis()],
            |r| r.get::<_, String>(0),
        )?;
        rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|c| {
            let now = Utc::now().to_rfc3339();
            c.execute(
                "INSERT INTO meta (k, v) VALUES ('ping', ?1)
                 ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                [&now],
            )?;
            let back: String =
                c.query_row("SELECT v FROM meta WHERE k = 'ping'", [], |r| r.get(0))?;
            if back == now {
                Ok(())
            } else {
                Err(StoreError::Unavailable(
                    "ping read back another value".into(),
                ))
            }
        })
        .await
    }

    async fn put_venue(&self, venue: &Venue) -> Result<Upsert, StoreError> {
        let json = serde_json::to_string(venue)?;
        let id = venue.id.to_string();
        self.run(move |c| Self::upsert_json(c, "venues", &id, &json))
            .await
    }

    async fn insert_venue(&self, venue: &Venue) -> Result<bool, StoreError> {
        let json = serde_json::to_string(venue)?;
        let id = venue.id.to_string();
        self.run(move |c| {
            let n = c.execute(
                "INSERT INTO venues (id, json) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
                params![id, json],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn replace_venue(&self, venue: &Venue, expected: u64) -> Result<bool, StoreError> {
        let json = serde_json::to_string(venue)?;
        let id = venue.id.to_string();
        let expected = i64::try_from(expected).unwrap_or(i64::MAX);
        self.run(move |c| {
            let n = c.execute(
                "UPDATE venues SET json = ?2
                 WHERE id = ?1 AND COALESCE(json_extract(json, '$.revision'), 0) = ?3",
                params![id, json, expected],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn venue(&self, id: &VenueId) -> Result<Option<Venue>, StoreError> {
        let id = id.to_string();
        self.run(move |c| Self::get_json(c, "SELECT json FROM venues WHERE id = ?1", &id))
            .await
    }

    async fn sub_locations(&self, parent: &VenueId) -> Result<Vec<VenueId>, StoreError> {
        let parent = parent.to_string();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM venues WHERE json_extract(json, '$.parent') = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([&parent], |r| r.get::<_, String>(0))?;
            rows.map(|r| VenueId::parse(&r?).map_err(|e| StoreError::Corrupt(e.to_string())))
                .collect()
        })
        .await
    }

    async fn venues(&self) -> Result<Vec<Venue>, StoreError> {
        self.run(|c| {
            let mut stmt = c.prepare_cached("SELECT json FROM venues ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
        })
        .await
    }

    async fn put_resident(&self, resident: &Resident) -> Result<Upsert, StoreError> {
        let json = serde_json::to_string(resident)?;
        let id = resident.id.to_string();
        let phone = resident.phone.as_str().to_owned();
        let home = resident.home.as_ref().map(ToString::to_string);
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let owner: Option<String> = tx
                .query_row("SELECT id FROM residents WHERE phone = ?1", [&phone], |r| {
                    r.get(0)
                })
                .optional()?;
            if owner.as_deref().is_some_and(|o| o != id) {
                return Err(StoreError::Conflict(crate::storage::PHONE_TAKEN.into()));
            }
            let existed = tx
                .query_row("SELECT 1 FROM residents WHERE id = ?1", [&id], |_| Ok(()))
                .optional()?
                .is_some();
            tx.execute(
                "INSERT INTO residents (id, phone, json, home) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET phone = excluded.phone, json = excluded.json,
                    home = excluded.home",
                params![id, phone, json, home],
            )?;
            tx.commit()?;
            Ok(if existed {
                Upsert::Updated
            } else {
                Upsert::Created
            })
        })
        .await
    }

    async fn residents_at_home(&self, home: &VenueId) -> Result<Vec<Resident>, StoreError> {
        let home = home.to_string();
        self.run(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT json FROM residents WHERE home = ?1 ORDER BY id")?;
            let rows = stmt.query_map([&home], |r| r.get::<_, String>(0))?;
            rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
        })
        .await
    }

    async fn resident(&self, id: &ResidentId) -> Result<Option<Resident>, StoreError> {
        let id = id.to_string();
        self.run(move |c| Self::get_json(c, "SELECT json FROM residents WHERE id = ?1", &id))
            .await
    }

    async fn resident_by_phone(&self, phone: &Phone) -> Result<Option<Resident>, StoreError> {
        let phone = phone.as_str().to_owned();
        self.run(move |c| Self::get_json(c, "SELECT json FROM residents WHERE phone = ?1", &phone))
            .await
    }

    async fn put_staff(&self, account: &StaffAccount) -> Result<Upsert, StoreError> {
        let json = serde_json::to_string(account)?;
        let id = account.username.as_str().to_owned();
        self.run(move |c| Self::upsert_json(c, "staff", &id, &json))
            .await
    }

    async fn add_staff(&self, account: &StaffAccount) -> Result<bool, StoreError> {
        let json = serde_json::to_string(account)?;
        let id = account.username.as_str().to_owned();
        self.run(move |c| {
            let added = c.execute(
                "INSERT INTO staff (id, json) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
                params![id, json],
            )?;
            Ok(added == 1)
        })
        .await
    }

    async fn staff(&self, username: &Username) -> Result<Option<StaffAccount>, StoreError> {
        let id = username.as_str().to_owned();
        self.run(move |c| Self::get_json(c, "SELECT json FROM staff WHERE id = ?1", &id))
            .await
    }

    async fn put_otp(&self, phone: &Phone, otp: &OtpRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(otp)?;
        let id = phone.as_str().to_owned();
        self.run(move |c| Self::upsert_json(c, "otps", &id, &json).map(|_| ()))
            .await
    }

    async fn restore_otp(&self, phone: &Phone, otp: &OtpRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(otp)?;
        let id = phone.as_str().to_owned();
        self.run(move |c| {
            c.execute(
                "INSERT INTO otps (id, json) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
                params![id, json],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_otp(&self, phone: &Phone) -> Result<Option<OtpRecord>, StoreError> {
        let id = phone.as_str().to_owned();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let rec: Option<OtpRecord> =
                Self::get_json(&tx, "SELECT json FROM otps WHERE id = ?1", &id)?;
            tx.execute("DELETE FROM otps WHERE id = ?1", [&id])?;
            tx.commit()?;
            Ok(rec)
        })
        .await
    }

    async fn person_state(
        &self,
        resident: &ResidentId,
        idempotency_key: Option<&str>,
    ) -> Result<PersonState, StoreError> {
        let id = resident.to_string();
        let key = idempotency_key.map(str::to_owned);
        self.run(move |c| {
            let row: Option<(i64, Option<String>, Option<i64>)> = c
                .query_row(
                    "SELECT version, open_visit, latest_scan_ms FROM persons WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (version, open_id, latest_ms) = row.unwrap_or((0, None, None));
            let open: Option<Visit> = match open_id {
                Some(v) => Self::get_json(c, "SELECT json FROM visits WHERE id = ?1", &v)?,
                None => None,
            };
            let idempotent = match key {
                Some(k) => {
                    let cutoff = Utc::now().timestamp() - IDEMPOTENCY_TTL_SECONDS as i64;
                    let raw: Option<String> = c
                        .query_row(
                            "SELECT json FROM idempotency
                             WHERE resident_id = ?1 AND key = ?2 AND created_at >= ?3",
                            params![id, k, cutoff],
                            |r| r.get(0),
                        )
                        .optional()?;
                    raw.map(|s| serde_json::from_str::<IdempotencyRecord>(&s))
                        .transpose()?
                }
                None => None,
            };
            let resident = Self::get_json(c, "SELECT json FROM residents WHERE id = ?1", &id)?;
            Ok(PersonState {
                version: u64::try_from(version).unwrap_or(0),
                open,
                idempotent,
                resident,
                latest_scan_time: latest_ms.and_then(DateTime::from_timestamp_millis),
            })
        })
        .await
    }

    async fn commit_scan(&self, commit: &ScanCommit) -> Result<CommitResult, StoreError> {
        let commit = commit.clone();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let id = commit.resident_id.to_string();
            let version: i64 = tx
                .query_row("SELECT version FROM persons WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })
                .optional()?
                .unwrap_or(0);
            if u64::try_from(version).unwrap_or(0) != commit.expected_version {
                return Ok(CommitResult::Conflict);
            }
            let open_id = commit.open_after.as_ref().map(|v| v.id.clone());
            tx.execute(
                "INSERT INTO persons (id, version, open_visit, latest_scan_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET version = excluded.version,
                    open_visit = excluded.open_visit,
                    latest_scan_ms = MAX(COALESCE(latest_scan_ms, excluded.latest_scan_ms),
                                         excluded.latest_scan_ms)",
                params![
                    id,
                    version + 1,
                    open_id,
                    commit.event.scan_time.timestamp_millis()
                ],
            )?;
            tx.execute(
                "INSERT INTO events (id, resident_id, scan_time, json) VALUES (?1, ?2, ?3, ?4)",
                params![
                    commit.event.id,
                    id,
                    commit.event.scan_time.timestamp_millis(),
                    serde_json::to_string(&commit.event)?
                ],
            )?;
            for v in &commit.removed {
                tx.execute("DELETE FROM visits WHERE id = ?1", [&v.id])?;
            }
            for v in &commit.changed {
                Self::write_visit(&tx, v)?;
            }
            for a in &commit.alerts {
                tx.execute(
                    "INSERT INTO alerts (id, at_ms, json, due_ms) VALUES (?1, ?2, ?3, ?2)
                     ON CONFLICT(id) DO NOTHING",
                    params![a.id, a.at.timestamp_millis(), serde_json::to_string(a)?],
                )?;
            }
            if let Some((key, rec)) = &commit.idempotency {
                tx.execute(
                    "INSERT INTO idempotency (resident_id, key, created_at, json)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(resident_id, key) DO UPDATE SET
                        created_at = excluded.created_at, json = excluded.json",
                    params![id, key, Utc::now().timestamp(), serde_json::to_string(rec)?],
                )?;
            }
            tx.commit()?;
            Ok(CommitResult::Committed)
        })
        .await
    }

    async fn import_visits(&self, visits: &[Visit]) -> Result<(), StoreError> {
        refuse_open_visits(visits)?;
        if visits.is_empty() {
            return Ok(());
        }
        let visits = visits.to_vec();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for v in &visits {
                Self::write_visit(&tx, v)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn recent_scans(
        &self,
        venue: &VenueId,
        limit: usize,
    ) -> Result<Vec<ScanEvent>, StoreError> {
        let venue = venue.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT json FROM events WHERE json_extract(json, '$.venue_id') = ?1
                 ORDER BY rowid DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![venue, limit], |r| r.get::<_, String>(0))?;
            rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
        })
        .await
    }

    async fn venue_events(
        &self,
        venues: &[VenueId],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ScanEvent>, StoreError> {
        let wanted: std::collections::HashSet<VenueId> = venues.iter().cloned().collect();
        let (from, to) = (from.timestamp_millis(), to.timestamp_millis());
        let mut events: Vec<ScanEvent> = self
            .run(move |c| {
                // By time (one day holds a street's scans), then by venue here: one index
                // read whatever the number of venues.
                let mut stmt =
                    c.prepare_cached("SELECT json FROM events WHERE scan_time BETWEEN ?1 AND ?2")?;
                let rows = stmt.query_map(params![from, to], |r| r.get::<_, String>(0))?;
                let mut out = Vec::new();
                for r in rows {
                    let e: ScanEvent = serde_json::from_str(&r?)?;
                    if wanted.contains(&e.venue_id) {
                        out.push(e);
                    }
                }
                Ok(out)
            })
            .await?;
        events.sort_by(|a, b| (a.scan_time, &a.id).cmp(&(b.scan_time, &b.id)));
        Ok(events)
    }

    async fn scan_events(&self, resident: &ResidentId) -> Result<Vec<ScanEvent>, StoreError> {
        let id = resident.to_string();
        self.run(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT json FROM events WHERE resident_id = ?1 ORDER BY rowid")?;
            let rows = stmt.query_map([&id], |r| r.get::<_, String>(0))?;
            rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
        })
        .await
    }

    async fn resident_visits(
        &self,
        resident: &ResidentId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Visit>, StoreError> {
        let id = resident.to_string();
        self.run(move |c| {
            Self::json_query(
                c,
                "SELECT json FROM visits WHERE resident_id = ?1 AND start_ms BETWEEN ?2 AND ?3
                 ORDER BY start_ms, id",
                &id,
                from - lookback(),
                to,
            )
        })
        .await
    }

    async fn venue_visits_starting(
        &self,
        venue: &VenueId,
        starts_from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Visit>, StoreError> {
        let id = venue.to_string();
        self.run(move |c| {
            Self::json_query(
                c,
                "SELECT json FROM visits WHERE venue_id = ?1 AND start_ms BETWEEN ?2 AND ?3
                 ORDER BY start_ms, id",
                &id,
                starts_from,
                to,
            )
        })
        .await
    }

    async fn put_visitor_pass(&self, pass: &VisitorPass) -> Result<(), StoreError> {
        let json = serde_json::to_string(pass)?;
        let (id, phone) = (pass.id.clone(), pass.phone.as_str().to_owned());
        self.run(move |c| {
            c.execute(
                "INSERT INTO visitor_passes (id, phone, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET phone = excluded.phone, json = excluded.json",
                params![id, phone, json],
            )?;
            Ok(())
        })
        .await
    }

    async fn visitor_pass(&self, id: &str) -> Result<Option<VisitorPass>, StoreError> {
        let id = id.to_owned();
        self.run(move |c| Self::get_json(c, "SELECT json FROM visitor_passes WHERE id = ?1", &id))
            .await
    }

    async fn visitor_passes(&self, phone: &Phone) -> Result<Vec<VisitorPass>, StoreError> {
        let phone = phone.as_str().to_owned();
        self.run(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT json FROM visitor_passes WHERE phone = ?1 ORDER BY id")?;
            let rows = stmt.query_map([&phone], |r| r.get::<_, String>(0))?;
            rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
        })
        .await
    }

    async fn add_vehicle_pass(
        &self,
        pass: &VehiclePass,
    ) -> Result<Option<VehiclePass>, StoreError> {
        let json = serde_json::to_string(pass)?;
        let (id, venue, plate, at) = (
            pass.id.clone(),
            pass.venue_id.to_string(),
            pass.plate.to_string(),
            pass.at.timestamp_millis(),
        );
        let kept: Option<String> = self
            .run(move |c| {
                let added = c.execute(
                    "INSERT INTO vehicle_passes (id, venue_id, plate, at_ms, json)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(id) DO NOTHING",
                    params![id, venue, plate, at, json],
                )?;
                if added == 1 {
                    return Ok(None);
                }
                Ok(Some(c.query_row(
                    "SELECT json FROM vehicle_passes WHERE id = ?1",
                    params![id],
                    |row| row.get(0),
                )?))
            })
            .await?;
        kept.map(|json| serde_json::from_str(&json).map_err(StoreError::from))
            .transpose()
    }

    async fn vehicle_passes_at(
        &self,
        venue: &VenueId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VehiclePass>, StoreError> {
        let venue = venue.to_string();
        self.run(move |c| {
            Self::json_query(
                c,
                "SELECT json FROM vehicle_passes WHERE venue_id = ?1 AND at_ms BETWEEN ?2 AND ?3
                 ORDER BY at_ms, id",
                &venue,
                from,
                to,
            )
        })
        .await
    }

    async fn vehicle_passes_by_plate(
        &self,
        plate: &Plate,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VehiclePass>, StoreError> {
        let plate = plate.to_string();
        self.run(move |c| {
            Self::json_query(
                c,
                "SELECT json FROM vehicle_passes WHERE plate = ?1 AND at_ms BETWEEN ?2 AND ?3
                 ORDER BY at_ms, id",
                &plate,
                from,
                to,
            )
        })
        .await
    }

    async fn alerts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        self.run(move |c| alerts::list(c, from, to)).await
    }

    async fn claim_alerts(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ClaimedAlert>, StoreError> {
        self.run(move |c| alerts::claim(c, now, lease_until, limit))
            .await
    }

    async fn settle_alert(
        &self,
        alert_id: &str,
        claim: &str,
        settlement: &Settlement,
    ) -> Result<bool, StoreError> {
        let (id, claim, settlement) = (alert_id.to_owned(), claim.to_owned(), settlement.clone());
        self.run(move |c| alerts::settle(c, &id, &claim, &settlement))
            .await
    }

    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(record)?;
        let (id, at) = (record.id.clone(), record.at.timestamp_millis());
        self.run(move |c| {
            c.execute(
                "INSERT INTO audit (id, at_ms, json) VALUES (?1, ?2, ?3)",
                params![id, at, json],
            )?;
            Ok(())
        })
        .await
    }

    async fn audit(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT json FROM audit WHERE at_ms BETWEEN ?1 AND ?2 ORDER BY at_ms, id",
            )?;
            let rows = stmt.query_map(
                params![from.timestamp_millis(), to.timestamp_millis()],
                |r| r.get::<_, String>(0),
            )?;
            rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
        })
        .await
    }

    async fn purge(
        &self,
        visits_before: DateTime<Utc>,
        audit_before: DateTime<Utc>,
    ) -> Result<PurgeReport, StoreError> {
        let (visits_ms, audit_ms) = (
            visits_before.timestamp_millis(),
            audit_before.timestamp_millis(),
        );
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // A person whose open visit goes no longer has it open (it ended long ago); the
            // version moves so that a scan decided on the old state is decided again.
            tx.execute(
                "UPDATE persons SET open_visit = NULL, version = version + 1 WHERE open_visit IN
                    (SELECT id FROM visits WHERE end_ms < ?1)",
                [visits_ms],
            )?;
            let visits = tx.execute("DELETE FROM visits WHERE end_ms < ?1", [visits_ms])?;
            let events = tx.execute("DELETE FROM events WHERE scan_time < ?1", [visits_ms])?;
            tx.execute("DELETE FROM alerts WHERE at_ms < ?1", [visits_ms])?;
            let passes = tx.execute("DELETE FROM vehicle_passes WHERE at_ms < ?1", [visits_ms])?;
            // A visitor pass (a name and a phone) goes once it ended before the cutoff.
            tx.execute(
                "DELETE FROM visitor_passes
                 WHERE julianday(json_extract(json, '$.valid_until')) < julianday(?1)",
                [visits_before.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)],
            )?;
            let audit = tx.execute("DELETE FROM audit WHERE at_ms < ?1", [audit_ms])?;
            tx.commit()?;
            let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
            Ok(PurgeReport {
                visits: count(visits),
                events: count(events),
                audit: count(audit),
                vehicle_passes: count(passes),
            })
        })
        .await
    }

    async fn open_visits(&self, venue: &VenueId) -> Result<Vec<Visit>, StoreError> {
        let id = venue.to_string();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT json FROM visits WHERE venue_id = ?1 AND open = 1 ORDER BY start_ms, id",
            )?;
            let rows = stmt.query_map([&id], |r| r.get::<_, String>(0))?;
            rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
        })
        .await
    }
}
