//! The Rust SDK for factory tool plugins.
//!
//! A tool is a function from a typed input to a typed output plus one macro:
//!
//! ```ignore
//! use factory_sdk::{Tool, ToolError, export_tool};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)] struct In { text: String }
//! #[derive(Serialize)] struct Out { words: usize }
//!
//! struct WordCount;
//! impl Tool for WordCount {
//!     const NAME: &'static str = "word-count";
//!     const DESCRIPTION: &'static str = "Counts the words of a text.";
//!     const INPUT_SCHEMA: &'static str = r#"{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}"#;
//!     type Input = In;
//!     type Output = Out;
//!     fn call(input: In) -> Result<Out, ToolError> {
//!         Ok(Out { words: input.text.split_whitespace().count() })
//!     }
//! }
//! export_tool!(WordCount);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; install the
//! `.wasm` with `factory plugin install`. Files, network and commands are
//! reached through `std::fs`, [`http`] and [`exec`]: each works only as far
//! as the operator granted it, and a refusal comes back as an error.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/plugin",
        world: "tool-with-host",
        pub_export_macro: true,
        export_macro_name: "__export_tool_with_host",
        default_bindings_module: "factory_sdk::bindings",
    });
}

/// Bindings of the `role-plugin` world; its imports are [`bindings`]'.
#[doc(hidden)]
pub mod role_bindings {
    wit_bindgen::generate!({
        path: "../../wit/plugin",
        world: "role-plugin",
        with: {
            "factory:plugin/types@0.1.0": crate::bindings::factory::plugin::types,
            "factory:plugin/log@0.1.0": crate::bindings::factory::plugin::log,
            "factory:plugin/kv@0.1.0": crate::bindings::factory::plugin::kv,
            "factory:plugin/tools@0.1.0": crate::bindings::factory::plugin::tools,
            "factory:plugin/exec@0.1.0": crate::bindings::factory::plugin::exec,
            "factory:plugin/model@0.1.0": crate::bindings::factory::plugin::model,
        },
        pub_export_macro: true,
        export_macro_name: "__export_role",
        default_bindings_module: "factory_sdk::role_bindings",
    });
}

/// Bindings of the `intake-plugin` world (no imports).
#[doc(hidden)]
pub mod intake_bindings {
    wit_bindgen::generate!({
        path: "../../wit/plugin",
        world: "intake-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_intake",
        default_bindings_module: "factory_sdk::intake_bindings",
    });
}

// Only the bindings a plugin exports end up in its component: a tool links
// `bindings`' export, a role `role_bindings`', an intake adapter
// `intake_bindings`'; the others' type sections are dropped by the linker.

pub mod agent;
pub mod exec;
pub mod fs;
pub mod http;
pub mod intake;
pub mod kv;
pub mod log;
pub mod model;
pub mod role;
pub mod tools;

pub use bindings::exports::factory::plugin::tool::{Info, ToolError};
pub use bindings::factory::plugin::types::ErrorCode;
pub use factory_types as types;
pub use serde_json;

/// A tool: typed JSON in, typed JSON out.
pub trait Tool {
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
    /// JSON Schema of `Input`, as JSON text.
    const INPUT_SCHEMA: &'static str;
    type Input: serde::de::DeserializeOwned;
    type Output: serde::Serialize;
    fn call(input: Self::Input) -> Result<Self::Output, ToolError>;
}

/// Shorthands for the three kinds of tool error.
pub fn invalid(msg: impl std::fmt::Display) -> ToolError {
    ToolError::InvalidInput(msg.to_string())
}
pub fn failed(msg: impl std::fmt::Display) -> ToolError {
    ToolError::Failed(msg.to_string())
}

/// Whether an absolute `path` lies under none of this instance's granted
/// directories (its WASI preopens). Such a path never reaches the host:
/// the guest's libc fails it as "not found".
pub fn outside_grants(path: &str) -> bool {
    let p = std::path::Path::new(path);
    p.is_absolute()
        && !wasip2::filesystem::preopens::get_directories()
            .iter()
            .any(|(_, dir)| p.starts_with(dir))
}

/// Map an I/O error: a refusal by the sandbox becomes `denied`, and so
/// does a path outside every granted directory.
pub fn io_error(context: impl std::fmt::Display, e: std::io::Error) -> ToolError {
    let context = context.to_string();
    if e.kind() == std::io::ErrorKind::NotFound && outside_grants(&context) {
        return ToolError::Denied(format!(
            "{context}: outside every directory granted to this tool"
        ));
    }
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => ToolError::Denied(format!("{context}: {e}")),
        std::io::ErrorKind::NotFound => ToolError::InvalidInput(format!("{context}: {e}")),
        _ => ToolError::Failed(format!("{context}: {e}")),
    }
}

impl From<ErrorCode> for ToolError {
    fn from(e: ErrorCode) -> Self {
        match e {
            ErrorCode::Denied(m) => ToolError::Denied(m),
            ErrorCode::InvalidInput(m) => ToolError::InvalidInput(m),
            ErrorCode::NotFound(m) => ToolError::InvalidInput(m),
            ErrorCode::LimitExceeded(m) | ErrorCode::Failed(m) => ToolError::Failed(m),
        }
    }
}

#[doc(hidden)]
pub fn __describe<T: Tool>() -> Info {
    Info {
        name: T::NAME.to_string(),
        description: T::DESCRIPTION.to_string(),
        input_schema: T::INPUT_SCHEMA.to_string(),
    }
}

#[doc(hidden)]
pub fn __invoke<T: Tool>(input: String) -> Result<String, ToolError> {
    let input: T::Input = serde_json::from_str(&input)
        .map_err(|e| invalid(format!("input does not match the schema: {e}")))?;
    let output = T::call(input)?;
    serde_json::to_string(&output).map_err(|e| failed(format!("cannot serialize the output: {e}")))
}

/// Export a [`Tool`] implementation as this component's `factory:plugin/tool`.
#[macro_export]
macro_rules! export_tool {
    ($tool:ty) => {
        #[doc(hidden)]
        pub struct __FactoryToolExport;
        impl $crate::bindings::exports::factory::plugin::tool::Guest for __FactoryToolExport {
            fn describe() -> $crate::Info {
                $crate::__describe::<$tool>()
            }
            fn invoke(input: String) -> Result<String, $crate::ToolError> {
                $crate::__invoke::<$tool>(input)
            }
        }
        $crate::bindings::__export_tool_with_host!(__FactoryToolExport with_types_in $crate::bindings);
    };
}

/// A host error as one line of text (for a model or a log).
pub fn describe_error(e: &ErrorCode) -> String {
    match e {
        ErrorCode::Denied(m) => format!("denied: {m}"),
        ErrorCode::InvalidInput(m) => format!("invalid input: {m}"),
        ErrorCode::NotFound(m) => format!("not found: {m}"),
        ErrorCode::LimitExceeded(m) => format!("limit exceeded: {m}"),
        ErrorCode::Failed(m) => format!("failed: {m}"),
    }
}
