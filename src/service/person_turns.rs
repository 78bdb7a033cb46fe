//! One person's scans on this instance, one at a time.
//!
//! A scan reads the person's state, decides and commits only if the state is unchanged
//! (optimistic; `scans.rs`). Scans of one person arriving together (a phone's offline queue
//! sent as several requests, a retry beside its original) would otherwise keep making one
//! another decide again; an instance lets them take turns instead. Scans through other
//! instances still meet the version check.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};

use crate::domain::ResidentId;

/// How many locks the residents share (a person maps to one by a hash of their id): enough
/// that two people rarely wait on each other, at about 40 bytes each.
const STRIPES: usize = 4096;

/// The locks of [`self`](crate::service::person_turns).
pub struct PersonTurns {
    stripes: Vec<Mutex<()>>,
}

impl Default for PersonTurns {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl PersonTurns {
    /// Waits for `person`'s turn; the turn lasts as long as the guard. A caller must not wait
    /// for a second person's turn while holding one (two people may share a lock).
    pub async fn turn(&self, person: &ResidentId) -> Option<MutexGuard<'_, ()>> {
        let mut hasher = DefaultHasher::new();
        person.as_str().hash(&mut hasher);
        let index = usize::try_from(hasher.finish() % STRIPES as u64).unwrap_or(0);
        match self.stripes.get(index) {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_persons_second_turn_waits_for_the_first_and_another_person_does_not() {
        let turns = PersonTurns::default();
        let a = ResidentId::parse("R00001").expect("an id");
        let first = turns.turn(&a).await;
        assert!(first.is_some());
        let again = tokio::time::timeout(std::time::Duration::from_millis(20), turns.turn(&a));
        assert!(again.await.is_err(), "the second turn waited");
        let others = (2..50).filter_map(|n| ResidentId::parse(&format!("R{n:05}")).ok());
        let free = futures::future::join_all(others.map(|b| {
            let turns = &turns;
            async move {
                tokio::time::timeout(std::time::Duration::from_millis(20), turns.turn(&b))
                    .await
                    .is_ok()
            }
        }))
        .await;
        // Forty-eight others, 4,096 locks: at most a rare one shares the first person's.
        assert!(free.iter().filter(|f| **f).count() >= 46, "{free:?}");
        drop(first);
        assert!(turns.turn(&a).await.is_some());
    }
}
