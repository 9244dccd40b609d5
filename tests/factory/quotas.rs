//! Resource quotas for roles: what one step may write through the
//! filesystem capability (bytes, files created, the size of one file) is
//! enforced as it writes, and each refusal is journaled.

use crate::fx::*;
use serde_json::json;

#[test]
fn a_coder_that_writes_too_much_is_stopped_as_it_writes() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let toml = std::fs::read_to_string(repo.join("factory.toml"))
        .unwrap()
        .replace(
            "max_attempts = 3",
            "max_attempts = 3\nmax_file_bytes = 100000\nmax_step_files = 20",
        );
    set_config(&repo, &toml);
    let mut s = session(d.path());
    let coder = exchange_mut(&mut s, "fix-mean/coder/1", 1);
    let mut calls: Vec<(&str, serde_json::Value)> = vec![(
        "write-file",
        json!({"path": "big.txt", "content": "x".repeat(300_000)}),
    )];
    for i in 0..30 {
        calls.push((
            "write-file",
            json!({"path": format!("many/f{i}.txt"), "content": "x", "create_dirs": true}),
        ));
    }
    let originals: Vec<(String, serde_json::Value)> = reply_calls(coder);
    for (n, a) in &originals {
        calls.push((n.as_str(), a.clone()));
    }
    coder["response"] = reply("", &calls);
    save_session(d.path(), &s);
    let (_, out) = run(&home, d.path(), &[]);
    let v = show(&home, out["id"].as_str().unwrap());
    let limits: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "limit" && e["message"].as_str().unwrap().contains("write quota"))
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        !limits.is_empty(),
        "no quota refusal journaled: {:#}",
        v["events"]
    );
    assert!(
        limits
            .iter()
            .any(|m| m.contains("may not grow past 100000 bytes")),
        "{limits:#?}"
    );
    assert!(
        limits.iter().any(|m| m.contains("may create 20 files")),
        "{limits:#?}"
    );
    // Nothing past the caps reached the disk or the branch.
    let branch = out["result"]["branch"]
        .as_str()
        .unwrap_or("main")
        .to_string();
    let tree = git(&repo, &["ls-tree", "-r", "--long", &branch]);
    for line in tree.lines().filter(|l| l.ends_with("big.txt")) {
        let size: u64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
        assert!(size <= 100_000, "{line}");
    }
    let files = tree.lines().filter(|l| l.contains("many/")).count();
    assert!(files < 20, "{files} files created past the cap");
}
