//! Black-box HTTP tests: each spawns the service on port 0 and talks to it as a client would.

mod helpers;

mod visit_rules;
