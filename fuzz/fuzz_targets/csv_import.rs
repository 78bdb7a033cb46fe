//! A CSV file as `POST /venues/import` and `POST /residents/import` read it: the same reader
//! and each row through both row parsers (the imports then only write what these return). No
//! input may panic.
#![no_main]

use checkin::service::imports::{reader, resident_from_row, venue_from_row};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rdr = reader(data);
    let Ok(headers) = rdr.headers().cloned() else {
        return;
    };
    for row in rdr.records().flatten() {
        let _ = venue_from_row(&headers, &row);
        let _ = resident_from_row(&headers, &row);
    }
});
