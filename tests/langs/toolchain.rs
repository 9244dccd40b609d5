//! Finding the guest toolchains and running builds and the CLI.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_factory");

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// PATH with the toolchains `.ci/guest-tools` installs in front.
pub fn path() -> String {
    let tools = repo_root().join("target/guest-tools");
    let mut dirs = vec![tools.join("venv/bin"), tools.join("npm/node_modules/.bin")];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

/// Panics, saying how to install it, unless `program` is found.
pub fn require(program: &str, what: &str) {
    let found = std::env::split_paths(&path()).any(|d| d.join(program).is_file());
    assert!(
        found,
        "`{program}` ({what}) is not installed: run `bash .ci/guest-tools` \
         (it installs every guest toolchain into target/guest-tools; see docs/writing-plugins.md)"
    );
}

/// Copy `rel` (a file or directory of the repository) to `dest/rel`.
pub fn copy_from_repo(rel: &str, dest: &Path) {
    copy_tree(&repo_root().join(rel), &dest.join(rel));
}

/// Copy `trees` of the repository into a fresh directory with the same
/// layout and run `make ARGS` in `project` there. Returns the directory
/// (keep it alive) and the project's path in it.
pub fn build(trees: &[&str], project: &str, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    for t in trees {
        copy_from_repo(t, d.path());
    }
    let src = d.path().join(project);
    make(&src, args);
    (d, src)
}

pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if name == "build" || name == "target" || name == "__pycache__" {
                continue;
            }
            copy_tree(&e.path(), &to.join(name));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// `make ARGS` in `dir` with the toolchains on PATH and this factory.
pub fn make(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new("make")
        .arg("-C")
        .arg(dir)
        .arg(format!("FACTORY={BIN}"))
        .args(args)
        .env("PATH", path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "make in {} failed:\n{}\n{}",
        dir.display(),
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `factory` CLI on a factory home.
pub struct Factory {
    _dir: tempfile::TempDir,
    pub home: PathBuf,
}

impl Factory {
    pub fn new() -> Factory {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        Factory { _dir: dir, home }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("FACTORY_HOME", &self.home)
            .env_remove("FACTORY_LOG")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    /// Run and require exit 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "factory {args:?}:\n{}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    pub fn install(&self, wasm: &Path, name: &str) {
        self.ok(&["plugin", "install", wasm.to_str().unwrap(), "--name", name]);
    }

    /// `factory tool call NAME --input JSON`: exit code and JSON output.
    pub fn call(&self, name: &str, input: &Value) -> (i32, Value) {
        self.call_as("tool", name, input)
    }

    pub fn call_as(&self, kind: &str, name: &str, input: &Value) -> (i32, Value) {
        let o = self.run(&[kind, "call", name, "--input", &input.to_string()]);
        let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| {
            panic!(
                "{name} printed no JSON:\n{}\n{}",
                text(&o.stdout),
                text(&o.stderr)
            )
        });
        (o.status.code().unwrap_or(-1), v)
    }

    /// The journal's denial events for `plugin`.
    pub fn denials(&self, plugin: &str) -> Vec<Value> {
        let out = self.ok(&["log", "--json", "--plugin", plugin, "--limit", "1000"]);
        let all: Vec<Value> = serde_json::from_str(&out).unwrap();
        all.into_iter().filter(|e| e["kind"] == "denial").collect()
    }
}

/// Assert that `plugin`'s last call was refused as `denied` and that the
/// journal holds a denial of `capability` whose target mentions `target`.
pub fn assert_denied(
    f: &Factory,
    plugin: &str,
    result: &(i32, Value),
    capability: &str,
    target: &str,
) {
    assert_eq!(result.0, 1, "{}", result.1);
    assert_eq!(result.1["error"]["kind"], "denied", "{}", result.1);
    let denials = f.denials(plugin);
    assert!(
        denials.iter().any(|d| d["capability"] == capability
            && d["target"].as_str().unwrap_or("").contains(target)
            && d["remedy"].as_str().unwrap_or("").contains(plugin)),
        "no {capability} denial of {target} journaled for {plugin}: {denials:#?}"
    );
}

/// The precompiled components in a factory home: (name, size, mtime).
pub fn cache(home: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(home.join("cache"))
        .unwrap()
        .flatten()
        .map(|e| {
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                m.len(),
                m.modified().unwrap(),
            )
        })
        .filter(|(n, ..)| n.ends_with(".cwasm"))
        .collect();
    v.sort();
    v
}
