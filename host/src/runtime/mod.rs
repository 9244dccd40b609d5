//! The host: one engine, one linker, the registry, the journal; and the
//! invoke path that runs one call in a fresh, sandboxed instance.

pub mod call;
mod components;
mod cpu;
mod entry;
mod invoke;
pub(crate) mod loader;
pub use loader::effective_flags;
pub mod state;

pub use entry::Entry;
pub use invoke::{CallOptions, Invocation, LimitKind, Outcome, ToolFailure};
pub(crate) use loader::Pre;

use crate::caps;
use crate::engine::{self, EngineOptions, EpochTicker};
use crate::home::Home;
use crate::journal::Journal;
use crate::registry::{Registry, RegistryError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasmtime::Engine;
use wasmtime::component::Linker;

use state::InstanceState;

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("no plugin named `{0}` (see `factory plugin list`)")]
    UnknownPlugin(String),
    #[error("`{0}` is a {1}, not a tool")]
    WrongWorld(String, &'static str),
    #[error("`{name}` is a {found}, not a {expected}")]
    NotA {
        name: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error(
        "refused: the stored component of `{name}` was modified after install ({path}: sha256 {found}, installed {expected}); reinstall it with `factory plugin install FILE --name {name} --force`"
    )]
    Tampered {
        name: String,
        path: String,
        expected: String,
        found: String,
    },
    #[error("cannot load `{0}`: {1}")]
    Load(String, String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
    #[error("cannot open the factory database")]
    Db(#[from] rusqlite::Error),
    #[error("cannot set up the wasm engine: {0:#}")]
    Engine(wasmtime::Error),
    #[error("cannot register the built-in plugins")]
    Builtins(#[source] RegistryError),
}

/// Options of [`Host::open`].
#[derive(Clone, Copy, Debug, Default)]
pub struct HostOptions {
    pub engine: EngineOptions,
}

/// Plugins loaded for calls, by name, and the registry version they match.
pub(crate) type LoadedCache = ((i64, u64), HashMap<String, Arc<loader::Loaded>>);

/// The factory host. Cheap to clone; all clones share one engine.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

pub struct HostInner {
    pub(crate) engine: Engine,
    pub(crate) engine_key: String,
    pub(crate) linker: Linker<InstanceState>,
    pub(crate) home: Home,
    pub registry: Registry,
    pub(crate) journal: Journal,
    pub(crate) kv: Arc<caps::kv::KvStore>,
    pub models: Arc<caps::model::ModelRouter>,
    /// Loaded plugins by name, valid for one [`Registry::version`].
    pub(crate) loaded: Mutex<LoadedCache>,
    /// Compiled components by digest.
    pub(crate) components: Mutex<HashMap<String, loader::Compiled>>,
    pub(crate) pooling: bool,
    /// What plugins see at `/` outside their grants (`caps::fs`).
    pub(crate) empty_root: Arc<std::fs::File>,
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

impl Host {
    /// Open the host on `home`: engine, linker (built once), database,
    /// journal, and the built-in plugins' registry entries.
    pub fn open(home: Home, opts: HostOptions) -> Result<Host, HostError> {
        let (engine, pooling) = engine::build(opts.engine).map_err(HostError::Engine)?;
        let linker = build_linker(&engine).map_err(HostError::Engine)?;
        let journal = Journal::open(&home.db_path())?;
        let registry = Registry::open(&home.db_path(), journal.clone())?;
        let kv = Arc::new(caps::kv::KvStore::open(&home.db_path())?);
        let empty_root = caps::fs::open_empty_root(&home.empty_root()).map_err(|source| {
            HostError::Home(crate::home::HomeError::Create {
                path: home.empty_root(),
                source,
            })
        })?;
        let host = Host {
            inner: Arc::new(HostInner {
                engine_key: engine::key(&engine),
                _ticker: EpochTicker::start(&engine),
                engine,
                linker,
                home,
                registry,
                journal,
                kv,
                models: Arc::new(caps::model::ModelRouter::default()),
                loaded: Mutex::new(((-1, 0), HashMap::new())),
                components: Mutex::new(HashMap::new()),
                pooling,
                empty_root: Arc::new(empty_root),
            }),
        };
        crate::builtins::register(&host.inner.registry).map_err(HostError::Builtins)?;
        Ok(host)
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }
    pub fn home(&self) -> &Home {
        &self.inner.home
    }
    pub fn models(&self) -> &caps::model::ModelRouter {
        &self.inner.models
    }
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }
    /// Whether the pooling allocator is in use.
    pub fn pooling(&self) -> bool {
        self.inner.pooling
    }

    /// Run one invocation of tool `name` in a fresh instance.
    pub async fn invoke(
        &self,
        name: &str,
        input: &str,
        opts: CallOptions,
    ) -> Result<Invocation, InvokeError> {
        self.inner.invoke_top(name, input, opts).await
    }

    /// The tool's self-description (from the registry, recorded at install).
    pub fn describe(&self, name: &str) -> Result<crate::registry::PluginRecord, InvokeError> {
        self.inner
            .registry
            .get(name)?
            .ok_or_else(|| InvokeError::UnknownPlugin(name.to_string()))
    }
}
