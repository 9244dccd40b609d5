//! Shared set-up for the integration tests: a fresh FACTORY_HOME, the guest
//! plugins built by the host's build script, journal queries.
#![allow(dead_code)]

use factory_host::registry::InstallRequest;
use factory_host::{CallOptions, Home, Host, Invocation, TrustLevel};
use std::path::PathBuf;
use std::time::Duration;

pub fn guest(name: &str) -> PathBuf {
    PathBuf::from(env!("FACTORY_GUEST_DIR")).join(format!("{}.wasm", name.replace('-', "_")))
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub host: Host,
}

impl Env {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(
            Home::at(dir.path().join("home")).unwrap(),
            factory_host::builtins::host_options(Default::default()),
        )
        .unwrap();
        Env { dir, host }
    }

    pub async fn install(&self, file: &str, name: &str, trust: TrustLevel) {
        self.host
            .install(InstallRequest {
                file: guest(file),
                name: Some(name.into()),
                trust,
                force: false,
                source: None,
                requested: String::new(),
                signer: String::new(),
            })
            .await
            .unwrap();
    }

    pub async fn call(&self, name: &str, input: serde_json::Value) -> Invocation {
        self.host
            .invoke(
                name,
                &input.to_string(),
                CallOptions {
                    timeout: Some(Duration::from_secs(10)),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    }

    /// Denial messages journaled for `plugin`.
    pub fn denials(&self, plugin: &str) -> Vec<String> {
        self.events(plugin, "denial")
    }

    pub fn events(&self, plugin: &str, kind: &str) -> Vec<String> {
        self.host.journal().flush();
        let conn = factory_host::db::open(&self.host.home().db_path()).unwrap();
        let mut stmt = conn
            .prepare("SELECT message FROM events WHERE plugin=?1 AND kind=?2 ORDER BY id")
            .unwrap();
        stmt.query_map([plugin, kind], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    /// The journaled outcome of the latest invocation of `plugin`.
    pub fn last_outcome(&self, plugin: &str) -> String {
        self.host.journal().flush();
        let conn = factory_host::db::open(&self.host.home().db_path()).unwrap();
        conn.query_row(
            "SELECT outcome FROM invocations WHERE plugin=?1 ORDER BY id DESC LIMIT 1",
            [plugin],
            |r| r.get(0),
        )
        .unwrap()
    }
}

/// The demo's example repository and its issue, under `dir`.
pub fn example_repo(dir: &std::path::Path) -> (PathBuf, String) {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let repo = dir.join("calc");
    std::fs::create_dir_all(&repo).unwrap();
    for f in [
        "calc.py",
        "test_calc.py",
        "README.md",
        "factory.toml",
        ".gitignore",
    ] {
        std::fs::copy(examples.join("calc").join(f), repo.join(f)).unwrap();
    }
    std::fs::copy(
        examples.join("calc-session.json"),
        dir.join("calc-session.json"),
    )
    .unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "calc"]);
    let issue = std::fs::read_to_string(examples.join("calc-issue.json")).unwrap();
    (repo, issue)
}

/// git in `repo` (as a test user); its output. Fails the test on an error.
pub fn git(repo: &std::path::Path, args: &[&str]) -> String {
    let o = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

pub fn main_head(repo: &std::path::Path) -> String {
    let o = std::process::Command::new("git")
        .args(["rev-parse", "main"])
        .current_dir(repo)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The example project as a bare git remote `dir/NAME.git` for work on
/// clones (the scale-out): its replayed model session inside it, read
/// leniently (each task's brief may differ from the recording). The
/// working repository it came from, and the bare one.
pub fn example_remote(dir: &std::path::Path, name: &str) -> (PathBuf, PathBuf) {
    let src = dir.join(format!("{name}-src"));
    std::fs::create_dir_all(&src).unwrap();
    let (work, _) = example_repo(&src);
    std::fs::copy(
        src.join("calc-session.json"),
        work.join("calc-session.json"),
    )
    .unwrap();
    let toml = std::fs::read_to_string(work.join("factory.toml"))
        .unwrap()
        .replace(
            "replay = \"../calc-session.json\"",
            "replay = \"calc-session.json\"\nlenient = true",
        );
    std::fs::write(work.join("factory.toml"), toml).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "replay inside"]);
    let bare = dir.join(format!("{name}.git"));
    git(
        dir,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    (work, bare)
}
