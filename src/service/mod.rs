//! The application's use cases: each reads the store, asks the domain to decide, and writes the
//! result. Handlers in `http` call these and only translate.

pub mod accounts;
pub mod alert_webhook;
pub mod audit;
pub mod contacts;
pub mod export;
pub mod flags;
pub mod households;
pub mod imports;
pub mod person_turns;
pub mod posters;
pub mod repair;
pub mod report_export;
pub mod reports;
pub mod retention;
pub mod scans;
pub mod trace;
pub mod vehicles;
pub mod venues;
