//! One-time codes for resident login: six digits, kept hashed with the phone, valid for a few
//! minutes and for one try.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::domain::Phone;
use crate::storage::OtpRecord;

/// Wrong tries a code survives: the fifth wrong one burns it (NIST SP 800-63B 5.2.2 asks for a
/// limit on failed attempts; a code of 10^6 values and 5 tries gives a guesser 1 in 200,000).
pub const MAX_ATTEMPTS: u32 = 5;

/// A fresh six-digit code.
pub fn generate() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
}

/// SHA-256 (hex) of phone and code together, so a stored hash is useless for another phone.
pub fn digest(phone: &Phone, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(phone.as_str().as_bytes());
    h.update(b":");
    h.update(code.trim().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The record to keep for `code`, valid for `ttl` from `now`.
pub fn record(phone: &Phone, code: &str, now: DateTime<Utc>, ttl: Duration) -> OtpRecord {
    OtpRecord {
        code_hash: digest(phone, code),
        expires_at: now + ttl,
        attempts: 0,
    }
}

/// Whether `code` matches the pending record at `now`.
pub fn matches(rec: &OtpRecord, phone: &Phone, code: &str, now: DateTime<Utc>) -> bool {
    now <= rec.expires_at && rec.code_hash == digest(phone, code)
}
