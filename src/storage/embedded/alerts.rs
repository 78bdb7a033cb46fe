//! Alerts' delivery state in SQLite: `due_ms` holds when a pending delivery is next tried
//! (a claim moves it to the lease's end), and is NULL once delivered or given up.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::domain::alert::Alert;
use crate::domain::delivery::{AlertRecord, ClaimedAlert, Delivery, Settlement};
use crate::storage::StoreError;

fn delivery(raw: Option<String>) -> Result<Delivery, StoreError> {
    match raw {
        Some(j) => Ok(serde_json::from_str(&j)?),
        None => Ok(Delivery::pending()),
    }
}

/// Alerts with `at` in `[from, to]`, oldest first.
pub fn list(
    c: &mut Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<AlertRecord>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT json, delivery FROM alerts WHERE at_ms BETWEEN ?1 AND ?2 ORDER BY at_ms, id",
    )?;
    let rows = stmt.query_map(
        params![from.timestamp_millis(), to.timestamp_millis()],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
    )?;
    rows.map(|r| {
        let (alert, d) = r?;
        Ok(AlertRecord {
            alert: serde_json::from_str(&alert)?,
            delivery: delivery(d)?,
        })
    })
    .collect()
}

/// Claims due pending alerts in one transaction (see `Store::claim_alerts`).
pub fn claim(
    c: &mut Connection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<ClaimedAlert>, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let claim = uuid::Uuid::new_v4().to_string();
    let claimed = {
        let mut stmt = tx.prepare_cached(
            "UPDATE alerts SET due_ms = ?1, claim = ?2 WHERE id IN (
                 SELECT id FROM alerts WHERE due_ms IS NOT NULL AND due_ms <= ?3
                 ORDER BY due_ms, id LIMIT ?4)
             RETURNING json, delivery",
        )?;
        let rows = stmt.query_map(
            params![
                lease_until.timestamp_millis(),
                claim,
                now.timestamp_millis(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
        )?;
        rows.map(|r| {
            let (alert, d) = r?;
            Ok(ClaimedAlert {
                alert: serde_json::from_str::<Alert>(&alert)?,
                delivery: delivery(d)?,
                claim: claim.clone(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?
    };
    tx.commit()?;
    Ok(claimed)
}

/// Settles a claimed attempt if the claim still holds (see `Store::settle_alert`).
pub fn settle(
    c: &mut Connection,
    id: &str,
    claim: &str,
    settlement: &Settlement,
) -> Result<bool, StoreError> {
    let (d, due) = match settlement {
        Settlement::Delivered(d) | Settlement::GaveUp(d) => (d, None),
        Settlement::Retry { delivery, retry_at } => (delivery, Some(retry_at.timestamp_millis())),
    };
    let json = serde_json::to_string(d)?;
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let held: Option<String> = tx
        .query_row(
            "SELECT claim FROM alerts WHERE id = ?1 AND due_ms IS NOT NULL",
            [id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if held.as_deref() != Some(claim) {
        return Ok(false);
    }
    tx.execute(
        "UPDATE alerts SET delivery = ?2, due_ms = ?3, claim = NULL WHERE id = ?1",
        params![id, json, due],
    )?;
    tx.commit()?;
    Ok(true)
}
