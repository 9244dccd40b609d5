//! The sandbox on its own, embedded the way any host would: plugins held
//! in memory with their trust, grants and limits (checked by the policy
//! crate, as the factory's registry does), records kept in memory. The
//! guests are the test plugins, built for wasm32-wasip2 on first use.

use factory_sandbox::grants::{Grant, GrantError};
use factory_sandbox::hooks::MemoryEvents;
use factory_sandbox::policy::{self, LimitOverrides, LimitsError};
use factory_sandbox::trust::TrustLevel;
use factory_sandbox::{
    CallOptions, Components, Hooks, Invocation, InvokeError, Loaded, PluginMeta, Pre, Sandbox,
    SandboxOptions,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The guests the abuse tests install: built once per test process, into
/// the workspace's guest target directory (where the CLI's build puts them
/// too), by the cargo that runs the tests.
pub fn guest(package: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = root.join("target/guests");
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.current_dir(&root)
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .args(["-p", "factory-test-attacker", "-p", "factory-tool-read-file"])
            .arg("--target-dir")
            .arg(&target);
        for (k, _) in std::env::vars() {
            if k.starts_with("CARGO_") && k != "CARGO_HOME" || k == "RUSTFLAGS" {
                cmd.env_remove(k);
            }
        }
        let status = cmd.status().expect("run cargo to build the test guests");
        assert!(
            status.success(),
            "building the test guests failed; is the target installed? `rustup target add wasm32-wasip2`"
        );
        target.join("wasm32-wasip2/release")
    });
    dir.join(format!("{}.wasm", package.replace('-', "_")))
}

struct Installed {
    meta: PluginMeta,
    pre: Pre,
    grants: Vec<Grant>,
}

/// Plugins by name, in memory.
#[derive(Default)]
pub struct Plugins(Mutex<HashMap<String, Installed>>);

impl Plugins {
    fn with<T>(&self, name: &str, f: impl FnOnce(&mut Installed) -> T) -> T {
        let mut map = self.0.lock().unwrap();
        f(map
            .get_mut(name)
            .unwrap_or_else(|| panic!("{name} is not installed")))
    }
}

impl Components for Plugins {
    fn resolve(&self, _: &Sandbox, name: &str) -> Result<Arc<Loaded>, InvokeError> {
        let map = self.0.lock().unwrap();
        let p = map
            .get(name)
            .ok_or_else(|| InvokeError::UnknownPlugin(name.to_string()))?;
        let policy = policy::compile(name, p.meta.trust, &p.grants, &p.meta.limits);
        Ok(Arc::new(Loaded::new(p.meta.clone(), policy, p.pre.clone())))
    }
    fn describe(&self, name: &str) -> Option<PluginMeta> {
        self.0.lock().unwrap().get(name).map(|p| p.meta.clone())
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub sandbox: Sandbox,
    pub plugins: Arc<Plugins>,
    pub records: Arc<MemoryEvents>,
    /// What plugins see at `/`.
    pub empty_root: PathBuf,
}

impl Env {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let plugins = Arc::new(Plugins::default());
        let records = Arc::new(MemoryEvents::default());
        let empty_root = dir.path().join("empty");
        let sandbox = Sandbox::new(
            SandboxOptions {
                engine: Default::default(),
                empty_root: empty_root.clone(),
            },
            Hooks {
                events: records.clone(),
                components: plugins.clone(),
                ..Default::default()
            },
        )
        .unwrap();
        Env {
            dir,
            sandbox,
            plugins,
            records,
            empty_root,
        }
    }

    /// Install the guest of `package` as `name` at `trust`.
    pub async fn install(&self, package: &str, name: &str, trust: TrustLevel) {
        let file = guest(package);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let found = self
            .sandbox
            .inspect(&bytes, &file.display().to_string())
            .await
            .unwrap();
        let pre = self.sandbox.prepare(&found.component, found.world).unwrap();
        let meta = PluginMeta {
            name: name.to_string(),
            digest: package.to_string(),
            world: found.world,
            trust,
            limits: Default::default(),
            description: found.description,
            input_schema: found.input_schema,
        };
        self.plugins.0.lock().unwrap().insert(
            name.to_string(),
            Installed {
                meta,
                pre,
                grants: Vec::new(),
            },
        );
    }

    /// Add grants, each checked against the plugin's trust ceiling first.
    pub fn grant(&self, name: &str, grants: &[Grant]) -> Result<(), GrantError> {
        self.plugins.with(name, |p| {
            for g in grants {
                g.check_ceiling(name, p.meta.trust)?;
            }
            p.grants.extend(grants.iter().cloned());
            Ok(())
        })
    }

    pub fn revoke(&self, name: &str, grants: &[Grant]) {
        self.plugins
            .with(name, |p| p.grants.retain(|g| !grants.contains(g)));
    }

    /// Set limits, checked against the plugin's trust ceiling.
    pub fn set_limits(&self, name: &str, limits: &LimitOverrides) -> Result<(), LimitsError> {
        self.plugins.with(name, |p| {
            limits.check(p.meta.trust)?;
            p.meta.limits = *limits;
            Ok(())
        })
    }

    pub async fn call(&self, name: &str, input: serde_json::Value) -> Invocation {
        self.call_with(name, input, CallOptions::default()).await
    }

    /// A call with options (a 10 s timeout unless they set one).
    pub async fn call_with(
        &self,
        name: &str,
        input: serde_json::Value,
        mut opts: CallOptions,
    ) -> Invocation {
        opts.timeout = opts.timeout.or(Some(Duration::from_secs(10)));
        self.sandbox
            .call_tool(name, &input.to_string(), opts)
            .await
            .unwrap()
    }

    /// Denial messages recorded for `plugin`.
    pub fn denials(&self, plugin: &str) -> Vec<String> {
        self.events(plugin, "denial")
    }

    pub fn events(&self, plugin: &str, kind: &str) -> Vec<String> {
        self.records
            .events()
            .into_iter()
            .filter(|e| e.plugin == plugin && e.kind == kind)
            .map(|e| e.message)
            .collect()
    }

    /// The recorded outcome of the latest invocation of `plugin`.
    pub fn last_outcome(&self, plugin: &str) -> String {
        self.records
            .invocations()
            .into_iter()
            .rev()
            .find(|r| r.plugin == plugin)
            .map(|r| r.outcome)
            .unwrap_or_else(|| panic!("no invocation of {plugin} recorded"))
    }
}
