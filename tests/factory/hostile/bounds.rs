//! Class 6: host-side work is bounded. The run's wall budget holds while a
//! step is still running, and a plan whose scope globs would make a
//! backtracking matcher spin is matched in linear time.

use crate::fx::*;

/// The wall budget holds inside a step too: a test command that would run
/// for half a minute is cut off when the run's wall time (3 s) runs out,
/// and the run ends failed, saying why, instead of waiting for it.
#[test]
fn the_wall_budget_cuts_off_a_step_that_is_still_running() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let toml = std::fs::read_to_string(repo.join("factory.toml"))
        .unwrap()
        .replace("/usr/bin/python3 -m unittest -v", "/bin/sleep 30")
        .replace("max_attempts = 3", "max_attempts = 3\nmax_wall = \"3s\"");
    set_config(&repo, &toml);
    let (c, out) = run(&home, d.path(), &["--replay-lenient"]);
    assert_eq!(c, 1, "{out}");
    assert_eq!(out["status"], "failed");
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("budget: the run's wall time (3s) ran out"),
        "{reason}"
    );
    let v = show(&home, out["id"].as_str().unwrap());
    assert_eq!(v["run"]["status"], "failed");
}

/// Globs a repository controls, against names a coder chooses: a
/// forbidden path and a low-risk path of thirty `*` each, matched against
/// names of a hundred `a`s, would keep a backtracking matcher busy for longer than
/// the universe has existed. (No review: its checks would send the
/// forbidden file back before the gates see it.) The run ends normally, within its wall budget
/// (the watchdog would end the process otherwise), and the matches are
/// right: the name ending in `b` is forbidden, the other is not.
#[test]
fn hostile_globs_are_matched_in_linear_time() {
    let home = shared_home();
    let d = tempfile::tempdir().unwrap();
    let repo = example(d.path());
    let evil = format!("{}b", "*a".repeat(30));
    let toml = std::fs::read_to_string(repo.join("factory.toml"))
        .unwrap()
        .replace("max_attempts = 3", "max_attempts = 3\nmax_wall = \"120s\"");
    set_config(
        &repo,
        &format!(
            "{toml}\n[pipeline]\nreview = false\n\n[gates]\nforbidden_paths = [\"{evil}\"]\nlow_risk_paths = [\"{evil}\"]\n"
        ),
    );
    let mut s = session(d.path());
    let coder = exchange_mut(&mut s, "fix-mean/coder/1", 1);
    let mut calls = reply_calls(coder);
    let long = "a".repeat(100);
    for name in [format!("{long}.txt"), format!("{long}b")] {
        calls.push((
            "write-file".into(),
            serde_json::json!({"path": name, "content": "x\n"}),
        ));
    }
    let calls: Vec<(&str, serde_json::Value)> =
        calls.iter().map(|(n, a)| (n.as_str(), a.clone())).collect();
    coder["response"] = reply("", &calls);
    save_session(d.path(), &s);
    let (c, out) = run(&home, d.path(), &[]);
    assert_eq!(c, 0, "{out:#}");
    let forbidden = gate(&out, "forbidden-paths");
    assert_eq!(forbidden["passed"], false, "{forbidden}");
    let evidence = forbidden["evidence"].as_str().unwrap();
    assert!(evidence.contains(&format!("{long}b")), "{evidence}");
    assert!(!evidence.contains(&format!("{long}.txt")), "{evidence}");
    assert_eq!(out["result"]["delivery"], "draft", "{out:#}");
}
