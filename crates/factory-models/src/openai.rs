//! An OpenAI-compatible chat-completions client (`POST
//! {base_url}/chat/completions`): OpenAI, Ollama, vLLM, llama.cpp server,
//! LM Studio and others, with function tools.

use super::http::{HttpOptions, post_json};
use super::prices::Price;
use super::wire::{self, JsonResponse, JsonToolCall};
use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::model::{Request, Response};
use crate::caps::model::{ModelCtx, ModelProvider};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;

pub struct OpenAi {
    pub base_url: String,
    /// None for servers without authentication (a local Ollama).
    pub api_key: Option<String>,
    pub http: HttpOptions,
    pub price: Option<Price>,
    pub client: reqwest::Client,
}

/// The request body for `req`.
pub fn body(req: &Request) -> Value {
    let j = wire::request_to_json(req);
    let messages: Vec<Value> = j
        .messages
        .iter()
        .map(|m| {
            let mut o = json!({"role": m.role, "content": m.content});
            if !m.tool_calls.is_empty() {
                o["tool_calls"] = m
                    .tool_calls
                    .iter()
                    .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                    .collect();
                if m.content.is_empty() {
                    o["content"] = Value::Null;
                }
            }
            if let Some(id) = &m.tool_call_id {
                o["tool_call_id"] = json!(id);
            }
            o
        })
        .collect();
    let mut b = json!({"model": j.model, "messages": messages});
    if !j.tools.is_empty() {
        b["tools"] = j
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}))
            .collect();
    }
    if let Some(m) = j.max_tokens {
        b["max_tokens"] = json!(m);
    }
    if let Some(t) = j.temperature {
        b["temperature"] = json!(t);
    }
    b
}

/// Read a chat-completions response.
pub fn parse(v: &Value, requested: &str) -> Result<JsonResponse, super::wire::Malformed> {
    let choice = v
        .pointer("/choices/0")
        .ok_or("the response has no choices")?;
    let msg = choice.get("message").ok_or("the choice has no message")?;
    let tool_calls = msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .map(|c| JsonToolCall {
                    id: c
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    name: c
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    arguments: match c.pointer("/function/arguments") {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(), // some servers send an object
                        None => "{}".into(),
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let stop = match choice.get("finish_reason").and_then(Value::as_str) {
        Some("stop") => "end-turn",
        Some("tool_calls") | Some("function_call") => "tool-use",
        Some("length") => "max-tokens",
        _ => "other",
    };
    Ok(wire::assistant(
        v,
        requested,
        msg.get("content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        tool_calls,
        stop,
        ("/usage/prompt_tokens", "/usage/completion_tokens"),
    ))
}

impl ModelProvider for OpenAi {
    fn name(&self) -> &str {
        "openai"
    }

    fn complete<'a>(
        &'a self,
        req: Request,
        _ctx: &'a ModelCtx,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ErrorCode>> + Send + 'a>> {
        Box::pin(async move {
            let model = req.model.clone().unwrap_or_default();
            let url = format!("{}/chat/completions", self.base_url.trim_end_matches('/'));
            let mut headers = Vec::new();
            if let Some(k) = &self.api_key {
                headers.push(("authorization", format!("Bearer {k}")));
            }
            let v = post_json(
                &self.client,
                "the OpenAI-compatible server",
                &url,
                &headers,
                &body(&req),
                &self.http,
            )
            .await?;
            wire::priced(parse(&v, &model), "chat-completions", self.price)
        })
    }
}
