//! The factory loop against its own roles and repositories: one file per
//! class of attack in docs/security.md, each with hostile roles (plugins
//! in `tests/plugins`, or the built-in roles driven by a hostile model's
//! replies). Every test asserts that the attack failed, that the run ended
//! in a defined state with the host alive, and that the journal names what
//! was refused.

mod bounds;
mod defaults;
mod evidence;
pub mod git;
mod quotas;
mod review;
mod secrets;
mod trust;
