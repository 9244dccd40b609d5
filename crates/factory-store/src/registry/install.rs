//! `factory plugin install`: validate, digest, precompile, describe, store.

use super::{FileStamp, PluginRecord, RegistryError, sha256_hex};
use crate::journal::EventRecord;
use crate::runtime::Host;
use crate::trust::TrustLevel;
use factory_sandbox::ComponentError;
use serde::Serialize;
use std::path::PathBuf;

pub struct InstallRequest {
    pub file: PathBuf,
    pub name: Option<String>,
    pub trust: TrustLevel,
    pub force: bool,
    /// Where it came from, as recorded (default: the file's absolute path;
    /// `oci://host/repo:tag@sha256:...` for a registry install).
    pub source: Option<String>,
    /// The permissions it asks for, as TOML (see `PluginRecord::requested`).
    pub requested: String,
    /// Who signed it (see `PluginRecord::signer`).
    pub signer: String,
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
    /// Not a component this host can run (see the message).
    #[error(transparent)]
    Component(#[from] ComponentError),
    #[error(
        "a different component is already installed as `{name}` (digest {existing}); pass --force to replace it"
    )]
    Exists { name: String, existing: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot store the component: {0}")]
    Store(String),
}

impl Host {
    pub async fn install(&self, req: InstallRequest) -> Result<Installed, InstallError> {
        let inner = &self.inner;
        // Errors name where it came from (the file the operator gave, or
        // the registry reference), not a copy it was installed from.
        let shown = req
            .source
            .clone()
            .unwrap_or_else(|| req.file.display().to_string());
        let bytes = std::fs::read(&req.file).map_err(|e| InstallError::Read(shown.clone(), e))?;
        let digest = sha256_hex(&bytes);
        // Compiled, checked against the contract, and asked who it is (with
        // no grants at all).
        let inspected = self.sandbox.inspect(&bytes, &shown).await?;
        let world = inspected.world;
        let (component, imports) = (inspected.component, inspected.imports);
        let (description, input_schema, self_name, kind) = (
            inspected.description,
            inspected.input_schema,
            inspected.name,
            inspected.kind,
        );
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
                let source = req.source.clone().unwrap_or_else(|| ex.source.clone());
                if ex.source != source || ex.requested != req.requested || ex.signer != req.signer {
                    inner
                        .registry
                        .set_provenance(&name, &source, &req.requested, &req.signer)?;
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
        let cwasm = inner.home.cwasm_path(&digest, self.sandbox.engine_key());
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
            source: req.source.clone().unwrap_or_else(|| {
                std::fs::canonicalize(&req.file)
                    .unwrap_or(req.file.clone())
                    .display()
                    .to_string()
            }),
            installed_at: crate::db::now_ms(),
            description,
            input_schema,
            imports,
            limits: existing.as_ref().map(|e| e.limits).unwrap_or_default(),
            file_stamp: stamp.0,
            kind,
            requested: req.requested.clone(),
            signer: req.signer.clone(),
        };
        inner.registry.upsert(&record)?;
        let replaced = existing.map(|e| e.digest);
        if let Some(old) = &replaced {
            // The replaced component is deleted unless another name uses it.
            if !inner.registry.digest_in_use(old)? {
                let _ = std::fs::remove_file(inner.home.component_path(old));
                let _ = std::fs::remove_file(inner.home.cwasm_path(old, self.sandbox.engine_key()));
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
}
