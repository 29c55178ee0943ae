//! Agones for tests: its published SDK REST specification ([`spec`]) and a stand-in
//! sidecar that serves exactly that specification ([`sidecar`]).

pub mod sidecar;
pub mod spec;

pub use sidecar::{Recorded, Sidecar};
pub use spec::Spec;
