//! Class 7: resource quotas for roles. What one step may write through the
//! filesystem capability (bytes, files created, the size of one file) is
//! enforced as it writes, and each refusal is journaled once.

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

/// A coder plugin steered by the issue writes with the raw filesystem, on
/// the default quotas: a sparse terabyte, a hundred thousand files and two
/// GiB in one stream. Each is cut off where its quota ends, the run ends in
/// a defined state, and nothing past the caps reaches the branch.
#[test]
fn a_hostile_coder_is_held_to_the_default_quotas() {
    let (_home_dir, home, d, repo) = super::hostile_coder();
    super::inject(d.path(), &["attack: quota".into()]);
    let main_before = git(&repo, &["rev-parse", "main"]);
    let (c, out) = run(&home, d.path(), &["--replay-lenient"]);
    let id = out["id"].as_str().unwrap();
    let v = show(&home, id);
    assert_eq!(c, 0, "{out:#}\n{:#?}", steps(&v));
    let got = super::outcomes(&v);
    let outcome = |prefix: &str| {
        got.iter()
            .find(|(k, _)| k.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}: {got:?}"))
            .clone()
    };
    assert_eq!(outcome("sparse-terabyte").1, "quota", "{got:?}");
    let (many, o) = outcome("many-files");
    assert_eq!(o, "quota", "{got:?}");
    // Rust's std on wasip2 reports a refused stream write as an I/O error
    // (it does not ask `filesystem-error-code`); refused all the same.
    let (huge, o) = outcome("two-gib");
    assert!(o == "quota" || o.starts_with("error(I/O"), "{got:?}");
    let made: u64 = many
        .trim_start_matches("many-files(created:")
        .trim_end_matches(')')
        .parse()
        .unwrap();
    let wrote: u64 = huge
        .trim_start_matches("two-gib(wrote:")
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert!(made < 100_000 && wrote < 2 << 30, "{got:?}");
    assert_eq!(outcome("fix").1, "ALLOWED", "{got:?}");
    let limits: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "limit")
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    for path in ["sparse.bin", "flood/", "huge.bin"] {
        assert!(
            limits
                .iter()
                .any(|m| m.contains(path) && m.contains("write quota")),
            "no quota refusal naming {path}: {limits:#?}"
        );
    }
    assert_eq!(
        git(&repo, &["rev-parse", "main"]),
        main_before,
        "main moved"
    );
    assert_ne!(out["result"]["delivery"], "merged", "{out:#}");
    let branch = out["result"]["branch"].as_str().unwrap();
    let tree = git(&repo, &["ls-tree", "-r", "-l", branch]);
    let files = tree.lines().count() as u64;
    assert!(files <= made + 10, "{files} files on the branch");
    for line in tree.lines() {
        let size: u64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
        assert!(size < 1 << 30, "{line}");
    }
}
