//! What load to run: how requests are paced and for how long.

use std::time::Duration;

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// `concurrency` workers; each sends its next request when the last one is answered.
    Closed {
        /// Workers.
        concurrency: usize,
    },
    /// Requests are due every `1 / rate` seconds whatever the answers.
    Open {
        /// Requests per second.
        rate: f64,
    },
}

/// How long the load runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Load before measuring starts; those requests are not counted.
    pub warmup: Duration,
    /// Measured time: requests sent (closed loop) or due (open loop) in it are counted.
    pub duration: Duration,
}
