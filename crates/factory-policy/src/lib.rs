//! What a factory component may do, decided in one place: the trust ladder
//! ([`trust`]), the grants an operator gives ([`grants`]) and the policy
//! they compile to ([`compiled`]), which every capability check reads, and
//! the grants each kind of role gets for a step of a run ([`roles`]).
//! Nothing here runs a component or touches a store; the sandbox, the
//! orchestrator and the CLI all ask this crate.

pub mod compiled;
pub mod grants;
pub mod roles;
pub mod trust;

pub use compiled::{Access, Cut, LimitOverrides, Policy, compile};
pub use grants::Grant;
pub use roles::{RoleKind, StepAccess, step_grants};
pub use trust::{CapabilityKind, Limits, TrustLevel};

/// The first file called `name` in a directory of `$PATH`.
pub fn which(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
