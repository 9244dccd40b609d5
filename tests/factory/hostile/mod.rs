//! The factory loop against its own roles and repositories: one file per
//! class of attack in docs/security.md, each with hostile roles (plugins
//! in `tests/plugins`, or the built-in roles driven by a hostile model's
//! replies). Every test asserts that the attack failed, that the run ended
//! in a defined state with the host alive, and that the journal names what
//! was refused.

mod bounds;
mod defaults;
mod evidence;
mod git;
mod quotas;
mod review;
mod secrets;
mod trust;

use crate::fx::*;
use std::path::{Path, PathBuf};

/// A fresh home with `tests/plugins/hostile-coder` installed (trust full)
/// and an example repository that makes it the coder, without a review
/// round (the change goes straight to the delivery gates, where a run
/// without an approval is a draft at best): (home's dir, home, the
/// example's dir, the repository).
pub fn hostile_coder() -> (tempfile::TempDir, PathBuf, tempfile::TempDir, PathBuf) {
    let (home_dir, home, d, repo) = with_role("factory-test-hostile-coder", "hostile", "coder");
    configure(&repo, "\n[pipeline]\nreview = false\n");
    (home_dir, home, d, repo)
}

/// The example issue with `lines` added to its body: what a prompt
/// injection in an issue looks like.
pub fn inject(dir: &Path, lines: &[String]) {
    let p = dir.join("calc-issue.json");
    let mut issue: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let body = issue["body"].as_str().unwrap().to_string();
    issue["body"] = format!("{body}\r\n\r\n{}", lines.join("\r\n")).into();
    std::fs::write(&p, issue.to_string()).unwrap();
}

/// The hostile coder's report of each attempt: `name=outcome`.
pub fn outcomes(v: &serde_json::Value) -> Vec<(String, String)> {
    let coder = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "coder")
        .unwrap_or_else(|| panic!("no coder step: {:#}", v["steps"]));
    coder["summary"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, o)| (k.to_string(), o.to_string()))
        .collect()
}
