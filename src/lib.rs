//! ocimirror: pull container images through registry mirrors into a
//! verified OCI image layout.
//!
//! The modules follow the data's path: a `reference` is parsed; `config`
//! says which mirrors apply and how to talk to each host; `plan` orders the
//! sources; the `fetch`er walks them for every request (with `ns`, fallback
//! and the collision check) through `registry` endpoints authenticated by
//! `auth`; `platform` picks the image; `pull` streams verified blobs into
//! the `layout`, which `archive` turns into one tar for docker, podman and
//! containerd. Commands (`pull`, `resolve`, `check`, `ls`, `export`) return
//! `report`s, which the `cli`'s printer alone turns into text or JSON.

pub mod archive;
pub mod cache;
pub mod check;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod digest;
pub mod error;
pub mod exit;
pub mod fetch;
pub mod image;
pub mod inspect;
pub mod layout;
pub mod lock;
pub mod ls;
pub mod memory;
pub mod plan;
pub mod pull;
pub mod reference;
pub mod registry;
pub mod report;
pub mod resolve;
pub mod small_blob;
pub mod text;
pub mod trace;
pub mod units;
pub mod upkeep;

pub use error::{Error, Result};
