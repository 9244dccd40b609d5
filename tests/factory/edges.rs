//! The pipeline's feedback edges: `on_test_failure` and
//! `on_changes_requested` set to "stop" end the run blocked wherever the
//! failure comes (a subtask's tests, the integration tests, the tests after
//! a review round, the review itself), saying which setting stopped it;
//! set to "coder" (the default) they send the failure back as work.

use crate::fx::*;
use serde_json::json;

fn set_pipeline(repo: &std::path::Path, pipeline: &str) {
    let toml = std::fs::read_to_string(repo.join("factory.toml")).unwrap();
    set_config(repo, &format!("{toml}\n[pipeline]\n{pipeline}\n"));
}

fn assert_stopped_by(out: &serde_json::Value, task: &str, setting: &str) {
    assert_eq!(out["status"], "blocked", "{out:#}");
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("{task}: "))
            && reason.ends_with(&format!("[pipeline] {setting} = \"stop\"")),
        "{reason}"
    );
}

/// Two subtasks that each pass alone and fail together: the integration
/// tests fail, and with `on_test_failure = "stop"` no coder is sent.
#[test]
fn integration_test_failures_stop_when_told_to() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    commit_files(
        &repo,
        &[
            ("stats.py", "def total(xs):\n    return sum(xs)\n"),
            (
                "test_combo.py",
                "import unittest\n\nimport calc\nimport stats\n\n\nclass TestCombo(unittest.TestCase):\n    def test_not_both(self):\n        self.assertFalse(hasattr(calc, \"A\") and hasattr(stats, \"B\"))\n",
            ),
        ],
        "stats",
    );
    set_pipeline(&repo, "on_test_failure = \"stop\"\ndocs = false");
    let plan = json!({"summary": "two changes", "subtasks": [
        {"id": "calc", "title": "A", "instructions": "add A", "scope": ["calc.py"], "depends_on": []},
        {"id": "stats", "title": "B", "instructions": "add B", "scope": ["stats.py"], "depends_on": []},
    ]});
    let calc = std::fs::read_to_string(repo.join("calc.py")).unwrap() + "\nA = 1\n";
    let s = vec![
        exchange(
            "@plan/architect/1",
            0,
            reply(&format!("```json\n{plan}\n```"), &[]),
        ),
        exchange(
            "calc/coder/1",
            0,
            reply(
                "",
                &[("write-file", json!({"path": "calc.py", "content": calc}))],
            ),
        ),
        exchange("calc/coder/1", 1, reply("A added", &[])),
        exchange(
            "stats/coder/1",
            0,
            reply(
                "",
                &[(
                    "write-file",
                    json!({"path": "stats.py", "content": "def total(xs):\n    return sum(xs)\n\n\nB = 1\n"}),
                )],
            ),
        ),
        exchange("stats/coder/1", 1, reply("B added", &[])),
    ];
    save_session(d.path(), &s);
    let task = json!({
        "schema": "factory.task/v1",
        "title": "A and B",
        "intent": "add A to calc and B to stats",
        "acceptance_criteria": ["A exists", "B exists"],
        "scope": ["calc.py", "stats.py"],
        "priority": "normal",
        "source": {"format": "task", "ref": "test"},
    });
    std::fs::write(d.path().join("calc-issue.json"), task.to_string()).unwrap();
    let main_before = git(&repo, &["rev-parse", "main"]);
    let (c, out) = run(&home, d.path(), &[]);
    let v = show(&home, out["id"].as_str().unwrap());
    assert_eq!(c, 1, "{out:#}");
    assert_eq!(out["status"], "blocked", "{:#?}", v["steps"]);
    assert_stopped_by(&out, "@integrate", "on_test_failure");
    let s = steps(&v);
    assert!(s.contains(&"calc tester#1 ok".to_string()), "{s:#?}");
    assert!(s.contains(&"stats tester#1 ok".to_string()), "{s:#?}");
    assert!(s.contains(&"@integrate tester#1 ok".to_string()), "{s:#?}");
    assert!(
        !s.iter().any(|x| x.starts_with("@integrate coder")),
        "{s:#?}"
    );
    assert_eq!(git(&repo, &["rev-parse", "main"]), main_before);
}

/// The reviewer asks for changes; the coder's answer breaks the tests.
/// With `on_changes_requested = "stop"` the run stops at the request; with
/// the default edge and `on_test_failure = "stop"`, at the broken tests.
#[test]
fn review_edges_stop_when_told_to() {
    let home = shared_home();
    for (pipeline, setting) in [
        ("on_changes_requested = \"stop\"", "on_changes_requested"),
        ("on_test_failure = \"stop\"", "on_test_failure"),
    ] {
        let d = tempfile::tempdir().unwrap();
        let repo = example(d.path());
        set_pipeline(&repo, pipeline);
        let mut s = session(d.path());
        // The first attempt passes: the recorded second attempt's code.
        let second = exchange_mut(&mut s, "fix-mean/coder/2", 0)["response"].clone();
        exchange_mut(&mut s, "fix-mean/coder/1", 1)["response"] = second;
        exchange_mut(&mut s, "@review/reviewer/1", 0)["response"] = reply(
            "{\"verdict\": \"request-changes\", \"summary\": \"use floor division\", \"comments\": [{\"path\": \"calc.py\", \"line\": 11, \"message\": \"use //\"}]}",
            &[],
        );
        let calc = std::fs::read_to_string(repo.join("calc.py"))
            .unwrap()
            .replace("return sum(xs) / len(xs)", "return sum(xs) // len(xs)");
        s.push(exchange(
            "@review/coder/2",
            0,
            reply(
                "",
                &[("write-file", json!({"path": "calc.py", "content": calc}))],
            ),
        ));
        s.push(exchange("@review/coder/2", 1, reply("floor division", &[])));
        save_session(d.path(), &s);
        let (c, out) = run(&home, d.path(), &[]);
        assert_eq!(c, 1, "{pipeline}: {out:#}");
        assert_stopped_by(&out, "@review", setting);
        let v = show(&home, out["id"].as_str().unwrap());
        let s = steps(&v);
        let coder_rounds = s.iter().filter(|x| x.starts_with("@review coder")).count();
        let want = if setting == "on_changes_requested" {
            0
        } else {
            1
        };
        assert_eq!(coder_rounds, want, "{pipeline}: {s:#?}");
        assert!(
            !s.iter().any(|x| x.starts_with("@review reviewer#2")),
            "{s:#?}"
        );
    }
}

/// `runs show` and the report say which pipeline a run was held to; a run
/// resumed after one of its roles was removed is refused before anything
/// runs, naming the role.
#[test]
fn the_pipeline_is_shown_and_checked_again_on_resume() {
    let (_home_dir, home, d, repo) = with_role("factory-test-lying-tester", "liar", "tester");
    set_pipeline(&repo, "on_changes_requested = \"stop\"");
    let mut s = session(d.path());
    exchange_mut(&mut s, "@review/reviewer/1", 0)["response"] = reply(
        "{\"verdict\": \"request-changes\", \"summary\": \"no\", \"comments\": []}",
        &[],
    );
    save_session(d.path(), &s);
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 1, "{out:#}");
    let id = out["id"].as_str().unwrap();
    let o = factory(&home, &["runs", "show", id]);
    let shown = text(&o.stdout);
    for want in [
        "pipeline  plan: architect `architect`",
        "then tester `liar` runs `/usr/bin/python3 -m unittest -v`",
        "review: reviewer `reviewer`; changes requested: stop (blocked)",
    ] {
        assert!(shown.contains(want), "{want}:\n{shown}");
    }
    assert!(show(&home, id)["pipeline"].as_array().unwrap().len() >= 6);
    let report = std::fs::read_to_string(out["report"].as_str().unwrap()).unwrap();
    assert!(report.contains("<h2>Pipeline</h2>"));

    let o = factory(&home, &["plugin", "remove", "liar"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let o = factory(&home, &["resume", id]);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("[roles] tester = \"liar\": no plugin named `liar` is installed"),
        "{}",
        text(&o.stderr)
    );
}
