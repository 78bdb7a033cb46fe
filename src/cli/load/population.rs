//! The load's people and places, set up through the API: an admin imports the shops
//! `LOAD-V0001`… (a re-run updates them), their poster codes are read back from `GET /venues`,
//! and the phones `198` + eight digits sign in by one-time code (an unknown phone becomes an
//! unregistered resident; a re-run signs the same people in again).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::cli::api::{Api, SignInError};

/// The id prefix of the load's venues.
const VENUE_PREFIX: &str = "LOAD-V";

/// Signed-in residents and the poster codes they scan.
#[derive(Debug)]
pub struct Population {
    /// One poster code (the exact QR text of the first gate) per venue.
    pub codes: Vec<Arc<str>>,
    /// One bearer token per resident.
    pub tokens: Vec<Arc<str>>,
    /// Wall time of the set-up.
    pub elapsed: Duration,
}

/// The phone of the load's `n`-th resident: `198` and eight digits.
pub fn phone(n: u32) -> String {
    format!("198{n:08}")
}

/// Registers `venues` shops and signs `residents` phones in, `concurrency` at a time.
///
/// # Errors
/// A failed admin login, a refused import, a venue without a code, a service that does not
/// echo one-time codes, or any phone that cannot sign in.
pub async fn set_up(
    api: &Api,
    admin_password: &str,
    venues: u32,
    residents: u32,
    concurrency: usize,
) -> anyhow::Result<Population> {
    let started = Instant::now();
    if venues == 0 || residents == 0 {
        bail!("--venues and --residents must be at least 1");
    }
    let admin = api
        .staff_login("admin", admin_password)
        .await
        .context("admin login")?
        .access_token;
    let codes = register_venues(api, &admin, venues).await?;
    let tokens = stream::iter(0..residents)
        .map(|n| async move {
            let phone = phone(n);
            match api.sign_in(&phone).await {
                Ok(token) => Ok(Arc::from(token.access_token.as_str())),
                Err(SignInError::NoDevCode) => bail!(
                    "POST /auth/otp answered without dev_code: start the service with \
                     CHECKIN_OTP_DELIVERY=echo"
                ),
                Err(SignInError::Failed(f)) => bail!("phone {phone} could not sign in: {f}"),
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(Population {
        codes,
        tokens,
        elapsed: started.elapsed(),
    })
}

/// Imports the shops and reads back the first gate's code of each.
async fn register_venues(api: &Api, admin: &str, venues: u32) -> anyhow::Result<Vec<Arc<str>>> {
    let mut csv = String::from("code,name,kind,community,address,gates,households\n");
    for n in 1..=venues {
        csv.push_str(&format!("{VENUE_PREFIX}{n:04},负载{n},shop,,,正门,\n"));
    }
    let report = api
        .import(admin, "/venues/import", csv.into_bytes())
        .await
        .context("POST /venues/import")?;
    if let Some(e) = report.errors.first() {
        bail!("the venue import refused line {}: {}", e.line, e.message);
    }
    let listed = api.venues(admin).await.context("GET /venues")?;
    let mut codes: Vec<(String, Arc<str>)> = listed
        .into_iter()
        .filter(|v| {
            v.id.strip_prefix(VENUE_PREFIX)
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| (1..=venues).contains(&n))
        })
        .map(|v| match v.codes.first() {
            Some(c) => Ok((v.id.clone(), Arc::from(c.code.as_str()))),
            None => Err(anyhow::anyhow!("venue {} has no gate code", v.id)),
        })
        .collect::<anyhow::Result<_>>()?;
    codes.sort();
    if codes.len() != venues as usize {
        bail!(
            "GET /venues lists {} of the {venues} load venues",
            codes.len()
        );
    }
    Ok(codes.into_iter().map(|(_, c)| c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_phones_are_eleven_digits_and_distinct() {
        assert_eq!(phone(0), "19800000000");
        assert_eq!(phone(12_345), "19800012345");
        assert_ne!(phone(1), phone(10));
    }
}
