//! A scripted model on 127.0.0.1 that speaks both protocols factory's
//! clients use: OpenAI chat completions (`POST /v1/chat/completions`) and
//! Anthropic Messages (`POST /v1/messages`). Unlike a replay it reacts: each
//! request is turned into one conversation (system prompt, user text,
//! assistant tool calls and the tool results sent back), a `Brain` decides
//! the next turn from it, and the answer goes back in the protocol asked.
//!
//! A tool result that is an error (`error: …`, as the SDK's agent loop
//! reports a failed or denied tool call) fails the test: no brain here
//! expects one. It is kept in `problems` and the request is answered with
//! HTTP 400, so the run stops there instead of going on with a broken tool.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// One message of the conversation, whichever protocol carried it.
#[derive(Clone, Debug, Default)]
pub struct Msg {
    /// system, user, assistant, tool.
    pub role: String,
    pub content: String,
    pub calls: Vec<Call>,
    /// For a tool result: the call it answers.
    pub call_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Call {
    pub id: String,
    pub name: String,
    pub args: Value,
}

/// The conversation so far, with helpers for brains.
pub struct Conversation {
    pub messages: Vec<Msg>,
}

impl Conversation {
    pub fn system(&self) -> &str {
        self.messages
            .iter()
            .find(|m| m.role == "system")
            .map_or("", |m| &m.content)
    }

    pub fn user(&self) -> &str {
        self.messages
            .iter()
            .find(|m| m.role == "user")
            .map_or("", |m| &m.content)
    }

    /// Model turns taken so far.
    pub fn turn(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.role == "assistant")
            .count()
    }

    /// The result of the last call to `name` whose arguments contain
    /// `arg` (a path, say), if there is one.
    pub fn result_of(&self, name: &str, arg: &str) -> Option<&str> {
        let mut found = None;
        for m in &self.messages {
            for c in &m.calls {
                if c.name == name && c.args.to_string().contains(arg) {
                    found = self
                        .messages
                        .iter()
                        .find(|r| r.call_id.as_deref() == Some(&c.id))
                        .map(|r| r.content.as_str());
                }
            }
        }
        found
    }
}

/// The next turn: tool calls (name, arguments), or a final answer.
pub enum Reply {
    Calls(Vec<(&'static str, Value)>),
    Answer(String),
}

/// Decides a turn; Err fails the test with the reason.
pub type Brain = Arc<dyn Fn(&Conversation) -> Result<Reply, String> + Send + Sync>;

#[derive(Clone)]
struct Shared {
    brain: Brain,
    problems: Arc<Mutex<Vec<String>>>,
    requests: Arc<Mutex<Vec<String>>>,
    key: Option<String>,
}

pub struct ScriptedModel {
    /// `http://127.0.0.1:PORT`: the Anthropic base URL; add `/v1` for OpenAI.
    pub url: String,
    /// Unexpected tool errors and brain failures, for the test to assert on.
    pub problems: Arc<Mutex<Vec<String>>>,
    /// Which protocol each request came in (`openai`, `anthropic`).
    pub requests: Arc<Mutex<Vec<String>>>,
}

/// Serve `brain` on a fresh port. With `key`, requests must carry it
/// (`Authorization: Bearer` or `x-api-key`), as the real services demand.
pub async fn start(brain: Brain, key: Option<&str>) -> ScriptedModel {
    let shared = Shared {
        brain,
        problems: Arc::default(),
        requests: Arc::default(),
        key: key.map(str::to_string),
    };
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(openai))
        .route("/v1/messages", post(anthropic))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    ScriptedModel {
        url,
        problems: shared.problems,
        requests: shared.requests,
    }
}

type Answer = (StatusCode, Json<Value>);

fn refuse(s: &Shared, status: StatusCode, why: String) -> Answer {
    s.problems.lock().unwrap().push(why.clone());
    (
        status,
        Json(json!({"error": {"type": "invalid_request_error", "message": why}})),
    )
}

fn authorized(s: &Shared, h: &HeaderMap) -> bool {
    let Some(key) = &s.key else { return true };
    let bearer = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let api_key = h.get("x-api-key").and_then(|v| v.to_str().ok());
    bearer == Some(key) || api_key == Some(key)
}

/// The assistant's turn: tool calls (id, name, arguments) and text.
type Turn = (Vec<(String, String, Value)>, String);

/// Run the brain on a conversation; Err is the refusal to send.
fn decide(s: &Shared, messages: Vec<Msg>) -> Result<Turn, Answer> {
    // Every tool result the model is sent must be a real result.
    for (i, m) in messages.iter().enumerate() {
        if m.role == "tool" && m.content.starts_with("error:") {
            let call = messages[..i]
                .iter()
                .flat_map(|a| &a.calls)
                .find(|c| Some(&c.id) == m.call_id.as_ref())
                .map(|c| format!("{} {}", c.name, c.args))
                .unwrap_or_default();
            return Err(refuse(
                s,
                StatusCode::BAD_REQUEST,
                format!("unexpected tool error for {call}: {}", m.content),
            ));
        }
    }
    let conv = Conversation { messages };
    let turn = conv.turn();
    match (s.brain)(&conv) {
        Err(why) => Err(refuse(s, StatusCode::BAD_REQUEST, why)),
        Ok(Reply::Answer(text)) => Ok((Vec::new(), text)),
        Ok(Reply::Calls(calls)) => Ok((
            calls
                .into_iter()
                .enumerate()
                .map(|(i, (n, a))| (format!("call_{turn}_{i}"), n.to_string(), a))
                .collect(),
            String::new(),
        )),
    }
}

fn tokens(v: &Value) -> u64 {
    (v.to_string().len() / 4) as u64
}

async fn openai(State(s): State<Shared>, h: HeaderMap, Json(body): Json<Value>) -> Answer {
    s.requests.lock().unwrap().push("openai".into());
    if !authorized(&s, &h) {
        return refuse(
            &s,
            StatusCode::UNAUTHORIZED,
            "openai: bad or missing key".into(),
        );
    }
    let mut messages = Vec::new();
    for m in body["messages"].as_array().cloned().unwrap_or_default() {
        messages.push(Msg {
            role: m["role"].as_str().unwrap_or("").to_string(),
            content: m["content"].as_str().unwrap_or("").to_string(),
            calls: m["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| Call {
                    id: c["id"].as_str().unwrap_or("").into(),
                    name: c["function"]["name"].as_str().unwrap_or("").into(),
                    args: serde_json::from_str(c["function"]["arguments"].as_str().unwrap_or("{}"))
                        .unwrap_or(Value::Null),
                })
                .collect(),
            call_id: m["tool_call_id"].as_str().map(str::to_string),
        });
    }
    let (calls, text) = match decide(&s, messages) {
        Ok(x) => x,
        Err(refusal) => return refusal,
    };
    let tool_calls: Vec<Value> = calls
        .iter()
        .map(|(id, n, a)| json!({"id": id, "type": "function", "function": {"name": n, "arguments": a.to_string()}}))
        .collect();
    let mut message = json!({"role": "assistant", "content": text});
    if !tool_calls.is_empty() {
        message["tool_calls"] = json!(tool_calls);
        message["content"] = Value::Null;
    }
    (
        StatusCode::OK,
        Json(json!({
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": if calls.is_empty() { "stop" } else { "tool_calls" }}],
            "usage": {"prompt_tokens": tokens(&body), "completion_tokens": 50, "total_tokens": tokens(&body) + 50},
        })),
    )
}

async fn anthropic(State(s): State<Shared>, h: HeaderMap, Json(body): Json<Value>) -> Answer {
    s.requests.lock().unwrap().push("anthropic".into());
    if !authorized(&s, &h) || h.get("anthropic-version").is_none() {
        return refuse(
            &s,
            StatusCode::UNAUTHORIZED,
            "anthropic: bad key or no anthropic-version".into(),
        );
    }
    let mut messages = vec![Msg {
        role: "system".into(),
        content: match &body["system"] {
            Value::String(t) => t.clone(),
            Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect(),
            _ => String::new(),
        },
        ..Default::default()
    }];
    for m in body["messages"].as_array().cloned().unwrap_or_default() {
        let role = m["role"].as_str().unwrap_or("").to_string();
        let blocks = match &m["content"] {
            Value::String(t) => vec![json!({"type": "text", "text": t})],
            Value::Array(b) => b.clone(),
            _ => Vec::new(),
        };
        let mut msg = Msg {
            role: role.clone(),
            ..Default::default()
        };
        for b in blocks {
            match b["type"].as_str() {
                Some("text") => msg.content.push_str(b["text"].as_str().unwrap_or("")),
                Some("tool_use") => msg.calls.push(Call {
                    id: b["id"].as_str().unwrap_or("").into(),
                    name: b["name"].as_str().unwrap_or("").into(),
                    args: b["input"].clone(),
                }),
                Some("tool_result") => messages.push(Msg {
                    role: "tool".into(),
                    content: match &b["content"] {
                        Value::String(t) => t.clone(),
                        Value::Array(parts) => {
                            parts.iter().filter_map(|p| p["text"].as_str()).collect()
                        }
                        _ => String::new(),
                    },
                    call_id: b["tool_use_id"].as_str().map(str::to_string),
                    ..Default::default()
                }),
                _ => {}
            }
        }
        if !msg.content.is_empty() || !msg.calls.is_empty() {
            messages.push(msg);
        }
    }
    let (calls, text) = match decide(&s, messages) {
        Ok(x) => x,
        Err(refusal) => return refusal,
    };
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    for (id, n, a) in &calls {
        content.push(json!({"type": "tool_use", "id": id, "name": n, "input": a}));
    }
    (
        StatusCode::OK,
        Json(json!({
            "id": "msg_scripted",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": if calls.is_empty() { "end_turn" } else { "tool_use" },
            "usage": {"input_tokens": tokens(&body), "output_tokens": 50},
        })),
    )
}
