//! `factory plugin install`: validate, digest, precompile, describe, store.

use super::{FileStamp, PluginRecord, RegistryError, World, sha256_hex};
use crate::bindings::{INTAKE_EXPORT, ROLE_EXPORT, TOOL_EXPORT};
use crate::journal::EventRecord;
use crate::runtime::Host;
use crate::trust::TrustLevel;
use serde::Serialize;
use std::path::PathBuf;

pub struct InstallRequest {
    pub file: PathBuf,
    pub name: Option<String>,
    pub trust: TrustLevel,
    pub force: bool,
}

#[derive(Debug, Serialize)]
pub struct Installed {
    pub record: PluginRecord,
    /// False when the same component was already installed under this name.
    pub changed: bool,
    pub replaced_digest: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
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
    #[error(
        "a different component is already installed as `{name}` (digest {existing}); pass --force to replace it"
    )]
    Exists { name: String, existing: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot store the component: {0}")]
    Store(String),
}

const MAGIC: &[u8; 4] = b"\0asm";

impl Host {
    pub async fn install(&self, req: InstallRequest) -> Result<Installed, InstallError> {
        let inner = &self.inner;
        let shown = req.file.display().to_string();
        let bytes = std::fs::read(&req.file).map_err(|e| InstallError::Read(shown.clone(), e))?;
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(InstallError::NotWasm(shown));
        }
        if bytes[4..8] == [1, 0, 0, 0] {
            return Err(InstallError::CoreModule(shown));
        }
        let digest = sha256_hex(&bytes);
        let engine = &inner.engine;
        let component = wasmtime::component::Component::new(engine, &bytes).map_err(|e| {
            let e = format!("{e:#}");
            if e.contains("component model async") {
                InstallError::AsyncAbi(shown.clone(), e)
            } else {
                InstallError::Invalid(shown.clone(), e)
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
            return Err(InstallError::UnknownWorld {
                file: shown,
                exports: if exports.is_empty() {
                    "nothing".into()
                } else {
                    exports.join(", ")
                },
            });
        };
        let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
        inner
            .pre(&component, world)
            .map_err(|e| InstallError::Incompatible(shown.clone(), format!("{e:#}")))?;

        // Ask the component who it is, with no grants at all.
        let (description, input_schema, self_name, kind) =
            self.describe_component(&component, world, &shown).await?;
        let name = match req.name {
            Some(n) => n,
            None => self_name.to_ascii_lowercase().replace([' ', '_'], "-"),
        };
        crate::grants::valid_name(&name).map_err(|e| InstallError::Registry(e.into()))?;

        let existing = inner.registry.get(&name)?;
        if let Some(ex) = &existing {
            if ex.builtin {
                return Err(RegistryError::Builtin(name).into());
            }
            if ex.digest == digest {
                if ex.trust != req.trust {
                    inner.registry.set_trust(&name, req.trust)?;
                }
                let record = inner.registry.require(&name)?;
                return Ok(Installed {
                    record,
                    changed: false,
                    replaced_digest: None,
                });
            }
            if !req.force {
                return Err(InstallError::Exists {
                    name,
                    existing: ex.digest.clone(),
                });
            }
        }

        let path = inner.home.component_path(&digest);
        crate::home::write_atomic(&path, &bytes)
            .map_err(|e| InstallError::Store(format!("{}: {e}", path.display())))?;
        let cwasm = inner.home.cwasm_path(&digest, &inner.engine_key);
        let serialized = component
            .serialize()
            .map_err(|e| InstallError::Store(format!("{e:#}")))?;
        crate::home::write_atomic(&cwasm, &serialized)
            .map_err(|e| InstallError::Store(format!("{}: {e}", cwasm.display())))?;
        let cstamp = FileStamp::of(&cwasm).map_err(|e| InstallError::Store(e.to_string()))?;
        inner
            .registry
            .set_cache_stamp(&cwasm.display().to_string(), &cstamp.0)?;
        let stamp = FileStamp::of(&path).map_err(|e| InstallError::Store(e.to_string()))?;

        let record = PluginRecord {
            name: name.clone(),
            digest: digest.clone(),
            world,
            trust: req.trust,
            builtin: false,
            size: bytes.len() as u64,
            source: std::fs::canonicalize(&req.file)
                .unwrap_or(req.file.clone())
                .display()
                .to_string(),
            installed_at: crate::db::now_ms(),
            description,
            input_schema,
            imports,
            limits: existing.as_ref().map(|e| e.limits).unwrap_or_default(),
            file_stamp: stamp.0,
            kind,
        };
        inner.registry.upsert(&record)?;
        let replaced = existing.map(|e| e.digest);
        if let Some(old) = &replaced {
            // The replaced component is deleted unless another name uses it.
            if !inner.registry.digest_in_use(old)? {
                let _ = std::fs::remove_file(inner.home.component_path(old));
                let _ = std::fs::remove_file(inner.home.cwasm_path(old, &inner.engine_key));
            }
        }
        let (kind, msg) = match &replaced {
            Some(old) => (
                "reinstall",
                format!(
                    "replaced {old} with {digest} from {} (--force)",
                    record.source
                ),
            ),
            None => (
                "install",
                format!(
                    "installed {digest} from {} as {} at trust {}",
                    record.source,
                    world.as_str(),
                    req.trust
                ),
            ),
        };
        inner.journal.event(EventRecord {
            target: record.source.clone(),
            ..EventRecord::new(&name, kind, msg)
        });
        Ok(Installed {
            record,
            changed: true,
            replaced_digest: replaced,
        })
    }

    /// Instantiate with no grants, check the exported functions' types
    /// against the contract, and call `describe`.
    async fn describe_component(
        &self,
        component: &wasmtime::component::Component,
        world: World,
        shown: &str,
    ) -> Result<(String, String, String, String), InstallError> {
        use crate::bindings::{
            intake::IntakePluginIndices, role::RolePluginIndices, tool::ToolPluginIndices,
        };
        let incompatible =
            |e: wasmtime::Error| InstallError::Incompatible(shown.into(), format!("{e:#}"));
        let failed = |e: wasmtime::Error| InstallError::Describe(shown.into(), format!("{e:#}"));
        let pre = self.inner.pre(component, world).map_err(incompatible)?;
        let (mut store, _, _) = self
            .inner
            .bare_store(&format!("{} (install)", world.as_str()));
        let fut = async {
            match pre {
                crate::runtime::Pre::Tool(p) => {
                    let inst = p
                        .instance_pre()
                        .instantiate_async(&mut store)
                        .await
                        .map_err(failed)?;
                    let bound = ToolPluginIndices::new(p.instance_pre())
                        .and_then(|ix| ix.load(&mut store, &inst))
                        .map_err(incompatible)?;
                    let info = bound
                        .factory_plugin_tool()
                        .call_describe(&mut store)
                        .await
                        .map_err(failed)?;
                    Ok((
                        info.description,
                        info.input_schema,
                        info.name,
                        String::new(),
                    ))
                }
                crate::runtime::Pre::Role(p) => {
                    let inst = p
                        .instance_pre()
                        .instantiate_async(&mut store)
                        .await
                        .map_err(failed)?;
                    let bound = RolePluginIndices::new(p.instance_pre())
                        .and_then(|ix| ix.load(&mut store, &inst))
                        .map_err(incompatible)?;
                    let info = bound
                        .factory_plugin_role()
                        .call_describe(&mut store)
                        .await
                        .map_err(failed)?;
                    Ok((info.description, String::new(), info.name, info.kind))
                }
                crate::runtime::Pre::Intake(p) => {
                    let inst = p
                        .instance_pre()
                        .instantiate_async(&mut store)
                        .await
                        .map_err(failed)?;
                    let bound = IntakePluginIndices::new(p.instance_pre())
                        .and_then(|ix| ix.load(&mut store, &inst))
                        .map_err(incompatible)?;
                    let info = bound
                        .factory_plugin_intake()
                        .call_describe(&mut store)
                        .await
                        .map_err(failed)?;
                    Ok((info.description, String::new(), info.name, info.format))
                }
            }
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), fut).await {
            Ok(r) => r,
            Err(_) => Err(InstallError::Describe(
                shown.into(),
                "did not return within 10 s".into(),
            )),
        }
    }
}
