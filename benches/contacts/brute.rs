//! The brute-force answer: contacts found by scanning every visit of the district in memory,
//! twice, written from the contract ("Contacts") and sharing no code with the service.
//!
//! For each visit of the index case P, its interval `[s, e]` clipped to the window and widened
//! by the buffer `b` to `[s - b, e + b]`, and each visit `[s', e']` of another person at the
//! same venue, the pair counts when `max(s - b, s') <= min(e + b, e')` and the overlap
//! `min(e + b, e') - max(s - b, s')` is at least the minimum overlap. All visits here are
//! closed, so an interval is `[start, check_out]` and does not depend on the query's time.

use crate::district::Row;

/// A contact query in ms since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    /// Window start.
    pub from_ms: i64,
    /// Window end.
    pub to_ms: i64,
    /// Buffer, ms.
    pub buffer_ms: i64,
    /// Minimum overlap, ms.
    pub min_overlap_ms: i64,
}

/// One counted pair: the contact, both visits (positions in the rows) and the overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pair {
    /// The contact's resident index.
    pub contact: u32,
    /// The index case's visit.
    pub index_visit: u32,
    /// The contact's visit.
    pub contact_visit: u32,
    /// Overlap start, ms.
    pub from_ms: i64,
    /// Overlap end, ms.
    pub to_ms: i64,
}

/// Every pair of the contacts of `index`: one pass over all rows for the index case's visits,
/// one more over all rows for everyone else's.
pub fn contacts(rows: &[Row], venues: usize, index: u32, q: &Query) -> Vec<Pair> {
    // The index case's widened intervals, by venue: (lo, hi, position).
    let mut at_venue: Vec<Vec<(i64, i64, u32)>> = vec![Vec::new(); venues];
    for (i, r) in rows.iter().enumerate() {
        if r.resident == index {
            let (s, e) = (r.start_ms.max(q.from_ms), r.end_ms.min(q.to_ms));
            if s <= e {
                at_venue[r.venue as usize].push((s - q.buffer_ms, e + q.buffer_ms, i as u32));
            }
        }
    }
    let mut pairs = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if r.resident == index {
            continue;
        }
        for &(lo, hi, p) in &at_venue[r.venue as usize] {
            let (from, to) = (lo.max(r.start_ms), hi.min(r.end_ms));
            if from <= to && to - from >= q.min_overlap_ms {
                pairs.push(Pair {
                    contact: r.resident,
                    index_visit: p,
                    contact_visit: i as u32,
                    from_ms: from,
                    to_ms: to,
                });
            }
        }
    }
    pairs
}
