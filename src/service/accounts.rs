//! Accounts: staff login and creation, the bootstrap admin, and resident login by one-time
//! code.

use chrono::{Duration, Utc};
use secrecy::SecretString;

use crate::auth::{otp, password, AuthError};
use crate::config::OtpDelivery;
use crate::domain::staff::{Role, StaffAccount, Username};
use crate::domain::{Phone, Resident, ResidentId};
use crate::state::AppState;
use crate::storage::{OtpRecord, Store, StoreError};

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Authentication failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The store failed (or a unique value is taken).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The password is too short.
    #[error("password must be at least {} characters", password::MIN_PASSWORD_LEN)]
    WeakPassword,
    /// The username exists already.
    #[error("a staff account with this username exists")]
    UsernameTaken,
}

/// A token just issued.
#[derive(Debug)]
pub struct Issued {
    /// The JWT.
    pub token: String,
    /// Its lifetime, seconds.
    pub expires_in: u64,
}

/// Checks a staff password and issues a staff token of the account's sign-in generation.
///
/// # Errors
/// [`AuthError::BadCredentials`] for an unknown user or a wrong password.
pub async fn staff_login(
    state: &AppState,
    username: &str,
    pw: &SecretString,
) -> Result<(Issued, Role), AccountError> {
    let name = Username::parse(username).map_err(|_| AuthError::BadCredentials)?;
    let account = state.store.staff(&name).await?;
    let pw = pw.clone();
    // Hash checks are deliberately slow; keep them off the async threads.
    // An unknown user costs one hash check too, so timing does not tell which names exist.
    let found = tokio::task::spawn_blocking(move || match account {
        Some(a) => password::verify(&pw, &a.password_hash).then_some(a),
        None => {
            password::verify(&pw, password::unknown_user_hash());
            None
        }
    })
    .await
    .map_err(|e| AuthError::Internal(e.to_string()))?;
    let account = found.ok_or(AuthError::BadCredentials)?;
    let ttl = state.settings.auth.staff_token_ttl_seconds;
    let token = state.tokens.issue(
        account.username.as_str(),
        account.role,
        ttl,
        account.token_generation,
    )?;
    Ok((
        Issued {
            token,
            expires_in: ttl,
        },
        account.role,
    ))
}

async fn hash_off_thread(pw: &SecretString) -> Result<String, AccountError> {
    let pw = pw.clone();
    Ok(tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))??)
}

/// Creates a staff account (admin or tracer).
///
/// # Errors
/// [`AccountError::WeakPassword`], [`AccountError::UsernameTaken`], or a store error.
pub async fn create_staff(
    store: &dyn Store,
    username: Username,
    pw: &SecretString,
    role: Role,
) -> Result<(), AccountError> {
    if secrecy::ExposeSecret::expose_secret(pw).chars().count() < password::MIN_PASSWORD_LEN {
        return Err(AccountError::WeakPassword);
    }
    if store.staff(&username).await?.is_some() {
        return Err(AccountError::UsernameTaken);
    }
    let password_hash = hash_off_thread(pw).await?;
    let account = StaffAccount {
        username,
        password_hash,
        role,
        token_generation: 0,
    };
    // Checked again as it is written: a creation of the same name may have won meanwhile.
    if !store.add_staff(&account).await? {
        return Err(AccountError::UsernameTaken);
    }
    Ok(())
}

/// Creates or resets the staff account `admin` with `pw` (contract, `CHECKIN_ADMIN_PASSWORD`).
/// A password other than the stored one moves the account's sign-in generation on, so every
/// `admin` token issued before is refused; the same password (a plain restart) changes
/// nothing and signs nobody out.
///
/// # Errors
/// A store or hashing error.
pub async fn bootstrap_admin(store: &dyn Store, pw: &SecretString) -> Result<(), AccountError> {
    let username = Username::parse("admin").map_err(|e| AuthError::Internal(e.to_string()))?;
    let account = match store.staff(&username).await? {
        Some(old) if old.role == Role::Admin && same_password(pw, &old.password_hash).await? => {
            // Nothing written: the record read may be behind a sign-out made meanwhile on
            // another instance, which writing it back would undo.
            return Ok(());
        }
        Some(old) => StaffAccount {
            username,
            password_hash: hash_off_thread(pw).await?,
            role: Role::Admin,
            token_generation: old.token_generation.wrapping_add(1),
        },
        None => StaffAccount {
            username,
            password_hash: hash_off_thread(pw).await?,
            role: Role::Admin,
            token_generation: 0,
        },
    };
    store.put_staff(&account).await?;
    Ok(())
}

/// Whether `pw` is the password of the PHC hash `phc`, checked off the async threads.
async fn same_password(pw: &SecretString, phc: &str) -> Result<bool, AccountError> {
    let (pw, phc) = (pw.clone(), phc.to_owned());
    Ok(
        tokio::task::spawn_blocking(move || password::verify(&pw, &phc))
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?,
    )
}

/// Sends a one-time code to `phone`. Returns the code itself only with `echo` delivery.
///
/// # Errors
/// A store error.
pub async fn send_otp(state: &AppState, phone: &Phone) -> Result<Option<String>, AccountError> {
    let code = otp::generate();
    let ttl = Duration::seconds(i64::try_from(state.settings.auth.otp_ttl_seconds).unwrap_or(300));
    state
        .store
        .put_otp(phone, &otp::record(phone, &code, Utc::now(), ttl))
        .await?;
    match state.settings.otp_delivery {
        OtpDelivery::Log => {
            // The code goes to the log by design of `log` delivery; the phone is masked.
            tracing::info!(phone = %phone.masked(), %code, "one-time code");
            Ok(None)
        }
        OtpDelivery::Echo => Ok(Some(code)),
    }
}

/// Checks a one-time code and issues a resident token; a phone never seen before becomes an
/// unregistered person (contract, `POST /auth/resident`).
///
/// # Errors
/// [`AuthError::WrongCode`] for a wrong code, or when none waits for the phone.
pub async fn resident_login(
    state: &AppState,
    phone: &Phone,
    code: &str,
) -> Result<(Issued, ResidentId), AccountError> {
    // Taken, so two tries cannot both use one code; a wrong try puts it back with one attempt
    // more, until the last allowed one burns it.
    let Some(pending) = state.store.take_otp(phone).await? else {
        return Err(AuthError::WrongCode.into());
    };
    let now = Utc::now();
    if !otp::matches(&pending, phone, code, now) {
        let attempts = pending.attempts + 1;
        if attempts < otp::MAX_ATTEMPTS && now <= pending.expires_at {
            let again = OtpRecord {
                attempts,
                ..pending
            };
            // Not over a new code asked for while this try was checked.
            state.store.restore_otp(phone, &again).await?;
        }
        return Err(AuthError::WrongCode.into());
    }
    let resident = match state.store.resident_by_phone(phone).await? {
        Some(r) => r,
        None => {
            let r = Resident::unregistered(phone.clone(), Utc::now());
            state.store.put_resident(&r).await?;
            r
        }
    };
    let ttl = state.settings.auth.resident_token_ttl_seconds;
    let token = state.tokens.issue(
        resident.id.as_str(),
        Role::Resident,
        ttl,
        resident.token_generation,
    )?;
    Ok((
        Issued {
            token,
            expires_in: ttl,
        },
        resident.id,
    ))
}

/// Ends every sign-in of a resident (a lost phone, or "sign out everywhere"): their sign-in
/// generation moves on, so every token issued so far is refused; the next login works as
/// before. Returns the new generation, or `None` when there is no such resident.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn revoke_sign_ins(
    store: &dyn Store,
    id: &ResidentId,
) -> Result<Option<u32>, StoreError> {
    let Some(mut resident) = store.resident(id).await? else {
        return Ok(None);
    };
    resident.token_generation = resident.token_generation.wrapping_add(1);
    store.put_resident(&resident).await?;
    Ok(Some(resident.token_generation))
}

/// Ends every sign-in of a staff account (its own "sign out everywhere", or an admin's): its
/// sign-in generation moves on, so every token issued to it so far is refused; the next
/// password login works as before. Returns the new generation, or `None` when there is no
/// such account.
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn revoke_staff_sign_ins(
    store: &dyn Store,
    username: &Username,
) -> Result<Option<u32>, StoreError> {
    let Some(mut account) = store.staff(username).await? else {
        return Ok(None);
    };
    account.token_generation = account.token_generation.wrapping_add(1);
    store.put_staff(&account).await?;
    Ok(Some(account.token_generation))
}
