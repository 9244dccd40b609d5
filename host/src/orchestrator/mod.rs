//! The factory loop.
pub mod store;
