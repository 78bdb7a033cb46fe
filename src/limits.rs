//! Rate limits (reliability and security issue): how often one address may call the sign-in
//! paths, one phone may be sent a code, one staff name may try a password, and one resident
//! may scan. Each is a GCRA limiter (the `governor` crate): a burst, then a steady rate.
//!
//! They count in this process: with several instances behind a balancer each keeps its own
//! counts, so the limits a client meets are per instance. `CHECKIN_RATE_LIMITS=off` turns them
//! all off, for load tests and replays from one address (contract, "Operating the service").

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A request over its limit, and how long until one more is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Wait at least this long before retrying.
    pub retry_after: Duration,
}

/// One limit: `burst` at once, then one more every `every`.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Requests allowed at once.
    pub burst: u32,
    /// Then one more per this period.
    pub every: Duration,
}

impl Rule {
    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(self.every)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

/// Sign-in paths (`/auth/*`) per client address: 30 at once, then one every 2 s.
pub const PER_ADDRESS: Rule = Rule {
    burst: 30,
    every: Duration::from_secs(2),
};
/// One-time codes sent to one phone: 3 at once, then one a minute (an SMS costs money and
/// annoys its owner).
pub const OTP_PER_PHONE: Rule = Rule {
    burst: 3,
    every: Duration::from_secs(60),
};
/// Password tries for one staff name: 5 at once, then one a minute, so guessing is slow
/// however many addresses try.
pub const LOGIN_PER_USER: Rule = Rule {
    burst: 5,
    every: Duration::from_secs(60),
};
/// Scans by one resident: 30 at once (an offline queue flushing), then one every 2 s.
pub const SCANS_PER_RESIDENT: Rule = Rule {
    burst: 30,
    every: Duration::from_secs(2),
};

/// The service's limiters.
pub struct Limits {
    enabled: bool,
    clock: DefaultClock,
    address: DefaultKeyedRateLimiter<IpAddr>,
    otp_phone: DefaultKeyedRateLimiter<String>,
    login_user: DefaultKeyedRateLimiter<String>,
    scans: DefaultKeyedRateLimiter<String>,
}

impl Limits {
    /// The limits, enforced when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            clock: DefaultClock::default(),
            address: RateLimiter::keyed(PER_ADDRESS.quota()),
            otp_phone: RateLimiter::keyed(OTP_PER_PHONE.quota()),
            login_user: RateLimiter::keyed(LOGIN_PER_USER.quota()),
            scans: RateLimiter::keyed(SCANS_PER_RESIDENT.quota()),
        }
    }

    fn check<K: Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), Limited> {
        if !self.enabled {
            return Ok(());
        }
        limiter.check_key(key).map_err(|until| Limited {
            retry_after: until.wait_time_from(self.clock.now()),
        })
    }

    /// Counts a sign-in request from `address`.
    ///
    /// # Errors
    /// [`Limited`] when over [`PER_ADDRESS`].
    pub fn address(&self, address: IpAddr) -> Result<(), Limited> {
        self.check(&self.address, &address)
    }

    /// Counts a one-time code sent to `phone`.
    ///
    /// # Errors
    /// [`Limited`] when over [`OTP_PER_PHONE`].
    pub fn otp(&self, phone: &str) -> Result<(), Limited> {
        self.check(&self.otp_phone, &phone.to_owned())
    }

    /// Counts a password try for `username`.
    ///
    /// # Errors
    /// [`Limited`] when over [`LOGIN_PER_USER`].
    pub fn login(&self, username: &str) -> Result<(), Limited> {
        self.check(&self.login_user, &username.to_lowercase())
    }

    /// Counts a scan by `resident`.
    ///
    /// # Errors
    /// [`Limited`] when over [`SCANS_PER_RESIDENT`].
    pub fn scan(&self, resident: &str) -> Result<(), Limited> {
        self.check(&self.scans, &resident.to_owned())
    }

    /// Drops the state of keys that are back to a full burst, so memory follows the active
    /// clients; run now and then.
    pub fn forget_idle(&self) {
        self.address.retain_recent();
        self.otp_phone.retain_recent();
        self.login_user.retain_recent();
        self.scans.retain_recent();
    }
}

/// Forgets idle keys once a minute, for ever.
pub async fn run_housekeeping(limits: std::sync::Arc<Limits>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(60));
    loop {
        ticks.tick().await;
        limits.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_next_waits_for_its_period() {
        let limits = Limits::new(true);
        for _ in 0..OTP_PER_PHONE.burst {
            assert_eq!(limits.otp("19900000001"), Ok(()));
        }
        let limited = limits.otp("19900000001").expect_err("over the burst");
        assert!(limited.retry_after > Duration::from_secs(50));
        assert!(limited.retry_after <= OTP_PER_PHONE.every);
        assert_eq!(
            limits.otp("19900000002"),
            Ok(()),
            "another phone has its own"
        );
    }

    #[test]
    fn limits_that_are_off_never_refuse() {
        let limits = Limits::new(false);
        for _ in 0..100 {
            assert_eq!(limits.login("admin"), Ok(()));
        }
    }
}
