//! The `factory` binary, end to end: install checks, grants, calls, exit
//! codes, tamper detection, the journal.

mod common;
use std::process::{Command, Output};

struct Cli {
    home: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            home: tempfile::tempdir().unwrap(),
        }
    }
    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }
    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_factory"))
            .args(args)
            .env("FACTORY_HOME", self.home.path())
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn install_refuses_core_modules_garbage_and_truncated_components() {
    let cli = Cli::new();
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let o = cli.run(&["plugin", "install", core.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("core WebAssembly module"),
        "{}",
        text(&o.stderr)
    );

    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"hello world").unwrap();
    let o = cli.run(&["plugin", "install", junk.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("not a WebAssembly file"));

    let good = std::fs::read(common::guest("factory-test-attacker")).unwrap();
    let cut = dir.path().join("cut.wasm");
    std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
    let o = cli.run(&["plugin", "install", cut.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("not a valid component"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn install_call_exit_codes_and_journal() {
    let cli = Cli::new();
    let wasm = common::guest("factory-test-attacker");
    let o = cli.run(&[
        "plugin",
        "install",
        wasm.to_str().unwrap(),
        "--name",
        "attacker",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("untrusted (0)"));

    let o = cli.run(&[
        "tool",
        "call",
        "attacker",
        "--input",
        r#"{"attack":"args"}"#,
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["args"], serde_json::json!(["attacker"]));

    let o = cli.run(&[
        "tool",
        "call",
        "attacker",
        "--input",
        r#"{"attack":"nope"}"#,
    ]);
    assert_eq!(code(&o), 1);
    let o = cli.run(&[
        "tool",
        "call",
        "attacker",
        "--input",
        r#"{"attack":"cpu-loop"}"#,
        "--timeout",
        "0.2",
    ]);
    assert_eq!(code(&o), 3, "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("deadline"));
    let o = cli.run(&["tool", "call", "attacker", "--input", "{not json"]);
    assert_eq!(code(&o), 2);
    let o = cli.run(&["tool", "call", "nobody", "--input", "{}"]);
    assert_eq!(code(&o), 2);

    // A grant above the ceiling names the level that allows it.
    let o = cli.run(&["plugin", "grant", "attacker", "--exec", "sh"]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("auto-merge"),
        "{}",
        text(&o.stderr)
    );

    let o = cli.run(&["log", "--plugin", "attacker", "--json"]);
    assert_eq!(code(&o), 0);
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let outcomes: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["ok", "tool-error", "deadline"]);
    assert!(entries.iter().any(|e| e["kind"] == "install"));
}

#[test]
fn reinstall_needs_force_and_tampering_is_refused() {
    let cli = Cli::new();
    let a = common::guest("factory-test-attacker");
    let b = common::guest("factory-tool-read-file");
    assert_eq!(
        code(&cli.run(&["plugin", "install", a.to_str().unwrap(), "--name", "x"])),
        0
    );
    let o = cli.run(&["plugin", "install", b.to_str().unwrap(), "--name", "x"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("--force"));
    assert_eq!(
        code(&cli.run(&[
            "plugin",
            "install",
            b.to_str().unwrap(),
            "--name",
            "x",
            "--force"
        ])),
        0
    );
    let log = text(&cli.run(&["log", "--plugin", "x"]).stdout);
    assert!(log.contains("reinstall"), "{log}");

    // The replaced component was deleted; only the new one is stored.
    let stored: Vec<_> = std::fs::read_dir(cli.home.path().join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    // Tamper with it.
    let stored = &stored[0];
    let mut bytes = std::fs::read(stored).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(stored, bytes).unwrap();
    let o = cli.run(&["tool", "call", "x", "--input", r#"{"path":"/nowhere"}"#]);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("modified after install"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_tampered_cache_file_is_discarded_and_rebuilt() {
    let cli = Cli::new();
    let a = common::guest("factory-test-attacker");
    assert_eq!(
        code(&cli.run(&["plugin", "install", a.to_str().unwrap(), "--name", "x"])),
        0
    );
    let cwasm = std::fs::read_dir(cli.home.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    std::fs::write(&cwasm, b"garbage that must never be mapped as code").unwrap();
    let o = cli.run(&["tool", "call", "x", "--input", r#"{"attack":"args"}"#]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let log = text(&cli.run(&["log", "--plugin", "x"]).stdout);
    assert!(log.contains("cache"), "{log}");
}

#[test]
fn builtins_are_listed_and_usable_with_grants() {
    let cli = Cli::new();
    let o = cli.run(&["plugin", "list", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = list.iter().filter_map(|p| p["name"].as_str()).collect();
    for b in [
        "read-file",
        "write-file",
        "list-files",
        "search-text",
        "apply-patch",
        "fetch-url",
        "run-command",
    ] {
        assert!(names.contains(&b), "{b} missing from {names:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::write(d.join("a.rs"), "fn main() {}\n// TODO here\n").unwrap();
    let ds = d.to_str().unwrap();
    let input = serde_json::json!({"root": ds, "pattern": "TODO"}).to_string();
    let o = cli.run(&["tool", "call", "search-text", "--input", &input]);
    assert_eq!(
        code(&o),
        1,
        "ungranted search must fail: {}",
        text(&o.stdout)
    );
    assert_eq!(
        code(&cli.run(&["plugin", "grant", "search-text", "--read", ds])),
        0
    );
    let o = cli.run(&["tool", "call", "search-text", "--input", &input]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["matches"][0]["line"], 2);
    let o = cli.run(&["plugin", "inspect", "search-text"]);
    assert!(text(&o.stdout).contains(&format!("--read {ds}")));

    // A write grant held by a tool whose trust drops to read-only narrows
    // to read: the tool still reads there, and `trust` and `inspect` say
    // what was narrowed and why. (Granting write at read-only is refused.)
    let w = d.join("w");
    std::fs::create_dir(&w).unwrap();
    std::fs::write(w.join("b.txt"), "kept\n").unwrap();
    let ws = w.to_str().unwrap();
    let grant = ["plugin", "grant", "read-file", "--write", ws];
    assert_eq!(code(&cli.run(&grant)), 2);
    assert_eq!(
        code(&cli.run(&["plugin", "trust", "read-file", "draft"])),
        0
    );
    assert_eq!(code(&cli.run(&grant)), 0);
    let o = cli.run(&["plugin", "trust", "read-file", "read-only"]);
    assert_eq!(code(&o), 0);
    let narrowed = format!("--write {ws} narrowed to --read {ws}");
    assert!(text(&o.stdout).contains(&narrowed), "{}", text(&o.stdout));
    let o = cli.run(&["plugin", "inspect", "read-file"]);
    let t = text(&o.stdout);
    assert!(
        t.contains(&format!("--write {ws} narrowed to --read {ws}")),
        "{t}"
    );
    let o = cli.run(&["plugin", "inspect", "read-file", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cut"][0]["narrowed_to"], format!("--read {ws}"), "{v}");
    let input = serde_json::json!({"path": format!("{ws}/b.txt")}).to_string();
    let o = cli.run(&["tool", "call", "read-file", "--input", &input]);
    assert_eq!(code(&o), 0, "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("kept"));
}

#[test]
fn install_refuses_a_wrong_world_a_wrong_signature_and_a_bad_schema() {
    let cli = Cli::new();
    let other = common::guest("factory-test-wrong-world");
    let o = cli.run(&["plugin", "install", other.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("exports none of `factory:plugin/tool@0.1.0`")
            && err.contains("test:other/greeter@0.1.0"),
        "{err}"
    );

    let bad = common::guest("factory-test-bad-signature");
    let o = cli.run(&["plugin", "install", bad.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("does not match the factory contract"), "{err}");

    // A tool whose input schema is not valid JSON Schema: refused at
    // install, saying what is wrong, not left for a caller to find.
    let bad = common::guest("factory-test-bad-schema");
    let o = cli.run(&["plugin", "install", bad.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("bad input schema") && err.contains("minimum"),
        "{err}"
    );

    // Nothing was stored for any of them.
    let o = cli.run(&["plugin", "list", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(list.iter().all(|p| p["builtin"] == true), "{list:?}");
}

#[test]
fn the_sdk_example_builds_installs_and_runs() {
    let cli = Cli::new();
    let wasm = common::guest("factory-example-word-count");
    let o = cli.run(&["plugin", "install", wasm.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    // The name comes from the tool's own describe().
    let o = cli.run(&[
        "tool",
        "call",
        "word-count",
        "--input",
        r#"{"text":"one two\nthree"}"#,
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"words": 3, "lines": 2}));
    // Input that does not match the type is the tool's invalid-input error.
    let o = cli.run(&["tool", "call", "word-count", "--input", r#"{"txt":1}"#]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "invalid-input", "{v}");
}

#[test]
fn a_command_is_refused_when_the_sandbox_cannot_start() {
    let cli = Cli::new();
    let o = cli.run(&["plugin", "grant", "run-command", "--exec", "/bin/echo"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let input = r#"{"program":"/bin/echo","args":["ran"]}"#;
    // With bubblewrap: it runs.
    let o = cli.run(&["tool", "call", "run-command", "--input", input]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("ran"), "{}", text(&o.stdout));
    // Without bubblewrap on the PATH: refused, never run unsandboxed.
    let o = cli.run_with(
        &["tool", "call", "run-command", "--input", input],
        &[("PATH", "/nonexistent")],
    );
    assert_eq!(code(&o), 1, "{}", text(&o.stdout));
    let out = text(&o.stdout);
    assert!(out.contains("never run unsandboxed"), "{out}");
    assert!(!out.contains("ran\\n"), "{out}");
}

#[test]
fn the_demo_names_what_the_machine_lacks_and_how_to_install_it() {
    let cli = Cli::new();
    let empty = tempfile::tempdir().unwrap();
    // No git and no bubblewrap on PATH.
    let o = cli.run_with(&["demo"], &[("PATH", empty.path().to_str().unwrap())]);
    assert_eq!(code(&o), 2, "{}", text(&o.stdout));
    let e = text(&o.stderr);
    assert!(
        e.contains("git is not installed (apt-get install git)"),
        "{e}"
    );
    assert!(e.contains("bubblewrap (`bwrap`) is not installed"), "{e}");
    assert!(
        e.contains("apt-get install -y git python3 python3-venv bubblewrap"),
        "{e}"
    );
    // Nothing was started: no demo repository, no run.
    assert!(!cli.home.path().join("demo").exists());
}

/// A database that is not one is the machine's problem, not the user's:
/// every command that needs it exits 70 (internal), naming the database
/// and SQLite's own words, and a user's mistake beside it stays 2.
#[test]
fn a_broken_database_is_an_internal_error() {
    let cli = Cli::new();
    let o = cli.run(&["plugin", "list"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    // Garbage over the database, and no write-ahead log to rebuild it from.
    for f in ["factory.db-wal", "factory.db-shm"] {
        let _ = std::fs::remove_file(cli.home.path().join(f));
    }
    std::fs::write(cli.home.path().join("factory.db"), vec![0x42u8; 8192]).unwrap();
    for args in [
        &["plugin", "list"][..],
        &["runs"],
        &["log"],
        &["tool", "call", "read-file", "--input", "{}"],
    ] {
        let o = cli.run(args);
        let err = text(&o.stderr);
        assert_eq!(code(&o), 70, "{args:?}: {err}");
        assert!(err.contains("not a database"), "{args:?}: {err}");
    }
    // On a sound home, a spec that is not there is the user's to fix.
    let o = Cli::new().run(&["run", "/nonexistent/spec.md", "--repo", "/nonexistent"]);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
}

/// `plugin inspect` shows what a role gets in a run's step, from the same
/// table the orchestrator uses: a reviewer reads, a coder writes.
#[test]
fn inspect_shows_a_roles_step_grants() {
    let cli = Cli::new();
    let inspect = |name: &str| -> serde_json::Value {
        let o = cli.run(&["plugin", "inspect", name, "--json"]);
        assert_eq!(code(&o), 0, "{}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let reviewer = inspect("reviewer");
    assert_eq!(reviewer["run_step"]["writes_worktree"], false);
    assert!(
        !reviewer["run_step"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "write-file")
    );
    let coder = inspect("coder");
    assert_eq!(coder["run_step"]["writes_worktree"], true);
    assert!(
        inspect("read-file")["run_step"].is_null(),
        "a tool has no step"
    );
    let o = cli.run(&["plugin", "inspect", "coder"]);
    assert!(text(&o.stdout).contains("in a run:    as coder: its worktree read-write"));
}

/// Limits are checked where they are stored: above the trust level's
/// ceiling, or zero, they are refused with the ceiling named, and what was
/// set before stays.
#[test]
fn limits_above_the_ceiling_are_refused() {
    let cli = Cli::new();
    let o = cli.run(&["plugin", "limits", "read-file", "--memory", "64"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    for args in [
        &["plugin", "limits", "read-file", "--memory", "1000000"][..],
        &["plugin", "limits", "read-file", "--deadline", "0"],
    ] {
        let o = cli.run(args);
        assert_eq!(code(&o), 2, "{args:?}");
        let err = text(&o.stderr);
        assert!(
            err.contains("above the ceiling of trust") || err.contains("must be positive"),
            "{err}"
        );
    }
    let o = cli.run(&["plugin", "inspect", "read-file", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["limits"]["memory"], 64 << 20, "{:#}", v["limits"]);
}

#[test]
fn keys_are_made_once_and_signers_trusted_listed_and_removed() {
    let cli = Cli::new();
    let o = cli.run(&["key", "generate", "release"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let public = text(&o.stdout).trim().to_string();
    assert!(public.starts_with("ed25519:"), "{public}");
    // Never overwritten.
    let o = cli.run(&["key", "generate", "release"]);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("already exists"));
    let o = cli.run(&["key", "show", "release"]);
    assert_eq!(text(&o.stdout).trim(), public);

    let o = cli.run(&[
        "signer",
        "add",
        "acme",
        &public,
        "--scope",
        "ghcr.io/acme/*",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let o = cli.run(&["signer", "add", "bad", "ed25519:AAAA"]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("not a public key"),
        "{}",
        text(&o.stderr)
    );
    let o = cli.run(&["signer", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list[0]["name"], "acme");
    assert_eq!(list[0]["scope"], "ghcr.io/acme/*");
    assert!(
        list[0]["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let o = cli.run(&["signer", "remove", "acme"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let o = cli.run(&["signer", "remove", "acme"]);
    assert_eq!(code(&o), 2);
    // Both changes are in the journal.
    let o = cli.run(&["log", "--json"]);
    let log: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let signer_events = log.iter().filter(|e| e["kind"] == "signer").count();
    assert_eq!(signer_events, 2, "{log:?}");
}
