//! Class 1: host-side git never obeys anything a role or the repository
//! wrote. A coder steered by the issue's text plants git metadata (a
//! replaced `.git` file, a `gitdir:` pointer at the operator's checkout, a
//! `.git/config` with an fsmonitor, filters and hooks, a nested
//! repository), hides a long change behind `.gitattributes` and names a CI
//! file with non-ASCII characters.

use super::{hostile_coder, inject, outcomes};
use crate::fx::*;

#[test]
fn a_coder_cannot_make_host_git_obey_it() {
    let (_home_dir, home, d, repo) = hostile_coder();
    let marker = d.path().join("marker");
    std::fs::create_dir(&marker).unwrap();
    inject(
        d.path(),
        &[
            "attack: git".into(),
            format!("main: {}", repo.display()),
            format!("marker: {}", marker.display()),
        ],
    );
    let main_before = git(&repo, &["rev-parse", "main"]);
    let config_before = std::fs::read(repo.join(".git/config")).unwrap();

    let (c, out) = run(&home, d.path(), &["--replay-lenient"]);
    let id = out["id"].as_str().unwrap();
    let v = show(&home, id);
    assert_eq!(c, 0, "{out:#}\n{:#?}", v["steps"]);

    // Nothing the role planted ran as the host.
    let ran: Vec<_> = std::fs::read_dir(&marker).unwrap().flatten().collect();
    assert!(ran.is_empty(), "host git ran a role's command: {ran:?}");
    // Every write to git metadata was refused, and journaled.
    let got = outcomes(&v);
    for (attempt, outcome) in &got {
        let allowed = ["attributes", "long-change", "unicode-forbidden"];
        if allowed.contains(&attempt.as_str()) {
            assert_eq!(outcome, "ALLOWED", "{attempt}: {got:?}");
        } else {
            assert_eq!(outcome, "denied", "{attempt}: {got:?}");
        }
    }
    assert!(got.len() >= 12, "{got:?}");
    let refused: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "denial")
        .map(|e| e["message"].as_str().unwrap())
        .filter(|m| m.contains("git metadata"))
        .collect();
    for target in [
        "open-at .git:",
        "unlink-file-at .git:",
        "rename-at .git -> dotgit:",
        "rename-at pointer -> .git:",
        "link-at .git -> linked:",
        "create-directory-at .GIT:",
        "open-at .git/config:",
        "create-directory-at vendor/lib/.git:",
        "create-directory-at vendor/lib/.Git/hooks:",
    ] {
        assert!(
            refused.iter().any(|m| m.contains(target)),
            "no refusal of {target}: {refused:#?}"
        );
    }

    // The operator's checkout: main did not move, its config is untouched,
    // the run's branch holds no git metadata and no nested repository.
    assert_eq!(git(&repo, &["rev-parse", "main"]), main_before);
    assert_eq!(
        std::fs::read(repo.join(".git/config")).unwrap(),
        config_before
    );
    assert_ne!(out["result"]["delivery"], "merged", "{out:#}");
    let branch = out["result"]["branch"].as_str().unwrap();
    let tree = git(&repo, &["ls-tree", "-r", "-z", "--full-tree", branch]);
    for entry in tree.split('\0').filter(|e| !e.is_empty()) {
        let (meta, path) = entry.split_once('\t').unwrap();
        assert!(!meta.starts_with("160000"), "a gitlink landed: {entry}");
        assert!(
            !path.split('/').any(|c| c.eq_ignore_ascii_case(".git")),
            "git metadata landed: {path}"
        );
    }
    let refs = git(&repo, &["for-each-ref", "--format=%(refname)"]);
    for r in refs.lines() {
        assert!(
            r == "refs/heads/main" || r.starts_with("refs/heads/factory/"),
            "a ref the run had no business with: {r}"
        );
    }

    // `-diff` hid nothing: the size gate counted the long change, the
    // patch is text, and the forbidden-path gate saw the real names.
    let patch = std::fs::read_to_string(home.join("runs").join(id).join("change.patch")).unwrap();
    assert!(
        patch.contains("+# hidden line 2999"),
        "the patch hides the change"
    );
    assert!(
        !patch.contains("Binary files"),
        "a binary diff in the patch"
    );
    let size = gate(&out, "diff-size");
    assert_eq!(size["passed"], false, "{size}");
    let forbidden = gate(&out, "forbidden-paths");
    assert_eq!(forbidden["passed"], false, "{forbidden}");
    let evidence = forbidden["evidence"].as_str().unwrap();
    for name in [".gitattributes", ".github/workflows/d\u{e9}ploy-\u{f1}.yml"] {
        assert!(evidence.contains(name), "{name} not named: {evidence}");
    }
}
