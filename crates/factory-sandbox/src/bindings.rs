//! The one `bindgen!` per world of `wit/plugin`. Host interfaces are generated
//! once (world `imports`) and reused by the exporting worlds.

pub mod imports {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin",
        world: "imports",
        imports: { default: async | trappable },
        // A host call's `error-code` or a trap, so that capabilities can use
        // `?` on either (`crate::caps::CapError`).
        trappable_error_type: { "factory:plugin/types.error-code" => crate::caps::CapError },
    });
}

pub mod tool {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin",
        world: "tool-plugin",
        exports: { default: async },
    });
}

pub mod role {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin",
        world: "role-plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        trappable_error_type: { "factory:plugin/types.error-code" => crate::caps::CapError },
        with: {
            "factory:plugin/types": crate::bindings::imports::factory::plugin::types,
            "factory:plugin/log": crate::bindings::imports::factory::plugin::log,
            "factory:plugin/kv": crate::bindings::imports::factory::plugin::kv,
            "factory:plugin/tools": crate::bindings::imports::factory::plugin::tools,
            "factory:plugin/exec": crate::bindings::imports::factory::plugin::exec,
            "factory:plugin/model": crate::bindings::imports::factory::plugin::model,
        },
    });
}

pub mod intake {
    wasmtime::component::bindgen!({
        path: "../../wit/plugin",
        world: "intake-plugin",
        exports: { default: async },
    });
}

pub use imports::factory::plugin::types::ErrorCode;

/// The exported interface names that identify a known world.
pub const TOOL_EXPORT: &str = "factory:plugin/tool@0.1.0";
pub const ROLE_EXPORT: &str = "factory:plugin/role@0.1.0";
pub const INTAKE_EXPORT: &str = "factory:plugin/intake@0.1.0";
