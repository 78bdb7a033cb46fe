//! The behaviours every store must show, one `async fn` each, named as sentences. They are
//! turned into tests per backend by `conformance!` in `main.rs`.

mod alerts;
mod durability;
mod imports;
mod records;
mod retention;
mod scans;
mod vehicles;
mod visits;

pub use alerts::*;
pub use durability::*;
pub use imports::*;
pub use records::*;
pub use retention::*;
pub use scans::*;
pub use vehicles::*;
pub use visits::*;
