//! A `POST /scans` body as the service reads it: JSON into `ScanBody`, then parsed into a
//! `ScanRequest` (lengths, idempotency key, temperature, client time, household members). No
//! input may panic.
#![no_main]

use checkin::http::scans::ScanBody;
use checkin::service::scans::ScanRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<ScanBody>(data) {
        let _ = ScanRequest::try_from(body);
    }
});
