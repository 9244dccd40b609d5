//! The plugin supply chain: who published a plugin, and whether the
//! operator trusts them for it.
//!
//! - [`keys`]: Ed25519 signing keys under `$FACTORY_HOME/keys` (0600).
//! - [`signature`]: what a signature covers (a manifest digest together
//!   with the reference it was published under) and its envelope.
//! - [`permissions`]: what a plugin asks for (`plugin.toml`, carried in
//!   the component), which the operator grants or not.
//! - [`signers`]: the signers the operator trusts, each optionally only for
//!   references matching a pattern, and the one check that decides whether
//!   a signature is accepted.

pub mod keys;
pub mod oci;
pub mod permissions;
pub mod signature;
pub mod signers;

pub use keys::{KeyError, PublicKey};
pub use signature::{Envelope, SignatureError};
pub use signers::{Signer, Signers, SignersError, VerifyError};
