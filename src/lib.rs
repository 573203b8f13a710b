//! ocimirror: pull container images through registry mirrors into a
//! verified OCI image layout.
//!
//! The modules follow the data's path: a `reference` is parsed, `config`
//! says which mirrors apply, `plan` orders the sources, `resolve` walks
//! them (with `ns`, fallback and the collision check) through `registry`
//! endpoints authenticated by `auth`, `platform` picks the image, and
//! `pull` streams verified blobs into the `layout`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod convert;
pub mod digest;
pub mod error;
pub mod exit;
pub mod image;
pub mod layout;
pub mod output;
pub mod plan;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod reference;
pub mod registry;
pub mod resolve;
pub mod session;
pub mod text;

pub use error::{Error, Result};
