//! The coder: carries out one subtask in its own worktree, in a loop of
//! model calls and tool calls (read, write, patch, search, list). Feedback
//! from the tester, the reviewer or a merge conflict comes in its input.

use factory_sdk::agent::Agent;
use factory_sdk::role::{Role, RoleError};
use factory_sdk::types::roles::{CoderInput, CoderOutput};

const SYSTEM: &str = "You are a coder in a software factory. You change files in one working tree to carry out a subtask, using the tools you are given. Paths may be relative to the working tree.

Rules:
- read before you write; keep changes small and within the subtask's scope;
- never weaken or delete tests to make them pass;
- when you are given feedback (failing tests, review comments, merge conflicts), fix exactly that;
- when you are done, answer with a one-paragraph summary of what you changed and why, without calling a tool.";

struct Coder;

impl Role for Coder {
    const NAME: &'static str = "coder";
    const KIND: &'static str = "coder";
    const DESCRIPTION: &'static str = include_str!("../description.txt");
    type Input = CoderInput;
    type Output = CoderOutput;

    fn run(input: CoderInput) -> Result<CoderOutput, RoleError> {
        let mut user = format!(
            "Working tree: {}\nFiles:\n{}\n\nTask: {}\n{}\n\nAcceptance criteria:\n{}\n\nYour subtask ({}): {}\n{}\nScope: {}\n",
            input.workdir,
            factory_sdk::fs::listing(&input.workdir, 300),
            input.task.title,
            input.task.intent,
            input
                .task
                .acceptance_criteria
                .iter()
                .map(|c| format!("- {c}"))
                .collect::<Vec<_>>()
                .join("\n"),
            input.subtask.id,
            input.subtask.title,
            input.subtask.instructions,
            if input.subtask.scope.is_empty() {
                "(not declared)".to_string()
            } else {
                input.subtask.scope.join(", ")
            },
        );
        if !input.feedback.is_empty() {
            user.push_str(&format!(
                "\nThis is attempt {}. Feedback on the previous attempt:\n",
                input.attempt
            ));
            for f in &input.feedback {
                user.push_str(&format!("\n[{}] {}\n{}\n", f.from, f.summary, f.details));
            }
        }
        let agent = Agent {
            system: SYSTEM.into(),
            workdir: input.workdir.clone(),
            max_turns: input.max_turns.max(1),
            tools: None,
        };
        let out = agent.run(&user)?;
        factory_sdk::log::info(&format!(
            "{} turns, {} tool calls, changed: {}",
            out.turns,
            out.calls.len(),
            out.changed.join(", ")
        ));
        Ok(CoderOutput {
            summary: out.answer.trim().to_string(),
            changed: out.changed,
        })
    }
}

factory_sdk::export_role!(Coder);
