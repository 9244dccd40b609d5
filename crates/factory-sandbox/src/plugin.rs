//! Components as the sandbox sees them: which world one implements, what
//! it says about itself, and the pre-linked form a call instantiates.
//! [`Sandbox::inspect`] checks a component against the contract and asks
//! it who it is (with no grants); [`Sandbox::prepare`] links one for calls.

use crate::bindings::{
    INTAKE_EXPORT, ROLE_EXPORT, TOOL_EXPORT, intake::IntakePluginPre, role::RolePluginPre,
    tool::ToolPluginPre,
};
use crate::policy::{LimitOverrides, Policy};
use crate::state::InstanceState;
use crate::trust::TrustLevel;
use crate::{Sandbox, invoke};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::Component;

/// Which world a component implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    Tool,
    Role,
    Intake,
}

impl World {
    pub fn as_str(self) -> &'static str {
        match self {
            World::Tool => "tool-plugin",
            World::Role => "role-plugin",
            World::Intake => "intake-plugin",
        }
    }
    /// The world named `s` (as [`World::as_str`] writes it); a tool for
    /// anything else.
    pub fn parse(s: &str) -> World {
        match s {
            "role-plugin" => World::Role,
            "intake-plugin" => World::Intake,
            _ => World::Tool,
        }
    }
    /// What a plugin of this world is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            World::Tool => "tool",
            World::Role => "role",
            World::Intake => "intake adapter",
        }
    }
}

/// What the sandbox needs to know about an installed plugin.
#[derive(Clone, Debug)]
pub struct PluginMeta {
    pub name: String,
    pub digest: String,
    pub world: World,
    pub trust: TrustLevel,
    /// The operator's limits for it.
    pub limits: LimitOverrides,
    pub description: String,
    pub input_schema: String,
}

/// A component linked against the sandbox's capabilities, ready to be
/// instantiated once per call.
#[derive(Clone)]
pub enum Pre {
    Tool(ToolPluginPre<InstanceState>),
    Role(RolePluginPre<InstanceState>),
    Intake(IntakePluginPre<InstanceState>),
}

impl Pre {
    pub fn world(&self) -> World {
        match self {
            Pre::Tool(_) => World::Tool,
            Pre::Role(_) => World::Role,
            Pre::Intake(_) => World::Intake,
        }
    }
}

/// A plugin ready for calls: what it is, the policy it runs under, and its
/// linked component.
pub struct Loaded {
    pub plugin: PluginMeta,
    pub policy: Arc<Policy>,
    /// The effective grants, as recorded with each invocation.
    pub grants_json: String,
    pub pre: Pre,
}

impl Loaded {
    pub fn new(plugin: PluginMeta, policy: Policy, pre: Pre) -> Loaded {
        Loaded {
            grants_json: serde_json::to_string(&effective_flags(&policy)).unwrap_or_default(),
            policy: Arc::new(policy),
            plugin,
            pre,
        }
    }
}

/// The policy's effective grants as CLI flags.
pub fn effective_flags(p: &Policy) -> Vec<String> {
    let mut f = Vec::new();
    for (d, a) in &p.dirs {
        let k = if *a == crate::policy::Access::ReadWrite {
            "write"
        } else {
            "read"
        };
        f.push(format!("--{k} {}", d.display()));
    }
    f.extend(p.net.iter().map(|t| format!("--net {t}")));
    f.extend(p.exec.iter().map(|t| format!("--exec {t}")));
    f.extend(p.env.iter().map(|t| format!("--env {t}")));
    f.extend(p.tools.iter().map(|t| format!("--tool {t}")));
    f.extend(p.models.iter().map(|t| format!("--model {t}")));
    f
}

/// Why a file is not a component this sandbox can run.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    #[error("{0} is not a WebAssembly file (no `\\0asm` header)")]
    NotWasm(String),
    #[error(
        "{0} is a core WebAssembly module, not a component; build it for wasm32-wasip2 or wrap it with `wasm-tools component new`"
    )]
    CoreModule(String),
    #[error("{0} is not a valid component (corrupt or truncated?): {1}")]
    Invalid(String, String),
    #[error(
        "{0} uses the component-model async ABI, which this host does not run: rebuild it without async exports (componentize-qjs: add --sync) ({1})"
    )]
    AsyncAbi(String, String),
    #[error(
        "{file} exports none of `{TOOL_EXPORT}` (world tool-plugin), `{ROLE_EXPORT}` (world role-plugin) or `{INTAKE_EXPORT}` (world intake-plugin); it exports: {exports}"
    )]
    UnknownWorld { file: String, exports: String },
    #[error("{0} does not match the factory contract: {1}")]
    Incompatible(String, String),
    #[error("{0}'s describe() failed: {1}")]
    Describe(String, String),
    #[error("{0}'s describe() returned a bad input schema: {1}; fix it in the plugin's describe()")]
    Schema(String, crate::schema::SchemaError),
}

/// A component that passed [`Sandbox::inspect`].
pub struct Inspected {
    pub component: Component,
    pub world: World,
    pub exports: Vec<String>,
    pub imports: Vec<String>,
    /// From its `describe()`.
    pub name: String,
    pub description: String,
    pub input_schema: String,
    /// A role's kind or an intake adapter's format; empty for tools.
    pub kind: String,
}

const MAGIC: &[u8; 4] = b"\0asm";

impl Sandbox {
    /// Compile `bytes` (`shown` names them in errors), find its world, link
    /// it, and call its `describe()` with no grants, within 10 s.
    pub async fn inspect(&self, bytes: &[u8], shown: &str) -> Result<Inspected, ComponentError> {
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(ComponentError::NotWasm(shown.into()));
        }
        if bytes[4..8] == [1, 0, 0, 0] {
            return Err(ComponentError::CoreModule(shown.into()));
        }
        let engine = self.engine();
        let component = Component::new(engine, bytes).map_err(|e| {
            let e = format!("{e:#}");
            if e.contains("component model async") {
                ComponentError::AsyncAbi(shown.into(), e)
            } else {
                ComponentError::Invalid(shown.into(), e)
            }
        })?;
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
        let world = if exports.iter().any(|e| e == TOOL_EXPORT) {
            World::Tool
        } else if exports.iter().any(|e| e == ROLE_EXPORT) {
            World::Role
        } else if exports.iter().any(|e| e == INTAKE_EXPORT) {
            World::Intake
        } else {
            return Err(ComponentError::UnknownWorld {
                file: shown.into(),
                exports: if exports.is_empty() {
                    "nothing".into()
                } else {
                    exports.join(", ")
                },
            });
        };
        let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
        let pre = self
            .prepare(&component, world)
            .map_err(|e| ComponentError::Incompatible(shown.into(), format!("{e:#}")))?;
        let described =
            tokio::time::timeout(Duration::from_secs(10), invoke::describe(self, pre, shown))
                .await
                .unwrap_or_else(|_| {
                    Err(ComponentError::Describe(
                        shown.into(),
                        "did not return within 10 s".into(),
                    ))
                })?;
        if world == World::Tool {
            crate::schema::parse(&described.2)
                .map_err(|e| ComponentError::Schema(shown.into(), e))?;
        }
        Ok(Inspected {
            component,
            world,
            exports,
            imports,
            name: described.0,
            description: described.1,
            input_schema: described.2,
            kind: described.3,
        })
    }

    /// Link `component` as a `world` component against the capabilities.
    pub fn prepare(&self, component: &Component, world: World) -> wasmtime::Result<Pre> {
        let pre = self.inner.linker.instantiate_pre(component)?;
        Ok(match world {
            World::Tool => Pre::Tool(ToolPluginPre::new(pre)?),
            World::Role => Pre::Role(RolePluginPre::new(pre)?),
            World::Intake => Pre::Intake(IntakePluginPre::new(pre)?),
        })
    }

    /// Machine code for `bytes`, to be stored and loaded with
    /// [`Sandbox::load_precompiled`].
    pub fn precompile(&self, bytes: &[u8]) -> wasmtime::Result<Vec<u8>> {
        self.engine().precompile_component(bytes)
    }

    /// Load machine code written by [`Sandbox::precompile`] (or
    /// `Component::serialize`) of an engine with this [`Sandbox::engine_key`].
    ///
    /// The caller vouches that the file is unchanged since this sandbox's
    /// engine wrote it (the factory records each file's stamp when it
    /// writes it and checks it before loading): loading machine code runs
    /// it, so a modified file is code execution in the host.
    #[allow(unsafe_code)]
    pub fn load_precompiled(&self, path: &Path) -> wasmtime::Result<Component> {
        // SAFETY: see above; the engine key is part of the file's name, so a
        // file made by another engine version is not found, and wasmtime
        // checks the header's compatibility too.
        unsafe { Component::deserialize_file(self.engine(), path) }
    }
}
