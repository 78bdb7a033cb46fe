//! Check-in backend for closed management during an epidemic: venues with signed QR posters,
//! residents scanning in and out, presence, visit histories and contacts for tracers.
//!
//! The crate is a library with a thin binary (`src/main.rs`); [`startup::Application`] builds
//! the HTTP service for both the binary and the tests.
#![forbid(unsafe_code)]

pub mod auth;
pub mod cli;
pub mod clock;
pub mod codes;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod limits;
pub mod posters;
pub mod service;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
