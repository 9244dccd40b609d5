//! Language-model calls through the host (needs a `--model` grant).
pub use crate::bindings::factory::plugin::model::*;

/// One user message in, the assistant's text out.
pub fn ask(model: Option<&str>, prompt: &str) -> Result<String, crate::ErrorCode> {
    let req = Request {
        model: model.map(str::to_string),
        messages: vec![Message {
            role: Role::User,
            content: prompt.to_string(),
            tool_calls: vec![],
            tool_call_id: None,
        }],
        tools: vec![],
        max_tokens: None,
        temperature: None,
    };
    complete(&req).map(|r| r.message.content)
}
