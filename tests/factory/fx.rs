//! Fixtures for runs: the example project copied into a fresh git
//! repository, its recorded session (editable), the CLI on a factory home.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const BIN: &str = env!("CARGO_BIN_EXE_factory");

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A factory home shared by the tests of this binary (components are
/// compiled once); each test has its own repositories and runs.
pub fn shared_home() -> PathBuf {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .join("home")
}

pub fn factory(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("FACTORY_HOME", home)
        .env_remove("FACTORY_LOG")
        .output()
        .unwrap()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn git(repo: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", text(&o.stderr));
    text(&o.stdout)
}

/// A copy of examples/ in `dir`: `dir/calc` (a git repository on main),
/// `dir/calc-issue.json`, `dir/calc-session.json`.
pub fn example(dir: &Path) -> PathBuf {
    let repo = dir.join("calc");
    std::fs::create_dir_all(&repo).unwrap();
    for f in [
        "calc.py",
        "test_calc.py",
        "README.md",
        "factory.toml",
        ".gitignore",
    ] {
        std::fs::copy(examples().join("calc").join(f), repo.join(f)).unwrap();
    }
    for f in ["calc-issue.json", "calc-session.json"] {
        std::fs::copy(examples().join(f), dir.join(f)).unwrap();
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "init"]);
    repo
}

/// Write `files` (path, content) into the repository and commit them.
pub fn commit_files(repo: &Path, files: &[(&str, &str)], message: &str) {
    for (path, content) in files {
        std::fs::write(repo.join(path), content).unwrap();
    }
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", message]);
}

/// Append `extra` to the repository's factory.toml and commit it.
pub fn configure(repo: &Path, extra: &str) {
    let p = repo.join("factory.toml");
    let mut t = std::fs::read_to_string(&p).unwrap();
    t.push_str(extra);
    std::fs::write(&p, t).unwrap();
    git(repo, &["commit", "-q", "-am", "configure factory"]);
}

/// Replace the whole factory.toml and commit it.
pub fn set_config(repo: &Path, toml: &str) {
    std::fs::write(repo.join("factory.toml"), toml).unwrap();
    git(repo, &["commit", "-q", "-am", "configure factory"]);
}

pub fn session(dir: &Path) -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("calc-session.json")).unwrap()).unwrap()
}

/// Write an edited session. Its replies were changed by hand, so the
/// example repository's factory.toml replays it leniently from now on.
pub fn save_session(dir: &Path, s: &[Value]) {
    std::fs::write(
        dir.join("calc-session.json"),
        serde_json::to_string_pretty(s).unwrap(),
    )
    .unwrap();
    let repo = dir.join("calc");
    let toml = std::fs::read_to_string(repo.join("factory.toml")).unwrap();
    if !toml.contains("lenient = true") {
        let lenient = toml.replace(
            "provider = \"replay\"\n",
            "provider = \"replay\"\nlenient = true\n",
        );
        assert_ne!(lenient, toml, "factory.toml has no replay provider");
        set_config(&repo, &lenient);
    }
}

/// An assistant reply: text and tool calls (name, JSON arguments).
pub fn reply(text: &str, calls: &[(&str, Value)]) -> Value {
    serde_json::json!({
        "model": "demo-model",
        "message": {
            "role": "assistant",
            "content": text,
            "tool_calls": calls.iter().enumerate().map(|(i, (n, a))| serde_json::json!({"id": format!("c{i}"), "name": n, "arguments": a.to_string()})).collect::<Vec<_>>(),
        },
        "stop_reason": if calls.is_empty() { "end-turn" } else { "tool-use" },
        "usage": {"input_tokens": 100, "output_tokens": 20},
    })
}

pub fn exchange(stream: &str, seq: u32, r: Value) -> Value {
    serde_json::json!({"stream": stream, "seq": seq, "response": r})
}

/// `factory run ISSUE --repo REPO --json ARGS…`: exit code and outcome.
pub fn run(home: &Path, dir: &Path, args: &[&str]) -> (i32, Value) {
    let o = run_output(home, dir, &[args, &["--json"]].concat());
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}\nstderr: {}", text(&o.stdout), text(&o.stderr)));
    (code(&o), v)
}

/// `factory run DIR/calc-issue.json --repo DIR/calc ARGS…`, on a
/// repository the operator's policy lets run at any trust its
/// factory.toml asks for.
pub fn run_output(home: &Path, dir: &Path, args: &[&str]) -> Output {
    let issue = dir.join("calc-issue.json");
    let repo = dir.join("calc");
    allow_trust(home, &repo, "full");
    factory(
        home,
        &[
            &[
                "run",
                issue.to_str().unwrap(),
                "--repo",
                repo.to_str().unwrap(),
            ],
            args,
        ]
        .concat(),
    )
}

/// `factory runs show ID --json`.
pub fn show(home: &Path, id: &str) -> Value {
    let o = factory(home, &["runs", "show", id, "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The run's steps as `task role#attempt status` lines.
pub fn steps(v: &Value) -> Vec<String> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let who = if s["kind"] == "role" {
                format!("{}#{}", s["role"].as_str().unwrap(), s["attempt"])
            } else {
                s["kind"].as_str().unwrap().to_string()
            };
            format!(
                "{} {who} {}",
                s["task_id"].as_str().unwrap(),
                s["status"].as_str().unwrap()
            )
        })
        .collect()
}

/// A run's journal (`runs show --json`) holds no denial, and every tool
/// call a role made returned a result: a role denied its own work, or a
/// tool that failed under it, is a bug wherever it shows.
pub fn assert_no_denials(v: &Value) {
    let denials: Vec<&Value> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "denial")
        .collect();
    assert!(
        denials.is_empty(),
        "the run's journal holds denials: {denials:#?}"
    );
    let invocations = v["invocations"].as_array().unwrap();
    let tools: Vec<&Value> = invocations
        .iter()
        .filter(|i| !i["parent_call"].is_null())
        .collect();
    assert!(!tools.is_empty(), "the roles called no tool");
    let failed: Vec<&Value> = tools
        .iter()
        .copied()
        .filter(|i| i["outcome"] != "ok")
        .collect();
    assert!(
        failed.is_empty(),
        "tool calls without a result: {failed:#?}"
    );
}

/// The one feedback round every loop test expects of subtask `task`: the
/// plan, a failing first attempt, a passing second, the merge, integration,
/// review, docs and delivery, in this order (other steps may come between).
pub fn assert_one_feedback_round(v: &Value, task: &str) {
    let s = steps(v);
    let want = [
        "@plan architect#1 ok".to_string(),
        format!("{task} coder#1 ok"),
        format!("{task} tester#1 ok"),
        format!("{task} coder#2 ok"),
        format!("{task} tester#2 ok"),
        format!("{task} merge ok"),
        "@integrate tester#1 ok".into(),
        "@review reviewer#1 ok".into(),
        "@docs documenter#1 ok".into(),
        "@deliver deliver ok".into(),
    ];
    let mut at = 0;
    for w in want {
        at += s[at..]
            .iter()
            .position(|x| *x == w)
            .unwrap_or_else(|| panic!("{w} not found after step {at} in {s:#?}"))
            + 1;
    }
    let first = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["task_id"] == task && s["role"] == "tester")
        .unwrap();
    assert!(
        first["summary"].as_str().unwrap().starts_with("tests fail"),
        "{first}"
    );
}

/// `factory policy set --repo REPO --max-trust LEVEL` on `home`.
pub fn allow_trust(home: &Path, repo: &Path, level: &str) {
    let o = factory(
        home,
        &[
            "policy",
            "set",
            "--repo",
            repo.to_str().unwrap(),
            "--max-trust",
            level,
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
}

/// The recorded exchange `stream` #`seq` of a session, to edit its reply.
pub fn exchange_mut<'a>(s: &'a mut [Value], stream: &str, seq: u32) -> &'a mut Value {
    s.iter_mut()
        .find(|x| x["stream"] == stream && x["seq"] == seq)
        .unwrap_or_else(|| panic!("no exchange {stream} #{seq} in the session"))
}

/// The gate `name` of a run's outcome (`run --json`), or Null.
pub fn gate(out: &Value, name: &str) -> Value {
    out["result"]["gates"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The `policy` notes of a run's timeline: what the operator's policy
/// changed of what factory.toml asked for.
pub fn policy_notes(v: &Value) -> Vec<&str> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "policy")
        .map(|s| s["summary"].as_str().unwrap())
        .collect()
}

/// The tool calls of a recorded exchange's reply: (name, arguments).
pub fn reply_calls(exchange: &Value) -> Vec<(String, Value)> {
    exchange["response"]["message"]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                serde_json::from_str(c["arguments"].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

/// `factory plugin install` a test plugin (`tests/plugins/*`) as `name` at
/// `trust`.
pub fn install_guest(home: &Path, package: &str, name: &str, trust: &str) {
    let wasm = PathBuf::from(env!("FACTORY_GUEST_DIR"))
        .join(format!("{}.wasm", package.replace('-', "_")));
    let o = factory(
        home,
        &[
            "plugin",
            "install",
            wasm.to_str().unwrap(),
            "--name",
            name,
            "--trust",
            trust,
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
}

/// A fresh home with test plugin `package` installed as `name` (trust
/// full), and a fresh example repository whose factory.toml makes it the
/// `kind` role: (home's dir, home, the example's dir, the repository).
pub fn with_role(
    package: &str,
    name: &str,
    kind: &str,
) -> (tempfile::TempDir, PathBuf, tempfile::TempDir, PathBuf) {
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path().join("home");
    install_guest(&home, package, name, "full");
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    configure(&repo, &format!("\n[roles]\n{kind} = \"{name}\"\n"));
    (home_dir, home, d, repo)
}
