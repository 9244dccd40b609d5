//! Abuse tests for roles: a coder writing outside its worktree, a reviewer
//! trying to write, to run programs, to use a model it was not granted and
//! to read the host's API key; a role plugin cut to its own trust level;
//! and the built-in components describing themselves as registered.

use crate::common::{Env, guest};
use crate::fx::*;
use serde_json::{Value, json};

fn events<'a>(v: &'a Value, plugin: &str, kind: &str) -> Vec<&'a str> {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["plugin"] == plugin && e["kind"] == kind)
        .map(|e| e["message"].as_str().unwrap())
        .collect()
}

#[test]
fn a_coder_cannot_write_outside_its_worktree() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let checkout = repo.join("calc.py");
    let escape = d.path().join("escape.txt");
    let mut s = session(d.path());
    // Before its real work, the coder tries three ways out.
    for x in s.iter_mut().filter(|x| x["stream"] == "fix-mean/coder/1") {
        x["seq"] = json!(x["seq"].as_u64().unwrap() + 1);
    }
    s.push(exchange(
        "fix-mean/coder/1",
        0,
        reply(
            "",
            &[
                ("write-file", json!({"path": checkout, "content": "pwned"})),
                (
                    "write-file",
                    json!({"path": "../../work/calc.py", "content": "pwned"}),
                ),
                ("write-file", json!({"path": escape, "content": "pwned"})),
                (
                    "run-command",
                    json!({"program": "sh", "args": ["-c", "echo pwned > calc.py"]}),
                ),
            ],
        ),
    ));
    save_session(d.path(), &s);
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 0, "{out}");
    assert!(!escape.exists());
    assert!(
        !std::fs::read_to_string(&checkout)
            .unwrap()
            .contains("pwned")
    );
    assert!(!git(&repo, &["log", "-p", "--all"]).contains("pwned"));
    let v = show(&home, out["id"].as_str().unwrap());
    // `../` out of the worktree is refused by the host (and journaled as a
    // denial); absolute paths elsewhere match no granted directory, so the
    // tool reports them denied, and its invocation records that.
    let denials = events(&v, "write-file", "denial");
    assert!(
        denials.iter().any(|m| m.contains("../../work/calc.py")),
        "{denials:#?}"
    );
    let refused: Vec<&str> = v["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["plugin"] == "write-file" && i["outcome"] == "tool-error")
        .map(|i| i["detail"].as_str().unwrap())
        .collect();
    assert_eq!(refused.len(), 3, "{refused:#?}");
    assert!(
        refused.iter().all(|d| d.contains("\"denied\"")),
        "{refused:#?}"
    );
    assert!(
        refused
            .iter()
            .any(|d| d.contains(checkout.to_str().unwrap())),
        "{refused:#?}"
    );
    assert!(
        refused.iter().any(|d| d.contains(escape.to_str().unwrap())),
        "{refused:#?}"
    );
    let tool = events(&v, "coder", "denial");
    assert!(
        tool.iter().any(|m| m.contains("run-command")),
        "the coder may not call run-command: {tool:#?}"
    );
}

#[test]
fn a_hostile_reviewer_gets_only_read_access_to_its_worktree() {
    let (_home_dir, home, d, repo) = with_role("factory-test-evil-role", "evil", "reviewer");
    let issue = d.path().join("calc-issue.json");
    let o = std::process::Command::new(BIN)
        .args([
            "run",
            issue.to_str().unwrap(),
            "--repo",
            repo.to_str().unwrap(),
            "--json",
        ])
        .env("FACTORY_HOME", &home)
        .env("OPENAI_API_KEY", "sk-host-secret")
        .output()
        .unwrap();
    let out: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o.stderr)));
    let v = show(&home, out["id"].as_str().unwrap());
    let review = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "reviewer")
        .unwrap();
    let summary = review["summary"].as_str().unwrap();
    assert!(summary.starts_with("approve: write="), "{summary}");
    assert!(
        !summary.contains("ALLOWED") && !summary.contains("LEAKED"),
        "{summary}"
    );
    assert!(
        summary.contains("write=denied")
            && summary.contains("tool=denied")
            && summary.contains("exec=denied")
            && summary.contains("model=denied")
            && summary.contains("env=absent"),
        "{summary}"
    );
    // Each refusal is journaled against the plugin, naming what was tried.
    let denials = events(&v, "evil", "denial");
    assert!(
        denials
            .iter()
            .any(|m| m.starts_with("write denied") && m.contains("evil.txt")),
        "{denials:#?}"
    );
    assert!(
        denials
            .iter()
            .any(|m| m.starts_with("tool denied") && m.contains("write-file")),
        "{denials:#?}"
    );
    assert!(
        denials.iter().any(|m| m.starts_with("exec denied")),
        "{denials:#?}"
    );
    assert!(
        denials
            .iter()
            .any(|m| m.starts_with("model denied") && m.contains("gpt-5")),
        "{denials:#?}"
    );
    assert!(
        !std::path::Path::new(&format!(
            "{}/runs/{}/work/evil.txt",
            home.display(),
            out["id"].as_str().unwrap()
        ))
        .exists()
    );

    // Installed untrusted, the same role is cut to nothing: even its
    // worktree read grant and its model are withheld, and the cut is
    // journaled.
    let o = factory(&home, &["plugin", "trust", "evil", "untrusted"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    configure(&repo, "\n[roles]\nreviewer = \"evil\"\n");
    let (_, out) = run(&home, d.path(), &[]);
    let v = show(&home, out["id"].as_str().unwrap());
    let cuts = events(&v, "evil", "cut");
    assert!(
        cuts.iter()
            .any(|m| m.contains("--read") && m.contains("needs trust read-only")),
        "{cuts:#?}"
    );
    assert!(
        cuts.iter().any(|m| m.contains("--model demo-model")),
        "{cuts:#?}"
    );
}

#[tokio::test]
async fn built_in_components_describe_themselves_as_registered() {
    let env = Env::new();
    for b in factory_host::builtins::all() {
        let package = match b.world {
            factory_host::registry::World::Tool => format!("factory-tool-{}", b.name),
            factory_host::registry::World::Role => format!("factory-role-{}", b.name),
            factory_host::registry::World::Intake => format!("factory-{}", b.name),
        };
        let installed = env
            .host
            .install(factory_host::registry::InstallRequest {
                file: guest(&package),
                name: Some(format!("copy-of-{}", b.name)),
                trust: factory_host::TrustLevel::Untrusted,
                force: false,
                source: None,
                requested: String::new(),
                signer: String::new(),
            })
            .await
            .unwrap();
        let r = installed.record;
        assert_eq!(r.world, b.world, "{}", b.name);
        assert_eq!(
            r.kind, b.kind,
            "{}: describe() says {:?}, builtin.toml says {:?}",
            b.name, r.kind, b.kind
        );
        assert_eq!(r.description, b.description, "{}", b.name);
    }
}
