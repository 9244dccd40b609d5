//! {{name}}: a factory role in Rust, of kind `reviewer`: it requests
//! changes when an added line of the diff has a TODO. The step's input and
//! output per role kind are in docs/roles.md of factory.

wit_bindgen::generate!({ path: "wit", world: "role-plugin" });

use exports::factory::plugin::role::{Guest, Info, RoleError};
use factory::plugin::log::{Level, log};
use serde_json::json;

struct Plugin;

impl Guest for Plugin {
    fn describe() -> Info {
        Info {
            name: "{{name}}".into(),
            kind: "reviewer".into(),
            description: "Requests changes when an added line has a TODO.".into(),
        }
    }

    fn run(input: String) -> Result<String, RoleError> {
        let step: serde_json::Value = serde_json::from_str(&input)
            .map_err(|e| RoleError::InvalidInput(format!("input is not JSON: {e}")))?;
        let diff = step["diff"]
            .as_str()
            .ok_or_else(|| RoleError::InvalidInput("missing `diff` (a unified diff)".into()))?;
        let todos = diff
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++") && l.contains("TODO"))
            .count();
        let detail = format!("added lines with a TODO: {todos}");
        log(Level::Info, &detail);
        Ok(json!({
            "checks": [{ "detail": detail, "name": "no-todo", "passed": todos == 0 }],
            "comments": [],
            "summary": if todos > 0 { detail.as_str() } else { "no added line has a TODO" },
            "verdict": if todos > 0 { "request-changes" } else { "approve" },
        })
        .to_string())
    }
}

export!(Plugin);
