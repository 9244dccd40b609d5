//! A role written in Python (sdk/python/examples/py-reviewer): called alone,
//! then reviewing a real run in place of the built-in reviewer.

use crate::fx;
use crate::toolchain::{Factory, build, require};
use serde_json::json;

#[test]
fn a_python_reviewer_reviews_alone_and_in_a_run() {
    require("componentize-py", "pip install componentize-py");
    let (d, src) = build(
        &["wit/plugin", "sdk/python"],
        "sdk/python/examples/py-reviewer",
        &[],
    );
    let wasm = src.join("build/py-reviewer.wasm");

    // Alone: untrusted, so its model call is refused (and journaled); the
    // deterministic checks still run.
    let f = Factory::new();
    f.install(&wasm, "py-reviewer");
    let step = json!({
        "task": {"title": "t"},
        "workdir": "/nowhere",
        "diff": "--- a/x.py\n+++ b/x.py\n@@ -1,1 +1,3 @@\n a = 1\n+b = 2  # TODO fix\n+breakpoint()\n",
        "changed": ["x.py", ".github/workflows/ci.yml"],
        "checks": {"max_diff_lines": 400, "forbidden_paths": [".github/**"]}
    });
    let (code, out) = f.call_as("role", "py-reviewer", &step);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["verdict"], "request-changes", "{out}");
    let comments: Vec<(i64, &str)> = out["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["line"].as_i64().unwrap(), c["message"].as_str().unwrap()))
        .collect();
    assert_eq!(comments.len(), 2, "{out}");
    assert_eq!(comments[0].0, 2);
    assert_eq!(comments[1].0, 3);
    let failed: Vec<&str> = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["forbidden-paths", "leftovers"], "{out}");
    assert!(
        f.denials("py-reviewer")
            .iter()
            .any(|d| d["capability"] == "model"),
        "{:#?}",
        f.denials("py-reviewer")
    );
    let (code, out) = f.call_as("role", "py-reviewer", &json!({"changed": []}));
    assert_eq!(
        (code, &out["error"]["kind"]),
        (1, &json!("invalid-input")),
        "{out}"
    );

    // In a run: the example task, reviewed by the Python role with the
    // run's (replayed) model.
    let home = f.home.clone();
    f.ok(&["plugin", "trust", "py-reviewer", "draft"]);
    let repo = fx::example(d.path());
    fx::configure(&repo, "\n[roles]\nreviewer = \"py-reviewer\"\n");
    // The session was recorded with the built-in reviewer, whose prompt
    // this role does not send: replay it leniently.
    let (code, out) = fx::run(&home, d.path(), &["--replay-lenient"]);
    assert_eq!(code, 0, "{out}");
    let id = out["id"].as_str().unwrap();
    let v = fx::show(&home, id);
    assert_eq!(v["run"]["status"], "done", "{:#}", v["run"]);
    let review = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "reviewer" && s["kind"] == "role")
        .unwrap_or_else(|| panic!("no review step: {:#}", v["steps"]));
    assert_eq!(review["status"], "ok", "{review:#}");
    let call = v["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["call_id"] == review["call_id"])
        .unwrap_or_else(|| panic!("no invocation for {review:#}"));
    assert_eq!(call["plugin"], "py-reviewer", "{call:#}");
    let detail: serde_json::Value =
        serde_json::from_str(review["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["verdict"], "approve", "{detail:#}");
    assert_eq!(detail["comments"][0]["source"], "model", "{detail:#}");
    let log = f.ok(&["log", "--plugin", "py-reviewer", "--run", id]);
    assert!(log.contains("verdict approve"), "{log}");
}
