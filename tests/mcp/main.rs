//! `factory mcp` driven by a client no one here wrote: the official MCP
//! Python SDK (PyPI `mcp`, installed by `.ci/guest-tools`), over stdio.

#[path = "../common.rs"]
mod common;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

fn python() -> PathBuf {
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guest-tools/venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run `bash .ci/guest-tools` (it installs the MCP Python SDK)",
        venv.display()
    );
    venv
}

struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Home {
        Home(tempfile::tempdir().unwrap())
    }
    fn path(&self) -> PathBuf {
        self.0.path().join("home")
    }
    fn factory(&self, args: &[&str]) {
        let o = Command::new(env!("CARGO_BIN_EXE_factory"))
            .args(args)
            .env("FACTORY_HOME", self.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    /// Run the Python client with `steps` ([tool, arguments] pairs).
    fn client(&self, steps: Value, extra: &[&str]) -> Value {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp/client.py");
        let o = Command::new(python())
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_factory"))
            .arg(steps.to_string())
            .arg(serde_json::to_string(extra).unwrap())
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
}

fn tool<'a>(out: &'a Value, name: &str) -> &'a Value {
    out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {out}"))
}

#[test]
fn tools_are_listed_with_their_schemas_and_grants_decide_each_call() {
    let home = Home::new();
    let data = home.0.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("notes.txt"), "granted text\n").unwrap();
    std::fs::write(home.0.path().join("secret.txt"), "not granted\n").unwrap();
    home.factory(&[
        "plugin",
        "grant",
        "read-file",
        "--read",
        data.to_str().unwrap(),
    ]);
    let out = home.client(
        json!([
            ["read-file", {"path": data.join("notes.txt")}],
            ["read-file", {"path": home.0.path().join("secret.txt")}],
            ["no-such-tool", {}],
            ["read-file", {"path": data.join("notes.txt")}],
        ]),
        &[],
    );
    assert_eq!(out["server"]["name"], "factory");
    // Listing: the plugin's own schema, annotations from its grants.
    let rf = tool(&out, "read-file");
    assert_eq!(rf["inputSchema"]["required"], json!(["path"]), "{rf}");
    assert_eq!(rf["annotations"]["readOnlyHint"], true, "{rf}");
    assert_eq!(rf["annotations"]["openWorldHint"], false, "{rf}");
    // Nothing served changes grants, trust, limits or what is installed.
    for t in out["tools"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        assert!(
            !["grant", "revoke", "trust", "install", "limits"]
                .iter()
                .any(|w| name.contains(w)),
            "{name} is served"
        );
    }
    let steps = out["steps"].as_array().unwrap();
    // Granted: the tool's JSON as structured content and as text.
    let ok = &steps[0]["result"];
    assert_eq!(ok["isError"], false, "{ok}");
    assert!(
        ok["structuredContent"].to_string().contains("granted text"),
        "{ok}"
    );
    assert!(
        ok["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("granted text")
    );
    // Not granted: an error result, not a protocol error; nothing leaks.
    let denied = &steps[1]["result"];
    assert_eq!(denied["isError"], true, "{denied}");
    assert!(!denied.to_string().contains("not granted\\n"), "{denied}");
    // An unknown tool is a clear error, and the session keeps serving.
    assert!(
        steps[2]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no-such-tool")
            || steps[2]["result"]["isError"] == true,
        "{}",
        steps[2]
    );
    assert_eq!(steps[3]["result"]["isError"], false, "{}", steps[3]);
}

#[test]
fn tools_restricts_what_is_served() {
    let home = Home::new();
    let out = home.client(json!([]), &["--tools", "read-file,list-files"]);
    let names: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["list-files", "read-file"]);
}
