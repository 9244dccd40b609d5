//! The documenter: updates README, CHANGELOG and doc comments for a change,
//! in a loop of model and tool calls on the change's worktree.

use factory_sdk::agent::Agent;
use factory_sdk::role::{Role, RoleError};
use factory_sdk::types::roles::{DocumenterInput, DocumenterOutput};

const SYSTEM: &str = "You are the documenter of a software factory. A change has been made and tested. Update the documentation for it with the tools you are given: the README where behaviour users see changed, the CHANGELOG (add an entry under an \"Unreleased\" heading; create the file if the project has none), and doc comments of changed public functions. Do not change code behaviour. When done, answer with a one-line summary without calling a tool.";

struct Documenter;

impl Role for Documenter {
    const NAME: &'static str = "documenter";
    const KIND: &'static str = "documenter";
    const DESCRIPTION: &'static str = include_str!("../description.txt");
    type Input = DocumenterInput;
    type Output = DocumenterOutput;

    fn run(input: DocumenterInput) -> Result<DocumenterOutput, RoleError> {
        let user = format!(
            "Working tree: {}\nFiles:\n{}\n\nTask: {}\n{}\n\nThe change:\n{}",
            input.workdir,
            factory_sdk::fs::listing(&input.workdir, 300),
            input.task.title,
            input.task.intent,
            input.diff
        );
        let agent = Agent {
            system: SYSTEM.into(),
            workdir: input.workdir.clone(),
            max_turns: input.max_turns.max(1),
            tools: None,
        };
        let out = agent.run(&user)?;
        Ok(DocumenterOutput {
            summary: out.answer.trim().to_string(),
            changed: out.changed,
        })
    }
}

factory_sdk::export_role!(Documenter);
