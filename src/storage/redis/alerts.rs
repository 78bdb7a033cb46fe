//! Alerts' webhook delivery on Redis: a due queue and one hash (see `keys`), claimed and
//! settled by scripts so that a claim and its settlement are each atomic.

use chrono::{DateTime, Utc};

use super::{parse, parse_opt, RedisStore};
use crate::domain::alert::Alert;
use crate::domain::delivery::{AlertRecord, ClaimedAlert, Delivery, Settlement};
use crate::storage::StoreError;

/// Claims due alerts until a lease's end.
///
/// `KEYS`: 1 `{alerts}:due`, 2 `{alerts}:delivery`. `ARGV`: 1 now ms, 2 lease end ms, 3 the
/// most to claim, 4 the claim.
///
/// Returns three per claimed alert: id, alert JSON, delivery state JSON or empty (never
/// tried). A queued id whose alert is gone (purged) is dropped from the queue.
pub(super) const CLAIM_ALERTS: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local alert = redis.call('HGET', KEYS[2], id .. ':alert')
  if alert then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    redis.call('HSET', KEYS[2], id .. ':claim', ARGV[4])
    table.insert(out, id)
    table.insert(out, alert)
    table.insert(out, redis.call('HGET', KEYS[2], id .. ':state') or '')
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
";

/// Records a claimed attempt's end if the claim still holds.
///
/// `KEYS`: 1 `{alerts}:due`, 2 `{alerts}:delivery`. `ARGV`: 1 alert id, 2 the claim, 3 the
/// delivery state JSON, 4 when to retry (ms), or empty when settled for good.
///
/// Returns 1 when recorded, 0 when the claim no longer holds (nothing written).
pub(super) const SETTLE_ALERT: &str = r"
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id .. ':claim') ~= ARGV[2] or not redis.call('ZSCORE', KEYS[1], id) then
  return 0
end
redis.call('HSET', KEYS[2], id .. ':state', ARGV[3])
redis.call('HDEL', KEYS[2], id .. ':claim')
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[1], id)
else
  redis.call('ZADD', KEYS[1], ARGV[4], id)
end
return 1
";

impl RedisStore {
    /// See `Store::alerts`.
    pub(super) async fn alert_records(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let raw: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.keys.alerts())
            .arg(from.timestamp_millis())
            .arg(to.timestamp_millis())
            .query_async(&mut self.conn())
            .await?;
        let mut alerts = raw
            .iter()
            .map(|j| parse::<Alert>(j))
            .collect::<Result<Vec<_>, _>>()?;
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        alerts.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        let mut states = redis::cmd("HMGET");
        states.arg(self.keys.alerts_delivery());
        for a in &alerts {
            states.arg(format!("{}:state", a.id));
        }
        let states: Vec<Option<String>> = states.query_async(&mut self.conn()).await?;
        alerts
            .into_iter()
            .zip(states)
            .map(|(alert, state)| {
                Ok(AlertRecord {
                    alert,
                    delivery: parse_opt(state)?.unwrap_or_else(Delivery::pending),
                })
            })
            .collect()
    }

    /// See `Store::claim_alerts`.
    pub(super) async fn claim_due_alerts(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ClaimedAlert>, StoreError> {
        let claim = uuid::Uuid::new_v4().to_string();
        let raw: Vec<String> = self
            .scripts
            .claim_alerts
            .key(self.keys.alerts_due())
            .key(self.keys.alerts_delivery())
            .arg(now.timestamp_millis())
            .arg(lease_until.timestamp_millis())
            .arg(limit)
            .arg(&claim)
            .invoke_async(&mut self.conn())
            .await?;
        raw.chunks(3)
            .map(|c| match c {
                [_, alert, state] => Ok(ClaimedAlert {
                    alert: parse(alert)?,
                    delivery: if state.is_empty() {
                        Delivery::pending()
                    } else {
                        parse(state)?
                    },
                    claim: claim.clone(),
                }),
                _ => Err(StoreError::Corrupt("claim answer not in threes".into())),
            })
            .collect()
    }

    /// See `Store::settle_alert`.
    pub(super) async fn settle_claimed_alert(
        &self,
        alert_id: &str,
        claim: &str,
        settlement: &Settlement,
    ) -> Result<bool, StoreError> {
        let (delivery, retry_at) = match settlement {
            Settlement::Delivered(d) | Settlement::GaveUp(d) => (d, String::new()),
            Settlement::Retry { delivery, retry_at } => {
                (delivery, retry_at.timestamp_millis().to_string())
            }
        };
        let done: i64 = self
            .scripts
            .settle_alert
            .key(self.keys.alerts_due())
            .key(self.keys.alerts_delivery())
            .arg(alert_id)
            .arg(claim)
            .arg(serde_json::to_string(delivery)?)
            .arg(retry_at)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(done == 1)
    }

    /// Drops the delivery records of alerts about to be purged (their JSONs as stored).
    pub(super) async fn forget_deliveries(&self, purged: &[String]) -> Result<(), StoreError> {
        let ids = purged
            .iter()
            .map(|j| parse::<Alert>(j).map(|a| a.id))
            .collect::<Result<Vec<_>, _>>()?;
        for chunk in ids.chunks(500) {
            let mut pipe = redis::pipe();
            let mut hdel = redis::cmd("HDEL");
            hdel.arg(self.keys.alerts_delivery());
            for id in chunk {
                hdel.arg(format!("{id}:alert"))
                    .arg(format!("{id}:state"))
                    .arg(format!("{id}:claim"));
            }
            pipe.add_command(hdel).ignore();
            pipe.cmd("ZREM")
                .arg(self.keys.alerts_due())
                .arg(chunk)
                .ignore();
            let () = pipe.query_async(&mut self.conn()).await?;
        }
        Ok(())
    }
}
