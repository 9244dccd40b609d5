//! Small pieces of HTML the pages share. Everything shown is escaped: task
//! titles, step summaries, diffs and journal messages come from specs and
//! roles, not from the operator.

use factory_orchestrator::outcome::GateResult;
pub use factory_orchestrator::report::{esc, hms, usd};
use std::fmt::Write as _;

pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

pub fn now_ms() -> i64 {
    factory_store::db::now_ms()
}

/// How long ago `ms` (since the epoch) was, in words.
pub fn age(ms: i64) -> String {
    let s = (now_ms() - ms).max(0) / 1000;
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86400),
    }
}

/// A diff, its added and removed lines coloured; at most `max` bytes.
pub fn diff(text: &str, max: usize) -> String {
    let cut = &text[..text.floor_char_boundary(max.min(text.len()))];
    let mut o = String::from("<pre class=diff>");
    for line in cut.lines() {
        let class = if line.starts_with('+') && !line.starts_with("+++") {
            "add"
        } else if line.starts_with('-') && !line.starts_with("---") {
            "del"
        } else {
            ""
        };
        if class.is_empty() {
            let _ = writeln!(o, "{}", esc(line));
        } else {
            let _ = writeln!(o, "<span class={class}>{}</span>", esc(line));
        }
    }
    if cut.len() < text.len() {
        let _ = write!(o, "… ({} more bytes)", text.len() - cut.len());
    }
    o.push_str("</pre>");
    o
}

/// The gates as a list: each with its verdict and the host's evidence.
pub fn gates(gates: &[GateResult]) -> String {
    let mut o = String::from("<ul class=gates>");
    for g in gates {
        let _ = write!(
            o,
            "<li class={}>{} <b>{}</b>: {}</li>",
            if g.passed { "passed" } else { "failed" },
            if g.passed { "✔" } else { "✘" },
            esc(&g.name),
            esc(&g.evidence)
        );
    }
    o.push_str("</ul>");
    o
}

/// Approve and reject buttons for a draft (plain forms).
pub fn decision_buttons(run: &str) -> String {
    let id = super::urlencode(run);
    format!(
        "<form class=inline method=post action=\"/runs/{id}/approve\"><button class=approve type=submit name=approve>Approve and merge</button></form> \
         <form class=inline method=post action=\"/runs/{id}/reject\"><input name=reason placeholder=\"why (optional)\" size=30> \
         <button class=reject type=submit name=reject>Reject</button></form>"
    )
}
