//! Plugins through a real OCI registry (Debian's `docker-registry`, started
//! here on 127.0.0.1 and stopped by PID): push, sign, install by tag and by
//! digest, every way an install is refused, declared permissions, updates,
//! lock files and interop with `oras`.

mod auth;
#[path = "../common.rs"]
mod common;
mod lock;
mod oras;
mod permissions;
mod referrers;
mod registry;
mod token;
mod update;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

const FACTORY: &str = env!("CARGO_BIN_EXE_factory");

/// `docker-registry serve` on a free loopback port, with its own storage.
struct Registry {
    child: Child,
    addr: String,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        Registry::start_with("")
    }

    /// With `extra` appended to its configuration (e.g. an `auth:` block).
    fn start_with(extra: &str) -> Registry {
        let bin = which("docker-registry").expect(
            "docker-registry is not installed: `apt-get install docker-registry` (.ci/run does)",
        );
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let root = dir.path().join("data");
        let cfg = dir.path().join("cfg.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{extra}",
                root.display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Registry {
            child,
            addr,
            root,
            _dir: dir,
        }
    }

    /// The stored blob with `digest` (to tamper with).
    fn blob(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.root
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Home {
        Home(tempfile::tempdir().unwrap())
    }
    fn path(&self) -> PathBuf {
        self.0.path().join("home")
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(FACTORY)
            .args(args)
            .env("FACTORY_HOME", self.path())
            .env("DOCKER_CONFIG", self.0.path().join("no-docker-config"))
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
    /// Refused: exit 2, and the message.
    fn refused(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(2), "{args:?} was not refused: {err}");
        err
    }
    fn installed(&self) -> Vec<Value> {
        let list: Vec<Value> =
            serde_json::from_str(&self.ok(&["plugin", "list", "--json"])).unwrap();
        list.into_iter().filter(|p| p["builtin"] == false).collect()
    }
    fn events(&self, kind: &str) -> Vec<Value> {
        let log: Vec<Value> = serde_json::from_str(&self.ok(&["log", "--json"])).unwrap();
        log.into_iter().filter(|e| e["kind"] == kind).collect()
    }
}

fn wasm(name: &str) -> String {
    common::guest(name).to_str().unwrap().to_string()
}

/// A publisher's key, trusted by `home` for `scope`.
fn trust_new_key(publisher: &Home, home: &Home, name: &str, scope: &str) {
    let public = publisher.ok(&["key", "generate", name]);
    home.ok(&["signer", "add", name, &public, "--scope", scope]);
}

impl Home {
    /// `plugin inspect NAME --json`.
    fn inspect(&self, name: &str) -> Value {
        serde_json::from_str(&self.ok(&["plugin", "inspect", name, "--json"])).unwrap()
    }
    fn grants(&self, name: &str) -> Vec<String> {
        self.inspect(name)["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_string())
            .collect()
    }
    /// `plugin push` of a test guest, with `extra` flags; the digest.
    fn push(&self, guest: &str, reference: &str, extra: &[&str]) -> String {
        let file = wasm(guest);
        let mut args = vec!["plugin", "push", file.as_str(), reference];
        args.extend_from_slice(extra);
        self.ok(&args)
    }
    /// A file in this home's scratch space.
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }
}

/// An HTTP server a test stands up: `app` (given the address it will
/// have) on a free loopback port, in a runtime of its own. Dropping the
/// runtime stops it.
fn loopback_server(app: impl FnOnce(&str) -> axum::Router) -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = app(&addr);
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, rt)
}
