//! Delivery from a clone of a remote, through the CLI: the run's branch and
//! the target are pushed once; a run that delivered but died before it
//! recorded so delivers nothing the second time (its commits carry
//! `Factory-Run: ID`, and the remote's target has them).

use super::common;
use super::scale::{FACTORY, remote};
use std::process::Command;

fn factory(home: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(FACTORY)
        .args(args)
        .env("FACTORY_HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "factory {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

/// A home whose operator allows scoped runs (the built-in policy stops at
/// draft), and a scoped brief; the home and the brief's path.
fn scoped_home(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("policy.toml"),
        "[default]\nmax_trust = \"scoped\"\n",
    )
    .unwrap();
    let spec = dir.join("brief.md");
    std::fs::write(
        &spec,
        "# Make mean handle empty input\n\nThe mean of an empty list should not crash.\n\n## Scope\n- calc.py\n- test_calc.py\n",
    )
    .unwrap();
    (home, spec)
}

/// `factory run --trust scoped --json` of `spec` on `repo`.
fn run_scoped(
    home: &std::path::Path,
    repo: &std::path::Path,
    spec: &std::path::Path,
) -> serde_json::Value {
    factory(
        home,
        &[
            "run",
            "--repo",
            repo.to_str().unwrap(),
            "--trust",
            "scoped",
            "--json",
            spec.to_str().unwrap(),
        ],
    )
}

#[test]
fn a_second_delivery_of_a_delivered_run_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path(), "calc");
    // A worker's clone: detached, marked, as `clone_or_fetch` makes them.
    let url = format!("file://{}", bare.display());
    let clone =
        factory_host::orchestrator::git::remote::clone_or_fetch(&dir.path().join("clones"), &url)
            .unwrap();
    let (home, spec) = scoped_home(dir.path());
    let run = run_scoped(&home, &clone, &spec);
    assert_eq!(run["result"]["delivery"], "merged", "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let pushes = || std::fs::read_to_string(dir.path().join("pushes.log")).unwrap_or_default();
    let main_moves = |p: &str| {
        p.lines()
            .filter(|l| l.starts_with("refs/heads/main "))
            .count()
    };
    assert_eq!(main_moves(&pushes()), 1, "{}", pushes());
    let branch = format!("refs/heads/factory/{id} ");
    assert_eq!(
        pushes().lines().filter(|l| l.starts_with(&branch)).count(),
        1
    );
    let main = common::git(&bare, &["rev-parse", "main"]);
    let log = common::git(&bare, &["log", "-1", "--format=%B", "main"]);
    assert!(log.contains(&format!("Factory-Run: {id}")), "{log}");

    // The process died after pushing, before it recorded the end.
    let db = rusqlite::Connection::open(home.join("factory.db")).unwrap();
    db.execute("UPDATE runs SET status='running' WHERE id=?1", [&id])
        .unwrap();
    drop(db);
    let again = factory(&home, &["resume", &id, "--json"]);
    assert_eq!(again["status"], "done", "{again}");
    assert_eq!(again["result"]["delivery"], "merged", "{again}");
    assert_eq!(
        main_moves(&pushes()),
        1,
        "main is not pushed again: {}",
        pushes()
    );
    assert_eq!(common::git(&bare, &["rev-parse", "main"]), main);
    let steps = factory(&home, &["runs", "show", &id, "--json"])["steps"].clone();
    assert!(
        steps.to_string().contains("already delivered"),
        "the second delivery says it found the run's commit: {steps}"
    );
}

#[test]
fn a_target_that_moved_on_the_remote_is_merged_in_and_checked_again() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path(), "calc");
    let url = format!("file://{}", bare.display());
    // A worker's clone, fetched now.
    let b = factory_host::orchestrator::git::remote::clone_or_fetch(&dir.path().join("b"), &url)
        .unwrap();
    let (home, spec) = scoped_home(dir.path());
    // Someone else moves main on the remote (a new file), after b's
    // fetch: b's run starts from the old main.
    let other = dir.path().join("other");
    common::git(dir.path(), &["clone", "-q", &url, other.to_str().unwrap()]);
    std::fs::write(other.join("NOTES.md"), "moved by someone else\n").unwrap();
    common::git(&other, &["add", "-A"]);
    common::git(&other, &["commit", "-q", "-m", "notes"]);
    common::git(&other, &["push", "-q", "origin", "main"]);
    let moved = common::git(&bare, &["rev-parse", "main"]);
    let run = run_scoped(&home, &b, &spec);
    let id = run["id"].as_str().unwrap().to_string();
    let steps = factory(&home, &["runs", "show", &id, "--json"])["steps"].to_string();
    assert!(
        steps.contains("moved on the remote; the gates check the merge with it again"),
        "the run says the target moved: {steps}"
    );
    // Merged after the check: main now has both the other change and the
    // run's, as a fast-forward of what the second check saw.
    assert_eq!(run["result"]["delivery"], "merged", "{run}");
    let main = common::git(&bare, &["rev-parse", "main"]);
    assert_ne!(main, moved);
    common::git(&bare, &["merge-base", "--is-ancestor", &moved, &main]);
    let log = common::git(&bare, &["log", "--format=%B", "main"]);
    assert!(log.contains(&format!("Factory-Run: {id}")), "{log}");
}
