//! Residents logging in on their phones: ask for a one-time code, then log in with the
//! `dev_code` the service echoes back (`CHECKIN_OTP_DELIVERY=echo`). Many at once, bounded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::stream::{self, StreamExt};

use super::tally::ErrorTally;
use crate::cli::api::{Api, Failure, SignInError};

/// The outcome of the login phase.
#[derive(Debug, Default)]
pub struct Logins {
    /// Resident id → bearer token, for those who logged in.
    pub tokens: HashMap<String, Arc<str>>,
    /// Who could not log in, and why.
    pub errors: ErrorTally,
    /// Wall time of the phase.
    pub elapsed: Duration,
}

/// Logs in every `(resident id, phone)`, at most `concurrency` at a time.
///
/// # Errors
/// When the service answers without a `dev_code`: it does not run with
/// `CHECKIN_OTP_DELIVERY=echo`.
pub async fn log_in_all(
    api: &Api,
    residents: Vec<(String, Option<String>)>,
    concurrency: usize,
) -> anyhow::Result<Logins> {
    let started = Instant::now();
    let mut results = stream::iter(residents)
        .map(|(id, phone)| async move {
            let r = log_in(api, &id, phone.as_deref()).await;
            (id, r)
        })
        .buffer_unordered(concurrency);
    let mut out = Logins::default();
    while let Some((id, result)) = results.next().await {
        match result {
            Ok(token) => {
                out.tokens.insert(id, token.into());
            }
            Err(SignInError::Failed(f)) => out.errors.add(&id, &f),
            Err(SignInError::NoDevCode) => bail!(
                "POST /auth/otp answered without dev_code: start the service with \
                 CHECKIN_OTP_DELIVERY=echo so a replay can log residents in"
            ),
        }
    }
    out.elapsed = started.elapsed();
    Ok(out)
}

/// One resident's login (a failure is counted, and that resident's scans are not sent);
/// their token.
async fn log_in(api: &Api, id: &str, phone: Option<&str>) -> Result<String, SignInError> {
    let Some(phone) = phone else {
        return Err(Failure::local("unknown_resident", "not in residents.csv, no phone").into());
    };
    let token = api.sign_in(phone).await?;
    match token.resident_id.as_deref() {
        Some(got) if got == id => Ok(token.access_token),
        got => Err(Failure::local(
            "resident_id_mismatch",
            format!("their phone logged in as {got:?}"),
        )
        .into()),
    }
}
