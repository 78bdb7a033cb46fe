//! Contact tracing for tracers: the contract's contacts ([`trace::contacts`]) together with the
//! people the index case shares a registration with, each with its [`ContactClass`], and on
//! request the contacts of those contacts (`depth=2`) with the path that reached them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::domain::contact_class::ContactClass;
use crate::domain::contacts::{Contact, ContactQuery};
use crate::domain::{Resident, ResidentId};
use crate::service::trace::{self, VenueFilter};
use crate::storage::{Store, StoreError};

/// How far from the index case a query reaches: its contacts, or also theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Depth {
    /// Contacts of the index case only.
    #[default]
    First,
    /// Also the contacts of each first-degree contact, in the same window.
    Second,
}

/// What a tracer asked for beyond the contract's parameters.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The classes to report. `None` (the tracer did not say): the contract's contacts, the
    /// people with shared visits, each with its class. `Some`: only people of these classes,
    /// and for household, building and compound also the people tied by registration alone.
    pub classes: Option<Vec<ContactClass>>,
    /// How far to reach.
    pub depth: Depth,
}

impl Default for Scope {
    fn default() -> Self {
        Self {
            classes: None,
            depth: Depth::First,
        }
    }
}

/// One person in a tracer's answer.
#[derive(Debug, Clone)]
pub struct Traced {
    /// Who.
    pub resident_id: ResidentId,
    /// How close they are to the person before them on `path`; `None` in a venue exposure
    /// report, which has no index case.
    pub class: Option<ContactClass>,
    /// The shared visits with the person before them on `path` (or with the venue); `None`
    /// when the tie is the registration alone.
    pub contact: Option<Contact>,
    /// From the index case to this person, both included: `[P, Q]` for a contact, `[P, Q, R]`
    /// for a second-degree one reached through Q. Empty in a venue exposure report.
    pub path: Vec<ResidentId>,
    /// The person's registration, when there is one (tracers call contacts).
    pub person: Option<Resident>,
}

impl Traced {
    /// The total overlap, zero for a registration-only tie.
    pub fn overlap(&self) -> chrono::Duration {
        self.contact
            .as_ref()
            .map_or_else(chrono::Duration::zero, |c| c.overlap)
    }

    /// 1 for a contact, 2 for a contact of a contact; 0 in an exposure report.
    pub fn degree(&self) -> usize {
        self.path.len().saturating_sub(1)
    }

    /// A venue exposure report's rows: everyone at the venue, no index case.
    pub fn at_venue(found: Vec<(Contact, Option<Resident>)>) -> Vec<Traced> {
        found
            .into_iter()
            .map(|(c, person)| Traced {
                resident_id: c.resident_id.clone(),
                class: None,
                contact: Some(c),
                path: Vec::new(),
                person,
            })
            .collect()
    }
}

/// Reads registrations once per query.
struct People<'a> {
    store: &'a dyn Store,
    known: HashMap<ResidentId, Option<Resident>>,
}

impl<'a> People<'a> {
    fn new(store: &'a dyn Store) -> Self {
        Self {
            store,
            known: HashMap::new(),
        }
    }

    async fn get(&mut self, id: &ResidentId) -> Result<Option<Resident>, StoreError> {
        if let Some(p) = self.known.get(id) {
            return Ok(p.clone());
        }
        let p = self.store.resident(id).await?;
        self.known.insert(id.clone(), p.clone());
        Ok(p)
    }

    async fn load(&mut self, ids: impl Iterator<Item = &ResidentId>) -> Result<(), StoreError> {
        let missing: Vec<ResidentId> = ids
            .filter(|id| !self.known.contains_key(*id))
            .cloned()
            .collect();
        let found =
            futures::future::try_join_all(missing.iter().map(|id| self.store.resident(id))).await?;
        self.known.extend(missing.into_iter().zip(found));
        Ok(())
    }
}

/// The first-degree answer for `index`: its contacts under `q` and `filter` and, when
/// `classes` names a registration class, the people it shares a registration with; only the
/// classes in `classes` are kept (all when `None`). Ordered as the contract orders contacts:
/// longest total overlap first, then by id (registration-only ties count 0).
async fn around(
    store: &dyn Store,
    people: &mut People<'_>,
    index: &ResidentId,
    q: &ContactQuery,
    filter: &VenueFilter,
    classes: Option<&[ContactClass]>,
) -> Result<Vec<(ResidentId, ContactClass, Option<Contact>)>, StoreError> {
    let me = people.get(index).await?;
    let mut found: BTreeMap<ResidentId, Option<Contact>> = trace::contacts(store, index, q, filter)
        .await?
        .into_iter()
        .map(|c| (c.resident_id.clone(), Some(c)))
        .collect();
    if let Some(home) = me.as_ref().and_then(|m| m.home.as_ref()) {
        if classes.is_some_and(|cs| cs.iter().any(|c| c.is_registered())) {
            for r in store.residents_at_home(home).await? {
                if &r.id != index {
                    found.entry(r.id.clone()).or_insert(None);
                    people.known.insert(r.id.clone(), Some(r));
                }
            }
        }
    }
    people.load(found.keys()).await?;
    let mut kept = Vec::new();
    for (id, contact) in found {
        let class = ContactClass::between(me.as_ref(), people.get(&id).await?.as_ref());
        if classes.is_none_or(|cs| cs.contains(&class)) {
            kept.push((id, class, contact));
        }
    }
    let overlap = |c: &Option<Contact>| {
        c.as_ref()
            .map_or_else(chrono::Duration::zero, |c| c.overlap)
    };
    kept.sort_by(|a, b| {
        overlap(&b.2)
            .cmp(&overlap(&a.2))
            .then_with(|| a.0.cmp(&b.0))
    });
    Ok(kept)
}

/// Traces `index`: its contacts (contract, "Contacts") and, when `scope` names registration
/// classes, its registration ties, keeping the classes of `scope`, and with [`Depth::Second`] the same around each of them, minus the index case and
/// anyone already found at the first degree. A second-degree person reached through several
/// contacts is reported once, through the one they share the longest overlap with (on a tie,
/// the one earlier in the answer); their class and shared visits are relative to that contact. First-degree people
/// come first, each group in contract order.
///
/// # Errors
/// [`StoreError`] from the store.
pub async fn trace(
    store: &dyn Store,
    index: &ResidentId,
    q: &ContactQuery,
    filter: &VenueFilter,
    scope: &Scope,
) -> Result<Vec<Traced>, StoreError> {
    let mut people = People::new(store);
    let first = around(
        store,
        &mut people,
        index,
        q,
        filter,
        scope.classes.as_deref(),
    )
    .await?;
    let mut answer: Vec<Traced> = Vec::new();
    for (id, class, contact) in &first {
        answer.push(Traced {
            resident_id: id.clone(),
            class: Some(*class),
            contact: contact.clone(),
            path: vec![index.clone(), id.clone()],
            person: people.get(id).await?,
        });
    }
    if scope.depth == Depth::First {
        return Ok(answer);
    }
    let mut reached: BTreeSet<ResidentId> = first.iter().map(|(id, _, _)| id.clone()).collect();
    reached.insert(index.clone());
    let mut second: BTreeMap<ResidentId, Traced> = BTreeMap::new();
    for (via, _, _) in &first {
        for (id, class, contact) in
            around(store, &mut people, via, q, filter, scope.classes.as_deref()).await?
        {
            if reached.contains(&id) {
                continue;
            }
            let candidate = Traced {
                resident_id: id.clone(),
                class: Some(class),
                contact,
                path: vec![index.clone(), via.clone(), id.clone()],
                person: None,
            };
            match second.get(&id) {
                Some(best) if best.overlap() >= candidate.overlap() => {}
                _ => {
                    second.insert(id, candidate);
                }
            }
        }
    }
    let mut second: Vec<Traced> = second.into_values().collect();
    second.sort_by(|a, b| {
        b.overlap()
            .cmp(&a.overlap())
            .then_with(|| a.resident_id.cmp(&b.resident_id))
    });
    for t in &mut second {
        t.person = people.get(&t.resident_id).await?;
    }
    answer.extend(second);
    Ok(answer)
}
