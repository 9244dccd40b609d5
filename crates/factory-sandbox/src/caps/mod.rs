//! One module per capability, each with the same sections in the same order:
//! config (shared backend) → per-instance state → host impl (grant check
//! first) → linker wiring → unit tests. Their abuse tests live in
//! `tests/abuse/`, one file per capability.

pub mod env;
pub mod exec;
pub mod fs;
pub mod kv;
pub mod log;
pub mod model;
pub mod net;
pub mod quota;
pub mod tools;

use crate::bindings::ErrorCode;

/// What a capability's host call returns on failure: the guest-visible
/// `error-code`, or a trap (a host bug, which ends the call). `?` works on
/// either.
pub type CapError = wasmtime_wasi::TrappableError<ErrorCode>;

/// Each capability's state turns its errors back into the guest's
/// `error-code` (a trap stays a trap).
macro_rules! error_code_conversion {
    ($($state:ty),*) => {$(
        impl crate::bindings::imports::factory::plugin::types::Host for $state {
            fn convert_error_code(&mut self, e: CapError) -> wasmtime::Result<ErrorCode> {
                e.downcast()
            }
        }
    )*};
}
error_code_conversion!(
    kv::KvState,
    tools::ToolsState,
    exec::ExecState,
    model::ModelState
);

/// In unit tests: what the guest would see of a host call's result.
#[cfg(test)]
pub(crate) trait AsGuestSees<T> {
    fn guest(self) -> Result<T, ErrorCode>;
}

#[cfg(test)]
impl<T> AsGuestSees<T> for Result<T, CapError> {
    fn guest(self) -> Result<T, ErrorCode> {
        self.map_err(|e| e.downcast().expect("a trap, not an error code"))
    }
}
