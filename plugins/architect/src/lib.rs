//! The architect: reads the repository through read-only tools and asks the
//! model for a plan (subtasks with scopes and dependencies), which it
//! checks before returning.

use factory_sdk::agent::{Agent, extract_json};
use factory_sdk::role::{Role, RoleError, failed};
use factory_sdk::types::Plan;
use factory_sdk::types::roles::ArchitectInput;

const SYSTEM: &str = "You are the architect of a software factory. You read a repository with the tools you are given (read-only) and split a task into a small plan of subtasks for coders.

Answer with one JSON object and nothing else:
{\"summary\": \"...\", \"subtasks\": [{\"id\": \"t1\", \"title\": \"...\", \"instructions\": \"...\", \"scope\": [\"path/relative/to/repo\"], \"depends_on\": []}]}

Rules:
- ids are short, lowercase, [a-z0-9-];
- scope lists the repository-relative files or directories each subtask may change; subtasks with disjoint scopes run in parallel, so only declare a dependency when one subtask needs another's result;
- prefer one subtask for a small change; never more than 8;
- instructions say what to change and how to know it is done.";

struct Architect;

impl Role for Architect {
    const NAME: &'static str = "architect";
    const KIND: &'static str = "architect";
    const DESCRIPTION: &'static str = include_str!("../description.txt");
    type Input = ArchitectInput;
    type Output = Plan;

    fn run(input: ArchitectInput) -> Result<Plan, RoleError> {
        let files = factory_sdk::fs::listing(&input.workdir, 300);
        let task = serde_json::to_string_pretty(&input.task).map_err(failed)?;
        let user = format!(
            "Repository (at {}):\n{files}\n\nTask:\n{task}\n\nRead what you need, then answer with the plan as JSON.",
            input.workdir
        );
        let agent = Agent {
            system: SYSTEM.into(),
            workdir: input.workdir.clone(),
            max_turns: 12,
            tools: Some(vec![
                "read-file".into(),
                "list-files".into(),
                "search-text".into(),
            ]),
        };
        let out = agent.run(&user)?;
        let plan: Plan = extract_json(&out.answer)
            .map_err(|e| failed(format!("the model's plan is unusable: {e}")))?;
        let problems = plan.problems(&input.task.scope);
        if !problems.is_empty() {
            return Err(failed(format!(
                "the model's plan is invalid: {}",
                problems.join("; ")
            )));
        }
        factory_sdk::log::info(&format!(
            "plan: {} subtasks: {}",
            plan.subtasks.len(),
            plan.summary
        ));
        Ok(plan)
    }
}

factory_sdk::export_role!(Architect);
