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

/// Budgets and size caps are the operator's too: a repository that raises
/// its write quota to a terabyte, its cost budget to $1000 and turns the
/// diff-size cap off (`0`) gets the built-in ceilings, with a note for
/// each; the operator raises a ceiling with `factory policy set --cap`.
#[test]
fn a_repository_cannot_raise_its_budgets_or_turn_a_cap_off() {
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path().join("home");
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let toml = std::fs::read_to_string(repo.join("factory.toml"))
        .unwrap()
        .replace(
            "max_cost_usd = 0.50",
            "max_cost_usd = 1000\nmax_step_write_bytes = 1099511627776",
        );
    set_config(&repo, &format!("{toml}\n[gates]\nmax_diff_lines = 0\n"));
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 0, "{out:#}");
    let v = show(&home, out["id"].as_str().unwrap());
    let notes = policy_notes(&v);
    for want in [
        "max_cost_usd = 1000; the operator's policy (repo",
        "max_step_write_bytes = 1099511627776",
        "max_diff_lines = 0 (no limit); the operator's policy",
    ] {
        assert!(notes.iter().any(|n| n.contains(want)), "{want}: {notes:#?}");
    }

    // The operator raises one ceiling; the others stay.
    let o = factory(
        &home,
        &[
            "policy",
            "set",
            "--repo",
            repo.to_str().unwrap(),
            "--cap",
            "max_cost_usd=2000",
            "--cap",
            "max_wall=3h",
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let o = factory(
        &home,
        &["policy", "show", "--repo", repo.to_str().unwrap(), "--json"],
    );
    let eff: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(eff["caps"]["max_cost_usd"], 2000.0, "{eff:#}");
    assert_eq!(eff["caps"]["max_wall"], "3h", "{eff:#}");
    assert_eq!(eff["caps"]["max_diff_lines"], 1000, "{eff:#}");
    // The first run merged the fix, so this one ends with no change; the
    // policy notes are written when it starts.
    let (_, out) = run(&home, d.path(), &["--replay-lenient"]);
    let notes_after = policy_notes(&show(&home, out["id"].as_str().unwrap()))
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    assert!(
        !notes_after.iter().any(|n| n.contains("max_cost_usd")),
        "{notes_after:#?}"
    );
    assert!(
        notes_after.iter().any(|n| n.contains("max_diff_lines")),
        "{notes_after:#?}"
    );
    // A cap that is not one, or a value that does not parse, is refused.
    for bad in ["max_cost=5", "max_wall=soon"] {
        let o = factory(&home, &["policy", "set", "--cap", bad]);
        assert_eq!(code(&o), 2, "{bad}");
        assert!(text(&o.stderr).contains("max_"), "{}", text(&o.stderr));
    }
}
