//! Black-box HTTP tests: each spawns the service on port 0 and talks to it as a client would.

mod browser;
mod helpers;

mod alert_webhook;
mod alerts;
mod audit;
mod auth;
mod bad_input;
mod cli;
mod codes;
mod console;
mod contact_classes;
mod contacts;
mod daily_report;
mod dry_run;
mod entry_policy;
mod guard;
mod households;
mod instances;
mod load;
mod occupancy;
mod ops;
mod oracle;
mod outage;
mod pages;
mod rate_limits;
mod restart;
mod retention;
mod sample;
mod scan_batch;
mod sub_locations;
mod vehicles;
mod venues;
mod visit_rules;
mod visitors;
