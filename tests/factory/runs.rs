//! Runs end to end on example repositories, through the CLI: the feedback
//! loop, a blocked run, a crash and resume, parallel subtasks with a merge
//! conflict, each trust level's stopping point, a budget running out.

use crate::fx::*;
use serde_json::{Value, json};

#[test]
fn the_demo_loop_merges_after_one_feedback_round() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let o = factory(
        &home,
        &["demo", "--dir", d.path().to_str().unwrap(), "--json"],
    );
    assert_eq!(code(&o), 0, "{}{}", text(&o.stdout), text(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["status"], "done");
    assert_eq!(out["result"]["delivery"], "merged");
    assert!(out["tokens"].as_u64().unwrap() > 10_000);
    assert!(out["cost_usd"].as_f64().unwrap() > 0.0);
    let v = show(&home, out["id"].as_str().unwrap());
    // The replay was strict, so every tool result the roles saw is the
    // recorded one; none of their own work was denied.
    assert_no_denials(&v);
    assert_one_feedback_round(&v, "fix-mean");
    // The first test run failed on test_mean and said so.
    let t1 = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["task_id"] == "fix-mean" && s["role"] == "tester")
        .unwrap();
    assert!(t1["detail"].as_str().unwrap().contains("test_mean"), "{t1}");
    // Four gates passed, each with its evidence.
    let gates = v["run"]["result"]["gates"].as_array().unwrap();
    assert_eq!(gates.len(), 5);
    assert!(
        gates
            .iter()
            .all(|g| g["passed"] == true && !g["evidence"].as_str().unwrap().is_empty())
    );
    // Every model call is journaled with its tokens and cost.
    let calls = v["model_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 10);
    assert!(calls.iter().all(|c| c["outcome"] == "ok"
        && c["provider"] == "replay"
        && c["cost_micro_usd"].as_u64().unwrap() > 0));
    // The change is on main, docs included; the worktrees are gone.
    let repo = d.path().join("calc");
    let calc = std::fs::read_to_string(repo.join("calc.py")).unwrap();
    assert!(calc.contains("sum(xs) / len(xs) if xs else 0"), "{calc}");
    assert!(
        std::fs::read_to_string(repo.join("CHANGELOG.md"))
            .unwrap()
            .contains("#42")
    );
    assert!(!git(&repo, &["worktree", "list"]).contains("/runs/"));
    // The report is self-contained HTML with the timeline, gates and diff.
    let html = std::fs::read_to_string(out["report"].as_str().unwrap()).unwrap();
    for needle in [
        "<h2>Timeline</h2>",
        "<h2>Gates and delivery</h2>",
        "<h2>Diff</h2>",
        "sum(xs) / len(xs) if xs else 0",
        "coder #2",
        "demo-model",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    assert!(!html.contains("<script"), "no scripts, no server");
    // `factory report` writes it anywhere; `runs` lists the run.
    let f = d.path().join("r.html");
    let o = factory(
        &home,
        &[
            "report",
            out["id"].as_str().unwrap(),
            "--html",
            f.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0);
    assert!(
        std::fs::read_to_string(&f)
            .unwrap()
            .contains("<h2>Diff</h2>")
    );
    let o = factory(&home, &["runs"]);
    assert!(text(&o.stdout).contains(out["id"].as_str().unwrap()));
    let o = factory(&home, &["runs", "show", out["id"].as_str().unwrap()]);
    let t = text(&o.stdout);
    assert!(
        t.contains("TIMELINE") && t.contains("coder#2") && t.contains("tok, $"),
        "{t}"
    );
}

#[test]
fn each_trust_level_stops_where_it_should() {
    let home = shared_home();
    // read-only: a suggested patch; nothing merged, no branch left.
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let before = git(&repo, &["rev-parse", "main"]);
    let (c, out) = run(&home, d.path(), &["--trust", "read-only"]);
    assert_eq!(c, 0, "{out}");
    assert_eq!(out["result"]["delivery"], "patch");
    let patch = std::fs::read_to_string(out["result"]["patch"].as_str().unwrap()).unwrap();
    assert!(
        patch.contains("+    return sum(xs) / len(xs) if xs else 0"),
        "{patch}"
    );
    assert_eq!(git(&repo, &["rev-parse", "main"]), before);
    assert!(!git(&repo, &["branch"]).contains("factory/"));

    // draft: a branch and a pull-request record for a human.
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let (c, out) = run(&home, d.path(), &["--trust", "draft"]);
    assert_eq!(c, 0, "{out}");
    assert_eq!(out["result"]["delivery"], "draft");
    let pr: Value = serde_json::from_str(
        &std::fs::read_to_string(out["result"]["pull_request"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(pr["title"], "mean() crashes on an empty list");
    assert_eq!(pr["base"], "main");
    assert!(pr["body"].as_str().unwrap().contains("tests-pass"));
    let branch = pr["head"].as_str().unwrap();
    assert!(git(&repo, &["show", &format!("{branch}:calc.py")]).contains("if xs else 0"));
    assert_eq!(git(&repo, &["rev-parse", "main"]), before_of(&repo));

    // auto-merge: calc.py is not a low-risk path, so it stays a draft.
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    let (c, out) = run(&home, d.path(), &["--trust", "auto-merge"]);
    assert_eq!(c, 0, "{out}");
    assert_eq!(out["result"]["delivery"], "draft");
    assert!(
        out["result"]["not_merged"]
            .as_str()
            .unwrap()
            .contains("not low-risk: calc.py"),
        "{out}"
    );

    // full without a [deploy] table is refused before anything runs.
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    let o = run_output(&home, d.path(), &["--trust", "full"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("[deploy]"), "{}", text(&o.stderr));
}

fn before_of(repo: &std::path::Path) -> String {
    git(repo, &["rev-parse", "main"])
}

#[test]
fn full_trust_deploys_and_rolls_back_a_failed_health_check() {
    let home = shared_home();
    for healthy in [true, false] {
        let d = tempfile::tempdir().unwrap();
        let repo = example(d.path());
        commit_files(
            &repo,
            &[
                (
                    "deploy.sh",
                    "echo \"$(cat calc.py | wc -l) lines\" > \"$1/deployed\"\n",
                ),
                ("rollback.sh", "echo rolled back > \"$1/rolled-back\"\n"),
            ],
            "deploy scripts",
        );
        let health = if healthy {
            "/bin/sh -c 'test -f {scratch}/deployed'"
        } else {
            "/bin/sh -c 'exit 7'"
        };
        configure(
            &repo,
            &format!(
                "\n[deploy]\ncommand = \"/bin/sh deploy.sh {{scratch}}\"\nhealth = \"{health}\"\nrollback = \"/bin/sh rollback.sh {{scratch}}\"\n"
            ),
        );
        // The recording was made on the repository without the deploy
        // scripts, so its listings differ: replay it leniently.
        let (c, out) = run(&home, d.path(), &["--trust", "full", "--replay-lenient"]);
        let deploy = &out["result"]["deploy"];
        assert_eq!(deploy["deployed"], true, "{out}");
        if healthy {
            assert_eq!(c, 0, "{out}");
            assert_eq!(deploy["healthy"], true);
            assert_eq!(deploy["rolled_back"], false);
        } else {
            assert_eq!(c, 1, "{out}");
            assert_eq!(out["status"], "failed");
            assert!(out["reason"].as_str().unwrap().contains("health check"));
            assert_eq!(deploy["healthy"], false);
            assert_eq!(deploy["rolled_back"], true);
        }
    }
}

#[test]
fn a_failure_that_repeats_blocks_the_run_instead_of_looping() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    // The second attempt writes the same broken code again.
    let mut s = session(d.path());
    let first_write = s
        .iter()
        .find(|x| x["stream"] == "fix-mean/coder/1" && x["seq"] == 1)
        .unwrap()["response"]
        .clone();
    s.retain(|x| x["stream"] != "fix-mean/coder/2");
    s.push(exchange("fix-mean/coder/2", 0, first_write));
    s.push(exchange("fix-mean/coder/2", 1, reply("Fixed it.", &[])));
    save_session(d.path(), &s);
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 1, "{out}");
    assert_eq!(out["status"], "blocked");
    assert!(
        out["reason"]
            .as_str()
            .unwrap()
            .contains("same failure came back"),
        "{out}"
    );
    let v = show(&home, out["id"].as_str().unwrap());
    let s = steps(&v);
    assert_eq!(
        s.iter().filter(|x| x.contains("coder#")).count(),
        2,
        "{s:#?}"
    );
    assert!(s.contains(&"fix-mean loop blocked".to_string()), "{s:#?}");
    let t = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "fix-mean")
        .unwrap();
    assert_eq!(t["status"], "blocked");

    // Resumed, the blocked task gets one more try (here, a good one).
    let mut sess = session(d.path());
    let good = sess
        .iter()
        .find(|x| x["stream"] == "fix-mean/coder/1" && x["seq"] == 1)
        .unwrap()["response"]
        .to_string()
        .replace("sum(xs) // len(xs)", "sum(xs) / len(xs)");
    sess.push(exchange(
        "fix-mean/coder/3",
        0,
        serde_json::from_str(&good).unwrap(),
    ));
    sess.push(exchange(
        "fix-mean/coder/3",
        1,
        reply("True division this time.", &[]),
    ));
    save_session(d.path(), &sess);
    let o = factory(&home, &["resume", out["id"].as_str().unwrap(), "--json"]);
    assert_eq!(code(&o), 0, "{}{}", text(&o.stdout), text(&o.stderr));
    let v = show(&home, out["id"].as_str().unwrap());
    let s = steps(&v);
    assert!(s.contains(&"fix-mean coder#3 ok".to_string()), "{s:#?}");
    assert_eq!(v["run"]["status"], "done");

    // With one attempt allowed, the first failure is the end.
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let toml = std::fs::read_to_string(repo.join("factory.toml"))
        .unwrap()
        .replace("max_attempts = 3", "max_attempts = 1");
    set_config(&repo, &toml);
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 1);
    assert!(
        out["reason"]
            .as_str()
            .unwrap()
            .contains("still failing after 1 attempts"),
        "{out}"
    );
}

#[test]
fn a_budget_running_out_mid_run_stops_it() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    // The architect spends 2040 tokens; the coder's second call is refused.
    let toml = std::fs::read_to_string(repo.join("factory.toml"))
        .unwrap()
        .replace("max_cost_usd = 0.50", "max_tokens = 2500");
    set_config(&repo, &toml);
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 1, "{out}");
    assert_eq!(out["status"], "failed");
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("budget:") && reason.contains("token budget exhausted"),
        "{reason}"
    );
    let v = show(&home, out["id"].as_str().unwrap());
    let refused: Vec<&Value> = v["model_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["outcome"] == "budget")
        .collect();
    assert_eq!(refused.len(), 1, "{:#?}", v["model_calls"]);
    assert_eq!(refused[0]["role"], "coder");
    assert!(
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "limit" && e["capability"] == "model")
    );
    // Spent never exceeds the budget by more than the one call in flight.
    assert!(out["tokens"].as_u64().unwrap() < 2500 + 1400);
}

#[test]
fn a_killed_run_resumes_without_redoing_finished_steps() {
    // A fresh home: compiling the coder on first use leaves time to kill
    // the run after its plan is done.
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path().join("home");
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    allow_trust(&home, &repo, "scoped");
    let issue = d.path().join("calc-issue.json");
    let mut child = std::process::Command::new(BIN)
        .args([
            "run",
            issue.to_str().unwrap(),
            "--repo",
            repo.to_str().unwrap(),
        ])
        .env("FACTORY_HOME", &home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let db = home.join("factory.db");
    let started = std::time::Instant::now();
    let id = loop {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the plan never finished"
        );
        if let Ok(conn) = rusqlite::Connection::open(&db) {
            let r: Result<String, _> = conn.query_row(
                "SELECT run_id FROM tasks WHERE id='@plan' AND status='done'",
                [],
                |r| r.get(0),
            );
            if let Ok(id) = r {
                break id;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    child.kill().unwrap();
    let _ = child.wait();
    let v = show(&home, &id);
    assert_eq!(
        v["run"]["status"], "running",
        "killed, so never marked finished"
    );
    let o = factory(&home, &["resume", &id, "--json"]);
    assert_eq!(code(&o), 0, "{}{}", text(&o.stdout), text(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["result"]["delivery"], "merged");
    let v = show(&home, &id);
    let s = steps(&v);
    assert_eq!(
        s.iter().filter(|x| x.contains("architect#")).count(),
        1,
        "the plan is not redone: {s:#?}"
    );
    assert_eq!(
        s.iter()
            .filter(|x| x.starts_with("fix-mean coder#1"))
            .count(),
        1,
        "{s:#?}"
    );
    assert_eq!(
        s.iter()
            .filter(|x| x.starts_with("fix-mean coder#2"))
            .count(),
        1,
        "{s:#?}"
    );
    assert!(s.contains(&"@run note ok".to_string()));
    // A finished run cannot be resumed.
    let o = factory(&home, &["resume", &id]);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("already done"));
}

/// A project with two modules and a plan of two parallel subtasks that
/// both add a line to CHANGELOG.md, which no subtask declares.
fn two_module_project(dir: &std::path::Path) -> std::path::PathBuf {
    let repo = example(dir);
    commit_files(
        &repo,
        &[
            ("stats.py", "def total(xs):\n    return sum(xs)\n"),
            ("CHANGELOG.md", "# Changelog\n\n## Unreleased\n"),
        ],
        "stats",
    );
    let toml = std::fs::read_to_string(repo.join("factory.toml")).unwrap();
    set_config(&repo, &format!("{toml}\n[pipeline]\ndocs = false\n"));
    let plan = json!({"summary": "two changes", "subtasks": [
        {"id": "calc", "title": "mean of empty", "instructions": "fix mean", "scope": ["calc.py"], "depends_on": []},
        {"id": "stats", "title": "count", "instructions": "add count", "scope": ["stats.py"], "depends_on": []},
    ]});
    let calc = std::fs::read_to_string(repo.join("calc.py"))
        .unwrap()
        .replace(
            "return sum(xs) / len(xs)",
            "return sum(xs) / len(xs) if xs else 0",
        );
    let log = |line: &str| format!("# Changelog\n\n## Unreleased\n\n- {line}\n");
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
                &[
                    ("write-file", json!({"path": "calc.py", "content": calc})),
                    (
                        "write-file",
                        json!({"path": "CHANGELOG.md", "content": log("mean([]) is 0")}),
                    ),
                ],
            ),
        ),
        exchange("calc/coder/1", 1, reply("mean fixed", &[])),
        exchange(
            "stats/coder/1",
            0,
            reply(
                "",
                &[
                    (
                        "write-file",
                        json!({"path": "stats.py", "content": "def total(xs):\n    return sum(xs)\n\n\ndef count(xs):\n    return len(xs)\n"}),
                    ),
                    (
                        "write-file",
                        json!({"path": "CHANGELOG.md", "content": log("count()")}),
                    ),
                ],
            ),
        ),
        exchange("stats/coder/1", 1, reply("count added", &[])),
        // Sent back after the conflict: the tree now has calc's entry.
        exchange(
            "stats/coder/2",
            0,
            reply(
                "",
                &[
                    (
                        "write-file",
                        json!({"path": "stats.py", "content": "def total(xs):\n    return sum(xs)\n\n\ndef count(xs):\n    return len(xs)\n"}),
                    ),
                    (
                        "write-file",
                        json!({"path": "CHANGELOG.md", "content": "# Changelog\n\n## Unreleased\n\n- mean([]) is 0\n- count()\n"}),
                    ),
                ],
            ),
        ),
        exchange("stats/coder/2", 1, reply("count added on top of calc", &[])),
        exchange(
            "@review/reviewer/1",
            0,
            reply(
                "{\"verdict\": \"approve\", \"summary\": \"fine\", \"comments\": []}",
                &[],
            ),
        ),
    ];
    save_session(dir, &s);
    // The spec: a factory.task/v1 document, taken as is.
    let task = json!({
        "schema": "factory.task/v1",
        "title": "mean of an empty list, and count()",
        "intent": "mean([]) returns 0; add count(xs).",
        "acceptance_criteria": ["mean([]) == 0", "count([1, 2]) == 2"],
        "scope": ["calc.py", "stats.py", "CHANGELOG.md"],
        "priority": "normal",
        "source": {"format": "task", "ref": "test"},
    });
    std::fs::write(dir.join("calc-issue.json"), task.to_string()).unwrap();
    repo
}

#[test]
fn parallel_subtasks_merge_and_a_conflict_goes_back_to_the_coder() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = two_module_project(d.path());
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 0, "{out}");
    assert_eq!(out["result"]["delivery"], "merged", "{out}");
    let v = show(&home, out["id"].as_str().unwrap());
    let summaries: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["summary"].as_str().unwrap())
        .collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.contains("starting 2 subtasks in parallel: calc, stats")),
        "{summaries:#?}"
    );
    let s = steps(&v);
    assert!(s.contains(&"calc merge ok".to_string()), "{s:#?}");
    assert!(s.contains(&"stats merge conflict".to_string()), "{s:#?}");
    assert!(s.contains(&"stats coder#2 ok".to_string()), "{s:#?}");
    assert!(
        summaries
            .iter()
            .any(|s| s.contains("no subtask declares: CHANGELOG.md"))
    );
    let log = std::fs::read_to_string(repo.join("CHANGELOG.md")).unwrap();
    assert!(log.contains("- mean([]) is 0\n- count()"), "{log}");
    assert!(
        std::fs::read_to_string(repo.join("stats.py"))
            .unwrap()
            .contains("def count")
    );
}

#[test]
fn requested_changes_go_back_to_the_coder_then_to_review_again() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let mut s = session(d.path());
    s.retain(|x| x["stream"] != "@review/reviewer/1");
    let changes = json!({"verdict": "request-changes", "summary": "the docstring does not say what [] gives",
        "comments": [{"path": "calc.py", "line": 10, "message": "say that mean([]) is 0"}]});
    s.push(exchange(
        "@review/reviewer/1",
        0,
        reply(&changes.to_string(), &[]),
    ));
    let fixed = std::fs::read_to_string(examples().join("calc/calc.py")).unwrap().replace(
        "\"\"\"The arithmetic mean of xs.\"\"\"\n    return sum(xs) / len(xs)",
        "\"\"\"The arithmetic mean of xs; mean([]) is 0.\"\"\"\n    return sum(xs) / len(xs) if xs else 0",
    );
    assert!(fixed.contains("mean([]) is 0"));
    s.push(exchange(
        "@review/coder/2",
        0,
        reply(
            "",
            &[("write-file", json!({"path": "calc.py", "content": fixed}))],
        ),
    ));
    s.push(exchange(
        "@review/coder/2",
        1,
        reply("The docstring says what an empty list gives.", &[]),
    ));
    s.push(exchange(
        "@review/reviewer/2",
        0,
        reply("{\"verdict\": \"approve\", \"summary\": \"good now\"}", &[]),
    ));
    save_session(d.path(), &s);
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 0, "{out}");
    assert_eq!(out["result"]["delivery"], "merged");
    let v = show(&home, out["id"].as_str().unwrap());
    let st = steps(&v);
    let at = |w: &str| {
        st.iter()
            .position(|x| x == w)
            .unwrap_or_else(|| panic!("{w} missing: {st:#?}"))
    };
    assert!(at("@review reviewer#1 ok") < at("@review coder#2 ok"));
    assert!(at("@review coder#2 ok") < at("@review tester#2 ok"));
    assert!(at("@review tester#2 ok") < at("@review reviewer#2 ok"));
    let review = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "@review")
        .unwrap();
    assert!(
        review["data"]["feedback"][0]["details"]
            .as_str()
            .unwrap()
            .contains("calc.py:10: say that mean([]) is 0"),
        "{review}"
    );
    assert!(
        std::fs::read_to_string(repo.join("calc.py"))
            .unwrap()
            .contains("mean([]) is 0")
    );
    // The agents' stated reasons are in the journal, turn by turn.
    let said: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "log" && e["plugin"] == "coder")
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        said.iter()
            .any(|m| m.contains("The docstring says what an empty list gives.")),
        "{said:#?}"
    );
    assert!(
        said.iter().any(|m| m.contains("[calls write-file]")),
        "{said:#?}"
    );
}

/// Strict replay through the CLI: when a tool returns something else than
/// it did when the session was recorded, the run stops at that call with
/// the difference, and no later step runs.
#[test]
fn a_tool_result_that_drifted_from_the_recording_stops_the_run() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    // The architect's read-file of calc.py now returns other contents.
    let calc = std::fs::read_to_string(repo.join("calc.py")).unwrap();
    std::fs::write(
        repo.join("calc.py"),
        calc.replace("Divide a by b.", "Divide a by b!"),
    )
    .unwrap();
    git(&repo, &["commit", "-qam", "drift"]);
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 1, "{out}");
    assert_eq!(out["status"], "failed");
    let reason = out["reason"].as_str().unwrap();
    for want in [
        "replay mismatch",
        "stream \"@plan/architect/1\" call #1",
        "the tool result of call call_a1 (read-file",
        "Divide a by b.",
        "Divide a by b!",
        "--replay-lenient",
    ] {
        assert!(reason.contains(want), "{want:?} not in {reason}");
    }
    let v = show(&home, out["id"].as_str().unwrap());
    let s = steps(&v);
    assert!(
        !s.iter().any(|x| x.contains("coder")),
        "nothing ran after the mismatch: {s:#?}"
    );
    assert!(
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "halt"),
        "the halt is journaled"
    );
    // The same run with --replay-lenient plays the recording anyway.
    let (c, out) = run(&home, d.path(), &["--replay-lenient"]);
    assert_eq!(c, 0, "{out}");
    assert_eq!(out["result"]["delivery"], "merged");
}
