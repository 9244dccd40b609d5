//! The model providers against 127.0.0.1 servers that speak each protocol:
//! request shape, credentials, tool calling, usage and cost, retries with
//! backoff, timeouts, errors that never carry the key; record and replay.

use crate::server::serve;
use factory_host::bindings::ErrorCode;
use factory_host::bindings::imports::factory::plugin::model::{
    Message, Request, Role, StopReason, ToolCall, ToolSpec,
};
use factory_host::caps::model::ModelCtx;
use factory_host::models::{ModelConfig, ProviderKind};
use serde_json::json;
use std::time::Duration;

fn msg(role: Role, content: &str) -> Message {
    Message {
        role,
        content: content.into(),
        tool_calls: vec![],
        tool_call_id: None,
    }
}

/// A conversation with a system prompt, a tool call and its result.
pub fn request(model: &str) -> Request {
    Request {
        model: Some(model.into()),
        messages: vec![
            msg(Role::System, "be brief"),
            msg(Role::User, "read calc.py"),
            Message {
                tool_calls: vec![ToolCall {
                    id: "c1".into(),
                    name: "read-file".into(),
                    arguments: "{\"path\":\"calc.py\"}".into(),
                }],
                ..msg(Role::Assistant, "")
            },
            Message {
                tool_call_id: Some("c1".into()),
                ..msg(Role::Tool, "def mean(xs): ...")
            },
        ],
        tools: vec![ToolSpec {
            name: "read-file".into(),
            description: "Read a file".into(),
            input_schema: "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}}"
                .into(),
        }],
        max_tokens: Some(100),
        temperature: None,
    }
}

pub fn ctx() -> ModelCtx {
    ModelCtx {
        plugin: "coder".into(),
        stream: "t1/coder/1".into(),
        seq: 0,
    }
}

pub fn config(provider: ProviderKind, name: &str, url: &str, key_env: &str) -> ModelConfig {
    toml::from_str::<ModelConfig>(&format!(
        "provider = \"{}\"\nname = \"{name}\"\nbase_url = \"{url}\"\napi_key_env = \"{key_env}\"\ntimeout = \"300ms\"\nmax_retries = 2",
        match provider {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Replay => "replay",
        }
    ))
    .unwrap()
}

const OPENAI_REPLY: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_9","type":"function","function":{"name":"write-file","arguments":"{\"path\":\"calc.py\",\"content\":\"x\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200}}"#;

#[tokio::test]
async fn openai_compatible_request_tools_usage_and_cost() {
    let s = serve(vec![(200, vec![], OPENAI_REPLY.into())]).await;
    // SAFETY-free: each test uses its own variable name.
    unsafe_set_env("FACTORY_TEST_OPENAI_KEY", "sk-test-123");
    let p = config(
        ProviderKind::Openai,
        "gpt-4o-mini",
        &format!("{}/v1", s.url),
        "FACTORY_TEST_OPENAI_KEY",
    )
    .provider(std::path::Path::new("."), None, Default::default())
    .unwrap();
    let r = p.complete(request("gpt-4o-mini"), &ctx()).await.unwrap();
    assert_eq!(r.stop_reason, StopReason::ToolUse);
    assert_eq!(r.message.tool_calls[0].name, "write-file");
    assert_eq!(
        r.message.tool_calls[0].arguments,
        "{\"path\":\"calc.py\",\"content\":\"x\"}"
    );
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (1000, 200));
    // gpt-4o-mini: $0.15 / $0.60 per million tokens.
    assert_eq!(r.usage.cost_micro_usd, 150 + 120);
    let req = &s.requests.lock().unwrap()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.headers["authorization"], "Bearer sk-test-123");
    let b = &req.body;
    assert_eq!(b["model"], "gpt-4o-mini");
    assert_eq!(
        b["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(
        b["messages"][2]["tool_calls"][0]["function"]["name"],
        "read-file"
    );
    assert_eq!(b["messages"][2]["tool_calls"][0]["type"], "function");
    assert_eq!(b["messages"][3]["tool_call_id"], "c1");
    assert_eq!(b["tools"][0]["type"], "function");
    assert_eq!(b["tools"][0]["function"]["parameters"]["type"], "object");
    assert_eq!(b["max_tokens"], 100);
}

pub fn unsafe_set_env(k: &str, v: &str) {
    // Tests in this binary use distinct variable names, so setting them is
    // not racy with respect to what each test reads.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var(k, v)
    };
}

#[tokio::test]
async fn retries_rate_limits_and_server_errors_with_backoff() {
    let s = serve(vec![
        (
            429,
            vec![("retry-after", "0".into())],
            r#"{"error":{"message":"slow down"}}"#.into(),
        ),
        (503, vec![], "upstream unavailable".into()),
        (200, vec![], OPENAI_REPLY.into()),
    ])
    .await;
    let p = config(ProviderKind::Openai, "m", &s.url, "FACTORY_TEST_UNSET_1")
        .provider(std::path::Path::new("."), None, Default::default())
        .unwrap();
    let r = p.complete(request("m"), &ctx()).await.unwrap();
    assert_eq!(r.usage.input_tokens, 1000);
    assert_eq!(s.requests.lock().unwrap().len(), 3, "two retries");
    // No key configured for a local server: no authorization header.
    assert!(
        !s.requests.lock().unwrap()[0]
            .headers
            .contains_key("authorization")
    );
}

#[tokio::test]
async fn a_refused_key_is_an_error_without_the_key_and_without_retries() {
    let s = serve(vec![(
        401,
        vec![],
        r#"{"error":{"message":"Incorrect API key provided: sk-sec***"}}"#.into(),
    )])
    .await;
    unsafe_set_env("FACTORY_TEST_OPENAI_KEY_2", "sk-secret-value-999");
    let p = config(
        ProviderKind::Openai,
        "m",
        &s.url,
        "FACTORY_TEST_OPENAI_KEY_2",
    )
    .provider(std::path::Path::new("."), None, Default::default())
    .unwrap();
    let e = p.complete(request("m"), &ctx()).await.unwrap_err();
    let ErrorCode::Failed(m) = e else {
        panic!("{e:?}")
    };
    assert!(m.contains("HTTP 401") && m.contains("operator"), "{m}");
    assert!(!m.contains("sk-secret-value-999"));
    assert_eq!(s.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let s = serve(vec![
        (0, vec![], String::new()),
        (0, vec![], String::new()),
        (0, vec![], String::new()),
    ])
    .await;
    let p = config(ProviderKind::Openai, "m", &s.url, "FACTORY_TEST_UNSET_2")
        .provider(std::path::Path::new("."), None, Default::default())
        .unwrap();
    let started = std::time::Instant::now();
    let e = p.complete(request("m"), &ctx()).await.unwrap_err();
    assert!(
        matches!(&e, ErrorCode::LimitExceeded(m) if m.contains("did not answer") && m.contains("3 attempts")),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn anthropic_messages_request_tools_and_usage() {
    let reply = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Writing it."},{"type":"tool_use","id":"toolu_1","name":"write-file","input":{"path":"calc.py","content":"x"}}],"stop_reason":"tool_use","usage":{"input_tokens":2000,"output_tokens":100}}"#;
    let s = serve(vec![
        (
            529,
            vec![],
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.into(),
        ),
        (200, vec![], reply.into()),
    ])
    .await;
    unsafe_set_env("FACTORY_TEST_ANTHROPIC_KEY", "ak-test");
    let p = config(
        ProviderKind::Anthropic,
        "claude-sonnet-4-5",
        &s.url,
        "FACTORY_TEST_ANTHROPIC_KEY",
    )
    .provider(std::path::Path::new("."), None, Default::default())
    .unwrap();
    let r = p
        .complete(request("claude-sonnet-4-5"), &ctx())
        .await
        .unwrap();
    assert_eq!(r.message.content, "Writing it.");
    assert_eq!(r.stop_reason, StopReason::ToolUse);
    assert_eq!(r.message.tool_calls[0].id, "toolu_1");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.message.tool_calls[0].arguments).unwrap(),
        json!({"path": "calc.py", "content": "x"})
    );
    // claude-sonnet-4: $3 / $15 per million tokens.
    assert_eq!(r.usage.cost_micro_usd, 6000 + 1500);
    let reqs = s.requests.lock().unwrap();
    assert_eq!(reqs.len(), 2, "the overloaded answer was retried");
    let req = &reqs[1];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.headers["x-api-key"], "ak-test");
    assert_eq!(req.headers["anthropic-version"], "2023-06-01");
    let b = &req.body;
    assert_eq!(b["system"], "be brief");
    assert_eq!(b["max_tokens"], 100);
    assert_eq!(b["messages"][0]["role"], "user");
    assert_eq!(b["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(
        b["messages"][1]["content"][0]["input"],
        json!({"path": "calc.py"})
    );
    assert_eq!(b["messages"][2]["role"], "user");
    assert_eq!(b["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(b["messages"][2]["content"][0]["tool_use_id"], "c1");
    assert_eq!(b["tools"][0]["input_schema"]["type"], "object");
}

#[tokio::test]
async fn a_missing_key_is_a_setup_error_naming_the_variable() {
    let e = config(
        ProviderKind::Anthropic,
        "claude",
        "http://127.0.0.1:9",
        "FACTORY_TEST_UNSET_3",
    )
    .provider(std::path::Path::new("."), None, Default::default())
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("$FACTORY_TEST_UNSET_3"), "{e}");
}

#[tokio::test]
async fn record_then_replay() {
    let s = serve(vec![(200, vec![], OPENAI_REPLY.into())]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.jsonl");
    let p = config(
        ProviderKind::Openai,
        "gpt-4o-mini",
        &s.url,
        "FACTORY_TEST_UNSET_4",
    )
    .provider(std::path::Path::new("."), Some(&file), Default::default())
    .unwrap();
    let live = p.complete(request("gpt-4o-mini"), &ctx()).await.unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["stream"], "t1/coder/1");
    assert_eq!(line["seq"], 0);
    assert_eq!(line["request"]["messages"][1]["content"], "read calc.py");

    let mut cfg = config(ProviderKind::Replay, "gpt-4o-mini", "http://unused", "X");
    cfg.replay = Some(file.clone());
    let replay = cfg
        .provider(std::path::Path::new("/"), None, Default::default())
        .unwrap();
    let again = replay
        .complete(request("gpt-4o-mini"), &ctx())
        .await
        .unwrap();
    assert_eq!(
        again.message.tool_calls[0].arguments,
        live.message.tool_calls[0].arguments
    );
    assert_eq!(again.usage.cost_micro_usd, live.usage.cost_micro_usd);
    assert_eq!(
        s.requests.lock().unwrap().len(),
        1,
        "replay made no request"
    );
    // A call the recording lacks is a clear not-found.
    let e = replay
        .complete(request("gpt-4o-mini"), &ModelCtx { seq: 1, ..ctx() })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ErrorCode::NotFound(m) if m.contains("call #1") && m.contains("--record")),
        "{e:?}"
    );
    // A damaged recording names the line.
    std::fs::write(&file, format!("{text}\n{{not json\n")).unwrap();
    let e = cfg
        .provider(std::path::Path::new("/"), None, Default::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains(":3:"), "{e}");
}

/// Strict replay: a live request whose tool result differs from the
/// recorded one is refused with the difference, and the provider says the
/// run must stop; lenient replay plays the reply anyway. Paths of the
/// recording run and of the live run are normalised away.
#[tokio::test]
async fn strict_replay_refuses_a_changed_tool_result() {
    use factory_host::models::normalize::Normalizer;
    let s = serve(vec![(200, vec![], OPENAI_REPLY.into())]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.jsonl");
    let with_path = |root: &str, result: &str| {
        let mut r = request("gpt-4o-mini");
        r.messages[1].content = format!("work in {root}/runs/r6a1f0c2b9e3d/tasks/t1");
        r.messages[3].content = result.to_string();
        r
    };
    let recorder = config(
        ProviderKind::Openai,
        "gpt-4o-mini",
        &s.url,
        "FACTORY_TEST_UNSET_5",
    )
    .provider(
        std::path::Path::new("."),
        Some(&file),
        Normalizer::new(
            std::path::Path::new("/srv/a/repo"),
            std::path::Path::new("/srv/a/home"),
        ),
    )
    .unwrap();
    recorder
        .complete(with_path("/srv/a/home", "def mean(xs): ..."), &ctx())
        .await
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("<home>/runs/<run>/tasks/t1"),
        "recorded normalised: {text}"
    );

    let mut cfg = config(ProviderKind::Replay, "gpt-4o-mini", "http://unused", "X");
    cfg.replay = Some(file.clone());
    let live_norm = || {
        Normalizer::new(
            std::path::Path::new("/other/repo"),
            std::path::Path::new("/other/home"),
        )
    };
    // Same conversation in another home and run: it matches.
    let replay = cfg
        .provider(std::path::Path::new("/"), None, live_norm())
        .unwrap();
    replay
        .complete(with_path("/other/home", "def mean(xs): ..."), &ctx())
        .await
        .expect("a matching request replays");
    assert!(replay.halted().is_none());
    // A different tool result: refused, with which message and both sides.
    let e = replay
        .complete(
            with_path("/other/home", "denied: outside the granted directories"),
            &ctx(),
        )
        .await
        .unwrap_err();
    let ErrorCode::Failed(m) = &e else {
        panic!("{e:?}")
    };
    assert!(
        m.contains("replay mismatch") && m.contains("stream \"t1/coder/1\" call #0"),
        "{m}"
    );
    assert!(
        m.contains("message #3") && m.contains("tool result of call c1 (read-file"),
        "{m}"
    );
    assert!(
        m.contains("def mean(xs): ...") && m.contains("denied: outside"),
        "{m}"
    );
    assert!(replay.halted().is_some_and(|h| h.contains("message #3")));
    // Lenient replay plays it.
    cfg.lenient = true;
    let lenient = cfg
        .provider(std::path::Path::new("/"), None, live_norm())
        .unwrap();
    lenient
        .complete(with_path("/other/home", "something else"), &ctx())
        .await
        .expect("lenient replay ignores the difference");
    // A recording without requests cannot be replayed strictly.
    let bare = dir.path().join("bare.json");
    let mut x: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    x.as_object_mut().unwrap().remove("request");
    std::fs::write(&bare, format!("[{x}]")).unwrap();
    cfg.lenient = false;
    cfg.replay = Some(bare);
    let e = cfg
        .provider(std::path::Path::new("/"), None, live_norm())
        .unwrap()
        .complete(request("gpt-4o-mini"), &ctx())
        .await
        .unwrap_err();
    assert!(
        format!("{e:?}").contains("holds no request")
            && format!("{e:?}").contains("--replay-lenient"),
        "{e:?}"
    );
    // lenient belongs to replay only.
    let mut bad = config(ProviderKind::Openai, "m", &s.url, "FACTORY_TEST_UNSET_6");
    bad.lenient = true;
    let e = bad
        .provider(std::path::Path::new("."), None, Default::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("replay provider only"), "{e}");
}
