//! Gates are the host's policy, evaluated from its own evidence: a failing
//! gate keeps a change from merging whatever the trust level, and each
//! evaluation is journaled with its evidence.

use crate::fx::*;
use serde_json::Value;

#[test]
fn a_failed_gate_keeps_the_change_a_draft_with_the_evidence() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    configure(
        &repo,
        "\n[pipeline]\nreview = false\ndocs = false\n\n[gates]\nreview_approved = false\nmax_diff_lines = 3\nforbidden_paths = [\"test_*.py\"]\n",
    );
    let (c, out) = run(&home, d.path(), &["--trust", "scoped"]);
    assert_eq!(c, 0, "{out}");
    let r = &out["result"];
    assert_eq!(r["delivery"], "draft");
    assert_eq!(r["gates_pass"], false);
    assert_eq!(gate(&out, "tests-pass")["passed"], true);
    assert!(
        gate(&out, "tests-pass")["evidence"]
            .as_str()
            .unwrap()
            .contains("3 passed, 0 failed"),
        "{}",
        gate(&out, "tests-pass")
    );
    assert_eq!(gate(&out, "diff-size")["passed"], false);
    assert!(
        gate(&out, "diff-size")["evidence"]
            .as_str()
            .unwrap()
            .contains("limit 3")
    );
    assert_eq!(gate(&out, "forbidden-paths")["passed"], false);
    assert!(
        gate(&out, "forbidden-paths")["evidence"]
            .as_str()
            .unwrap()
            .contains("test_calc.py")
    );
    // The repository turned the review gate off; the operator's policy
    // keeps it on, and the run's timeline says so.
    assert_eq!(gate(&out, "review-approved")["passed"], false);
    assert_eq!(
        git(&repo, &["log", "--oneline", "main"]).lines().count(),
        2,
        "main did not move"
    );
    // Each evaluation is in the journal.
    let v = show(&home, out["id"].as_str().unwrap());
    let journaled: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "gate")
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(journaled.len(), 5, "{journaled:#?}");
    // The test file changed and no review ran: the host does not count it
    // as tests that were kept.
    assert!(
        journaled
            .iter()
            .any(|m| m.starts_with("gate tests-not-weakened failed") && m.contains("test_calc.py")),
        "{journaled:#?}"
    );
    assert!(
        journaled
            .iter()
            .any(|m| m.starts_with("gate forbidden-paths failed"))
    );
    let notes = policy_notes(&v);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("turns the gate review_approved off; it stays on")),
        "{notes:#?}"
    );
}

#[test]
fn a_repository_without_factory_toml_gets_defaults_and_bad_config_is_refused() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    set_config(&repo, "trust = \"draft\"\n[pipeline]\nreveiw = false\n");
    let o = run_output(&home, d.path(), &[]);
    assert_eq!(code(&o), 2);
    let err = text(&o.stderr);
    assert!(
        err.contains("factory.toml") && err.contains("unknown field `reveiw`"),
        "{err}"
    );
    // A role served by the wrong kind of component, or by nothing.
    for (roles, says) in [
        ("coder = \"reviewer\"", "is a reviewer role, not a coder"),
        ("tester = \"read-file\"", "is a tool, not a role"),
        ("architect = \"nobody\"", "no plugin named `nobody`"),
    ] {
        set_config(&repo, &format!("[roles]\n{roles}\n"));
        let o = run_output(&home, d.path(), &[]);
        assert_eq!(code(&o), 2);
        assert!(text(&o.stderr).contains(says), "{}", text(&o.stderr));
    }
    // No factory.toml: the defaults, which have no model: the architect's
    // model call is refused and the run fails saying so.
    std::fs::remove_file(repo.join("factory.toml")).unwrap();
    git(&repo, &["commit", "-qam", "no config"]);
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 1);
    assert_eq!(out["status"], "failed");
    assert!(
        out["reason"].as_str().unwrap().contains("architect"),
        "{out}"
    );
    // Not a repository.
    let o = factory(
        &home,
        &[
            "run",
            d.path().join("calc-issue.json").to_str().unwrap(),
            "--repo",
            d.path().to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("not a git repository"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn the_trust_report_shows_track_records_and_suggests_promotion_only() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path().join("home");
    for _ in 0..3 {
        let d = tempfile::tempdir().unwrap();
        example(d.path());
        let (c, out) = run(&home, d.path(), &[]);
        assert_eq!(c, 0, "{out}");
    }
    let o = factory(&home, &["trust", "report", "--json"]);
    assert_eq!(code(&o), 0);
    let recs: Value = serde_json::from_slice(&o.stdout).unwrap();
    let coder = recs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["plugin"] == "coder")
        .unwrap();
    assert_eq!(coder["runs"], 3);
    assert_eq!(coder["merges"], 3);
    assert_eq!(coder["steps_ok"], 6);
    assert_eq!(coder["promote"], "factory plugin trust coder auto-merge");
    let before = factory(&home, &["plugin", "list", "--json"]);
    let o = factory(&home, &["trust", "report"]);
    assert!(
        text(&o.stdout).contains("coder could be promoted: factory plugin trust coder auto-merge"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(
        factory(&home, &["plugin", "list", "--json"]).stdout,
        before.stdout,
        "a report never changes trust"
    );
}
