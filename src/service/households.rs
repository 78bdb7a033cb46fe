//! Household check-in (compound policy issue): one phone scans for the members of its
//! household who have none of their own (children, the elderly); each member is decided and
//! recorded as their own scan.

use crate::domain::scan::Decision;
use crate::domain::ResidentId;
use crate::service::scans::{scan_received_at, Answered, MemberAnswer, ScanError, ScanRequest};
use crate::state::AppState;

/// Processes a scan by `resident` and then, with the same code, time and direction as
/// decided for the scanner, the same scan for each household member brought along (their own
/// reading, state, visit and watch tags). Every member must be registered in the scanner's
/// household (same household and home compound); otherwise nothing is processed. A scanner
/// who is denied (a fever, say) brings nobody in: the members are not scanned.
///
/// # Errors
/// [`ScanError::NotHouseholdMember`] or [`ScanError::ScannerAsMember`] before anything is
/// written; else as [`crate::service::scans::scan`]. A failure
/// part way leaves the scans already processed; a retry with the same idempotency key
/// answers those as first given and goes on with the rest.
/// `sign_in`: the scanner's token generation, checked on the scanner's record as the scan
/// reads it (see `scan_received_at`), or `None` when the caller checked it.
pub async fn household_scan(
    state: &AppState,
    resident: &ResidentId,
    sign_in: Option<u32>,
    req: &ScanRequest,
) -> Result<Answered, ScanError> {
    let now = state.clock.now();
    if req.members.is_empty() {
        return scan_received_at(state, resident, sign_in, req, now).await;
    }
    let me = state.store.resident(resident).await?;
    let household = me
        .as_ref()
        .and_then(|r| Some((r.household.as_ref()?, r.home.as_ref()?)));
    for m in &req.members {
        if &m.resident_id == resident {
            return Err(ScanError::ScannerAsMember(m.resident_id.clone()));
        }
        let them = state.store.resident(&m.resident_id).await?;
        let same = match (household, them.as_ref()) {
            (Some((h, home)), Some(t)) => {
                t.household.as_ref() == Some(h) && t.home.as_ref() == Some(home)
            }
            _ => false,
        };
        if !same {
            return Err(ScanError::NotHouseholdMember(m.resident_id.clone()));
        }
    }
    let scanner = scan_received_at(state, resident, sign_in, req, now).await?;
    if scanner.answer.decision == Decision::Denied {
        return Ok(scanner);
    }
    let mut answer = scanner.answer;
    for m in &req.members {
        let theirs = ScanRequest {
            temperature: m.temperature,
            // Together: the way the scanner went, at the scanner's time.
            direction: Some(answer.direction),
            client_time: Some(answer.scan_time.fixed_offset()),
            // Under the member's own records; a client's key cannot hold this separator.
            idempotency_key: req
                .idempotency_key
                .as_ref()
                .map(|k| format!("{k}\u{1f}{resident}")),
            members: Vec::new(),
            ..req.clone()
        };
        let a = scan_received_at(state, &m.resident_id, None, &theirs, now)
            .await?
            .answer;
        answer.members.push(MemberAnswer {
            resident_id: m.resident_id.to_string(),
            decision: a.decision,
            reason: a.reason,
            visit_id: a.visit_id,
            direction: a.direction,
            watch: a.watch,
        });
    }
    Ok(Answered { answer, json: None })
}
