//! `POST /hooks/slack`: Slack's signing secret (v0) is checked on the raw
//! body, with the request's timestamp, before anything is parsed; a
//! timestamp more than five minutes from now is refused (a replay).
//!
//! - Events API `url_verification`: the challenge is answered.
//! - Events API `event_callback` with an `app_mention`, or a direct
//!   `message` to the app: a task (format `chat`). A retry of the same
//!   event (`X-Slack-Retry-Num`, same `event_id`) is the same delivery.
//! - A slash command (`command=/factory&text=…`, form-encoded): a task.
//!
//! The repository is the message's first word when it is `OWNER/NAME`,
//! else the service's only repository. Messages from bots (factory's own
//! among them) are ignored, so a bot cannot start work.

use super::{Action, HookError, pick_repo};
use crate::queue::NewTask;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// How far a request's timestamp may be from now, in seconds.
pub const MAX_SKEW_SECS: u64 = 5 * 60;

/// Check `X-Slack-Signature` (`v0=<hex>` of HMAC-SHA256 over
/// `v0:{timestamp}:{body}`) and `X-Slack-Request-Timestamp` against `now`
/// (seconds since the epoch), in constant time.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: u64,
) -> Result<(), HookError> {
    let ts = timestamp.ok_or(HookError::Signature("no X-Slack-Request-Timestamp header"))?;
    let sig = signature.ok_or(HookError::Signature("no X-Slack-Signature header"))?;
    let when: u64 = ts
        .parse()
        .map_err(|_| HookError::Signature("X-Slack-Request-Timestamp is not a number"))?;
    if now.abs_diff(when) > MAX_SKEW_SECS {
        return Err(HookError::Signature(
            "X-Slack-Request-Timestamp is more than 5 minutes from now (a replay, or a clock off)",
        ));
    }
    let hex_sig = sig
        .strip_prefix("v0=")
        .ok_or(HookError::Signature("X-Slack-Signature is not `v0=<hex>`"))?;
    let sig = hex::decode(hex_sig)
        .map_err(|_| HookError::Signature("X-Slack-Signature is not `v0=<hex>`"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| HookError::Signature("the signing secret is unusable"))?;
    mac.update(b"v0:");
    mac.update(ts.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&sig)
        .map_err(|_| HookError::Signature("X-Slack-Signature does not match the body"))
}

/// `<@U123>` mentions and surrounding space off the front of a message.
fn strip_mentions(text: &str) -> &str {
    let mut t = text.trim_start();
    while let Some(rest) = t.strip_prefix("<@")
        && let Some(end) = rest.find('>')
    {
        t = rest[end + 1..].trim_start();
    }
    t
}

/// The repository the message names first (`OWNER/NAME`), and the rest.
fn repo_word(text: &str) -> (Option<&str>, &str) {
    let t = strip_mentions(text);
    let (first, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let looks = first.split('/').count() == 2
        && first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !first.starts_with('/')
        && !first.ends_with('/');
    if looks {
        (Some(first), rest.trim_start())
    } else {
        (None, t)
    }
}

fn title(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("a Slack message")
        .chars()
        .take(200)
        .collect()
}

/// Route a verified request. `content_type` tells a slash command (form)
/// from an Events API request (JSON).
pub fn route(content_type: &str, body: &[u8], repos: &[String]) -> Result<Action, HookError> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return command(body, repos);
    }
    let p: Value = serde_json::from_slice(body)
        .map_err(|e| HookError::Malformed(format!("the body is not JSON: {e}")))?;
    let kind = p["type"]
        .as_str()
        .ok_or_else(|| HookError::Malformed("a Slack request without `type`".into()))?;
    match kind {
        "url_verification" => {
            let c = p["challenge"].as_str().ok_or_else(|| {
                HookError::Malformed("url_verification without `challenge`".into())
            })?;
            Ok(Action::Challenge(c.to_string()))
        }
        "event_callback" => event(&p, repos),
        other => Ok(Action::Ignore(format!(
            "Slack `{other}` requests are not ones factory acts on"
        ))),
    }
}

fn event(p: &Value, repos: &[String]) -> Result<Action, HookError> {
    let id = p["event_id"]
        .as_str()
        .ok_or_else(|| HookError::Malformed("an event_callback without `event_id`".into()))?;
    let e = &p["event"];
    let kind = e["type"]
        .as_str()
        .ok_or_else(|| HookError::Malformed("an event_callback without `event.type`".into()))?;
    if e.get("bot_id").is_some() || e["subtype"] == "bot_message" {
        return Ok(Action::Ignore(
            "messages from bots do not start work".into(),
        ));
    }
    let direct = kind == "message" && e["channel_type"] == "im" && e.get("subtype").is_none();
    if kind != "app_mention" && !direct {
        return Ok(Action::Ignore(format!(
            "`{kind}` events are not ones factory acts on (mention the app, or message it directly)"
        )));
    }
    let text = e["text"]
        .as_str()
        .ok_or_else(|| HookError::Malformed(format!("a `{kind}` event without `text`")))?;
    let channel = e["channel"].as_str().unwrap_or_default();
    let ts = e["thread_ts"].as_str().or(e["ts"].as_str()).unwrap_or(id);
    let (named, rest) = repo_word(text);
    let repo = pick_repo(named, repos)?;
    if rest.trim().is_empty() {
        return Ok(Action::Ignore(
            "the message says nothing after the mention".into(),
        ));
    }
    let mut spec = p.clone();
    spec["event"]["text"] = Value::String(rest.to_string());
    Ok(Action::Task(NewTask {
        source: "slack".into(),
        delivery: Some(format!("slack:{id}")),
        subject: Some(format!("slack:{channel}:{ts}")),
        repo,
        format: "chat".into(),
        spec: spec.to_string(),
        title: title(rest),
        keys: Vec::new(),
        trust: None,
    }))
}

fn command(body: &[u8], repos: &[String]) -> Result<Action, HookError> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(cmd), Some(trigger)) = (get("command"), get("trigger_id")) else {
        return Err(HookError::Malformed(
            "a slash command has `command` and `trigger_id` fields".into(),
        ));
    };
    let text = get("text").unwrap_or_default();
    let (named, rest) = repo_word(text);
    if rest.trim().is_empty() {
        return Err(HookError::Malformed(format!(
            "say what to do: `{cmd} [OWNER/NAME] what needs doing`"
        )));
    }
    let repo = pick_repo(named, repos)?;
    // A bare message event, as the chat intake reads it.
    let spec = json!({
        "type": "message",
        "text": rest,
        "user": get("user_id").unwrap_or_default(),
        "channel": get("channel_id").unwrap_or_default(),
        "team_id": get("team_id").unwrap_or_default(),
    });
    Ok(Action::Task(NewTask {
        source: "slack".into(),
        delivery: Some(format!("slack:command:{trigger}")),
        subject: None,
        repo,
        format: "chat".into(),
        spec: spec.to_string(),
        title: title(rest),
        keys: Vec::new(),
        trust: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's documented example ("Verifying requests from Slack").
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_documented_test_vector_verifies() {
        let now = 1531420618 + 10;
        verify(SECRET, Some(TS), Some(SIG), BODY, now).unwrap();
        for (ts, sig, body, now, why) in [
            (None, Some(SIG), BODY, now, "no X-Slack-Request-Timestamp"),
            (Some(TS), None, BODY, now, "no X-Slack-Signature"),
            (Some("soon"), Some(SIG), BODY, now, "not a number"),
            (
                Some(TS),
                Some(SIG),
                BODY,
                1531420618 + 301,
                "more than 5 minutes",
            ),
            (
                Some(TS),
                Some(SIG),
                BODY,
                1531420618 - 301,
                "more than 5 minutes",
            ),
            (Some(TS), Some("v1=abc"), BODY, now, "not `v0=<hex>`"),
            (
                Some(TS),
                Some(&SIG.replace("b503", "b504")),
                BODY,
                now,
                "does not match",
            ),
            (Some(TS), Some(SIG), &BODY[1..], now, "does not match"),
            (Some("1531420619"), Some(SIG), BODY, now, "does not match"),
        ] {
            let e = verify(SECRET, ts, sig, body, now).unwrap_err().to_string();
            assert!(e.contains(why), "{ts:?} {sig:?}: {e}");
        }
    }

    fn repos() -> Vec<String> {
        vec!["acme/calc".to_string()]
    }

    #[test]
    fn a_mention_becomes_a_chat_task_and_bots_are_ignored() {
        let ev = |event: Value| {
            json!({"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": event})
                .to_string()
        };
        let body = ev(
            json!({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.2",
                             "text": "<@UBOT> acme/calc mean() crashes on []"}),
        );
        let Action::Task(t) = route("application/json", body.as_bytes(), &repos()).unwrap() else {
            panic!()
        };
        assert_eq!(t.repo, "acme/calc");
        assert_eq!(t.title, "mean() crashes on []");
        assert_eq!(t.delivery.as_deref(), Some("slack:Ev1"));
        assert_eq!(t.subject.as_deref(), Some("slack:C1:1.2"));
        assert_eq!(t.format, "chat");
        let spec: Value = serde_json::from_str(&t.spec).unwrap();
        assert_eq!(spec["event"]["text"], "mean() crashes on []");
        // Without a repository word: the only one.
        let body = ev(
            json!({"type": "app_mention", "channel": "C1", "ts": "1.3", "text": "<@UBOT> fix it"}),
        );
        assert!(
            matches!(route("application/json", body.as_bytes(), &repos()).unwrap(), Action::Task(t) if t.repo == "acme/calc")
        );
        for event in [
            json!({"type": "app_mention", "bot_id": "B1", "channel": "C1", "ts": "1", "text": "<@UBOT> do it"}),
            json!({"type": "message", "channel_type": "channel", "channel": "C1", "ts": "1", "text": "chatter"}),
            json!({"type": "reaction_added"}),
            json!({"type": "app_mention", "channel": "C1", "ts": "1", "text": "<@UBOT>"}),
        ] {
            let body = ev(event.clone());
            assert!(
                matches!(
                    route("application/json", body.as_bytes(), &repos()).unwrap(),
                    Action::Ignore(_)
                ),
                "{event}"
            );
        }
        let body = ev(
            json!({"type": "app_mention", "channel": "C1", "ts": "1", "text": "<@UBOT> evil/repo do it"}),
        );
        assert!(
            matches!(route("application/json", body.as_bytes(), &repos()), Err(HookError::Unmapped(r)) if r == "evil/repo")
        );
    }

    #[test]
    fn url_verification_slash_commands_and_malformed_requests() {
        let v =
            json!({"type": "url_verification", "challenge": "3eZbrw1a", "token": "x"}).to_string();
        assert!(
            matches!(route("application/json", v.as_bytes(), &repos()).unwrap(), Action::Challenge(c) if c == "3eZbrw1a")
        );
        let cmd = b"command=%2Ffactory&text=acme%2Fcalc+mean+crashes&user_id=U1&channel_id=C1&trigger_id=t.1";
        let Action::Task(t) = route("application/x-www-form-urlencoded", cmd, &repos()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (t.title.as_str(), t.delivery.as_deref()),
            ("mean crashes", Some("slack:command:t.1"))
        );
        for (ct, body) in [
            ("application/json", &b"not json"[..]),
            ("application/json", br#"{"no":"type"}"#),
            ("application/json", br#"{"type":"url_verification"}"#),
            (
                "application/json",
                br#"{"type":"event_callback","event":{"type":"app_mention"}}"#,
            ),
            ("application/x-www-form-urlencoded", b"text=hi"),
            (
                "application/x-www-form-urlencoded",
                b"command=%2Ffactory&trigger_id=t&text=",
            ),
        ] {
            assert!(
                matches!(route(ct, body, &repos()), Err(HookError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
