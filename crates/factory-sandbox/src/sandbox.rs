//! The sandbox: one engine (pooling allocator, epoch deadlines), one
//! linker with every capability wired, and the embedder's hooks. Cheap to
//! clone; clones share everything.

use crate::caps;
use crate::engine::{self, EngineOptions, EpochTicker};
use crate::hooks::{Components, Events, KvBackend, MemoryKv, NoComponents, NoEvents};
use crate::state::InstanceState;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::Engine;
use wasmtime::component::Linker;

/// What the embedder plugs in (see [`crate::hooks`]).
#[derive(Clone)]
pub struct Hooks {
    pub events: Arc<dyn Events>,
    pub components: Arc<dyn Components>,
    pub kv: Arc<dyn KvBackend>,
    pub models: Arc<caps::model::ModelRouter>,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            events: Arc::new(NoEvents),
            components: Arc::new(NoComponents),
            kv: Arc::new(MemoryKv::default()),
            models: Arc::default(),
        }
    }
}

/// Options of [`Sandbox::new`].
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    pub engine: EngineOptions,
    /// An empty directory: what plugins see at `/` outside their grants.
    /// Created if missing.
    pub empty_root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot set up the wasm engine: {0:#}")]
    Engine(wasmtime::Error),
    #[error("cannot prepare the empty directory plugins see at `/`: {}", path.display())]
    EmptyRoot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Clone)]
pub struct Sandbox {
    pub(crate) inner: Arc<SandboxInner>,
}

pub(crate) struct SandboxInner {
    pub(crate) engine: Engine,
    engine_key: String,
    pub(crate) linker: Linker<InstanceState>,
    pooling: bool,
    pub(crate) empty_root: Arc<std::fs::File>,
    pub(crate) hooks: Hooks,
    _ticker: EpochTicker,
}

fn build_linker(engine: &Engine) -> wasmtime::Result<Linker<InstanceState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    caps::fs::add_to_linker(&mut linker)?;
    caps::net::sockets::add_to_linker(&mut linker)?;
    caps::log::add_to_linker(&mut linker)?;
    caps::kv::add_to_linker(&mut linker)?;
    caps::tools::add_to_linker(&mut linker)?;
    caps::exec::add_to_linker(&mut linker)?;
    caps::model::add_to_linker(&mut linker)?;
    Ok(linker)
}

impl Sandbox {
    pub fn new(opts: SandboxOptions, hooks: Hooks) -> Result<Sandbox, SandboxError> {
        let (engine, pooling) = engine::build(opts.engine).map_err(SandboxError::Engine)?;
        let linker = build_linker(&engine).map_err(SandboxError::Engine)?;
        let empty_root = caps::fs::open_empty_root(&opts.empty_root).map_err(|source| {
            SandboxError::EmptyRoot {
                path: opts.empty_root.clone(),
                source,
            }
        })?;
        Ok(Sandbox {
            inner: Arc::new(SandboxInner {
                engine_key: engine::key(&engine),
                _ticker: EpochTicker::start(&engine),
                engine,
                linker,
                pooling,
                empty_root: Arc::new(empty_root),
                hooks,
            }),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }
    /// Names this engine's machine code: precompiled files made by another
    /// key cannot be loaded.
    pub fn engine_key(&self) -> &str {
        &self.inner.engine_key
    }
    /// Whether the pooling allocator is in use.
    pub fn pooling(&self) -> bool {
        self.inner.pooling
    }
    pub fn hooks(&self) -> &Hooks {
        &self.inner.hooks
    }
    pub fn models(&self) -> &caps::model::ModelRouter {
        &self.inner.hooks.models
    }
}
