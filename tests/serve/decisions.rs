//! The human decisions: approve (merges once, after the gates pass again
//! against the target branch as it is then), reject, cancel.

use super::*;

use common::git;

fn commit_file(repo: &Path, file: &str, text: &str, message: &str) -> String {
    std::fs::write(repo.join(file), text).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
    common::main_head(repo)
}

#[test]
fn approve_rechecks_the_gates_against_the_current_target_and_merges_once() {
    let s = Serve::start();
    let (_, run) = s.draft();
    let approve = format!("/api/runs/{run}/approve");
    let (code, r) = s.api("POST", "/api/runs/r-none/approve", "");
    assert_eq!(code, 404, "{r}");

    // main moved in a way that conflicts with the change: refused.
    let start = common::main_head(&s.repo);
    let calc = std::fs::read_to_string(s.repo.join("calc.py")).unwrap();
    let conflicting = commit_file(
        &s.repo,
        "calc.py",
        &calc.replace(
            "return sum(xs) / len(xs)",
            "return sum(xs) / max(len(xs), 1)",
        ),
        "someone else fixed it their way",
    );
    let (code, r) = s.api("POST", &approve, "");
    assert_eq!(code, 409, "{r}");
    assert!(r["error"].as_str().unwrap().contains("conflicts"), "{r}");
    assert_eq!(common::main_head(&s.repo), conflicting, "nothing merged");
    git(&s.repo, &["reset", "-q", "--hard", &start]);

    // main moved and its tests now fail: the gates, run again on the change
    // merged with it, refuse.
    let broken = commit_file(
        &s.repo,
        "test_extra.py",
        "import unittest\n\nclass Extra(unittest.TestCase):\n    def test_fails(self):\n        self.assertEqual(1, 2)\n",
        "a failing test",
    );
    let (code, r) = s.api("POST", &approve, "");
    assert_eq!(code, 409, "{r}");
    let failed: Vec<&str> = r["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["passed"] == false)
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"tests-pass"), "{r}");
    assert_eq!(common::main_head(&s.repo), broken, "nothing merged");
    git(&s.repo, &["reset", "-q", "--hard", &start]);

    // main moved harmlessly: approved, merged on top of it.
    let moved = commit_file(&s.repo, "NOTES.md", "notes\n", "notes");
    let (code, r) = s.api("POST", &approve, "");
    assert_eq!(
        (code, &r["outcome"]),
        (200, &json!("merged")),
        "{r}\n{}",
        s.log()
    );
    let merged = r["commit"].as_str().unwrap().to_string();
    assert_eq!(common::main_head(&s.repo), merged);
    git(&s.repo, &["merge-base", "--is-ancestor", &moved, &merged]);
    let fixed = git(&s.repo, &["show", "main:calc.py"]);
    assert_ne!(fixed, calc, "the change is on main");
    assert!(
        r["gates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["passed"] == true),
        "{r}"
    );
    let (_, v) = s.api("GET", &format!("/api/runs/{run}"), "");
    let res = &v["run"]["result"];
    assert_eq!(
        (res["delivery"].as_str(), res["merge_commit"].as_str()),
        (Some("merged"), Some(merged.as_str()))
    );
    assert_eq!(res["decision"]["action"], "approved");

    // Approving again merges nothing more; rejecting now is too late.
    let (code, r) = s.api("POST", &approve, "");
    assert_eq!(
        (code, &r["outcome"]),
        (200, &json!("already-merged")),
        "{r}"
    );
    assert_eq!(common::main_head(&s.repo), merged);
    let (code, r) = s.api("POST", &format!("/api/runs/{run}/reject"), "");
    assert_eq!(code, 409, "{r}");
}

#[test]
fn a_rejected_draft_is_never_merged() {
    let s = Serve::start();
    let before = common::main_head(&s.repo);
    let (_, run) = s.draft();
    let (code, r) = s.api(
        "POST",
        &format!("/api/runs/{run}/reject"),
        r#"{"reason": "not this way"}"#,
    );
    assert_eq!((code, &r["outcome"]), (200, &json!("rejected")), "{r}");
    let (code, r) = s.api("POST", &format!("/api/runs/{run}/approve"), "");
    assert_eq!(code, 409, "{r}");
    assert!(r["error"].as_str().unwrap().contains("rejected"), "{r}");
    let (code, _) = s.api("POST", &format!("/api/runs/{run}/reject"), "");
    assert_eq!(code, 409);
    assert_eq!(common::main_head(&s.repo), before);
    let (_, v) = s.api("GET", &format!("/api/runs/{run}"), "");
    let d = &v["run"]["result"]["decision"];
    assert_eq!(
        (d["action"].as_str(), d["note"].as_str()),
        (Some("rejected"), Some("not this way")),
        "{v}"
    );
}

#[test]
fn cancel_stops_a_running_run_and_a_queued_task() {
    let s = Serve::with_workers(1);
    let (code, r) = s.deliver("issues", "d-1", &s.opened());
    assert_eq!(code, 202, "{r}");
    let id = r["task_id"].as_str().unwrap().to_string();
    // Waiting behind it (one worker).
    let (code, r) = s.api(
        "POST",
        "/api/tasks",
        "# Document mean()\n\nSay what it returns.\n",
    );
    assert_eq!(code, 202, "{r}");
    let queued = r["task_id"].as_str().unwrap().to_string();
    let running = s.wait_task(&id, |t| t["run_id"].is_string());
    let run = running["run_id"].as_str().unwrap().to_string();
    let (code, r) = s.api("POST", &format!("/api/tasks/{queued}/cancel"), "");
    assert_eq!((code, &r["was"]), (200, &json!("queued")), "{r}");
    let (code, r) = s.api("POST", &format!("/api/runs/{run}/cancel"), "");
    assert_eq!((code, &r["was"]), (200, &json!("running")), "{r}");

    let t = s.finished(&id);
    assert_eq!(t["state"], "cancelled", "{t}");
    let (_, v) = s.api("GET", &format!("/api/runs/{run}"), "");
    assert_eq!(v["run"]["status"], "failed", "{}", v["run"]);
    assert!(
        v["run"]["reason"]
            .as_str()
            .unwrap()
            .contains("cancelled by the API")
    );
    let steps = v["steps"].as_array().unwrap().len();
    std::thread::sleep(Duration::from_millis(1500));
    let (_, v) = s.api("GET", &format!("/api/runs/{run}"), "");
    assert_eq!(
        v["steps"].as_array().unwrap().len(),
        steps,
        "the run stopped"
    );
    let (_, q) = s.api("GET", &format!("/api/tasks/{queued}"), "");
    assert_eq!(
        (q["state"].as_str(), &q["run_id"]),
        (Some("cancelled"), &Value::Null),
        "never ran: {q}"
    );
    // Ended work cannot be cancelled again.
    let (code, _) = s.api("POST", &format!("/api/runs/{run}/cancel"), "");
    assert_eq!(code, 409);
    let (code, _) = s.api("POST", "/api/tasks/t-000000000000/cancel", "");
    assert_eq!(code, 404);
}

#[test]
fn a_merge_made_just_before_a_crash_is_found_not_made_again() {
    let s = Serve::start();
    let (_, run) = s.draft();
    let (_, v) = s.api("GET", &format!("/api/runs/{run}"), "");
    let tip = v["run"]["result"]["tip"].as_str().unwrap().to_string();
    // The service merged the draft, then died before it could record it.
    git(&s.repo, &["merge", "--ff-only", "-q", &tip]);
    let head = common::main_head(&s.repo);
    let (code, r) = s.api("POST", &format!("/api/runs/{run}/approve"), "");
    assert_eq!(
        (code, &r["outcome"], r["commit"].as_str()),
        (200, &json!("already-merged"), Some(head.as_str())),
        "{r}"
    );
    assert_eq!(common::main_head(&s.repo), head, "no second merge");
    let (_, v) = s.api("GET", &format!("/api/runs/{run}"), "");
    assert_eq!(v["run"]["result"]["delivery"], "merged", "now recorded");
}
