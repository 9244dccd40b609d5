//! Intake of a chat message: a Slack `message` event, bare or inside an
//! Events API `event_callback` envelope. Mentions and links are turned into
//! plain text; the message is read like a short brief.

use factory_sdk::intake::{Intake, IntakeError, invalid};
use factory_sdk::types::{Priority, Task, brief};
use serde::Deserialize;

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    event: Option<Event>,
    team_id: Option<String>,
    #[serde(flatten)]
    bare: Event,
}

#[derive(Deserialize, Default)]
struct Event {
    #[serde(rename = "type")]
    kind: Option<String>,
    subtype: Option<String>,
    text: Option<String>,
    user: Option<String>,
    channel: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
}

struct Chat;

/// Slack mrkdwn to text: `<@U1>` → `@U1`, `<url|label>` → `label (url)`,
/// `<#C1|name>` → `#name`, entities decoded.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &rest[start + 1..start + end];
        let (target, label) = inner.split_once('|').unwrap_or((inner, ""));
        out.push_str(&match target.chars().next() {
            Some('@') => format!(
                "@{}",
                if label.is_empty() {
                    &target[1..]
                } else {
                    label
                }
            ),
            Some('#') => format!(
                "#{}",
                if label.is_empty() {
                    &target[1..]
                } else {
                    label
                }
            ),
            Some('!') => format!("@{}", target[1..].split('^').next().unwrap_or("")),
            _ if label.is_empty() => target.to_string(),
            _ => format!("{label} ({target})"),
        });
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn event(input: &str) -> Result<(Event, Option<String>), String> {
    let env: Envelope =
        serde_json::from_str(input).map_err(|e| format!("not a JSON Slack event: {e}"))?;
    let (ev, team) = match (env.kind.as_deref(), env.event) {
        (Some("event_callback"), Some(ev)) => (ev, env.team_id),
        (Some("url_verification"), _) => {
            return Err("this is Slack's url_verification handshake, not a message".into());
        }
        // A bare event: its `type` was read into the envelope's.
        (kind, _) => {
            let mut ev = env.bare;
            ev.kind = kind.map(str::to_string);
            (ev, None)
        }
    };
    if ev.kind.as_deref() != Some("message") && ev.kind.as_deref() != Some("app_mention") {
        return Err(format!(
            "expected a Slack event of type \"message\" or \"app_mention\", found {:?}",
            ev.kind.as_deref().unwrap_or("(no type)")
        ));
    }
    Ok((ev, team))
}

impl Intake for Chat {
    const NAME: &'static str = "intake-chat";
    const FORMAT: &'static str = "chat";
    const DESCRIPTION: &'static str = include_str!("../description.txt");

    fn detect(input: &str) -> u8 {
        match event(input) {
            Ok((ev, _)) if ev.text.is_some() && (ev.channel.is_some() || ev.ts.is_some()) => 95,
            Ok(_) => 40,
            Err(_) => 0,
        }
    }

    fn parse(input: &str, source: &str) -> Result<Task, IntakeError> {
        let (ev, team) = event(input).map_err(invalid)?;
        if let Some(sub) = ev
            .subtype
            .as_deref()
            .filter(|s| *s == "message_deleted" || *s == "channel_join")
        {
            return Err(invalid(format!(
                "this message event is a `{sub}`, which carries no request"
            )));
        }
        let text = plain(ev.text.as_deref().unwrap_or("")).trim().to_string();
        // Drop a leading mention of the bot.
        let text = match text.strip_prefix('@') {
            Some(rest) => rest
                .split_once(char::is_whitespace)
                .map_or("", |(_, t)| t)
                .trim()
                .to_string(),
            None => text,
        };
        if text.is_empty() {
            return Err(invalid(
                "the message has no text; expected a request like \"please fix …\"",
            ));
        }
        let b = brief::parse(&text);
        let mut task = Task::new(
            Self::FORMAT,
            source,
            b.title.clone().unwrap_or_else(|| brief::title_from(&text)),
        );
        task.intent = text.clone();
        task.acceptance_criteria = b.acceptance_criteria;
        task.scope = b.scope;
        let lower = text.to_ascii_lowercase();
        task.priority = b.priority.unwrap_or(
            if lower.contains("urgent") || lower.contains("asap") || lower.contains("outage") {
                Priority::Urgent
            } else {
                Priority::Normal
            },
        );
        task.source.author = ev.user;
        task.source.id = ev.ts.clone();
        if let (Some(ch), Some(ts)) = (&ev.channel, ev.thread_ts.as_ref().or(ev.ts.as_ref())) {
            task.source.url = Some(format!(
                "slack://channel?team={}&id={ch}&message={ts}",
                team.as_deref().unwrap_or("")
            ));
        }
        Ok(task)
    }
}

factory_sdk::export_intake!(Chat);
