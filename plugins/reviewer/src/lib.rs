//! The reviewer: deterministic checks of the diff (size, forbidden paths,
//! secrets, new dependencies), then a model review. It approves only when
//! every check passes and the model approves. It has no write access.

mod checks;

use factory_sdk::agent::extract_json;
use factory_sdk::model::{Message, Request, Role as MsgRole};
use factory_sdk::role::{Role, RoleError};
use factory_sdk::types::roles::{Comment, ReviewerInput, ReviewerOutput, Verdict};
use serde::Deserialize;

const SYSTEM: &str = "You are the code reviewer of a software factory. Review the diff against the task: correctness, tests, readability, security. Answer with one JSON object and nothing else:
{\"verdict\": \"approve\" | \"request-changes\", \"summary\": \"...\", \"comments\": [{\"path\": \"file\", \"line\": 12, \"message\": \"...\"}]}
Request changes only for problems that must be fixed before merging; put suggestions in comments of an approval.";

#[derive(Deserialize)]
struct ModelReview {
    verdict: Verdict,
    summary: String,
    #[serde(default)]
    comments: Vec<ModelComment>,
}

#[derive(Deserialize)]
struct ModelComment {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    line: Option<u32>,
    message: String,
}

struct Reviewer;

impl Role for Reviewer {
    const NAME: &'static str = "reviewer";
    const KIND: &'static str = "reviewer";
    const DESCRIPTION: &'static str = include_str!("../description.txt");
    type Input = ReviewerInput;
    type Output = ReviewerOutput;

    fn run(input: ReviewerInput) -> Result<ReviewerOutput, RoleError> {
        let (checks, mut comments) = checks::run(&input);
        let user = format!(
            "Task: {}\n{}\n\nAcceptance criteria:\n{}\n\nDiff:\n{}",
            input.task.title,
            input.task.intent,
            input
                .task
                .acceptance_criteria
                .iter()
                .map(|c| format!("- {c}"))
                .collect::<Vec<_>>()
                .join("\n"),
            input.diff
        );
        let msg = |role, content: &str| Message {
            role,
            content: content.into(),
            tool_calls: vec![],
            tool_call_id: None,
        };
        let resp = factory_sdk::model::complete(&Request {
            model: None,
            messages: vec![msg(MsgRole::System, SYSTEM), msg(MsgRole::User, &user)],
            tools: vec![],
            max_tokens: None,
            temperature: None,
        })?;
        let review: ModelReview = extract_json(&resp.message.content).map_err(|e| {
            factory_sdk::role::failed(format!("the model's review is unusable: {e}"))
        })?;
        comments.extend(review.comments.into_iter().map(|c| Comment {
            path: c.path,
            line: c.line,
            message: c.message,
            source: "model".into(),
        }));
        let checks_pass = checks.iter().all(|c| c.passed);
        let verdict = if checks_pass && review.verdict == Verdict::Approve {
            Verdict::Approve
        } else {
            Verdict::RequestChanges
        };
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect();
        let summary = if failed.is_empty() {
            review.summary
        } else {
            format!("checks failed: {}. {}", failed.join(", "), review.summary)
        };
        Ok(ReviewerOutput {
            verdict,
            summary,
            comments,
            checks,
        })
    }
}

factory_sdk::export_role!(Reviewer);
