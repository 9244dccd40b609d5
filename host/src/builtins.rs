//! The built-in plugins, compiled from `plugins/` by the build script and
//! embedded in this binary. The store registers them on first use like
//! installed plugins (with no grants); they run under the same sandbox
//! rules.

pub use factory_store::builtins::Builtin;
use factory_store::registry::World;
use factory_store::trust::TrustLevel;

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// Every built-in of this binary.
pub fn all() -> &'static [Builtin] {
    BUILTINS
}

/// Host options with this binary's built-ins.
pub fn host_options(engine: factory_store::engine::EngineOptions) -> factory_store::HostOptions {
    factory_store::HostOptions {
        engine,
        builtins: BUILTINS,
    }
}
