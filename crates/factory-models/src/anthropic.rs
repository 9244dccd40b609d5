//! An Anthropic Messages API client (`POST {base_url}/v1/messages`) with
//! tool use. System messages become the `system` field; tool results are
//! sent as `tool_result` blocks in a user turn.

use super::http::{HttpOptions, post_json};
use super::prices::Price;
use super::wire::{self, JsonResponse, JsonToolCall};
use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::model::{Request, Response};
use crate::caps::model::{ModelCtx, ModelProvider};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;

pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` is required by the API; used when the guest gives none.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

pub struct Anthropic {
    pub base_url: String,
    pub api_key: String,
    pub http: HttpOptions,
    pub price: Option<Price>,
    pub client: reqwest::Client,
}

pub fn body(req: &Request) -> Value {
    let j = wire::request_to_json(req);
    let mut system = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    // Append content blocks to the last message if it has the same role.
    let mut push = |role: &str, blocks: Vec<Value>| {
        if let Some(last) = messages.last_mut()
            && last["role"] == role
            && let Some(arr) = last["content"].as_array_mut()
        {
            arr.extend(blocks);
            return;
        }
        messages.push(json!({"role": role, "content": blocks}));
    };
    for m in &j.messages {
        match m.role.as_str() {
            "system" => system.push(m.content.clone()),
            "user" => push("user", vec![json!({"type": "text", "text": m.content})]),
            "tool" => push(
                "user",
                vec![
                    json!({"type": "tool_result", "tool_use_id": m.tool_call_id.clone().unwrap_or_default(), "content": m.content}),
                ],
            ),
            _ => {
                let mut blocks = Vec::new();
                if !m.content.is_empty() {
                    blocks.push(json!({"type": "text", "text": m.content}));
                }
                for c in &m.tool_calls {
                    let input: Value =
                        serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                    blocks.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
                push("assistant", blocks);
            }
        }
    }
    let mut b = json!({
        "model": j.model,
        "max_tokens": j.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages,
    });
    if !system.is_empty() {
        b["system"] = json!(system.join("\n\n"));
    }
    if !j.tools.is_empty() {
        b["tools"] = j
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
            .collect();
    }
    if let Some(t) = j.temperature {
        b["temperature"] = json!(t);
    }
    b
}

pub fn parse(v: &Value, requested: &str) -> Result<JsonResponse, super::wire::Malformed> {
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or("the response has no content")?;
    let mut text = Vec::new();
    let mut tool_calls = Vec::new();
    for b in blocks {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push(
                b.get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            Some("tool_use") => tool_calls.push(JsonToolCall {
                id: b
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                name: b
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                arguments: b.get("input").map_or("{}".into(), Value::to_string),
            }),
            _ => {}
        }
    }
    let stop = match v.get("stop_reason").and_then(Value::as_str) {
        Some("end_turn") | Some("stop_sequence") => "end-turn",
        Some("tool_use") => "tool-use",
        Some("max_tokens") => "max-tokens",
        _ => "other",
    };
    Ok(wire::assistant(
        v,
        requested,
        text.join(""),
        tool_calls,
        stop,
        ("/usage/input_tokens", "/usage/output_tokens"),
    ))
}

impl ModelProvider for Anthropic {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn complete<'a>(
        &'a self,
        req: Request,
        _ctx: &'a ModelCtx,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ErrorCode>> + Send + 'a>> {
        Box::pin(async move {
            let model = req.model.clone().unwrap_or_default();
            let url = format!("{}/v1/messages", self.base_url.trim_end_matches('/'));
            let headers = [
                ("x-api-key", self.api_key.clone()),
                ("anthropic-version", API_VERSION.to_string()),
            ];
            let v = post_json(
                &self.client,
                "Anthropic",
                &url,
                &headers,
                &body(&req),
                &self.http,
            )
            .await?;
            wire::priced(parse(&v, &model), "Messages API", self.price)
        })
    }
}
