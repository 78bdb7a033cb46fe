//! Settings, layered: `config/base.toml` (compiled in, so the binary runs anywhere), then
//! `config/{CHECKIN_ENV}.toml` from the config directory if present, then `CHECKIN_*`
//! environment variables (nested keys joined by `__`), then command-line flags.
//!
//! Secrets (`admin_password`, `redis_url`, `auth.jwt_secret`) are `SecretString`s: `Debug`
//! prints them redacted and they never reach a log.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::rules::ScanPolicy;
use crate::domain::VenueKind;

const BASE: &str = include_str!("../config/base.toml");

/// The shortest token secret accepted: 32 bytes, the output size of HS256's hash (RFC 7518,
/// 3.2: the key must be at least as long as the hash output).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Which environment runs: `local` (default) or `production` (contract, "Operating").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppEnv {
    /// A laptop or a test.
    Local,
    /// The real service: refuses demo conveniences such as `echo` OTP delivery.
    Production,
}

/// How one-time codes reach residents (contract, `CHECKIN_OTP_DELIVERY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtpDelivery {
    /// Written to the service log.
    Log,
    /// Returned as `dev_code` in the answer; tests and demos only, refused in production.
    Echo,
}

/// Everything the service reads at start.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `local` or `production`.
    pub env: AppEnv,
    /// Address to bind, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    pub listen: String,
    /// HTTP worker threads; 0: one per CPU core (actix-web's default). Fewer leave cores to a
    /// Redis or another process on the same machine.
    #[serde(default)]
    pub workers: usize,
    /// Where the embedded store and the signing keys live.
    pub data_dir: PathBuf,
    /// The origin printed into QR codes, e.g. `https://checkin.example.cn`.
    pub public_base_url: String,
    /// The Ed25519 key (PKCS#8 PEM) that signs venue codes, fixed (the API cannot rotate it);
    /// when absent, a key ring in `{data_dir}/keys/code-signing/` is used, its first key made
    /// on first start. Instances sharing one Redis must use the same key.
    pub code_signing_key_file: Option<PathBuf>,
    /// Use Redis at this URL instead of the embedded store: `redis://host:port[/db]` for one
    /// node, `redis+cluster://host:port,host:port,…` for a Redis Cluster.
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key (tests give each run its own).
    pub redis_key_prefix: String,
    /// At start, create or reset the staff account `admin` with this password; one other than
    /// the stored one signs `admin` out everywhere.
    pub admin_password: Option<SecretString>,
    /// `log` or `echo`.
    pub otp_delivery: OtpDelivery,
    /// `on` or `off` (enforced from the reliability issue on).
    pub rate_limits: String,
    /// IANA zone for local days and displayed times, default `Asia/Shanghai`.
    pub time_zone: String,
    /// Token settings.
    pub auth: AuthSettings,
    /// Scan rules settings.
    pub scans: ScanSettings,
    /// Redis timeouts.
    pub redis: RedisSettings,
    /// Venue code settings.
    pub codes: CodeSettings,
    /// How long personal data is kept.
    pub retention: RetentionSettings,
    /// Where alerts are posted.
    pub alerts: AlertSettings,
    /// Checkpoint settings.
    pub checkpoints: CheckpointSettings,
    /// Thresholds of the implausible-scan flags.
    pub flags: FlagSettings,
}

/// Thresholds of the implausible-scan flags (`domain::flags`).
#[derive(Debug, Clone, Deserialize)]
pub struct FlagSettings {
    /// Faster than this between two scans of one person is implausible, km/h.
    pub max_speed_kmh: f64,
    /// Scans at venues closer than this, metres, are never implausible travel.
    pub min_distance_m: f64,
    /// Off-hours check-ins at one venue within `burst_window_minutes` that make a burst.
    pub burst_check_ins: usize,
    /// The window of an off-hours burst, minutes.
    pub burst_window_minutes: u32,
}

impl FlagSettings {
    /// The rules these settings give.
    pub fn rules(&self) -> crate::domain::flags::FlagRules {
        crate::domain::flags::FlagRules {
            max_speed_kmh: self.max_speed_kmh,
            min_distance_m: self.min_distance_m,
            burst_check_ins: self.burst_check_ins.max(1),
            burst_window: chrono::Duration::minutes(i64::from(self.burst_window_minutes)),
        }
    }
}

/// Checkpoint settings.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckpointSettings {
    /// The province the deployment serves (`云南省`): a vehicle from another counts as out of
    /// province in the daily report. Compared without its suffix (`云南` matches).
    pub home_province: String,
}

/// The alert webhook (compound policy issue): each alert is posted as JSON to `webhook_url`,
/// retried with exponential backoff until accepted or `max_attempts` posts failed.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertSettings {
    /// `http` or `https` URL to post alerts to; absent or empty: none (alerts are only listed
    /// at `GET /alerts`, and stay pending there).
    pub webhook_url: Option<String>,
    /// Milliseconds one post may take before it counts as failed.
    pub webhook_timeout_ms: u64,
    /// Milliseconds to wait after the first failure; each further failure doubles it.
    pub retry_first_ms: u64,
    /// The longest wait between posts, milliseconds.
    pub retry_longest_ms: u64,
    /// Posts in all before an alert's delivery is given up (marked `failed`).
    pub max_attempts: u32,
    /// Milliseconds between looks for due alerts.
    pub poll_interval_ms: u64,
}

/// The longest a webhook post may take, ms: one minute.
pub const MAX_WEBHOOK_TIMEOUT_MS: u64 = 60_000;

impl AlertSettings {
    /// The webhook's URL, when one is configured.
    pub fn webhook(&self) -> Option<&str> {
        self.webhook_url.as_deref().filter(|u| !u.trim().is_empty())
    }

    fn check(&self) -> Result<(), SettingsError> {
        if let Some(url) = self.webhook() {
            let ok = reqwest::Url::parse(url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                return Err(SettingsError::Invalid(format!(
                    "alerts.webhook_url (CHECKIN_ALERTS__WEBHOOK_URL) {url:?} is not an http or \
                     https URL"
                )));
            }
        }
        if !(1..=MAX_WEBHOOK_TIMEOUT_MS).contains(&self.webhook_timeout_ms) {
            return Err(SettingsError::Invalid(format!(
                "alerts.webhook_timeout_ms is {}; it must be 1 to {MAX_WEBHOOK_TIMEOUT_MS}",
                self.webhook_timeout_ms
            )));
        }
        if self.retry_first_ms == 0 || self.retry_longest_ms < self.retry_first_ms {
            return Err(SettingsError::Invalid(
                "alerts.retry_first_ms must be at least 1 and at most alerts.retry_longest_ms"
                    .into(),
            ));
        }
        if !(1..=1000).contains(&self.max_attempts) {
            return Err(SettingsError::Invalid(format!(
                "alerts.max_attempts is {}; it must be 1 to 1000",
                self.max_attempts
            )));
        }
        if !(1..=MAX_WEBHOOK_TIMEOUT_MS).contains(&self.poll_interval_ms) {
            return Err(SettingsError::Invalid(format!(
                "alerts.poll_interval_ms is {}; it must be 1 to {MAX_WEBHOOK_TIMEOUT_MS}",
                self.poll_interval_ms
            )));
        }
        Ok(())
    }
}

/// The longest retention accepted, days: 100 years (longer would be "for ever", which a
/// retention setting must not mean).
pub const MAX_RETENTION_DAYS: u32 = 36_500;
/// The longest time between purges accepted, seconds: one week.
pub const MAX_PURGE_INTERVAL_SECONDS: u64 = 7 * 24 * 3600;

/// How long visits, scan events and audit records are kept.
#[derive(Debug, Clone, Deserialize)]
pub struct RetentionSettings {
    /// Days visits and scan events are kept, counted from a visit's end and an event's scan
    /// time (default 28: the contract's tracing span of two 14-day incubation periods).
    pub visits_days: u32,
    /// Days audit records are kept; must exceed `visits_days` (default 365; the Cybersecurity
    /// Law of the PRC, art. 21, asks for at least six months of logs).
    pub audit_days: u32,
    /// Seconds between purges (default 3600).
    pub purge_interval_seconds: u64,
}

impl RetentionSettings {
    /// How long visits and scan events are kept.
    pub fn visits(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.visits_days))
    }

    /// How long audit records are kept.
    pub fn audit(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.audit_days))
    }
}

/// Venue code settings.
#[derive(Debug, Clone, Deserialize)]
pub struct CodeSettings {
    /// How often a staffed gate's live code changes, seconds; each is accepted for two periods.
    pub live_refresh_seconds: u64,
}

/// Token lifetimes and the signing secret.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// `iss` of issued tokens.
    pub issuer: String,
    /// HS256 secret for access tokens; when absent one is generated into the data directory.
    /// Instances sharing one Redis must share this secret.
    pub jwt_secret: Option<SecretString>,
    /// The secret before the last rotation: tokens it signed are still accepted (until they
    /// expire), none is issued with it. Rotate by moving `jwt_secret` here and setting a new
    /// one; drop it once the longest token lifetime has passed.
    #[serde(default)]
    pub previous_jwt_secret: Option<SecretString>,
    /// Staff token lifetime, seconds.
    pub staff_token_ttl_seconds: u64,
    /// Resident token lifetime, seconds.
    pub resident_token_ttl_seconds: u64,
    /// One-time code lifetime, seconds.
    pub otp_ttl_seconds: u64,
}

/// Settings of the scan rules.
#[derive(Debug, Clone, Deserialize)]
pub struct ScanSettings {
    /// Fever threshold, °C (contract, visit rule 5: 37.3).
    pub fever_threshold_c: f64,
    /// Per venue kind, a fever threshold that replaces `fever_threshold_c` there, °C, e.g.
    /// `{ checkpoint = 37.0 }`.
    #[serde(default)]
    pub fever_threshold_by_kind: std::collections::BTreeMap<String, f64>,
    /// Venue kinds where a check-in must give a temperature, e.g. `["checkpoint"]`.
    #[serde(default)]
    pub temperature_required: Vec<String>,
    /// How far back `client_time` may be, seconds (contract: 24 h).
    pub client_time_max_past_seconds: u64,
    /// How far ahead `client_time` may be, seconds (contract: 2 min).
    pub client_time_max_future_seconds: u64,
    /// The most scans one `POST /scans/batch` takes, 1 to [`MAX_BATCH_SCANS`].
    pub batch_max_scans: usize,
}

/// The most scans a batch may be configured to take: what its 256 KiB body limit holds
/// (`http::body::BATCH_LIMIT`, about 1,500 bytes a scan at most, with household members).
pub const MAX_BATCH_SCANS: usize = 100;

/// Redis connection settings.
#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    /// Connect timeout, milliseconds.
    pub connect_timeout_ms: u64,
    /// Timeout for one command's answer, milliseconds.
    pub response_timeout_ms: u64,
}

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--redis-url`.
    pub redis_url: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--public-base-url`.
    pub public_base_url: Option<String>,
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A layer could not be read or a value has the wrong type.
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    /// A value is of the right type but not acceptable.
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// The visit rules' settings, with venue kinds parsed.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming an unknown kind or a threshold outside 35 to 42 °C.
    pub fn scan_policy(&self) -> Result<ScanPolicy, SettingsError> {
        let kind = |k: &str| {
            VenueKind::parse(k)
                .map_err(|_| SettingsError::Invalid(format!("scans: {k:?} is not a venue kind")))
        };
        let mut by_kind = Vec::new();
        for (k, c) in &self.scans.fever_threshold_by_kind {
            if !(35.0..=42.0).contains(c) {
                return Err(SettingsError::Invalid(format!(
                    "scans.fever_threshold_by_kind.{k} must be between 35 and 42 °C"
                )));
            }
            by_kind.push((kind(k)?, *c));
        }
        Ok(ScanPolicy {
            fever_threshold_c: Some(self.scans.fever_threshold_c),
            fever_threshold_by_kind: by_kind,
            temperature_required: self
                .scans
                .temperature_required
                .iter()
                .map(|k| kind(k))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Loads the layers described in the module doc. The config directory is `config/`
    /// relative to the working directory, or `CHECKIN_CONFIG_DIR`.
    ///
    /// # Errors
    /// [`SettingsError`] when a layer is malformed or a value is out of range.
    pub fn load(overrides: &Overrides) -> Result<Self, SettingsError> {
        let env_name = std::env::var("CHECKIN_ENV").unwrap_or_else(|_| "local".into());
        let dir = std::env::var("CHECKIN_CONFIG_DIR").unwrap_or_else(|_| "config".into());
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(BASE, config::FileFormat::Toml))
            .add_source(
                config::File::with_name(&format!("{dir}/{env_name}"))
                    .format(config::FileFormat::Toml)
                    .required(false),
            )
            .add_source(
                config::Environment::with_prefix("CHECKIN")
                    .prefix_separator("_")
                    .separator("__"),
            );
        if let Some(v) = &overrides.listen {
            builder = builder.set_override("listen", v.as_str())?;
        }
        if let Some(v) = &overrides.redis_url {
            builder = builder.set_override("redis_url", v.as_str())?;
        }
        if let Some(v) = &overrides.data_dir {
            builder = builder.set_override("data_dir", v.to_string_lossy().as_ref())?;
        }
        if let Some(v) = &overrides.public_base_url {
            builder = builder.set_override("public_base_url", v.as_str())?;
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        if self.env == AppEnv::Production && self.otp_delivery == OtpDelivery::Echo {
            return Err(SettingsError::Invalid(
                "otp_delivery = echo returns one-time codes to anyone and is refused in production"
                    .into(),
            ));
        }
        if !(1..=MAX_BATCH_SCANS).contains(&self.scans.batch_max_scans) {
            return Err(SettingsError::Invalid(format!(
                "scans.batch_max_scans must be 1 to {MAX_BATCH_SCANS}"
            )));
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(SettingsError::Invalid(format!(
                "time_zone {:?} is not an IANA zone name",
                self.time_zone
            )));
        }
        if !(35.0..=42.0).contains(&self.scans.fever_threshold_c) {
            return Err(SettingsError::Invalid(
                "scans.fever_threshold_c must be between 35 and 42 °C".into(),
            ));
        }
        self.scan_policy()?;
        if let Some(pw) = &self.admin_password {
            if pw.expose_secret().chars().count() < crate::auth::password::MIN_PASSWORD_LEN {
                return Err(SettingsError::Invalid(format!(
                    "admin_password (CHECKIN_ADMIN_PASSWORD) must be at least {} characters",
                    crate::auth::password::MIN_PASSWORD_LEN
                )));
            }
        }
        for (name, env, secret) in [
            (
                "jwt_secret",
                "CHECKIN_AUTH__JWT_SECRET",
                &self.auth.jwt_secret,
            ),
            (
                "previous_jwt_secret",
                "CHECKIN_AUTH__PREVIOUS_JWT_SECRET",
                &self.auth.previous_jwt_secret,
            ),
        ] {
            if secret
                .as_ref()
                .is_some_and(|s| s.expose_secret().len() < MIN_JWT_SECRET_BYTES)
            {
                return Err(SettingsError::Invalid(format!(
                    "auth.{name} ({env}) must be at least {MIN_JWT_SECRET_BYTES} bytes"
                )));
            }
        }
        let r = &self.retention;
        if !(1..=MAX_RETENTION_DAYS).contains(&r.visits_days) {
            return Err(SettingsError::Invalid(format!(
                "retention.visits_days (CHECKIN_RETENTION__VISITS_DAYS) is {}; it must be 1 to \
                 {MAX_RETENTION_DAYS}",
                r.visits_days
            )));
        }
        if r.audit_days <= r.visits_days || r.audit_days > MAX_RETENTION_DAYS {
            return Err(SettingsError::Invalid(format!(
                "retention.audit_days (CHECKIN_RETENTION__AUDIT_DAYS) is {}; it must be more \
                 than retention.visits_days ({}) and at most {MAX_RETENTION_DAYS}",
                r.audit_days, r.visits_days
            )));
        }
        if !(1..=MAX_PURGE_INTERVAL_SECONDS).contains(&r.purge_interval_seconds) {
            return Err(SettingsError::Invalid(format!(
                "retention.purge_interval_seconds (CHECKIN_RETENTION__PURGE_INTERVAL_SECONDS) \
                 is {}; it must be 1 to {MAX_PURGE_INTERVAL_SECONDS}",
                r.purge_interval_seconds
            )));
        }
        self.alerts.check()?;
        if self.checkpoints.home_province.trim().is_empty() {
            return Err(SettingsError::Invalid(
                "checkpoints.home_province (CHECKIN_CHECKPOINTS__HOME_PROVINCE) must name a province"
                    .into(),
            ));
        }
        if !matches!(self.rate_limits.as_str(), "on" | "off") {
            return Err(SettingsError::Invalid(
                "rate_limits must be on or off".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Settings {
        config::Config::builder()
            .add_source(config::File::from_str(BASE, config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)
            .unwrap_or_else(|e| panic!("base settings: {e}"))
    }

    #[test]
    fn the_compiled_in_defaults_are_valid() {
        assert!(base().check().is_ok());
    }

    #[test]
    fn temperature_rules_name_real_venue_kinds_and_sane_thresholds() {
        let mut s = base();
        s.scans.temperature_required = vec!["checkpoint".into()];
        s.scans
            .fever_threshold_by_kind
            .insert("market".into(), 37.5);
        assert!(s.check().is_ok());
        s.scans.temperature_required = vec!["spaceship".into()];
        assert!(s.check().is_err());
        let mut s = base();
        s.scans.fever_threshold_by_kind.insert("shop".into(), 60.0);
        assert!(s.check().is_err());
    }

    #[test]
    fn audit_records_must_be_kept_longer_than_visits() {
        let mut s = base();
        s.retention.audit_days = s.retention.visits_days;
        assert!(s.check().is_err());
        s.retention.audit_days = s.retention.visits_days + 1;
        assert!(s.check().is_ok());
        s.retention.audit_days = 99_999_999;
        assert!(
            s.check().is_err(),
            "a retention too long to compute is refused"
        );
    }

    #[test]
    fn echo_delivery_is_refused_in_production() {
        let mut s = base();
        s.env = AppEnv::Production;
        s.otp_delivery = OtpDelivery::Echo;
        assert!(s.check().is_err());
    }

    #[test]
    fn a_short_admin_password_or_token_secret_is_refused() {
        let mut s = base();
        s.admin_password = Some(SecretString::from("short"));
        assert!(s.check().is_err());
        let mut s = base();
        s.auth.jwt_secret = Some(SecretString::from("a"));
        assert!(s.check().is_err());
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut s = base();
        s.admin_password = Some(SecretString::from("hunter2-secret"));
        assert!(!format!("{s:?}").contains("hunter2-secret"));
    }
}
