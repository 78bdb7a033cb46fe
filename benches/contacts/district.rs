//! A generated district: residents in households, buildings and compounds, shops, markets and
//! restaurants of skewed popularity, and four visits a day per resident for [`DAYS`] days.
//!
//! Everything follows from the seed (`rand`'s `StdRng`), so two runs with the same size and
//! seed build the same district, visit ids included.
//!
//! A resident's day, in local time (UTC+8): leaves home in the morning (06:30 to 09:30) for a
//! market, shop or restaurant; comes back home; leaves again in the afternoon (from 13:30) for
//! a second venue, with the whole household a quarter of the time; comes back home for the
//! night. That is four visits a day: the morning venue, home at midday, the afternoon venue,
//! and home from the evening to the next morning (the night before day 0 is not recorded).
//! Compound visits end with a check-out at a gate; a venue visit ends with a check-out or, two
//! times in five, with the next check-in (at home); one in a hundred venue visits has no
//! check-in, so its start is inferred as `check_out - max_stay`, as the scan rules do.

use checkin::domain::{
    ClosedBy, EntryPolicy, Gate, Phone, Resident, ResidentId, Venue, VenueId, VenueKind, Visit,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Days of visits.
pub const DAYS: i64 = 28;
/// Visits per resident per day.
pub const VISITS_PER_DAY: usize = 4;
/// Residents per compound, on average.
const RESIDENTS_PER_COMPOUND: usize = 50;
/// Residents per community (社区); venues are visited mostly within one's community.
const RESIDENTS_PER_COMMUNITY: usize = 5_000;
/// Households per building.
const HOUSEHOLDS_PER_BUILDING: usize = 12;
/// Shops, restaurants and markets per 1,000 residents.
const SHOPS_PER_1000: usize = 18;
const RESTAURANTS_PER_1000: usize = 8;
const MARKETS_PER_1000: usize = 2;
/// Popularity within a community: the venue of rank `k` (from 1) weighs `k^-ZIPF`.
const ZIPF: f64 = 0.8;
/// The share of venue visits made outside one's community (anywhere, by popularity).
const ELSEWHERE: f64 = 0.15;
/// The share of afternoons a household of two or more goes out together.
const TOGETHER: f64 = 0.25;
/// The share of venue visits closed by the next check-in rather than a check-out.
const BY_NEXT_CHECK_IN: f64 = 0.4;
/// The share of venue visits with no check-in (start inferred).
const INFERRED: f64 = 0.01;
/// Household sizes 1 to 5 and their shares (mean 2.48).
const HOUSEHOLD_SIZES: [(usize, f64); 5] = [(1, 0.25), (2, 0.30), (3, 0.25), (4, 0.12), (5, 0.08)];

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Local midnight starting day 0, as ms since the epoch: 2020-02-03 00:00 at UTC+8.
pub fn day0_ms() -> i64 {
    Utc.with_ymd_and_hms(2020, 2, 2, 16, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp_millis())
}

/// A time in ms since the epoch as a `DateTime`.
pub fn at(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::milliseconds(ms)
}

/// One visit, compactly: indexes into [`District::residents`] and [`District::venues`], and
/// its interval in ms since the epoch. 32 bytes, so 11.2 million fit in 360 MB.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Index of the resident.
    pub resident: u32,
    /// Index of the venue.
    pub venue: u32,
    /// Start: the check-in, or `check_out - max_stay` when inferred.
    pub start_ms: i64,
    /// The check-out (or the next check-in, when closed by it).
    pub end_ms: i64,
    /// The index of the check-in gate among the venue's gates.
    pub gate: u8,
    /// Whether the start is inferred (no check-in).
    pub inferred: bool,
    /// Whether the visit was closed by the next check-in (else by a check-out at `gate`).
    pub by_next_check_in: bool,
}

/// The generated district.
pub struct District {
    /// Compounds first, then shops, restaurants and markets.
    pub venues: Vec<Venue>,
    /// The residents, `R000001` on.
    pub residents: Vec<Resident>,
    /// Every visit, ordered by start (then resident); a visit's id follows from its position.
    pub rows: Vec<Row>,
    /// How many households.
    pub households: usize,
    /// How many buildings.
    pub buildings: usize,
    /// How many communities.
    pub communities: usize,
}

/// Cumulative weights to draw from.
struct Pick {
    items: Vec<u32>,
    cumulative: Vec<f64>,
}

impl Pick {
    fn new(items: Vec<(u32, f64)>) -> Self {
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(items.len());
        for (_, w) in &items {
            total += w;
            cumulative.push(total);
        }
        Self {
            items: items.into_iter().map(|(i, _)| i).collect(),
            cumulative,
        }
    }

    fn draw(&self, rng: &mut StdRng) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.gen::<f64>() * total;
        let i = self.cumulative.partition_point(|c| *c <= x);
        self.items[i.min(self.items.len() - 1)]
    }
}

/// The three kinds one goes out to, in the order of the pick tables.
const OUT_KINDS: [VenueKind; 3] = [VenueKind::Shop, VenueKind::Restaurant, VenueKind::Market];

fn id_or_panic<T>(r: Result<T, checkin::domain::ParseError>) -> T {
    r.unwrap_or_else(|e| panic!("a generated value is invalid: {e}"))
}

fn venue(id: String, kind: VenueKind, community: usize, gates: &[&str]) -> Venue {
    Venue {
        id: id_or_panic(VenueId::parse(&id)),
        name: format!("{id} 号场所"),
        kind,
        community: Some(format!("第{}社区", community + 1)),
        address: Some(format!("新区 {id}")),
        gates: gates.iter().map(|g| id_or_panic(Gate::parse(g))).collect(),
        max_stay_minutes: None,
        entry_policy: EntryPolicy::default_for(kind),
        entry_policy_chosen: false,
        households: None,
        code_version: 1,
        created_at: at(day0_ms() - 30 * DAY),
        revision: 0,
        parent: None,
        longest_stay_minutes: Some(kind.default_max_stay_minutes()),
        retired_gates: Vec::new(),
        location: None,
        opening_hours: None,
    }
}

/// Minutes, uniformly in `[lo, hi]`, as ms.
fn minutes(rng: &mut StdRng, lo: i64, hi: i64) -> i64 {
    rng.gen_range(lo..=hi) * MINUTE
}

/// How long a stay at a venue of `kind` lasts, ms.
fn stay(rng: &mut StdRng, kind: VenueKind) -> i64 {
    match kind {
        VenueKind::Market => minutes(rng, 20, 90),
        VenueKind::Restaurant => minutes(rng, 30, 90),
        _ => minutes(rng, 5, 40),
    }
}

/// A trip out: where, when it starts and how long it lasts.
#[derive(Clone, Copy)]
struct Trip {
    venue: u32,
    start: i64,
    stay: i64,
}

impl District {
    /// Generates a district of `residents` people from `seed`.
    pub fn generate(residents: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = residents.max(1);
        let communities = n.div_ceil(RESIDENTS_PER_COMMUNITY);
        let compounds = n.div_ceil(RESIDENTS_PER_COMPOUND);

        // Venues: compounds, then the three kinds one goes out to, spread over communities.
        let mut venues = Vec::new();
        for c in 0..compounds {
            venues.push(venue(
                format!("C{:05}", c + 1),
                VenueKind::ResidentialCompound,
                c * communities / compounds,
                &["北门", "南门"],
            ));
        }
        // picks[kind][community] and picks[kind][communities] (the whole district).
        let mut picks: Vec<Vec<Pick>> = Vec::new();
        for (kind, per_1000, letter, gates) in [
            (VenueKind::Shop, SHOPS_PER_1000, 'S', &["正门"][..]),
            (
                VenueKind::Restaurant,
                RESTAURANTS_PER_1000,
                'F',
                &["正门"][..],
            ),
            (
                VenueKind::Market,
                MARKETS_PER_1000,
                'M',
                &["东门", "西门"][..],
            ),
        ] {
            let count = (n * per_1000 / 1000).max(communities);
            let mut local: Vec<Vec<(u32, f64)>> = vec![Vec::new(); communities];
            let mut all = Vec::new();
            for i in 0..count {
                let community = i * communities / count;
                let index = venues.len() as u32;
                let rank = local[community].len() + 1;
                let weight = (rank as f64).powf(-ZIPF);
                local[community].push((index, weight));
                all.push((index, weight));
                venues.push(venue(
                    format!("{letter}{:05}", i + 1),
                    kind,
                    community,
                    gates,
                ));
            }
            let mut tables: Vec<Pick> = local.into_iter().map(Pick::new).collect();
            tables.push(Pick::new(all));
            picks.push(tables);
        }
        let max_stay: Vec<i64> = venues
            .iter()
            .map(|v| v.max_stay().num_milliseconds())
            .collect();

        // Households in compounds, buildings, rooms.
        let mut people: Vec<Resident> = Vec::with_capacity(n);
        let mut households: Vec<(u32, Vec<u32>)> = Vec::new();
        let mut in_compound = vec![0usize; compounds];
        let mut buildings = 0;
        while people.len() < n {
            let x = rng.gen::<f64>();
            let mut acc = 0.0;
            let mut size = 1;
            for (s, share) in HOUSEHOLD_SIZES {
                acc += share;
                size = s;
                if x < acc {
                    break;
                }
            }
            let size = size.min(n - people.len());
            let compound = rng.gen_range(0..compounds);
            let number = in_compound[compound];
            in_compound[compound] += 1;
            if number.is_multiple_of(HOUSEHOLDS_PER_BUILDING) {
                buildings += 1;
            }
            let building = number / HOUSEHOLDS_PER_BUILDING + 1;
            let room = (number % HOUSEHOLDS_PER_BUILDING) / 2 + 1;
            let door = number % 2 + 1;
            let household = households.len();
            let mut members = Vec::with_capacity(size);
            for _ in 0..size {
                let i = people.len();
                members.push(i as u32);
                people.push(Resident {
                    id: id_or_panic(ResidentId::parse(&format!("R{:06}", i + 1))),
                    name: Some(format!("居民{:06}", i + 1)),
                    phone: id_or_panic(Phone::parse(&format!("13{:09}", i + 1))),
                    home: Some(venues[compound].id.clone()),
                    building: Some(format!("{building}栋")),
                    room: Some(format!("{room}0{door}")),
                    household: Some(format!("H{:06}", household + 1)),
                    tags: Vec::new(),
                    registered: true,
                    created_at: at(day0_ms() - 30 * DAY),
                    token_generation: 0,
                });
            }
            households.push((compound as u32, members));
        }
        let community_of = |compound: u32| compound as usize * communities / compounds;

        let draw_venue = |rng: &mut StdRng, kind: usize, community: usize| -> u32 {
            let table = if rng.gen::<f64>() < ELSEWHERE {
                communities
            } else {
                community
            };
            picks[kind][table].draw(rng)
        };
        let draw_kind = |rng: &mut StdRng, shares: [f64; 3]| -> usize {
            let x = rng.gen::<f64>();
            if x < shares[0] {
                0
            } else if x < shares[0] + shares[1] {
                1
            } else {
                2
            }
        };
        const MORNING: [f64; 3] = [0.40, 0.15, 0.45];
        const AFTERNOON: [f64; 3] = [0.50, 0.35, 0.15];

        // The visits, day by day, household by household.
        let mut rows: Vec<Row> = Vec::with_capacity(n * DAYS as usize * VISITS_PER_DAY);
        let day0 = day0_ms();
        // Each person's pending night at home: (start ms), closed by the next morning's leave.
        let mut night: Vec<Option<i64>> = vec![None; n];
        let push_out = |rng: &mut StdRng, rows: &mut Vec<Row>, who: u32, trip: Trip| -> i64 {
            // Returns when the person is back home (the next check-in).
            let back = trip.start + trip.stay + minutes(rng, 3, 20);
            let by_next = rng.gen::<f64>() < BY_NEXT_CHECK_IN;
            let inferred = !by_next && rng.gen::<f64>() < INFERRED;
            let end = if by_next {
                back
            } else {
                trip.start + trip.stay
            };
            let v = trip.venue as usize;
            rows.push(Row {
                resident: who,
                venue: trip.venue,
                start_ms: if inferred {
                    end - max_stay[v]
                } else {
                    trip.start
                },
                end_ms: end,
                gate: rng.gen_range(0..venues[v].gates.len()) as u8,
                inferred,
                by_next_check_in: by_next,
            });
            back
        };
        for day in 0..=DAYS {
            let midnight = day0 + day * DAY;
            for (compound, members) in &households {
                let home = *compound;
                let community = community_of(home);
                let home_gates = venues[home as usize].gates.len();
                // The morning leave closes last night's visit at home.
                let leaves: Vec<i64> = members
                    .iter()
                    .map(|_| midnight + 6 * HOUR + 30 * MINUTE + minutes(&mut rng, 0, 180))
                    .collect();
                for (m, &who) in members.iter().enumerate() {
                    if let Some(start) = night[who as usize].take() {
                        rows.push(Row {
                            resident: who,
                            venue: home,
                            start_ms: start,
                            end_ms: leaves[m],
                            gate: rng.gen_range(0..home_gates) as u8,
                            inferred: false,
                            by_next_check_in: false,
                        });
                    }
                }
                if day == DAYS {
                    continue;
                }
                let together = (members.len() > 1 && rng.gen::<f64>() < TOGETHER).then(|| {
                    let kind = draw_kind(&mut rng, AFTERNOON);
                    Trip {
                        venue: draw_venue(&mut rng, kind, community),
                        start: midnight + 13 * HOUR + 30 * MINUTE + minutes(&mut rng, 0, 240),
                        stay: stay(&mut rng, OUT_KINDS[kind]),
                    }
                });
                for (m, &who) in members.iter().enumerate() {
                    let leave = leaves[m];
                    let kind = draw_kind(&mut rng, MORNING);
                    let morning = Trip {
                        venue: draw_venue(&mut rng, kind, community),
                        start: leave + minutes(&mut rng, 3, 20),
                        stay: stay(&mut rng, OUT_KINDS[kind]),
                    };
                    let home_at = push_out(&mut rng, &mut rows, who, morning);
                    let afternoon = match together {
                        Some(t) if t.start >= home_at + 30 * MINUTE => Trip {
                            start: t.start + minutes(&mut rng, 0, 3),
                            ..t
                        },
                        _ => {
                            let kind = draw_kind(&mut rng, AFTERNOON);
                            let earliest = midnight + 13 * HOUR + 30 * MINUTE;
                            Trip {
                                venue: draw_venue(&mut rng, kind, community),
                                start: (earliest + minutes(&mut rng, 0, 240))
                                    .max(home_at + 30 * MINUTE)
                                    + minutes(&mut rng, 3, 20),
                                stay: stay(&mut rng, OUT_KINDS[kind]),
                            }
                        }
                    };
                    let leave_again = afternoon.start
                        - minutes(&mut rng, 3, 20).min((afternoon.start - home_at - MINUTE).max(0));
                    rows.push(Row {
                        resident: who,
                        venue: home,
                        start_ms: home_at,
                        end_ms: leave_again,
                        gate: rng.gen_range(0..home_gates) as u8,
                        inferred: false,
                        by_next_check_in: false,
                    });
                    let evening = push_out(&mut rng, &mut rows, who, afternoon);
                    night[who as usize] = Some(evening);
                }
            }
        }
        rows.sort_by_key(|r| (r.start_ms, r.resident, r.venue));
        debug_assert!(
            rows.iter()
                .all(|r| r.start_ms <= r.end_ms
                    && r.end_ms - r.start_ms <= max_stay[r.venue as usize])
        );
        Self {
            venues,
            residents: people,
            rows,
            households: households.len(),
            buildings,
            communities,
        }
    }

    /// The id of the visit at `position` in [`District::rows`]: a UUID v7 of its start, with
    /// the position in its last four bytes (unique, and ordered by start as service ids are).
    pub fn visit_id(&self, position: usize) -> String {
        let row = &self.rows[position];
        let mut bytes = [0u8; 10];
        bytes[..6]
            .copy_from_slice(&(row.resident.wrapping_mul(2_654_435_761) as u64).to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&(position as u32).to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(row.start_ms.max(0) as u64, &bytes)
            .into_uuid()
            .to_string()
    }

    /// The visit at `position` as the service stores it.
    pub fn visit(&self, position: usize) -> Visit {
        let row = &self.rows[position];
        let venue = &self.venues[row.venue as usize];
        let gate = venue.gates[row.gate as usize].clone();
        Visit {
            id: self.visit_id(position),
            resident_id: self.residents[row.resident as usize].id.clone(),
            venue_id: venue.id.clone(),
            gate_in: (!row.inferred).then(|| gate.clone()),
            gate_out: (!row.by_next_check_in).then_some(gate),
            check_in: (!row.inferred).then(|| at(row.start_ms)),
            check_out: Some(at(row.end_ms)),
            closed_by: Some(if row.by_next_check_in {
                ClosedBy::NextCheckIn
            } else {
                ClosedBy::CheckOut
            }),
            start_inferred: row.inferred,
            max_stay_seconds: venue.max_stay().num_seconds(),
            parent: None,
            host: None,
        }
    }

    /// How many visits each venue has, most first: (venue index, visits).
    pub fn busiest(&self) -> Vec<(usize, usize)> {
        let mut counts = vec![0usize; self.venues.len()];
        for r in &self.rows {
            counts[r.venue as usize] += 1;
        }
        let mut by: Vec<(usize, usize)> = counts.into_iter().enumerate().collect();
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by
    }
}
