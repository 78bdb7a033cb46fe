//! A small JSON client of the service's `/api/v1`, used the way an admin console and the
//! residents' phones use it, by `checkin replay` and `checkin load`. One [`Api`] holds one
//! pooled `reqwest::Client` (connections are reused), shared by every task of a run.

use std::fmt::{self, Write as _};
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a call failed: an error answer of the service, or no usable answer at all.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The HTTP status; `None` when no answer arrived (connection refused, timeout, …).
    pub status: Option<u16>,
    /// The answer's error code; `transport` or `unexpected_answer` when there was none.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// No answer: the message carries the whole cause chain (reqwest's own text alone says
    /// only "error sending request").
    fn transport(e: &reqwest::Error) -> Self {
        let mut message = e.to_string();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            let _ = write!(message, ": {c}");
            cause = c.source();
        }
        Self {
            status: None,
            code: "transport".into(),
            message,
        }
    }

    /// A failure found on this side, before or instead of a request.
    pub fn local(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: None,
            code: code.into(),
            message: message.into(),
        }
    }

    /// The failure described by an error answer, `{"error": {"code", "message"}}` when the
    /// body has that shape.
    fn from_answer(status: StatusCode, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Body {
            error: Detail,
        }
        #[derive(Deserialize)]
        struct Detail {
            code: String,
            message: String,
        }
        let (code, message) = match serde_json::from_slice::<Body>(body) {
            Ok(b) => (b.error.code, b.error.message),
            Err(_) => (
                "unexpected_answer".to_owned(),
                String::from_utf8_lossy(body).chars().take(200).collect(),
            ),
        };
        Self {
            status: Some(status.as_u16()),
            code,
            message,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "{s} {}: {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for Failure {}

/// Why a phone could not sign in.
#[derive(Debug)]
pub enum SignInError {
    /// `POST /auth/otp` answered without `dev_code`: the service does not run with
    /// `CHECKIN_OTP_DELIVERY=echo`, so no phone can sign in this way.
    NoDevCode,
    /// Any other failure of either step.
    Failed(Failure),
}

impl From<Failure> for SignInError {
    fn from(f: Failure) -> Self {
        SignInError::Failed(f)
    }
}

/// A bearer token (staff or resident).
#[derive(Debug, Deserialize)]
pub struct Token {
    /// The token.
    pub access_token: String,
    /// The person, for resident tokens.
    pub resident_id: Option<String>,
}

/// The answer to a CSV import.
#[derive(Debug, Deserialize)]
pub struct ImportReport {
    /// Rows that made new records.
    pub created: u64,
    /// Rows that replaced records.
    pub updated: u64,
    /// Rows refused.
    pub errors: Vec<RowError>,
}

/// One refused row of an import.
#[derive(Debug, Deserialize)]
pub struct RowError {
    /// The row's line in the file.
    pub line: u64,
    /// What was wrong.
    pub message: String,
}

/// A venue as `GET /venues` lists it (only what a replay needs).
#[derive(Debug, Deserialize)]
pub struct Venue {
    /// Venue id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The current code of every gate.
    pub codes: Vec<GateCode>,
}

/// The code of one gate.
#[derive(Debug, Deserialize)]
pub struct GateCode {
    /// The gate.
    pub gate: String,
    /// The exact text of the QR code.
    pub code: String,
}

#[derive(Deserialize)]
struct VenueList {
    venues: Vec<Venue>,
}

#[derive(Deserialize)]
struct OtpSent {
    dev_code: Option<String>,
}

/// The answer to a processed scan (only what a replay counts).
#[derive(Debug, Deserialize)]
pub struct ScanAnswer {
    /// `admitted` or `denied`.
    pub decision: String,
    /// Why it was denied.
    pub reason: Option<String>,
}

#[derive(Deserialize)]
struct Presence {
    count: u64,
}

/// The service at one base URL.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    /// The origin, e.g. `http://127.0.0.1:8080` (for the paths at the root).
    origin: String,
    /// The origin and `/api/v1`.
    base: String,
}

impl Api {
    /// A client of the service at `base_url` (e.g. `http://127.0.0.1:8080`), keeping up to
    /// `pool` idle connections open.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base_url: &str, pool: usize) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let origin = base_url.trim_end_matches('/').to_owned();
        Ok(Self {
            http,
            base: format!("{origin}/api/v1"),
            origin,
        })
    }

    /// `POST /auth/login` as `username`.
    pub async fn staff_login(&self, username: &str, password: &str) -> Result<Token, Failure> {
        let body = serde_json::json!({ "username": username, "password": password });
        self.call(self.http.post(self.url("/auth/login")).json(&body))
            .await
    }

    /// `POST {path}` with a CSV body (`/venues/import`, `/residents/import`).
    pub async fn import(
        &self,
        admin: &str,
        path: &str,
        csv: Vec<u8>,
    ) -> Result<ImportReport, Failure> {
        let req = self
            .http
            .post(self.url(path))
            .bearer_auth(admin)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv);
        self.call(req).await
    }

    /// `GET /venues`.
    pub async fn venues(&self, admin: &str) -> Result<Vec<Venue>, Failure> {
        let list: VenueList = self
            .call(self.http.get(self.url("/venues")).bearer_auth(admin))
            .await?;
        Ok(list.venues)
    }

    /// `POST /auth/otp`; the `dev_code` of the answer, `None` when the service sent none.
    pub async fn request_otp(&self, phone: &str) -> Result<Option<String>, Failure> {
        let body = serde_json::json!({ "phone": phone });
        let sent: OtpSent = self
            .call(self.http.post(self.url("/auth/otp")).json(&body))
            .await?;
        Ok(sent.dev_code)
    }

    /// `POST /auth/resident`.
    pub async fn resident_login(&self, phone: &str, code: &str) -> Result<Token, Failure> {
        let body = serde_json::json!({ "phone": phone, "code": code });
        self.call(self.http.post(self.url("/auth/resident")).json(&body))
            .await
    }

    /// A phone signing in: `POST /auth/otp`, then `POST /auth/resident` with the `dev_code`
    /// the service echoed. An unknown phone becomes a new unregistered resident.
    ///
    /// # Errors
    /// [`SignInError::NoDevCode`] when the service echoes no codes, else the failed step.
    pub async fn sign_in(&self, phone: &str) -> Result<Token, SignInError> {
        let code = self
            .request_otp(phone)
            .await?
            .ok_or(SignInError::NoDevCode)?;
        Ok(self.resident_login(phone, &code).await?)
    }

    /// `GET /healthz` (at the root, not under `/api/v1`).
    pub async fn healthz(&self) -> Result<(), Failure> {
        let url = format!("{}/healthz", self.origin);
        let _: serde::de::IgnoredAny = self.call(self.http.get(url)).await?;
        Ok(())
    }

    /// `POST /scans` as the resident holding `token`.
    pub async fn scan<B: Serialize + ?Sized>(
        &self,
        token: &str,
        scan: &B,
    ) -> Result<ScanAnswer, Failure> {
        self.call(
            self.http
                .post(self.url("/scans"))
                .bearer_auth(token)
                .json(scan),
        )
        .await
    }

    /// `GET /venues/{id}/presence`: how many are inside.
    pub async fn presence_count(&self, admin: &str, venue_id: &str) -> Result<u64, Failure> {
        let url = self.url(&format!("/venues/{venue_id}/presence"));
        let p: Presence = self.call(self.http.get(url).bearer_auth(admin)).await?;
        Ok(p.count)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `req`; a 2xx answer is decoded as `T`, anything else is a [`Failure`].
    async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, Failure> {
        let res = req.send().await.map_err(|e| Failure::transport(&e))?;
        let status = res.status();
        let body = res.bytes().await.map_err(|e| Failure::transport(&e))?;
        if !status.is_success() {
            return Err(Failure::from_answer(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| Failure {
            status: Some(status.as_u16()),
            code: "unexpected_answer".into(),
            message: format!("the answer does not decode: {e}"),
        })
    }
}
