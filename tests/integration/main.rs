//! The integration tests: one binary (fast to link), one module per area.
//! Each test starts its own in-process registries on 127.0.0.1 and runs
//! the real `ocimirror` binary through `support::Test`.

mod support;

mod archive;
mod batch;
mod cache;
mod confirming;
mod contract;
mod display;
mod ecosystem;
mod faults;
mod generated;
mod hostile;
mod inspect;
mod interop;
mod memory;
mod messages;
mod mirrors;
mod pull;
mod ranges;
mod signals;
#[cfg(target_os = "linux")]
mod terminal;
mod upkeep;
