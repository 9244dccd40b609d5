//! GitHub deliveries: signatures, events, dedupe and linking, and a
//! labelled issue carried through to a run.

use super::*;

#[test]
fn a_labelled_issue_becomes_one_run_and_redeliveries_do_not_run_again() {
    let s = Serve::start();
    let before = common::main_head(&s.repo);
    let (code, r) = s.deliver("issues", "d-1", &s.opened());
    assert_eq!(code, 202, "{r}");
    let task = r["task_id"].as_str().unwrap().to_string();
    assert_eq!(r["outcome"], "queued");

    // The same delivery again: 200, the same task.
    let (code, r) = s.deliver("issues", "d-1", &s.opened());
    assert_eq!(
        (code, r["task_id"].as_str()),
        (200, Some(task.as_str())),
        "{r}"
    );
    assert_eq!(r["outcome"], "duplicate");
    // The same issue under a new delivery (labelled again): linked to it.
    let mut labeled = s.opened();
    labeled["action"] = json!("labeled");
    labeled["label"] = json!({"name": "bug"});
    let (code, r) = s.deliver("issues", "d-2", &labeled);
    assert_eq!(
        (code, r["task_id"].as_str()),
        (200, Some(task.as_str())),
        "{r}"
    );
    assert_eq!(r["outcome"], "linked");

    let t = s.finished(&task);
    assert_eq!(t["state"], "done", "{t}\n{}", s.log());
    assert_eq!(t["source"], "github");
    assert_eq!(t["subject"], "github:acme/calc#42");
    assert_eq!(t["linked"], json!(["github:d-2"]));
    let run_id = t["run_id"].as_str().unwrap();
    let (code, run) = s.api("GET", &format!("/api/runs/{run_id}"), "");
    assert_eq!(code, 200, "{run}");
    assert_eq!(run["run"]["status"], "done", "{}", run["run"]);
    assert!(!run["steps"].as_array().unwrap().is_empty(), "the timeline");
    assert_eq!(run["run"]["trust"], "draft", "the service's cap");
    assert_eq!(run["run"]["result"]["delivery"], "draft");
    let (_, runs) = s.api("GET", "/api/runs", "");
    assert_eq!(runs.as_array().unwrap().len(), 1, "one run: {runs}");
    let (_, tasks) = s.api("GET", "/api/tasks", "");
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    assert_eq!(
        common::main_head(&s.repo),
        before,
        "a draft leaves main alone"
    );
}

#[test]
fn bad_signatures_store_nothing_and_bad_payloads_are_refused() {
    let s = Serve::start();
    let body = s.opened().to_string().into_bytes();
    let with = |sig: Option<String>| {
        let mut h = vec![
            ("x-github-event", "issues".to_string()),
            ("x-github-delivery", "d-x".to_string()),
        ];
        if let Some(sig) = sig {
            h.push(("x-hub-signature-256", sig));
        }
        s.request("POST", "/hooks/github", &h, body.clone())
    };
    for (sig, why) in [
        (None, "no X-Hub-Signature-256"),
        (Some(sign("another secret", &body)), "does not match"),
        (Some("sha256=00".into()), "does not match"),
        (Some("md5=abc".into()), "not `sha256=<hex>`"),
    ] {
        let (code, r) = with(sig);
        assert_eq!(code, 401, "{r}");
        assert!(r["error"].as_str().unwrap().contains(why), "{r}");
    }
    // A signature over other bytes.
    let h = vec![
        ("x-github-event", "issues".to_string()),
        ("x-github-delivery", "d-y".to_string()),
        ("x-hub-signature-256", sign(SECRET, b"{}")),
    ];
    assert_eq!(s.request("POST", "/hooks/github", &h, body.clone()).0, 401);

    let signed = |event: &str, raw: &[u8]| {
        let h = vec![
            ("x-github-event", event.to_string()),
            ("x-github-delivery", "d-z".to_string()),
            ("x-hub-signature-256", sign(SECRET, raw)),
        ];
        s.request("POST", "/hooks/github", &h, raw.to_vec())
    };
    let (code, r) = signed("issues", b"{not json");
    assert_eq!(code, 400, "{r}");
    assert!(r["error"].as_str().unwrap().contains("not JSON"), "{r}");
    let mut other = s.opened();
    other["repository"]["full_name"] = json!("evil/repo");
    let (code, r) = signed("issues", other.to_string().as_bytes());
    assert_eq!(code, 400, "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("--repo evil/repo=PATH"),
        "{r}"
    );
    let (code, r) = signed("issues", br#"{"action":"opened"}"#);
    assert_eq!(code, 400, "{r}");
    // No event header.
    let h = vec![("x-hub-signature-256", sign(SECRET, &body))];
    assert_eq!(s.request("POST", "/hooks/github", &h, body.clone()).0, 400);
    // Acknowledged, no work: a ping, an issue without the label, a
    // /factory comment from someone who may not.
    let (code, r) = s.deliver("ping", "d-p", &json!({"zen": "Keep it logically awesome."}));
    assert_eq!((code, &r["pong"]), (200, &json!(true)), "{r}");
    let mut unlabelled = s.opened();
    unlabelled["issue"]["labels"] = json!([{"name": "P1"}]);
    let (code, r) = s.deliver("issues", "d-u", &unlabelled);
    assert_eq!(code, 200);
    assert!(
        r["ignored"]
            .as_str()
            .unwrap()
            .contains("without the `bug` label"),
        "{r}"
    );
    let comment = json!({
        "action": "created", "issue": s.issue, "repository": {"full_name": "acme/calc"},
        "comment": {"body": "/factory do it", "author_association": "NONE", "user": {"login": "drive-by"}},
    });
    let (code, r) = s.deliver("issue_comment", "d-c", &comment);
    assert_eq!(code, 200);
    assert!(
        r["ignored"]
            .as_str()
            .unwrap()
            .contains("only an owner, member or collaborator"),
        "{r}"
    );

    let (_, tasks) = s.api("GET", "/api/tasks", "");
    assert_eq!(tasks, json!([]), "nothing was stored");
}

#[test]
fn a_review_on_a_factory_branch_sends_the_draft_back_to_a_coder() {
    let s = Serve::start();
    let (_, run) = s.draft();
    let review = |state: &str, association: &str, head: &str, id: u64| {
        json!({
            "action": "submitted",
            "review": {"id": id, "state": state, "body": "Please also handle None: mean(None) should raise TypeError with a clear message.",
                       "author_association": association, "user": {"login": "maintainer"}},
            "pull_request": {"number": 43, "head": {"ref": head}, "base": {"ref": "main"}},
            "repository": {"full_name": "acme/calc"},
        })
    };
    let branch = format!("factory/{run}");
    // Not work: a drive-by review, an approval, a branch no run of ours has.
    for (payload, why) in [
        (
            review("changes_requested", "NONE", &branch, 1),
            "only an owner, member or collaborator",
        ),
        (review("approved", "MEMBER", &branch, 2), "/approve"),
        (
            review("changes_requested", "MEMBER", "factory/r00000000", 3),
            "no run",
        ),
        (
            review("changes_requested", "MEMBER", "feature/x", 4),
            "not a factory branch",
        ),
    ] {
        let (code, r) = s.deliver("pull_request_review", &format!("rv-{why}"), &payload);
        assert_eq!(code, 200, "{r}");
        assert!(r["ignored"].as_str().unwrap().contains(why), "{why}: {r}");
    }
    let (code, r) = s.deliver(
        "pull_request_review",
        "rv-1",
        &review("changes_requested", "MEMBER", &branch, 99),
    );
    assert_eq!(code, 202, "{r}");
    let task = r["task_id"].as_str().unwrap().to_string();
    // GitHub redelivers it: the same work.
    let (code, r) = s.deliver(
        "pull_request_review",
        "rv-2",
        &review("changes_requested", "MEMBER", &branch, 99),
    );
    assert_eq!(
        (code, r["task_id"].as_str()),
        (200, Some(task.as_str())),
        "{r}"
    );
    let t = s.finished(&task);
    assert_eq!(t["run_id"].as_str(), Some(run.as_str()), "{t}");
    let (_, v) = s.api("GET", &format!("/api/runs/{run}"), "");
    let steps = v["steps"].as_array().unwrap();
    let at = steps
        .iter()
        .position(|st| {
            st["kind"] == "feedback"
                && st["summary"]
                    .as_str()
                    .unwrap()
                    .contains("mean(None) should raise TypeError")
        })
        .unwrap_or_else(|| panic!("the review is in the timeline: {steps:?}"));
    // A coder took the review up on the run's combined change (the
    // replayed model has no reply recorded for it: the run stops there).
    assert!(
        steps[at..]
            .iter()
            .any(|st| st["task_id"] == "@review" && st["role"] == "coder" && st["attempt"] == 2),
        "{:?}",
        &steps[at..]
    );
    let runs = s.api("GET", "/api/runs", "").1;
    assert_eq!(
        runs.as_array().unwrap().len(),
        1,
        "the same run, not a new one"
    );
}
