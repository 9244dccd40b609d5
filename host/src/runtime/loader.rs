//! Loading a plugin for a call: integrity check of the stored component,
//! the precompiled `.cwasm` cache, `InstancePre` per component, and the
//! compiled policy, cached until the registry changes.

use super::{HostInner, InvokeError};
use crate::bindings::{intake::IntakePluginPre, role::RolePluginPre, tool::ToolPluginPre};
use crate::journal::EventRecord;
use crate::policy::Policy;
use crate::registry::REVALIDATE;
use crate::registry::{FileStamp, PluginRecord, World, sha256_hex};
use crate::runtime::state::InstanceState;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::component::Component;

#[derive(Clone)]
pub enum Pre {
    Tool(ToolPluginPre<InstanceState>),
    Role(RolePluginPre<InstanceState>),
    Intake(IntakePluginPre<InstanceState>),
}

#[derive(Clone)]
pub struct Compiled {
    pub pre: Pre,
    cwasm: PathBuf,
    stamp: FileStamp,
}

pub struct Loaded {
    /// When the stored files' stamps were last found unchanged.
    verified: Mutex<Instant>,
    pub record: PluginRecord,
    pub policy: Arc<Policy>,
    /// The effective grants, as recorded in the journal.
    pub grants_json: String,
    pub compiled: Compiled,
}

impl HostInner {
    pub(crate) fn load(&self, name: &str) -> Result<Arc<Loaded>, InvokeError> {
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
                return Ok(l.clone());
            }
            self.verify_wasm(&l.record)?;
            if FileStamp::of(&l.compiled.cwasm).ok().as_ref() == Some(&l.compiled.stamp) {
                *verified = Instant::now();
                drop(verified);
                return Ok(l);
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
        let compiled = self.compiled(&record)?;
        let policy = self.registry.policy(&record)?;
        let flags: Vec<String> = effective_flags(&policy);
        let loaded = Arc::new(Loaded {
            verified: Mutex::new(Instant::now()),
            grants_json: serde_json::to_string(&flags).unwrap_or_default(),
            policy: Arc::new(policy),
            record,
            compiled,
        });
        let mut guard = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if guard.0 == version {
            guard.1.insert(name.to_string(), loaded.clone());
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
    pub(crate) fn compiled(&self, record: &PluginRecord) -> Result<Compiled, InvokeError> {
        if let Some(c) = self
            .components
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&record.digest)
        {
            return Ok(c.clone());
        }
        let load_err = |e: String| InvokeError::Load(record.name.clone(), e);
        let cwasm = self.home.cwasm_path(&record.digest, &self.engine_key);
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
                crate::builtins::bytes(&record.name)
                    .ok_or_else(|| load_err("built-in component missing from this binary".into()))?
                    .to_vec()
            } else {
                std::fs::read(self.home.component_path(&record.digest))
                    .map_err(|e| load_err(e.to_string()))?
            };
            self.precompile_to(&bytes, &cwasm)
                .map_err(|e| load_err(format!("{e:#}")))?;
        }
        let stamp = FileStamp::of(&cwasm).map_err(|e| load_err(e.to_string()))?;
        if !fresh {
            self.registry.set_cache_stamp(&key, &stamp.0)?;
        }
        let component =
            deserialize(&self.engine, &cwasm).map_err(|e| load_err(format!("{e:#}")))?;
        let pre = self
            .pre(&component, record.world)
            .map_err(|e| load_err(format!("{e:#}")))?;
        let compiled = Compiled { pre, cwasm, stamp };
        self.components
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.digest.clone(), compiled.clone());
        Ok(compiled)
    }

    /// Compile `bytes` and write the `.cwasm` atomically.
    pub(crate) fn precompile_to(&self, bytes: &[u8], cwasm: &Path) -> wasmtime::Result<()> {
        let compiled = self.engine.precompile_component(bytes)?;
        crate::home::write_atomic(cwasm, &compiled)?;
        Ok(())
    }

    pub(crate) fn pre(&self, component: &Component, world: World) -> wasmtime::Result<Pre> {
        let pre = self.linker.instantiate_pre(component)?;
        Ok(match world {
            World::Tool => Pre::Tool(ToolPluginPre::new(pre)?),
            World::Role => Pre::Role(RolePluginPre::new(pre)?),
            World::Intake => Pre::Intake(IntakePluginPre::new(pre)?),
        })
    }
}

/// Load a `.cwasm` written by this host.
#[allow(unsafe_code)]
pub(crate) fn deserialize(engine: &wasmtime::Engine, cwasm: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file was produced by `Engine::precompile_component` of an
    // engine with the same compatibility key (it is in the file name), and
    // its stamp matches the one recorded when it was written, so it has not
    // been modified since.
    unsafe { Component::deserialize_file(engine, cwasm) }
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
