//! The model interface's types as JSON (recordings, and the common ground
//! of the protocol clients), converted to and from the WIT bindings.

use crate::bindings::imports::factory::plugin::model::{
    Message, Request, Response, Role, StopReason, ToolCall, ToolSpec, Usage,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JsonToolCall {
    pub id: String,
    pub name: String,
    /// JSON arguments, as text.
    pub arguments: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JsonMessage {
    /// system, user, assistant, tool.
    pub role: String,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<JsonToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JsonUsage {
    pub input_tokens: u32,
    pub output_tokens: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonResponse {
    pub model: String,
    pub message: JsonMessage,
    /// end-turn, tool-use, max-tokens, other.
    #[serde(default = "end_turn")]
    pub stop_reason: String,
    #[serde(default)]
    pub usage: JsonUsage,
}

fn end_turn() -> String {
    "end-turn".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JsonToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JsonRequest {
    pub model: String,
    pub messages: Vec<JsonMessage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<JsonToolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

pub fn role_from(s: &str) -> Option<Role> {
    Some(match s {
        "system" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        _ => return None,
    })
}

pub fn message_to_json(m: &Message) -> JsonMessage {
    JsonMessage {
        role: role_name(m.role).into(),
        content: m.content.clone(),
        tool_calls: m
            .tool_calls
            .iter()
            .map(|c| JsonToolCall {
                id: c.id.clone(),
                name: c.name.clone(),
                arguments: c.arguments.clone(),
            })
            .collect(),
        tool_call_id: m.tool_call_id.clone(),
    }
}

pub fn message_from_json(m: &JsonMessage) -> Result<Message, Malformed> {
    Ok(Message {
        role: role_from(&m.role).ok_or_else(|| format!("unknown message role {:?}", m.role))?,
        content: m.content.clone(),
        tool_calls: m
            .tool_calls
            .iter()
            .map(|c| ToolCall {
                id: c.id.clone(),
                name: c.name.clone(),
                arguments: c.arguments.clone(),
            })
            .collect(),
        tool_call_id: m.tool_call_id.clone(),
    })
}

/// A tool's schema as JSON (an invalid schema becomes an empty object).
pub fn schema_value(spec: &ToolSpec) -> serde_json::Value {
    serde_json::from_str(&spec.input_schema)
        .unwrap_or_else(|_| serde_json::json!({"type": "object"}))
}

pub fn request_to_json(r: &Request) -> JsonRequest {
    JsonRequest {
        model: r.model.clone().unwrap_or_default(),
        messages: r.messages.iter().map(message_to_json).collect(),
        tools: r
            .tools
            .iter()
            .map(|t| JsonToolSpec {
                name: t.name.clone(),
                description: t.description.clone(),
                input_schema: schema_value(t),
            })
            .collect(),
        max_tokens: r.max_tokens,
        temperature: r.temperature,
    }
}

pub fn stop_name(s: StopReason) -> &'static str {
    match s {
        StopReason::EndTurn => "end-turn",
        StopReason::ToolUse => "tool-use",
        StopReason::MaxTokens => "max-tokens",
        StopReason::Other => "other",
    }
}

pub fn stop_from(s: &str) -> StopReason {
    match s {
        "end-turn" => StopReason::EndTurn,
        "tool-use" => StopReason::ToolUse,
        "max-tokens" => StopReason::MaxTokens,
        _ => StopReason::Other,
    }
}

pub fn response_to_json(r: &Response) -> JsonResponse {
    JsonResponse {
        model: r.model.clone(),
        message: message_to_json(&r.message),
        stop_reason: stop_name(r.stop_reason).into(),
        usage: JsonUsage {
            input_tokens: r.usage.input_tokens,
            output_tokens: r.usage.output_tokens,
        },
    }
}

/// A protocol message or response that does not have the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

impl From<String> for Malformed {
    fn from(s: String) -> Self {
        Malformed(s)
    }
}

impl From<&str> for Malformed {
    fn from(s: &str) -> Self {
        Malformed(s.to_string())
    }
}

/// A response, with its cost from `cost`.
pub fn response_from_json(r: &JsonResponse, cost: u64) -> Result<Response, Malformed> {
    Ok(Response {
        model: r.model.clone(),
        message: message_from_json(&r.message)?,
        stop_reason: stop_from(&r.stop_reason),
        usage: Usage {
            input_tokens: r.usage.input_tokens,
            output_tokens: r.usage.output_tokens,
            cost_micro_usd: cost,
        },
    })
}

/// A parsed protocol response as the interface's response, priced from
/// the table (or the configured override). `api` names the protocol for
/// the error.
pub fn priced(
    parsed: Result<JsonResponse, Malformed>,
    api: &str,
    price: Option<super::prices::Price>,
) -> Result<Response, crate::bindings::ErrorCode> {
    use crate::bindings::ErrorCode;
    let r = parsed.map_err(|e| ErrorCode::Failed(format!("unexpected {api} response: {e}")))?;
    let cost = super::prices::price_of(&r.model, price)
        .cost_micro_usd(r.usage.input_tokens.into(), r.usage.output_tokens.into());
    response_from_json(&r, cost).map_err(|e| ErrorCode::Failed(e.0))
}

/// An assistant reply read from a protocol response `v`: the model it
/// names (or `requested`), and its usage at the JSON pointers given.
pub fn assistant(
    v: &serde_json::Value,
    requested: &str,
    content: String,
    tool_calls: Vec<JsonToolCall>,
    stop_reason: &str,
    usage_pointers: (&str, &str),
) -> JsonResponse {
    let count = |p: &str| {
        v.pointer(p)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0) as u32
    };
    JsonResponse {
        model: v
            .get("model")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(requested)
            .to_string(),
        message: JsonMessage {
            role: "assistant".into(),
            content,
            tool_calls,
            tool_call_id: None,
        },
        stop_reason: stop_reason.into(),
        usage: JsonUsage {
            input_tokens: count(usage_pointers.0),
            output_tokens: count(usage_pointers.1),
        },
    }
}
