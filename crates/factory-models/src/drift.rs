//! The difference between a recorded model request and the live one, for
//! people: which message, which tool result, recorded against live.

use super::wire::{JsonMessage, JsonRequest};

/// How much of each side a difference shows.
const CONTEXT_LINES: usize = 2;
const MAX_LINE: usize = 240;

/// None when `recorded` and `live` (both normalised) ask the same: the same
/// messages and the same tools. Otherwise a readable account of the first
/// difference.
pub fn diff(recorded: &JsonRequest, live: &JsonRequest) -> Option<String> {
    let names = |r: &JsonRequest| r.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    let (rt, lt) = (names(recorded), names(live));
    for (i, (r, l)) in recorded.messages.iter().zip(&live.messages).enumerate() {
        if r != l {
            return Some(message_diff(i, r, l, &live.messages[..i]));
        }
    }
    let (rn, ln) = (recorded.messages.len(), live.messages.len());
    if rn != ln {
        let (longer, which) = if rn > ln {
            (&recorded.messages, "recorded")
        } else {
            (&live.messages, "live")
        };
        let extra = &longer[rn.min(ln)];
        return Some(format!(
            "the recorded request has {rn} messages, the live one {ln}; the first extra ({which}) message #{} is {}:\n{}",
            rn.min(ln),
            describe(extra, &longer[..rn.min(ln)]),
            indent(&clip_lines(&extra.content, 0, 2 * CONTEXT_LINES + 1))
        ));
    }
    if rt != lt {
        return Some(format!(
            "the tools offered differ:\n  recorded: {}\n  live:     {}",
            rt.join(", "),
            lt.join(", ")
        ));
    }
    None
}

/// What a message is: its role, and for a tool result the call it answers.
fn describe(m: &JsonMessage, before: &[JsonMessage]) -> String {
    match (&m.role[..], &m.tool_call_id) {
        ("tool", Some(id)) => {
            let name = before
                .iter()
                .rev()
                .flat_map(|b| &b.tool_calls)
                .find(|c| &c.id == id)
                .map(|c| format!("{} {}", c.name, c.arguments))
                .unwrap_or_else(|| "an unknown tool".into());
            format!("the tool result of call {id} ({name})")
        }
        (role, _) => format!("a {role} message"),
    }
}

fn message_diff(i: usize, r: &JsonMessage, l: &JsonMessage, before: &[JsonMessage]) -> String {
    let what = describe(l, before);
    let mut out = format!("message #{i}, {what}, differs");
    if r.role != l.role || r.tool_call_id != l.tool_call_id {
        out.push_str(&format!(
            ":\n  recorded: role {} {}\n  live:     role {} {}",
            r.role,
            r.tool_call_id.as_deref().unwrap_or(""),
            l.role,
            l.tool_call_id.as_deref().unwrap_or("")
        ));
        return out;
    }
    if r.content != l.content {
        let (rl, ll): (Vec<&str>, Vec<&str>) =
            (r.content.lines().collect(), l.content.lines().collect());
        let first = rl
            .iter()
            .zip(&ll)
            .position(|(a, b)| a != b)
            .unwrap_or(rl.len().min(ll.len()));
        let from = first.saturating_sub(CONTEXT_LINES);
        out.push_str(&format!(
            " from line {} ({} lines recorded, {} live):\n  recorded:\n{}\n  live:\n{}",
            first + 1,
            rl.len(),
            ll.len(),
            indent(&clip_lines(&r.content, from, 2 * CONTEXT_LINES + 1)),
            indent(&clip_lines(&l.content, from, 2 * CONTEXT_LINES + 1)),
        ));
        return out;
    }
    let calls = |m: &JsonMessage| {
        m.tool_calls
            .iter()
            .map(|c| format!("{} {} {}", c.id, c.name, clip(&c.arguments)))
            .collect::<Vec<_>>()
            .join("\n      ")
    };
    out.push_str(&format!(
        " in its tool calls:\n  recorded: {}\n  live:     {}",
        calls(r),
        calls(l)
    ));
    out
}

fn clip(s: &str) -> String {
    if s.len() <= MAX_LINE {
        return s.to_string();
    }
    format!(
        "{}… ({} bytes)",
        &s[..s.floor_char_boundary(MAX_LINE)],
        s.len()
    )
}

/// Lines `from..from+n` of `s`, numbered, each clipped.
fn clip_lines(s: &str, from: usize, n: usize) -> String {
    let lines: Vec<String> = s
        .lines()
        .enumerate()
        .skip(from)
        .take(n)
        .map(|(i, l)| format!("{:>4} | {}", i + 1, clip(l)))
        .collect();
    if lines.is_empty() {
        "   (nothing)".into()
    } else {
        lines.join("\n")
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::JsonToolCall;

    fn msg(role: &str, content: &str) -> JsonMessage {
        JsonMessage {
            role: role.into(),
            content: content.into(),
            ..Default::default()
        }
    }

    fn req(messages: Vec<JsonMessage>) -> JsonRequest {
        JsonRequest {
            model: "m".into(),
            messages,
            tools: Vec::new(),
            max_tokens: None,
            temperature: None,
        }
    }

    #[test]
    fn a_changed_tool_result_is_named_with_its_call() {
        let call = JsonMessage {
            role: "assistant".into(),
            tool_calls: vec![JsonToolCall {
                id: "c1".into(),
                name: "read-file".into(),
                arguments: r#"{"path":"calc.py"}"#.into(),
            }],
            ..Default::default()
        };
        let result = |text: &str| JsonMessage {
            tool_call_id: Some("c1".into()),
            ..msg("tool", text)
        };
        let recorded = req(vec![
            msg("user", "fix it"),
            call.clone(),
            result("def mean(xs):\n    return 0\n"),
        ]);
        let live = req(vec![
            msg("user", "fix it"),
            call,
            result("denied: read denied for `read-file`"),
        ]);
        assert_eq!(diff(&recorded, &recorded), None);
        let d = diff(&recorded, &live).unwrap();
        assert!(d.contains("message #2"), "{d}");
        assert!(
            d.contains("tool result of call c1 (read-file {\"path\":\"calc.py\"})"),
            "{d}"
        );
        assert!(
            d.contains("def mean(xs):") && d.contains("denied: read denied"),
            "{d}"
        );
    }

    #[test]
    fn missing_messages_and_tools_are_reported() {
        let a = req(vec![msg("user", "x")]);
        let b = req(vec![msg("user", "x"), msg("assistant", "more")]);
        let d = diff(&a, &b).unwrap();
        assert!(
            d.contains("1 messages, the live one 2") && d.contains("more"),
            "{d}"
        );
        let mut c = a.clone();
        c.tools.push(crate::wire::JsonToolSpec {
            name: "read-file".into(),
            description: String::new(),
            input_schema: serde_json::json!({}),
        });
        assert!(diff(&a, &c).unwrap().contains("tools offered differ"));
    }
}
