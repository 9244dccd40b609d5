//! The factory's embedding of the sandbox: the home, the database, the
//! journal and the registry plugged into [`factory_sandbox::Sandbox`]
//! through its hooks. `loader` turns a registry entry into a loaded
//! component; `components` runs roles and intake adapters.

mod components;
pub(crate) mod loader;

pub use factory_sandbox::plugin::effective_flags;
pub use factory_sandbox::{
    CallOptions, Entry, Invocation, InvokeError, LimitKind, Outcome, Sandbox, ToolFailure,
};

use crate::home::Home;
use crate::journal::Journal;
use crate::registry::{Registry, RegistryError};
use factory_sandbox::caps::model::ModelRouter;
use factory_sandbox::engine::EngineOptions;
use factory_sandbox::{Hooks, SandboxError, SandboxOptions};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasmtime::Engine;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
    #[error("cannot open the factory database")]
    Db(#[from] rusqlite::Error),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("cannot register the built-in plugins")]
    Builtins(#[source] RegistryError),
}

/// Options of [`Host::open`].
#[derive(Clone, Copy, Default)]
pub struct HostOptions {
    pub engine: EngineOptions,
    /// The plugins built into the embedding binary.
    pub builtins: &'static [crate::builtins::Builtin],
}

/// The factory host. Cheap to clone; all clones share one sandbox.
#[derive(Clone)]
pub struct Host {
    pub(crate) sandbox: Sandbox,
    pub(crate) inner: Arc<HostInner>,
}

/// The stores behind the sandbox's hooks.
pub struct HostInner {
    pub(crate) home: Home,
    pub registry: Registry,
    pub(crate) journal: Journal,
    /// Loaded plugins by name, valid for one [`Registry::version`].
    pub(crate) loaded: Mutex<loader::LoadedCache>,
    /// Compiled components by digest.
    pub(crate) components: Mutex<HashMap<String, loader::Compiled>>,
    pub(crate) builtins: &'static [crate::builtins::Builtin],
}

impl Host {
    /// Open the host on `home`: database, journal, registry (with the
    /// built-in plugins' entries), and a sandbox whose hooks they serve.
    pub fn open(home: Home, opts: HostOptions) -> Result<Host, HostError> {
        let journal = Journal::open(&home.db_path())?;
        let registry = Registry::open(&home.db_path(), journal.clone())?;
        let kv = crate::kv::SqliteKv::new(&home.db_path());
        let empty_root = home.empty_root();
        let inner = Arc::new(HostInner {
            home,
            registry,
            journal: journal.clone(),
            loaded: Mutex::new(((-1, 0), HashMap::new())),
            components: Mutex::new(HashMap::new()),
            builtins: opts.builtins,
        });
        let sandbox = Sandbox::new(
            SandboxOptions {
                engine: opts.engine,
                empty_root,
            },
            Hooks {
                events: Arc::new(journal),
                components: inner.clone(),
                kv: Arc::new(kv),
                models: Arc::new(ModelRouter::default()),
            },
        )?;
        crate::builtins::register(&inner.registry, opts.builtins).map_err(HostError::Builtins)?;
        Ok(Host { sandbox, inner })
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
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
    pub fn models(&self) -> &ModelRouter {
        self.sandbox.models()
    }
    pub fn engine(&self) -> &Engine {
        self.sandbox.engine()
    }
    /// Whether the pooling allocator is in use.
    pub fn pooling(&self) -> bool {
        self.sandbox.pooling()
    }

    /// Run one invocation of tool `name` in a fresh instance.
    pub async fn invoke(
        &self,
        name: &str,
        input: &str,
        opts: CallOptions,
    ) -> Result<Invocation, InvokeError> {
        self.sandbox.call_tool(name, input, opts).await
    }

    /// The tool's self-description (from the registry, recorded at install).
    pub fn describe(&self, name: &str) -> Result<crate::registry::PluginRecord, InvokeError> {
        self.inner
            .registry
            .get(name)?
            .ok_or_else(|| InvokeError::UnknownPlugin(name.to_string()))
    }
}

impl From<RegistryError> for InvokeError {
    fn from(e: RegistryError) -> Self {
        InvokeError::Store(Box::new(e))
    }
}
