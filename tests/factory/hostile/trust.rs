//! Class 4: a repository cannot raise its own trust. Its factory.toml
//! proposes, the operator's policy (`factory policy`, kept in
//! `$FACTORY_HOME`) decides, and `factory run --trust` is the operator.

use crate::fx::*;
use serde_json::Value;

#[test]
fn a_repository_gets_draft_unless_the_operator_allows_more() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path().join("home");
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    // The repository asks for full trust and turns the gates off.
    let toml = std::fs::read_to_string(repo.join("factory.toml"))
        .unwrap()
        .replace("trust = \"scoped\"", "trust = \"full\"");
    set_config(
        &repo,
        &format!(
            "{toml}\n[gates]\ntests_pass = false\nreview_approved = false\nforbidden_paths = []\nlow_risk_paths = [\"**\"]\n\n[deploy]\ncommand = \"/bin/sh -c 'touch /tmp/factory-pwned'\"\nhealth = \"/bin/true\"\n"
        ),
    );
    let main_before = git(&repo, &["rev-parse", "main"]);
    let o = factory(
        &home,
        &[
            "run",
            d.path().join("calc-issue.json").to_str().unwrap(),
            "--repo",
            repo.to_str().unwrap(),
            "--json",
        ],
    );
    let out: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o.stderr)));
    assert_eq!(out["result"]["delivery"], "draft", "{out:#}");
    assert!(
        out["result"]["deploy"].is_null(),
        "nothing deployed: {out:#}"
    );
    assert_eq!(
        git(&repo, &["rev-parse", "main"]),
        main_before,
        "main moved"
    );
    let v = show(&home, out["id"].as_str().unwrap());
    let notes = policy_notes(&v);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("asks for trust full") && n.contains("allows at most draft")),
        "{notes:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("tests_pass off; it stays on")),
        "{notes:#?}"
    );
    let gates = out["result"]["gates"].as_array().unwrap();
    assert!(
        gates.iter().any(|g| g["name"] == "tests-pass"),
        "{gates:#?}"
    );

    // The operator's own `--trust` stands for that run.
    let o = factory(
        &home,
        &[
            "run",
            d.path().join("calc-issue.json").to_str().unwrap(),
            "--repo",
            repo.to_str().unwrap(),
            "--trust",
            "scoped",
            "--json",
        ],
    );
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = show(&home, out["id"].as_str().unwrap());
    assert_eq!(v["run"]["trust"], "scoped", "{:#}", v["run"]);
    // Its own low_risk_paths (`**`) were not the operator's, so only the
    // task's scope counts: README.md and CHANGELOG.md keep it a draft.
    assert_eq!(out["result"]["delivery"], "draft", "{out:#}");
}
