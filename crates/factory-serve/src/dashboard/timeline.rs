//! A run's timeline as an SVG drawn on the server: one lane per subtask
//! and role, a bar for each role step (from its start to its end), and
//! marks on the same time axis for feedback loops, gates, merges and
//! denials. Hovering a bar or mark shows what it was.

use super::html::esc;
use factory_orchestrator::store::StepRow;
use factory_store::journal::EventRecord;
use std::fmt::Write as _;

const LABEL: f64 = 190.0;
const WIDTH: f64 = 1000.0;
const LANE: f64 = 22.0;

/// What a mark is, by the step kind it stands for.
fn mark_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "feedback" | "loop" | "blocked" => Some("feedback"),
        "gate" => Some("gate"),
        "merge" | "deliver" | "conflict" => Some("merge"),
        _ => None,
    }
}

fn colour(status: &str) -> &'static str {
    match status {
        "ok" | "passed" | "done" => "#2e7d32",
        "failed" | "blocked" | "conflict" | "denied" => "#c62828",
        _ => "#b7791f",
    }
}

/// The SVG for `steps` (one run's, in order) and the run's `denials`.
pub fn svg(steps: &[StepRow], denials: &[EventRecord]) -> String {
    if steps.is_empty() && denials.is_empty() {
        return "<p class=meta>No steps yet.</p>".into();
    }
    // Lanes in order of first appearance.
    let mut lanes: Vec<String> = Vec::new();
    let mut lane_of = |key: String| -> usize {
        match lanes.iter().position(|l| *l == key) {
            Some(i) => i,
            None => {
                lanes.push(key);
                lanes.len() - 1
            }
        }
    };
    // (lane, start, end, status, title) and (lane, at, kind, status, title).
    let mut bars = Vec::new();
    let mut marks = Vec::new();
    let mut last_lane_of_task: std::collections::HashMap<&str, usize> = Default::default();
    for s in steps {
        let end = s.ts;
        let start = end - s.duration_ms as i64;
        let what = format!(
            "{} · {} #{}: {} ({})",
            s.task_id, s.role, s.attempt, s.summary, s.status
        );
        if s.kind == "role" {
            let lane = lane_of(format!("{} · {}", s.task_id, s.role));
            last_lane_of_task.insert(&s.task_id, lane);
            // A second attempt is a feedback loop coming back to this role.
            if s.attempt > 1 {
                marks.push((
                    lane,
                    start,
                    "feedback",
                    "ok".into(),
                    format!(
                        "feedback loop: {} attempt {} of {}",
                        s.role, s.attempt, s.task_id
                    ),
                ));
            }
            bars.push((lane, start, end, s.status.clone(), what));
        } else if let Some(kind) = mark_kind(&s.kind) {
            let lane = match last_lane_of_task.get(s.task_id.as_str()) {
                Some(l) => *l,
                None => lane_of(s.task_id.clone()),
            };
            marks.push((
                lane,
                end,
                kind,
                s.status.clone(),
                format!("{}: {}", s.kind, s.summary),
            ));
        }
    }
    if !denials.is_empty() {
        let lane = lane_of("denials".into());
        for d in denials {
            marks.push((
                lane,
                d.ts,
                "denial",
                "denied".into(),
                format!("denied to {}: {} — {}", d.plugin, d.message, d.remedy),
            ));
        }
    }
    let times = bars
        .iter()
        .flat_map(|b| [b.1, b.2])
        .chain(marks.iter().map(|m| m.1));
    let t0 = times.clone().min().unwrap_or(0);
    let t1 = times.max().unwrap_or(0).max(t0 + 1);
    let x = |t: i64| LABEL + (t - t0) as f64 / (t1 - t0) as f64 * (WIDTH - LABEL - 10.0);
    let height = (lanes.len() as f64 + 1.5) * LANE + 10.0;
    let mut o = format!(
        "<svg class=timeline viewBox=\"0 0 {WIDTH} {height}\" role=img aria-label=\"timeline: {} lanes\" xmlns=\"http://www.w3.org/2000/svg\">",
        lanes.len()
    );
    for (i, name) in lanes.iter().enumerate() {
        let y = i as f64 * LANE + 4.0;
        let _ = write!(
            o,
            "<g class=lane><rect x=0 y=\"{y}\" width=\"{WIDTH}\" height=\"{LANE}\" fill=\"{}\"/><text x=6 y=\"{}\">{}</text></g>",
            if i % 2 == 0 { "#f7f9fb" } else { "#ffffff" },
            y + 15.0,
            esc(name)
        );
    }
    for (lane, start, end, status, what) in &bars {
        let y = *lane as f64 * LANE + 8.0;
        let (a, b) = (x(*start), x(*end));
        let _ = write!(
            o,
            "<rect class=\"bar {}\" x=\"{a:.1}\" y=\"{y}\" width=\"{:.1}\" height=14 rx=2 fill=\"{}\"><title>{}</title></rect>",
            esc(status),
            (b - a).max(3.0),
            colour(status),
            esc(what)
        );
    }
    for (lane, at, kind, status, what) in &marks {
        let (cx, cy) = (x(*at), *lane as f64 * LANE + 15.0);
        let c = colour(status);
        let shape = match *kind {
            "gate" => format!(
                "<path d=\"M{cx:.1} {:.1} l6 6 l-6 6 l-6 -6 z\" fill=\"{c}\"/>",
                cy - 6.0
            ),
            "denial" => format!(
                "<path d=\"M{:.1} {:.1} l10 10 m0 -10 l-10 10\" stroke=\"{c}\" stroke-width=2.5/>",
                cx - 5.0,
                cy - 5.0
            ),
            "merge" => format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=10 height=10 fill=\"#1565c0\"/>",
                cx - 5.0,
                cy - 5.0
            ),
            _ => format!("<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=5 fill=\"#ef6c00\"/>"),
        };
        let _ = write!(
            o,
            "<g class=\"mark {kind}\">{shape}<title>{}</title></g>",
            esc(what)
        );
    }
    let ly = lanes.len() as f64 * LANE + 22.0;
    let _ = write!(
        o,
        "<text x=6 y=\"{ly}\" fill=\"#666\">bars: role steps · ● feedback loop · ◆ gate · ■ merge/delivery · ✕ denial · {:.1} s in all</text></svg>",
        (t1 - t0) as f64 / 1000.0
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(task: &str, role: &str, kind: &str, status: &str, ts: i64, ms: u64) -> StepRow {
        StepRow {
            task_id: task.into(),
            role: role.into(),
            kind: kind.into(),
            status: status.into(),
            summary: format!("<{kind}>"),
            ts,
            duration_ms: ms,
            ..Default::default()
        }
    }

    #[test]
    fn lanes_bars_and_marks() {
        let steps = [
            step("plan", "architect", "role", "ok", 1_000, 500),
            step("s1", "coder", "role", "ok", 2_000, 800),
            step("s1", "tester", "role", "failed", 2_500, 400),
            StepRow {
                attempt: 2,
                ..step("s1", "coder", "role", "ok", 2_900, 100)
            },
            step("s1", "orchestrator", "feedback", "ok", 2_600, 0),
            step("gates", "orchestrator", "gate", "passed", 3_000, 0),
        ];
        let denial = EventRecord {
            ts: 2_100,
            ..EventRecord::new("coder", "denial", "read /etc/passwd".to_string())
        };
        let svg = svg(&steps, &[denial]);
        assert_eq!(svg.matches("<g class=lane>").count(), 5, "{svg}");
        assert_eq!(svg.matches("class=\"bar ").count(), 4);
        assert_eq!(svg.matches("class=\"mark feedback\"").count(), 2, "{svg}");
        assert!(svg.contains("class=\"mark gate\""));
        assert!(svg.contains("class=\"mark denial\""));
        // Text from roles is escaped.
        assert!(svg.contains("&lt;role&gt;") && !svg.contains("<role>"));
    }
}
