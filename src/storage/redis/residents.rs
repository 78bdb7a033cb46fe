//! Writing a resident on Redis: the record, the unique phone index and the home's list, each
//! key written by its own single-slot step, so that it works on a cluster too.
//!
//! The order makes every stop half way harmless:
//! 1. the new home's list gains the id (readers check the record's `home`, so an extra entry is
//!    only skipped);
//! 2. the new phone is claimed (`SET_IF` empty or our id). A claim held by another resident
//!    whose record no longer has that phone is stale (its write stopped half way) and is taken
//!    over; one whose record has it is a conflict;
//! 3. the record is written if it is still the one read (`SET_IF`), else all is read again;
//! 4. the old phone is released (`DEL_IF` it still names us) and the old home's list loses the
//!    id.

use super::{parse, RedisStore};
use crate::domain::{Phone, Resident, ResidentId};
use crate::storage::{StoreError, Upsert, PHONE_TAKEN};

/// How many times a write starts over when the record or the phone claim changes under it.
const ATTEMPTS: usize = 5;

impl RedisStore {
    /// See [`crate::storage::Store::put_resident`].
    pub(super) async fn write_resident(&self, resident: &Resident) -> Result<Upsert, StoreError> {
        let json = serde_json::to_string(resident)?;
        let rkey = self.keys.resident(&resident.id);
        for _ in 0..ATTEMPTS {
            let before: Option<String> = redis::cmd("GET")
                .arg(&rkey)
                .query_async(&mut self.conn())
                .await?;
            let old = before.as_deref().map(parse::<Resident>).transpose()?;
            if let Some(home) = &resident.home {
                let _: i64 = redis::cmd("SADD")
                    .arg(self.keys.venue_residents(home))
                    .arg(resident.id.as_str())
                    .query_async(&mut self.conn())
                    .await?;
            }
            if !self.claim_phone(&resident.phone, &resident.id).await? {
                continue;
            }
            if !self
                .set_if(&rkey, before.as_deref().unwrap_or(""), &json)
                .await?
            {
                continue;
            }
            if let Some(old) = &old {
                if old.phone != resident.phone {
                    let _: i64 = self
                        .scripts
                        .del_if
                        .key(self.keys.phone(&old.phone))
                        .arg(resident.id.as_str())
                        .invoke_async(&mut self.conn())
                        .await?;
                }
                if let Some(home) = old
                    .home
                    .as_ref()
                    .filter(|h| resident.home.as_ref() != Some(h))
                {
                    let _: i64 = redis::cmd("SREM")
                        .arg(self.keys.venue_residents(home))
                        .arg(resident.id.as_str())
                        .query_async(&mut self.conn())
                        .await?;
                }
            }
            return Ok(if old.is_some() {
                Upsert::Updated
            } else {
                Upsert::Created
            });
        }
        Err(StoreError::Unavailable(
            "the resident kept changing while being written".into(),
        ))
    }

    /// Claims `phone` for `id`. Answers false when the claim changed meanwhile (start over).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another resident's record has the phone.
    async fn claim_phone(&self, phone: &Phone, id: &ResidentId) -> Result<bool, StoreError> {
        let key = self.keys.phone(phone);
        let owner: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut self.conn())
            .await?;
        match owner {
            Some(o) if o == id.as_str() => Ok(true),
            None => self.set_if(&key, "", id.as_str()).await,
            Some(other) => {
                let holder = ResidentId::parse(&other)
                    .map_err(|e| StoreError::Corrupt(format!("phone index: {e}")))?;
                let record: Option<Resident> = self.get_json(self.keys.resident(&holder)).await?;
                if record.is_some_and(|r| &r.phone == phone) {
                    return Err(StoreError::Conflict(PHONE_TAKEN.into()));
                }
                // A claim left by a write that stopped half way, or a phone given up.
                self.set_if(&key, &other, id.as_str()).await
            }
        }
    }

    /// `SET_IF`: sets `key` to `value` if it holds `expected` (empty: missing).
    async fn set_if(&self, key: &str, expected: &str, value: &str) -> Result<bool, StoreError> {
        let set: i64 = self
            .scripts
            .set_if
            .key(key)
            .arg(expected)
            .arg(value)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(set == 1)
    }
}
