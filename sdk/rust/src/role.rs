//! Writing an agent role: a typed step function plus [`export_role!`].
//!
//! ```ignore
//! use factory_sdk::role::{Role, RoleError};
//! struct Echo;
//! impl Role for Echo {
//!     const NAME: &'static str = "echo";
//!     const KIND: &'static str = "documenter";
//!     const DESCRIPTION: &'static str = "Returns its input.";
//!     type Input = serde_json::Value;
//!     type Output = serde_json::Value;
//!     fn run(input: Self::Input) -> Result<Self::Output, RoleError> { Ok(input) }
//! }
//! factory_sdk::export_role!(Echo);
//! ```

pub use crate::role_bindings::exports::factory::plugin::role::{Info, RoleError};

/// An agent role: typed JSON in, typed JSON out, acting through the host
/// interfaces under its own grants.
pub trait Role {
    const NAME: &'static str;
    /// architect, coder, tester, reviewer, documenter, deployer, or custom.
    const KIND: &'static str;
    const DESCRIPTION: &'static str;
    type Input: serde::de::DeserializeOwned;
    type Output: serde::Serialize;
    fn run(input: Self::Input) -> Result<Self::Output, RoleError>;
}

pub fn failed(msg: impl std::fmt::Display) -> RoleError {
    RoleError::Failed(msg.to_string())
}

impl From<crate::ErrorCode> for RoleError {
    fn from(e: crate::ErrorCode) -> Self {
        match e {
            crate::ErrorCode::Denied(m) => RoleError::Denied(m),
            crate::ErrorCode::InvalidInput(m) => RoleError::InvalidInput(m),
            crate::ErrorCode::NotFound(m) => RoleError::Failed(format!("not found: {m}")),
            crate::ErrorCode::LimitExceeded(m) => RoleError::Failed(format!("limit exceeded: {m}")),
            crate::ErrorCode::Failed(m) => RoleError::Failed(m),
        }
    }
}

#[doc(hidden)]
pub fn __describe<R: Role>() -> Info {
    Info {
        name: R::NAME.into(),
        kind: R::KIND.into(),
        description: R::DESCRIPTION.trim().into(),
    }
}

#[doc(hidden)]
pub fn __run<R: Role>(input: String) -> Result<String, RoleError> {
    let input: R::Input = serde_json::from_str(&input).map_err(|e| {
        RoleError::InvalidInput(format!("input is not a valid {} step: {e}", R::KIND))
    })?;
    let out = R::run(input)?;
    serde_json::to_string(&out).map_err(|e| failed(format!("cannot serialize the output: {e}")))
}

/// Export a [`Role`] as this component's `factory:plugin/role`.
#[macro_export]
macro_rules! export_role {
    ($role:ty) => {
        #[doc(hidden)]
        pub struct __FactoryRoleExport;
        impl $crate::role_bindings::exports::factory::plugin::role::Guest for __FactoryRoleExport {
            fn describe() -> $crate::role::Info {
                $crate::role::__describe::<$role>()
            }
            fn run(input: String) -> Result<String, $crate::role::RoleError> {
                $crate::role::__run::<$role>(input)
            }
        }
        $crate::role_bindings::__export_role!(__FactoryRoleExport with_types_in $crate::role_bindings);
    };
}
