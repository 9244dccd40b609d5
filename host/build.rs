//! Builds the built-in plugins in `../plugins` for wasm32-wasip2 with a
//! nested cargo on its own target directory (the outer build holds the lock
//! of the main one), and generates the table `src/builtins.rs` includes.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for dir in ["plugins", "sdk/rust", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let mut plugins: Vec<(String, PathBuf)> = std::fs::read_dir(root.join("plugins"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join("Cargo.toml").is_file() && p.join("builtin.toml").is_file())
                .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
                .collect()
        })
        .unwrap_or_default();
    plugins.sort();

    // The test plugins (tests/plugins/*) are built in the same cargo run, so
    // the integration tests find them; they are not embedded.
    let world_of = |dir: &Path| -> String {
        let meta = std::fs::read_to_string(dir.join("builtin.toml")).unwrap();
        optional_field(&meta, "world").unwrap_or_else(|| "tool".into())
    };
    let mut packages: Vec<String> = plugins
        .iter()
        .map(|(n, d)| package_name(&world_of(d), n))
        .collect();
    println!(
        "cargo:rerun-if-changed={}",
        root.join("tests/plugins").display()
    );
    if let Ok(rd) = std::fs::read_dir(root.join("tests/plugins")) {
        for e in rd.flatten() {
            if e.path().join("Cargo.toml").is_file() {
                packages.push(format!("factory-test-{}", e.file_name().to_string_lossy()));
            }
        }
    }
    // The SDK's examples are built too: the tests install and call them.
    if let Ok(rd) = std::fs::read_dir(root.join("sdk/rust/examples")) {
        for e in rd.flatten() {
            if e.path().join("Cargo.toml").is_file() {
                packages.push(format!(
                    "factory-example-{}",
                    e.file_name().to_string_lossy()
                ));
            }
        }
    }
    let wasm_dir = build_guests(&root, packages);
    println!("cargo:rustc-env=FACTORY_GUEST_DIR={}", wasm_dir.display());
    let mut table = String::from("static BUILTINS: &[Builtin] = &[\n");
    for (name, dir) in &plugins {
        let meta = std::fs::read_to_string(dir.join("builtin.toml")).unwrap();
        let field = |key: &str| -> String {
            optional_field(&meta, key)
                .unwrap_or_else(|| panic!("{}/builtin.toml lacks `{key} = ...`", dir.display()))
        };
        let world = world_of(dir);
        let wasm = wasm_dir.join(format!(
            "{}.wasm",
            package_name(&world, name).replace('-', "_")
        ));
        let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
        let digest = hex::encode(Sha256::digest(&bytes));
        let schema = std::fs::read_to_string(dir.join("schema.json")).unwrap_or_default();
        let world = match world.as_str() {
            "tool" => "Tool",
            "role" => "Role",
            "intake" => "Intake",
            w => panic!("{}/builtin.toml: unknown world {w}", dir.display()),
        };
        table.push_str(&format!(
            "    Builtin {{ name: {name:?}, digest: {digest:?}, bytes: include_bytes!({wasm:?}), description: {desc:?}, input_schema: {schema:?}, trust: TrustLevel::{trust}, world: World::{world}, kind: {kind:?} }},\n",
            desc = std::fs::read_to_string(dir.join("description.txt"))
                .unwrap_or_else(|e| panic!("{}/description.txt: {e}", dir.display()))
                .trim(),
            trust = field("trust"),
            schema = schema.trim(),
            kind = optional_field(&meta, "kind").unwrap_or_default(),
        ));
    }
    table.push_str("];\n");
    std::fs::write(out.join("builtins.rs"), table).unwrap();
    embed_guest_files(&root, &out);
}

/// Build `packages` for wasm32-wasip2 (release); returns the artifact dir.
pub fn build_guests(root: &Path, packages: Vec<String>) -> PathBuf {
    let target_dir = root.join("target").join("guests");
    let wasm_dir = target_dir.join("wasm32-wasip2").join("release");
    if packages.is_empty() {
        return wasm_dir;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    for p in &packages {
        cmd.args(["-p", p]);
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO_") && k != "CARGO_HOME" || k == "RUSTFLAGS" || k == "RUSTC_WRAPPER"
        {
            cmd.env_remove(k);
        }
    }
    let status = cmd.status().expect("run cargo for the wasm guests");
    assert!(
        status.success(),
        "building the wasm guests failed; is the target installed? `rustup target add wasm32-wasip2`"
    );
    wasm_dir
}

/// `key = value` from a builtin.toml (a flat file of such lines).
fn optional_field(meta: &str, key: &str) -> Option<String> {
    meta.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .map(|v| v.trim().trim_matches('"').to_string())
}

/// The cargo package of a built-in: `factory-{tool,role,intake}-NAME`,
/// except that intake adapters' directory names already say `intake-`.
fn package_name(world: &str, name: &str) -> String {
    match world {
        "intake" => format!("factory-{name}"),
        w => format!("factory-{w}-{name}"),
    }
}

/// `sdk_files.rs`: the files `factory new` and `factory sdk` write out: the
/// WIT package, each language's SDK and templates, and the Go runtime
/// package that ships inside the `wit-bindgen-go` crate.
fn embed_guest_files(root: &Path, out: &Path) {
    let mut code = String::new();
    let trees: [(&str, PathBuf); 7] = [
        ("WIT", root.join("wit/plugin")),
        ("SDK_PYTHON", root.join("sdk/python/factory_sdk")),
        ("SDK_JS", root.join("sdk/js/lib")),
        ("SDK_GO", root.join("sdk/go/factory")),
        ("SDK_C", root.join("sdk/c/lib")),
        ("TEMPLATES", root.join("host/src/scaffold/templates")),
        ("GO_RUNTIME", go_runtime_dir()),
    ];
    for (name, dir) in trees {
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        collect(&dir, &dir, &mut files);
        if name == "GO_RUNTIME" {
            // The Go packages and their go.mod; not the repository's docs.
            files.retain(|(rel, _)| rel == "go.mod" || rel == "LICENSE" || rel.starts_with("wit/"));
        }
        files.sort();
        code.push_str(&format!("pub static {name}: &[(&str, &[u8])] = &[\n"));
        for (rel, abs) in files {
            code.push_str(&format!(
                "    ({rel:?}, include_bytes!({:?})),\n",
                abs.display().to_string()
            ));
        }
        code.push_str("];\n");
    }
    std::fs::write(out.join("sdk_files.rs"), code).unwrap();
}

fn collect(base: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__pycache__" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            collect(base, &path, files);
        } else {
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.push((rel, path));
        }
    }
}

/// The version of `wit-bindgen-go` this host pins (`=` in Cargo.toml).
const WIT_BINDGEN_GO: &str = "0.61.1";

/// `src/pkg` of the `wit-bindgen-go` crate this host depends on.
///
/// Cargo unpacks every package a build needs before it runs any build
/// script, so the crate's sources are on disk: in a registry's `src`
/// directory under `CARGO_HOME` (the usual case), or wherever a source
/// replacement (`cargo vendor`) put them. This looks there directly and
/// never asks cargo to resolve the whole graph: `cargo metadata` wants the
/// crates of every platform and dev-dependency, which a build has not
/// downloaded (it failed on every fresh machine when run `--offline`).
fn go_runtime_dir() -> PathBuf {
    println!("cargo:rerun-if-env-changed=FACTORY_GO_RUNTIME_DIR");
    if let Some(dir) = std::env::var_os("FACTORY_GO_RUNTIME_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("go.mod").is_file(),
            "FACTORY_GO_RUNTIME_DIR={} holds no go.mod",
            dir.display()
        );
        return dir;
    }
    let crate_dir = format!("wit-bindgen-go-{WIT_BINDGEN_GO}");
    let mut tried = Vec::new();
    for root in source_roots() {
        // A registry: CARGO_HOME/registry/src/<index>/<crate>-<version>.
        let registry = root.join("registry").join("src");
        if let Ok(rd) = std::fs::read_dir(&registry) {
            for index in rd.flatten() {
                tried.push(index.path().join(&crate_dir));
            }
        }
        // A vendored directory: <dir>/<crate> or <dir>/<crate>-<version>.
        tried.push(root.join("wit-bindgen-go"));
        tried.push(root.join(&crate_dir));
    }
    for dir in &tried {
        let pkg = dir.join("src").join("pkg");
        if pkg.join("go.mod").is_file() && is_version(dir, WIT_BINDGEN_GO) {
            return pkg;
        }
    }
    panic!(
        "the sources of wit-bindgen-go {WIT_BINDGEN_GO} (its Go runtime package src/pkg) \
         were not found; looked in:\n  {}\nset FACTORY_GO_RUNTIME_DIR to its src/pkg directory",
        tried
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// Where cargo keeps package sources: CARGO_HOME (or ~/.cargo), and the
/// directories of `[source.*] directory = "..."` replacements in the
/// workspace's `.cargo/config.toml`.
fn source_roots() -> Vec<PathBuf> {
    println!("cargo:rerun-if-env-changed=CARGO_HOME");
    let mut roots = Vec::new();
    match std::env::var_os("CARGO_HOME") {
        Some(h) => roots.push(PathBuf::from(h)),
        None => {
            if let Some(home) = std::env::var_os("HOME") {
                roots.push(PathBuf::from(home).join(".cargo"));
            }
        }
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    for dir in manifest.ancestors() {
        for name in ["config.toml", "config"] {
            let cfg = dir.join(".cargo").join(name);
            let Ok(text) = std::fs::read_to_string(&cfg) else {
                continue;
            };
            for line in text.lines() {
                let line = line.trim();
                if let Some(v) = line.strip_prefix("directory") {
                    let v = v
                        .trim_start()
                        .trim_start_matches('=')
                        .trim()
                        .trim_matches('"');
                    let p = Path::new(v);
                    roots.push(if p.is_absolute() {
                        p.to_path_buf()
                    } else {
                        dir.join(p)
                    });
                }
            }
        }
    }
    roots
}

/// Whether the crate in `dir` is `version` (its Cargo.toml says so).
fn is_version(dir: &Path, version: &str) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .map(|t| {
            t.lines()
                .any(|l| l.trim() == format!("version = \"{version}\""))
        })
        .unwrap_or(false)
}
