//! `factory mcp` driven by clients no one here wrote: the official MCP
//! Python SDK (PyPI `mcp`) over stdio and Streamable HTTP, in both protocol
//! revisions, and the MCP Inspector's CLI mode (npm), both installed by
//! `.ci/guest-tools`. Raw requests cover what a well-behaved client never
//! sends.

#[path = "../common.rs"]
mod common;

mod attacks;
mod factory;
mod http;
mod inspector;
mod stdio;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

fn tools_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guest-tools")
}

fn python() -> PathBuf {
    let venv = tools_dir().join("venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run `bash .ci/guest-tools` (it installs the MCP Python SDK)",
        venv.display()
    );
    venv
}

const FACTORY: &str = env!("CARGO_BIN_EXE_factory");

/// A fresh FACTORY_HOME with the built-ins, and the attacker installed
/// (untrusted) for the tests that want it.
struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Home {
        Home(tempfile::tempdir().unwrap())
    }
    fn with_attacker() -> Home {
        let h = Home::new();
        let wasm = common::guest("factory-test-attacker");
        h.factory(&[
            "plugin",
            "install",
            wasm.to_str().unwrap(),
            "--name",
            "attacker",
        ]);
        h
    }
    fn dir(&self) -> PathBuf {
        self.0.path().to_path_buf()
    }
    fn path(&self) -> PathBuf {
        self.0.path().join("home")
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(FACTORY)
            .args(args)
            .env("FACTORY_HOME", self.path())
            .output()
            .unwrap()
    }
    fn factory(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    /// A directory `data` holding `file` with `text`, which read-file is
    /// granted to read: the directory.
    fn readable(&self, file: &str, text: &str) -> PathBuf {
        let data = self.dir().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join(file), text).unwrap();
        self.factory(&[
            "plugin",
            "grant",
            "read-file",
            "--read",
            data.to_str().unwrap(),
        ]);
        data
    }
    /// The argv of a command run from the client, with this home.
    fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec![
            "env".to_string(),
            format!("FACTORY_HOME={}", self.path().display()),
            FACTORY.to_string(),
        ];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }
    /// Run the Python client with `plan` (see client.py) against
    /// `factory mcp <extra>` on stdio.
    fn stdio(&self, mut plan: Value, extra: &[&str]) -> Value {
        let mut command = vec![FACTORY.to_string(), "mcp".into()];
        command.extend(extra.iter().map(|s| s.to_string()));
        plan["transport"] = json!("stdio");
        plan["command"] = json!(command);
        self.client(plan)
    }
    fn client(&self, plan: Value) -> Value {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp/client.py");
        let o = Command::new(python())
            .arg(script)
            .arg(plan.to_string())
            .env("FACTORY_HOME", self.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "client failed: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    }
    /// The journal, as `factory log --json` shows it.
    fn log(&self) -> Vec<Value> {
        serde_json::from_str(&self.factory(&["log", "--json", "--limit", "1000"])).unwrap()
    }
    fn invocations(&self, plugin: &str) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|e| e["type"] == "invocation" && e["plugin"] == plugin)
            .collect()
    }
    fn denials(&self, plugin: &str) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|e| e["type"] == "event" && e["kind"] == "denial" && e["plugin"] == plugin)
            .collect()
    }
}

/// `factory mcp --http 127.0.0.1:0 <extra>`, stopped when dropped.
struct Server {
    child: Child,
    url: String,
    addr: String,
    token: String,
}

impl Server {
    fn start(home: &Home, extra: &[&str]) -> Server {
        let mut child = Command::new(FACTORY)
            .args(["mcp", "--http", "127.0.0.1:0"])
            .args(extra)
            .env("FACTORY_HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let url = loop {
            let line = match lines.next() {
                Some(Ok(l)) => l,
                _ => panic!("factory mcp --http exited: {seen:?}"),
            };
            if let Some(at) = line.find("http://") {
                break line[at..].trim().to_string();
            }
            seen.push(line);
        };
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches("/mcp")
            .to_string();
        let token = std::fs::read_to_string(home.path().join("mcp-token"))
            .unwrap_or_default()
            .trim()
            .to_string();
        Server {
            child,
            url,
            addr,
            token,
        }
    }
    fn plan(&self, mut plan: Value) -> Value {
        plan["transport"] = json!("http");
        plan["url"] = json!(self.url);
        plan["headers"] = json!({"Authorization": format!("Bearer {}", self.token)});
        plan
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tool<'a>(out: &'a Value, name: &str) -> &'a Value {
    out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {out}"))
}

fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every tool name served, none of which may change grants, trust, limits
/// or what is installed.
fn assert_no_admin_tools(out: &Value) {
    for t in out["tools"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        assert!(
            ![
                "grant", "revoke", "trust", "install", "limit", "remove", "policy"
            ]
            .iter()
            .any(|w| name.contains(w)),
            "{name} is served"
        );
    }
}
