//! Intake of a GitHub issue: the REST API's issue object (`GET
//! /repos/{owner}/{repo}/issues/{n}`) or an `issues` webhook payload (with
//! `action`, `issue`, `repository`). Pull requests are refused.

use factory_sdk::intake::{Intake, IntakeError, invalid};
use factory_sdk::types::{Priority, Task, brief};
use serde::Deserialize;

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    title: String,
    body: Option<String>,
    html_url: Option<String>,
    #[serde(default)]
    labels: Vec<Label>,
    user: Option<User>,
    state: Option<String>,
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Webhook {
    action: String,
    issue: Issue,
    repository: Option<Repo>,
}

#[derive(Deserialize)]
struct Repo {
    full_name: String,
}

struct GithubIssue;

fn read(input: &str) -> Result<(Issue, Option<String>, Option<String>), String> {
    let v: serde_json::Value = serde_json::from_str(input).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("issue").is_some() {
        let w: Webhook = serde_json::from_value(v)
            .map_err(|e| format!("not an `issues` webhook payload: {e}"))?;
        return Ok((w.issue, Some(w.action), w.repository.map(|r| r.full_name)));
    }
    if v.get("number").is_some() && v.get("title").is_some() {
        let i: Issue =
            serde_json::from_value(v).map_err(|e| format!("not a GitHub issue object: {e}"))?;
        return Ok((i, None, None));
    }
    Err("expected a GitHub issue object (with `number` and `title`) or an `issues` webhook payload (with `action` and `issue`)".into())
}

impl Intake for GithubIssue {
    const NAME: &'static str = "intake-github-issue";
    const FORMAT: &'static str = "github-issue";
    const DESCRIPTION: &'static str = include_str!("../description.txt");

    fn detect(input: &str) -> u8 {
        match read(input) {
            Ok((i, _, _))
                if i.html_url
                    .as_deref()
                    .is_some_and(|u| u.contains("/issues/")) =>
            {
                98
            }
            Ok(_) => 85,
            Err(_) => 0,
        }
    }

    fn parse(input: &str, source: &str) -> Result<Task, IntakeError> {
        let (issue, action, repo) = read(input).map_err(invalid)?;
        if issue.pull_request.is_some() {
            return Err(invalid(format!(
                "#{} is a pull request, not an issue",
                issue.number
            )));
        }
        if let Some(a) = action
            .as_deref()
            .filter(|a| matches!(*a, "deleted" | "closed" | "locked" | "transferred"))
        {
            return Err(invalid(format!(
                "the webhook's action is `{a}`: there is no work in a {a} issue"
            )));
        }
        let body = issue.body.unwrap_or_default().replace("\r\n", "\n");
        let b = brief::parse(&body);
        let mut task = Task::new(Self::FORMAT, source, issue.title.trim());
        task.intent = if b.intent.is_empty() {
            issue.title.trim().to_string()
        } else {
            b.intent
        };
        task.acceptance_criteria = b.acceptance_criteria;
        task.scope = b.scope;
        task.labels = issue.labels.iter().map(|l| l.name.clone()).collect();
        task.priority = issue
            .labels
            .iter()
            .find_map(|l| Priority::from_words(&l.name))
            .or(b.priority)
            .unwrap_or(if task.labels.iter().any(|l| l == "bug") {
                Priority::High
            } else {
                Priority::Normal
            });
        task.source.url = issue.html_url;
        task.source.id = Some(match repo {
            Some(r) => format!("{r}#{}", issue.number),
            None => format!("#{}", issue.number),
        });
        task.source.author = issue.user.map(|u| u.login);
        if issue.state.as_deref() == Some("closed") && action.is_none() {
            task.labels.push("closed".into());
        }
        Ok(task)
    }
}

factory_sdk::export_intake!(GithubIssue);
