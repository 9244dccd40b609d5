//! Loading a plugin for a call: integrity check of the stored component,
//! the precompiled `.cwasm` cache, `InstancePre` per component, and the
//! compiled policy, cached until the registry changes.

use super::{HostInner, InvokeError};
use crate::journal::EventRecord;
use crate::registry::REVALIDATE;
use crate::registry::{FileStamp, PluginRecord, sha256_hex};
use factory_sandbox::{Components, Loaded, PluginMeta, Pre, Sandbox};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Plugins loaded for calls, by name, and the registry version they match.
pub(crate) type LoadedCache = ((i64, u64), HashMap<String, Arc<Cached>>);

/// A compiled component and the `.cwasm` it was loaded from.
#[derive(Clone)]
pub struct Compiled {
    pub pre: Pre,
    cwasm: PathBuf,
    stamp: FileStamp,
}

/// A loaded plugin and what its stored files looked like when loaded.
pub(crate) struct Cached {
    /// When the stored files' stamps were last found unchanged.
    verified: Mutex<Instant>,
    record: PluginRecord,
    compiled: Compiled,
    loaded: Arc<Loaded>,
}

/// What the sandbox needs of a registry entry.
pub(crate) fn meta(record: &PluginRecord) -> PluginMeta {
    PluginMeta {
        name: record.name.clone(),
        digest: record.digest.clone(),
        world: record.world,
        trust: record.trust,
        limits: record.limits,
        description: record.description.clone(),
        input_schema: record.input_schema.clone(),
    }
}

impl Components for HostInner {
    fn resolve(&self, sandbox: &Sandbox, name: &str) -> Result<Arc<Loaded>, InvokeError> {
        self.load(sandbox, name)
    }
    fn describe(&self, name: &str) -> Option<PluginMeta> {
        self.registry.get(name).ok().flatten().map(|r| meta(&r))
    }
}

impl HostInner {
    pub(crate) fn load(&self, sandbox: &Sandbox, name: &str) -> Result<Arc<Loaded>, InvokeError> {
        let version = self
            .registry
            .version()
            .map_err(crate::registry::RegistryError::from)?;
        let cached = {
            let mut guard = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
            if guard.0 != version {
                *guard = (version, Default::default());
            }
            guard.1.get(name).cloned()
        };
        if let Some(l) = cached {
            // The stamps of the `.wasm` and the `.cwasm` are checked before
            // each call, except that a busy host reuses a check made less
            // than REVALIDATE ago (two `stat`s are a tenth of a call).
            let mut verified = l.verified.lock().unwrap_or_else(|p| p.into_inner());
            if verified.elapsed() < REVALIDATE {
                return Ok(l.loaded.clone());
            }
            self.verify_wasm(&l.record)?;
            if FileStamp::of(&l.compiled.cwasm).ok().as_ref() == Some(&l.compiled.stamp) {
                *verified = Instant::now();
                drop(verified);
                return Ok(l.loaded.clone());
            }
            drop(verified);
            self.components
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&l.record.digest);
        }
        let record = self
            .registry
            .get(name)?
            .ok_or_else(|| InvokeError::UnknownPlugin(name.to_string()))?;
        self.verify_wasm(&record)?;
        let compiled = self.compiled(sandbox, &record)?;
        let policy = self.registry.policy(&record)?;
        let loaded = Arc::new(Loaded::new(meta(&record), policy, compiled.pre.clone()));
        let cached = Arc::new(Cached {
            verified: Mutex::new(Instant::now()),
            record,
            compiled,
            loaded: loaded.clone(),
        });
        let mut guard = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if guard.0 == version {
            guard.1.insert(name.to_string(), cached);
        }
        Ok(loaded)
    }

    /// The stored `.wasm` must still be the installed one.
    fn verify_wasm(&self, record: &PluginRecord) -> Result<(), InvokeError> {
        if record.builtin {
            return Ok(()); // embedded in this binary
        }
        let path = self.home.component_path(&record.digest);
        let stamp = FileStamp::of(&path).map_err(|e| {
            InvokeError::Load(
                record.name.clone(),
                format!("{}: {e}; reinstall the plugin", path.display()),
            )
        })?;
        if stamp.0 == record.file_stamp {
            return Ok(());
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| InvokeError::Load(record.name.clone(), e.to_string()))?;
        let found = sha256_hex(&bytes);
        if found != record.digest {
            let err = InvokeError::Tampered {
                name: record.name.clone(),
                path: path.display().to_string(),
                expected: record.digest.clone(),
                found,
            };
            self.journal.event(EventRecord {
                target: path.display().to_string(),
                ..EventRecord::new(&record.name, "tamper", err.to_string())
            });
            return Err(err);
        }
        self.registry.set_stamp(&record.name, &stamp.0)?;
        Ok(())
    }

    /// The compiled component of a record, from memory, from the `.cwasm`
    /// cache (if its stamp is the one recorded), or compiled now.
    pub(crate) fn compiled(
        &self,
        sandbox: &Sandbox,
        record: &PluginRecord,
    ) -> Result<Compiled, InvokeError> {
        if let Some(c) = self
            .components
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&record.digest)
        {
            return Ok(c.clone());
        }
        let load_err = |e: String| InvokeError::Load(record.name.clone(), e);
        let cwasm = self.home.cwasm_path(&record.digest, sandbox.engine_key());
        let key = cwasm.display().to_string();
        let recorded = self.registry.cache_stamp(&key)?;
        let current = FileStamp::of(&cwasm).ok();
        let fresh = matches!((&recorded, &current), (Some(r), Some(c)) if *r == c.0);
        if !fresh {
            if recorded.is_some() {
                self.journal.event(EventRecord {
                    target: key.clone(),
                    ..EventRecord::new(
                        &record.name,
                        "cache",
                        "precompiled cache file changed or vanished since it was written; discarded and rebuilt from the verified component",
                    )
                });
            }
            let bytes = if record.builtin {
                crate::builtins::bytes(self.builtins, &record.name)
                    .ok_or_else(|| load_err("built-in component missing from this binary".into()))?
                    .to_vec()
            } else {
                std::fs::read(self.home.component_path(&record.digest))
                    .map_err(|e| load_err(e.to_string()))?
            };
            precompile_to(sandbox, &bytes, &cwasm).map_err(|e| load_err(format!("{e:#}")))?;
        }
        let stamp = FileStamp::of(&cwasm).map_err(|e| load_err(e.to_string()))?;
        if !fresh {
            self.registry.set_cache_stamp(&key, &stamp.0)?;
        }
        let component = sandbox
            .load_precompiled(&cwasm)
            .map_err(|e| load_err(format!("{e:#}")))?;
        let pre = sandbox
            .prepare(&component, record.world)
            .map_err(|e| load_err(format!("{e:#}")))?;
        let compiled = Compiled { pre, cwasm, stamp };
        self.components
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.digest.clone(), compiled.clone());
        Ok(compiled)
    }
}

/// Compile `bytes` and write the `.cwasm` atomically.
pub(crate) fn precompile_to(sandbox: &Sandbox, bytes: &[u8], cwasm: &Path) -> wasmtime::Result<()> {
    let compiled = sandbox.precompile(bytes)?;
    crate::home::write_atomic(cwasm, &compiled)?;
    Ok(())
}
