//! An agent loop: ask the model, run the tools it calls (through the host's
//! `tools` interface, under this plugin's grants), feed the results back,
//! until it answers without calling a tool or the turn limit is reached.
//!
//! Paths: the granted tools take absolute paths. Relative `path`, `root`
//! and `dir` arguments the model writes are resolved against `workdir`.

use crate::ErrorCode;
use crate::bindings::factory::plugin::{model, tools};
use model::{Message, Request, Role, ToolCall, ToolSpec};

/// What the loop did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The model's last answer.
    pub answer: String,
    pub turns: u32,
    /// Each tool call: name, whether it succeeded.
    pub calls: Vec<(String, bool)>,
    /// Files written by `write-file` or patched by `apply-patch`
    /// (relative to `workdir` when inside it).
    pub changed: Vec<String>,
}

pub struct Agent {
    pub system: String,
    pub workdir: String,
    pub max_turns: u32,
    /// Tools offered to the model; default: every granted tool.
    pub tools: Option<Vec<String>>,
}

fn msg(role: Role, content: impl Into<String>) -> Message {
    Message {
        role,
        content: content.into(),
        tool_calls: vec![],
        tool_call_id: None,
    }
}

impl Agent {
    /// Run the loop on one user message.
    pub fn run(&self, user: &str) -> Result<Outcome, ErrorCode> {
        let specs: Vec<ToolSpec> = tools::available()
            .into_iter()
            .filter(|t| {
                self.tools
                    .as_ref()
                    .is_none_or(|allow| allow.contains(&t.name))
            })
            .map(|t| ToolSpec {
                name: t.name,
                description: t.description,
                input_schema: t.input_schema,
            })
            .collect();
        let mut messages = vec![msg(Role::System, &self.system), msg(Role::User, user)];
        let mut out = Outcome::default();
        while out.turns < self.max_turns {
            out.turns += 1;
            let resp = model::complete(&Request {
                model: None,
                messages: messages.clone(),
                tools: specs.clone(),
                max_tokens: None,
                temperature: None,
            })?;
            let calls = resp.message.tool_calls.clone();
            out.answer = resp.message.content.clone();
            // The model's stated reason for this turn, for the journal.
            let said = resp.message.content.trim();
            if !said.is_empty() || !calls.is_empty() {
                let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
                crate::log::info(&format!(
                    "turn {}: {}{}",
                    out.turns,
                    said.chars().take(500).collect::<String>(),
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!(" [calls {}]", names.join(", "))
                    }
                ));
            }
            messages.push(resp.message);
            if calls.is_empty() {
                return Ok(out);
            }
            for call in calls {
                let result = self.call_tool(&call, &mut out);
                messages.push(Message {
                    tool_call_id: Some(call.id.clone()),
                    ..msg(Role::Tool, result)
                });
            }
        }
        Err(ErrorCode::LimitExceeded(format!(
            "the agent did not finish within {} model turns",
            self.max_turns
        )))
    }

    fn call_tool(&self, call: &ToolCall, out: &mut Outcome) -> String {
        let mut args: serde_json::Value = match serde_json::from_str(&call.arguments) {
            Ok(v) => v,
            Err(e) => {
                out.calls.push((call.name.clone(), false));
                return format!("error: the arguments are not valid JSON: {e}");
            }
        };
        for key in ["path", "root", "dir"] {
            if let Some(serde_json::Value::String(p)) = args.get_mut(key)
                && !p.starts_with('/')
            {
                *p = join(&self.workdir, p);
            }
        }
        let written = match call.name.as_str() {
            "write-file" => args
                .get("path")
                .and_then(|p| p.as_str())
                .map(str::to_string),
            _ => None,
        };
        let patched: Vec<String> = if call.name == "apply-patch" {
            patch_paths(args.get("diff").and_then(|d| d.as_str()).unwrap_or(""))
        } else {
            vec![]
        };
        let input = args.to_string();
        match tools::call(&call.name, &input) {
            Ok(result) => {
                out.calls.push((call.name.clone(), true));
                for p in written.into_iter().chain(patched) {
                    let rel = p
                        .strip_prefix(&format!("{}/", self.workdir.trim_end_matches('/')))
                        .unwrap_or(&p)
                        .to_string();
                    if !out.changed.contains(&rel) {
                        out.changed.push(rel);
                    }
                }
                result
            }
            Err(e) => {
                out.calls.push((call.name.clone(), false));
                format!("error: {}", crate::describe_error(&e))
            }
        }
    }
}

fn join(dir: &str, rel: &str) -> String {
    let rel = rel.trim_start_matches("./");
    if rel.is_empty() || rel == "." {
        dir.to_string()
    } else {
        format!("{}/{rel}", dir.trim_end_matches('/'))
    }
}

/// The paths a unified diff touches (its `+++ b/...` lines).
fn patch_paths(diff: &str) -> Vec<String> {
    diff.lines()
        .filter_map(|l| l.strip_prefix("+++ "))
        .map(|p| p.split('\t').next().unwrap_or(p).trim())
        .filter(|p| *p != "/dev/null")
        .map(|p| p.strip_prefix("b/").unwrap_or(p).to_string())
        .collect()
}

/// Find the first JSON object in a model's answer (bare, or in a ```json
/// fence) and parse it.
pub fn extract_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let body = match text.find("```") {
        Some(start) => {
            let after = &text[start + 3..];
            let after = after.strip_prefix("json").unwrap_or(after);
            after.split("```").next().unwrap_or(after)
        }
        None => text,
    };
    let start = body.find('{').ok_or("the answer contains no JSON object")?;
    let end = body
        .rfind('}')
        .ok_or("the answer contains no JSON object")?;
    serde_json::from_str(&body[start..=end])
        .map_err(|e| format!("the answer's JSON is not valid: {e}"))
}
