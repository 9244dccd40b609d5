//! `POST /hooks/github`: the signature is checked on the raw body before
//! anything is parsed; then the event decides whether there is work.
//!
//! - `issues` `opened` (carrying the trigger label) or `labeled` (with it):
//!   a task for the mapped repository.
//! - `issue_comment` `created`, starting with `/factory`, from an OWNER,
//!   MEMBER or COLLABORATOR: a task, the comment's words added to the
//!   issue's.
//! - `pull_request_review` `submitted` (changes requested, or a comment
//!   with words) and `pull_request_review_comment` `created`, from an
//!   OWNER, MEMBER or COLLABORATOR, on a pull request whose head is a
//!   factory branch (`factory/RUN`): feedback work for that run (format
//!   `feedback`; the service checks the run is its own).
//! - `ping`: answered.
//! - anything else: acknowledged and ignored, saying why.

use super::{Action, HookError};
use crate::queue::NewTask;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Check `X-Hub-Signature-256` (`sha256=<hex>` of the HMAC-SHA256 of the
/// raw body with the webhook secret), in constant time.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), HookError> {
    let header = header.ok_or(HookError::Signature("no X-Hub-Signature-256 header"))?;
    let hex_sig = header.strip_prefix("sha256=").ok_or(HookError::Signature(
        "X-Hub-Signature-256 is not `sha256=<hex>`",
    ))?;
    let sig = hex::decode(hex_sig)
        .map_err(|_| HookError::Signature("X-Hub-Signature-256 is not `sha256=<hex>`"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| HookError::Signature("the webhook secret is unusable"))?;
    mac.update(body);
    mac.verify_slice(&sig)
        .map_err(|_| HookError::Signature("X-Hub-Signature-256 does not match the body"))
}

/// Who may start work with a `/factory` comment.
const COMMANDERS: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

/// Route a verified delivery. `mapped` says whether the service works on
/// a repository (`OWNER/NAME`).
pub fn route(
    event: &str,
    delivery: &str,
    body: &[u8],
    trigger: &str,
    mapped: &dyn Fn(&str) -> bool,
) -> Result<Action, HookError> {
    let p: Value = serde_json::from_slice(body)
        .map_err(|e| HookError::Malformed(format!("the body is not JSON: {e}")))?;
    if !p.is_object() {
        return Err(HookError::Malformed("the body is not a JSON object".into()));
    }
    if event == "ping" {
        return Ok(Action::Pong);
    }
    let field = |v: &Value, path: &str| -> Result<String, HookError> {
        let mut at = v;
        for k in path.split('.') {
            at = &at[k];
        }
        match at {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(HookError::Malformed(format!(
                "a `{event}` event without `{path}`"
            ))),
        }
    };
    if matches!(event, "pull_request_review" | "pull_request_review_comment") {
        return review(event, delivery, &p, mapped);
    }
    if !matches!(event, "issues" | "issue_comment") {
        return Ok(Action::Ignore(format!(
            "`{event}` events are not ones factory acts on"
        )));
    }
    let repo = field(&p, "repository.full_name")?;
    let action = field(&p, "action")?;
    let issue = &p["issue"];
    let number = field(issue, "number")?;
    let title = field(issue, "title")?;
    if !mapped(&repo) {
        return Err(HookError::Unmapped(repo));
    }
    if issue.get("pull_request").is_some() {
        return Ok(Action::Ignore(format!(
            "{repo}#{number} is a pull request, not an issue"
        )));
    }
    let mut spec = issue.clone();
    match (event, action.as_str()) {
        ("issues", "opened") => {
            let labelled = issue["labels"]
                .as_array()
                .is_some_and(|ls| ls.iter().any(|l| l["name"] == trigger));
            if !labelled {
                return Ok(Action::Ignore(format!(
                    "{repo}#{number} was opened without the `{trigger}` label"
                )));
            }
        }
        ("issues", "labeled") => {
            if p["label"]["name"] != trigger {
                return Ok(Action::Ignore(format!(
                    "{repo}#{number} got another label than `{trigger}`"
                )));
            }
        }
        ("issue_comment", "created") => {
            let body = field(&p, "comment.body")?;
            let Some(rest) = body.trim_start().strip_prefix("/factory") else {
                return Ok(Action::Ignore(
                    "the comment is not a `/factory` command".into(),
                ));
            };
            let who = field(&p, "comment.user.login").unwrap_or_default();
            let association = field(&p, "comment.author_association").unwrap_or_default();
            if !COMMANDERS.contains(&association.as_str()) {
                return Ok(Action::Ignore(format!(
                    "`/factory` from {who} ({association}): only an owner, member or collaborator may start work"
                )));
            }
            let words = rest.trim();
            if !words.is_empty() {
                let before = issue["body"].as_str().unwrap_or_default();
                spec["body"] = Value::String(format!("{before}\n\n/factory from @{who}:\n{words}"));
            }
        }
        (_, other) => {
            return Ok(Action::Ignore(format!(
                "`{event}` `{other}` is not one factory acts on"
            )));
        }
    }
    Ok(Action::Task(NewTask {
        source: "github".into(),
        delivery: Some(format!("github:{delivery}")),
        subject: Some(format!("github:{repo}#{number}")),
        repo,
        format: "github-issue".into(),
        spec: spec.to_string(),
        title,
        keys: Vec::new(),
        trust: None,
    }))
}

/// The run a factory branch belongs to: `factory/r…` (not a subtask's).
pub fn run_of_branch(head: &str) -> Option<&str> {
    head.strip_prefix("factory/")
        .filter(|id| factory_orchestrator::valid_run_id(id))
}

/// A review on a pull request: feedback for the run whose branch it is.
fn review(
    event: &str,
    delivery: &str,
    p: &Value,
    mapped: &dyn Fn(&str) -> bool,
) -> Result<Action, HookError> {
    let s = |v: &Value, k: &str| v[k].as_str().map(str::to_string);
    let malformed =
        |what: &str| HookError::Malformed(format!("a `{event}` event without `{what}`"));
    let repo = s(&p["repository"], "full_name").ok_or_else(|| malformed("repository.full_name"))?;
    let action = s(p, "action").ok_or_else(|| malformed("action"))?;
    let pr = &p["pull_request"];
    let number = pr["number"]
        .as_u64()
        .ok_or_else(|| malformed("pull_request.number"))?;
    let head = s(&pr["head"], "ref").ok_or_else(|| malformed("pull_request.head.ref"))?;
    if !mapped(&repo) {
        return Err(HookError::Unmapped(repo));
    }
    let Some(run) = run_of_branch(&head) else {
        return Ok(Action::Ignore(format!(
            "{repo}#{number} is on `{head}`, not a factory branch"
        )));
    };
    let (item, expected) = if event == "pull_request_review" {
        (&p["review"], "submitted")
    } else {
        (&p["comment"], "created")
    };
    if action != expected {
        return Ok(Action::Ignore(format!(
            "`{event}` `{action}` is not one factory acts on"
        )));
    }
    let id = item["id"]
        .as_u64()
        .ok_or_else(|| malformed("the review's id"))?;
    let who = s(&item["user"], "login").unwrap_or_default();
    let association = s(item, "author_association").unwrap_or_default();
    if !COMMANDERS.contains(&association.as_str()) {
        return Ok(Action::Ignore(format!(
            "a review from {who} ({association}): only an owner, member or collaborator's review becomes work"
        )));
    }
    let body = s(item, "body").unwrap_or_default();
    let (summary, details) = if event == "pull_request_review" {
        match item["state"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "approved" => {
                return Ok(Action::Ignore(format!(
                    "an approving review: the merge is the service's decision (POST /api/runs/{run}/approve)"
                )));
            }
            "changes_requested" => (
                if body.trim().is_empty() {
                    "changes requested".to_string()
                } else {
                    body.clone()
                },
                body.clone(),
            ),
            _ if body.trim().is_empty() => {
                return Ok(Action::Ignore("a review comment with no words".into()));
            }
            _ => (body.clone(), body.clone()),
        }
    } else {
        let at = match (
            s(item, "path"),
            item["line"].as_u64().or(item["original_line"].as_u64()),
        ) {
            (Some(path), Some(line)) => format!("{path}:{line}: "),
            (Some(path), None) => format!("{path}: "),
            _ => String::new(),
        };
        (body.clone(), format!("- {at}{body}"))
    };
    if summary.trim().is_empty() {
        return Ok(Action::Ignore("a review comment with no words".into()));
    }
    let feedback = serde_json::json!({
        "run_id": run,
        "id": format!("github:{repo}#{number}:{event}:{id}"),
        "from": format!("@{who}'s review of {repo}#{number}"),
        "summary": summary.lines().next().unwrap_or_default().chars().take(300).collect::<String>(),
        "details": details,
    });
    Ok(Action::Task(NewTask {
        source: "github".into(),
        delivery: Some(format!("github:{delivery}")),
        subject: Some(format!("github:{repo}#{number}:{event}:{id}")),
        repo,
        format: crate::queue::FEEDBACK.into(),
        spec: feedback.to_string(),
        title: format!(
            "Review feedback on {head}: {}",
            summary.lines().next().unwrap_or_default()
        )
        .chars()
        .take(200)
        .collect(),
        keys: Vec::new(),
        trust: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn githubs_documented_test_vector_verifies() {
        // From GitHub's "Validating webhook deliveries".
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(secret, body), header);
        assert!(verify(secret, Some(header), body).is_ok());
        for (h, why) in [
            (None, "no X-Hub-Signature-256"),
            (Some("sha1=abc"), "not `sha256=<hex>`"),
            (Some("sha256=zz"), "not `sha256=<hex>`"),
            (
                Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18"),
                "does not match",
            ),
        ] {
            let e = verify(secret, h, body).unwrap_err().to_string();
            assert!(e.contains(why), "{h:?}: {e}");
        }
        assert!(verify(b"another secret", Some(header), body).is_err());
        assert!(verify(secret, Some(header), b"Hello, World?").is_err());
    }

    fn issues(action: &str, labels: &[&str], label: Option<&str>) -> Vec<u8> {
        serde_json::json!({
            "action": action,
            "issue": {"number": 42, "title": "mean() crashes", "body": "It does.",
                      "labels": labels.iter().map(|l| serde_json::json!({"name": l})).collect::<Vec<_>>()},
            "label": label.map(|l| serde_json::json!({"name": l})),
            "repository": {"full_name": "acme/calc"},
        })
        .to_string()
        .into_bytes()
    }

    fn go(event: &str, body: &[u8]) -> Result<Action, HookError> {
        route(event, "d-1", body, "factory", &|r| r == "acme/calc")
    }

    #[test]
    fn issue_events_with_the_trigger_label_become_tasks() {
        let Action::Task(t) = go("issues", &issues("opened", &["bug", "factory"], None)).unwrap()
        else {
            panic!()
        };
        assert_eq!(t.subject.as_deref(), Some("github:acme/calc#42"));
        assert_eq!(t.delivery.as_deref(), Some("github:d-1"));
        assert_eq!(t.title, "mean() crashes");
        assert!(matches!(
            go("issues", &issues("labeled", &["factory"], Some("factory"))).unwrap(),
            Action::Task(_)
        ));
        for body in [
            issues("opened", &["bug"], None),
            issues("labeled", &["bug"], Some("bug")),
            issues("closed", &["factory"], None),
        ] {
            assert!(matches!(go("issues", &body).unwrap(), Action::Ignore(_)));
        }
        assert!(matches!(go("ping", b"{}").unwrap(), Action::Pong));
        assert_eq!(
            run_of_branch("factory/r6b15c02f25f6"),
            Some("r6b15c02f25f6")
        );
        for b in ["main", "factory/r1-fix", "factory/../x", "factory/"] {
            assert_eq!(run_of_branch(b), None, "{b}");
        }
        assert!(matches!(go("push", b"{}").unwrap(), Action::Ignore(_)));
    }

    #[test]
    fn a_factory_comment_counts_only_from_owners_members_and_collaborators() {
        let comment = |association: &str, text: &str| {
            serde_json::json!({
                "action": "created",
                "issue": {"number": 7, "title": "t", "body": "b"},
                "comment": {"body": text, "author_association": association, "user": {"login": "ann"}},
                "repository": {"full_name": "acme/calc"},
            })
            .to_string()
            .into_bytes()
        };
        let Action::Task(t) = go(
            "issue_comment",
            &comment("MEMBER", "/factory keep it small"),
        )
        .unwrap() else {
            panic!()
        };
        assert!(
            t.spec.contains("/factory from @ann:\\nkeep it small"),
            "{}",
            t.spec
        );
        for (who, text) in [
            ("CONTRIBUTOR", "/factory"),
            ("NONE", "/factory please"),
            ("OWNER", "thanks!"),
        ] {
            assert!(matches!(
                go("issue_comment", &comment(who, text)).unwrap(),
                Action::Ignore(_)
            ));
        }
    }

    #[test]
    fn malformed_and_unmapped_payloads_are_errors() {
        assert!(matches!(
            go("issues", b"not json"),
            Err(HookError::Malformed(_))
        ));
        assert!(matches!(go("issues", b"[1]"), Err(HookError::Malformed(_))));
        assert!(matches!(
            go("issues", br#"{"action":"opened"}"#),
            Err(HookError::Malformed(_))
        ));
        let other = String::from_utf8(issues("opened", &["factory"], None))
            .unwrap()
            .replace("acme/calc", "evil/repo");
        assert!(matches!(
            go("issues", other.as_bytes()),
            Err(HookError::Unmapped(r)) if r == "evil/repo"
        ));
    }
}

#[cfg(test)]
mod review_tests {
    use super::*;
    use serde_json::json;

    fn review(state: &str, association: &str, head: &str, body: &str) -> Vec<u8> {
        json!({
            "action": "submitted",
            "review": {"id": 80, "state": state, "body": body, "author_association": association, "user": {"login": "ann"}},
            "pull_request": {"number": 43, "head": {"ref": head}},
            "repository": {"full_name": "acme/calc"},
        })
        .to_string()
        .into_bytes()
    }

    fn go(event: &str, body: &[u8]) -> Result<Action, HookError> {
        route(event, "d-9", body, "factory", &|r| r == "acme/calc")
    }

    #[test]
    fn reviews_on_factory_branches_become_feedback_for_their_run() {
        let Action::Task(t) = go(
            "pull_request_review",
            &review(
                "changes_requested",
                "MEMBER",
                "factory/r1a2b",
                "Use a guard clause.\nAnd a docstring.",
            ),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(t.format, crate::queue::FEEDBACK);
        let spec: serde_json::Value = serde_json::from_str(&t.spec).unwrap();
        assert_eq!(spec["run_id"], "r1a2b");
        assert_eq!(spec["summary"], "Use a guard clause.");
        assert_eq!(spec["from"], "@ann's review of acme/calc#43");
        let comment = json!({
            "action": "created",
            "comment": {"id": 9, "body": "off by one", "path": "calc.py", "line": 12, "author_association": "OWNER", "user": {"login": "bob"}},
            "pull_request": {"number": 43, "head": {"ref": "factory/r1a2b"}},
            "repository": {"full_name": "acme/calc"},
        });
        let Action::Task(t) = go(
            "pull_request_review_comment",
            comment.to_string().as_bytes(),
        )
        .unwrap() else {
            panic!()
        };
        assert!(t.spec.contains("- calc.py:12: off by one"), "{}", t.spec);
        for (state, who, head) in [
            ("approved", "MEMBER", "factory/r1a2b"),
            ("changes_requested", "NONE", "factory/r1a2b"),
            ("changes_requested", "MEMBER", "feature/x"),
            ("commented", "MEMBER", "factory/r1a2b"),
        ] {
            let body = review(
                state,
                who,
                head,
                if state == "commented" { "" } else { "x" },
            );
            assert!(
                matches!(go("pull_request_review", &body).unwrap(), Action::Ignore(_)),
                "{state} {who} {head}"
            );
        }
    }
}
